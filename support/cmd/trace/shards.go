package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/kubernaut/gateway-contract/support/report"
	"github.com/kubernaut/gateway-contract/support/shard"
)

// missingScenarios lists, as path:line, the cucumber elements (scenarios, outline rows) of the
// feature files in dir that the report does not hold. The reports name a feature by the
// directory's last element and the file (features/x.feature), as godog run from the project
// root does.
func missingScenarios(dir string, r *report.Report) ([]string, error) {
	all, err := shard.Discover(filepath.Dir(filepath.Clean(dir)), filepath.Base(filepath.Clean(dir)))
	if err != nil {
		return nil, fmt.Errorf("--features: %w", err)
	}
	have := map[string]bool{}
	for _, f := range r.Features {
		for _, s := range f.Scenarios {
			have[s.URI+":"+strconv.Itoa(s.Line)] = true
		}
	}
	var missing []string
	for _, s := range all {
		for _, line := range s.Elements() {
			if p := s.URI + ":" + strconv.Itoa(line); !have[p] {
				missing = append(missing, p)
			}
		}
	}
	return missing, nil
}

// compare checks that two traceability reports hold the same scenarios with the same results
// and the same requirement verdicts, and prints one line saying so or each difference.
func compare(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: trace compare <traceability.json> <traceability.json>")
		return exitUsage
	}
	var reps [2]*report.Report
	for i, p := range args {
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintf(stderr, "trace compare: %v\n", err)
			return exitUsage
		}
		reps[i], err = report.ReadJSON(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "trace compare: %s: %v\n", p, err)
			return exitUsage
		}
	}
	diffs := differences(args, reps[0], reps[1])
	if len(diffs) == 0 {
		fmt.Fprintf(stdout, "trace compare: %s and %s agree: the same %d scenarios with the same results, the same verdicts on %d requirements\n",
			args[0], args[1], reps[0].Summary.Scenarios.Total, len(reps[0].Requirements))
		return exitOK
	}
	for _, d := range diffs {
		fmt.Fprintf(stderr, "trace compare: %s\n", d)
	}
	fmt.Fprintf(stderr, "trace compare: %s and %s differ in %d place(s)\n", args[0], args[1], len(diffs))
	return exitGate
}

func differences(names []string, a, b *report.Report) []string {
	var out []string
	results := func(r *report.Report) map[string]report.Status {
		m := map[string]report.Status{}
		for _, f := range r.Features {
			for _, s := range f.Scenarios {
				m[fmt.Sprintf("%s:%d %q", s.URI, s.Line, s.Name)] = s.Result
			}
		}
		return m
	}
	ra, rb := results(a), results(b)
	for _, k := range union(ra, rb) {
		x, inA := ra[k]
		y, inB := rb[k]
		switch {
		case !inA:
			out = append(out, fmt.Sprintf("scenario %s only in %s", k, names[1]))
		case !inB:
			out = append(out, fmt.Sprintf("scenario %s only in %s", k, names[0]))
		case x != y:
			out = append(out, fmt.Sprintf("scenario %s: %s in %s, %s in %s", k, x, names[0], y, names[1]))
		}
	}
	verdicts := func(r *report.Report) map[string]report.ReqStatus {
		m := map[string]report.ReqStatus{}
		for _, q := range r.Requirements {
			m[q.ID] = q.Status
		}
		return m
	}
	va, vb := verdicts(a), verdicts(b)
	for _, id := range union(va, vb) {
		if va[id] != vb[id] {
			out = append(out, fmt.Sprintf("requirement %s: %q in %s, %q in %s", id, va[id], names[0], vb[id], names[1]))
		}
	}
	return out
}

func union[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, cmp.Compare[string])
	return keys
}
