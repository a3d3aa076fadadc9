package auth

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

func request(authorization string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/signals/prometheus", nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

func newTestGuard(t *testing.T, cfg Config) *Guard {
	t.Helper()
	g, err := New(cfg)
	require.NoError(t, err)
	return g
}

// The real delegating chain against a TokenReview API: accepted, cached, refused.
func TestDelegatedAuthentication(t *testing.T) {
	api := newFakeAPI(t)
	m := metrics.New(kuberetry.TransientReasons)
	g := newTestGuard(t, testConfig(api.srv.URL, m))
	ctx := context.Background()

	for range 3 {
		u, err := g.Authenticate(ctx, request("Bearer good"))
		require.NoError(t, err)
		assert.Equal(t, "system:serviceaccount:monitoring:alertmanager", u.GetName())
		assert.Contains(t, u.GetGroups(), user.AllAuthenticated)
	}
	assert.EqualValues(t, 1, api.tokenReviews.Load(), "an accepted token is cached")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.AuthCacheHits.WithLabelValues(metrics.StageAuthentication)))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.AuthReviewRequests.WithLabelValues(metrics.StageAuthentication)))

	for range 2 {
		_, err := g.Authenticate(ctx, request("Bearer forged"))
		var unauth *UnauthenticatedError
		require.ErrorAs(t, err, &unauth, "a refused token is a 401, not a failed review")
		assert.Equal(t, ReasonTokenRefused, unauth.Reason)
		assert.ErrorIs(t, err, ErrUnauthenticated)
		assert.Contains(t, err.Error(), "token lookup failed", "the review's message is kept for the log")
	}
	assert.EqualValues(t, 3, api.tokenReviews.Load(), "refused tokens carry an error and are not cached")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.AuthCacheHits.WithLabelValues(metrics.StageAuthentication)))

	// A valid token in a WebSocket subprotocol header is not a way in.
	ws := request("Bearer forged")
	ws.Header.Set("Connection", "Upgrade")
	ws.Header.Set("Upgrade", "websocket")
	ws.Header.Set("Sec-WebSocket-Protocol", "base64url.bearer.authorization.k8s.io."+base64.RawURLEncoding.EncodeToString([]byte("good"))+", v4.channel.k8s.io")
	_, err := g.Authenticate(ctx, ws)
	require.ErrorIs(t, err, ErrUnauthenticated)

	_, err = g.Authenticate(ctx, request(""))
	require.ErrorIs(t, err, ErrUnauthenticated)
	assert.EqualValues(t, 4, api.tokenReviews.Load(), "no header, no review")
	assert.Equal(t, 3.0, testutil.ToFloat64(m.AuthDecisions.WithLabelValues(metrics.StageAuthentication, metrics.OutcomeAllowed)))
	assert.Equal(t, 4.0, testutil.ToFloat64(m.AuthDecisions.WithLabelValues(metrics.StageAuthentication, metrics.OutcomeUnauthenticated)))
}

// Every way a TokenReview can fail is an *UnavailableError (503), never a 401, and comes back well
// within the lookup timeout.
func TestDelegatedAuthenticationFailures(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		return "http://" + addr
	}
	tests := []struct {
		name      string
		code      int32
		host      func(api *fakeAPI) string
		wantCalls int64
	}{
		{"503", http.StatusServiceUnavailable, nil, 1},
		{"500 is retried", http.StatusInternalServerError, nil, 3},
		{"429 is retried", http.StatusTooManyRequests, nil, 3},
		{"502 is retried", http.StatusBadGateway, nil, 3},
		{"403: the gateway may not review tokens", http.StatusForbidden, nil, 1},
		{"401: the gateway's own credentials are refused", http.StatusUnauthorized, nil, 1},
		{"black hole", -1, nil, 1},
		{"connection refused", 0, func(*fakeAPI) string { return closed() }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.failAuthn.Store(tt.code)
			host := api.srv.URL
			if tt.host != nil {
				host = tt.host(api)
			}
			m := metrics.New(kuberetry.TransientReasons)
			cfg := testConfig(host, m)
			cfg.CallTimeout = 200 * time.Millisecond
			g := newTestGuard(t, cfg)
			start := time.Now()
			_, err := g.Authenticate(context.Background(), request("Bearer good"))
			var unavailable *UnavailableError
			require.ErrorAs(t, err, &unavailable)
			assert.NotErrorIs(t, err, ErrUnauthenticated)
			assert.Equal(t, metrics.StageAuthentication, unavailable.Stage)
			assert.Less(t, time.Since(start), 2*time.Second)
			assert.Equal(t, tt.wantCalls, api.tokenReviews.Load())
			assert.Equal(t, 1.0, testutil.ToFloat64(m.AuthDecisions.WithLabelValues(metrics.StageAuthentication, metrics.OutcomeError)))
			assert.Zero(t, testutil.ToFloat64(m.AuthCacheHits.WithLabelValues(metrics.StageAuthentication)))

			// A failure is not cached: once the API is back, the same token is accepted.
			api.failAuthn.Store(0)
			if tt.host == nil {
				_, err = g.Authenticate(context.Background(), request("Bearer good"))
				require.NoError(t, err)
			}
		})
	}
}

// The caller's deadline bounds the TokenReview even though k8s.io/apiserver runs it detached.
func TestAuthenticationHonoursTheCallerDeadline(t *testing.T) {
	api := newFakeAPI(t)
	api.failAuthn.Store(-1)
	cfg := testConfig(api.srv.URL, metrics.New(kuberetry.TransientReasons))
	cfg.CallTimeout = 10 * time.Second
	cfg.LookupTimeout = 500 * time.Millisecond // only so that the fake API's handler ends soon
	g := newTestGuard(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := g.Authenticate(ctx, request("Bearer good"))
	var unavailable *UnavailableError
	require.ErrorAs(t, err, &unavailable)
	assert.Less(t, time.Since(start), time.Second)
}

// The SubjectAccessReviews ask exactly for create on remediationrequests.kubernaut.ai in each
// namespace, as the authenticated user; answers are cached, allowed and refused alike.
func TestDelegatedAuthorization(t *testing.T) {
	api := newFakeAPI(t)
	api.allow = func(s authorizationv1.SubjectAccessReviewSpec) bool {
		return s.ResourceAttributes != nil && s.ResourceAttributes.Namespace == "a" ||
			s.NonResourceAttributes != nil && s.NonResourceAttributes.Path == "/metrics"
	}
	m := metrics.New(kuberetry.TransientReasons)
	g := newTestGuard(t, testConfig(api.srv.URL, m))
	ctx := context.Background()
	u, err := g.Authenticate(ctx, request("Bearer good"))
	require.NoError(t, err)

	require.NoError(t, g.AuthorizeSignals(ctx, u, []string{"a", "a"}))
	err = g.AuthorizeSignals(ctx, u, []string{"c", "a", "b"})
	var forbidden *ForbiddenError
	require.ErrorAs(t, err, &forbidden)
	assert.Equal(t, []string{"b", "c"}, forbidden.Namespaces)
	assert.Contains(t, err.Error(), "may not create remediationrequests.kubernaut.ai in namespaces: b, c")
	require.NoError(t, g.AuthorizeMetrics(ctx, u))

	specs := api.accessReviewSpecs()
	require.Len(t, specs, 4, "a (once: cached), b, c, /metrics")
	ra := specs[0].ResourceAttributes
	require.NotNil(t, ra)
	assert.Equal(t, authorizationv1.ResourceAttributes{Namespace: "a", Verb: "create", Group: "kubernaut.ai",
		Version: "v1alpha1", Resource: "remediationrequests"}, *ra)
	assert.Equal(t, "system:serviceaccount:monitoring:alertmanager", specs[0].User)
	assert.Contains(t, specs[0].Groups, user.AllAuthenticated)
	assert.Equal(t, &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}, specs[3].NonResourceAttributes)

	require.ErrorAs(t, g.AuthorizeSignals(ctx, u, []string{"b"}), &forbidden)
	assert.EqualValues(t, 4, api.accessReviews.Load(), "a refusal is cached for the deny TTL")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.AuthCacheHits.WithLabelValues(metrics.StageAuthorization)))
	assert.Equal(t, 3.0, testutil.ToFloat64(m.AuthDecisions.WithLabelValues(metrics.StageAuthorization, metrics.OutcomeForbidden)))
	assert.Equal(t, 3.0, testutil.ToFloat64(m.AuthDecisions.WithLabelValues(metrics.StageAuthorization, metrics.OutcomeAllowed)))
}

func TestDelegatedAuthorizationFailures(t *testing.T) {
	for _, code := range []int32{http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusForbidden, -1} {
		api := newFakeAPI(t)
		m := metrics.New(kuberetry.TransientReasons)
		cfg := testConfig(api.srv.URL, m)
		cfg.CallTimeout = 200 * time.Millisecond
		g := newTestGuard(t, cfg)
		u, err := g.Authenticate(context.Background(), request("Bearer good"))
		require.NoError(t, err)
		api.failAuthz.Store(code)
		err = g.AuthorizeSignals(context.Background(), u, []string{"a", "b"})
		var unavailable *UnavailableError
		require.ErrorAs(t, err, &unavailable, "code %d", code)
		assert.Equal(t, metrics.StageAuthorization, unavailable.Stage)
		assert.Equal(t, 1.0, testutil.ToFloat64(m.AuthDecisions.WithLabelValues(metrics.StageAuthorization, metrics.OutcomeError)),
			"the first failed review ends the check (code %d)", code)
		require.ErrorAs(t, g.AuthorizeMetrics(context.Background(), u), &unavailable)

		api.failAuthz.Store(0)
		require.NoError(t, g.AuthorizeSignals(context.Background(), u, []string{"a", "b"}), "failures are not cached")
	}
}

func TestNewRequiresItsInputs(t *testing.T) {
	_, err := New(Config{})
	require.Error(t, err)
}

// Under concurrency the derived hit count settles on exactly the decisions that made no review.
func TestCacheHitsUnderConcurrency(t *testing.T) {
	api := newFakeAPI(t)
	m := metrics.New(kuberetry.TransientReasons)
	g := newTestGuard(t, testConfig(api.srv.URL, m))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				u, err := g.Authenticate(context.Background(), request("Bearer good"))
				if !assert.NoError(t, err) {
					return
				}
				assert.NoError(t, g.AuthorizeSignals(context.Background(), u, []string{"a", "b"}))
			}
		})
	}
	wg.Wait()
	for stage, reviews := range map[string]int64{
		metrics.StageAuthentication: api.tokenReviews.Load(),
		metrics.StageAuthorization:  api.accessReviews.Load(),
	} {
		decisions := testutil.ToFloat64(m.AuthDecisions.WithLabelValues(stage, metrics.OutcomeAllowed))
		assert.Equal(t, decisions-float64(reviews), testutil.ToFloat64(m.AuthCacheHits.WithLabelValues(stage)), stage)
		assert.Equal(t, float64(reviews), testutil.ToFloat64(m.AuthReviewRequests.WithLabelValues(stage)), stage)
	}
}
