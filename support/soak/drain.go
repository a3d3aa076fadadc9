package soak

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// drain waits, bounded, until every Alertmanager has delivered every batch: a successful
// webhook request ends its notification, and a delivered group is not sent again (its repeat
// interval is an hour), so Requests - RequestsFailed reaching the number of batches means the
// queue is empty and will stay so. A drain that times out is part of the verdict, not an error.
func (r *run) drain(ctx context.Context) error {
	bound := r.cfg.DrainTimeout
	if bound <= 0 {
		bound = r.bounds.Scenario
	}
	want := len(r.plan.Batches)
	records := make([]AlertmanagerRecord, len(r.ams))
	err := r.bounds.Until(ctx, bound, fmt.Sprintf("every Alertmanager to deliver all %d batches", want), func(ctx context.Context) (bool, string, error) {
		done := true
		var seen []string
		for i, am := range r.ams {
			d, err := am.Delivery(ctx)
			if err != nil {
				return false, err.Error(), nil
			}
			records[i] = AlertmanagerRecord{URL: am.URL(), Batches: want, Delivered: d.Requests - d.RequestsFailed, Delivery: d}
			done = done && records[i].Delivered >= want
			seen = append(seen, fmt.Sprintf("Alertmanager %d: %d delivered (%s)", i+1, records[i].Delivered, d))
		}
		return done, strings.Join(seen, "; "), nil
	})
	r.report.Alertmanagers, r.report.Drained = records, err == nil
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		r.report.DrainError = err.Error()
	}
	r.printf("soak: +%s drained=%v: %s", r.offset(time.Now()), r.report.Drained, deliveries(records))

	// The gateway is idle now: its last process's counters are final.
	var last Counters
	err = r.bounds.Await(ctx, "the gateway's /metrics to answer", func(ctx context.Context) (bool, string, error) {
		c, err := r.scrape(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		last = c
		return true, "", nil
	})
	if err != nil {
		return err
	}
	r.logs = append(r.logs, r.gw.Process.LogLines()...)
	r.processes = append(r.processes, ProcessRecord{Pid: r.gw.Process.Pid(), Ended: "end of run", Counters: last})
	return nil
}

func deliveries(records []AlertmanagerRecord) string {
	var parts []string
	for i, am := range records {
		parts = append(parts, fmt.Sprintf("Alertmanager %d delivered %d of %d batches in %d requests (%d failed)",
			i+1, am.Delivered, am.Batches, am.Delivery.Requests, am.Delivery.RequestsFailed))
	}
	return strings.Join(parts, "; ")
}

// check settles, deletes behind the gateway's back when asked to, and checks the cluster.
func (r *run) check(ctx context.Context) error {
	var total Counters
	for _, p := range r.processes {
		total = total.Plus(p.Counters)
	}
	r.report.Gateway = GatewayRecord{Processes: r.processes, Total: total}
	exp := r.expectation(total)
	for _, w := range exp.Signals {
		r.report.MinOccurrences += w.MinOccurrences
	}

	// Every alert the Alertmanagers delivered was persisted before the gateway answered, so
	// this wait is short; it is bounded, and the check below says what is wrong if it ends.
	// The metrics are left out: they are final, the cluster is what might still be settling.
	settled := exp
	settled.CreatedMetric = -1
	if err := r.bounds.Await(ctx, "the cluster to hold what the gateway acknowledged", func(ctx context.Context) (bool, string, error) {
		res, err := Check(ctx, r.h.Client, settled)
		if err != nil {
			return false, err.Error(), nil
		}
		return res.OK(), strings.Join(res.Failures(), "; "), nil
	}); err != nil && ctx.Err() == nil {
		r.printf("soak: %v", err)
	}

	deleted, err := r.deleteBehind(ctx)
	if err != nil {
		return err
	}
	res, err := Check(ctx, r.h.Client, exp)
	if err != nil {
		return err
	}
	r.report.Result = res
	if len(deleted) > 0 {
		r.report.DeletedBehindAllLost = sameFingerprints(deleted, res.Lost)
	}
	r.report.Gateway.Errors = errorLines(r.logs)
	if res.MetricsChecked && !res.MetricsAgree {
		if err := r.explainMetrics(ctx); err != nil {
			return err
		}
	}
	r.report.KindsNotFired = r.kindsNotFired()
	return nil
}

// expectation is what the cluster must hold, from the plan and the metrics alone.
func (r *run) expectation(total Counters) Expectation {
	per := r.plan.Expected()
	exp := Expectation{Namespaces: r.namespaces, CreatedMetric: total.Created, Unconfirmed: total.Unconfirmed}
	for i, s := range r.plan.Signals {
		ns := r.namespaces[s.Namespace]
		exp.Signals = append(exp.Signals, Want{
			Fingerprint: Fingerprint(s.Alertname, ns, "Pod", s.Pod), Alertname: s.Alertname, Namespace: ns, Pod: s.Pod,
			MinOccurrences: per[i] * len(r.ams),
		})
	}
	return exp
}

// deleteBehind deletes Config.DeleteBehind RemediationRequests, chosen by the seed, with the
// suite's own client: the gateway never hears of it, so the check must report each as lost.
func (r *run) deleteBehind(ctx context.Context) ([]v1alpha1.RemediationRequest, error) {
	if r.cfg.DeleteBehind == 0 {
		return nil, nil
	}
	all, err := r.list(ctx)
	if err != nil {
		return nil, err
	}
	pick := rand.New(rand.NewPCG(uint64(r.cfg.Seed), 0x64656c657465)).Perm(len(all))
	var deleted []v1alpha1.RemediationRequest
	for _, i := range pick[:min(r.cfg.DeleteBehind, len(all))] {
		rr := all[i]
		if err := r.h.Client.Delete(ctx, &rr); err != nil {
			return nil, fmt.Errorf("deleting %s/%s behind the gateway's back: %w", rr.Namespace, rr.Name, err)
		}
		deleted = append(deleted, rr)
		r.report.DeletedBehind = append(r.report.DeletedBehind, rr.Namespace+"/"+rr.Name)
	}
	slices.Sort(r.report.DeletedBehind)
	r.printf("soak: deleted %d RemediationRequests behind the gateway's back (--delete-behind): %s",
		len(deleted), strings.Join(r.report.DeletedBehind, ", "))
	return deleted, nil
}

// list returns the RemediationRequests of the soak's namespaces, sorted by namespace and name.
func (r *run) list(ctx context.Context) ([]v1alpha1.RemediationRequest, error) {
	var all []v1alpha1.RemediationRequest
	for _, ns := range r.namespaces {
		var list v1alpha1.RemediationRequestList
		if err := r.h.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("listing the RemediationRequests of %s: %w", ns, err)
		}
		all = append(all, list.Items...)
	}
	slices.SortFunc(all, func(a, b v1alpha1.RemediationRequest) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return all, nil
}

// explainMetrics names, from the gateway's own log lines, the objects no process counted as
// created (or counted twice), with the log trail of the first few of them.
func (r *run) explainMetrics(ctx context.Context) error {
	all, err := r.list(ctx)
	if err != nil {
		return err
	}
	objects := make([]string, len(all))
	fingerprints := map[string]string{}
	for i, rr := range all {
		objects[i] = rr.Namespace + "/" + rr.Name
		fingerprints[objects[i]] = rr.Spec.SignalFingerprint
	}
	created := ledger{}
	created.add(r.logs)
	g := &r.report.Gateway
	g.Uncounted, g.CountedTwice = created.compare(objects)
	for _, o := range append(slices.Clone(g.Uncounted), g.CountedTwice...) {
		if len(g.Trails) == maxTrails {
			break
		}
		if g.Trails == nil {
			g.Trails = map[string][]string{}
		}
		g.Trails[o] = trail(r.logs, fingerprints[o])
	}
	return nil
}

// sameFingerprints reports whether the lost fingerprints are exactly those deleted.
func sameFingerprints(deleted []v1alpha1.RemediationRequest, lost []Lost) bool {
	var a, b []string
	for _, rr := range deleted {
		a = append(a, rr.Spec.SignalFingerprint)
	}
	for _, l := range lost {
		b = append(b, l.Fingerprint)
	}
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// kindsNotFired are the kinds of which no fault fired.
func (r *run) kindsNotFired() []string {
	fired := map[Kind]bool{}
	for _, rec := range r.records {
		fired[rec.Kind] = fired[rec.Kind] || rec.Fired
	}
	var out []string
	for _, k := range AllKinds {
		if !fired[k] {
			out = append(out, string(k))
		}
	}
	return out
}
