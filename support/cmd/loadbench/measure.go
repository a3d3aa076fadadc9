package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// window is how one point is measured: senders run for warmup+duration, and only the operations
// that complete inside the duration count towards the rate.
type window struct {
	warmup, duration time.Duration
}

// Point is one measured rate.
type Point struct {
	Concurrency int     `json:"concurrency"`
	PerSecond   float64 `json:"perSecond"`
	// Ops is every operation that completed, warm-up and drain included; Errors those that failed.
	Ops    int    `json:"ops"`
	Errors int    `json:"errors"`
	Error  string `json:"firstError,omitempty"`
	// APICallsPerSignal is the gateway's API requests in the point's namespace divided by the
	// signals it stored there, as the fault proxy recorded them (proxied gateway only).
	APICallsPerSignal *float64 `json:"apiCallsPerSignal,omitempty"`
	// APICalls breaks those requests down by verb (create, update, get, list, ...).
	APICalls map[string]int `json:"apiCalls,omitempty"`
	// CPUMillisPerOp is the CPU time each process of the machine spent per operation over the
	// whole point (kube-apiserver, etcd, the gateway, this benchmark with the fault proxy, ...).
	CPUMillisPerOp map[string]float64 `json:"cpuMillisPerOp,omitempty"`
}

// op is one operation of sender w, its i-th; it returns an error when the operation failed.
type op func(ctx context.Context, w, i int) error

// run drives concurrency senders that repeat fn until the window closes and returns the rate of
// successful operations completed inside the measured part of the window.
func (win window) run(ctx context.Context, concurrency int, fn op) Point {
	var inWindow, ops, errs atomic.Int64
	var firstErr atomic.Pointer[string]
	start := time.Now()
	from, until := start.Add(win.warmup), start.Add(win.warmup+win.duration)
	cpuBefore := cpuSnapshot()
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			for i := 0; ; i++ {
				if time.Now().After(until) || ctx.Err() != nil {
					return
				}
				err := fn(ctx, w, i)
				done := time.Now()
				ops.Add(1)
				if err != nil {
					errs.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				if !done.Before(from) && !done.After(until) {
					inWindow.Add(1)
				}
			}
		})
	}
	wg.Wait()
	cpu := cpuSince(cpuBefore, int(ops.Load()))
	p := Point{
		CPUMillisPerOp: cpu,
		Concurrency:    concurrency,
		PerSecond:      float64(inWindow.Load()) / win.duration.Seconds(),
		Ops:            int(ops.Load()),
		Errors:         int(errs.Load()),
	}
	if m := firstErr.Load(); m != nil {
		p.Error = *m
	}
	return p
}

// Latency summarises one sender's sequential requests, in milliseconds.
type Latency struct {
	Requests int     `json:"requests"`
	P50      float64 `json:"p50Ms"`
	P95      float64 `json:"p95Ms"`
	P99      float64 `json:"p99Ms"`
	Max      float64 `json:"maxMs"`
	Errors   int     `json:"errors"`
	Error    string  `json:"firstError,omitempty"`
}

// latency runs n operations one after another (after warm sequential ones that do not count).
func latency(ctx context.Context, n, warm int, fn op) Latency {
	var samples []time.Duration
	l := Latency{}
	for i := 0; i < warm+n && ctx.Err() == nil; i++ {
		begin := time.Now()
		err := fn(ctx, 0, i)
		d := time.Since(begin)
		if err != nil {
			l.Errors++
			if l.Error == "" {
				l.Error = err.Error()
			}
			continue
		}
		if i >= warm {
			samples = append(samples, d)
		}
	}
	slices.Sort(samples)
	l.Requests = len(samples)
	if len(samples) == 0 {
		return l
	}
	ms := func(q float64) float64 {
		idx := int(math.Ceil(q*float64(len(samples)))) - 1
		idx = min(max(idx, 0), len(samples)-1)
		return float64(samples[idx].Microseconds()) / 1000
	}
	l.P50, l.P95, l.P99, l.Max = ms(0.50), ms(0.95), ms(0.99), ms(1)
	return l
}

func (l Latency) String() string {
	return fmt.Sprintf("p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (max %.1f, %d requests)", l.P50, l.P95, l.P99, l.Max, l.Requests)
}
