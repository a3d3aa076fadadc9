package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubernaut/gateway-contract/support/report"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// minMutantsPerRequirement is how many mutants every requirement of the catalog must be named by:
// one mutant proves little about a requirement's scenarios.
const minMutantsPerRequirement = 2

// catalog is hack/mutants/catalog.yaml.
type catalog struct {
	// Exclude is a godog tag term added to every mutant's scenario filter, e.g. "~@soak": the
	// scenarios it leaves out cannot kill a mutant.
	Exclude string `json:"exclude"`
	// Unmutated names the requirements that no edit of the gateway's Go sources can reach (their
	// scenarios test what ships beside the code, such as the manifests), each with the reason and
	// where its must-fail proof is instead. They are exempt from minMutantsPerRequirement.
	Unmutated map[string]string `json:"unmutated,omitempty"`
	Mutants   []mutant          `json:"mutants"`
}

// mutant is one behavioural mutant of the gateway: a small plausible bug, written as exact
// search/replace edits of the gateway's Go sources, and the requirements whose scenarios must
// catch it.
type mutant struct {
	ID           string   `json:"id"`
	Requirements []string `json:"requirements"`
	Description  string   `json:"description"`
	// File, Old and New are the one edit of most mutants; Edits holds several.
	File  string `json:"file,omitempty"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
	Edits []edit `json:"edits,omitempty"`
	// Equivalent, when set, accepts the mutant's survival, with the reason no scenario can tell
	// it from the gateway.
	Equivalent string `json:"equivalent,omitempty"`
	// Tags replaces the scenario filter derived from the requirements (rarely needed).
	Tags string `json:"tags,omitempty"`
}

// edit replaces the one occurrence of Old in File (relative to the project root) by New.
type edit struct {
	File string `json:"file"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

var mutantID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// loadCatalog reads the mutant catalog strictly and checks it against the requirement catalog:
// known requirement ids, unique ids, edits of the gateway's Go sources only. shortfall lists the
// requirements named by fewer than minMutantsPerRequirement mutants, which a full measurement
// refuses.
func loadCatalog(path string, reqs report.Catalog) (c *catalog, shortfall []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the mutant catalog: %w", err)
	}
	c = &catalog{}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	known := map[string]bool{}
	for _, r := range reqs.Requirements {
		known[r.ID] = true
	}
	var errs []error
	if c.Exclude != "" {
		if err := settings.CheckTags(c.Exclude); err != nil {
			errs = append(errs, fmt.Errorf("exclude: %w", err))
		}
	}
	seen := map[string]bool{}
	perReq := map[string]int{}
	for i := range c.Mutants {
		m := &c.Mutants[i]
		problems := m.normalize()
		if seen[m.ID] {
			problems = append(problems, "the id is used twice")
		}
		seen[m.ID] = true
		for _, id := range m.Requirements {
			if !known[id] {
				problems = append(problems, fmt.Sprintf("names %s, which is not in %s", id, reqs.Path))
			}
			perReq[id]++
		}
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("mutants[%d] (%s): %s", i, m.ID, p))
		}
	}
	for id, reason := range c.Unmutated {
		switch {
		case !known[id]:
			errs = append(errs, fmt.Errorf("unmutated: %s is not in %s", id, reqs.Path))
		case strings.TrimSpace(reason) == "":
			errs = append(errs, fmt.Errorf("unmutated: %s needs the reason no mutant of the gateway reaches it", id))
		case perReq[id] > 0:
			errs = append(errs, fmt.Errorf("unmutated: %s is named by %d mutant(s): it is not unmutated", id, perReq[id]))
		}
	}
	for _, r := range reqs.Requirements {
		if _, exempt := c.Unmutated[r.ID]; !exempt && perReq[r.ID] < minMutantsPerRequirement {
			shortfall = append(shortfall, fmt.Sprintf("%s is named by %d mutant(s); every requirement needs at least %d", r.ID, perReq[r.ID], minMutantsPerRequirement))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, fmt.Errorf("%s: invalid mutant catalog:\n%w", path, err)
	}
	return c, shortfall, nil
}

// normalize turns a single file/old/new into its one edit and returns what is wrong with the
// mutant on its own: its id, description, requirements named at all, edits and tags.
func (m *mutant) normalize() []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !mutantID.MatchString(m.ID) {
		bad("the id must be lowercase words joined by '-'")
	}
	if strings.TrimSpace(m.Description) == "" {
		bad("no description: say what bug the mutant is")
	}
	if len(m.Requirements) == 0 {
		bad("names no requirement that must catch it")
	}
	if m.File != "" || m.Old != "" || m.New != "" {
		if len(m.Edits) > 0 {
			bad("give either file/old/new or edits, not both")
		}
		m.Edits = []edit{{File: m.File, Old: m.Old, New: m.New}}
	}
	if len(m.Edits) == 0 {
		bad("has no edit")
	}
	for j, e := range m.Edits {
		switch {
		case !strings.HasPrefix(e.File, "gateway/") || !strings.HasSuffix(e.File, ".go") || strings.HasSuffix(e.File, "_test.go") || filepath.Clean(e.File) != e.File:
			bad("edit %d: %q is not a Go source of the gateway (gateway/....go, no tests)", j, e.File)
		case e.Old == "":
			bad("edit %d: old text is empty", j)
		case e.Old == e.New:
			bad("edit %d: new text is the old text: the mutant changes nothing", j)
		}
	}
	if m.Tags != "" {
		if err := settings.CheckTags(m.Tags); err != nil {
			bad("%v", err)
		}
	}
	return problems
}

// files are the files the mutant edits, sorted, once each.
func (m *mutant) files() []string {
	var out []string
	for _, e := range m.Edits {
		out = append(out, e.File)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// tags is the mutant's scenario filter: the scenarios of its requirements, less the catalog's
// exclusion. godog's filters have no parentheses, so the exclusion joins every alternative.
func (m *mutant) tags(exclude string) string {
	if m.Tags != "" {
		return m.Tags
	}
	var alts []string
	for _, id := range m.Requirements {
		alt := "@" + id
		if exclude != "" {
			alt += " && " + exclude
		}
		alts = append(alts, alt)
	}
	return strings.Join(alts, ",")
}

// apply returns the contents of every file the mutant edits, mutated, from read (the unmutated
// tree). A mutant whose old text is not in its file exactly once no longer applies: the code it
// was written against has moved, and it must be written again.
func (m *mutant) apply(read func(file string) ([]byte, error)) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, e := range m.Edits {
		src, ok := out[e.File]
		if !ok {
			data, err := read(e.File)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.File, err)
			}
			src = data
		}
		n := strings.Count(string(src), e.Old)
		if n != 1 {
			return nil, fmt.Errorf("its old text occurs %d times in %s, not once: the code moved; write the mutant again: %q", n, e.File, firstLineOf(e.Old))
		}
		out[e.File] = []byte(strings.Replace(string(src), e.Old, e.New, 1))
	}
	return out, nil
}

func firstLineOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
