package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// alertTargetLabels are the labels that name an alert's target, in order of precedence.
var alertTargetLabels = []struct{ label, kind string }{
	{"pod", KindPod},
	{"deployment", KindDeployment},
	{"statefulset", KindStatefulSet},
	{"daemonset", KindDaemonSet},
	{"node", KindNode},
	{"service", KindService},
}

// webhookMessage is the part of the Alertmanager webhook (version 4) the gateway reads. Alerts stay
// raw so that each one's own JSON can be stored as its original payload.
type webhookMessage struct {
	Alerts []json.RawMessage `json:"alerts"`
}

type alert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
}

// ParseAlertmanager parses an Alertmanager webhook body into one Signal per alert, in order. Resolved
// alerts are returned with IgnoreReason set; the per-alert status decides, not the group's. Any
// malformed alert fails the whole batch with ErrInvalidPayload, so nothing is persisted for a body
// the sender must fix.
func ParseAlertmanager(body []byte, received time.Time) ([]Signal, error) {
	var msg webhookMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, fmt.Errorf("%w: not an Alertmanager webhook message: %s", ErrInvalidPayload, jsonErrorText(err))
	}
	if len(msg.Alerts) == 0 {
		return nil, fmt.Errorf("%w: alerts is missing or empty", ErrInvalidPayload)
	}
	signals := make([]Signal, 0, len(msg.Alerts))
	for i, raw := range msg.Alerts {
		s, err := parseAlert(raw, received)
		if err != nil {
			return nil, fmt.Errorf("%w: alerts[%d]: %s", ErrInvalidPayload, i, err.Error())
		}
		signals = append(signals, s)
	}
	return signals, nil
}

func parseAlert(raw json.RawMessage, received time.Time) (Signal, error) {
	var a alert
	if err := json.Unmarshal(raw, &a); err != nil {
		return Signal{}, fmt.Errorf("not an alert object: %s", jsonErrorText(err))
	}
	name := a.Labels["alertname"]
	if strings.TrimSpace(name) == "" {
		return Signal{}, fmt.Errorf("labels.alertname is missing")
	}
	s := Signal{
		Name:         name,
		Severity:     NormalizeSeverity(a.Labels["severity"]),
		Type:         v1alpha1.SignalTypePrometheusAlert,
		Source:       v1alpha1.SignalSourceAlertmanager,
		Namespace:    firstLabel(a.Labels, "namespace", "exported_namespace"),
		FiringTime:   storableTime(a.StartsAt, received),
		ReceivedTime: received,
		Labels:       truncateValues(a.Labels, MaxLabelValueBytes),
		Annotations:  truncateValues(a.Annotations, MaxAnnotationValueBytes),
		Payload:      compactPayload(raw),
	}
	s.Target = alertTarget(a.Labels, s.Namespace)
	s.setFingerprint()
	if strings.EqualFold(a.Status, "resolved") {
		s.IgnoreReason = IgnoreResolved
	}
	return s, nil
}

// alertTarget picks the first target label present; without one the target is the namespace, or the
// cluster when there is no namespace either.
func alertTarget(labels map[string]string, namespace string) Target {
	for _, t := range alertTargetLabels {
		if v := labels[t.label]; v != "" {
			return Target{Kind: t.kind, Name: v}
		}
	}
	if namespace != "" {
		return Target{Kind: KindNamespace, Name: namespace}
	}
	return Target{Kind: KindCluster, Name: ClusterTargetName}
}

func firstLabel(labels map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := labels[k]; v != "" {
			return v
		}
	}
	return ""
}

// compactPayload stores the sender's JSON without its indentation, cut to MaxPayloadBytes.
func compactPayload(raw []byte) string {
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return Truncate(string(raw), MaxPayloadBytes)
	}
	return Truncate(buf.String(), MaxPayloadBytes)
}

// jsonErrorText keeps decoder errors short and free of Go type names where possible.
func jsonErrorText(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "document"
		}
		return fmt.Sprintf("%s has the wrong type (%s)", field, typeErr.Value)
	}
	return err.Error()
}
