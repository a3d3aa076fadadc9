// Package shard splits the contract suite into N shards that CI runs side by side: every
// scenario in exactly one shard, the same split for the same inputs, and shards balanced by the
// scenarios' durations in an earlier run's cucumber JSON where there is one.
//
// The unit of the split is a scenario as godog selects it with `path:line`: godog matches that
// line against a scenario's own line only, so a Scenario Outline goes to one shard with all its
// rows (its weight is the sum of its rows). A shard runs like the whole suite (its @serial
// scenarios alone after the others, its quarantined ones in their own pass), and `trace
// --shards` merges the shards' cucumber JSON into the report one run gives.
package shard

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubernaut/gateway-contract/support/featurefile"
)

// Spec is one shard of a split: Index of Total, counted from 1 (E2E_SHARD=2/4). The zero Spec
// means the whole suite.
type Spec struct{ Index, Total int }

// On reports whether the run is one shard rather than the whole suite.
func (s Spec) On() bool { return s.Total > 0 }

func (s Spec) String() string {
	if !s.On() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Total)
}

// ParseSpec reads "I/N" (1 <= I <= N); "" is the whole suite.
func ParseSpec(v string) (Spec, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return Spec{}, nil
	}
	i, n, ok := strings.Cut(v, "/")
	index, err1 := strconv.Atoi(strings.TrimSpace(i))
	total, err2 := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err1 != nil || err2 != nil || total < 1 || index < 1 || index > total {
		return Spec{}, fmt.Errorf("%q is not a shard: write I/N with 1 <= I <= N, e.g. 2/4 for the second of four shards", v)
	}
	return Spec{Index: index, Total: total}, nil
}

// Scenario is one scenario of the suite as the Gherkin parser sees it.
type Scenario struct {
	// URI is the feature file from the project root, as godog and the reports name it.
	URI string
	// Line is the scenario's own line: what godog's `path:line` selects.
	Line int
	Name string
	// Rows are the lines of an outline's example rows (one cucumber element each); nil for a
	// plain scenario.
	Rows []int
	// Tags are the scenario's tags with its feature's, rule's and examples'.
	Tags []string
}

// Path is the scenario as godog selects it: features/x.feature:12.
func (s Scenario) Path() string { return s.URI + ":" + strconv.Itoa(s.Line) }

// Elements are the lines of the cucumber elements the scenario produces: one per example row
// for an outline, its own line otherwise.
func (s Scenario) Elements() []int {
	if len(s.Rows) > 0 {
		return s.Rows
	}
	return []int{s.Line}
}

// HasTag reports whether the scenario carries tag (with its @).
func (s Scenario) HasTag(tag string) bool { return slices.Contains(s.Tags, tag) }

// Discover reads every *.feature in root/dir with featurefile (the one Gherkin walker) and lists
// its scenarios in file and line order.
func Discover(root, dir string) ([]Scenario, error) {
	read, err := featurefile.ReadDir(filepath.Join(root, dir))
	if err != nil {
		return nil, err
	}
	out := make([]Scenario, 0, len(read))
	for _, sc := range read {
		s := Scenario{
			URI:  path.Join(filepath.ToSlash(dir), filepath.Base(sc.File)),
			Line: int(sc.Line),
			Name: sc.Name,
			Tags: append(slices.Clone(sc.Tags), sc.ExampleTags...),
		}
		for _, row := range sc.Rows {
			s.Rows = append(s.Rows, int(row))
		}
		slices.Sort(s.Tags)
		s.Tags = slices.Compact(s.Tags)
		out = append(out, s)
	}
	return out, nil
}

// Plan is a split: Shards[i] is shard i+1's scenarios in file and line order, Load[i] its
// expected duration (estimated where the durations did not know a scenario).
type Plan struct {
	Shards [][]Scenario
	Load   []time.Duration
}

// unknownWeight is an element's weight when no earlier run gives any duration: with every
// weight equal, the split deals the scenarios out by their hash, evenly by element count.
const unknownWeight = time.Second

// Split divides the scenarios into n shards. Durations (cucumber element "uri:line" to its
// duration, see Durations) weigh each scenario; an element they do not know weighs the mean of
// those they know. The split is greedy, heaviest first (ties in the order of a stable hash of
// the scenario's path), each scenario to the least loaded shard (ties to the lowest): so every
// scenario lands in exactly one shard, the same inputs give the same split whatever their
// order, and the heaviest shard exceeds the lightest by at most one scenario's weight.
func Split(all []Scenario, n int, durations map[string]time.Duration) (Plan, error) {
	if n < 1 {
		return Plan{}, errors.New("split into at least one shard")
	}
	weight := weigher(durations)
	type item struct {
		s    Scenario
		w    time.Duration
		hash uint64
	}
	items := make([]item, 0, len(all))
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s.Path()] {
			return Plan{}, fmt.Errorf("scenario %s listed twice", s.Path())
		}
		seen[s.Path()] = true
		h := fnv.New64a()
		h.Write([]byte(s.Path()))
		items = append(items, item{s: s, w: weight(s), hash: h.Sum64()})
	}
	slices.SortFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(b.w, a.w), cmp.Compare(a.hash, b.hash), cmp.Compare(a.s.Path(), b.s.Path()))
	})
	p := Plan{Shards: make([][]Scenario, n), Load: make([]time.Duration, n)}
	for _, it := range items {
		least := 0
		for i := 1; i < n; i++ {
			if p.Load[i] < p.Load[least] {
				least = i
			}
		}
		p.Shards[least] = append(p.Shards[least], it.s)
		p.Load[least] += it.w
	}
	for _, sh := range p.Shards {
		slices.SortFunc(sh, func(a, b Scenario) int { return cmp.Or(cmp.Compare(a.URI, b.URI), cmp.Compare(a.Line, b.Line)) })
	}
	return p, nil
}

// Weigher returns the weight Split gives a scenario under these durations.
func Weigher(durations map[string]time.Duration) func(Scenario) time.Duration {
	return weigher(durations)
}

func weigher(durations map[string]time.Duration) func(Scenario) time.Duration {
	mean := unknownWeight
	if len(durations) > 0 {
		var sum time.Duration
		for _, d := range durations {
			sum += d
		}
		mean = max(sum/time.Duration(len(durations)), time.Millisecond)
	}
	return func(s Scenario) time.Duration {
		var w time.Duration
		for _, line := range s.Elements() {
			if d, ok := durations[s.URI+":"+strconv.Itoa(line)]; ok {
				w += max(d, time.Millisecond) // a scenario always costs something: its setup
			} else {
				w += mean
			}
		}
		return w
	}
}
