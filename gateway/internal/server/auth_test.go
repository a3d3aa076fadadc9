package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
	"github.com/kubernaut/gateway-contract/gateway/internal/server"
)

// alerts is an Alertmanager body with one firing pod alert per namespace ("" for none).
func alerts(namespaces ...string) []byte {
	var parts []string
	for i, ns := range namespaces {
		parts = append(parts, fmt.Sprintf(`{"labels":{"alertname":"A%d","namespace":%q,"pod":"p"}}`, i, ns))
	}
	return []byte(`{"alerts":[` + strings.Join(parts, ",") + `]}`)
}

func assertProblem(t *testing.T, rec interface {
	Result() *http.Response
}, code int, slug string) server.Problem {
	t.Helper()
	resp := rec.Result()
	require.Equal(t, code, resp.StatusCode)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var p server.Problem
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	assert.Equal(t, "https://kubernaut.ai/problems/"+slug, p.Type)
	assert.Equal(t, code, p.Status)
	assert.NotEmpty(t, p.Title)
	return p
}

// A caller without a valid token gets 401 with WWW-Authenticate on both endpoints, before any
// validation, and nothing reaches the cluster.
func TestUnauthenticatedIs401(t *testing.T) {
	tests := []struct {
		name, authorization, wantDetail string
	}{
		{"no header", "", "missing"},
		{"basic scheme", "Basic dXNlcjpwYXNz", "malformed"},
		{"bearer without token", "Bearer", "malformed"},
		{"bearer with blank token", "Bearer  ", "malformed"},
		{"bearer with a space before the token", "Bearer  t", "malformed"},
		{"unknown token", "Bearer nobody", "not valid"},
	}
	for _, tt := range tests {
		for _, path := range []string{server.PathPrometheus, server.PathKubernetesEvent} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				g := newGateway(t)
				// text/plain and an invalid body: an anonymous caller must not learn about validation.
				rec := g.do(http.MethodPost, path, "text/plain", []byte(`{`), "Authorization", tt.authorization)
				p := assertProblem(t, rec, http.StatusUnauthorized, server.SlugUnauthenticated)
				assert.Equal(t, "Bearer", rec.Header().Get("WWW-Authenticate"))
				assert.Contains(t, p.Detail, tt.wantDetail)
				assert.Zero(t, g.faults.TotalCalls())
				assert.Empty(t, g.ids.askedAbout(), "no authorization without authentication")
			})
		}
	}
}

// 405 stays first: the method is wrong whoever asks.
func TestMethodBeforeAuthentication(t *testing.T) {
	g := newGateway(t)
	rec := g.do(http.MethodGet, server.PathPrometheus, "", nil, "Authorization", "")
	assertProblem(t, rec, http.StatusMethodNotAllowed, server.SlugMethodNotAllowed)
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
}

// Validation comes after authentication and before authorization: an authenticated caller learns
// that its body is bad even where it may not write.
func TestValidationBeforeAuthorization(t *testing.T) {
	g := newGateway(t)
	g.ids.addUser("nowhere", "nobody-allowed")
	rec := g.do(http.MethodPost, server.PathPrometheus, "application/json", []byte(`{"alerts":[]}`), "Authorization", "Bearer nowhere")
	assertProblem(t, rec, http.StatusBadRequest, server.SlugInvalidPayload)
	assert.Empty(t, g.ids.askedAbout())
}

// A batch is authorized in every namespace it writes to, all or nothing: one refused namespace
// refuses the batch, names every refused namespace (sorted), and stores nothing.
func TestForbiddenBatchStoresNothing(t *testing.T) {
	g := newGateway(t)
	g.ids.addUser("team-a", "team-a-sender", "a")
	rec := g.postAlerts(alerts("c", "a", "b", "a", "", "Bad_NS"), "Authorization", "Bearer team-a")
	p := assertProblem(t, rec, http.StatusForbidden, server.SlugForbidden)
	assert.NotContains(t, p.Detail, "team-a-sender", "a ServiceAccount's username names its own namespace: keep it out")
	assert.Equal(t, "the sender may not create remediationrequests.kubernaut.ai in namespaces: b, c, "+fallbackNS, p.Detail,
		"no namespace and an invalid one both mean the fallback namespace")
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
	assert.Zero(t, g.faults.TotalCalls(), "nothing may reach the cluster")
	assert.Equal(t, []string{"a", "b", "c", fallbackNS}, g.ids.askedAbout(), "each namespace asked once, sorted")
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.Rejected.WithLabelValues("prometheus", "403")))
	assert.Zero(t, testutil.ToFloat64(g.metrics.Received.WithLabelValues("prometheus")))
}

func TestAuthorizedInEveryNamespace(t *testing.T) {
	g := newGateway(t)
	g.ids.addUser("ab", "ab-sender", "a", "b", fallbackNS)
	rec := g.postAlerts(alerts("a", "b", ""), "Authorization", "Bearer ab")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Len(t, g.items(t), 3)

	rec = g.postEvent([]byte(`{"type":"Warning","reason":"NodeNotReady","involvedObject":{"kind":"Node","name":"n1"}}`), "Authorization", "Bearer ab")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	g.ids.addUser("a-only", "a-only", "a")
	rec = g.postEvent([]byte(`{"type":"Warning","reason":"NodeNotReady","involvedObject":{"kind":"Node","name":"n2"}}`), "Authorization", "Bearer a-only")
	p := assertProblem(t, rec, http.StatusForbidden, server.SlugForbidden)
	assert.Contains(t, p.Detail, "in namespaces: "+fallbackNS, "a cluster-scoped event is written to the fallback namespace")
}

// Signals that write nothing need no permission.
func TestIgnoredSignalsNeedOnlyAuthentication(t *testing.T) {
	g := newGateway(t)
	g.ids.addUser("nowhere", "nobody-allowed")
	rec := g.postAlerts([]byte(`{"alerts":[{"status":"resolved","labels":{"alertname":"A","namespace":"n","pod":"p"}}]}`), "Authorization", "Bearer nowhere")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = g.postEvent([]byte(`{"type":"Normal","reason":"Pulled","involvedObject":{"kind":"Pod","name":"p","namespace":"n"}}`), "Authorization", "Bearer nowhere")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Empty(t, g.ids.askedAbout())
}

// A review that cannot be made is never the caller's fault: 503 with Retry-After, nothing written.
func TestReviewFailureIs503(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "https://api/apis/authentication.k8s.io/v1/tokenreviews",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name               string
		authnErr, authzErr error
	}{
		{"TokenReview 503", apierrors.NewServiceUnavailable("down"), nil},
		{"TokenReview 500", apierrors.NewInternalError(fmt.Errorf("etcd")), nil},
		{"TokenReview connection refused", refused, nil},
		{"TokenReview 403: the gateway lacks the permission", apierrors.NewForbidden(
			schema.GroupResource{Group: "authentication.k8s.io", Resource: "tokenreviews"}, "", errors.New("no RBAC")), nil},
		{"SubjectAccessReview timeout", nil, apierrors.NewTimeoutError("slow", 1)},
		{"SubjectAccessReview connection refused", nil, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t)
			g.ids.failReviews(tt.authnErr, tt.authzErr)
			rec := g.postAlerts(alerts("a"))
			assertProblem(t, rec, http.StatusServiceUnavailable, server.SlugAuthUnavailable)
			assert.Equal(t, "5", rec.Header().Get("Retry-After"))
			assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
			assert.Zero(t, g.faults.TotalCalls())
			stage := "authentication"
			if tt.authzErr != nil {
				stage = "authorization"
			}
			assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.AuthDecisions.WithLabelValues(stage, "error")))
		})
	}
}

// The sender is recorded on the object it creates, and only there: a duplicate from another
// sender leaves the annotation alone.
func TestSenderAnnotationKeepsTheFirst(t *testing.T) {
	g := newGateway(t)
	g.ids.addUser("other", "other-sender", everywhere)
	require.Equal(t, http.StatusCreated, g.postAlerts(alerts("a")).Code)
	require.Equal(t, http.StatusAccepted, g.postAlerts(alerts("a"), "Authorization", "Bearer other").Code)
	items := g.items(t)
	require.Len(t, items, 1)
	assert.Equal(t, senderName, items[0].Annotations[v1alpha1.AnnotationSender])
	assert.EqualValues(t, 2, items[0].Status.Deduplication.OccurrenceCount)
}

// Every log line of an authenticated request carries the sender, the access line included.
func TestSenderOnEveryLogLine(t *testing.T) {
	var buf bytes.Buffer
	g := newGatewayWithLogger(t, logging.New(&buf, -8))
	require.Equal(t, http.StatusCreated, g.postAlerts(alerts("a", "b")).Code)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 3)
	for _, line := range lines {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v))
		assert.Equal(t, senderName, v["sender"], line)
	}

	buf.Reset()
	g.postAlerts(alerts("a"), "Authorization", "")
	assert.NotContains(t, buf.String(), `"sender"`, "an unauthenticated request has no sender")
	assert.Contains(t, buf.String(), `"request handled"`)
}

func TestMetricsNeedsPermission(t *testing.T) {
	g := newGateway(t)
	g.ids.addUser("scraper", "prometheus", "/metrics")
	g.ids.addUser("sender-only", "sender-only", "a")

	rec := g.do(http.MethodGet, server.PathMetrics, "", nil, "Authorization", "")
	assertProblem(t, rec, http.StatusUnauthorized, server.SlugUnauthenticated)
	assert.Equal(t, "Bearer", rec.Header().Get("WWW-Authenticate"))

	rec = g.do(http.MethodGet, server.PathMetrics, "", nil, "Authorization", "Bearer sender-only")
	p := assertProblem(t, rec, http.StatusForbidden, server.SlugForbidden)
	assert.Contains(t, p.Detail, "/metrics")

	rec = g.do(http.MethodGet, server.PathMetrics, "", nil, "Authorization", "Bearer scraper")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "gateway_auth_decisions_total")

	g.ids.failReviews(nil, apierrors.NewServiceUnavailable("down"))
	rec = g.do(http.MethodGet, server.PathMetrics, "", nil, "Authorization", "Bearer scraper")
	assertProblem(t, rec, http.StatusServiceUnavailable, server.SlugAuthUnavailable)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
}

func TestHealthEndpointsStayOpen(t *testing.T) {
	g := newGateway(t)
	for _, path := range []string{server.PathHealthz, server.PathReadyz} {
		assert.Equal(t, http.StatusOK, g.do(http.MethodGet, path, "", nil, "Authorization", "").Code, path)
	}
}

func TestAuthDecisionMetrics(t *testing.T) {
	g := newGateway(t)
	g.ids.addUser("a-only", "a-only", "a")
	g.postAlerts(alerts("a"), "Authorization", "")
	g.postAlerts(alerts("a"), "Authorization", "Bearer unknown")
	g.postAlerts(alerts("a", "b"), "Authorization", "Bearer a-only")
	g.postAlerts(alerts("a"))

	d := g.metrics.AuthDecisions
	assert.Equal(t, 2.0, testutil.ToFloat64(d.WithLabelValues("authentication", "unauthenticated")))
	assert.Equal(t, 2.0, testutil.ToFloat64(d.WithLabelValues("authentication", "allowed")))
	assert.Equal(t, 2.0, testutil.ToFloat64(d.WithLabelValues("authorization", "allowed")), "a for a-only, a for the sender")
	assert.Equal(t, 1.0, testutil.ToFloat64(d.WithLabelValues("authorization", "forbidden")))
	assert.Equal(t, 2.0, testutil.ToFloat64(g.metrics.Rejected.WithLabelValues("prometheus", "401")))
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.Rejected.WithLabelValues("prometheus", "403")))
}
