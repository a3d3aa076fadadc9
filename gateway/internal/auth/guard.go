// Package auth decides who may call the gateway. A caller presents a bearer token; the gateway asks
// the API server who it is (TokenReview) and whether it may create RemediationRequests in each
// namespace the request would write to, or read /metrics (SubjectAccessReview). Both reviews are
// delegated through k8s.io/apiserver's delegating authenticator and authorizer, with their caches,
// as controller-runtime's metrics filter and kube-rbac-proxy do, so that a warm cache costs no API
// call per request.
//
// The package's one job beyond delegation is to tell three answers apart, because they mean
// different things to the sender: the token or permission was refused (401, 403: do not retry),
// or the review itself failed (503: retry later). k8s.io/apiserver reports a refused token and a
// failed TokenReview the same way, as (nil, false, err); see reviewFailed for how they are told
// apart.
//
// There is no way to build or configure a Guard that skips either check: the contract suite
// proves its authorization scenarios can fail with source mutants (hack/mutants/catalog.yaml),
// never with a hook in the product.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

// RBAC of the gateway for delegated authentication and authorization: exactly the two reviews.
// controller-gen adds them to the ClusterRole kubernaut-gateway (gateway/config/rbac/role.yaml).
//
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// What a sender must be allowed, in every namespace a request writes to.
const (
	SignalVerb = "create"
	// MetricsPath and MetricsVerb are the non-resource permission a scraper of /metrics needs.
	MetricsPath = "/metrics"
	MetricsVerb = "get"
)

// ErrUnauthenticated marks a caller without a valid bearer token: missing, malformed, unknown,
// expired or revoked. Every *UnauthenticatedError is one (errors.Is).
var ErrUnauthenticated = errors.New("unauthenticated")

// UnauthenticatedError is a caller without a valid bearer token. The HTTP layer answers 401 with
// Reason as the detail; Err (the TokenReview's own message, if any) is for the log only, since the
// caller is not known.
type UnauthenticatedError struct {
	Reason string
	Err    error
}

func (e *UnauthenticatedError) Error() string {
	if e.Err == nil {
		return "unauthenticated: " + e.Reason
	}
	return "unauthenticated: " + e.Reason + ": " + e.Err.Error()
}

func (e *UnauthenticatedError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnauthenticated) true.
func (e *UnauthenticatedError) Is(target error) bool { return target == ErrUnauthenticated }

// Reasons of UnauthenticatedError.
const (
	ReasonMissingHeader   = "the Authorization header is missing; send Authorization: Bearer <token>"
	ReasonMalformedHeader = "the Authorization header is malformed; send Authorization: Bearer <token>"
	ReasonTokenRefused    = "the bearer token is not valid (unknown, expired or revoked)"
)

// ForbiddenError is an authenticated caller refused a permission. The HTTP layer answers 403.
type ForbiddenError struct {
	User string
	// Namespaces are the refused namespaces, sorted; empty when Path was refused.
	Namespaces []string
	// Path is the refused non-resource path, if any.
	Path string
}

// Error is the 403's detail. It names what was refused and deliberately not the user: a
// ServiceAccount's username contains its own namespace, which would read as a refused one (the
// user is on every log line of the request as sender).
func (e *ForbiddenError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("the sender may not %s %s", MetricsVerb, e.Path)
	}
	return fmt.Sprintf("the sender may not %s %s.%s in namespaces: %s", SignalVerb,
		v1alpha1.ResourcePlural, v1alpha1.GroupVersion.Group, strings.Join(e.Namespaces, ", "))
}

// UnavailableError is a review that could not be made (the API answered 5xx, timed out, refused the
// connection, or the gateway lacks the review permission). It says nothing about the caller, so the
// HTTP layer answers 503 with Retry-After, never 401 or 403.
type UnavailableError struct {
	// Stage is metrics.StageAuthentication or metrics.StageAuthorization.
	Stage string
	Err   error
}

func (e *UnavailableError) Error() string {
	return "the " + e.Review() + " could not be made: " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Review is the API that failed: TokenReview or SubjectAccessReview.
func (e *UnavailableError) Review() string {
	if e.Stage == metrics.StageAuthentication {
		return "TokenReview"
	}
	return "SubjectAccessReview"
}

// Guard authenticates and authorizes callers. It is safe for concurrent use.
type Guard struct {
	authn   authenticator.Request
	authz   authorizer.Authorizer
	metrics *metrics.Metrics
	// hits derive the cache-hit counters; nil unless New counts the review requests.
	hits map[string]*hitTracker
	// lookups coalesces concurrent authentications of one token into one (see refusals.go).
	lookups singleflight.Group
	// refused remembers tokens the TokenReview refused, for denyTTL; nil when denyTTL is 0.
	refused *cache.Expiring
	denyTTL time.Duration
}

// NewGuard wraps any authenticator and authorizer (tests pass fakes; New passes the delegating
// ones). Decisions are counted on m; cache hits are counted only by Guards made with New.
func NewGuard(authn authenticator.Request, authz authorizer.Authorizer, m *metrics.Metrics) *Guard {
	return &Guard{authn: authn, authz: authz, metrics: m}
}

// Authenticate returns the caller of r. Errors are *UnauthenticatedError or *UnavailableError.
// ctx bounds the wait for the TokenReview. Only the Authorization header is handed to the
// authenticator, so the bearer token is the one way in (k8s.io/apiserver's union would also take a
// token from a WebSocket subprotocol header) and r is left as it is. A token refused within the
// deny TTL is refused again without a review, and concurrent callers of one token share one
// lookup (refusals.go).
func (g *Guard) Authenticate(ctx context.Context, r *http.Request) (user.Info, error) {
	header := r.Header.Get("Authorization")
	token, err := checkBearer(header)
	if err != nil {
		g.decided(metrics.StageAuthentication, metrics.OutcomeUnauthenticated, false)
		return nil, err
	}
	res := g.lookup(ctx, header, token)
	g.decided(metrics.StageAuthentication, res.outcome, res.outcome != metrics.OutcomeError)
	return res.user, res.err
}

// review asks the authenticator about the header once and classifies its answer.
func (g *Guard) review(ctx context.Context, header string) lookupResult {
	only := (&http.Request{Header: http.Header{"Authorization": {header}}}).WithContext(ctx)
	resp, ok, err := g.authn.AuthenticateRequest(only)
	switch {
	case err != nil && (reviewFailed(err) || ctx.Err() != nil):
		return lookupResult{outcome: metrics.OutcomeError, err: &UnavailableError{Stage: metrics.StageAuthentication, Err: err}}
	case err != nil || !ok || resp == nil || resp.User == nil || resp.User.GetName() == "":
		return lookupResult{outcome: metrics.OutcomeUnauthenticated, err: &UnauthenticatedError{Reason: ReasonTokenRefused, Err: err}}
	}
	return lookupResult{outcome: metrics.OutcomeAllowed, user: resp.User}
}

// AuthorizeSignals checks that u may create RemediationRequests in every one of namespaces
// (duplicates allowed, order irrelevant). It returns *ForbiddenError naming every refused
// namespace, or *UnavailableError. The namespaces are asked in sorted order and the first failed
// review ends the check (the remaining ones would most likely fail too, and each costs retries);
// a refusal met before it still answers 403, since the request cannot succeed anyway.
func (g *Guard) AuthorizeSignals(ctx context.Context, u user.Info, namespaces []string) error {
	namespaces = slices.Compact(slices.Sorted(slices.Values(namespaces)))
	var refused []string
	for _, ns := range namespaces {
		allowed, err := g.authorize(ctx, authorizer.AttributesRecord{
			User:            u,
			Verb:            SignalVerb,
			Namespace:       ns,
			APIGroup:        v1alpha1.GroupVersion.Group,
			APIVersion:      v1alpha1.GroupVersion.Version,
			Resource:        v1alpha1.ResourcePlural,
			ResourceRequest: true,
		})
		if err != nil {
			if len(refused) > 0 {
				break
			}
			return err
		}
		if !allowed {
			refused = append(refused, ns)
		}
	}
	if len(refused) > 0 {
		return &ForbiddenError{User: u.GetName(), Namespaces: refused}
	}
	return nil
}

// AuthorizeMetrics checks that u may get the non-resource URL /metrics.
func (g *Guard) AuthorizeMetrics(ctx context.Context, u user.Info) error {
	allowed, err := g.authorize(ctx, authorizer.AttributesRecord{User: u, Verb: MetricsVerb, Path: MetricsPath})
	if err != nil {
		return err
	}
	if !allowed {
		return &ForbiddenError{User: u.GetName(), Path: MetricsPath}
	}
	return nil
}

// authorize asks one question. Only DecisionAllow allows: the delegating authorizer answers
// DecisionNoOpinion both for "not allowed" (with a nil error) and for a failed review (with the
// error), so the error decides between forbidden and unavailable.
func (g *Guard) authorize(ctx context.Context, attrs authorizer.AttributesRecord) (bool, error) {
	decision, _, err := g.authz.Authorize(ctx, attrs)
	switch {
	case err != nil:
		g.decided(metrics.StageAuthorization, metrics.OutcomeError, false)
		return false, &UnavailableError{Stage: metrics.StageAuthorization, Err: err}
	case decision == authorizer.DecisionAllow:
		g.decided(metrics.StageAuthorization, metrics.OutcomeAllowed, true)
		return true, nil
	default:
		g.decided(metrics.StageAuthorization, metrics.OutcomeForbidden, true)
		return false, nil
	}
}

// checkBearer refuses what k8s.io/apiserver's bearer-token authenticator would skip without asking
// anyone: no header, another scheme, or an empty token. Refusing it here gives the caller a precise
// reason and keeps junk from reaching the TokenReview API. It returns the token as that
// authenticator reads it.
func checkBearer(header string) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", &UnauthenticatedError{Reason: ReasonMissingHeader}
	}
	parts := strings.SplitN(header, " ", 3)
	if len(parts) < 2 || !strings.EqualFold(parts[0], "bearer") || parts[1] == "" {
		return "", &UnauthenticatedError{Reason: ReasonMalformedHeader}
	}
	return parts[1], nil
}

// decided counts a decision. lookup says that the authenticator or authorizer gave a definitive
// answer (from its cache or from a review), which feeds the cache-hit count.
func (g *Guard) decided(stage, outcome string, lookup bool) {
	g.metrics.AuthDecisions.WithLabelValues(stage, outcome).Inc()
	if t := g.hits[stage]; t != nil && lookup {
		t.lookedUp(g.metrics.AuthCacheHits.WithLabelValues(stage))
	}
}

// hitTracker derives cache hits, because k8s.io/apiserver's caches do not report them and the
// TokenReview lookup runs on a context detached from the request (so a call cannot be traced back to
// the decision that caused it). Every definitive answer (lookups) either came from the cache or from
// exactly one successful (2xx) review response: failed reviews are not cached and end in an error
// decision, which is not a lookup, and retries before a success fail. So hits = lookups - 2xx
// responses. A response is counted in the transport before its lookup returns, so the difference
// never runs ahead of the truth; it can only fall behind, when a review succeeded for a caller that
// had already given up, or when concurrent callers of one token shared one review (each caller but
// the first then counts as a hit, which it is: it caused no call). The exported counter follows the
// difference upwards only, so it stays monotonic.
type hitTracker struct {
	lookups, responses atomic.Int64
	mu                 sync.Mutex
	reported           int64
}

func (t *hitTracker) lookedUp(c prometheus.Counter) {
	t.lookups.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if h := t.lookups.Load() - t.responses.Load(); h > t.reported {
		c.Add(float64(h - t.reported))
		t.reported = h
	}
}
