package steps

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The replacement of a running gateway (a rollout) while senders send: registered with the
// deployment steps (registerDeploymentSteps).

// replacementPace is how often each sender sends a new alert while the gateway is replaced:
// several alerts fall into each phase of the replacement (before SIGTERM, during the drain,
// while nothing listens, after the new gateway is ready).
const replacementPace = 250 * time.Millisecond

// replacementKey holds, in the context of the steps that follow, what the direct sender sent
// while the gateway was replaced.
type replacementKey struct{}

// directSender sends a new alert every replacementPace straight to the gateway, one per request,
// and plays Alertmanager's redelivery itself: a refused alert (a 5xx, or no answer: nothing
// listens) is sent again on the next tick until it is answered 2xx. Unlike Alertmanager, which
// resends a group's firing alerts with every notification, it never sends an acknowledged alert
// again, so an alert acknowledged but not stored stays lost, and the check sees it.
type directSender struct {
	namespace string        // where its alerts go: not the Alertmanager's, whose check allows nothing else
	done      chan struct{} // closed when it stops
	mu        sync.Mutex
	acked     []string // alert names answered 2xx, in order
	refusals  int
	sendErr   error
}

// startDirect starts a direct sender to namespace, until stop is closed and its last alert is
// acknowledged.
func startDirect(ctx context.Context, st *scenario, namespace string, stop <-chan struct{}) *directSender {
	d := &directSender{namespace: namespace, done: make(chan struct{})}
	go func() { defer close(d.done); d.run(ctx, st, stop) }()
	return d
}

func (d *directSender) run(ctx context.Context, st *scenario, stop <-chan struct{}) {
	tick := time.NewTicker(replacementPace)
	defer tick.Stop()
	var pending *sentRequest
	var pendingName string
	for i := 1; ; {
		if pending == nil {
			a, err := st.newAlert(fmt.Sprintf("Direct%03d", i), "warning", "pod", "api-7f9c")
			if err != nil {
				d.fail(err)
				return
			}
			a.namespace = d.namespace
			req := jsonRequest(alertPath, notification([]alert{a}, time.Now()))
			pending, pendingName = &req, a.name
			i++
		}
		r, err := st.sendOnce(ctx, *pending)
		if d.record(pendingName, r, err) {
			pending = nil
		}
		if d.failed() {
			return
		}
		select {
		case <-stop:
			if pending == nil {
				return
			}
		case <-ctx.Done():
			d.fail(ctx.Err())
			return
		case <-tick.C:
		}
	}
}

// record counts the answer to the alert name: acknowledged (true), refused to be redelivered,
// or an answer a replacement never gives, which ends the sender.
func (d *directSender) record(name string, r *response, err error) (acked bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err == nil && r.code >= 200 && r.code < 300:
		d.acked = append(d.acked, name)
		return true
	case err == nil && r.code < 500:
		d.sendErr = fmt.Errorf("%s was answered %s: a replacement refuses with 5xx or not at all", name, r)
	default:
		d.refusals++ // redelivered on the next tick
	}
	return false
}

func (d *directSender) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sendErr = err
}

func (d *directSender) failed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sendErr != nil
}

func (d *directSender) ackedCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.acked)
}

// result is what the direct sender had acknowledged and refused, and why it stopped early.
func (d *directSender) result() (acked []string, refusals int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.acked...), d.refusals, d.sendErr
}

// awaitLast waits, within the request bound, for the direct sender's last refused alert to be
// accepted once it was told to stop.
func (d *directSender) awaitLast(ctx context.Context, st *scenario) error {
	return st.bounds().Until(ctx, st.bounds().Request, "the direct sender's last alert to be accepted", func(context.Context) (bool, string, error) {
		select {
		case <-d.done:
			return true, "", nil
		default:
			return false, fmt.Sprintf("%d acknowledged", d.ackedCount()), nil
		}
	})
}

// amFiring fires a new alert through the scenario's Alertmanager every replacementPace, until
// stop is closed or a fire fails.
type amFiring struct {
	done  chan struct{} // closed when it stops
	mu    sync.Mutex
	fired int
	err   error
}

func startFiring(ctx context.Context, st *scenario, stop <-chan struct{}) *amFiring {
	f := &amFiring{done: make(chan struct{})}
	go func() { defer close(f.done); f.run(ctx, st, stop) }()
	return f
}

func (f *amFiring) run(ctx context.Context, st *scenario, stop <-chan struct{}) {
	tick := time.NewTicker(replacementPace)
	defer tick.Stop()
	for i := 1; ; i++ {
		a, err := st.newAlert(fmt.Sprintf("Replacement%03d", i), "warning", "pod", "api-7f9c")
		if err == nil {
			err = st.fire(ctx, []alert{a})
		}
		if !f.record(i, err) {
			return
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// record counts alert i as fired, or keeps why it was not (false: the firing stops).
func (f *amFiring) record(i int, err error) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.err = fmt.Errorf("firing alert %d through Alertmanager: %w", i, err)
		return false
	}
	f.fired++
	return true
}

func (f *amFiring) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired
}

func (f *amFiring) result() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired, f.err
}

// replacedWhileSending keeps two senders sending from before the gateway is replaced until after
// its successor is ready: the real Alertmanager (a new alert fired every replacementPace) and a
// direct sender (directSender). The runtime stops the running gateway (SIGTERM, then its grace
// period) and starts a new one from the same configuration on the same address, as a Service
// with one ready endpoint gives. The direct sender's last refused alert is redelivered until it is
// accepted, bounded by the suite's request bound.
func replacedWhileSending(ctx context.Context) (context.Context, error) {
	st := state(ctx)
	gw, err := st.dedicated()
	if err != nil {
		return ctx, err
	}
	if st.second == "" {
		return ctx, fmt.Errorf("the direct sender sends to the scenario's second namespace: add 'And a second namespace for this scenario'")
	}
	stop := make(chan struct{})
	firing := startFiring(ctx, st, stop)
	direct := startDirect(ctx, st, st.second, stop)
	err = replaceBetween(ctx, st, gw, firing, direct)
	close(stop)
	<-firing.done
	doneErr := direct.awaitLast(ctx, st)
	fired, fireErr := firing.result()
	acked, refusals, sendErr := direct.result()
	for _, e := range []error{err, fireErr, sendErr, doneErr} {
		if e != nil {
			return ctx, e
		}
	}
	fmt.Printf("e2e: scenario %q: during the replacement Alertmanager fired %d alerts; the direct sender had %d acknowledged and %d refusals redelivered\n",
		st.name, fired, len(acked), refusals)
	return context.WithValue(ctx, replacementKey{}, acked), nil
}

// replaceBetween replaces the gateway once both senders are under way, and waits for both to go
// on past the replacement.
func replaceBetween(ctx context.Context, st *scenario, gw gatewayDriver, firing *amFiring, direct *directSender) error {
	err := bothSent(ctx, st, firing, direct, 3)
	if err == nil {
		err = gw.Restart(ctx, false)
	}
	if err == nil {
		err = bothSent(ctx, st, firing, direct, max(firing.count(), direct.ackedCount())+3)
	}
	return err
}

// bothSent waits until Alertmanager has fired n alerts and the direct sender has had n
// acknowledged; either stopping first fails it.
func bothSent(ctx context.Context, st *scenario, firing *amFiring, direct *directSender, n int) error {
	return st.bounds().Await(ctx, fmt.Sprintf("%d alerts fired through Alertmanager and %d acknowledged to the direct sender", n, n), func(context.Context) (bool, string, error) {
		select {
		case <-firing.done:
			return false, "", fmt.Errorf("the Alertmanager sender stopped after %d alerts", firing.count())
		case <-direct.done:
			return false, "", fmt.Errorf("the direct sender stopped after %d acknowledged alerts", direct.ackedCount())
		default:
		}
		return firing.count() >= n && direct.ackedCount() >= n, fmt.Sprintf("%d fired, %d acknowledged", firing.count(), direct.ackedCount()), nil
	})
}

// directStoredOnce checks from the cluster that every alert acknowledged (2xx) to the direct
// sender during the replacement has exactly one remediation request.
func directStoredOnce(ctx context.Context) error {
	st := state(ctx)
	acked, ok := ctx.Value(replacementKey{}).([]string)
	if !ok {
		return fmt.Errorf("no replacement ran: the scenario must first replace the gateway while senders send")
	}
	return st.bounds().Await(ctx, fmt.Sprintf("each of the %d alerts acknowledged to the direct sender to be stored once", len(acked)), func(ctx context.Context) (bool, string, error) {
		second := st.second
		items, err := st.list(ctx, second)
		if err != nil {
			return false, "", err
		}
		byName := map[string]int{}
		for _, rr := range items {
			byName[rr.Spec.SignalName]++
		}
		if len(items) != len(acked) {
			return false, "", fmt.Errorf("namespace %s holds %d remediation requests for %d alerts acknowledged to the direct sender", second, len(items), len(acked))
		}
		var missing []string
		for _, name := range acked {
			switch byName[name] {
			case 0:
				missing = append(missing, name)
			case 1:
			default:
				return false, "", fmt.Errorf("%s, acknowledged once, has %d remediation requests", name, byName[name])
			}
		}
		if len(missing) > 0 {
			return false, fmt.Sprintf("acknowledged but not stored: %v", missing), nil
		}
		return true, "", nil
	})
}
