package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ResourceIdentifier names the Kubernetes object a signal is about.
type ResourceIdentifier struct {
	// Kind of the target, e.g. Pod, Deployment, Node, Namespace, or Cluster.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// Name of the target.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Namespace of the target; empty for cluster-scoped targets.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// RemediationRequestSpec is the signal as the gateway received it. It is written once, at creation.
type RemediationRequestSpec struct {
	// SignalFingerprint is the lowercase hex SHA-256 of "signalName:namespace:kind:name"; it identifies
	// the signal across occurrences and cannot change.
	// +kubebuilder:validation:Pattern=`^[a-f0-9]{64}$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="signalFingerprint is immutable"
	SignalFingerprint string `json:"signalFingerprint"`

	// SignalName is the alertname of an alert, or the reason of an event.
	// +kubebuilder:validation:MinLength=1
	SignalName string `json:"signalName"`

	// Severity is the normalised severity; unknown severities become warning.
	// +kubebuilder:validation:Enum=critical;warning;info
	Severity string `json:"severity"`

	// SignalType tells which kind of sender produced the signal.
	// +kubebuilder:validation:Enum=prometheus-alert;kubernetes-event
	SignalType string `json:"signalType"`

	// SignalSource names the sending system: alertmanager or kubernetes-events.
	// +kubebuilder:validation:MinLength=1
	SignalSource string `json:"signalSource"`

	// TargetType is the platform of the target.
	// +kubebuilder:validation:Enum=kubernetes
	TargetType string `json:"targetType"`

	// TargetResource is the object the signal is about.
	TargetResource ResourceIdentifier `json:"targetResource"`

	// FiringTime is when the signal started, as reported by its sender.
	FiringTime metav1.Time `json:"firingTime"`

	// ReceivedTime is when the gateway received the occurrence that created this object.
	ReceivedTime metav1.Time `json:"receivedTime"`

	// SignalLabels are the labels of the signal; each value is cut to 1024 bytes.
	// +optional
	SignalLabels map[string]string `json:"signalLabels,omitempty"`

	// SignalAnnotations are the annotations of the signal; each value is cut to 4096 bytes.
	// +optional
	SignalAnnotations map[string]string `json:"signalAnnotations,omitempty"`

	// OriginalPayload is the raw JSON of the one alert (or the whole event), cut to 64 KiB.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	OriginalPayload string `json:"originalPayload,omitempty"`
}

// DeduplicationStatus counts the occurrences of the signal that this object stands for.
type DeduplicationStatus struct {
	// FirstSeenAt is when the gateway recorded the first occurrence. Microsecond precision, so that
	// repeats within one second still move LastSeenAt visibly.
	FirstSeenAt metav1.MicroTime `json:"firstSeenAt"`
	// LastSeenAt is when the gateway recorded the latest occurrence.
	LastSeenAt metav1.MicroTime `json:"lastSeenAt"`
	// OccurrenceCount is the number of occurrences recorded, the first included.
	// +kubebuilder:validation:Minimum=1
	OccurrenceCount int32 `json:"occurrenceCount"`
	// Writes are the IDs of the gateway's latest status writes, newest last, at most
	// MaxRecentWrites. A gateway whose write's answer was lost (a timeout after the API server
	// applied it) finds its ID here when the write landed, also after other writers have moved
	// the count on, so it never records its occurrence twice.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Writes []string `json:"writes,omitempty"`
}

// MaxRecentWrites is how many write IDs DeduplicationStatus.Writes keeps: more than the writers
// that can land between a lost answer and its writer's next read in any measured run (20 identical
// alerts at once).
const MaxRecentWrites = 32

// RemediationRequestStatus is written by the gateway (deduplication) and by the downstream
// controllers (overallPhase).
type RemediationRequestStatus struct {
	// Deduplication is maintained by the gateway; it is absent until the first occurrence is recorded.
	// +optional
	Deduplication *DeduplicationStatus `json:"deduplication,omitempty"`

	// OverallPhase is written downstream. Completed, Failed, TimedOut, Skipped and Cancelled are
	// terminal: a new occurrence of the signal then creates a new RemediationRequest.
	// +optional
	OverallPhase string `json:"overallPhase,omitempty"`
}

// RemediationRequest is one signal (an alert or a Warning event) that asks for remediation, with the
// count of its occurrences while it is being handled.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=rr
// +kubebuilder:selectablefield:JSONPath=.spec.signalFingerprint
// +kubebuilder:printcolumn:name="Signal",type=string,JSONPath=`.spec.signalName`
// +kubebuilder:printcolumn:name="Severity",type=string,JSONPath=`.spec.severity`
// +kubebuilder:printcolumn:name="Target-Kind",type=string,JSONPath=`.spec.targetResource.kind`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.targetResource.name`
// +kubebuilder:printcolumn:name="Count",type=integer,JSONPath=`.status.deduplication.occurrenceCount`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.overallPhase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RemediationRequest struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RemediationRequestSpec   `json:"spec"`
	Status RemediationRequestStatus `json:"status,omitempty"`
}

// RemediationRequestList is a list of RemediationRequests.
//
// +kubebuilder:object:root=true
type RemediationRequestList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RemediationRequest `json:"items"`
}
