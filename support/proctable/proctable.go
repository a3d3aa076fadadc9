// Package proctable reads the process table from /proc: who is whose parent, under which
// command name, in which state, and with how much CPU. The harness's tests use it to find the
// processes a run left behind (or still runs below it), and the load benchmark to split the
// machine's CPU between its own processes and the rest. Linux only: elsewhere the table is empty.
package proctable

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// Proc is one process as /proc/PID/stat shows it.
type Proc struct {
	PID, PPID int
	Comm      string  // the command name, at most 15 bytes
	State     string  // R, S, D, Z (a zombie: exited, not yet reaped), ...
	CPU       float64 // user and system CPU seconds so far
}

// Table is the processes by PID.
type Table map[int]Proc

// Read reads the table. A process that exits while it is read is left out.
func Read() Table {
	t := Table{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		if p, ok := parse(string(b)); ok {
			t[p.PID] = p
		}
	}
	return t
}

// parse reads one stat line: pid (comm) state ppid ... utime(14) stime(15); comm may hold
// spaces and parentheses, so it ends at the last ')'.
func parse(s string) (Proc, bool) {
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return Proc{}, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return Proc{}, false
	}
	f := strings.Fields(s[closing+1:])
	if len(f) < 13 {
		return Proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return Proc{PID: pid, PPID: ppid, Comm: s[open+1 : closing], State: f[0], CPU: (utime + stime) / clockTicks}, true
}

// Below reports whether pid descends from ancestor (not counting pid itself).
func (t Table) Below(pid, ancestor int) bool {
	for range 64 { // deeper than any real tree; a cycle read mid-change cannot loop
		p, ok := t[pid]
		if !ok || p.PPID <= 1 {
			return p.PPID == ancestor
		}
		if p.PPID == ancestor {
			return true
		}
		pid = p.PPID
	}
	return false
}
