package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubernaut/gateway-contract/support/report"
)

var (
	fixtures    = filepath.Join("..", "..", "report", "testdata")
	fullCatalog = filepath.Join(fixtures, "catalog.yaml")
	opsCatalog  = filepath.Join("testdata", "catalog-ops.yaml")
)

func cuke(name string) string { return filepath.Join(fixtures, "cucumber", name) }

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string
		stderr     []string
		wantFiles  bool
		wantRuns   int
		wantSource []string
	}{
		{
			name:      "gate passes",
			args:      []string{"--catalog", opsCatalog, cuke("shard-a.json"), cuke("shard-b.json")},
			code:      exitOK,
			stdout:    []string{"2 of 2 requirements proven (100.0%)", "Gate: passed."},
			wantFiles: true, wantRuns: 2,
		},
		{
			name:      "gate fails and lists the problems",
			args:      []string{"--catalog", fullCatalog, cuke("statuses.json"), cuke("tags.json")},
			code:      exitGate,
			stdout:    []string{"Gate: FAILED with 7 problem(s)", "not covered"},
			stderr:    []string{"traceability gate failed: 7 problem(s)", "@BR-GATEWAY-0188", "has no requirement tag"},
			wantFiles: true, wantRuns: 2,
		},
		{
			name:      "gate off, flags after files",
			args:      []string{"--catalog", fullCatalog, cuke("tags.json"), "--gate=false", "--title", "Exploratory"},
			code:      exitOK,
			stdout:    []string{"Gate: off"},
			stderr:    []string{"traceability gate failed"},
			wantFiles: true, wantRuns: 1,
		},
		{
			name:       "globs expand in natural order, duplicates once",
			args:       []string{"--catalog", opsCatalog, "--gate=false", cuke("flaky-*.json"), cuke("flaky-1.json")},
			code:       exitOK,
			stdout:     []string{"1 flaky"},
			wantFiles:  true,
			wantRuns:   3,
			wantSource: []string{cuke("flaky-1.json"), cuke("flaky-2.json"), cuke("flaky-3.json")},
		},
		{
			name:      "with mutation results",
			args:      []string{"--catalog", opsCatalog, "--mutation", filepath.Join(fixtures, "mutation", "mutation.json"), cuke("shard-a.json"), cuke("shard-b.json")},
			code:      exitOK,
			stdout:    []string{"Mutation: 2 of 3 mutants caught (66.7%), 1 weakly proven requirement(s), gateway coverage 81.5%"},
			wantFiles: true, wantRuns: 2,
		},
		{
			name:      "no-flaky: a scenario that failed in one run of three fails the series, by name",
			args:      []string{"--catalog", opsCatalog, "--no-flaky", cuke("flaky-1.json"), cuke("flaky-2.json"), cuke("flaky-3.json")},
			code:      exitGate,
			stderr:    []string{`"Transient errors are retried" passed 2 of 3 runs`, "1 scenario(s) failed in at least one run (--no-flaky)"},
			wantFiles: true, wantRuns: 3,
		},
		{
			name:      "no-flaky: a failed quarantined scenario is reported, not counted",
			args:      []string{"--catalog", fullCatalog, "--gate=false", "--no-flaky", cuke("tags.json")},
			code:      exitOK,
			stderr:    []string{"2 quarantined scenario(s) ran and are reported with their pass rates, outside the --no-flaky verdict"},
			wantFiles: true, wantRuns: 1,
		},
		{name: "unreadable mutation results", args: []string{"--catalog", opsCatalog, "--mutation", "none.json", cuke("shard-a.json")}, code: exitUsage, stderr: []string{"reading the mutation results"}},
		{name: "no files", args: []string{"--catalog", opsCatalog}, code: exitUsage, stderr: []string{"no cucumber JSON files given", "usage:"}},
		{name: "unknown flag", args: []string{"--colour", cuke("shard-a.json")}, code: exitUsage, stderr: []string{"flag provided but not defined: -colour"}},
		{name: "glob matches nothing", args: []string{"--catalog", opsCatalog, cuke("nothing-*.json")}, code: exitUsage, stderr: []string{"no file matches", "nothing-*.json"}},
		{name: "missing file", args: []string{"--catalog", opsCatalog, cuke("gone.json")}, code: exitUsage, stderr: []string{"gone.json", "no such file"}},
		{name: "bad json names the file", args: []string{"--catalog", opsCatalog, cuke("truncated.json")}, code: exitUsage, stderr: []string{"truncated.json: not a cucumber JSON report"}},
		{name: "bad catalog", args: []string{"--catalog", filepath.Join(fixtures, "catalog-bad.yaml"), cuke("shard-a.json")}, code: exitUsage, stderr: []string{"catalog-bad.yaml: invalid requirement catalog", "requirements[1] (BR-GATEWAY-01)"}},
		{name: "help", args: []string{"-h"}, code: exitOK, stderr: []string{"-catalog"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "reports")
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"--out", out}, tt.args...), &stdout, &stderr)
			assert.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			for _, w := range tt.stdout {
				assert.Contains(t, stdout.String(), w)
			}
			for _, w := range tt.stderr {
				assert.Contains(t, stderr.String(), w)
			}
			if !tt.wantFiles {
				assert.NoDirExists(t, out)
				return
			}
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(stdout.String()), "\n")+1, "one paragraph")
			for _, name := range []string{report.MarkdownFile, report.HTMLFile} {
				assert.FileExists(t, filepath.Join(out, name))
			}
			f, err := os.Open(filepath.Join(out, report.JSONFile))
			require.NoError(t, err)
			defer f.Close()
			r, err := report.ReadJSON(f)
			require.NoError(t, err)
			assert.Equal(t, tt.wantRuns, r.Summary.Runs)
			if tt.wantSource != nil {
				assert.Equal(t, tt.wantSource, r.Sources)
			}
		})
	}
}

func TestExpandSkipsOwnOutput(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"cucumber-10.json", "cucumber-2.json", report.JSONFile} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("[]"), 0o644))
	}
	files, err := expand([]string{filepath.Join(dir, "*.json")}, filepath.Join(dir, report.JSONFile))
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "cucumber-2.json"), filepath.Join(dir, "cucumber-10.json")}, files)
}

func TestNaturalCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"run-2", "run-10", -1},
		{"run-10", "run-2", 1},
		{"a", "b", -1},
		{"run-02", "run-2", 0},
		{"run", "run-1", -1},
		{"x9y", "x9z", -1},
	}
	for _, tt := range tests {
		got := naturalCompare(tt.a, tt.b)
		assert.Equal(t, tt.want, sign(got), "%s vs %s", tt.a, tt.b)
	}
}

func sign(i int) int {
	switch {
	case i < 0:
		return -1
	case i > 0:
		return 1
	}
	return 0
}
