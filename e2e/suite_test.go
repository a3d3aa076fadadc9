// Package e2e is the contract suite's `go test` entry point: it loads the run's settings (one
// flag set: support/settings, godog's own flags among them), starts the harness (cluster, CRD,
// identities, fault proxy, gateway), runs the features through godog with each scenario as a
// subtest, and writes the reports through support/report, exactly as `support/cmd/trace` does.
//
// While writing a scenario, run just it:
//
//	go test ./e2e -godog.paths features/deduplication.feature:12 -godog.format pretty
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/steps"
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/report"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// serialTag marks scenarios that run alone, after the others (see TestFeatures).
const serialTag = "@serial"

// loader binds every setting to the test binary's flags; TestFeatures loads them once parsed.
var loader = settings.Bind(flag.CommandLine)

func TestFeatures(t *testing.T) {
	begin := time.Now()
	r := prepareRun(t)
	if r.sh.on && len(r.sh.paths) == 0 {
		return // an empty shard wrote its empty report; there is nothing to run
	}
	loader.Print(os.Stderr)

	ctx, stop := interruptible(os.Stderr)
	t.Cleanup(stop) // after the teardown below (cleanups run last-in first-out): a signal during it still tears down
	h, err := harness.Setup(ctx, r.s, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Teardown(ctx); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	r.ctx, r.h = ctx, h
	fmt.Fprintf(os.Stderr, "e2e: random order seed %d (rerun in this order with E2E_SEED=%d), %d scenarios at once\n",
		r.s.Seed(), r.s.Seed(), r.s.Godog.Concurrency)

	status := r.runPasses(t)
	r.writeReport(t)
	printTimings(h, begin, r.out, status)
}

// suiteRun is one run of the suite: its settings, where it reads features and writes reports,
// and, once set up, its context and harness.
type suiteRun struct {
	s     settings.Settings
	root  string
	out   string   // the reports directory, absolute
	paths []string // the feature paths, relative to root
	sh    shardRun // the shard this run is (E2E_SHARD), if any
	ctx   context.Context
	h     *harness.Harness
}

// prepareRun loads the settings, finds the features and makes the reports directory.
func prepareRun(t *testing.T) *suiteRun {
	s, err := loader.Load(os.Getenv, flag.Args())
	if err != nil {
		t.Fatal(err)
	}
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := featurePaths(root, s.Paths)
	if err != nil {
		t.Fatal(err)
	}
	out := s.ReportDir
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out) // from the project root, not from e2e/ where go test runs
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatalf("creating the reports directory: %v", err)
	}
	sh, err := selectShard(root, s, out)
	if err != nil {
		t.Fatal(err)
	}
	if sh.on {
		paths = sh.paths
	}
	if s.Godog.Randomize <= 0 {
		s.Godog.Randomize = time.Now().UnixNano()
	}
	return &suiteRun{s: s, root: root, out: out, paths: paths, sh: sh}
}

// pass runs the scenarios that tagExpr selects through godog, writing cucumber and junit into
// the reports directory; tt nil keeps their failures out of the test's verdict.
func (r *suiteRun) pass(cucumber, junit, tagExpr string, concurrency int, tt *testing.T) int {
	opts := r.s.Godog
	opts.Format = fmt.Sprintf("%s,cucumber:%s,junit:%s", r.s.Godog.Format, filepath.Join(r.out, cucumber), filepath.Join(r.out, junit))
	opts.FS = os.DirFS(r.root)
	opts.Paths = r.paths // read through FS, so reports name features/<file>
	opts.Tags = tagExpr
	opts.Concurrency = concurrency
	opts.TestingT = tt
	opts.DefaultContext = r.ctx // every scenario's context: an interrupt ends them
	return godog.TestSuite{Name: "gateway-contract", ScenarioInitializer: steps.Initializer(r.h), Options: &opts}.Run()
}

// runPasses runs the main, serial and quarantine passes and merges their cucumber files into
// cucumber.json; it returns the status of the passes that count.
func (r *suiteRun) runPasses(t *testing.T) int {
	qtags, err := report.QuarantineTags(filepath.Join(r.root, "features"))
	if err != nil {
		t.Fatal(err)
	}
	stopIfInterrupted := func(pass string) {
		if context.Cause(r.ctx) == errInterrupted {
			t.Fatalf("e2e: %v: the run stopped after its %s pass; no report written", errInterrupted, pass)
		}
	}
	passes := tagPasses(r.tags(), qtags)
	status := r.pass("cucumber.json", "junit.xml", passes.main, r.s.Godog.Concurrency, t)
	stopIfInterrupted("main")
	// Scenarios that load the whole machine (the soak) run after the others, one at a time, so
	// that they neither starve the scenarios beside them nor are starved by them.
	if r.pass("cucumber-serial.json", "junit-serial.xml", passes.serial, 1, t) != 0 {
		status = 1
	}
	stopIfInterrupted("serial")
	// Quarantined scenarios still run, in their own pass, so that their failures reach the
	// report (at the top, with the reason) without failing the build.
	merged := []string{filepath.Join(r.out, "cucumber-serial.json")}
	if passes.quarantine != "" { // none when no scenario is quarantined: an empty filter would run them all
		if r.pass("cucumber-quarantine.json", "junit-quarantine.xml", passes.quarantine, r.s.Godog.Concurrency, nil) != 0 {
			fmt.Fprintf(os.Stderr, "e2e: quarantined scenarios failed; see the top of %s\n", filepath.Join(r.out, report.MarkdownFile))
		}
		merged = append(merged, filepath.Join(r.out, "cucumber-quarantine.json"))
	}
	main := filepath.Join(r.out, "cucumber.json")
	if err := report.MergeCucumber(main, append([]string{main}, merged...)...); err != nil {
		t.Fatal(err)
	}
	if r.sh.on { // godog reports each scenario selected by path:line as a feature of its own
		if err := report.JoinLineURIs(main); err != nil {
			t.Fatal(err)
		}
		for _, junit := range []string{"junit.xml", "junit-serial.xml", "junit-quarantine.xml"} {
			if _, err := os.Stat(filepath.Join(r.out, junit)); err != nil {
				continue // a pass that did not run
			}
			if err := report.JoinJUnitSuites(filepath.Join(r.out, junit)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return status
}

// writeReport writes the traceability report of cucumber.json and applies its gate to a run of
// the whole suite.
func (r *suiteRun) writeReport(t *testing.T) {
	s := r.s
	rep, err := report.Generate(report.Inputs{
		Catalog:  filepath.Join(r.root, "features", "requirements.yaml"),
		Cucumber: []string{filepath.Join(r.out, "cucumber.json")},
		Title:    r.sh.title,
		Names:    func(p string) string { return relative(r.root, p) },
		Mutation: report.MutationIfPresent(r.out), // the evidence of the latest make mutation, if any
		Target:   r.h.Target(),
	}, r.out)
	partial := r.tags() != "" || len(s.Paths) > 0
	switch {
	case err != nil:
		t.Errorf("traceability report: %v", err)
	case rep.Summary.Scenarios.Total == 0:
		// A run that ran nothing proves nothing: a filter that matches no scenario is an error.
		t.Errorf("no scenario ran (tags %q, paths %q): check E2E_TAGS and -godog.paths against features/", r.tags(), s.Paths)
	case partial:
		fmt.Fprintf(os.Stderr, "e2e: traceability gate not applied: tags %q, paths %q run part of the suite\n", r.tags(), s.Paths)
	case s.TraceGate && r.sh.on:
		// A requirement that another shard's scenarios prove is judged where the shards meet:
		// trace --shards. Everything else (this shard's untagged scenarios, unknown tags, a
		// requirement no shard covers) fails here as in a whole run.
		elsewhere := rep.CoveredOnlyBy(r.sh.otherReqs)
		if len(elsewhere) > 0 {
			fmt.Fprintf(os.Stderr, "e2e: shard %s: %d requirement(s) without a scenario in this shard are left to the merged report (trace --shards), where other shards prove them: %s\n",
				s.Shard, len(elsewhere), strings.Join(elsewhere, ", "))
		}
		if gerr := rep.GateExcept(elsewhere); gerr != nil {
			t.Errorf("traceability gate of shard %s (turn it off for exploratory runs with E2E_TRACE_GATE=off): %v", s.Shard, gerr)
		}
	case s.TraceGate:
		if gerr := rep.Gate(); gerr != nil {
			t.Errorf("traceability gate (turn it off for exploratory runs with E2E_TRACE_GATE=off): %v", gerr)
		}
	}
}

// featurePaths makes the selected feature paths relative to the project root (godog reads them
// through os.DirFS(root)); features/ when none are selected. A path may end in :LINE.
func featurePaths(root string, given []string) ([]string, error) {
	if len(given) == 0 {
		return []string{"features"}, nil
	}
	var out []string
	for _, p := range given {
		file, line, _ := strings.Cut(p, ":")
		if filepath.IsAbs(file) {
			rel, err := filepath.Rel(root, file)
			if err != nil || strings.HasPrefix(rel, "..") {
				return nil, fmt.Errorf("feature path %s is outside the project %s", p, root)
			}
			file = rel
		}
		file = filepath.ToSlash(filepath.Clean(strings.TrimPrefix(file, "../"))) // given from e2e/
		if _, err := os.Stat(filepath.Join(root, file)); err != nil {
			return nil, fmt.Errorf("feature path %s: %w (paths are relative to the project root, e.g. features/deduplication.feature:8)", p, err)
		}
		if line != "" {
			file += ":" + line
		}
		out = append(out, file)
	}
	return out, nil
}

// tags is the run's tag filter: the user's, and, when the run drives a gateway it did not launch
// (contract mode, or the real Pods of a cluster with nodes), without the scenarios that need one
// it launched: they would only answer harness.ErrContractMode.
func (r *suiteRun) tags() string { return runTags(r.s.Godog.Tags, r.h.LaunchesGateways()) }

// runTags is the filter of a run whose user asked for filter and that launches gateways or not.
func runTags(filter string, launches bool) string {
	if launches || strings.Contains(filter, "~"+launchedGatewayTag) {
		return filter
	}
	return andTags(filter, "~"+launchedGatewayTag)
}

// launchedGatewayTag marks the scenarios that need a gateway the suite launched.
const launchedGatewayTag = "@launched-gateway"

// andTags adds a term to every alternative of a godog tag filter, which has no parentheses:
// "@a,@b" and "~@q" give "@a && ~@q,@b && ~@q".
// passes are the tag filters of the run's three passes: the main one (neither quarantined nor
// serial), the serial one, and the quarantined one ("" when no scenario is quarantined).
type passes struct{ main, serial, quarantine string }

// tagPasses builds the passes' filters from the user's filter and the quarantine tags in use.
func tagPasses(filter string, qtags []string) passes {
	not := ""
	for _, q := range qtags {
		not += "~" + q + " && "
	}
	p := passes{main: andTags(filter, not+"~"+serialTag), serial: andTags(filter, not+serialTag)}
	var quarantined []string
	for _, q := range qtags {
		quarantined = append(quarantined, andTags(filter, q))
	}
	p.quarantine = strings.Join(quarantined, ",")
	return p
}

func andTags(filter, term string) string {
	if strings.TrimSpace(filter) == "" {
		return term
	}
	alts := strings.Split(filter, ",")
	for i, a := range alts {
		alts[i] = strings.TrimSpace(a) + " && " + term
	}
	return strings.Join(alts, ",")
}

// relative names a file from the project root in reports, so that they read the same on every
// machine; it falls back to the absolute path.
func relative(root, path string) string {
	if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

func printTimings(h *harness.Harness, begin time.Time, out string, status int) {
	t := h.Timings
	fmt.Fprintf(os.Stderr, "\ne2e: cluster %q started in %s", h.Cluster.Name(), t.ClusterStart.Round(time.Millisecond))
	if t.ControlPlaneStart > 0 {
		fmt.Fprintf(os.Stderr, " (control plane ready in %s)", t.ControlPlaneStart.Round(time.Millisecond))
	}
	fmt.Fprintf(os.Stderr, "; gateway built in %s, started in %s\n", t.GatewayBuild.Round(time.Millisecond), t.GatewayStart.Round(time.Millisecond))
	fmt.Fprintf(os.Stderr, "e2e: suite wall time %s (status %d); reports in %s\n", time.Since(begin).Round(time.Millisecond), status, out)
}
