package remediation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
)

// writeOccurrences counts n occurrences on current, the object as last known (from the cache, a
// create's answer or a read; never modified here): add n to status.deduplication, update the
// status based on current's resourceVersion, and on Conflict read the object again and start over.
// It returns the object as written and the count before the write (0: these are the first
// occurrences), or errRestart when the object turned terminal or disappeared, so the occurrences
// belong to a new object.
func (s *Service) writeOccurrences(ctx context.Context, current *v1alpha1.RemediationRequest, n int32) (*v1alpha1.RemediationRequest, int32, error) {
	key := client.ObjectKeyFromObject(current)
	known := current // for Forget: a read that finds nothing leaves current nil
	// pending is an update whose answer was lost and pendingBase the count it was based on: if the
	// object's status carries its write ID, the write landed (other writers may have moved the
	// count on since) and must not be repeated.
	var pending *v1alpha1.RemediationRequest
	var pendingBase int32
	for conflicts := 0; conflicts <= maxConflicts; conflicts++ {
		if current == nil {
			rr, err := s.get(ctx, key)
			if apierrors.IsNotFound(err) {
				s.forget(known)
				return nil, 0, errRestart
			}
			if err != nil {
				return nil, 0, err // a pending first write is remembered already (updateStatus)
			}
			if pending != nil && landed(rr, pending) {
				s.observe(rr)
				return pending, pendingBase, nil
			}
			pending = nil
			current, known = rr, rr
		}
		if v1alpha1.IsTerminalPhase(current.Status.OverallPhase) {
			return nil, 0, errRestart
		}

		update, base := s.occurrences(current, n)
		ambiguous, err := s.updateStatus(ctx, update, base)
		switch {
		case err == nil:
			s.observe(update)
			return update, base, nil
		case apierrors.IsConflict(err):
			if ambiguous {
				pending, pendingBase = update, base
			}
			current = nil
			continue
		case apierrors.IsNotFound(err):
			// Deleted (with its namespace, say) while the cache still held it: the signal starts
			// afresh on a new object.
			s.forget(known)
			return nil, 0, errRestart
		default:
			return nil, 0, fmt.Errorf("update status of remediationrequest %s: %w", key, err)
		}
	}
	return nil, 0, &kuberetry.UnavailableError{Op: "update remediationrequest status", Attempts: maxConflicts,
		Reason: "contention", Err: fmt.Errorf("remediationrequest %s kept changing", key)}
}

// updateStatus writes update, the status update based on count base, retrying transient errors.
// ambiguous reports that an attempt's answer was lost, so the write may have landed even when err
// is a later Conflict: writeOccurrences then checks the object for it before writing again.
func (s *Service) updateStatus(ctx context.Context, update *v1alpha1.RemediationRequest, base int32) (ambiguous bool, err error) {
	err = s.Retry.Do(ctx, "update remediationrequest status", func(ctx context.Context) error {
		err := s.Client.Status().Update(ctx, update)
		if kuberetry.Ambiguous(err) {
			ambiguous = true
			// A first write that may have landed is remembered the moment its answer is lost,
			// not when the request gives up: gateway_unconfirmed_creations must be right at
			// every instant the process could die, and a request may retry for its whole
			// deadline. A later answer settles it (writeBatch), whatever this request does.
			if base == 0 {
				s.firsts.remember(update)
			}
		}
		return err
	})
	return ambiguous, err
}

// occurrences is the status update that records n more occurrences on current, and the count it
// is based on (0: the first). It carries only what a status update uses: the API server takes
// everything but the status from the stored object, so the spec (and its payload of up to 64 KiB)
// is not sent.
func (s *Service) occurrences(current *v1alpha1.RemediationRequest, n int32) (*v1alpha1.RemediationRequest, int32) {
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
		update.Status.Deduplication = &v1alpha1.DeduplicationStatus{FirstSeenAt: now, LastSeenAt: now, OccurrenceCount: n,
			Writes: []string{newWriteID()}}
		return update, 0
	}
	update.Status.Deduplication = &v1alpha1.DeduplicationStatus{FirstSeenAt: d.FirstSeenAt, LastSeenAt: now, OccurrenceCount: d.OccurrenceCount + n,
		Writes: appendWrite(d.Writes, newWriteID())}
	return update, d.OccurrenceCount
}

// newWriteID names one status write: 64 random bits, so that no two writers of an object in its
// lifetime share one.
func newWriteID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// appendWrite returns the last MaxRecentWrites-1 IDs of writes, then id, in a new slice (writes
// may be the cache's).
func appendWrite(writes []string, id string) []string {
	if keep := v1alpha1.MaxRecentWrites - 1; len(writes) > keep {
		writes = writes[len(writes)-keep:]
	}
	return append(append(make([]string, 0, len(writes)+1), writes...), id)
}

// landed reports whether the object carries the write ID of update: the update was applied.
func landed(rr, update *v1alpha1.RemediationRequest) bool {
	d, u := rr.Status.Deduplication, update.Status.Deduplication
	return d != nil && u != nil && len(u.Writes) > 0 && slices.Contains(d.Writes, u.Writes[len(u.Writes)-1])
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

// outcome is the answer of the occurrence that took rr's count to count: created when that is 1.
func (s *Service) outcome(ctx context.Context, rr *v1alpha1.RemediationRequest, count int32) Outcome {
	out := Outcome{Status: StatusDuplicate, Namespace: rr.Namespace, Name: rr.Name, OccurrenceCount: count}
	if count == 1 {
		out.Status = StatusCreated
	}
	if log := logging.FromContext(ctx); log.Enabled(ctx, slog.LevelDebug) { // no arguments boxed for nothing
		log.Debug("occurrence recorded", "status", out.Status,
			"rr_namespace", out.Namespace, "rr_name", out.Name, "occurrence_count", out.OccurrenceCount)
	}
	return out
}
