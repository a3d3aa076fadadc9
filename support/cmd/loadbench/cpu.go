package main

import (
	"os"

	"github.com/kubernaut/gateway-contract/support/proctable"
)

// other names the CPU of every process that is not this benchmark or one of its descendants:
// other work on a shared machine, whose share says how far to trust a point.
const other = "other processes"

// cpuSnapshot is the CPU seconds (user and system) used so far by this process ("loadbench",
// with the fault proxy in it) and each of its descendants (the control plane, the gateways),
// summed by command name, and by all other processes together (other). Linux only: elsewhere it
// is empty.
func cpuSnapshot() map[string]float64 {
	procs := proctable.Read()
	self := os.Getpid()
	out := map[string]float64{}
	for pid, p := range procs {
		switch {
		case pid == self:
			out["loadbench"] += p.CPU
		case procs.Below(pid, self):
			out[p.Comm] += p.CPU
		default:
			out[other] += p.CPU
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
