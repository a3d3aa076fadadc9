package namespace

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/quick"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubernaut/gateway-contract/support/runid"
)

// awkward holds the inputs random generation rarely hits: empty, unicode only, separators only,
// very long, and names that would land on the reserved prefix.
var awkward = []string{
	"",
	" ",
	"---",
	"!!!",
	"日本語のシナリオ",
	"Ünïcödé scenário — with “quotes”",
	"İstanbul",
	"emoji 🚀🔥 only",
	"Absent",
	"absent namespace falls back",
	"ABSENT-",
	"a",
	"9 starts with a digit",
	"trailing hyphen-",
	strings.Repeat("x", 1000),
	strings.Repeat("a-", 200),
	strings.Repeat("é", 300),
	"Scenario Outline: <severity> alert\twith\ttabs\nand newlines",
}

func randomString(r *rand.Rand) string {
	pools := []string{"abcXYZ019", " -_./:", "éüß日本🚀\u0301\u200b", "ABSENTabsent-"}
	n := r.IntN(200)
	var b strings.Builder
	for range n {
		pool := []rune(pools[r.IntN(len(pools))])
		b.WriteRune(pool[r.IntN(len(pool))])
	}
	return b.String()
}

func inputs(t *testing.T) []string {
	t.Helper()
	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	out := append([]string(nil), awkward...)
	for range 500 {
		out = append(out, randomString(r))
	}
	return out
}

func requireLabel(t *testing.T, name string) {
	t.Helper()
	require.Empty(t, validation.IsDNS1123Label(name), "name %q", name)
	require.LessOrEqual(t, len(name), 63, "name %q", name)
}

func TestNameIsAValidLabel(t *testing.T) {
	g := New("run1")
	for _, in := range inputs(t) {
		name := g.Name(in)
		requireLabel(t, name)
		assert.True(t, strings.HasPrefix(name, NamePrefix), name)
		assert.False(t, strings.HasPrefix(name, MissingPrefix), "Name(%q) = %q took the reserved prefix", in, name)
		assert.Contains(t, name, "-"+g.RunID()+"-")
	}
	// testing/quick draws arbitrary (mostly invalid UTF-8 free) unicode strings.
	prop := func(scenario string) bool {
		name := g.Name(scenario)
		return len(validation.IsDNS1123Label(name)) == 0 && !strings.HasPrefix(name, MissingPrefix)
	}
	require.NoError(t, quick.Check(prop, &quick.Config{MaxCount: 2000}))
}

func TestNameFormat(t *testing.T) {
	tests := []struct {
		scenario string
		want     string
	}{
		{"Duplicate alert bumps the count", "e2e-duplicate-alert-bumps-the-count-abc123-1"},
		{"  Spaces  and__underscores ", "e2e-spaces-and-underscores-abc123-1"},
		{"", "e2e-scenario-abc123-1"},
		{"日本", "e2e-scenario-abc123-1"},
		{"Absent namespace", "e2e-sc-absent-namespace-abc123-1"},
		{"absentminded", "e2e-absentminded-abc123-1"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			assert.Equal(t, tt.want, New("abc123").Name(tt.scenario))
		})
	}
}

func TestNameKeepsTheCounterWhenTheSlugIsCut(t *testing.T) {
	g := New("abcdefgh")
	g.counter.Store(1<<64 - 2) // the longest counter there is
	name := g.Name(strings.Repeat("long scenario ", 20))
	requireLabel(t, name)
	assert.True(t, strings.HasSuffix(name, "-abcdefgh-"+strconv.FormatUint(1<<64-1, 36)), name)
}

func TestMissing(t *testing.T) {
	g := New("run")
	names := map[string]bool{}
	for _, in := range inputs(t) {
		names[g.Name(in)] = true
	}
	for _, in := range inputs(t) {
		m := g.Missing(in)
		requireLabel(t, m)
		assert.True(t, strings.HasPrefix(m, MissingPrefix), m)
		assert.False(t, names[m], "Missing(%q) = %q collides with a Name", in, m)
		assert.False(t, names[m])
		names[m] = true
	}
}

func TestNamesAreUniqueUnderConcurrency(t *testing.T) {
	g1, g2 := New(runid.New()), New(runid.New())
	require.NotEqual(t, g1.RunID(), g2.RunID())
	const workers, each = 200, 50
	var mu sync.Mutex
	seen := make(map[string]bool, 2*workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		g := g1
		if w%2 == 1 {
			g = g2
		}
		wg.Go(func() {
			local := make([]string, 0, each)
			for range each {
				// The same scenario name everywhere: only the counter and run id tell them apart.
				local = append(local, g.Name("same scenario"), g.Missing("same scenario"))
			}
			mu.Lock()
			defer mu.Unlock()
			for _, n := range local {
				if seen[n] {
					t.Errorf("duplicate name %q", n)
				}
				seen[n] = true
			}
		})
	}
	wg.Wait()
	assert.Len(t, seen, 2*workers*each)
}

func TestSameRunIDInTwoGeneratorsIsTheCallersMistake(t *testing.T) {
	// Documented limit: uniqueness across processes rests on distinct run ids.
	assert.Equal(t, New("x").Name("s"), New("x").Name("s"))
}

func TestNewSanitisesTheRunID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"AbC-123", "abc123"},
		{"日本run", "run"},
		{strings.Repeat("z", 40), strings.Repeat("z", 16)},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, New(tt.in).RunID(), tt.in)
	}
	assert.Len(t, New("").RunID(), 8, "an empty id gets a fresh one")
	assert.Len(t, New("---").RunID(), 8)
}

func TestLabelsAndAnnotations(t *testing.T) {
	g := New("run9")
	g.now = func() time.Time { return time.Unix(1700000000, 0) }
	for _, in := range inputs(t) {
		labels := g.Labels(in, in)
		for k, v := range labels {
			require.Empty(t, validation.IsQualifiedName(k), "key %q", k)
			require.Empty(t, validation.IsValidLabelValue(v), "label %s=%q from %q", k, v, in)
		}
		assert.Equal(t, "run9", labels[LabelRunID])
		assert.Equal(t, ManagedBy, labels[LabelManagedBy])
		assert.Equal(t, "1700000000", labels[LabelCreatedAt])
		ann := g.Annotations("feat "+in, in)
		assert.Equal(t, "feat "+in, ann[AnnotationFeature])
		assert.Equal(t, in, ann[AnnotationScenario])
	}
}

func TestLabelValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Deduplication", "Deduplication"},
		{"Alert: bumps count (x2)", "Alert-bumps-count-x2"},
		{"v1.2_rc", "v1.2_rc"},
		{"__x__", "x"},
		{"", ""},
		{"日本", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, LabelValue(tt.in), tt.in)
	}
	long1, long2 := strings.Repeat("s", 80)+"1", strings.Repeat("s", 80)+"2"
	assert.NotEqual(t, LabelValue(long1), LabelValue(long2), "cut values keep a hash of the whole")
	assert.Len(t, LabelValue(long1), 63)
	assert.Empty(t, validation.IsValidLabelValue(LabelValue(strings.Repeat("-", 64)+strings.Repeat("é", 70))))
}
