package report

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// build loads the test catalog and the named fixtures, in order.
func build(t *testing.T, files ...string) *Report {
	t.Helper()
	cat, err := LoadCatalog(filepath.Join("testdata", "catalog.yaml"))
	require.NoError(t, err)
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = fixture(f)
	}
	runs, err := LoadCucumber(paths...)
	require.NoError(t, err)
	r, err := Build(cat, runs...)
	require.NoError(t, err)
	return r
}

func (r *Report) scenario(t *testing.T, name string) ScenarioResult {
	t.Helper()
	for _, f := range r.Features {
		for _, s := range f.Scenarios {
			if s.Name == name {
				return s
			}
		}
	}
	t.Fatalf("no scenario %q", name)
	return ScenarioResult{}
}

func (r *Report) requirement(t *testing.T, id string) RequirementResult {
	t.Helper()
	for _, req := range r.Requirements {
		if req.ID == id {
			return req
		}
	}
	t.Fatalf("no requirement %s", id)
	return RequirementResult{}
}

func TestBuildStatuses(t *testing.T) {
	r := build(t, "statuses.json")
	tests := []struct {
		scenario string
		req      string
		result   Status
		verdict  ReqStatus
	}{
		{"Firing alerts become requests", "BR-GATEWAY-001", StatusPassed, ReqProven},
		{"Resolved alerts are ignored", "BR-GATEWAY-002", StatusFailed, ReqFailing},
		{"Duplicates are counted", "BR-GATEWAY-003", StatusSkipped, ReqFailing},
		{"Terminal requests are not reused", "BR-GATEWAY-004", StatusUndefined, ReqFailing},
		{"Racing creators agree", "BR-GATEWAY-005", StatusPending, ReqFailing},
		{"Fingerprint is immutable", "BR-GATEWAY-006", StatusFailed, ReqFailing}, // ambiguous
		{"Nothing to run yet", "BR-GATEWAY-010", StatusUndefined, ReqFailing},    // no steps
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s := r.scenario(t, tt.scenario)
			assert.Equal(t, tt.result, s.Result)
			assert.Equal(t, []string{tt.req}, s.Requirements)
			assert.Equal(t, tt.verdict, r.requirement(t, tt.req).Status)
			if tt.result == StatusPassed {
				assert.Nil(t, s.Latest().Failure)
			} else {
				require.NotNil(t, s.Latest().Failure)
				assert.NotEmpty(t, s.Latest().Failure.Message)
			}
		})
	}
	assert.Equal(t, ScenarioCounts{Total: 7, Passed: 1, Failed: 2, Other: 4}, r.Summary.Scenarios)
}

func TestBuildFailureDetails(t *testing.T) {
	s := build(t, "statuses.json").scenario(t, "Resolved alerts are ignored")
	f := s.Latest().Failure
	require.NotNil(t, f)
	assert.Equal(t, "Then the answer is ignored", f.Step)
	assert.Equal(t, 13, f.Line)
	assert.Contains(t, f.Message, `got "created"`)
	require.Len(t, f.Attachments, 3)
	assert.Equal(t, "response.json", f.Attachments[0].Name)
	assert.Equal(t, "image/png", f.Attachments[2].MimeType)
	assert.Equal(t, 28*time.Millisecond, s.Duration)
	assert.Equal(t, fixture("statuses.json"), s.Latest().Source)

	pending := build(t, "statuses.json").scenario(t, "Racing creators agree").Latest().Failure
	assert.Equal(t, "TODO: write step", pending.Message)
	undefined := build(t, "statuses.json").scenario(t, "Terminal requests are not reused").Latest().Failure
	assert.Equal(t, "step is undefined", undefined.Message)
	assert.Equal(t, "When the signal fires again", undefined.Step)
}

func TestBuildMergesShards(t *testing.T) {
	r := build(t, "shard-a.json", "shard-b.json")
	assert.Equal(t, []string{fixture("shard-a.json"), fixture("shard-b.json")}, r.Sources)
	assert.Equal(t, 2, r.Summary.Runs)
	require.Len(t, r.Features, 2)
	assert.Equal(t, "features/ops/metrics.feature", r.Features[0].URI)
	assert.Equal(t, "features/ops/readyz.feature", r.Features[1].URI)
	for _, id := range []string{"BR-GATEWAY-009", "BR-GATEWAY-010"} {
		req := r.requirement(t, id)
		assert.Equal(t, ReqProven, req.Status, id)
		require.Len(t, req.Scenarios, 1)
		assert.Equal(t, 1, req.Scenarios[0].Runs)
	}
	assert.Equal(t, 1612*time.Millisecond, r.Summary.Duration)
	ops := r.Summary.Areas[3]
	assert.Equal(t, AreaSummary{ID: "ops", Title: "Operations", Requirements: 3, Covered: 2, Proven: 2,
		CoveredPercent: 66.7, ProvenPercent: 66.7}, ops)
	assert.Equal(t, 18.2, r.Summary.CoveredPercent)
}

func TestBuildFlaky(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		result  Status
		passed  int
		rate    float64
		flaky   bool
		verdict ReqStatus
	}{
		{"fails then passes", []string{"flaky-1.json", "flaky-2.json", "flaky-3.json"}, StatusPassed, 2, 0.6667, true, ReqProven},
		{"latest run fails", []string{"flaky-3.json", "flaky-2.json", "flaky-1.json"}, StatusFailed, 2, 0.6667, true, ReqFailing},
		{"always passes", []string{"flaky-2.json", "flaky-3.json"}, StatusPassed, 2, 1, false, ReqProven},
		{"single failure", []string{"flaky-1.json"}, StatusFailed, 0, 0, false, ReqFailing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := build(t, tt.files...)
			s := r.scenario(t, "Transient errors are retried")
			assert.Equal(t, tt.result, s.Result)
			assert.Equal(t, len(tt.files), s.Runs)
			assert.Equal(t, tt.passed, s.Passed)
			assert.Equal(t, tt.rate, s.PassRate)
			assert.Equal(t, tt.flaky, s.Flaky)
			assert.Len(t, s.History, len(tt.files))
			assert.Equal(t, tt.verdict, r.requirement(t, "BR-GATEWAY-007").Status)
			if tt.passed < len(tt.files) {
				assert.Equal(t, []ScenarioRef{s.Ref()}, r.Unstable(), "a scenario that failed in any run makes the series unstable")
			} else {
				assert.Empty(t, r.Unstable())
			}
			if tt.flaky {
				require.Len(t, r.Flaky, 1)
				assert.Equal(t, s.Ref(), r.Flaky[0])
			} else {
				assert.Empty(t, r.Flaky)
			}
		})
	}
}

func TestBuildTagsAndQuarantine(t *testing.T) {
	r := build(t, "tags.json")
	q := r.scenario(t, "Node alerts use the fallback namespace")
	assert.True(t, q.Quarantined)
	assert.Equal(t, StatusFailed, q.Result)
	assert.Equal(t, "the fallback namespace is created too late by the harness (late-fallback-namespace)", q.QuarantineReason)
	bare := r.scenario(t, "Bare quarantine passes")
	assert.True(t, bare.Quarantined)
	assert.Empty(t, bare.QuarantineReason)
	assert.Equal(t, ReqQuarantined, r.requirement(t, "BR-GATEWAY-008").Status)
	assert.Equal(t, []ScenarioRef{q.Ref(), bare.Ref()}, r.Quarantined)
	assert.Equal(t, 1, r.Summary.Requirements.Quarantined)
	assert.Equal(t, 2, r.Summary.Scenarios.Quarantined)
	for _, u := range r.Unstable() {
		assert.False(t, u.Quarantined, "a quarantined scenario (%s) is reported, not counted as unstable", u.Name)
	}

	// the well-formed tag still counts when its neighbour is unknown
	assert.Equal(t, []string{"BR-GATEWAY-006"}, r.scenario(t, "Requirement from the future").Requirements)
	assert.Equal(t, ReqProven, r.requirement(t, "BR-GATEWAY-006").Status)

	const uri = "features/crd/tags.feature"
	want := []Problem{
		{ProblemUnknownTag, uri + ":17", `scenario "Shutdown drains requests": tag @BR-GATEWAY-0188 is not a requirement id (want @BR-GATEWAY-NNN)`},
		{ProblemUnknownTag, uri + ":21", `scenario "Lower-case tag": tag @br-gateway-002 is not a requirement id (want @BR-GATEWAY-NNN)`},
		{ProblemUnknownTag, uri + ":25", `scenario "Requirement from the future": tag @BR-GATEWAY-999 names no requirement in the catalog`},
		{ProblemUntagged, uri + ":13", `scenario "Webhook is accepted" has no requirement tag`},
	}
	for _, p := range want {
		assert.Contains(t, r.Problems, p)
	}
	// a scenario whose only tag is a typo is still shown, under its feature
	assert.Empty(t, r.scenario(t, "Shutdown drains requests").Requirements)
}

func TestQuarantineReason(t *testing.T) {
	tests := []struct {
		name, scenario, feature string
		tags                    []string
		want                    string
	}{
		{"description only", "  Quarantined: slow API\n", "", []string{"@quarantine"}, "slow API"},
		{"label only", "", "", []string{"@quarantine(late-fallback-namespace)"}, "late-fallback-namespace"},
		{"both", "Some text\n  Quarantined:  slow API  ", "", []string{"@quarantine(late-fallback-namespace)"}, "slow API (late-fallback-namespace)"},
		{"feature description", "", "Quarantined: whole feature", []string{"@quarantine"}, "whole feature"},
		{"none", "unrelated", "", []string{"@quarantine"}, ""},
		{"empty label", "", "", []string{"@quarantine()"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ti := readTags(tt.tags)
			assert.True(t, ti.quarantined)
			assert.Equal(t, tt.want, quarantineReason(tt.scenario, tt.feature, ti.labels))
		})
	}
	assert.False(t, readTags([]string{"@quarantined", "@quarantine-later"}).quarantined)
}

func TestGate(t *testing.T) {
	r := build(t, "statuses.json", "tags.json")
	assert.Equal(t, ReqNotCovered, r.requirement(t, "BR-GATEWAY-018").Status)
	assert.Equal(t, ReqNotCovered, r.requirement(t, "BR-GATEWAY-009").Status)
	assert.Contains(t, r.Problems, Problem{ProblemNotCovered, "BR-GATEWAY-018", `requirement "Shutdown drains requests" has no scenario`})
	err := r.Gate()
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrGate))
	var ge *GateError
	require.True(t, errors.As(err, &ge))
	assert.Equal(t, r.Problems, ge.Problems)
	assert.Contains(t, err.Error(), "features/crd/tags.feature:17: scenario \"Shutdown drains requests\": tag @BR-GATEWAY-0188")
	assert.Contains(t, err.Error(), "BR-GATEWAY-018: requirement \"Shutdown drains requests\" has no scenario")
	assert.Contains(t, err.Error(), "has no requirement tag")

	// failing requirements alone do not fail the gate
	cat, err := ParseCatalog("small.yaml", []byte(`requirements:
  - {id: BR-GATEWAY-007, title: Retries, statement: S, area: resilience}
`))
	require.NoError(t, err)
	runs, err := LoadCucumber(fixture("flaky-1.json"))
	require.NoError(t, err)
	small, err := Build(cat, runs...)
	require.NoError(t, err)
	assert.Equal(t, ReqFailing, small.Requirements[0].Status)
	assert.NoError(t, small.Gate())
}

func TestBuildRejectsInvalidCatalog(t *testing.T) {
	_, err := Build(Catalog{Path: "x.yaml"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "x.yaml: invalid requirement catalog: no requirements")
}
