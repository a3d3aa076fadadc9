// Package remediation turns one firing Signal into a RemediationRequest: it finds the active object of
// the signal's fingerprint and records an occurrence on it, or creates the next one. It is written so
// that concurrent gateways (or concurrent requests) agree on one object per fingerprint without any
// lock: racing creators compute the same name and the API server picks the winner.
package remediation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
	"github.com/kubernaut/gateway-contract/gateway/internal/signal"
)

// RBAC of the gateway: exactly the calls this package makes (the watch-backed cache of package
// rrcache adds list and watch). controller-gen turns these markers into the ClusterRole
// kubernaut-gateway (gateway/config/rbac/role.yaml).
//
// +kubebuilder:rbac:groups=kubernaut.ai,resources=remediationrequests,verbs=get;list;create
// +kubebuilder:rbac:groups=kubernaut.ai,resources=remediationrequests/status,verbs=get;update

// Outcome statuses.
const (
	StatusCreated   = "created"
	StatusDuplicate = "duplicate"
)

// OriginInvalidNamespace is the origin-namespace label value of a signal whose namespace cannot be a
// label value (it cannot be a real namespace either).
const OriginInvalidNamespace = "invalid-namespace"

const (
	// maxRounds bounds lookup/create rounds (terminal objects met, objects deleted under us, namespace
	// fallback); each round means another writer made progress, so a handful is plenty.
	maxRounds = 10
	// maxConflicts bounds optimistic-concurrency retries of one status update; every conflict means
	// another occurrence was recorded, so this allows that many concurrent duplicates.
	maxConflicts = 1000
)

// Outcome is what happened to one firing signal.
type Outcome struct {
	// Status is StatusCreated or StatusDuplicate.
	Status string
	// Namespace and Name locate the RemediationRequest (Namespace is the fallback one when used).
	Namespace string
	Name      string
	// OccurrenceCount is the count after this occurrence was recorded.
	OccurrenceCount int32
	// EarlierCreated is 1 when this occurrence's write showed that an earlier request had written
	// the object's first occurrence although its answer was lost (that request was answered 503,
	// and this one is a duplicate): the object counts as created now, once (see unconfirmed.go).
	EarlierCreated int
}

// Cache is a watch-backed view of the RemediationRequests (*rrcache.Cache). It need not be fresh:
// Process only takes its first guess from it, and every write is checked by the API server.
type Cache interface {
	// Synced reports whether the view has loaded the cluster's objects once.
	Synced() bool
	// ByFingerprint returns the known objects of a fingerprint in a namespace; they are shared
	// and must not be modified.
	ByFingerprint(namespace, fingerprint string) []*v1alpha1.RemediationRequest
	// Observe records the API's answer to a write of ours, which the watch may not have delivered
	// yet; Forget drops that record for an object the API reported missing.
	Observe(rr *v1alpha1.RemediationRequest)
	Forget(rr *v1alpha1.RemediationRequest)
}

// Service processes firing signals against the Kubernetes API.
//
// A new signal costs two API calls (create, then the status update that records its first
// occurrence, based on the create's answer) and a repeat one (the status update, based on the
// cached object), as long as the cache is current. The cache only ever provides a first guess:
// every write is checked by the API server (names collide, updates carry the resourceVersion they
// were based on), and when a write shows the guess was wrong (the object was deleted, turned
// terminal or moved on) the signal is processed again from authoritative reads.
type Service struct {
	// Client makes every write and every authoritative read. It must have v1alpha1 in its scheme and
	// support the spec.signalFingerprint field selector (a real API server does through the CRD's
	// selectable field; a fake client needs an index).
	Client client.Client
	// Cache answers the first lookup of a signal; nil (or not synced yet) means a LIST instead.
	Cache Cache
	// Retry wraps every API call.
	Retry *kuberetry.Policy
	// FallbackNamespace receives the signals without a usable namespace.
	FallbackNamespace string
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	batches batcher     // occurrences of one object waiting to be written together
	firsts  unconfirmed // first occurrences written without an answer, until a later write settles them
}

// UnconfirmedCreations is how many first occurrences this process wrote without an answer and has
// not settled yet (unconfirmed.go): each may be an object created but not counted.
func (s *Service) UnconfirmedCreations() int { return s.firsts.pending() }

// Authorize checks that the sender of the signal being processed may create RemediationRequests
// in namespace; it returns nil when it may. Process calls it before its first write in a namespace
// that it chose at run time (the fallback namespace, when the API reports the signal's namespace
// missing or terminating): the namespace authorized is the namespace written.
type Authorize func(ctx context.Context, namespace string) error

// errNoAuthorize is Process called without an Authorize when it needed one.
var errNoAuthorize = errors.New("no authorization for the fallback namespace was given")

// errRestart asks Process for a new round: the object it worked on became terminal or was deleted.
var errRestart = errors.New("remediation request changed under us")

// Process records one firing signal: as an occurrence of its active RemediationRequest, or as a new
// one. Errors are *kuberetry.UnavailableError when a retry could succeed, and permanent otherwise.
//
// The outcome is StatusCreated exactly when this call's status update took the object's
// occurrence count from nothing to 1: only one writer can (updates are version-checked), so every
// RemediationRequest is reported created once, also when the create and the first count happened
// in different deliveries of the signal.
//
// The caller has authorized the sender in Namespace(sig). When the API then reports that
// namespace missing or terminating, Process authorizes the sender in the fallback namespace with
// authorize before writing there, and returns authorize's error (wrapped) when it refuses or
// cannot decide: nothing is written in the fallback namespace then. authorize is required.
func (s *Service) Process(ctx context.Context, sig *signal.Signal, authorize Authorize) (Outcome, error) {
	namespace, fallback := s.Namespace(sig)
	// fresh: look up with a LIST, not the cache. After a restart the cache has misled us once; it
	// must not keep the signal going round in circles while the watch catches up.
	fresh := s.Cache == nil || !s.Cache.Synced()
	for round := 0; round < maxRounds; round++ {
		items, err := s.lookup(ctx, namespace, sig.Fingerprint, fresh)
		if err != nil {
			return Outcome{}, err
		}
		if active := activeOf(items, sig.Fingerprint); active != nil {
			out, err := s.recordOccurrence(ctx, active)
			if errors.Is(err, errRestart) {
				fresh = s.restart(ctx, "the active remediation request ended or was deleted")
				continue
			}
			return out, err
		}

		name := nextName(sig.Fingerprint, items)
		created, err := s.create(ctx, s.build(sig, namespace, name, fallback))
		switch {
		case err == nil:
			out, err := s.recordOccurrence(ctx, created)
			if errors.Is(err, errRestart) {
				fresh = s.restart(ctx, "the new remediation request ended or was deleted")
				continue
			}
			return out, err
		case apierrors.IsAlreadyExists(err):
			out, err := s.joinExisting(ctx, client.ObjectKey{Namespace: namespace, Name: name})
			if errors.Is(err, errRestart) {
				fresh = s.restart(ctx, "the name is taken by an ended or deleted remediation request")
				continue
			}
			return out, err
		case !fallback && namespaceUnusable(err):
			logging.FromContext(ctx).Info("namespace not usable, using the fallback namespace",
				"target_namespace", namespace, "fallback_namespace", s.FallbackNamespace, "error", err.Error())
			if authorize == nil {
				return Outcome{}, errNoAuthorize
			}
			if err := authorize(ctx, s.FallbackNamespace); err != nil {
				return Outcome{}, fmt.Errorf("authorize the sender in the fallback namespace %q: %w", s.FallbackNamespace, err)
			}
			namespace, fallback = s.FallbackNamespace, true
			continue
		default:
			return Outcome{}, fmt.Errorf("create remediationrequest %s/%s: %w", namespace, name, err)
		}
	}
	return Outcome{}, &kuberetry.UnavailableError{Op: "process signal", Attempts: maxRounds, Reason: "contention",
		Err: fmt.Errorf("remediation requests of fingerprint %s kept changing", sig.Fingerprint)}
}

// restart logs why a round ends and returns true: the next lookup is a LIST.
func (s *Service) restart(ctx context.Context, why string) bool {
	logging.FromContext(ctx).Debug("looking the signal up again from the API", "reason", why)
	return true
}

// Namespace is where Process writes sig's RemediationRequest, decided from the signal alone: its
// own namespace, or the fallback namespace (fallback true) for cluster-scoped signals and for
// namespaces that cannot exist (not a DNS-1123 label, so no API call is made in them). Process
// still moves to the fallback namespace when the API reports the namespace missing or terminating,
// and then authorizes the sender there itself (see Process). The HTTP layer authorizes the sender
// in this namespace, so this is the one place of the rule.
func (s *Service) Namespace(sig *signal.Signal) (namespace string, fallback bool) {
	if sig.ClusterScoped() || len(validation.IsDNS1123Label(sig.Namespace)) > 0 {
		return s.FallbackNamespace, true
	}
	return sig.Namespace, false
}

// joinExisting handles a create that lost the race for a name (to a racer, or to our own earlier
// attempt whose answer was lost): the object under that name is the active one unless it is
// already terminal, in which case a new round picks the next name.
func (s *Service) joinExisting(ctx context.Context, key client.ObjectKey) (Outcome, error) {
	existing, err := s.get(ctx, key)
	if apierrors.IsNotFound(err) {
		return Outcome{}, errRestart
	}
	if err != nil {
		return Outcome{}, err
	}
	if v1alpha1.IsTerminalPhase(existing.Status.OverallPhase) {
		return Outcome{}, errRestart
	}
	return s.recordOccurrence(ctx, existing)
}

// lookup returns the RemediationRequests of the fingerprint in namespace: from the cache, or, when
// fresh, from a LIST. The objects must not be modified.
func (s *Service) lookup(ctx context.Context, namespace, fingerprint string, fresh bool) ([]*v1alpha1.RemediationRequest, error) {
	if !fresh {
		return s.Cache.ByFingerprint(namespace, fingerprint), nil
	}
	var items []*v1alpha1.RemediationRequest
	err := s.Retry.Do(ctx, "list remediationrequests", func(ctx context.Context) error {
		var list v1alpha1.RemediationRequestList
		if err := s.Client.List(ctx, &list, client.InNamespace(namespace),
			client.MatchingFields{v1alpha1.FieldSignalFingerprint: fingerprint}); err != nil {
			return err
		}
		items = make([]*v1alpha1.RemediationRequest, len(list.Items))
		for i := range list.Items {
			items[i] = &list.Items[i]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list remediationrequests in %q: %w", namespace, err)
	}
	return items, nil
}

func (s *Service) get(ctx context.Context, key client.ObjectKey) (*v1alpha1.RemediationRequest, error) {
	var out *v1alpha1.RemediationRequest
	err := s.Retry.Do(ctx, "get remediationrequest", func(ctx context.Context) error {
		rr := &v1alpha1.RemediationRequest{}
		if err := s.Client.Get(ctx, key, rr); err != nil {
			return err
		}
		out = rr
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get remediationrequest %s: %w", key, err)
	}
	return out, nil
}

// create returns the object as the API created it: its answer carries the uid and the
// resourceVersion that the first status update is based on, so no read follows.
func (s *Service) create(ctx context.Context, obj *v1alpha1.RemediationRequest) (*v1alpha1.RemediationRequest, error) {
	var out *v1alpha1.RemediationRequest
	err := s.Retry.Do(ctx, "create remediationrequest", func(ctx context.Context) error {
		attempt := obj.DeepCopy()
		if err := s.Client.Create(ctx, attempt); err != nil {
			return err
		}
		out = attempt
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.Cache != nil {
		s.Cache.Observe(out)
	}
	return out, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// activeOf returns the non-terminal object of the fingerprint with the highest suffix, if any.
func activeOf(items []*v1alpha1.RemediationRequest, fingerprint string) *v1alpha1.RemediationRequest {
	var best *v1alpha1.RemediationRequest
	bestN := -1
	for _, rr := range items {
		if rr.Spec.SignalFingerprint != fingerprint || v1alpha1.IsTerminalPhase(rr.Status.OverallPhase) {
			continue
		}
		if n := suffix(fingerprint, rr.Name); best == nil || n > bestN {
			best, bestN = rr, n
		}
	}
	return best
}

// nextName is rr-<fp16>-<n>, n one more than the highest suffix in use (0 when none), so that racing
// creators of a new fingerprint compute the same name and collide.
func nextName(fingerprint string, items []*v1alpha1.RemediationRequest) string {
	next := 0
	for _, rr := range items {
		if n := suffix(fingerprint, rr.Name); n >= next {
			next = n + 1
		}
	}
	return namePrefix(fingerprint) + strconv.Itoa(next)
}

func namePrefix(fingerprint string) string {
	return "rr-" + fingerprint[:min(16, len(fingerprint))] + "-"
}

// suffix is n of a name rr-<fp16>-<n>, or -1 for any other name.
func suffix(fingerprint, name string) int {
	rest, ok := strings.CutPrefix(name, namePrefix(fingerprint))
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// namespaceUnusable reports a create refused because of its namespace: it does not exist (404 with
// details.kind namespaces, as the NamespaceLifecycle admission answers) or it is being deleted.
func namespaceUnusable(err error) bool {
	if apierrors.IsNotFound(err) {
		var status apierrors.APIStatus
		if errors.As(err, &status) && status.Status().Details != nil {
			kind := status.Status().Details.Kind
			return kind == "namespaces" || kind == "namespace" || kind == "Namespace"
		}
		return false
	}
	return apierrors.HasStatusCause(err, "NamespaceTerminating")
}
