package remediation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
)

// recordOccurrence counts one occurrence on current, the object as last known (from the cache, a
// create's answer or a read; never modified here): bump status.deduplication, update the status
// based on current's resourceVersion, and on Conflict read the object again and start over. It
// returns errRestart when the object turned terminal or disappeared, so the occurrence belongs to
// a new object. The outcome is StatusCreated when this update took the count from nothing to 1.
func (s *Service) recordOccurrence(ctx context.Context, current *v1alpha1.RemediationRequest) (Outcome, error) {
	key := client.ObjectKeyFromObject(current)
	known := current // for Forget: a read that finds nothing leaves current nil
	// pending is what an update whose answer was lost tried to write, pendingRV the version it was
	// based on and pendingFirst whether it was the first occurrence: if the object moved on to
	// exactly that status, the write landed and must not be repeated.
	var pending *v1alpha1.DeduplicationStatus
	var pendingRV string
	var pendingFirst bool
	for conflicts := 0; conflicts <= maxConflicts; conflicts++ {
		if current == nil {
			rr, err := s.get(ctx, key)
			if apierrors.IsNotFound(err) {
				s.forget(known)
				return Outcome{}, errRestart
			}
			if err != nil {
				return Outcome{}, err
			}
			if pending != nil && rr.ResourceVersion != pendingRV && sameDedup(rr.Status.Deduplication, pending) {
				s.observe(rr)
				return s.outcome(ctx, rr, pendingFirst), nil
			}
			pending = nil
			current, known = rr, rr
		}
		if v1alpha1.IsTerminalPhase(current.Status.OverallPhase) {
			return Outcome{}, errRestart
		}

		update, first := s.occurrence(current)
		basedOn := current.ResourceVersion
		ambiguous := false
		err := s.Retry.Do(ctx, "update remediationrequest status", func(ctx context.Context) error {
			err := s.Client.Status().Update(ctx, update)
			if kuberetry.Ambiguous(err) {
				ambiguous = true
			}
			return err
		})
		switch {
		case err == nil:
			s.observe(update)
			return s.outcome(ctx, update, first), nil
		case apierrors.IsConflict(err):
			if ambiguous {
				pending, pendingRV, pendingFirst = update.Status.Deduplication.DeepCopy(), basedOn, first
			}
			current = nil
			continue
		case apierrors.IsNotFound(err):
			// Deleted (with its namespace, say) while the cache still held it: the signal starts
			// afresh on a new object.
			s.forget(known)
			return Outcome{}, errRestart
		default:
			return Outcome{}, fmt.Errorf("update status of remediationrequest %s: %w", key, err)
		}
	}
	return Outcome{}, &kuberetry.UnavailableError{Op: "update remediationrequest status", Attempts: maxConflicts,
		Reason: "contention", Err: fmt.Errorf("remediationrequest %s kept changing", key)}
}

// occurrence is the status update that records one more occurrence on current, and whether it is
// the first. It carries only what a status update uses: the API server takes everything but the
// status from the stored object, so the spec (and its payload of up to 64 KiB) is not sent.
func (s *Service) occurrence(current *v1alpha1.RemediationRequest) (*v1alpha1.RemediationRequest, bool) {
	now := metav1.NewMicroTime(s.now().UTC().Truncate(time.Microsecond))
	update := &v1alpha1.RemediationRequest{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name: current.Name, Namespace: current.Namespace, UID: current.UID, ResourceVersion: current.ResourceVersion,
		},
		Spec:   v1alpha1.RemediationRequestSpec{SignalFingerprint: current.Spec.SignalFingerprint},
		Status: v1alpha1.RemediationRequestStatus{OverallPhase: current.Status.OverallPhase},
	}
	d := current.Status.Deduplication
	if d == nil || d.OccurrenceCount < 1 {
		update.Status.Deduplication = &v1alpha1.DeduplicationStatus{FirstSeenAt: now, LastSeenAt: now, OccurrenceCount: 1}
		return update, true
	}
	update.Status.Deduplication = &v1alpha1.DeduplicationStatus{FirstSeenAt: d.FirstSeenAt, LastSeenAt: now, OccurrenceCount: d.OccurrenceCount + 1}
	return update, false
}

func (s *Service) observe(rr *v1alpha1.RemediationRequest) {
	if s.Cache != nil {
		s.Cache.Observe(rr)
	}
}

func (s *Service) forget(rr *v1alpha1.RemediationRequest) {
	if s.Cache != nil {
		s.Cache.Forget(rr)
	}
}

func (s *Service) outcome(ctx context.Context, rr *v1alpha1.RemediationRequest, created bool) Outcome {
	out := Outcome{Status: StatusDuplicate, Namespace: rr.Namespace, Name: rr.Name}
	if created {
		out.Status = StatusCreated
	}
	if d := rr.Status.Deduplication; d != nil {
		out.OccurrenceCount = d.OccurrenceCount
	}
	if log := logging.FromContext(ctx); log.Enabled(ctx, slog.LevelDebug) { // no arguments boxed for nothing
		log.Debug("occurrence recorded", "status", out.Status,
			"rr_namespace", out.Namespace, "rr_name", out.Name, "occurrence_count", out.OccurrenceCount)
	}
	return out
}

// sameDedup compares at the API's microsecond resolution of metav1.MicroTime.
func sameDedup(a, b *v1alpha1.DeduplicationStatus) bool {
	return a != nil && b != nil && a.OccurrenceCount == b.OccurrenceCount &&
		a.FirstSeenAt.UnixMicro() == b.FirstSeenAt.UnixMicro() && a.LastSeenAt.UnixMicro() == b.LastSeenAt.UnixMicro()
}
