package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubernaut/gateway-contract/support/proctable"
)

// errInterrupted is the cause of the run's context after SIGINT or SIGTERM.
var errInterrupted = errors.New("interrupted by a signal")

// interruptible returns the run's context: SIGINT (Ctrl-C) or SIGTERM cancels it. Everything the
// harness starts lives in its own process group (envtest's kube-apiserver and etcd, the gateways,
// the Alertmanagers) or is a container, so none of it sees a signal meant for the test binary; if
// the binary just died, they would be left running. Instead, the scenarios see the cancelled
// context and end, the harness setup stops between stages, and the harness teardown runs (its
// undos use a context that is never cancelled). A second signal kills at once, as usual.
func interruptible(log io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			signal.Stop(sigs) // the next signal has its default effect
			fmt.Fprintf(log, "e2e: %v: ending the scenarios and tearing down what the run started (signal again to exit at once)\n", sig)
			cancel(errInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// TestInterruptTearsDown runs the real entry point on the soak (a dedicated gateway, its fault
// proxy, two Alertmanagers and a storm of faults) and interrupts it (SIGINT, as Ctrl-C does) once
// the soak's Alertmanagers run: the run must fail, say that it was interrupted, not panic, end
// within its bound, and leave no process behind. This process becomes the child subreaper, so
// that whatever the run leaves is re-parented here and seen.
func TestInterruptTearsDown(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("this is a child run of the entry-point tests")
	}
	if os.Getenv("E2E_GATEWAY_URL") != "" {
		t.Skip("contract mode: the suite launches no gateway or Alertmanager to tear down (make e2e runs this test)")
	}
	if os.Getenv("E2E_SHARD") != "" {
		// A proof of the harness, not of the gateway: the whole run (make e2e) makes it once;
		// repeated in every shard it would add minutes to each.
		t.Skip("a shard (E2E_SHARD): the interrupt proof runs in whole runs, make e2e without E2E_SHARD")
	}
	adoptOrphans(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFeatures$", "-test.count=1", "-e2e.report-dir="+t.TempDir(),
		"-godog.paths", "features/chaos_soak.feature:16")
	cmd.Env = append(os.Environ(), childEnv+"=1", "E2E_TAGS=") // the soak, whatever the run's tag filter
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out // one writer: exec copies both through one pipe, in order
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Interrupt once an Alertmanager of the soak runs, that is, in the middle of the scenario.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !descendantRuns(cmd.Process.Pid, "alertmanager") {
		select {
		case err := <-exited:
			t.Fatalf("the run ended (%v) before the soak's Alertmanagers ran:\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("no Alertmanager of the soak ran within the bound")
		case <-tick.C:
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := <-exited
	text := out.String()
	switch {
	case ctx.Err() != nil:
		t.Fatalf("the interrupted run did not end within its bound:\n%s", text)
	case err == nil:
		t.Fatalf("the interrupted run passed:\n%s", text)
	case strings.Contains(text, "panic:"):
		t.Fatalf("the interrupted run panicked:\n%s", text)
	}
	for _, want := range []string{"e2e: interrupt: ending the scenarios and tearing down", "interrupted by a signal"} {
		if !strings.Contains(text, want) {
			t.Errorf("the output does not say %q:\n%s", want, text)
		}
	}
	if left := leftovers(t); left != "" {
		t.Fatalf("processes left behind after the interrupt: %s\n%s", left, text)
	}
}

// descendantRuns tells whether a process named comm runs below pid.
func descendantRuns(pid int, comm string) bool {
	procs := proctable.Read()
	for p, proc := range procs {
		if proc.Comm == comm && proc.State != "Z" && procs.Below(p, pid) {
			return true
		}
	}
	return false
}

// adoptOrphans makes this test process the child subreaper: a process that a child run leaves
// behind (an API server, a gateway) is re-parented here rather than to init, so leftovers sees
// it. Whatever is still left when the test ends is killed, so that one failure does not leak.
func adoptOrphans(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("becoming the child subreaper: %v", err)
	}
	t.Cleanup(func() {
		for pid, p := range proctable.Read() {
			if p.PPID == os.Getpid() && p.State != "Z" {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}
