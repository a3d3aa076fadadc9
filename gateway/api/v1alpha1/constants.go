package v1alpha1

// Names shared by the gateway and the suite, so that neither spells a label key, a field path or
// an enum value on its own.
const (
	// ResourcePlural is the REST resource name of RemediationRequest.
	ResourcePlural = "remediationrequests"
	// Kind is the kind of a RemediationRequest.
	Kind = "RemediationRequest"

	// FieldSignalFingerprint is the selectable field the gateway looks RemediationRequests up by,
	// e.g. client.MatchingFields{FieldSignalFingerprint: fp}.
	FieldSignalFingerprint = "spec.signalFingerprint"
)

// Label and annotation keys, and label values, the gateway puts on every RemediationRequest it
// creates.
const (
	LabelManagedBy         = "app.kubernetes.io/managed-by"
	LabelSignalFingerprint = "kubernaut.ai/signal-fingerprint"
	LabelSeverity          = "kubernaut.ai/severity"
	LabelSignalType        = "kubernaut.ai/signal-type"
	// LabelOriginNamespace is set only on objects placed in the fallback namespace; it keeps the
	// namespace the signal came from, or OriginClusterScoped when it had none.
	LabelOriginNamespace = "kubernaut.ai/origin-namespace"

	// AnnotationSender is the annotation holding the authenticated username of the caller whose
	// signal created the RemediationRequest. Later occurrences, whoever sends them, do not change it.
	AnnotationSender = "kubernaut.ai/sender"

	// ManagedByGateway is the value of LabelManagedBy.
	ManagedByGateway = "kubernaut-gateway"
	// OriginClusterScoped is the LabelOriginNamespace value of a signal without a namespace.
	OriginClusterScoped = "cluster-scoped"
)

// Severities (spec.severity).
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// Signal types (spec.signalType) and sources (spec.signalSource).
const (
	SignalTypePrometheusAlert = "prometheus-alert"
	SignalTypeKubernetesEvent = "kubernetes-event"

	SignalSourceAlertmanager     = "alertmanager"
	SignalSourceKubernetesEvents = "kubernetes-events"
)

// TargetTypeKubernetes is the only target type (spec.targetType) so far.
const TargetTypeKubernetes = "kubernetes"

// Terminal values of status.overallPhase. The gateway never writes the phase; it reads it to decide
// whether a new occurrence belongs to an existing RemediationRequest or starts a new one.
const (
	PhaseCompleted = "Completed"
	PhaseFailed    = "Failed"
	PhaseTimedOut  = "TimedOut"
	PhaseSkipped   = "Skipped"
	PhaseCancelled = "Cancelled"
)

// IsTerminalPhase reports whether a RemediationRequest in this phase is finished, so that a new
// occurrence of its signal must create a new RemediationRequest instead of counting as a duplicate.
func IsTerminalPhase(phase string) bool {
	switch phase {
	case PhaseCompleted, PhaseFailed, PhaseTimedOut, PhaseSkipped, PhaseCancelled:
		return true
	}
	return false
}
