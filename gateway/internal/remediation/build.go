package remediation

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/signal"
)

// build is the object created for sig; its status stays empty (create does not set it).
func (s *Service) build(sig *signal.Signal, namespace, name string, fallback bool) *v1alpha1.RemediationRequest {
	labels := map[string]string{
		v1alpha1.LabelManagedBy:         v1alpha1.ManagedByGateway,
		v1alpha1.LabelSignalFingerprint: sig.Fingerprint[:min(63, len(sig.Fingerprint))],
		v1alpha1.LabelSeverity:          sig.Severity,
		v1alpha1.LabelSignalType:        sig.Type,
	}
	if fallback {
		labels[v1alpha1.LabelOriginNamespace] = originNamespace(sig.Namespace)
	}
	var annotations map[string]string
	if sig.Sender != "" {
		// Only the creator's: recording an occurrence touches status alone, so the first sender stays.
		annotations = map[string]string{v1alpha1.AnnotationSender: sig.Sender}
	}
	return &v1alpha1.RemediationRequest{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   namespace,
			Labels:      labels,
			Annotations: annotations,
		},
		Spec: v1alpha1.RemediationRequestSpec{
			SignalFingerprint: sig.Fingerprint,
			SignalName:        sig.Name,
			Severity:          sig.Severity,
			SignalType:        sig.Type,
			SignalSource:      sig.Source,
			TargetType:        v1alpha1.TargetTypeKubernetes,
			TargetResource: v1alpha1.ResourceIdentifier{
				Kind:      sig.Target.Kind,
				Name:      sig.Target.Name,
				Namespace: sig.TargetNamespace(),
			},
			FiringTime:        metav1.NewTime(sig.FiringTime.UTC()),
			ReceivedTime:      metav1.NewTime(sig.ReceivedTime.UTC()),
			SignalLabels:      sig.Labels,
			SignalAnnotations: sig.Annotations,
			OriginalPayload:   sig.Payload,
		},
	}
}

// originNamespace is the origin-namespace label value: the signal's namespace, cluster-scoped when it
// had none, or OriginInvalidNamespace when the namespace cannot be a label value.
func originNamespace(namespace string) string {
	switch {
	case namespace == "":
		return v1alpha1.OriginClusterScoped
	case len(validation.IsValidLabelValue(namespace)) > 0:
		return OriginInvalidNamespace
	}
	return namespace
}
