package steps

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
)

// Steps that make the Kubernetes API fail for real, through the fault proxy on the gateway's only
// path to it. Every fault is scoped to the scenario's namespace, and every scenario that injects
// one also asserts that it fired: a fault that never fires fails its scenario.
func registerFaultSteps(sc *godog.ScenarioContext) {
	const op = `(create a remediation request|update a remediation request's status|review a sender's token|review a sender's access)`
	sc.Step(`^the Kubernetes API will fail the next (\d+) attempts? to `+op+` with (.+)$`, failNext)
	sc.Step(`^the Kubernetes API will reject the next attempt to `+op+` with status (\d+)$`, rejectNext)
	sc.Step(`^the Kubernetes API will carry out the next attempt to `+op+` but lose its answer$`, loseAnswerNext)
	sc.Step(`^the Kubernetes API will throttle the next attempt to `+op+`, asking for a retry after (\d+) seconds?$`, throttleNext)
	sc.Step(`^the Kubernetes API fails every attempt to `+op+` with status (\d+)$`, failEvery)
	sc.Step(`^the Kubernetes API will fail attempts to `+op+` with status (\d+) for the next (\d+) seconds?$`, failFor)
	sc.Step(`^the Kubernetes API answers this namespace's requests after a delay of (\d+) (milliseconds|seconds?)$`, delayAll)
	sc.Step(`^the Kubernetes API recovers$`, recovers)
	sc.Step(`^the fault fired (?:exactly )?(\d+) times?$`, firedExactly)
	sc.Step(`^the fault fired at least (\d+) times?$`, firedAtLeast)
	sc.Step(`^the delay was applied to at least (\d+) requests?$`, firedAtLeast)
	sc.Step(`^the waits between the gateway's retries never shrank, and the last was at least twice the first$`, backoffGrew)
	sc.Step(`^the gateway waited at least (\d+) seconds? before trying again$`, waitedAtLeast)
	sc.Step(`^the gateway did not try again$`, didNotRetry)
	sc.Step(`^the gateway made no change to the cluster$`, noChange)
}

// faultLog is the scenario's part of the fault steps: the rules it injected, the 503s of an
// overloaded API that the suite redelivered for it (see send), and the evidence of the faults of
// its own control plane's container. Senders in goroutines add to it, hence the lock.
type faultLog struct {
	mu              sync.Mutex
	rules           []*faultproxy.RuleHandle
	overloads       []string
	containerFaults []string
}

func (f *faultLog) addRule(h *faultproxy.RuleHandle) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, h)
}

// lastRule is the fault that "the fault" refers to.
func (f *faultLog) lastRule() (*faultproxy.RuleHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rules) == 0 {
		return nil, errors.New("the scenario injected no fault: a step about 'the fault' needs a fault step before it")
	}
	return f.rules[len(f.rules)-1], nil
}

func (f *faultLog) allRules() []*faultproxy.RuleHandle {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*faultproxy.RuleHandle(nil), f.rules...)
}

// injected reports whether the scenario injected any fault.
func (f *faultLog) injected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.rules) > 0
}

// allFired is the safety net under every fault step: a fault that never met the gateway means
// the scenario proved nothing about it, so the scenario fails.
func (f *faultLog) allFired() error {
	var errs []error
	for _, r := range f.allRules() {
		if r.Count() == 0 {
			errs = append(errs, fmt.Errorf("the fault %q never fired: the scenario did not exercise what it claims", r.Name()))
		}
	}
	return errors.Join(errs...)
}

func (f *faultLog) addOverload(note string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.overloads = append(f.overloads, note)
}

// overloadLog lists the 503s of an overloaded API that the suite redelivered, one per line.
func (f *faultLog) overloadLog() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.overloads, "\n")
}

func (f *faultLog) addContainerFault(evidence string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containerFaults = append(f.containerFaults, evidence)
}

// containerFaultLog lists the evidence of the control plane container's faults, one per line.
func (f *faultLog) containerFaultLog() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.containerFaults, "\n")
}

// proxy is the fault proxy on this scenario's gateway's path to the API server.
func (st *scenario) proxy() (faultDriver, error) { return st.gw.Faults() }

// addRule injects a fault, registers its removal, and makes it the one "the fault" refers to.
func (st *scenario) addRule(r faultproxy.Rule) (*faultproxy.RuleHandle, error) {
	p, err := st.proxy()
	if err != nil {
		return nil, err
	}
	h, err := p.AddRule(r)
	if err != nil {
		return nil, err
	}
	st.undo.Push("the fault "+h.Name(), func(context.Context) error { h.Remove(); return nil })
	st.faults.addRule(h)
	return h, nil
}

// lastRule is the fault that "the fault" refers to.
func (st *scenario) lastRule() (*faultproxy.RuleHandle, error) { return st.faults.lastRule() }

// match turns an operation of the Gherkin into the proxy's match. Remediation requests are
// scoped to the scenario's namespace; access reviews are cluster-scoped, so a scenario that fails
// them runs on a dedicated gateway, whose proxy carries only its own requests.
func (st *scenario) match(op string) faultproxy.Match {
	switch op {
	case "review a sender's token":
		return faultproxy.Match{Verb: faultproxy.VerbCreate, Resource: "tokenreviews"}
	case "review a sender's access":
		return faultproxy.Match{Verb: faultproxy.VerbCreate, Resource: "subjectaccessreviews"}
	}
	m := faultproxy.Match{Verb: faultproxy.VerbCreate, Resource: "remediationrequests", Namespace: st.ns}
	if strings.HasPrefix(op, "update") {
		m.Verb, m.Subresource = faultproxy.VerbUpdate, "status"
	}
	return m
}

// failure turns the Gherkin's words for a transient failure into a proxy action.
func failure(words string) (faultproxy.Action, error) {
	switch words {
	case "a reset connection":
		return faultproxy.Reset{}, nil
	case "a dropped connection":
		return faultproxy.Drop{}, nil
	case "no answer at all":
		return faultproxy.BlackHole{}, nil
	}
	if code, ok := strings.CutPrefix(words, "status "); ok {
		n, err := strconv.Atoi(code)
		if err != nil {
			return nil, fmt.Errorf("cannot read the status in %q", words)
		}
		return faultproxy.Status{Code: n}, nil
	}
	return nil, fmt.Errorf("unknown failure %q: use 'status NNN', 'a reset connection', 'a dropped connection' or 'no answer at all'", words)
}

func (st *scenario) inject(r faultproxy.Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Match.Namespace == "" && !st.placement.ownGateway() {
		return fmt.Errorf("the fault %q is not scoped to the scenario's namespace, so it would disturb other scenarios on the shared gateway: start with 'Given a dedicated gateway with its own path to the Kubernetes API'", r.Match)
	}
	_, err := st.addRule(r)
	return err
}

func failNext(ctx context.Context, n int, op, words string) error {
	st := state(ctx)
	action, err := failure(words)
	if err != nil {
		return err
	}
	return st.inject(faultproxy.Rule{Match: st.match(op), Action: action, Times: n})
}

func rejectNext(ctx context.Context, op string, code int) error {
	st := state(ctx)
	return st.inject(faultproxy.Rule{Match: st.match(op), Action: faultproxy.Status{Code: code}, Times: 1})
}

// loseAnswerNext lets the API server carry out the call and then drops the connection before its
// answer reaches the gateway (faultproxy.LostAnswer): the gateway sees EOF for a write that landed.
func loseAnswerNext(ctx context.Context, op string) error {
	st := state(ctx)
	return st.inject(faultproxy.Rule{Match: st.match(op), Action: faultproxy.LostAnswer{}, Times: 1})
}

func throttleNext(ctx context.Context, op string, seconds int) error {
	st := state(ctx)
	return st.inject(faultproxy.Rule{Match: st.match(op), Action: faultproxy.Status{Code: 429, RetryAfter: time.Duration(seconds) * time.Second}, Times: 1})
}

func failEvery(ctx context.Context, op string, code int) error {
	st := state(ctx)
	return st.inject(faultproxy.Rule{Match: st.match(op), Action: faultproxy.Status{Code: code}})
}

func failFor(ctx context.Context, op string, code, seconds int) error {
	st := state(ctx)
	return st.inject(faultproxy.Rule{Match: st.match(op), Action: faultproxy.Status{Code: code}, For: time.Duration(seconds) * time.Second})
}

func delayAll(ctx context.Context, n int, unit string) error {
	st := state(ctx)
	d := time.Duration(n) * time.Millisecond
	if strings.HasPrefix(unit, "second") {
		d = time.Duration(n) * time.Second
	}
	return st.inject(faultproxy.Rule{Match: faultproxy.Match{Namespace: st.ns}, Action: faultproxy.Latency{Delay: d}})
}

func recovers(ctx context.Context) error {
	st := state(ctx)
	rules := st.faults.allRules()
	if len(rules) == 0 {
		return fmt.Errorf("the API cannot recover: no fault was injected")
	}
	for _, r := range rules {
		if r.Count() == 0 {
			return fmt.Errorf("the fault %q never fired before the API recovered", r.Name())
		}
		r.Remove()
	}
	return nil
}

func firedExactly(ctx context.Context, n int) error {
	r, err := state(ctx).lastRule()
	if err != nil {
		return err
	}
	if got := r.Count(); got != n {
		return fmt.Errorf("expected the fault %q to fire %d times, it fired %d times:\n%s", r.Name(), n, got, hits(r))
	}
	return nil
}

func firedAtLeast(ctx context.Context, n int) error {
	r, err := state(ctx).lastRule()
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, state(ctx).bounds().Eventually)
	defer cancel()
	if err := r.WaitFired(wctx, n); err != nil {
		return fmt.Errorf("expected the fault to fire at least %d times: %w", n, err)
	}
	return nil
}

func hits(r *faultproxy.RuleHandle) string {
	var b strings.Builder
	for _, h := range r.Hits() {
		fmt.Fprintf(&b, "  %s %s %s -> %s %d\n", h.Time.Format("15:04:05.000"), h.Method, h.Path, h.Action, h.Code)
	}
	return b.String()
}

// createAttempts are the times of the gateway's attempts to create in the scenario's namespace:
// the failed ones the scenario's fault recorded, then the one after them that went through.
func (st *scenario) createAttempts() ([]time.Time, error) {
	r, err := st.lastRule()
	if err != nil {
		return nil, err
	}
	p, err := st.proxy()
	if err != nil {
		return nil, err
	}
	const op = "create"
	m := st.match(op)
	var times []time.Time
	for _, rec := range p.Requests(st.ns) {
		if rec.Verb == m.Verb && rec.Resource == m.Resource && rec.Subresource == m.Subresource {
			times = append(times, rec.Time)
		}
	}
	if len(times) < r.Count()+1 {
		return nil, fmt.Errorf("expected %d failed attempts and a successful one, the proxy saw %d attempts:\n%s", r.Count(), len(times), hits(r))
	}
	return times, nil
}

// backoffGrew checks the waits between the failed attempts against the retry policy the contract
// states: exponential backoff with "equal" jitter, so the wait after the i-th failure lies in the
// upper half of its step, step = min(max backoff, initial backoff * 2^(i-1)). The gaps the proxy
// sees also hold the failed calls themselves, so each may exceed its step by a margin; none may
// be shorter than half its step. Together: the waits never shrink, and grow as promised.
func backoffGrew(ctx context.Context) error {
	st := state(ctx)
	times, err := st.createAttempts()
	if err != nil {
		return err
	}
	var gaps []time.Duration
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	cfg := st.gatewayConfig()
	for i, gap := range gaps {
		step := cfg.BackoffCeiling(i + 1)
		if gap < step/2 || gap > step+retryTimingMargin {
			return fmt.Errorf("the wait after failure %d was %s; the retry policy waits between %s and %s (plus %s for the call): waits %v",
				i+1, gap.Round(time.Millisecond), step/2, step, retryTimingMargin, gaps)
		}
	}
	// Exponential backoff with jitter over half the step: each wait is at least the previous
	// step's ceiling, so the waits never shrink. A timer can only fire late, never early, so a
	// gap longer than its step is scheduling delay on a loaded machine: it is allowed for when
	// the next gap is compared with it (with 15ms, or a fifth of the gap, of noise besides).
	for i := 1; i < len(gaps); i++ {
		late := max(0, gaps[i-1]-cfg.BackoffCeiling(i))
		if gaps[i] < gaps[i-1]-late-max(15*time.Millisecond, gaps[i-1]/5) {
			return fmt.Errorf("expected growing waits between retries, got %v", gaps)
		}
	}
	// The last wait is at least twice the longest the first may be: the backoff grew.
	if len(gaps) < 3 || gaps[len(gaps)-1] < 2*cfg.BackoffCeiling(1) {
		return fmt.Errorf("expected the last wait to be at least twice the first step (%s), got %v", cfg.BackoffCeiling(1), gaps)
	}
	return nil
}

// waitedAtLeast checks that the gateway honoured the API's Retry-After as the minimum wait, and
// waited no longer than that or its own first backoff step, whichever is longer (plus the call).
func waitedAtLeast(ctx context.Context, seconds int) error {
	st := state(ctx)
	times, err := st.createAttempts()
	if err != nil {
		return err
	}
	asked := time.Duration(seconds) * time.Second
	gap := times[1].Sub(times[0])
	if gap < asked {
		return fmt.Errorf("the API asked for a retry after %ds, but the gateway tried again after %s", seconds, gap)
	}
	if bound := max(asked, st.gatewayConfig().BackoffCeiling(1)) + retryTimingMargin; gap > bound {
		return fmt.Errorf("the API asked for a retry after %ds, but the gateway waited %s: longer than asked (bound %s)", seconds, gap.Round(time.Millisecond), bound)
	}
	return nil
}

func didNotRetry(ctx context.Context) error {
	st := state(ctx)
	p, err := st.proxy()
	if err != nil {
		return err
	}
	return st.bounds().Hold(ctx, "the gateway makes exactly one create attempt", func(context.Context) (bool, string, error) {
		n := 0
		for _, rec := range p.Requests(st.ns) {
			if rec.Verb == faultproxy.VerbCreate {
				n++
			}
		}
		return n == 1, fmt.Sprintf("%d create attempts", n), nil
	})
}

// noChange checks the proxy's record of the scenario's namespace for writes, and the cluster for
// objects. In contract mode there is no proxy, and only the cluster is checked.
func noChange(ctx context.Context) error {
	st := state(ctx)
	p, err := st.proxy()
	if err != nil {
		return holdsExactly(ctx, "namespace", 0)
	}
	for _, rec := range p.Requests(st.ns) {
		switch rec.Verb {
		case "get", "list", "watch":
		default:
			return fmt.Errorf("expected no write to the cluster, but the gateway sent %s", rec)
		}
	}
	return holdsExactly(ctx, "namespace", 0)
}
