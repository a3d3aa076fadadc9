package soak

import (
	"reflect"
	"testing"
	"time"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
)

func TestPlanIsAReplayableScheduleWithEveryFaultKind(t *testing.T) {
	threeKills := CI()
	threeKills.Kills = 3
	odd := Config{Alerts: 101, Fingerprints: 7, Namespaces: 3, Alertmanagers: 1, BatchSize: 4, Duration: 10 * time.Second}
	for _, tc := range []struct {
		name    string
		cfg     Config
		outages int
	}{
		{"full", Full(), 2},
		{"ci", CI(), 1},
		{"ci with three kills", threeKills, 1},
		{"uneven sizes, shortest schedule", odd, 1},
	} {
		for _, seed := range []int64{1, 42, -7, 1 << 40} {
			cfg := tc.cfg
			cfg.Seed = seed
			c := cfg.withDefaults()
			if err := c.validate(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			p := NewPlan(cfg)
			if again := NewPlan(cfg); !reflect.DeepEqual(p, again) {
				t.Fatalf("%s seed %d: two plans of one seed differ", tc.name, seed)
			}
			other := cfg
			other.Seed = seed + 1
			if reflect.DeepEqual(p.Faults, NewPlan(other).Faults) || reflect.DeepEqual(p.Batches, NewPlan(other).Batches) {
				t.Errorf("%s seed %d: the next seed gives the same schedule", tc.name, seed)
			}
			checkAlerts(t, tc.name, c, p)
			checkFaults(t, tc.name, c, p, tc.outages)
		}
	}
}

func checkAlerts(t *testing.T, name string, c Config, p Plan) {
	t.Helper()
	if len(p.Signals) != c.Fingerprints {
		t.Errorf("%s: %d signals, want %d", name, len(p.Signals), c.Fingerprints)
	}
	seen := map[int]bool{}
	last := time.Duration(-1)
	for _, b := range p.Batches {
		if len(b.Alerts) == 0 || len(b.Alerts) > c.BatchSize {
			t.Errorf("%s: batch %d has %d alerts (batch size %d)", name, b.Index, len(b.Alerts), c.BatchSize)
		}
		if b.At < last || b.At > time.Duration(float64(c.Duration)*pushEnd) {
			t.Errorf("%s: batch %d at %s: out of order or after the push phase", name, b.Index, b.At)
		}
		last = b.At
		for _, a := range b.Alerts {
			if seen[a.Seq] {
				t.Errorf("%s: alert %d pushed twice: it would not be a distinct alert", name, a.Seq)
			}
			seen[a.Seq] = true
		}
	}
	if len(seen) != c.Alerts {
		t.Errorf("%s: %d alerts, want %d", name, len(seen), c.Alerts)
	}
	lo, hi := c.Alerts/c.Fingerprints, (c.Alerts+c.Fingerprints-1)/c.Fingerprints
	for i, n := range p.Expected() {
		if n < lo || n > hi {
			t.Errorf("%s: signal %d has %d alerts, want %d..%d", name, i, n, lo, hi)
		}
	}
	for i, s := range p.Signals {
		if s.Namespace < 0 || s.Namespace >= c.Namespaces {
			t.Errorf("%s: signal %d in namespace %d of %d", name, i, s.Namespace, c.Namespaces)
		}
	}
}

func checkFaults(t *testing.T, name string, c Config, p Plan, outages int) {
	t.Helper()
	count := map[Kind]int{}
	var globalEnd time.Duration
	for i, f := range p.Faults {
		count[f.Kind]++
		if f.Index != i+1 || f.At < 0 || f.At > c.Duration {
			t.Errorf("%s: fault %+v: index or time out of the schedule", name, f)
		}
		if i > 0 && f.At < p.Faults[i-1].At {
			t.Errorf("%s: faults out of order at %d", name, f.Index)
		}
		switch f.Kind {
		case KindOutage, KindKill:
			if f.Namespace != -1 {
				t.Errorf("%s: global fault %+v scoped to a namespace", name, f)
			}
			if f.At < globalEnd {
				t.Errorf("%s: global fault %d at %s overlaps the one before (until %s)", name, f.Index, f.At, globalEnd)
			}
			globalEnd = f.At + f.For
			if f.Kind == KindOutage && (f.For < time.Second || f.For > 4*time.Second) {
				t.Errorf("%s: outage of %s is not a few seconds", name, f.For)
			}
		default:
			if f.Namespace < 0 || f.Namespace >= c.Namespaces || f.For <= 0 {
				t.Errorf("%s: rule fault %+v: bad namespace or window", name, f)
			}
			if f.Verb == faultproxy.VerbCreate && f.At > time.Duration(float64(c.Duration)*createRulesEnd) {
				t.Errorf("%s: create fault at %s, after creates thin out", name, f.At)
			}
			if f.At > time.Duration(float64(c.Duration)*ruleEnd) {
				t.Errorf("%s: rule fault at %s, too late to fire before the kills", name, f.At)
			}
		}
	}
	for _, k := range AllKinds {
		if count[k] == 0 {
			t.Errorf("%s: no %s fault", name, k)
		}
	}
	if count[KindKill] != c.Kills || count[KindOutage] != outages {
		t.Errorf("%s: %d kills and %d outages, want %d and %d", name, count[KindKill], count[KindOutage], c.Kills, outages)
	}
	var rules []Fault
	for _, f := range p.Faults {
		if f.Namespace >= 0 {
			rules = append(rules, f)
		}
	}
	// In time order, every run of Namespaces rules uses every namespace once.
	for lo := 0; lo < len(rules); lo += c.Namespaces {
		used := map[int]int{}
		for _, f := range rules[lo:min(len(rules), lo+c.Namespaces)] {
			if prev, ok := used[f.Namespace]; ok {
				t.Errorf("%s: rules %d and %d, close in time, share namespace %d: one would shadow the other", name, prev, f.Index, f.Namespace)
			}
			used[f.Namespace] = f.Index
		}
	}
	anyVerb := 0
	for _, f := range p.Faults {
		if f.Verb == "" && f.Namespace >= 0 && f.At <= time.Duration(float64(c.Duration)*firstRulesEnd) {
			anyVerb++
		}
	}
	if anyVerb < len(RuleKinds) {
		t.Errorf("%s: %d early rules on every verb, want one of every kind (%d)", name, anyVerb, len(RuleKinds))
	}
}

func TestConfigDefaultsAndLimits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr bool
		wantDur time.Duration
	}{
		{name: "zero is full", cfg: Config{}, wantDur: 60 * time.Second},
		{name: "ci", cfg: CI(), wantDur: 15 * time.Second},
		{name: "more fingerprints than alerts", cfg: Config{Alerts: 10, Fingerprints: 20}, wantErr: true},
		{name: "deleting more than was made", cfg: Config{Alerts: 10, Fingerprints: 5, DeleteBehind: 6}, wantErr: true},
		{name: "schedule too short for every fault", cfg: Config{Duration: 5 * time.Second}, wantErr: true},
		{name: "no kill is not a soak", cfg: Config{Kills: -1}, wantErr: true},
	} {
		c := tc.cfg.withDefaults()
		err := c.validate()
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: validate = %v, want error %v", tc.name, err, tc.wantErr)
		}
		if tc.wantDur != 0 && c.Duration != tc.wantDur {
			t.Errorf("%s: duration %s, want %s", tc.name, c.Duration, tc.wantDur)
		}
	}
}
