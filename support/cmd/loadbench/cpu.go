package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, 100 on every Linux the benchmark runs on.
const clockTicks = 100

// other names the CPU of every process that is not this benchmark or one of its descendants:
// other work on a shared machine, whose share says how far to trust a point.
const other = "other processes"

// cpuSnapshot is the CPU seconds (user and system) used so far by this process ("loadbench",
// with the fault proxy in it) and each of its descendants (the control plane, the gateways),
// summed by command name, and by all other processes together (other). Linux only: elsewhere it
// is empty.
func cpuSnapshot() map[string]float64 {
	type proc struct {
		ppid int
		comm string
		sec  float64
	}
	procs := map[int]proc{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15); comm may hold spaces.
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		utime, _ := strconv.ParseFloat(fields[11], 64)
		stime, _ := strconv.ParseFloat(fields[12], 64)
		procs[pid] = proc{ppid: ppid, comm: s[open+1 : closing], sec: (utime + stime) / clockTicks}
	}
	self := os.Getpid()
	ours := func(pid int) bool {
		for range 64 {
			if pid == self {
				return true
			}
			p, ok := procs[pid]
			if !ok || pid <= 1 {
				return false
			}
			pid = p.ppid
		}
		return false
	}
	out := map[string]float64{}
	for pid, p := range procs {
		switch {
		case pid == self:
			out["loadbench"] += p.sec
		case ours(pid):
			out[p.comm] += p.sec
		default:
			out[other] += p.sec
		}
	}
	return out
}

// cpuSince is the CPU milliseconds per operation of every process that used at least 1% of the
// benchmark's own, and "total" (the benchmark's own, other processes excluded).
func cpuSince(before map[string]float64, ops int) map[string]float64 {
	if ops == 0 || len(before) == 0 {
		return nil
	}
	out := map[string]float64{}
	total := 0.0
	for comm, sec := range cpuSnapshot() {
		if d := sec - before[comm]; d > 0 {
			out[comm] = d * 1000 / float64(ops)
			if comm != other {
				total += out[comm]
			}
		}
	}
	for comm, ms := range out {
		if comm != other && ms < total/100 {
			delete(out, comm)
		}
	}
	out["total"] = total
	return out
}
