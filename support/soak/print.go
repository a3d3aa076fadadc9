package soak

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// maxListed bounds the names a summary line lists; the JSON report has them all.
const maxListed = 20

// PrintTimeline writes the faults in the order they happened, each with its evidence.
func (r *Report) PrintTimeline(w io.Writer) {
	fmt.Fprintf(w, "\nsoak: fault timeline (seed %d; offsets from the start of the schedule)\n", r.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tat\tkind\taction\tscope\tfor\tevidence")
	faults := slices.Clone(r.Faults)
	slices.SortStableFunc(faults, func(a, b FaultRecord) int { return cmp.Compare(a.Started, b.Started) })
	for _, f := range faults {
		scope, window := "whole API", "-"
		switch {
		case f.Kind == KindKill:
			scope = "gateway process"
		case f.Namespace != "":
			scope = orAny(f.Verb, "any verb") + " in " + f.Namespace
		}
		if f.For > 0 {
			window = f.For.String()
		}
		fmt.Fprintf(tw, "  %d\t+%s\t%s\t%s\t%s\t%s\t%s\n", f.Index, f.Started, f.Kind, f.Action, scope, window, f.evidence())
	}
	tw.Flush()
}

func orAny(v, dflt string) string {
	if v == "" {
		return dflt
	}
	return v
}

// evidence says in a few words how the fault is known to have fired, or that it did not.
func (f FaultRecord) evidence() string {
	switch {
	case f.Kill != nil:
		k := f.Kill
		return fmt.Sprintf("pid %d ended by %s having counted %d created (%d unconfirmed); pid %d ready %s later; %d calls refused in the freeze",
			k.Pid, k.Exit, k.Counted.Created, k.Counted.Unconfirmed, k.NewPid, k.Restart, k.FreezeHits)
	case f.Outage != nil:
		return fmt.Sprintf("proxy down from +%s to +%s (%s)", f.Outage.Start, f.Outage.End, f.Outage.End-f.Outage.Start)
	case f.Fired:
		var codes []string
		for _, c := range slices.Sorted(maps.Keys(f.Codes)) {
			name := fmt.Sprint(c)
			if c == 0 {
				name = "no answer"
			}
			codes = append(codes, fmt.Sprintf("%s x%d", name, f.Codes[c]))
		}
		return fmt.Sprintf("hit %d times, +%s..+%s (%s)", f.Hits, f.FirstHit, f.LastHit, strings.Join(codes, ", "))
	case f.Error != "":
		return "NOT FIRED: " + f.Error
	case f.Action == "":
		// Every kind sets its Action when it is put in force: an empty one was never reached,
		// because the schedule stopped first (the run's error says why).
		return "NOT REACHED (the schedule stopped before it)"
	case f.Kind == KindKill:
		// A kill records its evidence only once the new process is ready; the run's error says
		// which step of the kill failed.
		return "NOT DONE (the kill began but did not finish)"
	}
	return "NOT FIRED (no matching request while it was in force)"
}

// PrintSummary writes the verdict and the figures behind it.
func (r *Report) PrintSummary(w io.Writer) {
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\nsoak summary (seed %d): %s\n", r.Seed, verdict)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "  %s\t%s\n", k, fmt.Sprintf(format, args...)) }
	s := r.Sizes
	row("sent", "%d alerts over %d fingerprints in %d namespaces; %d batches to each of %d Alertmanagers",
		s.Alerts, s.Fingerprints, s.Namespaces, s.Batches, s.Alertmanagers)
	row("delivered", "%s (drained: %v)", deliveries(r.Alertmanagers), r.Drained)
	row("cluster", "%d RemediationRequests, %d occurrences recorded (floor %d)", r.RemediationRequests, r.Occurrences, r.MinOccurrences)
	row("lost", "%d%s", len(r.Lost), listed(r.Lost, func(l Lost) string {
		return l.Namespace + "/" + l.ExpectedName + " (" + l.Alertname + " " + l.Pod + ")"
	}))
	row("doubled", "%d%s", len(r.Doubled), listed(r.Doubled, func(d Doubled) string { return d.Namespace + ": " + strings.Join(d.Names, " + ") }))
	row("short-counted", "%d%s", len(r.ShortCounted), listed(r.ShortCounted, func(c ShortCount) string {
		return fmt.Sprintf("%s/%s %d < %d", c.Namespace, strings.Join(c.Names, "+"), c.Occurrences, c.Want)
	}))
	row("unexpected", "%d%s", len(r.Unexpected), listed(r.Unexpected, func(u Unexpected) string { return u.Namespace + "/" + u.Name }))
	if len(r.DeletedBehind) > 0 {
		row("deleted behind", "%d%s; all reported lost: %v", len(r.DeletedBehind), listed(r.DeletedBehind, func(s string) string { return s }), r.DeletedBehindAllLost)
	}
	var procs []string
	for _, p := range r.Gateway.Processes {
		procs = append(procs, fmt.Sprintf("pid %d %d until %s", p.Pid, p.Counters.Created, p.Ended))
	}
	agree := "agree"
	if !r.MetricsAgree {
		agree = "DISAGREE"
	}
	row("created metric", "%d (%s) vs %d RemediationRequests: %s", r.Gateway.Total.Created, strings.Join(procs, ", "), r.RemediationRequests, agree)
	if u := r.Gateway.Total.Unconfirmed; u > 0 {
		row("  unconfirmed", "%d creations the processes had not confirmed when they ended: the objects may exceed the metric by that many", u)
	}
	if len(r.Gateway.Uncounted) > 0 || len(r.Gateway.CountedTwice) > 0 {
		row("  uncounted", "%d%s", len(r.Gateway.Uncounted), listed(r.Gateway.Uncounted, func(s string) string { return s }))
		row("  counted twice", "%d%s", len(r.Gateway.CountedTwice), listed(r.Gateway.CountedTwice, func(s string) string { return s }))
		row("", "(the gateway's log lines about them: gateway.trails in the JSON report)")
	}
	t := r.Gateway.Total
	row("acknowledged", "%d received, %d created + %d deduplicated = %d (occurrences recorded: %d)",
		t.Received, t.Created, t.Deduplicated, t.Created+t.Deduplicated, r.Occurrences)
	row("gateway retries", "%s", counts(t.Retries))
	row("gateway rejected", "%s; API errors %s", counts(t.Rejected), counts(t.APIErrors))
	if len(r.Gateway.Errors) > 0 {
		row("gateway errors", "%d error-level request log lines (gateway.errors in the JSON report), the first: %s", len(r.Gateway.Errors), errorOf(r.Gateway.Errors[0]))
	}
	fired := 0
	for _, f := range r.Faults {
		if f.Fired {
			fired++
		}
	}
	row("faults", "%d planned, %d fired; kinds that never fired: %s", len(r.Faults), fired, orAny(strings.Join(r.KindsNotFired, ", "), "none"))
	p := r.Phases
	row("phases", "setup %s, schedule %s, drain %s, check %s, teardown %s, total %s", p.Setup, p.Schedule, p.Drain, p.Check, p.Teardown, p.Total)
	for _, f := range r.Failed {
		row("FAILED", "%s", f)
	}
	tw.Flush()
}

func listed[T any](items []T, name func(T) string) string {
	if len(items) == 0 {
		return ""
	}
	var names []string
	for _, it := range items[:min(len(items), maxListed)] {
		names = append(names, name(it))
	}
	more := ""
	if len(items) > maxListed {
		more = fmt.Sprintf(" and %d more", len(items)-maxListed)
	}
	return ": " + strings.Join(names, ", ") + more
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// errorOf is the error field of a gateway log line, or the line.
func errorOf(line string) string {
	var rec struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(line), &rec) == nil && rec.Error != "" {
		return rec.Error
	}
	return line
}
