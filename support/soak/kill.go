package soak

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
)

// kill SIGKILLs the gateway and restarts it on the same address (harness.Gateway.Restart).
//
// A SIGKILL takes the process's counters with it, so they are read just before; for that reading to
// be final, nothing may be counted between it and the kill. Hence the freeze: every rule still in
// force is ended (a rule outranks a later one, and a latency rule forwards its request after the
// delay), every API call in the soak's namespaces is answered 503, the calls already forwarded are
// waited out, and the created, deduplicated and unconfirmed counts must then hold still for the
// Consistently window (stillCounters). The gateway keeps receiving, retrying and failing requests
// throughout (FreezeHits counts its refused calls), so the kill still lands on a busy process with
// requests in flight; what it cannot land on is a write that the API took and the process did not
// count yet, which would be a metrics artefact of the crash, not a gateway defect. A first write
// whose answer an earlier fault lost is another matter: the gateway cannot know whether it landed
// until it writes the object again, and it says how many such writes it holds
// (gateway_unconfirmed_creations), read here with the counters; Check allows the cluster that many
// objects beyond the created counter.
func (r *run) kill(ctx context.Context, f Fault) error {
	if err := at(ctx, r.t0.Add(f.At)); err != nil {
		return err
	}
	if err := r.lockWhenRulesClosed(ctx, f); err != nil {
		return err
	}
	defer r.mu.Unlock()
	rec := r.records[f.Index-1]
	rec.Started, rec.Action = r.offset(time.Now()), "SIGKILL, then a restart on the same address"
	for _, rf := range r.rules {
		rf.handle.Remove()
		rf.ended = true
	}
	freeze := make([]*faultproxy.RuleHandle, 0, len(r.namespaces))
	defer func() {
		for _, h := range freeze {
			h.Remove()
		}
	}()
	for _, ns := range r.namespaces {
		h, err := r.gw.Proxy.AddRule(faultproxy.Rule{
			Name:   fmt.Sprintf("soak fault #%d: freeze %s for the SIGKILL", f.Index, ns),
			Match:  faultproxy.Match{Resource: v1alpha1.ResourcePlural, Namespace: ns},
			Action: faultproxy.Status{Code: http.StatusServiceUnavailable},
		})
		if err != nil {
			return fmt.Errorf("soak fault #%d: freeze %s: %w", f.Index, ns, err)
		}
		freeze = append(freeze, h)
	}
	if err := r.bounds.Await(ctx, "the soak's forwarded API calls to end before the SIGKILL", r.noneInFlight); err != nil {
		return err
	}
	counted, err := r.stillCounters(ctx)
	if err != nil {
		return err
	}

	old := r.gw.Process
	killedAt := time.Now()
	if err := r.gw.Restart(ctx, true); err != nil {
		return err
	}
	exit, byKill := exitOf(old)
	r.logs = append(r.logs, old.LogLines()...)
	rec.Kill = &KillRecord{Pid: old.Pid(), Exit: exit, NewPid: r.gw.Process.Pid(), Restart: Duration(time.Since(killedAt)), Counted: counted}
	for _, h := range freeze {
		for _, hit := range h.Hits() {
			if hit.Time.Before(killedAt) {
				rec.Kill.FreezeHits++
			}
		}
	}
	rec.Fired = byKill
	r.processes = append(r.processes, ProcessRecord{Pid: old.Pid(), Ended: "sigkill", Counters: counted})
	r.printf("soak: +%s fault #%d sigkill: pid %d killed (%s) having counted %d created (%d unconfirmed); pid %d ready %s later; %d API calls refused during the freeze",
		r.offset(killedAt), f.Index, old.Pid(), exit, counted.Created, counted.Unconfirmed, rec.Kill.NewPid, rec.Kill.Restart, rec.Kill.FreezeHits)
	return nil
}

// lockWhenRulesClosed takes r.mu once no rule fault is open: each has fired and its window has
// closed, or was ended. The freeze ends every rule, and a rule put in force just before it would
// otherwise be ended unfired (a loaded run met exactly that: a 5xx rule had 358 ms before the
// freeze, and the run failed "fault kinds that never fired"). Waiting for a rule to fire is
// bounded (afterPrevious); one that does not fire in time is ended and recorded as such.
func (r *run) lockWhenRulesClosed(ctx context.Context, f Fault) error {
	for {
		r.mu.Lock()
		var open []*ruleFault
		for _, rf := range r.rules {
			if !rf.ended && !rf.closed() {
				open = append(open, rf)
			}
		}
		if len(open) == 0 {
			return nil // locked
		}
		r.mu.Unlock()
		for _, rf := range open {
			if err := r.afterPrevious(ctx, rf, f); err != nil {
				return err
			}
		}
	}
}

// noneInFlight holds when the proxy has no request of the soak's namespaces open. Until then it
// names them (method, path, rule, when each began), so that a wait that ends in a timeout says
// which call never ended.
func (r *run) noneInFlight(context.Context) (bool, string, error) {
	var open []string
	for _, ns := range r.namespaces {
		for _, rec := range r.gw.Proxy.Requests(ns) {
			if rec.InFlight {
				open = append(open, fmt.Sprintf("%s (%s, began at +%s)", rec, rec.Action, r.offset(rec.Time)))
			}
		}
	}
	return len(open) == 0, fmt.Sprintf("%d calls in flight: %s", len(open), strings.Join(open, "; ")), nil
}

// stillCounters reads the current process's counters once its created, deduplicated and
// unconfirmed counts have held still for the Consistently window. No API call can succeed or lose
// its answer under the freeze, but the gateway does its bookkeeping of a call the proxy has just
// ended a moment after the proxy saw it end; a change in that moment restarts the window. Counts
// that keep changing under the freeze time out, naming the readings.
func (r *run) stillCounters(ctx context.Context) (Counters, error) {
	st := stillness{window: r.bounds.Consistently}
	what := fmt.Sprintf("the gateway's created, deduplicated and unconfirmed counts to hold still for %s under the freeze", r.bounds.Consistently)
	err := r.bounds.Await(ctx, what, func(ctx context.Context) (bool, string, error) {
		c, err := r.scrape(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		ok, seen := st.observe(c, time.Now())
		return ok, seen, nil
	})
	return st.last, err
}

// stillness tells when a process's counts have held still for a window.
type stillness struct {
	window  time.Duration
	last    Counters
	since   time.Time // when last was first read; zero before the first reading
	changes int
}

// observe takes a reading at now and reports whether the counts have not changed for the window,
// and what it saw (for a timeout's message).
func (s *stillness) observe(c Counters, now time.Time) (bool, string) {
	same := !s.since.IsZero() && c.Created == s.last.Created && c.Deduplicated == s.last.Deduplicated && c.Unconfirmed == s.last.Unconfirmed
	if !same {
		if !s.since.IsZero() {
			s.changes++
		}
		s.since = now
	}
	s.last = c
	return same && now.Sub(s.since) >= s.window, fmt.Sprintf("created %d, deduplicated %d, unconfirmed %d, unchanged for %s after %d changes",
		c.Created, c.Deduplicated, c.Unconfirmed, now.Sub(s.since).Round(time.Millisecond), s.changes)
}

func (r *run) scrape(ctx context.Context) (Counters, error) {
	ctx, cancel := context.WithTimeout(ctx, r.bounds.Request)
	defer cancel()
	return scrape(ctx, r.h.HTTPClient(), r.gw.Process.URL(), r.h.Scraper.Token)
}

// exitOf says how a killed process ended, and whether it was by SIGKILL: the evidence of the
// fault is the operating system's own account.
func exitOf(p *gatewayproc.Process) (string, bool) {
	err := p.ExitErr()
	if sig, ok := gatewayproc.Signaled(err); ok {
		return "signal " + sig.String(), sig == syscall.SIGKILL
	}
	if err == nil {
		return "exited 0", false
	}
	return err.Error(), false
}
