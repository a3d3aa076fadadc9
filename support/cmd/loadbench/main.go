// Command loadbench measures the gateway at the API server's limit, side by side with that limit,
// in one run against one API server (`make bench-load`).
//
// It sets up the suite's harness once (the embedded control plane by default; every E2E_*
// setting applies), then measures, level by level (so that the figures compared with each other
// are taken close together), at each concurrency of -levels:
//
//  1. raw client-go creates/s and status updates/s of RemediationRequests, made with the
//     gateway's own ServiceAccount token and no client-side rate limit: what this machine's API
//     server can do, the ceiling of any gateway;
//  2. the gateway's new signals/s (each a new fingerprint, answered 201) and repeats/s (each
//     sender repeating its own fingerprint, answered 202), from a gateway talking to the API
//     server directly, as deployed;
//  3. the same through the suite's fault proxy, which records every API request of the gateway
//     per namespace: API calls per new signal and per repeat (each point has a namespace of its
//     own);
//  4. the CPU time every process of the run (kube-apiserver, etcd, the gateway, ...) spent per
//     operation, and that of all other processes of the machine, a measure of interference;
//
// then the latency of one sender on an otherwise idle control plane (p50, p95, p99), and the
// ratios: gateway new-signal rate ÷ (raw create rate ÷ 2), since a new signal needs a create and
// a status update; repeat rate ÷ raw status-update rate; and the same two from CPU per operation.
//
// Then two measurements of the gateway's defences (overload.go, flood.go): -overload-senders
// senders (far beyond --max-in-flight) sending new alerts for -overload-duration and redelivering
// shed ones after Retry-After, as Alertmanager does (the share shed, the accepted rate and
// latency, the gateway's peak memory, and whether every accepted alert was stored once); and a
// flood of requests with a few distinct garbage tokens (the TokenReviews it cost).
//
// It prints a table and writes perf.json and perf.md to the report directory (E2E_REPORT_DIR,
// default reports/). The figures are measurements, not a verdict: the exit code is 0 whenever it
// could measure, 2 when it could not. It is black-box: it talks HTTP to the gateway and client-go
// to the API server, and imports nothing of gateway/internal.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/settings"
)

func main() {
	loader := settings.Bind(flag.CommandLine)
	duration := flag.Duration("duration", 2*time.Second, "measured time of each point")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "time each point runs before it is measured")
	levels := flag.String("levels", "1,4,16,64", "concurrency levels, comma separated")
	latencyN := flag.Int("latency-requests", 300, "sequential requests of each latency measurement")
	machine := flag.String("machine", "", "a description of the machine for the report (default: CPU model and count)")
	skipProxied := flag.Bool("skip-proxied", false, "do not measure through the fault proxy (no API call counts)")
	overloadSenders := flag.Int("overload-senders", 2000, "concurrent senders of the overload measurement (0 skips it)")
	overloadDuration := flag.Duration("overload-duration", 30*time.Second, "duration of the overload measurement")
	overloadDrain := flag.Duration("overload-drain", 3*time.Minute, "how long the overload's senders keep redelivering after it, until accepted")
	floodRequests := flag.Int("flood-requests", 500, "requests of the garbage-token flood (0 skips it)")
	floodTokens := flag.Int("flood-tokens", 20, "distinct garbage tokens of the flood")
	floodWorkers := flag.Int("flood-workers", 20, "concurrent senders of the flood")
	flag.Parse()

	s, err := loader.Load(os.Getenv, nil)
	if err != nil {
		fail(err)
	}
	if s.ContractMode() {
		fail(fmt.Errorf("E2E_GATEWAY_URL is set: the load benchmark launches gateways of its own"))
	}
	lv, err := parseLevels(*levels)
	if err != nil {
		fail(err)
	}
	if *overloadSenders < 0 || *overloadDuration <= 0 || *overloadDrain < 0 || *floodRequests < 0 || *floodTokens < 1 || *floodWorkers < 1 {
		fail(fmt.Errorf("-overload-senders and -flood-requests must not be negative, -overload-duration positive, -flood-tokens and -flood-workers at least 1"))
	}
	if *duration <= 0 || *warmup < 0 || *latencyN < 1 {
		fail(fmt.Errorf("-duration must be positive, -warmup not negative, -latency-requests at least 1"))
	}
	dir, err := reportDir(s.ReportDir)
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := config{
		win: window{warmup: *warmup, duration: *duration}, levels: lv, latencyN: *latencyN,
		machine: *machine, proxied: !*skipProxied, reportDir: dir,
		overload: overloadConfig{senders: *overloadSenders, duration: *overloadDuration, drain: *overloadDrain},
		flood:    floodConfig{requests: *floodRequests, tokens: *floodTokens, workers: *floodWorkers},
	}
	os.Exit(run(ctx, s, cfg))
}

type config struct {
	win       window
	levels    []int
	latencyN  int
	machine   string
	proxied   bool
	reportDir string
	overload  overloadConfig
	flood     floodConfig
}

// overloadConfig is the overload measurement (overload.go); flood the garbage-token flood.
type overloadConfig struct {
	senders         int
	duration, drain time.Duration
}

type floodConfig struct{ requests, tokens, workers int }

// run returns the exit code; everything it started is stopped before it returns.
func run(ctx context.Context, s settings.Settings, cfg config) int {
	begin := time.Now()
	return harness.Run(ctx, s, os.Stderr, "loadbench", func(h *harness.Harness) (code int) {
		rep := newReport(cfg)
		b, err := newBench(ctx, h, cfg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadbench: %v\n", err)
			return 2
		}
		defer b.cleanup()
		if err := b.measure(ctx, rep); err != nil {
			fmt.Fprintf(os.Stderr, "loadbench: %v\n", err)
			code = 2
		}
		if code == 0 {
			if err := b.overloadAndFlood(ctx, rep); err != nil {
				fmt.Fprintf(os.Stderr, "loadbench: %v\n", err)
				code = 2
			}
		}
		rep.finish(time.Since(begin))
		rep.print(os.Stdout)
		if err := rep.write(cfg.reportDir); err != nil {
			fmt.Fprintf(os.Stderr, "loadbench: %v\n", err)
			return 2
		}
		fmt.Fprintf(os.Stderr, "loadbench: report written to %s and %s\n",
			filepath.Join(cfg.reportDir, "perf.json"), filepath.Join(cfg.reportDir, "perf.md"))
		return code
	})
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-levels: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// reportDir is the report directory under the project root (unless absolute).
func reportDir(dir string) (string, error) {
	if filepath.IsAbs(dir) {
		return dir, nil
	}
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, dir), nil
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "loadbench: %v\n", err)
	os.Exit(2)
}
