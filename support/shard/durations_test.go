package shard

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDurations(t *testing.T) {
	dir := t.TempDir()
	older, newer := filepath.Join(dir, "older.json"), filepath.Join(dir, "newer.json")
	require.NoError(t, os.WriteFile(older, []byte(`[{"uri":"features/a.feature","elements":[
	  {"name":"one","line":3,"steps":[{"line":4,"result":{"status":"passed","duration":1000000000}},{"line":5,"result":{"status":"passed","duration":500000000}}]},
	  {"name":"two","line":8,"steps":[{"line":9,"result":{"status":"passed","duration":7000000000}}]}]}]`), 0o644))
	require.NoError(t, os.WriteFile(newer, []byte(`[{"uri":"features/a.feature:8","elements":[
	  {"name":"two","line":8,"steps":[{"line":9,"result":{"status":"passed","duration":2000000000}},{"line":10,"result":{"status":"skipped"}}]}]}]`), 0o644))
	got, err := Durations(older, newer)
	require.NoError(t, err)
	assert.Equal(t, map[string]time.Duration{
		"features/a.feature:3": 1500 * time.Millisecond,
		"features/a.feature:8": 2 * time.Second, // the later file wins; its uri's :8 is godog's selection
	}, got)
	_, err = Durations(filepath.Join(dir, "none.json"))
	require.ErrorContains(t, err, "none.json")
}
