package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

// Config configures New.
type Config struct {
	// REST is the gateway's own client configuration (kubeconfig or in-cluster, with the kuberetry
	// transport): the reviews take the same path to the API server as every other call of the
	// gateway, so they are made with its identity and meet the same proxies and faults.
	REST *rest.Config
	// CallTimeout bounds one review request (the gateway's --api-call-timeout).
	CallTimeout time.Duration
	// LookupTimeout bounds one TokenReview lookup with its retries (the gateway's
	// --request-deadline). It is needed because k8s.io/apiserver runs that lookup on a context of its
	// own, shared by concurrent callers of the same token; a SubjectAccessReview runs on the
	// caller's context instead.
	LookupTimeout time.Duration
	// Attempts and InitialBackoff shape the retries of a review that failed transiently (the
	// gateway's --retry-attempts and --retry-initial-backoff): k8s.io/apiserver's webhook loop retries
	// 429, 500, 502, 504 and answers carrying a retry delay, doubling the wait, always within
	// LookupTimeout or the caller's deadline; 1 attempt means no retry. There is no cap: a
	// wait.Backoff cap ends the loop as soon as it is reached.
	Attempts       int
	InitialBackoff time.Duration
	// AuthnCacheTTL is how long an accepted token is remembered, AuthnDenyCacheTTL how long a
	// refused one is (refusals.go); AllowCacheTTL and DenyCacheTTL how long an allowed or refused
	// permission is. Zero disables that cache. Failed reviews are never cached.
	AuthnCacheTTL, AuthnDenyCacheTTL, AllowCacheTTL, DenyCacheTTL time.Duration
	// Metrics receives the decision, review request and cache hit counts.
	Metrics *metrics.Metrics
}

// New returns a Guard that delegates to the API server of cfg.REST, through
// authenticatorfactory.DelegatingAuthenticatorConfig (bearer tokens only: no anonymous access, no
// client certificates, no front-proxy headers) and authorizerfactory.DelegatingAuthorizerConfig.
func New(cfg Config) (*Guard, error) {
	if cfg.REST == nil || cfg.Metrics == nil {
		return nil, errors.New("auth: REST and Metrics are required")
	}
	g := &Guard{metrics: cfg.Metrics, hits: map[string]*hitTracker{
		metrics.StageAuthentication: {},
		metrics.StageAuthorization:  {},
	}}
	reviewCfg := rest.CopyConfig(cfg.REST)
	reviewCfg.Timeout = cfg.CallTimeout
	reviewCfg.Wrap(func(next http.RoundTripper) http.RoundTripper { return &reviewCounter{next: next, guard: g} })

	authnClient, err := authenticationv1client.NewForConfig(reviewCfg)
	if err != nil {
		return nil, fmt.Errorf("create TokenReview client: %w", err)
	}
	authzClient, err := authorizationv1client.NewForConfig(reviewCfg)
	if err != nil {
		return nil, fmt.Errorf("create SubjectAccessReview client: %w", err)
	}
	backoff := wait.Backoff{Duration: cfg.InitialBackoff, Factor: 2, Jitter: 0.2, Steps: max(1, cfg.Attempts)}

	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		TokenAccessReviewClient:  authnClient,
		TokenAccessReviewTimeout: cfg.LookupTimeout,
		WebhookRetryBackoff:      &backoff,
		CacheTTL:                 cfg.AuthnCacheTTL,
	}.New()
	if err != nil {
		return nil, fmt.Errorf("create delegating authenticator: %w", err)
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: authzClient,
		AllowCacheTTL:             cfg.AllowCacheTTL,
		DenyCacheTTL:              cfg.DenyCacheTTL,
		WebhookRetryBackoff:       &backoff,
	}.New()
	if err != nil {
		return nil, fmt.Errorf("create delegating authorizer: %w", err)
	}
	g.authn, g.authz = authn, authz
	g.withRefusalCache(cfg.AuthnDenyCacheTTL)
	return g, nil
}

// reviewCounter counts the review requests on their way to the API server, and the successful
// ones for the cache-hit count (see hitTracker).
type reviewCounter struct {
	next  http.RoundTripper
	guard *Guard
}

func (c *reviewCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	stage := reviewStage(req.URL.Path)
	if stage != "" {
		req = idempotent(req)
	}
	resp, err := c.next.RoundTrip(req)
	if stage != "" {
		c.guard.metrics.AuthReviewRequests.WithLabelValues(stage).Inc()
		if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			c.guard.hits[stage].responses.Add(1)
		}
	}
	return resp, err
}

// idempotent marks a review request as safe to send twice, which it is: a TokenReview or
// SubjectAccessReview stores nothing. net/http then repeats it once on a new connection when a
// pooled one turns out dead (EOF or a reset before any answer), as after an API outage or a proxy
// restart; k8s.io/apiserver's own webhook retry does not repeat on EOF, and the sender would get
// 503 with the API up. An Idempotency-Key of no value marks the request without sending a header.
func idempotent(req *http.Request) *http.Request {
	if _, ok := req.Header["Idempotency-Key"]; ok {
		return req
	}
	out := req.Clone(req.Context())
	out.Header["Idempotency-Key"] = nil
	return out
}

// WrappedRoundTripper lets client-go reach the transport below to cancel a timed-out request.
func (c *reviewCounter) WrappedRoundTripper() http.RoundTripper { return c.next }

func reviewStage(path string) string {
	switch {
	case strings.HasSuffix(path, "/tokenreviews"):
		return metrics.StageAuthentication
	case strings.HasSuffix(path, "/subjectaccessreviews"):
		return metrics.StageAuthorization
	}
	return ""
}
