package signal

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// ParseEvent parses a core/v1 Event. A Normal event is returned with IgnoreReason set; any other type
// is treated as Warning. The event needs a reason and an involvedObject kind and name, because those
// make up its identity.
func ParseEvent(body []byte, received time.Time) (Signal, error) {
	var ev corev1.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return Signal{}, fmt.Errorf("%w: not a Kubernetes Event: %s", ErrInvalidPayload, jsonErrorText(err))
	}
	var missing []string
	if strings.TrimSpace(ev.Reason) == "" {
		missing = append(missing, "reason")
	}
	if strings.TrimSpace(ev.InvolvedObject.Kind) == "" {
		missing = append(missing, "involvedObject.kind")
	}
	if strings.TrimSpace(ev.InvolvedObject.Name) == "" {
		missing = append(missing, "involvedObject.name")
	}
	if len(missing) > 0 {
		return Signal{}, fmt.Errorf("%w: event is missing %s", ErrInvalidPayload, strings.Join(missing, ", "))
	}

	namespace := ev.InvolvedObject.Namespace
	if namespace == "" {
		namespace = ev.Namespace
	}
	s := Signal{
		Name:         ev.Reason,
		Severity:     EventSeverity(ev.Reason),
		Type:         v1alpha1.SignalTypeKubernetesEvent,
		Source:       v1alpha1.SignalSourceKubernetesEvents,
		Namespace:    namespace,
		Target:       Target{Kind: ev.InvolvedObject.Kind, Name: ev.InvolvedObject.Name},
		FiringTime:   storableTime(eventTime(&ev, received), received),
		ReceivedTime: received,
		Labels:       truncateValues(eventLabels(&ev), MaxLabelValueBytes),
		Annotations:  truncateValues(eventAnnotations(&ev), MaxAnnotationValueBytes),
		Payload:      compactPayload(body),
	}
	s.setFingerprint()
	if strings.EqualFold(ev.Type, corev1.EventTypeNormal) {
		s.IgnoreReason = IgnoreNormalEvent
	}
	return s, nil
}

// eventTime is when the event first happened, by the most specific timestamp the sender filled.
func eventTime(ev *corev1.Event, received time.Time) time.Time {
	switch {
	case !ev.FirstTimestamp.IsZero():
		return ev.FirstTimestamp.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case !ev.CreationTimestamp.IsZero():
		return ev.CreationTimestamp.Time
	}
	return received
}

// eventLabels are the event's own labels plus the fields that classify it, so that an event-born
// RemediationRequest can be filtered like an alert-born one.
func eventLabels(ev *corev1.Event) map[string]string {
	out := make(map[string]string, len(ev.Labels)+4)
	for k, v := range ev.Labels {
		out[k] = v
	}
	out["reason"] = ev.Reason
	if ev.Type != "" {
		out["type"] = ev.Type
	}
	if ev.Source.Component != "" {
		out["component"] = ev.Source.Component
	}
	if ev.ReportingController != "" {
		out["reportingController"] = ev.ReportingController
	}
	return out
}

func eventAnnotations(ev *corev1.Event) map[string]string {
	out := make(map[string]string, len(ev.Annotations)+1)
	for k, v := range ev.Annotations {
		out[k] = v
	}
	if ev.Message != "" {
		out["message"] = ev.Message
	}
	return out
}
