package report

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTrimLine(t *testing.T) {
	for in, want := range map[string]string{
		"features/a.feature:12": "features/a.feature",
		"features/a.feature":    "features/a.feature",
		"features/a.feature:":   "features/a.feature:",
		"c:/x.feature":          "c:/x.feature",
		"features/a.feature:1x": "features/a.feature:1x",
	} {
		assert.Equal(t, want, TrimLine(in), in)
	}
}

// A shard selects scenarios by path:line, and godog writes each line as a feature of its own:
// JoinLineURIs makes them one feature per file, as a whole run writes them.
func TestJoinLineURIs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cucumber.json")
	require.NoError(t, os.WriteFile(p, []byte(`[
	  {"uri":"features/a.feature:3","name":"A","elements":[{"name":"one","line":3,"type":"scenario","steps":[{"keyword":"Given ","name":"x","line":4,"result":{"status":"passed"}}]}]},
	  {"uri":"features/b.feature:5","name":"B","elements":[{"name":"two","line":5,"type":"scenario","steps":[{"keyword":"Given ","name":"x","line":6,"result":{"status":"passed"}}]}]},
	  {"uri":"features/a.feature:9","name":"A","elements":[{"name":"three","line":9,"type":"scenario","steps":[{"keyword":"Given ","name":"x","line":10,"result":{"status":"failed"}}]}]}
	]`), 0o644))
	require.NoError(t, JoinLineURIs(p))
	runs, err := LoadCucumber(p)
	require.NoError(t, err)
	require.Len(t, runs[0].Features, 2)
	a, b := runs[0].Features[0], runs[0].Features[1]
	assert.Equal(t, "features/a.feature", a.URI)
	assert.Equal(t, "features/b.feature", b.URI)
	require.Len(t, a.Elements, 2)
	assert.Equal(t, []string{"one", "three"}, []string{a.Elements[0].Name, a.Elements[1].Name})
	assert.Equal(t, "failed", a.Elements[1].Steps[0].Result.Status)
}

// A shard's gate: a requirement another shard covers is left to the merge; one nobody covers,
// and every other problem, still fails it.
func TestGateExcept(t *testing.T) {
	r := &Report{
		Requirements: []RequirementResult{
			{ID: "BR-GATEWAY-001", Status: ReqProven},
			{ID: "BR-GATEWAY-002", Status: ReqNotCovered},
			{ID: "BR-GATEWAY-003", Status: ReqNotCovered},
		},
		Problems: []Problem{
			{Kind: ProblemNotCovered, Subject: "BR-GATEWAY-002"},
			{Kind: ProblemNotCovered, Subject: "BR-GATEWAY-003"},
			{Kind: ProblemUntagged, Subject: "features/a.feature:3"},
		},
	}
	elsewhere := r.CoveredOnlyBy(map[string]bool{"BR-GATEWAY-001": true, "BR-GATEWAY-002": true})
	assert.Equal(t, []string{"BR-GATEWAY-002"}, elsewhere)
	err := r.GateExcept(elsewhere)
	var gerr *GateError
	require.ErrorAs(t, err, &gerr)
	assert.Equal(t, []Problem{r.Problems[1], r.Problems[2]}, gerr.Problems)
	r.Problems = r.Problems[:2]
	require.NoError(t, r.GateExcept([]string{"BR-GATEWAY-002", "BR-GATEWAY-003"}))
}

func TestJoinJUnitSuites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "junit.xml")
	require.NoError(t, os.WriteFile(p, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="gateway-contract" tests="3" skipped="0" failures="1" errors="0" time="3.5">
  <testsuite name="A" tests="1" skipped="0" failures="0" errors="0" time="1">
    <testcase name="one" status="passed" time="1"></testcase>
  </testsuite>
  <testsuite name="B" tests="1" skipped="0" failures="0" errors="0" time="0.5">
    <testcase name="two" status="passed" time="0.5"></testcase>
  </testsuite>
  <testsuite name="A" tests="1" skipped="0" failures="1" errors="0" time="2">
    <testcase name="three" status="failed" time="2"><failure message="Step x: boom"></failure></testcase>
  </testsuite>
</testsuites>`), 0o644))
	require.NoError(t, JoinJUnitSuites(p))
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	var doc junitSuites
	require.NoError(t, xml.Unmarshal(data, &doc))
	require.Len(t, doc.Suites, 2)
	a := doc.Suites[0]
	assert.Equal(t, "A", a.Name)
	assert.Equal(t, []int{2, 1}, []int{a.Tests, a.Failures})
	assert.Equal(t, "3", a.Time)
	require.Len(t, a.Cases, 2)
	assert.Contains(t, string(data), `<testcase name="three" status="failed" time="2"><failure message="Step x: boom"></failure></testcase>`)
	assert.Equal(t, 3, doc.Tests)
}
