package steps

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/support/alertmanager"
)

// Steps that put the gateway's real sender in front of it: a Prometheus Alertmanager of the
// scenario's own (its own port, data directory and configuration), routed to the scenario's
// gateway with the scenario's sender token, and fed through its own API (/api/v2/alerts) exactly
// as Prometheus feeds it. Its grouping, batching and redelivery are Alertmanager's, not the
// suite's imitation of them.
func registerAlertmanagerSteps(sc *godog.ScenarioContext) {
	sc.Step(`^an Alertmanager that sends to the gateway( and also sends resolutions)?$`, startAlertmanager)
	sc.Step(`^an Alertmanager that sends to the gateway with a group interval of (\d+) seconds$`, startAlertmanagerInterval)
	sc.Step(`^Prometheus fires these alerts through Alertmanager:$`, fireThrough)
	sc.Step(`^Prometheus fires "([^"]+)" with severity "([^"]*)" for `+targetPattern(true)+` through Alertmanager$`, fireOneThrough)
	sc.Step(`^Prometheus resolves "([^"]+)" through Alertmanager$`, resolveThrough)
	sc.Step(`^Alertmanager has delivered (\d+) notifications?(?: in all)?$`, amDelivered)
	sc.Step(`^Alertmanager has delivered (\d+) notifications? without a single failed request$`, amDeliveredClean)
	sc.Step(`^Alertmanager has retried its notification at least (\d+) times$`, amRetried)
	sc.Step(`^every alert fired through Alertmanager has exactly one remediation request$`, storedExactlyOnce)
	sc.Step(`^the gateway restarts between two notifications$`, restartGateway)
	sc.Step(`^the gateway is killed and restarts between two notifications$`, killGateway)
}

// am is the scenario's Alertmanager and what it was told. The replacement steps fire alerts
// through it from a goroutine of their own, hence the lock.
type am struct {
	*alertmanager.Alertmanager
	groupInterval time.Duration

	mu    sync.Mutex
	fired map[string]alertmanager.Alert // by alertname, for resolving
}

// record remembers alerts as fired.
func (m *am) record(alerts []alertmanager.Alert) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range alerts {
		m.fired[a.Labels["alertname"]] = a
	}
}

// firedAlert is the alert fired under name, if any.
func (m *am) firedAlert(name string) (alertmanager.Alert, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.fired[name]
	return a, ok
}

// allFired is every alert fired, by alertname.
func (m *am) allFired() map[string]alertmanager.Alert {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.fired)
}

func (s *senders) hasAlertmanager() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.am != nil
}

func (s *senders) setAlertmanager(m *am) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.am = m
}

func (s *senders) alertmanager() (*am, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.am == nil {
		return nil, fmt.Errorf("the scenario has no Alertmanager: 'Given an Alertmanager that sends to the gateway' must come first")
	}
	return s.am, nil
}

func startAlertmanager(ctx context.Context, resolved string) error {
	return state(ctx).startAM(ctx, resolved != "", 0)
}

func startAlertmanagerInterval(ctx context.Context, seconds int) error {
	return state(ctx).startAM(ctx, false, time.Duration(seconds)*time.Second)
}

// startAM starts the scenario's Alertmanager, grouping by namespace (so that the scenario's
// alerts of one push are one notification), sending to the scenario's gateway with the
// scenario's sender token, which the run gives it in a file, as a deployment mounts it.
func (st *scenario) startAM(ctx context.Context, sendResolved bool, groupInterval time.Duration) error {
	if st.senders.hasAlertmanager() {
		return fmt.Errorf("the scenario already has an Alertmanager")
	}
	auth, none := st.authorization(sentRequest{})
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if none || !ok {
		return fmt.Errorf("Alertmanager sends a bearer token from a file; the scenario's sender has none")
	}
	if groupInterval == 0 {
		groupInterval = time.Second
	}
	a, err := st.run.StartAlertmanager(ctx, token, alertmanager.Options{
		ReceiverURL:   st.gw.URL() + alertPath,
		GroupBy:       []string{"namespace"},
		GroupInterval: groupInterval,
		SendResolved:  sendResolved,
	}, &st.undo)
	if err != nil {
		return err
	}
	st.senders.setAlertmanager(&am{Alertmanager: a, groupInterval: groupInterval, fired: map[string]alertmanager.Alert{}})
	return nil
}

func (st *scenario) alertmanager() (*am, error) { return st.senders.alertmanager() }

// toAMAlert is the alert as Prometheus posts it: the labels the suite's webhooks carry, starting
// now (so that Alertmanager's group wait, not its catch-up, decides the first notification).
func toAMAlert(a alert, now time.Time) alertmanager.Alert {
	labels := map[string]string{"alertname": a.name, a.kind: a.target}
	if a.severity != "" {
		labels["severity"] = a.severity
	}
	if a.namespace != "" {
		labels["namespace"] = a.namespace
	}
	return alertmanager.Alert{
		Labels:      labels,
		Annotations: map[string]string{"summary": a.name + " on " + a.target},
		StartsAt:    now,
	}
}

func (st *scenario) fire(ctx context.Context, alerts []alert) error {
	m, err := st.alertmanager()
	if err != nil {
		return err
	}
	now := time.Now()
	var push []alertmanager.Alert
	for _, a := range alerts {
		push = append(push, toAMAlert(a, now))
	}
	m.record(push)
	return m.Push(ctx, push)
}

func fireThrough(ctx context.Context, table *godog.Table) error {
	st := state(ctx)
	alerts, err := batchFromTable(st, table)
	if err != nil {
		return err
	}
	return st.fire(ctx, alerts)
}

func fireOneThrough(ctx context.Context, name, severity, kind, target string) error {
	st := state(ctx)
	a, err := st.newAlert(name, severity, kind, target)
	if err != nil {
		return err
	}
	return st.fire(ctx, []alert{a})
}

func resolveThrough(ctx context.Context, name string) error {
	st := state(ctx)
	m, err := st.alertmanager()
	if err != nil {
		return err
	}
	a, ok := m.firedAlert(name)
	if !ok {
		return fmt.Errorf("%q was not fired through the Alertmanager, so it cannot be resolved", name)
	}
	return m.Push(ctx, []alertmanager.Alert{a.Resolve(time.Now())})
}

// delivered waits until Alertmanager's successful notifications reach n, and checks they do not
// go beyond it.
func (st *scenario) delivered(ctx context.Context, n int) (alertmanager.Delivery, error) {
	m, err := st.alertmanager()
	if err != nil {
		return alertmanager.Delivery{}, err
	}
	var d alertmanager.Delivery
	err = st.bounds().Await(ctx, fmt.Sprintf("Alertmanager to deliver %d notifications", n), func(ctx context.Context) (bool, string, error) {
		if d, err = m.Delivery(ctx); err != nil {
			return false, "", err
		}
		return d.Delivered() >= n, d.String(), nil
	})
	if err != nil {
		return d, fmt.Errorf("%w; Alertmanager's log ends:\n%s", err, m.Log(10))
	}
	if ok := d.Delivered(); ok > n {
		return d, fmt.Errorf("expected %d delivered notifications, Alertmanager delivered %d: %s", n, ok, d)
	}
	return d, nil
}

func amDelivered(ctx context.Context, n int) error {
	_, err := state(ctx).delivered(ctx, n)
	return err
}

// amDeliveredClean is the proof that the gateway absorbed what went wrong inside it: every
// request of every notification succeeded at the first try, so nothing waited for a group
// interval or a redelivery.
func amDeliveredClean(ctx context.Context, n int) error {
	d, err := state(ctx).delivered(ctx, n)
	if err != nil {
		return err
	}
	if d.RequestsFailed > 0 || d.NotificationsFailed > 0 {
		return fmt.Errorf("expected every request to succeed at once, but Alertmanager saw %s", d)
	}
	return nil
}

// amRetried waits until Alertmanager has had at least n failed requests: redeliveries of a
// notification the gateway refused with 503.
func amRetried(ctx context.Context, n int) error {
	st := state(ctx)
	m, err := st.alertmanager()
	if err != nil {
		return err
	}
	return st.bounds().Await(ctx, fmt.Sprintf("Alertmanager to retry %d times", n), func(ctx context.Context) (bool, string, error) {
		d, err := m.Delivery(ctx)
		if err != nil {
			return false, "", err
		}
		return d.RequestsFailed >= n, d.String(), nil
	})
}

func restartGateway(ctx context.Context) error { return state(ctx).restart(ctx, false) }
func killGateway(ctx context.Context) error    { return state(ctx).restart(ctx, true) }

func (st *scenario) restart(ctx context.Context, kill bool) error {
	gw, err := st.dedicated()
	if err != nil {
		return err
	}
	return gw.Restart(ctx, kill)
}

// storedExactlyOnce checks, from the cluster, that every alert fired through the Alertmanager has
// exactly one remediation request in the scenario's namespace, with its first occurrence
// recorded, and that there is nothing else: nothing lost, nothing doubled. How often each was
// counted is for the scenario to say (Alertmanager resends a group's firing alerts with every
// notification of the group). It waits (bounded) for the last ones to land.
func storedExactlyOnce(ctx context.Context) error {
	st := state(ctx)
	m, err := st.alertmanager()
	if err != nil {
		return err
	}
	fired := m.allFired()
	return st.bounds().Await(ctx, fmt.Sprintf("each of the %d alerts fired through Alertmanager to be stored once", len(fired)), func(ctx context.Context) (bool, string, error) {
		items, err := st.list(ctx, st.ns)
		if err != nil {
			return false, "", err
		}
		for name, a := range fired {
			var found []string
			for _, rr := range items {
				t := rr.Spec.TargetResource
				if rr.Spec.SignalName == name && a.Labels[strings.ToLower(t.Kind)] == t.Name {
					found = append(found, rr.Name)
				}
			}
			switch {
			case len(found) == 0:
				return false, fmt.Sprintf("no remediation request yet for %s; have %s", name, summary(items)), nil
			case len(found) > 1:
				return false, "", fmt.Errorf("alert %s is stored %d times: %v", name, len(found), found)
			}
		}
		for _, rr := range items {
			if occurrenceCount(&rr) == 0 {
				return false, fmt.Sprintf("%s has no occurrence recorded yet", rr.Name), nil
			}
		}
		if len(items) != len(fired) {
			return false, "", fmt.Errorf("expected %d remediation requests, found %d: %s", len(fired), len(items), summary(items))
		}
		return true, "", nil
	})
}
