package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubernaut/gateway-contract/support/report"
)

// A suite of three scenarios, one an outline of two rows, in two shards: shard 1 has the plain
// scenario, shard 2 the other and the outline's rows.
const shardFeature = `Feature: Operations
  @BR-GATEWAY-009
  Scenario: Ready
    Given a step

  @BR-GATEWAY-010
  Scenario Outline: Counted <n>
    Given a step

    Examples:
      | n |
      | 1 |
      | 2 |

  @BR-GATEWAY-010
  Scenario: Counted again
    Given a step
`

func element(name string, line int, tag, status string) string {
	return fmt.Sprintf(`{"name":%q,"line":%d,"type":"scenario","tags":[{"name":%q}],"steps":[{"keyword":"Given ","name":"a step","line":%d,"result":{"status":%q,"duration":1000000}}]}`,
		name, line, tag, line+1, status)
}

func shardFile(t *testing.T, dir, name string, elements ...string) string {
	t.Helper()
	doc := `[{"uri":"features/ops.feature:3","name":"Operations","elements":[`
	for i, e := range elements {
		if i > 0 {
			doc += ","
		}
		doc += e
	}
	doc += "]}]"
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(doc), 0o644))
	return p
}

func TestShards(t *testing.T) {
	dir := t.TempDir()
	features := filepath.Join(dir, "features")
	require.NoError(t, os.MkdirAll(features, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(features, "ops.feature"), []byte(shardFeature), 0o644))
	ready := element("Ready", 3, "@BR-GATEWAY-009", "passed")
	one, two := element("Counted 1", 12, "@BR-GATEWAY-010", "passed"), element("Counted 2", 13, "@BR-GATEWAY-010", "passed")
	again := element("Counted again", 16, "@BR-GATEWAY-010", "passed")
	s1 := shardFile(t, dir, "shard-1.json", ready)
	s2 := shardFile(t, dir, "shard-2.json", one, two, again)
	whole := shardFile(t, dir, "whole.json", ready, one, two, again)
	overlap := shardFile(t, dir, "overlap.json", again)
	failing := shardFile(t, dir, "failing.json", one, two, element("Counted again", 16, "@BR-GATEWAY-010", "failed"))

	for _, tt := range []struct {
		name   string
		files  []string
		code   int
		stdout string
		stderr string
	}{
		{name: "two shards are one run", files: []string{s1, s2}, code: exitOK, stdout: "over 1 run(s)"},
		{name: "a missing shard is named", files: []string{s1}, code: exitGate,
			stderr: "miss 3 scenario(s) of " + features + " (a shard that failed before writing its results, or one not given): features/ops.feature:12, features/ops.feature:13, features/ops.feature:16"},
		{name: "overlapping shards", files: []string{s1, s2, overlap}, code: exitUsage,
			stderr: `features/ops.feature:16 "Counted again" is in both ` + s2 + " and " + overlap},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			out := filepath.Join(dir, "out-"+filepath.Base(t.Name()))
			args := append([]string{"--catalog", opsCatalog, "--out", out, "--shards", "--features", features}, tt.files...)
			code := run(args, &stdout, &stderr)
			assert.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Contains(t, stdout.String(), tt.stdout)
			assert.Contains(t, stderr.String(), tt.stderr)
		})
	}

	// The merged shards and the whole run agree; a failed scenario is a difference.
	var stdout, stderr bytes.Buffer
	reportOf := func(name string, shards bool, files ...string) string {
		out := filepath.Join(dir, name)
		_, err := report.Generate(report.Inputs{Catalog: opsCatalog, Cucumber: files, Shards: shards}, out)
		require.NoError(t, err)
		return filepath.Join(out, report.JSONFile)
	}
	merged, one1 := reportOf("merged", true, s1, s2), reportOf("whole", false, whole)
	assert.Equal(t, exitOK, run([]string{"compare", one1, merged}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "agree: the same 4 scenarios with the same results, the same verdicts on 2 requirements")

	bad := reportOf("bad", true, s1, failing)
	stdout.Reset()
	assert.Equal(t, exitGate, run([]string{"compare", merged, bad}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), `scenario features/ops.feature:16 "Counted again": passed in `+merged+", failed in "+bad)
	assert.Contains(t, stderr.String(), `requirement BR-GATEWAY-010: "proven" in `+merged+`, "failing" in `+bad)
	assert.Contains(t, stderr.String(), "differ in 2 place(s)")
}
