// Package e2e is the contract suite's `go test` entry point: it starts the harness (cluster,
// CRD, fault proxy, gateway), runs every feature under features/ through godog with each
// scenario as a subtest, and writes the reports: cucumber JSON, JUnit XML and the requirement
// traceability report.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/steps"
	"github.com/kubernaut/gateway-contract/support/harness"
)

var (
	tags        = flag.String("e2e.tags", os.Getenv("E2E_TAGS"), "godog tag filter selecting scenarios: '&&' is and, ',' is or, '~' is not, no parentheses; e.g. '@dedup && ~@dedicated-gateway' (env E2E_TAGS)")
	concurrency = flag.Int("e2e.concurrency", envInt("E2E_CONCURRENCY", 8), "scenarios run at once (env E2E_CONCURRENCY)")
	seed        = flag.Int64("e2e.seed", int64(envInt("E2E_SEED", 0)), "random order seed; 0 picks one and prints it (env E2E_SEED)")
	reportDir   = flag.String("e2e.reports", os.Getenv("E2E_REPORT_DIR"), "where reports go; default <repo>/reports (env E2E_REPORT_DIR)")
	gate        = flag.Bool("e2e.gate", os.Getenv("E2E_TRACE_GATE") != "off", "fail the run when the traceability gate finds an untagged scenario, an unknown tag or an uncovered requirement (E2E_TRACE_GATE=off turns it off)")
)

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func TestFeatures(t *testing.T) {
	begin := time.Now()
	settings, err := harness.SettingsFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if *concurrency < 1 {
		t.Fatalf("-e2e.concurrency=%d: run at least one scenario at a time", *concurrency)
	}
	if err := checkTags(*tags); err != nil {
		t.Fatal(err)
	}
	out, err := reportsDir(*reportDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := harness.Setup(ctx, settings, os.Stderr)
	if err != nil {
		t.Fatalf("setting up the suite: %v", err)
	}
	defer h.Teardown(ctx)

	order := *seed
	if order == 0 {
		order = time.Now().UnixNano()
	}
	fmt.Fprintf(os.Stderr, "e2e: random order seed %d (rerun in this order with E2E_SEED=%d), %d scenarios at once\n", order, order, *concurrency)

	qtags, err := quarantineTags(featuresDir())
	if err != nil {
		t.Fatal(err)
	}
	notQuarantined := "~" + strings.Join(qtags, " && ~")
	mainRun := runFeatures(t, h, out, "cucumber.json", "junit.xml", andTags(*tags, notQuarantined), order, t)
	// Quarantined scenarios still run, in their own pass, so that their failures reach the
	// report (at the top, with the reason) without failing the build.
	var quarantined []string
	for _, q := range qtags {
		quarantined = append(quarantined, andTags(*tags, q))
	}
	quarantine := runFeatures(t, h, out, "cucumber-quarantine.json", "junit-quarantine.xml", strings.Join(quarantined, ","), order, nil)
	if quarantine != 0 {
		fmt.Fprintf(os.Stderr, "e2e: quarantined scenarios failed; see the top of %s/traceability.md\n", out)
	}

	if err := mergeQuarantine(out); err != nil {
		t.Fatal(err)
	}
	rep, err := writeTraceability(out)
	switch {
	case err != nil:
		t.Errorf("traceability report: %v", err)
	case rep.Summary.Scenarios.Total == 0:
		// A run that ran nothing proves nothing: a tag filter that matches no scenario is an error.
		t.Errorf("no scenario ran (tag filter %q): check E2E_TAGS against the tags in features/", *tags)
	case *tags != "":
		fmt.Fprintf(os.Stderr, "e2e: traceability gate not applied: the tag filter %q runs part of the suite\n", *tags)
	case *gate:
		if gerr := rep.Gate(); gerr != nil {
			t.Errorf("traceability gate (turn it off for exploratory runs with E2E_TRACE_GATE=off): %v", gerr)
		}
	}
	printTimings(h, begin, out, mainRun)
}

// runFeatures runs one godog pass; tt is nil for a pass whose failures must not fail the test.
func runFeatures(t *testing.T, h *harness.Harness, out, cucumber, junit, tagExpr string, order int64, tt *testing.T) int {
	t.Helper()
	opts := godog.Options{
		Format:      fmt.Sprintf("progress,cucumber:%s/%s,junit:%s/%s", out, cucumber, out, junit),
		FS:          os.DirFS(filepath.Dir(featuresDir())),
		Paths:       []string{"features"}, // read through FS, so reports name features/<file>
		Tags:        tagExpr,
		Strict:      true,
		Concurrency: *concurrency,
		Randomize:   order,
		TestingT:    tt,
		NoColors:    true,
	}
	return godog.TestSuite{Name: "gateway-contract", ScenarioInitializer: steps.Initializer(h), Options: &opts}.Run()
}

// andTags adds a term to every alternative of a godog tag filter, which has no parentheses:
// "@a,@b" and "~@q" give "@a && ~@q,@b && ~@q".
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

var quarantineTag = regexp.MustCompile(`@quarantine(\([^)\s]*\))?`)

// quarantineTags lists the quarantine tags the features use: @quarantine, and the ticketed
// @quarantine(ISSUE-12) forms, which godog's filters can only match by their full name.
func quarantineTags(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.feature"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no feature files in %s: %v", dir, err)
	}
	seen := map[string]bool{"@quarantine": true}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		for _, m := range quarantineTag.FindAllString(string(data), -1) {
			seen[m] = true
		}
	}
	out := make([]string, 0, len(seen))
	for q := range seen {
		out = append(out, q)
	}
	sort.Strings(out)
	return out, nil
}

// checkTags rejects filters godog would silently misread.
func checkTags(filter string) error {
	if strings.ContainsAny(filter, "()|!") || strings.Contains(filter, " and ") || strings.Contains(filter, " or ") {
		return fmt.Errorf("tag filter %q: godog filters use '&&' for and, ',' for or, '~' for not, and no parentheses", filter)
	}
	for _, alt := range strings.Split(filter, ",") {
		for _, term := range strings.Split(alt, "&&") {
			if term = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(term), "~")); filter != "" && !strings.HasPrefix(term, "@") {
				return fmt.Errorf("tag filter %q: %q is not a tag (tags start with @)", filter, term)
			}
		}
	}
	return nil
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
