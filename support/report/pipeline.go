package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kubernaut/gateway-contract/support/featurefile"
)

// Names of the traceability files inside a report directory.
const (
	MarkdownFile = "traceability.md"
	HTMLFile     = "traceability.html"
	JSONFile     = "traceability.json"
)

// Inputs are what a traceability report is made from, in any pipeline: the suite's own run
// (e2e) and `go run ./support/cmd/trace` over shards or reruns call the same Generate.
type Inputs struct {
	// Catalog is the requirement catalog's path.
	Catalog string
	// Cucumber are godog's cucumber JSON files, one run each, in order.
	Cucumber []string
	// Title and GeneratedAt are shown in the report; empty means the defaults.
	Title, GeneratedAt string
	// Target is what the suite ran against (Report.Target); empty shows nothing.
	Target string
	// Names turns a path into the name the report shows (relative to the project, usually);
	// nil keeps paths as given.
	Names func(path string) string
	// Shards says that the cucumber files are the shards of one run (E2E_SHARD), not runs one
	// after another: they must not share a scenario, and the report counts one run.
	Shards bool
	// Mutation is the path of a mutation.json written by `make mutation` (support/cmd/mutation);
	// empty means none. The report then shows, per requirement, how many of its mutants the
	// suite caught, and the kill rate and the gateway's coverage in its summary.
	Mutation string
}

// Generate builds the report from its inputs and writes traceability.{md,html,json} into dir,
// rendering all three before writing any, so that a rendering error cannot leave a mix of old
// and new files behind.
func Generate(in Inputs, dir string) (*Report, error) {
	name := in.Names
	if name == nil {
		name = func(p string) string { return p }
	}
	data, err := os.ReadFile(in.Catalog)
	if err != nil {
		return nil, fmt.Errorf("reading the requirement catalog: %w", err)
	}
	cat, err := ParseCatalog(name(in.Catalog), data)
	if err != nil {
		return nil, err
	}
	var runs []Run
	for _, path := range in.Cucumber {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading godog's results: %w", err)
		}
		run, err := ParseCucumber(name(path), data)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	if in.Shards {
		if err := disjoint(runs); err != nil {
			return nil, err
		}
	}
	r, err := Build(cat, runs...)
	if err != nil {
		return nil, err
	}
	if in.Shards {
		r.Summary.Shards, r.Summary.Runs = len(runs), min(1, len(runs))
	}
	if in.Title != "" {
		r.Title = in.Title
	}
	r.GeneratedAt = in.GeneratedAt
	r.Target = in.Target
	if in.Mutation != "" {
		m, err := LoadMutation(in.Mutation)
		if err != nil {
			return nil, err
		}
		r.AttachMutation(m, name(in.Mutation))
	}
	if err := r.WriteFiles(dir); err != nil {
		return nil, err
	}
	return r, nil
}

// WriteFiles renders the three traceability files, then writes them into dir.
func (r *Report) WriteFiles(dir string) error {
	outputs := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{MarkdownFile, func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
		{HTMLFile, func(b *bytes.Buffer) error { return r.WriteHTML(b) }},
		{JSONFile, func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
	}
	bufs := make([]bytes.Buffer, len(outputs))
	for i, o := range outputs {
		if err := o.write(&bufs[i]); err != nil {
			return fmt.Errorf("rendering %s: %w", o.name, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the report directory: %w", err)
	}
	for i, o := range outputs {
		if err := os.WriteFile(filepath.Join(dir, o.name), bufs[i].Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", o.name, err)
		}
	}
	return nil
}

// MergeCucumber folds the features of every source file into dst (which may be one of them) and
// removes the other sources, so that several godog passes of one run (the main pass and the
// quarantine pass) are one run in the report.
func MergeCucumber(dst string, sources ...string) error {
	var all []json.RawMessage
	for _, path := range sources {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading godog's results: %w", err)
		}
		var features []json.RawMessage
		if len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, &features); err != nil {
				return fmt.Errorf("%s is not cucumber JSON: %w", path, err)
			}
		}
		all = append(all, features...)
	}
	merged, err := json.MarshalIndent(all, "", "    ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, merged, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	for _, path := range sources {
		if path != dst {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("removing %s after merging it: %w", path, err)
			}
		}
	}
	return nil
}

// QuarantineTags lists the quarantine tags that the features in dir put on scenarios (and
// features and rules): @quarantine, and the labelled @quarantine(<label>) forms, which godog's
// tag filters can only match by their full name. The features are parsed with the Gherkin
// parser, so a tag-like word inside a description or a step does not count.
func QuarantineTags(dir string) ([]string, error) {
	scenarios, err := featurefile.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{quarantineTag: true}
	for _, sc := range scenarios {
		for _, t := range append(slices.Clone(sc.Tags), sc.ExampleTags...) {
			if readTags([]string{t}).quarantined {
				seen[t] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for q := range seen {
		out = append(out, q)
	}
	sort.Strings(out)
	return out, nil
}

// SummaryLine is the one paragraph printed for a CI log.
func (r *Report) SummaryLine(dir string, gate bool, gateErr error) string {
	s := r.Summary
	req, sc := s.Requirements, s.Scenarios
	var b strings.Builder
	fmt.Fprintf(&b, "Traceability: %d of %d requirements proven (%.1f%%), %d failing, %d quarantined, %d not covered; coverage %.1f%%. ",
		req.Proven, req.Total, s.ProvenPercent, req.Failing, req.Quarantined, req.NotCovered, s.CoveredPercent)
	fmt.Fprintf(&b, "Scenarios: %d (%d passed, %d failed, %d other), %d flaky, %d quarantined, over %d run(s) taking %s. ",
		sc.Total, sc.Passed, sc.Failed, sc.Other, sc.Flaky, sc.Quarantined, s.Runs, s.Duration.Round(10*time.Millisecond))
	if m := r.Mutation; m != nil {
		fmt.Fprintf(&b, "Mutation: %d of %d mutants caught (%.1f%%), %d weakly proven requirement(s)",
			m.Summary.Killed, m.Summary.Killed+m.Summary.Survived, m.Summary.KillRate, m.WeaklyProven)
		if m.Coverage != nil {
			fmt.Fprintf(&b, ", gateway coverage %.1f%%", m.Coverage.Percent)
		}
		b.WriteString(". ")
	}
	switch {
	case gateErr == nil:
		b.WriteString("Gate: passed. ")
	case gate:
		fmt.Fprintf(&b, "Gate: FAILED with %d problem(s), listed on stderr. ", len(r.Problems))
	default:
		fmt.Fprintf(&b, "Gate: off; %d problem(s) listed below. ", len(r.Problems))
	}
	fmt.Fprintf(&b, "Reports: %s, %s, %s.", filepath.Join(dir, HTMLFile), filepath.Join(dir, MarkdownFile), filepath.Join(dir, JSONFile))
	return b.String()
}

// Verdict is the closing line of a run for scripts: "scenarios: N passed, M failed".
func (r *Report) Verdict() string {
	sc := r.Summary.Scenarios
	return fmt.Sprintf("scenarios: %d passed, %d failed", sc.Passed, sc.Failed+sc.Other)
}

// MutationIfPresent is the mutation.json in dir when there is one, else "": the suite's own run
// shows the evidence of the latest `make mutation` that wrote into its report directory.
func MutationIfPresent(dir string) string {
	path := filepath.Join(dir, MutationFile)
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}

// RequirementStatus is one requirement's status, or false when the catalog has no such id.
func (r *Report) RequirementStatus(id string) (ReqStatus, bool) {
	for _, q := range r.Requirements {
		if q.ID == id {
			return q.Status, true
		}
	}
	return "", false
}

// TrimLine drops the ":LINE" that godog appends to a feature's uri when a path selected one
// scenario by its line (features/x.feature:12), so that a scenario has one name however it was
// selected.
func TrimLine(uri string) string {
	if i := strings.LastIndexByte(uri, ':'); i > 0 && i < len(uri)-1 {
		if strings.Trim(uri[i+1:], "0123456789") == "" {
			return uri[:i]
		}
	}
	return uri
}

// JoinLineURIs rewrites a cucumber JSON file written by a run that selected scenarios by
// `path:line` (a shard): godog reports each selected line as a feature of its own whose uri ends
// in ":LINE"; they become one feature per file, named by its plain uri, as an unsharded run
// writes them.
func JoinLineURIs(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading godog's results: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var features []map[string]json.RawMessage
	if err := json.Unmarshal(data, &features); err != nil {
		return fmt.Errorf("%s is not cucumber JSON: %w", file, err)
	}
	var out []map[string]json.RawMessage
	byURI := map[string]int{}
	for _, f := range features {
		var uri string
		if err := json.Unmarshal(f["uri"], &uri); err != nil {
			return fmt.Errorf("%s: a feature without a uri: %w", file, err)
		}
		uri = TrimLine(uri)
		f["uri"], _ = json.Marshal(uri)
		i, seen := byURI[uri]
		if !seen {
			byURI[uri] = len(out)
			out = append(out, f)
			continue
		}
		var have, more []json.RawMessage
		if len(out[i]["elements"]) > 0 {
			if err := json.Unmarshal(out[i]["elements"], &have); err != nil {
				return fmt.Errorf("%s: %s: elements: %w", file, uri, err)
			}
		}
		if len(f["elements"]) > 0 {
			if err := json.Unmarshal(f["elements"], &more); err != nil {
				return fmt.Errorf("%s: %s: elements: %w", file, uri, err)
			}
		}
		out[i]["elements"], _ = json.Marshal(append(have, more...))
	}
	if out == nil {
		out = []map[string]json.RawMessage{}
	}
	merged, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, merged, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}

// disjoint fails when two shard files hold the same scenario: a file given twice, or a run that
// was not a shard of this split.
func disjoint(runs []Run) error {
	seen := map[scenarioKey]string{}
	for _, run := range runs {
		for _, f := range run.Features {
			for _, e := range f.Elements {
				k := scenarioKey{uri: f.URI, name: e.Name, line: e.Line}
				if other, ok := seen[k]; ok && other != run.Source {
					return fmt.Errorf("%s:%d %q is in both %s and %s: shards of one run hold each scenario once (is a file given twice, or a repeated run among the shards?)",
						f.URI, e.Line, e.Name, other, run.Source)
				}
				seen[k] = run.Source
			}
		}
	}
	return nil
}
