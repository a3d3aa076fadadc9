package signal

import (
	"strings"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// NormalizeSeverity maps a sender's severity to critical, warning or info. Anything else (including
// none) becomes warning: an unknown severity must neither be dropped nor escalated. The original
// value stays in the signal's labels.
func NormalizeSeverity(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case v1alpha1.SeverityCritical:
		return v1alpha1.SeverityCritical
	case v1alpha1.SeverityInfo:
		return v1alpha1.SeverityInfo
	default:
		return v1alpha1.SeverityWarning
	}
}

// criticalEventReasons are the Warning event reasons that mean a workload is already down or cannot
// start. BackOff is deliberately absent: a container restart back-off is often self-healing, and the
// matching Prometheus alert (KubePodCrashLooping) is a warning too.
var criticalEventReasons = map[string]bool{
	"OOMKilled":        true,
	"Evicted":          true,
	"FailedScheduling": true,
	"NodeNotReady":     true,
	"FailedMount":      true,
}

// EventSeverity is the severity of a Warning event with this reason.
func EventSeverity(reason string) string {
	if criticalEventReasons[reason] {
		return v1alpha1.SeverityCritical
	}
	return v1alpha1.SeverityWarning
}
