package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// Steps about "it": the remediation request the previous step found.
func registerRecordSteps(sc *godog.ScenarioContext) {
	sc.Step(`^its fingerprint is the SHA-256 of the alert's name, namespace and target, and matches the response$`, itsFingerprint)
	sc.Step(`^it has severity "([^"]+)", signal type "([^"]+)" and target type "([^"]+)"$`, itsKinds)
	sc.Step(`^it targets a (\w+) named "([^"]+)" in this namespace$`, itTargetsHere)
	sc.Step(`^it targets a (\w+) named "([^"]+)" with no namespace$`, itTargetsCluster)
	sc.Step(`^it records when the alert fired and when it was received$`, itsTimes)
	sc.Step(`^it is labelled with its fingerprint, severity, signal type and the gateway as manager$`, itsLabels)
	sc.Step(`^it keeps the original alert$`, itsPayload)
	sc.Step(`^it is labelled with the namespace the alert came from$`, itsOrigin)
}

func (st *scenario) it() (*v1alpha1.RemediationRequest, error) {
	if st.current == nil {
		return nil, fmt.Errorf("no remediation request was found before: a step must find one first")
	}
	return st.current, nil
}

func itsFingerprint(ctx context.Context) error {
	st := state(ctx)
	rr, err := st.it()
	if err != nil {
		return err
	}
	fp := rr.Spec.SignalFingerprint
	if !hex64.MatchString(fp) {
		return fmt.Errorf("fingerprint %q is not 64 lowercase hex characters", fp)
	}
	// The documented identity (docs/design.md): sha256("name:namespace:kind:target").
	t := rr.Spec.TargetResource
	sum := sha256.Sum256([]byte(rr.Spec.SignalName + ":" + st.ns + ":" + t.Kind + ":" + t.Name))
	if want := hex.EncodeToString(sum[:]); fp != want {
		return fmt.Errorf("fingerprint %s is not the SHA-256 of %q (%s)", fp, rr.Spec.SignalName+":"+st.ns+":"+t.Kind+":"+t.Name, want)
	}
	resp, err := st.lastResponse()
	if err != nil {
		return err
	}
	for _, r := range resp.results.Results {
		if r.Name == rr.Name && r.Namespace == rr.Namespace {
			if r.Fingerprint != fp {
				return fmt.Errorf("the response names fingerprint %s for %s, the object has %s", r.Fingerprint, rr.Name, fp)
			}
			return nil
		}
	}
	return fmt.Errorf("the response does not name %s/%s: %s", rr.Namespace, rr.Name, resp)
}

func itsKinds(ctx context.Context, severity, signalType, targetType string) error {
	rr, err := state(ctx).it()
	if err != nil {
		return err
	}
	s := rr.Spec
	if s.Severity != severity || s.SignalType != signalType || s.TargetType != targetType {
		return fmt.Errorf("expected severity %q, signal type %q, target type %q; got %q, %q, %q", severity, signalType, targetType, s.Severity, s.SignalType, s.TargetType)
	}
	// The source goes with the type: alerts come from Alertmanager, events from the cluster's events.
	if want, ok := signalSources[signalType]; ok && s.SignalSource != want {
		return fmt.Errorf("expected signal source %q for a %s, got %q", want, signalType, s.SignalSource)
	}
	return nil
}

func itTargetsHere(ctx context.Context, kind, name string) error {
	st := state(ctx)
	rr, err := st.it()
	if err != nil {
		return err
	}
	t := rr.Spec.TargetResource
	if t.Kind != kind || t.Name != name || t.Namespace != st.ns {
		return fmt.Errorf("expected target %s %s/%s, got %s %s/%s", kind, st.ns, name, t.Kind, t.Namespace, t.Name)
	}
	if rr.Namespace != st.ns {
		return fmt.Errorf("expected %s in the signal's namespace %s, found it in %s", rr.Name, st.ns, rr.Namespace)
	}
	return nil
}

func itTargetsCluster(ctx context.Context, kind, name string) error {
	st := state(ctx)
	rr, err := st.it()
	if err != nil {
		return err
	}
	t := rr.Spec.TargetResource
	if want := st.clusterName("node", name); t.Kind != kind || t.Name != want || t.Namespace != "" {
		return fmt.Errorf("expected target %s %q with no namespace, got %s %q in %q", kind, want, t.Kind, t.Name, t.Namespace)
	}
	return nil
}

func itsTimes(ctx context.Context) error {
	st := state(ctx)
	rr, err := st.it()
	if err != nil {
		return err
	}
	resp, err := st.lastResponse()
	if err != nil {
		return err
	}
	var sent []struct {
		StartsAt time.Time `json:"startsAt"`
	}
	if err := st.sentAlerts(&sent); err != nil {
		return err
	}
	if want := sent[0].StartsAt; !rr.Spec.FiringTime.Time.Equal(want) {
		return fmt.Errorf("expected firingTime %s (the alert's startsAt), got %s", want.Format(time.RFC3339), rr.Spec.FiringTime.UTC().Format(time.RFC3339))
	}
	// Received during the delivery: from the first attempt (the suite may have redelivered after
	// an overload, and the first attempt may have created the object) to the last answer. The
	// API server stores the time in whole seconds, so the window starts at the first attempt's second.
	recv, from := rr.Spec.ReceivedTime.Time, resp.firstSentAt.Truncate(time.Second)
	if recv.Before(from) || recv.After(resp.at.Add(time.Second)) {
		return fmt.Errorf("expected receivedTime during the delivery (%s to %s), got %s", resp.firstSentAt.Format(time.RFC3339Nano), resp.at.Format(time.RFC3339Nano), recv)
	}
	return nil
}

func itsLabels(ctx context.Context) error {
	rr, err := state(ctx).it()
	if err != nil {
		return err
	}
	// A label value holds at most 63 characters, so the label carries the fingerprint's first 63.
	const labelValueMax = 63
	fp := rr.Spec.SignalFingerprint
	if len(fp) < labelValueMax {
		return fmt.Errorf("expected a SHA-256 fingerprint (64 hex digits) on %s, got %q", rr.Name, fp)
	}
	want := map[string]string{
		labelManagedBy:         managedByGateway,
		labelSignalFingerprint: fp[:labelValueMax],
		labelSeverity:          rr.Spec.Severity,
		labelSignalType:        rr.Spec.SignalType,
	}
	for k, v := range want {
		if rr.Labels[k] != v {
			return fmt.Errorf("expected label %s=%q on %s, got %q (labels %v)", k, v, rr.Name, rr.Labels[k], rr.Labels)
		}
	}
	return nil
}

// itsPayload compares the stored payload with the alert the scenario sent, member by member.
func itsPayload(ctx context.Context) error {
	st := state(ctx)
	rr, err := st.it()
	if err != nil {
		return err
	}
	var sent []map[string]any
	if err := st.sentAlerts(&sent); err != nil {
		return err
	}
	var stored map[string]any
	if err := json.Unmarshal([]byte(rr.Spec.OriginalPayload), &stored); err != nil {
		return fmt.Errorf("originalPayload of %s is not the alert's JSON: %w", rr.Name, err)
	}
	for _, a := range sent {
		if reflect.DeepEqual(a, stored) {
			return nil
		}
	}
	return fmt.Errorf("originalPayload of %s is not one of the alerts sent: %s", rr.Name, rr.Spec.OriginalPayload)
}

func itsOrigin(ctx context.Context) error {
	st := state(ctx)
	rr, err := st.it()
	if err != nil {
		return err
	}
	if got := rr.Labels[labelOriginNamespace]; got != st.missing || got == "" {
		return fmt.Errorf("expected label %s=%q on %s, got %q", labelOriginNamespace, st.missing, rr.Name, got)
	}
	return nil
}

// sentAlerts decodes the alerts of the last notification the scenario sent into alerts (a pointer
// to a slice), and fails when it was not an alert notification or held none.
func (st *scenario) sentAlerts(alerts any) error {
	req, err := st.lastSent()
	if err != nil {
		return err
	}
	var n struct {
		Alerts json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal(req.body, &n); err != nil || len(n.Alerts) == 0 {
		return fmt.Errorf("the last request sent was not an alert notification (%v)", err)
	}
	if err := json.Unmarshal(n.Alerts, alerts); err != nil {
		return fmt.Errorf("the alerts of the last notification sent: %w", err)
	}
	if reflect.ValueOf(alerts).Elem().Len() == 0 {
		return fmt.Errorf("the last notification sent held no alert")
	}
	return nil
}
