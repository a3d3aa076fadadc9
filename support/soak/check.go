package soak

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// Want is what the cluster must hold for one fingerprint that was sent.
type Want struct {
	Fingerprint string
	Alertname   string
	Namespace   string
	Pod         string
	// MinOccurrences is the least occurrence count the fingerprint's RemediationRequests must
	// add up to (see the package doc for why it is a floor and not an exact number).
	MinOccurrences int
}

// Expectation is everything Check compares the cluster with. It comes from the run (what was
// sent, what the gateway's metrics said), never from the cluster.
type Expectation struct {
	// Namespaces are the soak's namespaces: every RemediationRequest in them is counted.
	Namespaces []string
	Signals    []Want
	// CreatedMetric is gateway_signals_created_total summed over every gateway process of the
	// run; negative means it is not known and not checked.
	CreatedMetric int
	// Unconfirmed is gateway_unconfirmed_creations summed over the processes' last readings:
	// objects a process may have created without counting them before it died. The cluster
	// must then hold from CreatedMetric to CreatedMetric+Unconfirmed objects; with 0, exactly
	// CreatedMetric.
	Unconfirmed int
}

// Lost is a fingerprint that was sent but has no RemediationRequest in its namespace.
type Lost struct {
	Fingerprint  string `json:"fingerprint"`
	Alertname    string `json:"alertname"`
	Namespace    string `json:"namespace"`
	Pod          string `json:"pod"`
	ExpectedName string `json:"expectedName"`
}

// Doubled is a fingerprint with more than one active (non-terminal) RemediationRequest.
type Doubled struct {
	Fingerprint string   `json:"fingerprint"`
	Namespace   string   `json:"namespace"`
	Names       []string `json:"names"`
}

// ShortCount is a fingerprint whose occurrence counts add up to less than its floor.
type ShortCount struct {
	Fingerprint string   `json:"fingerprint"`
	Namespace   string   `json:"namespace"`
	Names       []string `json:"names"`
	Occurrences int      `json:"occurrences"`
	Want        int      `json:"want"`
}

// Unexpected is a RemediationRequest in a soak namespace for a fingerprint that was not sent
// there: the gateway computed an identity other than the design's, or wrote to the wrong place.
type Unexpected struct {
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
}

// Result is the verdict of one Check.
type Result struct {
	RemediationRequests int          `json:"remediationRequests"`
	Occurrences         int          `json:"occurrences"`
	Lost                []Lost       `json:"lost"`
	Doubled             []Doubled    `json:"doubled"`
	ShortCounted        []ShortCount `json:"shortCounted"`
	Unexpected          []Unexpected `json:"unexpected"`
	// CreatedMetric and Unconfirmed are the expectation's; MetricsChecked says whether they
	// were known.
	CreatedMetric  int  `json:"createdMetric"`
	Unconfirmed    int  `json:"unconfirmedCreations"`
	MetricsChecked bool `json:"metricsChecked"`
	MetricsAgree   bool `json:"metricsAgree"`
}

// Failures says in one line each what is wrong; empty when the cluster matches.
func (r Result) Failures() []string {
	var out []string
	add := func(n int, what string) {
		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(len(r.Lost), "lost: fingerprints sent without a RemediationRequest")
	add(len(r.Doubled), "doubled: fingerprints with more than one active RemediationRequest")
	add(len(r.ShortCounted), "short-counted: fingerprints counted fewer times than delivered")
	add(len(r.Unexpected), "unexpected: RemediationRequests for fingerprints that were not sent")
	if r.MetricsChecked && !r.MetricsAgree {
		out = append(out, fmt.Sprintf("metrics disagree: gateway_signals_created_total %d (gateway_unconfirmed_creations %d at the processes' ends), RemediationRequests %d",
			r.CreatedMetric, r.Unconfirmed, r.RemediationRequests))
	}
	return out
}

// OK reports whether the cluster holds exactly what was expected.
func (r Result) OK() bool { return len(r.Failures()) == 0 }

// Check compares the cluster with the expectation, reading only the cluster (one list per
// namespace, through c) and the expectation. It is separate from Run so that a test can make it
// fail on purpose, and so that nothing in it depends on how the soak went.
func Check(ctx context.Context, c client.Client, exp Expectation) (Result, error) {
	type key struct{ ns, fp string }
	byKey := map[key][]v1alpha1.RemediationRequest{}
	var res Result
	for _, ns := range exp.Namespaces {
		var list v1alpha1.RemediationRequestList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return Result{}, fmt.Errorf("listing the RemediationRequests of %s: %w", ns, err)
		}
		for _, rr := range list.Items {
			k := key{ns, rr.Spec.SignalFingerprint}
			byKey[k] = append(byKey[k], rr)
			res.RemediationRequests++
			res.Occurrences += occurrences(rr)
		}
	}

	sent := map[key]bool{}
	for _, w := range exp.Signals {
		k := key{w.Namespace, w.Fingerprint}
		sent[k] = true
		rrs := byKey[k]
		if len(rrs) == 0 {
			res.Lost = append(res.Lost, Lost{Fingerprint: w.Fingerprint, Alertname: w.Alertname, Namespace: w.Namespace,
				Pod: w.Pod, ExpectedName: ObjectName(w.Fingerprint)})
			continue
		}
		var active, all []string
		total := 0
		for _, rr := range rrs {
			all = append(all, rr.Name)
			total += occurrences(rr)
			if !v1alpha1.IsTerminalPhase(rr.Status.OverallPhase) {
				active = append(active, rr.Name)
			}
		}
		slices.Sort(active)
		slices.Sort(all)
		if len(active) > 1 {
			res.Doubled = append(res.Doubled, Doubled{Fingerprint: w.Fingerprint, Namespace: w.Namespace, Names: active})
		}
		if total < w.MinOccurrences {
			res.ShortCounted = append(res.ShortCounted, ShortCount{Fingerprint: w.Fingerprint, Namespace: w.Namespace,
				Names: all, Occurrences: total, Want: w.MinOccurrences})
		}
	}
	for k, rrs := range byKey {
		if sent[k] {
			continue
		}
		for _, rr := range rrs {
			res.Unexpected = append(res.Unexpected, Unexpected{Namespace: rr.Namespace, Name: rr.Name, Fingerprint: k.fp})
		}
	}

	if exp.CreatedMetric >= 0 {
		res.MetricsChecked = true
		res.CreatedMetric, res.Unconfirmed = exp.CreatedMetric, exp.Unconfirmed
		res.MetricsAgree = exp.CreatedMetric <= res.RemediationRequests && res.RemediationRequests <= exp.CreatedMetric+exp.Unconfirmed
	}
	sortResult(&res)
	return res, nil
}

func occurrences(rr v1alpha1.RemediationRequest) int {
	if d := rr.Status.Deduplication; d != nil {
		return int(d.OccurrenceCount)
	}
	return 0
}

func sortResult(r *Result) {
	slices.SortFunc(r.Lost, func(a, b Lost) int { return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Pod, b.Pod)) })
	slices.SortFunc(r.Doubled, func(a, b Doubled) int { return cmp.Compare(a.Fingerprint, b.Fingerprint) })
	slices.SortFunc(r.ShortCounted, func(a, b ShortCount) int { return cmp.Compare(a.Fingerprint, b.Fingerprint) })
	slices.SortFunc(r.Unexpected, func(a, b Unexpected) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
}
