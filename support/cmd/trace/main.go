// Command trace writes the requirement traceability report (Markdown, HTML
// and JSON) from the requirement catalog and godog cucumber JSON files, and
// enforces the traceability gate.
//
//	go run ./support/cmd/trace --catalog features/requirements.yaml --out reports \
//	    [--gate=true] [--title T] [--generated-at TEXT] [--mutation reports/mutation.json] reports/cucumber*.json ...
//
// Files are runs in the order given; glob patterns are expanded here (in
// natural order, so cucumber-10.json comes after cucumber-2.json) for shells
// and CI steps that pass them quoted. Exit status: 0 success, 1 the gate
// failed (the reports are still written), 2 bad usage, unreadable input or
// unwritable output. It writes the report with support/report.Generate, the
// same function the suite's own run calls. --mutation adds the evidence of `make mutation`: per
// requirement, how many of its mutants the suite caught ("weakly proven" when one survived), the
// kill rate and the gateway's statement coverage.
//
// --shards merges the shards of one run (E2E_SHARD=I/N, CI's job matrix) instead: the files
// must not share a scenario, together they must hold every scenario of --features (a shard that
// did not upload its results fails the merge, naming what is missing), and the report counts
// one run: the report, and the gate, that the whole suite run at once gives.
//
//	go run ./support/cmd/trace compare reports/traceability.json reports/shards/merged/traceability.json
//
// checks that two reports hold the same scenarios with the same results and give every
// requirement the same verdict (make e2e-shards: the merged shards against one whole run).
//
//	go run ./support/cmd/trace verdict reports/traceability.json [BR-GATEWAY-018]
//
// reads a written report for scripts: with a requirement id it prints that
// requirement's status (hack/must-fail.sh); without one, the run's closing
// line "scenarios: N passed, M failed" (.ci/run).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubernaut/gateway-contract/support/report"
)

// Exit codes.
const (
	exitOK    = 0
	exitGate  = 1
	exitUsage = 2
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// options are the parsed command line.
type options struct {
	catalog, out, title, generatedAt string
	mutation                         string
	features                         string
	gate, noFlaky, shards            bool
	patterns                         []string
}

// run is the whole command, separated from main so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "verdict" {
		return verdict(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "compare" {
		return compare(args[1:], stdout, stderr)
	}
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "trace: %v\nusage: trace --catalog FILE --out DIR [--gate=true] [--shards [--features DIR]] [--title T] [--mutation FILE] CUCUMBER.json...\n", err)
		return exitUsage
	}
	files, err := expand(opts.patterns, filepath.Join(opts.out, report.JSONFile))
	if err != nil {
		fmt.Fprintf(stderr, "trace: %v\n", err)
		return exitUsage
	}
	r, err := report.Generate(report.Inputs{
		Catalog: opts.catalog, Cucumber: files, Title: opts.title, GeneratedAt: opts.generatedAt,
		Mutation: opts.mutation, Shards: opts.shards,
	}, opts.out)
	if err != nil {
		fmt.Fprintf(stderr, "trace: %v\n", err)
		return exitUsage
	}
	gateErr := r.Gate()
	if opts.shards {
		missing, err := missingScenarios(opts.features, r)
		if err != nil {
			fmt.Fprintf(stderr, "trace: %v\n", err)
			return exitUsage
		}
		if len(missing) > 0 {
			fmt.Fprintln(stdout, r.SummaryLine(opts.out, opts.gate, gateErr))
			fmt.Fprintf(stderr, "trace: the %d shard file(s) miss %d scenario(s) of %s (a shard that failed before writing its results, or one not given): %s\n",
				len(files), len(missing), opts.features, strings.Join(missing, ", "))
			return exitGate
		}
	}
	fmt.Fprintln(stdout, r.SummaryLine(opts.out, opts.gate, gateErr))
	if opts.noFlaky {
		if q := r.Summary.Scenarios.Quarantined; q > 0 {
			fmt.Fprintf(stderr, "trace: %d quarantined scenario(s) ran and are reported with their pass rates, outside the --no-flaky verdict\n", q)
		}
		if unstable := r.Unstable(); len(unstable) > 0 {
			for _, s := range unstable {
				fmt.Fprintf(stderr, "trace: %s:%d %q passed %d of %d runs\n", s.URI, s.Line, s.Name, s.Passed, s.Runs)
			}
			fmt.Fprintf(stderr, "trace: %d scenario(s) failed in at least one run (--no-flaky); see %s\n", len(unstable), filepath.Join(opts.out, report.MarkdownFile))
			return exitGate
		}
	}
	if gateErr == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, gateErr)
	if !opts.gate {
		return exitOK
	}
	return exitGate
}

// parseArgs accepts flags before, between and after the file arguments.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.catalog, "catalog", "features/requirements.yaml", "requirement catalog (YAML)")
	fs.StringVar(&o.out, "out", "reports", "directory for traceability.{md,html,json}")
	fs.BoolVar(&o.gate, "gate", true, "exit 1 on traceability errors; --gate=false for exploratory runs")
	fs.BoolVar(&o.noFlaky, "no-flaky", false, "also exit 1 when a scenario that is not quarantined failed in any run (make flake)")
	fs.StringVar(&o.title, "title", report.DefaultTitle, "report title")
	fs.StringVar(&o.generatedAt, "generated-at", "", "free text shown as the generation time (none by default, for reproducible output)")
	fs.BoolVar(&o.shards, "shards", false, "the files are the shards of one run (E2E_SHARD): disjoint, together the whole of --features, merged into one run")
	fs.StringVar(&o.features, "features", "features", "with --shards: the feature files every scenario of which a shard must have run")
	fs.StringVar(&o.mutation, "mutation", "", "a mutation.json of make mutation: show per requirement how many of its mutants the suite caught")
	for {
		if err := fs.Parse(args); err != nil {
			return o, err
		}
		if fs.NArg() == 0 {
			break
		}
		o.patterns = append(o.patterns, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(o.patterns) == 0 {
		return o, errors.New("no cucumber JSON files given")
	}
	return o, nil
}

// verdict reads a written traceability.json.
func verdict(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 && len(args) != 2 {
		fmt.Fprintln(stderr, "usage: trace verdict <traceability.json> [requirement id]")
		return exitUsage
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "trace verdict: %v\n", err)
		return exitUsage
	}
	defer f.Close()
	rep, err := report.ReadJSON(f)
	if err != nil {
		fmt.Fprintf(stderr, "trace verdict: %s: %v\n", args[0], err)
		return exitUsage
	}
	if len(args) == 1 {
		fmt.Fprintln(stdout, rep.Verdict())
		return exitOK
	}
	status, ok := rep.RequirementStatus(args[1])
	if !ok {
		fmt.Fprintf(stderr, "trace verdict: %s is not in %s\n", args[1], args[0])
		return exitGate
	}
	fmt.Fprintln(stdout, status)
	return exitOK
}
