package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kubernaut/gateway-contract/support/alertmanager"
	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/poll"
)

// run is one soak's state; nothing of it outlives Run.
type run struct {
	h      *harness.Harness
	cfg    Config
	plan   Plan
	bounds poll.Bounds
	out    io.Writer // locked: the tracks print concurrently
	report *Report

	namespaces []string
	gw         *harness.Gateway
	ams        []*alertmanager.Alertmanager
	t0         time.Time // the schedule's start

	// mu orders the rule track against a kill: a kill ends every rule in force and freezes the
	// API, and no rule may be added while it does.
	mu        sync.Mutex
	rules     []*ruleFault
	records   []*FaultRecord  // one per planned fault, by index - 1
	processes []ProcessRecord // the gateway processes so far, with their final counters
	logs      []string        // the log lines of every process that has ended, then of the last
}

// ruleFault is a rule fault put in force, and its record in the report.
type ruleFault struct {
	handle *faultproxy.RuleHandle
	record *FaultRecord
	ended  bool // taken out of force before the end of the schedule (by a kill, or unfired); under run.mu
}

// closed reports whether the rule has fired and its window (For, from its first hit) is over.
func (rf *ruleFault) closed() bool {
	hits := rf.handle.Hits()
	return len(hits) > 0 && !time.Now().Before(hits[0].Time.Add(time.Duration(rf.record.For)))
}

// Run soaks a dedicated gateway of h (see the package doc): it creates the soak's namespaces,
// starts the gateway and the Alertmanagers, plays the seeded schedule of alerts and faults,
// waits for the queues to drain, and checks the cluster. The error is for harness failures
// only (a process that would not start, an API the check could not read); the verdict is in
// the report (Report.OK, Report.Failed). On an error the report holds what was done so far.
// Everything Run starts is stopped, and its namespaces deleted (kept when the soak failed and
// E2E_KEEP_FAILED is set), before it returns.
func Run(ctx context.Context, h *harness.Harness, cfg Config) (rep *Report, err error) {
	cfg = cfg.withDefaults()
	if cfg.Seed == 0 {
		cfg.Seed = rand.Int64N(1<<53) + 1 // short enough to be typed back in
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	begin := time.Now()
	r := &run{h: h, cfg: cfg, plan: NewPlan(cfg), bounds: h.Settings.Timeouts, out: &lockedWriter{w: cfg.Out}}
	r.report = &Report{Seed: cfg.Seed, Started: begin, Sizes: Sizes{
		Alerts: cfg.Alerts, Fingerprints: cfg.Fingerprints, Namespaces: cfg.Namespaces, Alertmanagers: cfg.Alertmanagers,
		BatchSize: cfg.BatchSize, Batches: len(r.plan.Batches), Schedule: Duration(cfg.Duration), Kills: cfg.Kills,
		DeleteBehind: cfg.DeleteBehind,
	}}
	r.printf("soak: seed %d (the same seed replays the same schedule: --seed %d)", cfg.Seed, cfg.Seed)
	r.printf("soak: %d alerts over %d fingerprints in %d namespaces, %d batches to each of %d Alertmanagers, %s schedule, %d faults",
		cfg.Alerts, cfg.Fingerprints, cfg.Namespaces, len(r.plan.Batches), cfg.Alertmanagers, cfg.Duration, len(r.plan.Faults))

	var undo lifecycle.Stack
	defer func() {
		t := time.Now()
		if uerr := undo.Unwind(context.WithoutCancel(ctx)); uerr != nil {
			err = errors.Join(err, fmt.Errorf("soak teardown: %w", uerr))
		}
		r.report.Phases.Teardown = Duration(time.Since(t))
		r.report.Phases.Total = Duration(time.Since(begin))
		if err != nil {
			r.report.Failed = append(r.report.Failed, "the soak did not complete: "+err.Error())
		}
		for _, rec := range r.records { // as far as the schedule got
			r.report.Faults = append(r.report.Faults, *rec)
		}
		r.report.PrintTimeline(r.out)
		r.report.PrintSummary(r.out)
		rep = r.report
	}()

	phase := func(d *Duration, fn func(context.Context) error) error {
		t := time.Now()
		err := fn(ctx)
		*d = Duration(time.Since(t))
		return err
	}
	if err := phase(&r.report.Phases.Setup, func(ctx context.Context) error { return r.setup(ctx, &undo) }); err != nil {
		return nil, err
	}
	if err := phase(&r.report.Phases.Schedule, r.schedule); err != nil {
		return nil, err
	}
	if err := phase(&r.report.Phases.Drain, r.drain); err != nil {
		return nil, err
	}
	if err := phase(&r.report.Phases.Check, r.check); err != nil {
		return nil, err
	}
	r.report.verdict()
	return nil, nil
}

// setup makes the soak's namespaces, its dedicated gateway and its Alertmanagers, each with
// its undo.
func (r *run) setup(ctx context.Context, undo *lifecycle.Stack) error {
	for range r.cfg.Namespaces {
		name := r.h.Namespaces.Name("soak")
		if err := r.h.CreateNamespace(ctx, name, "soak", "soak"); err != nil {
			return fmt.Errorf("creating the soak namespace %s: %w", name, err)
		}
		r.namespaces = append(r.namespaces, name)
		undo.Push("the soak namespace "+name, func(ctx context.Context) error {
			if r.h.Settings.KeepFailed && len(r.report.Failed) > 0 {
				r.printf("soak: keeping the namespace %s of the failed soak (E2E_KEEP_FAILED)", name)
				return nil
			}
			return r.h.DeleteNamespace(ctx, name)
		})
	}
	r.report.Namespaces = r.namespaces

	gw, err := r.h.StartGateway(ctx, "soak")
	if err != nil {
		return err
	}
	r.gw = gw
	undo.Push("the soak gateway", func(context.Context) error { return gw.Stop() })
	r.printf("soak: dedicated gateway %s (pid %d), API through fault proxy %s", gw.Process.URL(), gw.Process.Pid(), gw.Proxy.URL())

	return r.startAlertmanagers(ctx, undo)
}

// startAlertmanagers starts the Alertmanagers, each in a work directory of its own with the
// sender's token and the gateway's CA in files (harness.StartAlertmanager), all routed to the soak
// gateway.
func (r *run) startAlertmanagers(ctx context.Context, undo *lifecycle.Stack) error {
	log := &lockedWriter{w: r.cfg.Log}
	for i := range r.cfg.Alertmanagers {
		am, err := r.h.StartAlertmanager(ctx, r.h.Sender.Token, alertmanager.Options{
			ReceiverURL: r.gw.Process.URL() + "/api/v1/signals/prometheus",
			GroupBy:     []string{labelBatch},
			Log:         log,
		}, undo)
		if err != nil {
			return fmt.Errorf("Alertmanager %d: %w", i+1, err)
		}
		r.ams = append(r.ams, am)
		r.printf("soak: Alertmanager %d at %s (pid %d)", i+1, am.URL(), am.Pid())
	}
	return nil
}

// offset is the time since the schedule's start.
func (r *run) offset(t time.Time) Duration { return Duration(t.Sub(r.t0)) }

func (r *run) printf(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}

// lockedWriter serialises writes from the soak's concurrent tracks.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
