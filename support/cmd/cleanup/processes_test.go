package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubernaut/gateway-contract/support/poll"
	"github.com/kubernaut/gateway-contract/support/proctable"
)

func TestOrphansArePickedByProgramAndParent(t *testing.T) {
	const root = "/cache/controlplane"
	table := proctable.Table{
		1:   {PID: 1, Comm: "init"},
		40:  {PID: 40, PPID: 1, Comm: "systemd"},
		100: {PID: 100, PPID: 1, Comm: "kube-apiserver"},   // orphan
		101: {PID: 101, PPID: 40, Comm: "etcd"},            // orphan, adopted by a subreaper
		200: {PID: 200, PPID: 1, Comm: "e2e.test"},         // a live run
		201: {PID: 201, PPID: 200, Comm: "kube-apiserver"}, // its control plane
		300: {PID: 300, PPID: 1, Comm: "etcd"},             // someone else's etcd
		400: {PID: 400, PPID: 1, Comm: "kube-apiserver"},   // a look-alike root
	}
	exe := map[int]string{
		100: root + "/k8s-v1/kube-apiserver", 101: root + "/k8s-v1/etcd", 201: root + "/k8s-v1/kube-apiserver",
		300: "/usr/bin/etcd", 400: root + "-other/kube-apiserver",
	}
	args := map[int][]string{100: {"kube-apiserver", "--cert-dir=/tmp/k8s_test_framework_1", "--secure-port=1"}}
	got := orphans(table, root, func(pid int) string { return exe[pid] }, func(pid int) []string { return args[pid] })
	var pids []int
	for _, o := range got {
		pids = append(pids, o.PID)
		if o.PID == 100 && !slices.Equal(o.dirs, []string{"/tmp/k8s_test_framework_1"}) {
			t.Errorf("dirs of 100 = %q", o.dirs)
		}
	}
	slices.Sort(pids)
	if !slices.Equal(pids, []int{100, 101}) {
		t.Errorf("orphans = %v, want [100 101]", pids)
	}
}

// TestRemoveOrphanedProcessesKillsARealOne: a program under a cache root, started by a shell that
// exits at once, is adopted by init, and killed. A child of this test from the same program is
// left alone. (Which directories go with an orphan is the table test's.)
func TestRemoveOrphanedProcessesKillsARealOne(t *testing.T) {
	if os.Getpid() == 1 {
		t.Skip("the test process is init: orphans would be its own children")
	}
	root := t.TempDir()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep program")
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(root, "etcd")
	if err := os.WriteFile(prog, b, 0o755); err != nil {
		t.Fatal(err)
	}
	live := exec.Command(prog, "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = live.Process.Kill(); _ = live.Wait() })
	out, err := exec.Command("sh", "-c", prog+" 60 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	// The shell has exited; wait, bounded, for the kernel to hand its child to init (or a
	// subreaper), which makes it an orphan.
	err = poll.Defaults().Until(context.Background(), 10*time.Second, fmt.Sprintf("pid %d to be an orphan", pid),
		func(context.Context) (bool, string, error) {
			p := proctable.Read()[pid]
			for _, o := range orphans(proctable.Read(), root, procExe, procArgs) {
				if o.PID == pid {
					return true, "", nil
				}
			}
			return false, fmt.Sprintf("parent %d", p.PPID), nil
		})
	if err != nil {
		t.Fatal(err)
	}

	removed, err := removeOrphanedProcesses(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := gone(pid, time.Second); err != nil {
		t.Errorf("the orphan was not removed: %v", err)
	}
	if gone(live.Process.Pid, 0) == nil {
		t.Error("the live child was killed")
	}
	if len(removed) != 1 {
		t.Errorf("removed = %q, want the process", removed)
	}
}
