package report

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixture(name string) string { return filepath.Join("testdata", "cucumber", name) }

func TestLoadCucumber(t *testing.T) {
	runs, err := LoadCucumber(fixture("shard-a.json"), fixture("statuses.json"))
	require.NoError(t, err)
	require.Len(t, runs, 2)
	assert.Equal(t, fixture("shard-a.json"), runs[0].Source)
	assert.Equal(t, "features/ops/metrics.feature", runs[0].Features[0].URI)
	assert.Len(t, runs[1].Features[0].Elements, 7)
}

func TestLoadCucumberErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"truncated json", "truncated.json", []string{"truncated.json: not a cucumber JSON report"}},
		{"empty file", "empty.json", []string{"empty.json: empty cucumber report"}},
		{"unknown status", "bad-status.json", []string{"bad-status.json: features/x.feature:4", `unknown step status "exploded"`}},
		{"missing file", "missing.json", []string{"read cucumber report", "missing.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCucumber(fixture("shard-a.json"), fixture(tt.file))
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseCucumberNull(t *testing.T) {
	run, err := ParseCucumber("null.json", []byte("null\n"))
	require.NoError(t, err)
	assert.Empty(t, run.Features)
}
