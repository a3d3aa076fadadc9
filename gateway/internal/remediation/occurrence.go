package remediation

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
)

// recordOccurrence counts one occurrence on the object: get, bump status.deduplication, update the
// status with the read resourceVersion, and start over on Conflict. It returns errRestart when the
// object turned terminal or disappeared, so the occurrence belongs to a new object.
func (s *Service) recordOccurrence(ctx context.Context, key client.ObjectKey, created bool) (Outcome, error) {
	// pending is what an update whose answer was lost tried to write, and pendingRV the version it
	// was based on: if the object moved on to exactly that status, the write landed and must not be
	// repeated.
	var pending *v1alpha1.DeduplicationStatus
	var pendingRV string
	for conflicts := 0; conflicts <= maxConflicts; conflicts++ {
		rr, err := s.get(ctx, key)
		if apierrors.IsNotFound(err) {
			return Outcome{}, errRestart
		}
		if err != nil {
			return Outcome{}, err
		}
		if pending != nil && rr.ResourceVersion != pendingRV && sameDedup(rr.Status.Deduplication, pending) {
			return s.outcome(ctx, rr, created), nil
		}
		pending = nil
		if v1alpha1.IsTerminalPhase(rr.Status.OverallPhase) {
			return Outcome{}, errRestart
		}

		now := metav1.NewMicroTime(s.now().UTC().Truncate(time.Microsecond))
		if d := rr.Status.Deduplication; d == nil || d.OccurrenceCount < 1 {
			rr.Status.Deduplication = &v1alpha1.DeduplicationStatus{FirstSeenAt: now, LastSeenAt: now, OccurrenceCount: 1}
		} else {
			d.OccurrenceCount++
			d.LastSeenAt = now
		}
		basedOn := rr.ResourceVersion
		ambiguous := false
		err = s.Retry.Do(ctx, "update remediationrequest status", func(ctx context.Context) error {
			err := s.Client.Status().Update(ctx, rr)
			if kuberetry.Ambiguous(err) {
				ambiguous = true
			}
			return err
		})
		switch {
		case err == nil:
			return s.outcome(ctx, rr, created), nil
		case apierrors.IsConflict(err):
			if ambiguous {
				pending, pendingRV = rr.Status.Deduplication.DeepCopy(), basedOn
			}
			continue
		case apierrors.IsNotFound(err):
			return Outcome{}, errRestart
		default:
			return Outcome{}, fmt.Errorf("update status of remediationrequest %s: %w", key, err)
		}
	}
	return Outcome{}, &kuberetry.UnavailableError{Op: "update remediationrequest status", Attempts: maxConflicts,
		Reason: "contention", Err: fmt.Errorf("remediationrequest %s kept changing", key)}
}

func (s *Service) outcome(ctx context.Context, rr *v1alpha1.RemediationRequest, created bool) Outcome {
	out := Outcome{Status: StatusDuplicate, Namespace: rr.Namespace, Name: rr.Name}
	if created {
		out.Status = StatusCreated
	}
	if d := rr.Status.Deduplication; d != nil {
		out.OccurrenceCount = d.OccurrenceCount
	}
	logging.FromContext(ctx).Debug("occurrence recorded", "status", out.Status,
		"rr_namespace", out.Namespace, "rr_name", out.Name, "occurrence_count", out.OccurrenceCount)
	return out
}

// sameDedup compares at the API's microsecond resolution of metav1.MicroTime.
func sameDedup(a, b *v1alpha1.DeduplicationStatus) bool {
	return a != nil && b != nil && a.OccurrenceCount == b.OccurrenceCount &&
		a.FirstSeenAt.UnixMicro() == b.FirstSeenAt.UnixMicro() && a.LastSeenAt.UnixMicro() == b.LastSeenAt.UnixMicro()
}
