package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var mutationFixture = filepath.Join("testdata", "mutation", "mutation.json")

func mutationReport(t *testing.T) *Report {
	t.Helper()
	r := fullReport(t)
	m, err := LoadMutation(mutationFixture)
	require.NoError(t, err)
	r.AttachMutation(m, "reports/mutation.json")
	return r
}

func TestAttachMutation(t *testing.T) {
	r := mutationReport(t)
	req := func(id string) RequirementResult {
		for _, q := range r.Requirements {
			if q.ID == id {
				return q
			}
		}
		t.Fatalf("no requirement %s", id)
		return RequirementResult{}
	}
	// proven, both of its judged mutants caught, one equivalent beside them
	assert.Equal(t, &RequirementMutation{Mutants: 3, Caught: 2, Equivalent: 1, Survivors: []MutantRef{}}, req("BR-GATEWAY-001").Mutation)
	// proven, with a survivor: weakly proven; the stale mutant is not counted
	nine := req("BR-GATEWAY-009").Mutation
	assert.True(t, nine.Weak)
	assert.Equal(t, 1, nine.Mutants)
	assert.Equal(t, []MutantRef{{ID: "readyz-always", Description: "readiness never looks at the API", Status: MutantSurvived}}, nine.Survivors)
	// no mutant names it: nothing to show, not weak
	assert.Equal(t, &RequirementMutation{Survivors: []MutantRef{}}, req("BR-GATEWAY-018").Mutation)
	assert.Equal(t, 1, r.Mutation.WeaklyProven)
	assert.Len(t, r.Mutation.Invalid, 1)
	assert.Equal(t, 66.7, r.Mutation.Summary.KillRate)
	assert.Equal(t, 81.5, r.Mutation.Coverage.Percent)
}

func TestMutationMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, mutationReport(t).WriteMarkdown(&buf))
	golden := filepath.Join("testdata", "golden", "traceability-mutation.md")
	if *update {
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./support/report -run TestMutationMarkdownGolden -update")
	assert.Equal(t, string(want), buf.String())
	for _, s := range []string{
		"| **BR-GATEWAY-009** Readiness follows the API server | ops | **🟡 weakly proven** | 0 of 1 caught; survived: `readyz-always` |",
		"| Mutants caught (kill rate) | 2 of 3 (66.7%); 1 accepted as equivalent, 1 invalid |",
		"| Gateway statement coverage (whole suite) | 81.5% |",
	} {
		assert.Contains(t, buf.String(), s)
	}
	// only survivors and refusals are listed by name; killed mutants are counted
	assert.NotContains(t, buf.String(), "retry-never")
}

func TestMutationJSONRoundTrip(t *testing.T) {
	r := mutationReport(t)
	var buf bytes.Buffer
	require.NoError(t, r.WriteJSON(&buf))
	got, err := ReadJSON(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, r, got)

	m, err := LoadMutation(mutationFixture)
	require.NoError(t, err)
	var mbuf bytes.Buffer
	require.NoError(t, m.WriteJSON(&mbuf))
	again, err := ReadMutation(bytes.NewReader(mbuf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, m, again)
	summary := m.Summary
	m.Summarize()
	assert.Equal(t, summary, m.Summary, "the fixture's summary is what Summarize computes")
}

func TestReadMutationErrors(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{`{"schemaVersion": 2}`, "schema version 2, want 1"},
		{`{"schemaVersion": 1, "surprise": 1}`, "unknown field"},
	} {
		_, err := ReadMutation(strings.NewReader(tt.doc))
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestMutationHTML(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, mutationReport(t).WriteHTML(&buf))
	page := buf.String()
	for _, want := range []string{
		`<section id="mutation">`,
		`<span class="badge weak">weakly proven</span>`,
		"survived: <code>readyz-always</code>",
		"81.5%",
		"kill rate: 2 of 3 mutants caught",
	} {
		assert.Contains(t, page, want)
	}
	var plain bytes.Buffer
	require.NoError(t, fullReport(t).WriteHTML(&plain))
	assert.NotContains(t, plain.String(), `id="mutation"`, "without mutation results the report has no mutation section")
}

func TestGenerateWithMutation(t *testing.T) {
	dir := t.TempDir()
	r, err := Generate(Inputs{
		Catalog:  filepath.Join("testdata", "catalog.yaml"),
		Cucumber: []string{fixture("shard-a.json")},
		Mutation: mutationFixture,
	}, dir)
	require.NoError(t, err)
	require.NotNil(t, r.Mutation)
	assert.Equal(t, mutationFixture, r.Mutation.Source)
	assert.Equal(t, "", MutationIfPresent(dir))
	_, err = Generate(Inputs{Catalog: filepath.Join("testdata", "catalog.yaml"), Mutation: filepath.Join(dir, "none.json")}, dir)
	assert.ErrorContains(t, err, "reading the mutation results")
}
