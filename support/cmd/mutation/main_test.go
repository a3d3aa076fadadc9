package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/report"
)

func requirements(ids ...string) report.Catalog {
	c := report.Catalog{Path: "features/requirements.yaml"}
	for _, id := range ids {
		c.Requirements = append(c.Requirements, report.Requirement{ID: id, Title: id, Statement: id, Area: "a"})
	}
	return c
}

func writeCatalog(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

func TestLoadCatalog(t *testing.T) {
	path := writeCatalog(t, `
exclude: "~@soak"
mutants:
  - id: one
    requirements: [BR-GATEWAY-001]
    description: d
    file: gateway/x.go
    old: "a"
    new: "b"
  - id: two
    requirements: [BR-GATEWAY-001, BR-GATEWAY-002]
    description: d
    edits:
      - {file: gateway/x.go, old: "c", new: "d"}
      - {file: gateway/y.go, old: "e", new: ""}
`)
	c, shortfall, err := loadCatalog(path, requirements("BR-GATEWAY-001", "BR-GATEWAY-002"))
	require.NoError(t, err)
	assert.Equal(t, []string{"BR-GATEWAY-002 is named by 1 mutant(s); every requirement needs at least 2"}, shortfall)
	require.Len(t, c.Mutants, 2)
	assert.Equal(t, []edit{{File: "gateway/x.go", Old: "a", New: "b"}}, c.Mutants[0].Edits, "file/old/new is one edit")
	assert.Equal(t, []string{"gateway/x.go", "gateway/y.go"}, c.Mutants[1].files())
	assert.Equal(t, "@BR-GATEWAY-001 && ~@soak,@BR-GATEWAY-002 && ~@soak", c.Mutants[1].tags(c.Exclude))
	assert.Equal(t, "@BR-GATEWAY-001", c.Mutants[0].tags(""))
}

func TestLoadCatalogRefuses(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"unknown key", `mutants: [{id: a, requirements: [BR-GATEWAY-001], description: d, file: gateway/x.go, old: a, new: b, colour: red}]`, "unknown field"},
		{"unknown requirement", `mutants: [{id: a, requirements: [BR-GATEWAY-0011], description: d, file: gateway/x.go, old: a, new: b}]`, "names BR-GATEWAY-0011, which is not in"},
		{"duplicate id", `mutants: [{id: a, requirements: [BR-GATEWAY-001], description: d, file: gateway/x.go, old: a, new: b}, {id: a, requirements: [BR-GATEWAY-001], description: d, file: gateway/x.go, old: c, new: d}]`, "the id is used twice"},
		{"not the gateway", `mutants: [{id: a, requirements: [BR-GATEWAY-001], description: d, file: steps/x.go, old: a, new: b}]`, "is not a Go source of the gateway"},
		{"a test", `mutants: [{id: a, requirements: [BR-GATEWAY-001], description: d, file: gateway/x_test.go, old: a, new: b}]`, "is not a Go source of the gateway"},
		{"no change", `mutants: [{id: a, requirements: [BR-GATEWAY-001], description: d, file: gateway/x.go, old: a, new: a}]`, "changes nothing"},
		{"no description", `mutants: [{id: a, requirements: [BR-GATEWAY-001], file: gateway/x.go, old: a, new: b}]`, "no description"},
		{"bad id", `mutants: [{id: A_b, requirements: [BR-GATEWAY-001], description: d, file: gateway/x.go, old: a, new: b}]`, "lowercase words"},
		{"bad exclude", `exclude: "not @soak"` + "\n" + `mutants: []`, "exclude"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadCatalog(writeCatalog(t, tt.body), requirements("BR-GATEWAY-001"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestApply(t *testing.T) {
	files := map[string]string{"gateway/x.go": "if a > b {\n\treturn a\n}\n", "gateway/y.go": "x := 1\nx := 1\n"}
	read := func(f string) ([]byte, error) { return []byte(files[f]), nil }

	m := &mutant{ID: "m", Edits: []edit{{File: "gateway/x.go", Old: "a > b", New: "a >= b"}, {File: "gateway/x.go", Old: "return a", New: "return b"}}}
	got, err := m.apply(read)
	require.NoError(t, err)
	assert.Equal(t, "if a >= b {\n\treturn b\n}\n", string(got["gateway/x.go"]), "edits of one file build on each other")

	_, err = (&mutant{Edits: []edit{{File: "gateway/x.go", Old: "a < b", New: "x"}}}).apply(read)
	assert.ErrorContains(t, err, "occurs 0 times in gateway/x.go, not once: the code moved")
	_, err = (&mutant{Edits: []edit{{File: "gateway/y.go", Old: "x := 1", New: "x := 2"}}}).apply(read)
	assert.ErrorContains(t, err, "occurs 2 times")
}

// TestCatalogApplies checks the project's own catalog against the project: valid, every
// requirement named by enough mutants, and every mutant's old text in its file exactly once. The
// build of each mutant is `go run ./support/cmd/mutation --check`.
func TestCatalogApplies(t *testing.T) {
	root, err := repo.Root()
	require.NoError(t, err)
	reqs, err := report.LoadCatalog(filepath.Join(root, "features", "requirements.yaml"))
	require.NoError(t, err)
	c, shortfall, err := loadCatalog(filepath.Join(root, catalogPath), reqs)
	require.NoError(t, err)
	assert.Empty(t, shortfall)
	read := func(f string) ([]byte, error) { return os.ReadFile(filepath.Join(root, f)) }
	for i := range c.Mutants {
		_, err := c.Mutants[i].apply(read)
		assert.NoError(t, err, "mutant %s no longer applies: write it again against the code as it is", c.Mutants[i].ID)
	}
}

func TestSuiteEnv(t *testing.T) {
	got := suiteEnv([]string{
		"HOME=/root", "KUBECONFIG=/x", "GOCOVERDIR=/c", "E2E_TAGS=@x", "E2E_CLUSTER=kind", "E2E_GATEWAY_ARGS=--a=b",
		"E2E_TIMEOUT_EVENTUALLY=20s", "E2E_CONCURRENCY=4", "E2E_CONTROLPLANE_CACHE=/cache",
	})
	assert.Equal(t, []string{"HOME=/root", "E2E_TIMEOUT_EVENTUALLY=20s", "E2E_CONCURRENCY=4", "E2E_CONTROLPLANE_CACHE=/cache"}, got)
}

func scenario(uri string, line int, result report.Status, reqs ...string) report.ScenarioResult {
	return report.ScenarioResult{URI: uri, Name: "s", Line: line, Result: result, Requirements: reqs}
}

func suiteRun(exit int, scenarios ...report.ScenarioResult) *runResult {
	r := &report.Report{Features: []report.FeatureResult{{URI: "f", Scenarios: scenarios}}}
	reqStatus := map[string]report.ReqStatus{}
	for _, s := range scenarios {
		r.Summary.Scenarios.Total++
		for _, id := range s.Requirements {
			if s.Result != report.StatusPassed {
				reqStatus[id] = report.ReqFailing
			} else if reqStatus[id] == "" {
				reqStatus[id] = report.ReqProven
			}
		}
	}
	for id, st := range reqStatus {
		r.Requirements = append(r.Requirements, report.RequirementResult{ID: id, Status: st})
	}
	return &runResult{exitCode: exit, duration: time.Second, report: r}
}

func TestJudge(t *testing.T) {
	m := &mutant{ID: "m", Description: "d", Requirements: []string{"BR-GATEWAY-001"}, Edits: []edit{{File: "gateway/x.go"}}}
	passed := scenario("f", 1, report.StatusPassed, "BR-GATEWAY-001")
	mine := scenario("f", 2, report.StatusFailed, "BR-GATEWAY-001")
	other := scenario("f", 3, report.StatusFailed, "BR-GATEWAY-002")

	got := judge(m, suiteRun(1, passed, mine), nil)
	assert.Equal(t, report.MutantKilled, got.Status)
	assert.Equal(t, []string{"f:2 s"}, got.Killers)
	assert.Equal(t, []string{"BR-GATEWAY-001"}, got.FailingRequirements)

	got = judge(m, suiteRun(0, passed), nil)
	assert.Equal(t, report.MutantSurvived, got.Status, "a green run did not notice the mutant")

	got = judge(m, suiteRun(1, passed, other), nil)
	assert.Equal(t, report.MutantSurvived, got.Status, "only a scenario of its requirements kills it")
	assert.Contains(t, got.Detail, "f:3 s")

	got = judge(m, suiteRun(1, passed, mine), map[string]bool{"f:2 s": true})
	assert.Equal(t, report.MutantSurvived, got.Status, "a scenario that failed against the gateway too kills nothing")

	eq := *m
	eq.Equivalent = "no sender can tell"
	assert.Equal(t, report.MutantEquivalent, judge(&eq, suiteRun(0, passed), nil).Status)
	killedEq := judge(&eq, suiteRun(1, mine), nil)
	assert.Equal(t, report.MutantKilled, killedEq.Status)
	assert.Contains(t, killedEq.Detail, "remove its equivalent reason")

	got = judge(m, &runResult{exitCode: 1, log: "e2e_test.go:70: setup (gateway): gateway shared: the gateway did not become ready"}, nil)
	assert.Equal(t, report.MutantKilled, got.Status, "a mutant gateway that cannot start fails every scenario")
	got = judge(m, &runResult{exitCode: 1, log: "setup (cluster): no kubeconfig"}, nil)
	assert.Equal(t, report.MutantError, got.Status)
	assert.True(t, strings.Contains(got.Detail, "wrote no report"))
}

func TestCountStatements(t *testing.T) {
	funcs := []report.FunctionCoverage{
		{Function: "a", File: "gateway/x.go", Line: 3},
		{Function: "b", File: "gateway/x.go", Line: 10},
		{Function: "c", File: "gateway/y.go", Line: 1},
	}
	profile := "mode: set\n" +
		repo.ModulePath + "/gateway/x.go:3.20,5.2 2 1\n" +
		repo.ModulePath + "/gateway/x.go:5.2,7.3 3 0\n" +
		repo.ModulePath + "/gateway/x.go:10.15,12.2 4 0\n" +
		repo.ModulePath + "/gateway/y.go:1.10,2.2 1 1\n"
	countStatements(funcs, []byte(profile))
	assert.Equal(t, []int{5, 4, 1}, []int{funcs[0].Statements, funcs[1].Statements, funcs[2].Statements})
	assert.Equal(t, []int{3, 4, 0}, []int{funcs[0].Uncovered, funcs[1].Uncovered, funcs[2].Uncovered})
}
