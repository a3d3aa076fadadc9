package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kubernaut/gateway-contract/support/report"
)

// suite is the contract suite, compiled once (go test -c) and run against every binary.
type suite struct {
	binary     string // the compiled e2e test binary
	root       string // the checkout: features, manifests, the catalog
	kubeconfig string // the shared cluster's administrator
	timeout    time.Duration
}

// compileSuite builds the e2e test binary once: every run reuses it.
func compileSuite(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", out, "./e2e")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("compiling the suite (go test -c ./e2e): %w\n%s", err, msg)
	}
	return nil
}

// runResult is what one suite run left behind.
type runResult struct {
	exitCode int
	duration time.Duration
	report   *report.Report // nil when the run wrote none (its setup failed)
	log      string         // the run's e2e.log
}

// run runs the suite's scenarios that tags selects (all when empty) against the gateway binary,
// with extra environment, writing its reports and log into dir.
func (s *suite) run(ctx context.Context, gateway, tags, dir string, extraEnv ...string) (*runResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "e2e.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	args := []string{"-test.run", "^TestFeatures$", "-test.timeout", s.timeout.String(), "-test.count", "1",
		"-e2e.report-dir", dir}
	if tags != "" {
		args = append(args, "-godog.tags", tags)
	}
	cmd := exec.Command(s.binary, args...)
	cmd.Dir = filepath.Join(s.root, "e2e") // where go test would run it
	cmd.Env = append(suiteEnv(os.Environ()),
		"E2E_CLUSTER=existing",
		"KUBECONFIG="+s.kubeconfig,
		"E2E_GATEWAY_BINARY="+gateway,
		"E2E_REPO_ROOT="+s.root,
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so that an interrupted measurement stops the run and its gateways
	// and Alertmanagers with it (they die with the run in any case: Pdeathsig).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the suite: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		return nil, ctx.Err()
	}
	res := &runResult{duration: time.Since(begin)}
	var exit *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exit):
		res.exitCode = exit.ExitCode()
	default:
		return nil, fmt.Errorf("running the suite: %w", waitErr)
	}
	logData, _ := os.ReadFile(logPath)
	res.log = string(logData)
	if f, err := os.Open(filepath.Join(dir, report.JSONFile)); err == nil {
		defer f.Close()
		if res.report, err = report.ReadJSON(f); err != nil {
			return nil, fmt.Errorf("reading the run's report: %w", err)
		}
	}
	return res, nil
}

// suiteEnv is the environment of a run: the caller's, less the E2E_* settings that would change
// what the measurement runs (tags, gateway, cluster, reports). Bounds, concurrency and the
// control plane cache are kept.
func suiteEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "KUBECONFIG", k == "GOCOVERDIR":
			continue
		case strings.HasPrefix(k, "E2E_TIMEOUT_"), k == "E2E_CONCURRENCY", k == "E2E_CONTROLPLANE_CACHE",
			k == "E2E_CLIENT_QPS", k == "E2E_CLIENT_BURST", k == "E2E_SEED":
		case strings.HasPrefix(k, "E2E_"):
			continue
		}
		out = append(out, kv)
	}
	return out
}

// scenarioName is how mutation.json names a scenario: "uri:line name".
func scenarioName(s report.ScenarioResult) string {
	return fmt.Sprintf("%s:%d %s", s.URI, s.Line, s.Name)
}

// failedScenarios lists the scenarios of a run that did not pass.
func failedScenarios(r *report.Report) []report.ScenarioResult {
	var out []report.ScenarioResult
	for _, f := range r.Features {
		for _, s := range f.Scenarios {
			if s.Result != report.StatusPassed && !s.Quarantined {
				out = append(out, s)
			}
		}
	}
	return out
}

// judge decides a mutant from its run. It is killed when the run failed and a scenario that
// names one of its requirements failed, one that passed against the unmutated gateway
// (baselineFailed holds those that did not): the scenarios of its requirements noticed it.
// A run that could not start the mutant gateway at all was noticed by every scenario.
func judge(m *mutant, res *runResult, baselineFailed map[string]bool) report.MutantResult {
	out := report.MutantResult{
		ID: m.ID, Description: m.Description, Files: m.files(), Requirements: m.Requirements,
		Equivalent: m.Equivalent, ExitCode: res.exitCode, Duration: res.duration,
	}
	if res.report == nil {
		if res.exitCode != 0 && strings.Contains(res.log, "setup (gateway)") {
			out.Status = report.MutantKilled
			out.Detail = "the mutant gateway did not start: " + lastLineWith(res.log, "setup (gateway)")
			return out
		}
		out.Status = report.MutantError
		out.Detail = fmt.Sprintf("the run (exit %d) wrote no report: %s", res.exitCode, lastLines(res.log, 3))
		return out
	}
	for _, id := range m.Requirements {
		if st, ok := res.report.RequirementStatus(id); ok && st == report.ReqFailing {
			out.FailingRequirements = append(out.FailingRequirements, id)
		}
	}
	var others []string
	for _, s := range failedScenarios(res.report) {
		name := scenarioName(s)
		switch {
		case baselineFailed[name]:
			others = append(others, name+" (failed against the unmutated gateway too)")
		case slices.ContainsFunc(s.Requirements, func(id string) bool { return slices.Contains(m.Requirements, id) }):
			out.Killers = append(out.Killers, name)
		default:
			others = append(others, name)
		}
	}
	switch {
	case res.exitCode != 0 && len(out.Killers) > 0:
		out.Status = report.MutantKilled
		if m.Equivalent != "" {
			out.Detail = "accepted as equivalent in the catalog, but killed: remove its equivalent reason"
		}
	case res.report.Summary.Scenarios.Total == 0:
		out.Status = report.MutantError
		out.Detail = "no scenario ran: check its requirements' tags"
	default:
		out.Status = report.MutantSurvived
		if m.Equivalent != "" {
			out.Status = report.MutantEquivalent
		}
		if len(others) > 0 {
			out.Detail = "no scenario of its requirements failed; other failures: " + strings.Join(others, "; ")
		}
	}
	return out
}

func lastLineWith(log, s string) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return strings.TrimSpace(lines[i])
		}
	}
	return ""
}

func lastLines(log string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			lines = append(lines, t)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
