package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kubernaut/gateway-contract/support/poll"
	"github.com/kubernaut/gateway-contract/support/proctable"
)

// A run tears down what it started, also after a failure, a panic in a step or an interrupt. What
// it cannot survive is being killed outright: SIGKILL, or `go test -timeout` ending the test
// binary with a panic that runs no cleanup. The gateways, the controller manager and the
// Alertmanagers die with it (Pdeathsig), but envtest starts kube-apiserver and etcd without a
// way to ask for that, so they outlive it. These are found here: processes whose program lies
// under the control-plane cache and whose parent is gone (adopted by init, PID 1, or by a
// subreaper such as a systemd user manager). A live run is still their parent, so it is not
// touched.

// orphan is a leftover process, with the envtest directories it used.
type orphan struct {
	proctable.Proc
	exe  string
	dirs []string
}

// orphans picks the leftovers of t: programs under root whose parent is PID 1 or systemd.
// exe and args read a process's program and arguments (from /proc, or a test's table).
func orphans(t proctable.Table, root string, exe func(pid int) string, args func(pid int) []string) []orphan {
	var out []orphan
	for pid, p := range t {
		path := exe(pid)
		if path == "" || !strings.HasPrefix(path, root+string(filepath.Separator)) {
			continue
		}
		if parent, ok := t[p.PPID]; p.PPID != 1 && (!ok || parent.Comm != "systemd") {
			continue
		}
		o := orphan{Proc: p, exe: path}
		for _, a := range args(pid) {
			_, value, _ := strings.Cut(a, "=")
			if strings.HasPrefix(filepath.Base(value), "k8s_test_framework_") {
				o.dirs = append(o.dirs, value)
			}
		}
		out = append(out, o)
	}
	return out
}

// removeOrphanedProcesses kills the leftovers of crashed runs under the control-plane cache root
// and removes envtest's temporary directories they used. It reports what it removed.
func removeOrphanedProcesses(root string) ([]string, error) {
	var removed []string
	for _, o := range orphans(proctable.Read(), root, procExe, procArgs) {
		if err := syscall.Kill(o.PID, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			return removed, fmt.Errorf("killing %s (pid %d): %w", o.exe, o.PID, err)
		}
		if err := gone(o.PID, 10*time.Second); err != nil {
			return removed, fmt.Errorf("after SIGKILL to %s: %w", o.exe, err)
		}
		removed = append(removed, fmt.Sprintf("process %d %s", o.PID, o.exe))
		for _, d := range o.dirs {
			if _, err := os.Stat(d); os.IsNotExist(err) {
				continue
			}
			if err := os.RemoveAll(d); err != nil {
				return removed, fmt.Errorf("removing %s of pid %d: %w", d, o.PID, err)
			}
			removed = append(removed, "directory "+d)
		}
	}
	return removed, nil
}

// gone waits, bounded, until pid no longer exists or is a zombie that init will reap. It uses the
// suite's one bounded wait, so its error names what it last saw.
func gone(pid int, within time.Duration) error {
	return poll.Defaults().Until(context.Background(), within, fmt.Sprintf("pid %d to exit", pid),
		func(context.Context) (bool, string, error) {
			p, ok := proctable.Read()[pid]
			if !ok || p.State == "Z" {
				return true, "", nil
			}
			return false, fmt.Sprintf("pid %d in state %s", pid, p.State), nil
		})
}

func procExe(pid int) string {
	path, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return path
}

func procArgs(pid int) []string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}
