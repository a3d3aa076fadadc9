package soak

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
)

// Kind is a kind of fault the schedule injects.
type Kind string

// The fault kinds. The rule kinds go through the dedicated gateway's fault proxy, scoped to one
// soak namespace; outage and sigkill are global (the whole API, the gateway process).
const (
	Kind5xx       Kind = "5xx"        // faultproxy.Status 500/502/503/504
	Kind429       Kind = "429"        // faultproxy.Status 429 with Retry-After 1s
	KindReset     Kind = "reset"      // TCP RST (faultproxy.Reset)
	KindDrop      Kind = "drop"       // connection closed without an answer: EOF (faultproxy.Drop)
	KindBlackHole Kind = "black-hole" // no answer until the gateway's call timeout
	KindLatency   Kind = "latency"    // a slow answer, some slower than the call timeout
	KindOutage    Kind = "outage"     // faultproxy.SetOutage: the whole API unreachable
	KindKill      Kind = "sigkill"    // the gateway SIGKILLed and restarted on the same address
)

// RuleKinds are the kinds injected as proxy rules; each appears at least once in every plan.
var RuleKinds = []Kind{Kind5xx, Kind429, KindReset, KindDrop, KindBlackHole, KindLatency}

// AllKinds is every kind a plan contains at least once.
var AllKinds = append(slices.Clone(RuleKinds), KindOutage, KindKill)

// Signal is one gateway fingerprint: a pod-targeted alert in one soak namespace.
type Signal struct {
	Alertname string
	Namespace int // index into the run's soak namespaces
	Pod       string
}

// Alert is one distinct Alertmanager alert: a signal plus its sequence number, which becomes a
// label, so that Alertmanager treats every alert as new while the gateway's fingerprint (which
// ignores that label) stays the signal's.
type Alert struct {
	Signal int
	Seq    int
}

// Batch is one push to every Alertmanager, at offset At of the schedule. Its alerts carry the
// batch's own soak_batch label, which is the routes' group_by: one batch is one group, hence one
// notification per Alertmanager, plus its retries.
type Batch struct {
	Index  int
	At     time.Duration
	Alerts []Alert
}

// Fault is one planned fault.
type Fault struct {
	Index int
	At    time.Duration
	Kind  Kind
	// For is a rule's window (opened by its first matching request, see faultproxy.Rule) or an
	// outage's length; zero for a kill.
	For time.Duration
	// Namespace indexes the soak namespace a rule is scoped to; -1 for global faults.
	Namespace int
	// Verb limits a rule to one API verb on remediationrequests; empty is every verb.
	Verb  string
	Code  int           // Kind5xx and Kind429
	Delay time.Duration // KindLatency
}

// Plan is a whole soak schedule, made from a seed alone: the alerts, their batches and times,
// and the faults. It does not name namespaces (those are new in every run), only their indexes,
// so a seed replays the same schedule on any run.
type Plan struct {
	Seed     int64
	Duration time.Duration
	Signals  []Signal
	Batches  []Batch
	Faults   []Fault
}

// Fractions of the schedule where things happen. Pushes stop before the end, so that the last
// faults still meet traffic; rule faults come early enough to fire and expire before the kills,
// which end every rule still in force (see killer); the outages sit between.
const (
	pushEnd        = 0.80
	ruleStart      = 0.05
	firstRulesEnd  = 0.40 // one rule of every kind, on every verb: sure to meet traffic
	ruleEnd        = 0.55
	createRulesEnd = 0.35 // creates thin out as every fingerprint gets its object
	outageStart    = 0.10
	outageEnd      = 0.55
	killStart      = 0.60
	killEnd        = 0.85
	// one extra rule fault per this much schedule, beyond one of every kind
	ruleEvery = 4 * time.Second
	// one outage per this much schedule, at least one
	outageEvery = 30 * time.Second
)

var alertnames = []string{"KubePodCrashLooping", "KubePodNotReady", "ContainerOOMKilled", "HighMemoryUsage", "HighErrorRate"}

// NewPlan makes the schedule of c (defaults applied) from c.Seed.
func NewPlan(c Config) Plan {
	c = c.withDefaults()
	p := Plan{Seed: c.Seed, Duration: c.Duration}
	// Two streams, so that the faults of a seed do not change when only the alert sizes do.
	alertRand := rand.New(rand.NewPCG(uint64(c.Seed), 0x616c65727473))
	faultRand := rand.New(rand.NewPCG(uint64(c.Seed), 0x6661756c7473))
	p.Signals = signals(c)
	p.Batches = batches(c, alertRand)
	p.Faults = faults(c, faultRand)
	return p
}

func signals(c Config) []Signal {
	out := make([]Signal, c.Fingerprints)
	for i := range out {
		out[i] = Signal{
			Alertname: alertnames[i%len(alertnames)],
			Namespace: i % c.Namespaces,
			Pod:       fmt.Sprintf("soak-%04d", i),
		}
	}
	return out
}

// batches deals the alerts (every signal gets Alerts/Fingerprints of them, give or take one) in
// a shuffled order into batches, spread evenly with jitter over the push phase.
func batches(c Config, r *rand.Rand) []Batch {
	alerts := make([]Alert, c.Alerts)
	for j := range alerts {
		alerts[j] = Alert{Signal: j % c.Fingerprints, Seq: j}
	}
	r.Shuffle(len(alerts), func(i, j int) { alerts[i], alerts[j] = alerts[j], alerts[i] })
	n := (len(alerts) + c.BatchSize - 1) / c.BatchSize
	step := time.Duration(float64(c.Duration) * pushEnd / float64(n))
	out := make([]Batch, 0, n)
	for i := range n {
		lo, hi := i*c.BatchSize, min((i+1)*c.BatchSize, len(alerts))
		at := time.Duration(i)*step + time.Duration(r.Int64N(int64(step/2)+1))
		out = append(out, Batch{Index: i, At: at, Alerts: slices.Clone(alerts[lo:hi])})
	}
	return out
}

func faults(c Config, r *rand.Rand) []Fault {
	d := c.Duration
	frac := func(f float64) time.Duration { return time.Duration(float64(d) * f) }
	// Whole milliseconds: the timeline reads better, and nothing here is finer than that.
	between := func(lo, hi time.Duration) time.Duration {
		return (lo + time.Duration(r.Int64N(int64(hi-lo)+1))).Truncate(time.Millisecond)
	}
	var out []Fault

	// One rule of every kind on every verb, early, then extra rules on random verbs.
	kinds := slices.Clone(RuleKinds)
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	for range max(0, int(d/ruleEvery)-len(kinds)) {
		kinds = append(kinds, RuleKinds[r.IntN(len(RuleKinds))])
	}
	var rules []Fault
	for i, k := range kinds {
		f := Fault{Kind: k, For: between(500*time.Millisecond, 2500*time.Millisecond)}
		if i < len(RuleKinds) {
			f.At = between(frac(ruleStart), frac(firstRulesEnd))
		} else {
			f.At = between(frac(ruleStart), frac(ruleEnd))
			verbs := []string{"", faultproxy.VerbList, faultproxy.VerbGet, faultproxy.VerbUpdate}
			if f.At < frac(createRulesEnd) {
				verbs = append(verbs, faultproxy.VerbCreate)
			}
			f.Verb = verbs[r.IntN(len(verbs))]
		}
		switch k {
		case Kind5xx:
			f.Code = []int{500, 502, 503, 504}[r.IntN(4)]
		case Kind429:
			f.Code = 429
		case KindLatency:
			f.Delay = between(200*time.Millisecond, 1500*time.Millisecond)
		}
		rules = append(rules, f)
	}
	// Namespaces round-robin in time order, in a new order every round: the proxy applies the
	// first matching rule, so two rules in force in one namespace would shadow each other, and
	// this keeps rules of one namespace as far apart as the namespaces allow (see ruleTrack for
	// the rest).
	slices.SortStableFunc(rules, func(a, b Fault) int { return cmp.Compare(a.At, b.At) })
	var round []int
	for i := range rules {
		if i%c.Namespaces == 0 {
			round = r.Perm(c.Namespaces)
		}
		rules[i].Namespace = round[i%c.Namespaces]
	}
	out = append(out, rules...)

	// Global faults one after another, each in a slot of its own: outages, then kills.
	outages := max(1, int(d/outageEvery))
	slot := (frac(outageEnd) - frac(outageStart)) / time.Duration(outages)
	for i := range outages {
		start := frac(outageStart) + time.Duration(i)*slot
		length := min(between(2*time.Second, 4*time.Second), slot*6/10)
		out = append(out, Fault{Kind: KindOutage, Namespace: -1, At: between(start, start+slot/3), For: length})
	}
	slot = (frac(killEnd) - frac(killStart)) / time.Duration(c.Kills)
	for i := range c.Kills {
		start := frac(killStart) + time.Duration(i)*slot
		out = append(out, Fault{Kind: KindKill, Namespace: -1, At: between(start, start+slot/3)})
	}

	slices.SortStableFunc(out, func(a, b Fault) int { return cmp.Compare(a.At, b.At) })
	for i := range out {
		out[i].Index = i + 1
	}
	return out
}

// Expected is how many alerts of each signal the plan pushes (to each Alertmanager).
func (p Plan) Expected() []int {
	out := make([]int, len(p.Signals))
	for _, b := range p.Batches {
		for _, a := range b.Alerts {
			out[a.Signal]++
		}
	}
	return out
}
