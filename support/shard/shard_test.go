package shard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubernaut/gateway-contract/support/repo"
)

func TestParseSpec(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Spec
		err  bool
	}{
		{in: "", want: Spec{}},
		{in: "1/1", want: Spec{1, 1}},
		{in: "2/4", want: Spec{2, 4}},
		{in: " 3 / 3 ", want: Spec{3, 3}},
		{in: "0/4", err: true},
		{in: "5/4", err: true},
		{in: "2", err: true},
		{in: "a/b", err: true},
		{in: "1/0", err: true},
	} {
		got, err := ParseSpec(tt.in)
		if tt.err {
			require.Error(t, err, tt.in)
			assert.Contains(t, err.Error(), "write I/N")
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		assert.Equal(t, tt.in != "", got.On())
	}
}

// suite is the project's own suite, parsed from features/.
func suite(t *testing.T) []Scenario {
	t.Helper()
	root, err := repo.Root()
	require.NoError(t, err)
	all, err := Discover(root, "features")
	require.NoError(t, err)
	require.Greater(t, len(all), 20, "the suite has more scenarios than that")
	return all
}

// TestSplitOfTheSuite proves the split on the real suite: for 1 to 6 shards, with no durations
// (the hash split) and with durations, the shards are disjoint, their union is the suite, the
// same inputs in any order give the same split, and the heaviest shard exceeds the lightest by
// at most the heaviest scenario's weight.
func TestSplitOfTheSuite(t *testing.T) {
	all := suite(t)
	rng := rand.New(rand.NewPCG(1, 2))
	timed := map[string]time.Duration{}
	for _, s := range all {
		for _, line := range s.Elements() {
			d := time.Duration(1+rng.IntN(20)) * time.Second
			if s.HasTag("@serial") {
				d = 3 * time.Minute // the soak: much longer than the rest
			}
			timed[s.URI+":"+strconv.Itoa(line)] = d
		}
	}
	partly := map[string]time.Duration{}
	for k, v := range timed {
		if len(partly) < len(timed)/2 {
			partly[k] = v
		}
	}
	for name, durations := range map[string]map[string]time.Duration{"hash": nil, "durations": timed, "some durations": partly} {
		for n := 1; n <= 6; n++ {
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				plan, err := Split(all, n, durations)
				require.NoError(t, err)
				require.Len(t, plan.Shards, n)

				seen := map[string]int{}
				for i, sh := range plan.Shards {
					for _, s := range sh {
						prev, dup := seen[s.Path()]
						assert.False(t, dup, "%s in shard %d and %d", s.Path(), prev+1, i+1)
						seen[s.Path()] = i
					}
				}
				for _, s := range all {
					assert.Contains(t, seen, s.Path(), "%s in no shard", s.Path())
				}
				assert.Len(t, seen, len(all))

				shuffled := slices.Clone(all)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				again, err := Split(shuffled, n, durations)
				require.NoError(t, err)
				assert.Equal(t, plan, again, "the same scenarios in another order split differently")

				weight := Weigher(durations)
				var heaviest time.Duration
				for _, s := range all {
					heaviest = max(heaviest, weight(s))
				}
				lo, hi := slices.Min(plan.Load), slices.Max(plan.Load)
				assert.LessOrEqual(t, hi-lo, heaviest, "loads %v", plan.Load)
				for i, sh := range plan.Shards {
					var sum time.Duration
					for _, s := range sh {
						sum += weight(s)
					}
					assert.Equal(t, plan.Load[i], sum, "shard %d's load", i+1)
				}
			})
		}
	}
}

func TestSplitOfThreeIsBalancedByTime(t *testing.T) {
	all := []Scenario{
		{URI: "features/a.feature", Line: 3},
		{URI: "features/a.feature", Line: 9, Rows: []int{14, 15, 16}},
		{URI: "features/b.feature", Line: 4},
		{URI: "features/b.feature", Line: 8},
		{URI: "features/c.feature", Line: 2, Tags: []string{"@serial"}},
	}
	durations := map[string]time.Duration{
		"features/a.feature:3":  10 * time.Second,
		"features/a.feature:14": 10 * time.Second,
		"features/a.feature:15": 10 * time.Second,
		"features/a.feature:16": 10 * time.Second, // the outline: 30 s in all
		"features/b.feature:4":  20 * time.Second,
		"features/b.feature:8":  5 * time.Second,
		"features/c.feature:2":  60 * time.Second,
	}
	plan, err := Split(all, 3, durations)
	require.NoError(t, err)
	// Heaviest first, each to the lightest shard: 60, 30 and 20 open the three shards, 10 joins
	// the 20 (30), and 5 the first of the two shards at 30.
	assert.Equal(t, []time.Duration{60 * time.Second, 35 * time.Second, 30 * time.Second}, plan.Load)
	assert.Equal(t, []Scenario{all[4]}, plan.Shards[0], "the long serial scenario has a shard to itself")
	assert.Equal(t, []Scenario{all[1], all[3]}, plan.Shards[1], "an outline goes whole, all its rows")
	assert.Equal(t, []Scenario{all[0], all[2]}, plan.Shards[2])
}

func TestSplitRejectsADuplicate(t *testing.T) {
	s := Scenario{URI: "features/a.feature", Line: 3}
	_, err := Split([]Scenario{s, s}, 2, nil)
	require.ErrorContains(t, err, "features/a.feature:3 listed twice")
	_, err = Split([]Scenario{s}, 0, nil)
	require.Error(t, err)
}

func TestDiscoverReadsOutlinesAndTags(t *testing.T) {
	var outline, serial bool
	for _, s := range suite(t) {
		assert.Regexp(t, `^features/[a-z_]+\.feature$`, s.URI)
		if len(s.Rows) > 0 {
			outline = true
			assert.Greater(t, s.Rows[0], s.Line, "%s: rows come after the outline", s.Path())
		}
		serial = serial || s.HasTag("@serial")
	}
	assert.True(t, outline, "the suite has outlines")
	assert.True(t, serial, "the suite has @serial scenarios")
}
