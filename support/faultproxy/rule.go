package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Match selects requests by their Kubernetes meaning. An empty field matches anything. Namespace
// is what keeps scenarios apart: a rule scoped to a scenario's namespace cannot disturb the
// scenarios running next to it, so fault scenarios need not run alone.
type Match struct {
	Verb        string // VerbCreate, VerbUpdate, ...
	Resource    string // e.g. "remediationrequests"
	Subresource string // e.g. "status"; empty matches the resource and all its subresources
	Namespace   string
	Name        string
}

func (m Match) matches(info RequestInfo) bool {
	return field(m.Verb, info.Verb) && field(m.Resource, info.Resource) &&
		field(m.Subresource, info.Subresource) && field(m.Namespace, info.Namespace) &&
		field(m.Name, info.Name)
}

func field(want, got string) bool { return want == "" || want == got }

// String describes the match for rule names and failure messages.
func (m Match) String() string {
	var b strings.Builder
	b.WriteString(orAny(m.Verb, "any verb"))
	b.WriteString(" ")
	res := orAny(m.Resource, "any resource")
	if m.Subresource != "" {
		res += "/" + m.Subresource
	}
	b.WriteString(res)
	if m.Name != "" {
		b.WriteString(" " + m.Name)
	}
	b.WriteString(" in " + orAny(m.Namespace, "any namespace"))
	return b.String()
}

func orAny(v, dflt string) string {
	if v == "" {
		return dflt
	}
	return v
}

// Rule is one fault: what to match, what to do, and for how long. Times limits it to the next N
// matching requests (0: no limit) and For to a window that opens at the first matching request
// (0: no limit), so a scenario can say "the next two creates fail" or "creates fail for 2s" and
// then watch the gateway recover. The window opens at the first match, not at AddRule, because
// a window that could close before the gateway acts (a slow machine, a scheduling delay) would
// be a fault that never fired: the seed's no-op fault in another form.
type Rule struct {
	// Name identifies the rule in failure messages; empty means a description of Action and Match.
	Name   string
	Match  Match
	Action Action
	Times  int
	For    time.Duration
}

// Validate reports a rule that cannot work, so steps can reject a bad table row with a message
// before anything is put in force; AddRule refuses such a rule with the same error.
func (r Rule) Validate() error {
	if r.Action == nil {
		return errors.New("faultproxy: rule has no action")
	}
	if r.Times < 0 || r.For < 0 {
		return fmt.Errorf("faultproxy: rule %q: Times and For must not be negative", r.describe())
	}
	if v, ok := r.Action.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return fmt.Errorf("faultproxy: rule %q: %w", r.describe(), err)
		}
	}
	return nil
}

func (r Rule) describe() string {
	if r.Name != "" {
		return r.Name
	}
	action := "no action"
	if r.Action != nil {
		action = r.Action.String()
	}
	return action + " on " + r.Match.String()
}

// Hit is one request a rule applied to.
type Hit struct {
	Time        time.Time
	Method      string
	Verb        string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	Path        string
	Action      string
	// Code is the injected status, or the upstream's for Latency; 0 when no response was sent
	// (Reset, Drop, BlackHole).
	Code int
	// Err is set when the fault could not be injected; such a hit does not count as fired.
	Err string
}

// RuleHandle is a rule in force. Its methods are safe for concurrent use.
type RuleHandle struct {
	set     *ruleSet
	rule    Rule
	name    string
	expires time.Time // zero: no window, or not opened yet
	removed bool
	hits    []Hit
	changed chan struct{} // closed and replaced on every hit and on Remove
}

// Name is the rule's name as failure messages give it.
func (h *RuleHandle) Name() string { return h.name }

// Hits returns a copy of every request the rule applied to, in order.
func (h *RuleHandle) Hits() []Hit {
	h.set.mu.Lock()
	defer h.set.mu.Unlock()
	return slices.Clone(h.hits)
}

// Count is how many times the fault was injected.
func (h *RuleHandle) Count() int {
	h.set.mu.Lock()
	defer h.set.mu.Unlock()
	return h.firedLocked()
}

func (h *RuleHandle) firedLocked() int {
	n := 0
	for _, hit := range h.hits {
		if hit.Err == "" {
			n++
		}
	}
	return n
}

// Remove takes the rule out of force; its hits stay readable.
func (h *RuleHandle) Remove() {
	h.set.mu.Lock()
	defer h.set.mu.Unlock()
	h.removeLocked()
}

func (h *RuleHandle) removeLocked() {
	if !h.removed {
		h.removed = true
		h.notifyLocked()
	}
}

func (h *RuleHandle) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// inactiveLocked says why the rule no longer applies, or "" while it does.
func (h *RuleHandle) inactiveLocked(now time.Time) string {
	switch {
	case h.removed:
		return "it was removed"
	case h.rule.Times > 0 && len(h.hits) >= h.rule.Times:
		return fmt.Sprintf("its %d times are used up", h.rule.Times)
	case !h.expires.IsZero() && !now.Before(h.expires):
		return fmt.Sprintf("its %s window is over", h.rule.For)
	}
	return ""
}

// WaitFired waits until the fault has been injected n times. It fails, naming the rule and how
// often it fired, when ctx ends first, when the rule can no longer fire (used up, expired or
// removed), or when an injection failed: a fault step must not pass on a fault that never happened.
func (h *RuleHandle) WaitFired(ctx context.Context, n int) error {
	for {
		h.set.mu.Lock()
		fired := h.firedLocked()
		var injectErr string
		for _, hit := range h.hits {
			if hit.Err != "" {
				injectErr = hit.Err
				break
			}
		}
		why := h.inactiveLocked(h.set.now())
		changed, expires := h.changed, h.expires
		h.set.mu.Unlock()

		switch {
		case injectErr != "":
			return fmt.Errorf("faultproxy: rule %q failed to inject its fault (fired %d of %d times): %s", h.name, fired, n, injectErr)
		case fired >= n:
			return nil
		case why != "":
			return fmt.Errorf("faultproxy: rule %q fired %d of the %d times expected and will fire no more: %s", h.name, fired, n, why)
		}
		if err := waitChange(ctx, changed, expires); err != nil {
			return fmt.Errorf("faultproxy: rule %q fired %d of the %d times expected: %w", h.name, fired, n, err)
		}
	}
}

// waitChange blocks until the rule changes, its window closes or ctx ends.
func waitChange(ctx context.Context, changed <-chan struct{}, expires time.Time) error {
	var window <-chan time.Time
	if !expires.IsZero() {
		t := time.NewTimer(time.Until(expires))
		defer t.Stop()
		window = t.C
	}
	select {
	case <-changed:
	case <-window:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// ruleSet holds the rules in force, in insertion order, under one lock: matching and claiming a
// rule's next use happen together, so concurrent requests never overshoot Times.
type ruleSet struct {
	mu    sync.Mutex
	rules []*RuleHandle
	now   func() time.Time
}

func (s *ruleSet) add(r Rule) (*RuleHandle, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &RuleHandle{set: s, rule: r, name: r.describe(), changed: make(chan struct{})}
	s.rules = append(s.rules, h)
	return h, nil
}

// match finds the first rule in force that matches and records the hit on it. Rules that can no
// longer apply are dropped from the set on the way, so a long run does not slow down.
func (s *ruleSet) match(method string, info RequestInfo) (*RuleHandle, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	live := s.rules[:0]
	var found *RuleHandle
	idx := -1
	for _, h := range s.rules {
		if h.inactiveLocked(now) != "" {
			continue
		}
		if found == nil && h.rule.Match.matches(info) {
			found = h
			if h.rule.For > 0 && h.expires.IsZero() {
				h.expires = now.Add(h.rule.For) // the window opens at the first matching request
			}
			h.hits = append(h.hits, Hit{
				Time: now, Method: method, Verb: info.Verb, Resource: info.Resource,
				Subresource: info.Subresource, Namespace: info.Namespace, Name: info.Name,
				Path: info.Path, Action: h.rule.Action.String(),
			})
			idx = len(h.hits) - 1
			h.notifyLocked()
			if h.inactiveLocked(now) != "" {
				continue // that was its last use
			}
		}
		live = append(live, h)
	}
	clear(s.rules[len(live):])
	s.rules = live
	return found, idx
}

// settleCode records the status of a hit as its response header is written.
func (s *ruleSet) settleCode(h *RuleHandle, idx, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.hits[idx].Code = code
}

// settle records the outcome of a hit once the action is done.
func (s *ruleSet) settle(h *RuleHandle, idx, code int, injectErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.hits[idx].Code = code
	if injectErr != nil {
		h.hits[idx].Err = injectErr.Error()
		h.notifyLocked()
	}
}
