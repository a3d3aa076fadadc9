package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestIsTerminalPhase(t *testing.T) {
	for _, p := range []string{PhaseCompleted, PhaseFailed, PhaseTimedOut, PhaseSkipped, PhaseCancelled} {
		if !IsTerminalPhase(p) {
			t.Errorf("%s should be terminal", p)
		}
	}
	for _, p := range []string{"", "Pending", "Processing", "completed"} {
		if IsTerminalPhase(p) {
			t.Errorf("%q should not be terminal", p)
		}
	}
}

func TestSchemeAndDeepCopy(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	gvks, _, err := s.ObjectKinds(&RemediationRequest{})
	if err != nil || len(gvks) != 1 || gvks[0] != GroupVersion.WithKind(Kind) {
		t.Fatalf("kinds %v, %v", gvks, err)
	}
	in := &RemediationRequest{
		Spec:   RemediationRequestSpec{SignalLabels: map[string]string{"a": "b"}},
		Status: RemediationRequestStatus{Deduplication: &DeduplicationStatus{OccurrenceCount: 1, FirstSeenAt: metav1.NowMicro()}},
	}
	out := in.DeepCopy()
	out.Spec.SignalLabels["a"] = "c"
	out.Status.Deduplication.OccurrenceCount = 2
	if in.Spec.SignalLabels["a"] != "b" || in.Status.Deduplication.OccurrenceCount != 1 {
		t.Fatal("deep copy shares memory")
	}
}
