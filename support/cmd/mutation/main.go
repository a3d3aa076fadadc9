// Command mutation measures the contract suite's power with mutation testing tied to the
// requirements: a green suite says the gateway meets the requirements; this says whether the
// suite would notice if it stopped meeting them.
//
//	go run ./support/cmd/mutation [--catalog hack/mutants/catalog.yaml] [--out reports]
//	    [--parallel 2] [--only id,id] [--check] [--no-coverage] [--keep]
//
// Every mutant of the catalog (hack/mutants/catalog.yaml) is a small plausible bug of the
// gateway, written as exact search/replace edits of its Go sources, naming the requirements whose
// scenarios must catch it. The flow:
//
//  1. The catalog is checked against features/requirements.yaml: known requirement ids, unique
//     mutant ids, and at least two mutants for every requirement.
//  2. A throwaway copy of what building the gateway needs (go.mod, go.sum, gateway/) is taken,
//     and the gateway is built from it with -trimpath -buildvcs=false, so that every later build
//     shares Go's build cache and recompiles only the mutated package; the suite is compiled once
//     (go test -c ./e2e); one embedded control plane is started for all runs, with the CRD and
//     the suite's identities made once (each run attaches as E2E_CLUSTER=existing).
//  3. The baseline: a coverage-instrumented gateway (go build -cover) goes through the whole
//     suite once, alone on the machine, with GOCOVERDIR; a scenario that fails there cannot kill
//     a mutant, and the counters give the gateway's statement coverage and its least covered
//     functions.
//  4. Each mutant is applied to the copy (refused as stale when its old text is not in its file
//     exactly once, as unchanged when the built binary is byte-identical to the gateway's, as
//     broken when it does not build), built, and the compiled suite runs the scenarios of its
//     requirements against it (E2E_GATEWAY_BINARY), --parallel runs at a time. It is killed when
//     the run fails with a scenario of one of its requirements failing (that passed in the
//     baseline); otherwise it survived.
//  5. <out>/mutation.json gets every verdict with the scenarios that killed it, the kill rate
//     and the coverage; <out>/mutation/ holds every run's reports and log, the coverage profile,
//     and the traceability report of the baseline with the mutation evidence (the suite's own
//     run shows it too, from <out>/mutation.json).
//
// Exit status: 0 when every mutant was killed or is accepted as equivalent (`equivalent:
// "<reason>"` in the catalog); 1 when one survived or was refused; 2 on bad usage or when the
// measurement itself failed. --check only applies and builds every mutant (seconds, no suite).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/report"
)

const (
	exitOK      = 0
	exitFailed  = 1
	exitBroken  = 2
	defaultOut  = "reports"
	catalogPath = "hack/mutants/catalog.yaml"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	catalog, out string
	parallel     int
	only         []string
	check        bool
	noCoverage   bool
	keep         bool
	timeout      time.Duration
}

func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	var only string
	fs := flag.NewFlagSet("mutation", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.catalog, "catalog", catalogPath, "the mutant catalog, relative to the project root")
	fs.StringVar(&o.out, "out", defaultOut, "report directory: <out>/mutation.json and <out>/mutation/")
	fs.IntVar(&o.parallel, "parallel", 2, "suite runs at once")
	fs.StringVar(&only, "only", "", "run only these mutants (comma separated ids): a partial measurement")
	fs.BoolVar(&o.check, "check", false, "only apply and build every mutant: refuse stale, unchanged and broken ones; run no suite")
	fs.BoolVar(&o.noCoverage, "no-coverage", false, "skip the baseline run with the coverage-instrumented gateway (mutants are then judged without it)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (sources, binaries, kubeconfig) and print its path")
	fs.DurationVar(&o.timeout, "run-timeout", 10*time.Minute, "bound of one suite run")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.parallel < 1 {
		return o, errors.New("--parallel must be at least 1")
	}
	for _, id := range strings.Split(only, ",") {
		if id = strings.TrimSpace(id); id != "" {
			o.only = append(o.only, id)
		}
	}
	return o, nil
}

// measurement is one run of the tool.
type measurement struct {
	opts    options
	root    string
	work    string
	reqs    report.Catalog
	cat     *catalog
	mutants []*mutant
	tree    *tree
	suite   *suite
	log     io.Writer

	origHash string
	mu       sync.Mutex
	results  map[string]report.MutantResult // refused mutants, judged at once
	runs     map[string]*runResult          // mutants that ran, judged after the baseline
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	begin := time.Now()
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "mutation: %v\n", err)
		return exitBroken
	}
	m, err := prepare(opts, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "mutation: %v\n", err)
		return exitBroken
	}
	defer m.cleanup()
	code, err := m.measure(ctx, begin)
	if err != nil {
		fmt.Fprintf(stderr, "mutation: %v\n", err)
		return exitBroken
	}
	return code
}

func prepare(opts options, log io.Writer) (*measurement, error) {
	root, err := repo.Root()
	if err != nil {
		return nil, err
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	opts.catalog, opts.out = abs(opts.catalog), abs(opts.out)
	reqs, err := report.LoadCatalog(filepath.Join(root, "features", "requirements.yaml"))
	if err != nil {
		return nil, err
	}
	cat, shortfall, err := loadCatalog(opts.catalog, reqs)
	if err != nil {
		return nil, err
	}
	if len(shortfall) > 0 {
		msg := fmt.Sprintf("%s: too few mutants:\n  %s", opts.catalog, strings.Join(shortfall, "\n  "))
		if len(opts.only) == 0 && !opts.check {
			return nil, errors.New(msg)
		}
		fmt.Fprintf(log, "mutation: WARNING (a full measurement refuses this): %s\n", msg)
	}
	m := &measurement{opts: opts, root: root, reqs: reqs, cat: cat, log: log,
		results: map[string]report.MutantResult{}, runs: map[string]*runResult{}}
	for i := range cat.Mutants {
		if len(opts.only) == 0 || slices.Contains(opts.only, cat.Mutants[i].ID) {
			m.mutants = append(m.mutants, &cat.Mutants[i])
		}
	}
	for _, id := range opts.only {
		if !slices.ContainsFunc(cat.Mutants, func(x mutant) bool { return x.ID == id }) {
			return nil, fmt.Errorf("--only %s: no such mutant in %s", id, opts.catalog)
		}
	}
	if m.work, err = os.MkdirTemp("", "gateway-mutation-"); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *measurement) cleanup() {
	if m.opts.keep {
		fmt.Fprintf(m.log, "mutation: work directory kept: %s\n", m.work)
		return
	}
	_ = os.RemoveAll(m.work)
}

func (m *measurement) printf(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(m.log, "mutation: "+format+"\n", args...)
}

func (m *measurement) rel(p string) string {
	if r, err := filepath.Rel(m.root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// measure is the whole flow of the package documentation.
func (m *measurement) measure(ctx context.Context, begin time.Time) (int, error) {
	bin := filepath.Join(m.work, "bin")
	if err := m.buildOriginal(ctx, bin); err != nil {
		return 0, err
	}
	if m.opts.check {
		return m.check(ctx, bin)
	}
	outDir := filepath.Join(m.opts.out, "mutation")
	if err := os.RemoveAll(outDir); err != nil {
		return 0, err
	}
	coverBin := filepath.Join(bin, "gateway-cover")
	shared, err := m.prepare(ctx, coverBin)
	if shared != nil {
		defer func() { _ = shared.stop(context.WithoutCancel(ctx)) }()
	}
	if err != nil {
		return 0, err
	}

	// The baseline runs alone, with the machine to itself (no build, no other run): it decides
	// which scenarios can kill a mutant at all (those that pass against the gateway as it is), so
	// it must not be the run that load makes fail.
	covDir := filepath.Join(m.work, "covdata")
	var baseline *runResult
	if !m.opts.noCoverage {
		if baseline, err = m.runBaseline(ctx, coverBin, covDir, filepath.Join(outDir, "baseline")); err != nil {
			return 0, err
		}
	}
	m.runMutants(ctx, bin, outDir)
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("interrupted: %w", err)
	}
	doc, err := m.document(ctx, baseline, covDir, outDir)
	if err != nil {
		return 0, err
	}
	doc.Duration = time.Since(begin)
	return m.finish(doc, outDir, baseline)
}

// buildOriginal copies the tree and builds the unmutated gateway into bin, whose hash tells a
// mutant that changed nothing.
func (m *measurement) buildOriginal(ctx context.Context, bin string) error {
	var err error
	if m.tree, err = copyTree(m.root, filepath.Join(m.work, "src")); err != nil {
		return err
	}
	orig := filepath.Join(bin, "gateway")
	t0 := time.Now()
	if err := m.tree.build(ctx, orig); err != nil {
		return fmt.Errorf("the unmutated gateway does not build: %w", err)
	}
	if m.origHash, err = hashFile(orig); err != nil {
		return err
	}
	m.printf("%d of %d mutants selected; the gateway built in %s (-trimpath)", len(m.mutants), len(m.cat.Mutants), time.Since(t0).Round(time.Millisecond))
	return nil
}

// prepare starts the shared control plane, compiles the suite and builds the coverage gateway
// into coverBin, all at once since they are independent. The cluster it returns, also with an
// error, is the caller's to stop.
func (m *measurement) prepare(ctx context.Context, coverBin string) (*sharedCluster, error) {
	var (
		wg                     sync.WaitGroup
		shared                 *sharedCluster
		clusterErr, suiteErr   error
		coverErr               error
		suiteBin               = filepath.Join(m.work, "e2e.test")
		clusterTook, suiteTook time.Duration
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		t := time.Now()
		shared, clusterErr = startSharedCluster(ctx, m.work)
		clusterTook = time.Since(t)
	}()
	go func() {
		defer wg.Done()
		t := time.Now()
		suiteErr = compileSuite(ctx, m.root, suiteBin)
		suiteTook = time.Since(t)
	}()
	if !m.opts.noCoverage {
		coverErr = m.tree.build(ctx, coverBin, "-cover", "-covermode=set", "-coverpkg="+coverPackages)
	}
	wg.Wait()
	if err := errors.Join(clusterErr, suiteErr, coverErr); err != nil {
		return shared, err
	}
	m.printf("control plane ready in %s; suite compiled in %s", clusterTook.Round(time.Millisecond), suiteTook.Round(time.Millisecond))
	m.suite = &suite{binary: suiteBin, root: m.root, kubeconfig: shared.kubeconfig, timeout: m.opts.timeout}
	return shared, nil
}

// runMutants builds the mutants one after another while opts.parallel workers run the suite
// against the ones built before.
func (m *measurement) runMutants(ctx context.Context, bin, outDir string) {
	type job struct {
		mu     *mutant
		binary string
	}
	jobs := make(chan job, m.opts.parallel)
	go func() {
		defer close(jobs)
		for _, mu := range m.mutants {
			if ctx.Err() != nil {
				return
			}
			if binary, ok := m.buildMutant(ctx, mu, bin); ok {
				jobs <- job{mu: mu, binary: binary}
			}
		}
	}()
	var workers sync.WaitGroup
	for w := 0; w < m.opts.parallel; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				if ctx.Err() == nil {
					m.runMutant(ctx, j.mu, j.binary, filepath.Join(outDir, "mutants", j.mu.ID))
				}
			}
		}()
	}
	workers.Wait()
}

// document is the mutation report: the baseline and its coverage, and every mutant's verdict.
func (m *measurement) document(ctx context.Context, baseline *runResult, covDir, outDir string) (*report.Mutation, error) {
	doc := &report.Mutation{
		SchemaVersion: report.MutationSchemaVersion,
		GeneratedAt:   time.Now().UTC().Format(time.RFC3339),
		Catalog:       m.rel(m.opts.catalog),
		Parallel:      m.opts.parallel,
		Partial:       len(m.opts.only) > 0,
		Mutants:       []report.MutantResult{},
	}
	baselineFailed := map[string]bool{}
	if baseline != nil {
		doc.Baseline = &report.MutationBaseline{Duration: baseline.duration}
		sc := baseline.report.Summary.Scenarios
		doc.Baseline.Scenarios, doc.Baseline.Passed = sc.Total, sc.Passed
		for _, s := range failedScenarios(baseline.report) {
			baselineFailed[scenarioName(s)] = true
			doc.Baseline.Failed = append(doc.Baseline.Failed, scenarioName(s))
		}
		if len(doc.Baseline.Failed) > 0 {
			m.printf("WARNING: %d scenario(s) failed against the unmutated gateway; they cannot kill a mutant: %s",
				len(doc.Baseline.Failed), strings.Join(doc.Baseline.Failed, "; "))
		}
		cov, err := coverage(ctx, m.tree, covDir, filepath.Join(outDir, "coverage"))
		if err != nil {
			return nil, err
		}
		doc.Coverage = cov
	}
	for _, mu := range m.mutants {
		if r, ok := m.results[mu.ID]; ok {
			doc.Mutants = append(doc.Mutants, r)
			continue
		}
		res := judge(mu, m.runs[mu.ID], baselineFailed)
		res.Tags = mu.tags(m.cat.Exclude)
		doc.Mutants = append(doc.Mutants, res)
	}
	doc.Summarize()
	return doc, nil
}

// check applies and builds every selected mutant, and runs no suite.
func (m *measurement) check(ctx context.Context, bin string) (int, error) {
	bad := 0
	for _, mu := range m.mutants {
		if _, ok := m.buildMutant(ctx, mu, bin); !ok {
			bad++
			r := m.results[mu.ID]
			m.printf("%-10s %s: %s", r.Status, mu.ID, r.Detail)
		}
	}
	if bad > 0 {
		m.printf("%d of %d mutants refused", bad, len(m.mutants))
		return exitFailed, nil
	}
	m.printf("all %d mutants apply, build, and change the gateway", len(m.mutants))
	return exitOK, nil
}

// buildMutant applies a mutant to the tree and builds it; a refused mutant's verdict is recorded.
func (m *measurement) buildMutant(ctx context.Context, mu *mutant, bin string) (string, bool) {
	refuse := func(status report.MutantStatus, detail string) (string, bool) {
		m.mu.Lock()
		m.results[mu.ID] = report.MutantResult{ID: mu.ID, Description: mu.Description, Files: mu.files(),
			Requirements: mu.Requirements, Equivalent: mu.Equivalent, Status: status, Detail: detail}
		m.mu.Unlock()
		return "", false
	}
	files, err := mu.apply(m.tree.read)
	if err != nil {
		return refuse(report.MutantStale, err.Error())
	}
	out := filepath.Join(bin, mu.ID)
	if err := m.tree.withMutant(files, func() error { return m.tree.build(ctx, out) }); err != nil {
		return refuse(report.MutantBroken, "it does not build: "+lastLines(err.Error(), 4))
	}
	h, err := hashFile(out)
	if err != nil {
		return refuse(report.MutantBroken, err.Error())
	}
	if h == m.origHash {
		return refuse(report.MutantUnchanged, "the mutant gateway is byte-identical to the gateway: it changes nothing")
	}
	return out, true
}

func (m *measurement) runBaseline(ctx context.Context, binary, covDir, dir string) (*runResult, error) {
	if err := os.MkdirAll(covDir, 0o755); err != nil {
		return nil, err
	}
	m.printf("baseline: the whole suite against the coverage-instrumented gateway")
	res, err := m.suite.run(ctx, binary, "", dir, "GOCOVERDIR="+covDir)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if res.report == nil {
		return nil, fmt.Errorf("baseline: the suite against the unmutated gateway wrote no report (exit %d): %s; log: %s",
			res.exitCode, lastLines(res.log, 3), m.rel(filepath.Join(dir, "e2e.log")))
	}
	sc := res.report.Summary.Scenarios
	m.printf("baseline: %d scenarios, %d passed, %d failed, in %s", sc.Total, sc.Passed, sc.Failed+sc.Other, res.duration.Round(time.Second))
	return res, nil
}

// runMutant runs the scenarios of the mutant's requirements against it; a run that could not be
// judged (no report, and not because the gateway failed to start) is tried once more.
func (m *measurement) runMutant(ctx context.Context, mu *mutant, binary, dir string) {
	tags := mu.tags(m.cat.Exclude)
	var res *runResult
	for attempt := 1; attempt <= 2; attempt++ {
		r, err := m.suite.run(ctx, binary, tags, dir)
		if err != nil {
			r = &runResult{exitCode: -1, log: err.Error()}
		}
		res = r
		if judge(mu, r, nil).Status != report.MutantError || ctx.Err() != nil {
			break
		}
		m.printf("%s: the run could not be judged, once more: %s", mu.ID, lastLines(r.log, 2))
	}
	prelim := judge(mu, res, nil)
	m.mu.Lock()
	m.runs[mu.ID] = res
	done := len(m.runs) + len(m.results)
	m.mu.Unlock()
	what := ""
	if len(prelim.Killers) > 0 {
		what = ": " + prelim.Killers[0]
	} else if prelim.Detail != "" {
		what = ": " + prelim.Detail
	}
	m.printf("[%d/%d] %-9s %s (%s) in %s%s", done, len(m.mutants), prelim.Status, mu.ID,
		strings.Join(mu.Requirements, ","), res.duration.Round(100*time.Millisecond), what)
}

// finish writes mutation.json and the traceability report with its evidence, and prints the
// verdict.
func (m *measurement) finish(doc *report.Mutation, outDir string, baseline *runResult) (int, error) {
	path := filepath.Join(m.opts.out, report.MutationFile)
	if err := os.MkdirAll(m.opts.out, 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	if err := doc.WriteJSON(f); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if baseline != nil {
		if _, err := report.Generate(report.Inputs{
			Catalog:  filepath.Join(m.root, "features", "requirements.yaml"),
			Cucumber: []string{filepath.Join(outDir, "baseline", "cucumber.json")},
			Title:    "Gateway contract: requirement traceability, with mutation testing",
			Names:    m.rel,
			Mutation: path,
		}, outDir); err != nil {
			return 0, err
		}
	}
	s := doc.Summary
	failed := false
	m.printf("")
	for _, r := range doc.Mutants {
		switch {
		case r.Status == report.MutantSurvived:
			failed = true
			m.printf("SURVIVED %s (%s): %s — strengthen the scenarios of its requirements, or accept it as equivalent with a reason", r.ID, strings.Join(r.Requirements, ","), r.Description)
		case !r.Status.Judged():
			failed = true
			m.printf("REFUSED  %s: %s: %s", r.ID, r.Status, r.Detail)
		case r.Status == report.MutantKilled && r.Equivalent != "":
			m.printf("WARNING  %s: %s", r.ID, r.Detail)
		}
	}
	m.printf("%d mutants: %d killed, %d survived, %d accepted as equivalent, %d refused; kill rate %.1f%%",
		s.Mutants, s.Killed, s.Survived, s.Equivalent, s.Invalid, s.KillRate)
	if doc.Coverage != nil {
		m.printf("gateway statement coverage over the whole suite: %.1f%% (profile: %s)", doc.Coverage.Percent, m.rel(filepath.Join(outDir, "coverage", "coverage.txt")))
	}
	m.printf("took %s; results: %s; report: %s", doc.Duration.Round(time.Second), m.rel(path), m.rel(filepath.Join(outDir, report.HTMLFile)))
	if failed {
		return exitFailed, nil
	}
	return exitOK, nil
}
