package soak

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/support/alertmanager"
	"github.com/kubernaut/gateway-contract/support/faultproxy"
)

// The labels that make every alert distinct to Alertmanager (soak_seq) and every batch a group
// of its own (soak_batch, the routes' group_by). The gateway's fingerprint ignores both.
const (
	labelBatch = "soak_batch"
	labelSeq   = "soak_seq"
)

// schedule plays the plan: three tracks on one timeline (the pushes, the rule faults, and the
// global faults), then ends every fault still in force. It returns when the tracks are done,
// before the plan's Duration: the plan leaves its last part empty, for redeliveries, and the
// drain waits for those by their state rather than by the clock.
func (r *run) schedule(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.records = make([]*FaultRecord, len(r.plan.Faults))
	for i, f := range r.plan.Faults {
		r.records[i] = &FaultRecord{Index: f.Index, Kind: f.Kind, Planned: Duration(f.At), For: Duration(f.For), Verb: f.Verb}
		if f.Namespace >= 0 {
			r.records[i].Namespace = r.namespaces[f.Namespace]
		}
	}
	r.t0 = time.Now()
	var wg sync.WaitGroup
	for _, track := range []func(context.Context) error{r.pushTrack, r.ruleTrack, r.globalTrack} {
		wg.Go(func() {
			if err := track(ctx); err != nil {
				cancel(err) // the first failure stops the other tracks
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		r.endFaults()
		return err
	}
	// The last push and the last fault are done (the plan ends them before Duration); what
	// remains is the Alertmanagers' redelivery, which the drain waits for.
	err := r.endFaults()
	r.printf("soak: +%s schedule over; every fault ended", r.offset(time.Now()))
	return err
}

// at blocks until the moment t of the schedule. The schedule is a timeline, not a wait for a
// state, so this is the one place the soak sleeps; every wait for a state goes through poll.
func at(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return context.Cause(ctx)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// pushTrack pushes every batch to every Alertmanager at its time, as Prometheus pushes its
// alerts to every Alertmanager of an HA pair.
func (r *run) pushTrack(ctx context.Context) error {
	n := len(r.plan.Batches)
	for i, b := range r.plan.Batches {
		if err := at(ctx, r.t0.Add(b.At)); err != nil {
			return err
		}
		alerts := r.alerts(b, time.Now())
		for j, am := range r.ams {
			if err := am.Push(ctx, alerts); err != nil {
				return fmt.Errorf("pushing batch %d to Alertmanager %d: %w", b.Index, j+1, err)
			}
		}
		if done := i + 1; done == n || done*4/n != i*4/n {
			r.printf("soak: +%s pushed %d of %d batches", r.offset(time.Now()), done, n)
		}
	}
	return nil
}

// alerts are the batch's alerts as Prometheus would send them: starting now (so that the batch
// stays one notification, see alertmanager.Push) and firing for an hour, longer than any soak.
func (r *run) alerts(b Batch, now time.Time) []alertmanager.Alert {
	out := make([]alertmanager.Alert, 0, len(b.Alerts))
	for _, a := range b.Alerts {
		s := r.plan.Signals[a.Signal]
		out = append(out, alertmanager.Alert{
			Labels: map[string]string{
				"alertname": s.Alertname,
				"namespace": r.namespaces[s.Namespace],
				"pod":       s.Pod,
				"severity":  "warning",
				labelBatch:  strconv.Itoa(b.Index),
				labelSeq:    strconv.Itoa(a.Seq),
			},
			Annotations: map[string]string{"summary": "soak alert " + strconv.Itoa(a.Seq)},
			StartsAt:    now,
			EndsAt:      now.Add(time.Hour),
		})
	}
	return out
}

// ruleTrack puts the rule faults in force at their times, each scoped to one soak namespace and
// to remediationrequests, so nothing outside the soak is disturbed. A rule waits for the one
// before it in its namespace to have fired and closed its window: the proxy applies the first
// matching rule, so the later one would otherwise be shadowed, and might never fire at all.
func (r *run) ruleTrack(ctx context.Context) error {
	last := map[string]*ruleFault{}
	for _, f := range r.plan.Faults {
		if f.Namespace < 0 {
			continue
		}
		if err := at(ctx, r.t0.Add(f.At)); err != nil {
			return err
		}
		ns := r.namespaces[f.Namespace]
		if err := r.afterPrevious(ctx, last[ns], f); err != nil {
			return err
		}
		rf, err := r.addRule(f)
		if err != nil {
			return err
		}
		last[ns] = rf
	}
	return nil
}

// afterPrevious waits, bounded, until the rule p has fired and its window has closed; one that
// has not fired by then is ended, and its record says so.
func (r *run) afterPrevious(ctx context.Context, p *ruleFault, f Fault) error {
	if p == nil {
		return nil
	}
	what := fmt.Sprintf("fault #%d to fire and close before fault #%d", p.record.Index, f.Index)
	err := r.bounds.Await(ctx, what, func(context.Context) (bool, string, error) {
		r.mu.Lock()
		ended := p.ended
		r.mu.Unlock()
		hits := p.handle.Hits()
		switch {
		case ended:
			return true, "", nil
		case len(hits) == 0:
			return false, "it has not fired", nil
		}
		closes := hits[0].Time.Add(time.Duration(p.record.For))
		return !time.Now().Before(closes), fmt.Sprintf("it fired; its window closes at +%s", r.offset(closes)), nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		r.mu.Lock()
		p.handle.Remove()
		p.ended = true
		p.record.Error = "ended to make room for fault #" + strconv.Itoa(f.Index) + ": " + err.Error()
		r.mu.Unlock()
		r.printf("soak: +%s fault #%d ended: %v", r.offset(time.Now()), p.record.Index, err)
	}
	return nil
}

func (r *run) addRule(f Fault) (*ruleFault, error) {
	r.mu.Lock() // waits for a kill in progress
	defer r.mu.Unlock()
	rec := r.records[f.Index-1]
	action := actionOf(f)
	rule := faultproxy.Rule{
		Name:   fmt.Sprintf("soak fault #%d (%s)", f.Index, f.Kind),
		Match:  faultproxy.Match{Verb: f.Verb, Resource: v1alpha1.ResourcePlural, Namespace: rec.Namespace},
		Action: action,
		For:    f.For,
	}
	handle, err := r.gw.Proxy.AddRule(rule)
	if err != nil {
		return nil, fmt.Errorf("soak fault #%d: %w", f.Index, err)
	}
	rec.Started, rec.Action = r.offset(time.Now()), action.String()
	rf := &ruleFault{handle: handle, record: rec}
	r.rules = append(r.rules, rf)
	r.printf("soak: +%s fault #%d %s: %s on %s, for %s from its first hit", rec.Started, f.Index, f.Kind, action, rule.Match, f.For)
	return rf, nil
}

func actionOf(f Fault) faultproxy.Action {
	switch f.Kind {
	case Kind5xx:
		return faultproxy.Status{Code: f.Code}
	case Kind429:
		return faultproxy.Status{Code: 429, RetryAfter: time.Second}
	case KindReset:
		return faultproxy.Reset{}
	case KindDrop:
		return faultproxy.Drop{}
	case KindBlackHole:
		return faultproxy.BlackHole{}
	case KindLatency:
		return faultproxy.Latency{Delay: f.Delay}
	}
	panic("soak: no proxy action for fault kind " + string(f.Kind))
}

// globalTrack plays the outages and the kills, one after the other.
func (r *run) globalTrack(ctx context.Context) error {
	for _, f := range r.plan.Faults {
		var err error
		switch f.Kind {
		case KindOutage:
			err = r.outage(ctx, f)
		case KindKill:
			err = r.kill(ctx, f)
		}
		if err != nil {
			return fmt.Errorf("fault #%d (%s): %w", f.Index, f.Kind, err)
		}
	}
	return nil
}

// outage takes the whole API away for the fault's length; the proxy's own record of the
// outage is the evidence.
func (r *run) outage(ctx context.Context, f Fault) error {
	if err := at(ctx, r.t0.Add(f.At)); err != nil {
		return err
	}
	rec := r.records[f.Index-1]
	before := len(r.gw.Proxy.Outages())
	if err := r.gw.Proxy.SetOutage(true); err != nil {
		return err
	}
	start := time.Now()
	rec.Started, rec.Action = r.offset(start), "the whole API unreachable"
	r.printf("soak: +%s fault #%d outage: the whole API unreachable for %s", rec.Started, f.Index, f.For)
	waited := at(ctx, start.Add(f.For)) // the outage ends even when the run is cancelled
	if err := r.gw.Proxy.SetOutage(false); err != nil {
		return err
	}
	if outages := r.gw.Proxy.Outages(); len(outages) > before {
		o := outages[before]
		rec.Outage = &OutageRecord{Start: r.offset(o.Start), End: r.offset(o.End)}
		rec.Fired = !o.End.IsZero()
	}
	return waited
}

// endFaults takes every rule out of force, ends an outage, and records each rule's hits.
func (r *run) endFaults() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rf := range r.rules {
		rf.handle.Remove()
		r.evidence(rf)
	}
	return r.gw.Proxy.SetOutage(false)
}

// evidence copies a rule's hits into its record: a fault fired when the proxy applied it to at
// least one request without an injection error.
func (r *run) evidence(rf *ruleFault) {
	rec := rf.record
	rec.Hits, rec.Codes, rec.Fired = 0, map[int]int{}, false
	for _, hit := range rf.handle.Hits() {
		if hit.Err != "" {
			rec.Error = hit.Err
			continue
		}
		if rec.Hits == 0 {
			rec.FirstHit = r.offset(hit.Time)
		}
		rec.LastHit = r.offset(hit.Time)
		rec.Hits++
		rec.Codes[hit.Code]++
	}
	rec.Fired = rec.Hits > 0
}
