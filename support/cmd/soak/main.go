// Command soak runs the gateway's soak (support/soak) on a harness of its own: it loads the
// suite's settings (every E2E_* variable and -e2e.* flag applies: E2E_CLUSTER, the bounds, ...),
// sets the harness up, runs the soak, prints the seed, the fault timeline and the summary,
// writes the JSON report, tears everything down, and exits 1 when the soak failed (anything
// lost, doubled, short-counted or unexpected, metrics that disagree with the cluster, queues
// that did not drain, a fault kind that never fired) and 2 when it could not run.
//
// Sizes: `make soak` runs --size=full, 1,000 alerts over 200 fingerprints in 4 namespaces
// through 2 Alertmanagers on a 60-second schedule: about 1m05s-1m15s in all on 2 cores, harness
// included (measured). For CI use --size=ci (`make soak SOAK_FLAGS=--size=ci`): 200 alerts over
// 40 fingerprints, the same namespaces and Alertmanagers, every fault kind and a SIGKILL on a
// 15-second schedule: about 28s in all, well under a minute. --seed replays a failing run's schedule; --delete-behind N deletes N
// RemediationRequests behind the gateway's back before the check, so the run must report
// exactly those as lost and exit 1 (the soak's must-fail proof).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/settings"
	"github.com/kubernaut/gateway-contract/support/soak"
)

func main() {
	loader := settings.Bind(flag.CommandLine)
	size := flag.String("size", "full", "full (1,000 alerts, make soak) or ci (200 alerts, under a minute)")
	alerts := flag.Int("alerts", 0, "alerts to push (0: the size's)")
	fingerprints := flag.Int("fingerprints", 0, "distinct fingerprints (0: the size's)")
	namespaces := flag.Int("namespaces", 0, "soak namespaces (0: the size's)")
	alertmanagers := flag.Int("alertmanagers", 0, "Alertmanagers (0: the size's)")
	kills := flag.Int("kills", 0, "SIGKILLs of the gateway (0: the size's)")
	schedule := flag.Duration("schedule", 0, "length of the schedule (0: 60ms per alert, at least 15s)")
	seed := flag.Int64("seed", 0, "the schedule's seed; 0 picks a new one (printed, and in the report)")
	deleteBehind := flag.Int("delete-behind", 0, "delete this many RemediationRequests behind the gateway's back before the check: the run must then fail, reporting exactly those as lost")
	report := flag.String("report", "", "the JSON report (default: <E2E_REPORT_DIR>/soak.json under the project root)")
	verbose := flag.Bool("v", false, "also print the Alertmanagers' logs")
	flag.Parse()

	s, err := loader.Load(os.Getenv, nil)
	if err != nil {
		fail(2, err)
	}
	cfg, err := sized(*size)
	if err != nil {
		fail(2, err)
	}
	for _, o := range []struct {
		dst *int
		v   int
	}{
		{&cfg.Alerts, *alerts}, {&cfg.Fingerprints, *fingerprints}, {&cfg.Namespaces, *namespaces},
		{&cfg.Alertmanagers, *alertmanagers}, {&cfg.Kills, *kills},
	} {
		if o.v != 0 {
			*o.dst = o.v
		}
	}
	cfg.Duration, cfg.Seed, cfg.DeleteBehind, cfg.Out = *schedule, *seed, *deleteBehind, os.Stdout
	if *verbose {
		cfg.Log = os.Stderr
	}
	path, err := reportPath(*report, s.ReportDir)
	if err != nil {
		fail(2, err)
	}
	loader.Print(os.Stderr)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, s, cfg, path))
}

// run returns the exit code; everything it started is stopped before it returns.
func run(ctx context.Context, s settings.Settings, cfg soak.Config, path string) int {
	return harness.Run(ctx, s, os.Stderr, "soak", func(h *harness.Harness) int {
		rep, err := soak.Run(ctx, h, cfg)
		if rep != nil {
			if werr := rep.WriteJSON(path); werr != nil {
				fmt.Fprintf(os.Stderr, "soak: %v\n", werr)
			} else {
				fmt.Fprintf(os.Stderr, "soak: report written to %s\n", path)
			}
		}
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "soak: %v\n", err)
			return 2
		case !rep.OK():
			fmt.Fprintf(os.Stderr, "soak: FAILED (seed %d)\n", rep.Seed)
			return 1
		}
		return 0
	})
}

func sized(size string) (soak.Config, error) {
	switch size {
	case "full":
		return soak.Full(), nil
	case "ci":
		return soak.CI(), nil
	}
	return soak.Config{}, fmt.Errorf("--size=%q: full or ci", size)
}

// reportPath is the flag's path, or soak.json in the report directory under the project root.
func reportPath(flagged, reportDir string) (string, error) {
	if flagged != "" {
		return flagged, nil
	}
	if filepath.IsAbs(reportDir) {
		return filepath.Join(reportDir, "soak.json"), nil
	}
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, reportDir, "soak.json"), nil
}

func fail(code int, err error) {
	fmt.Fprintf(os.Stderr, "soak: %v\n", err)
	os.Exit(code)
}
