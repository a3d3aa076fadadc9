package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubernaut/gateway-contract/support/proctable"
)

// childEnv marks the copy of this test binary that TestPrerequisiteErrorsEndToEnd starts, so that
// the copy runs only the suite and not this test again.
const childEnv = "E2E_PREREQ_CHILD"

// TestPrerequisiteErrorsEndToEnd runs the real entry point (this test binary's TestFeatures) with
// each bad E2E_CLUSTER case and checks what the user sees: a failure, the one line the README
// promises, no panic, and no process left behind.
func TestPrerequisiteErrorsEndToEnd(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("this is the child run of TestPrerequisiteErrorsEndToEnd")
	}
	if os.Getenv("E2E_SHARD") != "" {
		t.Skip("a shard (E2E_SHARD): the prerequisite proofs run in whole runs, make e2e without E2E_SHARD")
	}
	adoptOrphans(t)
	empty := t.TempDir() // a PATH without kind, and a HOME without a kubeconfig
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"typo", []string{"E2E_CLUSTER=bogus"}, `cluster: unknown E2E_CLUSTER "bogus": valid values are`},
		{"existing without a kubeconfig", []string{"E2E_CLUSTER=existing", "KUBECONFIG=" + filepath.Join(empty, "missing"), "HOME=" + empty},
			"existing cluster: no kubeconfig at " + filepath.Join(empty, "missing") + ": fix KUBECONFIG or set E2E_CLUSTER=local"},
		{"kind without kind", []string{"E2E_CLUSTER=kind", "PATH=" + empty + ":" + filepath.Dir(goBinary(t))}, "kind cluster: "},
		{"k3s without Docker", []string{"E2E_CLUSTER=k3s", "DOCKER_HOST=unix://" + filepath.Join(empty, "no.sock")}, "k3s cluster: no Docker engine at"},
		{"container without Docker", []string{"E2E_CLUSTER=container", "DOCKER_HOST=unix://" + filepath.Join(empty, "no.sock")}, "container cluster: no Docker engine at"},
		{"gateway container runtime without Docker", []string{"E2E_GATEWAY_RUNTIME=container", "DOCKER_HOST=unix://" + filepath.Join(empty, "no.sock")},
			"E2E_GATEWAY_RUNTIME=container runs the gateway's image in a local Docker engine: "},
		{"bad gateway runtime", []string{"E2E_GATEWAY_RUNTIME=pod"}, `E2E_GATEWAY_RUNTIME="pod": choose process or container`},
		{"bad setting", []string{"E2E_CONCURRENCY=eight"}, `E2E_CONCURRENCY="eight"`},
		{"bad shard", []string{"E2E_SHARD=5/4"}, `E2E_SHARD="5/4": not a valid value for -e2e.shard: "5/4" is not a shard: write I/N with 1 <= I <= N`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFeatures$", "-test.count=1", "-e2e.report-dir="+t.TempDir())
			cmd.Env = append(os.Environ(), append([]string{childEnv + "=1"}, tc.env...)...)
			out, err := cmd.CombinedOutput()
			text := string(out)
			if err == nil {
				t.Fatalf("the suite passed with %v:\n%s", tc.env, text)
			}
			if strings.Contains(text, "panic:") || strings.Contains(text, "goroutine ") {
				t.Fatalf("the suite panicked with %v:\n%s", tc.env, text)
			}
			var line string
			for _, l := range strings.Split(text, "\n") {
				if strings.Contains(l, tc.want) {
					line = l
				}
			}
			if line == "" {
				t.Fatalf("no line says %q; the output was:\n%s", tc.want, text)
			}
			t.Logf("the user sees: %s", strings.TrimSpace(line))
			if left := leftovers(t); left != "" {
				t.Fatalf("processes left behind: %s", left)
			}
		})
	}
}

// goBinary is the go command, which the kind case keeps on PATH so that only kind is missing.
func goBinary(t *testing.T) string {
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	return p
}

// leftovers lists this process's children that are still running: the child runs have exited,
// so these are what they left (re-parented here by adoptOrphans). One is not the run's: godog runs
// `go env GOTOOLDIR` when it is initialised, and the go command starts its telemetry sidecar
// ("go ** telemetry **"), which detaches by design and ends by itself.
func leftovers(t *testing.T) string {
	t.Helper()
	var out []string
	for pid, p := range proctable.Read() {
		if p.PPID != os.Getpid() || p.State == "Z" {
			continue
		}
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if p.Comm == "go" && len(argv) == 2 && argv[1] == "** telemetry **" {
			continue
		}
		out = append(out, fmt.Sprintf("%d (%s)", pid, strings.Join(argv, " ")))
	}
	return strings.Join(out, ", ")
}
