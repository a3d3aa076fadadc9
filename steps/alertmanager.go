package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// am is the scenario's Alertmanager and what it was told.
type am struct {
	*alertmanager.Alertmanager
	groupInterval time.Duration
	fired         map[string]alertmanager.Alert // by alertname, for resolving
}

func startAlertmanager(ctx context.Context, resolved string) error {
	return state(ctx).startAM(ctx, resolved != "", 0)
}

func startAlertmanagerInterval(ctx context.Context, seconds int) error {
	return state(ctx).startAM(ctx, false, time.Duration(seconds)*time.Second)
}

// startAM starts the scenario's Alertmanager, grouping by namespace (so that the scenario's
// alerts of one push are one notification), with the scenario's sender token in a file, as a
// deployment mounts it (http_config.authorization.credentials_file), and the gateway's CA.
func (st *scenario) startAM(ctx context.Context, sendResolved bool, groupInterval time.Duration) error {
	if st.am != nil {
		return fmt.Errorf("the scenario already has an Alertmanager")
	}
	if st.h.AlertmanagerBinary == "" {
		return fmt.Errorf("the harness built no Alertmanager")
	}
	dir, err := os.MkdirTemp("", "e2e-alertmanager-")
	if err != nil {
		return fmt.Errorf("the Alertmanager's work directory: %w", err)
	}
	st.undo.Push("the Alertmanager's work directory", func(context.Context) error { return os.RemoveAll(dir) })
	auth, none := st.authorization(sentRequest{})
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if none || !ok {
		return fmt.Errorf("Alertmanager sends a bearer token from a file; the scenario's sender has none")
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		return fmt.Errorf("writing the sender's token for Alertmanager: %w", err)
	}
	// The gateway serves HTTPS: Alertmanager verifies it with the CA of its certificate, from a
	// file as a deployment mounts it (http_config.tls_config.ca_file); none for a deployed gateway
	// without E2E_GATEWAY_CA, whose certificate the system's roots verify.
	caFile := ""
	if ca := st.h.GatewayCA(); len(ca) > 0 {
		caFile = filepath.Join(dir, "gateway-ca.crt")
		if err := os.WriteFile(caFile, ca, 0o644); err != nil {
			return fmt.Errorf("writing the gateway's CA for Alertmanager: %w", err)
		}
	}
	if groupInterval == 0 {
		groupInterval = time.Second
	}
	a, err := alertmanager.Start(ctx, alertmanager.Options{
		Binary:          st.h.AlertmanagerBinary,
		ReceiverURL:     st.gw.URL() + alertPath,
		BearerTokenFile: tokenFile,
		CAFile:          caFile,
		GroupBy:         []string{"namespace"},
		GroupInterval:   groupInterval,
		SendResolved:    sendResolved,
		WorkDir:         dir,
		Bounds:          st.bounds(),
	})
	if err != nil {
		return err
	}
	st.undo.Push("the Alertmanager", func(context.Context) error { return a.Stop() })
	st.mu.Lock()
	st.am = &am{Alertmanager: a, groupInterval: groupInterval, fired: map[string]alertmanager.Alert{}}
	st.mu.Unlock()
	return nil
}

func (st *scenario) alertmanager() (*am, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.am == nil {
		return nil, fmt.Errorf("the scenario has no Alertmanager: 'Given an Alertmanager that sends to the gateway' must come first")
	}
	return st.am, nil
}

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
	st.mu.Lock()
	for _, a := range alerts {
		p := toAMAlert(a, now)
		m.fired[a.name] = p
		push = append(push, p)
	}
	st.mu.Unlock()
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
	st.mu.Lock()
	a, ok := m.fired[name]
	st.mu.Unlock()
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
	st.mu.Lock()
	fired := make(map[string]alertmanager.Alert, len(m.fired))
	for k, v := range m.fired {
		fired[k] = v
	}
	st.mu.Unlock()
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
