package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/auth"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
	"github.com/kubernaut/gateway-contract/gateway/internal/remediation"
	"github.com/kubernaut/gateway-contract/gateway/internal/server"
)

const fallbackNS = "kubernaut-system"

// The default caller of every test request: allowed everywhere (see fakeIdentity).
const (
	senderToken = "sender-token"
	senderName  = "system:serviceaccount:monitoring:alertmanager"
)

var now = time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)

type readiness struct{ err atomic.Pointer[error] }

func (r *readiness) Ready(context.Context) error {
	if p := r.err.Load(); p != nil {
		return *p
	}
	return nil
}

type gateway struct {
	ids     *fakeIdentity
	faults  *kubetest.Faults
	client  client.Client
	metrics *metrics.Metrics
	ready   *readiness
	srv     *server.Server
	handler http.Handler
}

func newGateway(tb testing.TB, objs ...client.Object) *gateway {
	tb.Helper()
	return newGatewayWithLogger(tb, logging.Discard(), objs...)
}

func newGatewayWithLogger(tb testing.TB, log *slog.Logger, objs ...client.Object) *gateway {
	tb.Helper()
	return newGatewayWith(tb, log, func(*server.Options) {}, objs...)
}

// newGatewayWith is newGateway with its options changed by edit before the server is made.
func newGatewayWith(tb testing.TB, log *slog.Logger, edit func(*server.Options), objs ...client.Object) *gateway {
	tb.Helper()
	g := &gateway{ids: newFakeIdentity(), faults: &kubetest.Faults{}, ready: &readiness{}, metrics: metrics.New(kuberetry.TransientReasons)}
	g.client = kubetest.NewClient(g.faults, objs...)
	policy := &kuberetry.Policy{
		Attempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, CallTimeout: time.Second,
		OnRetry: func(_ context.Context, r kuberetry.Retry) { g.metrics.APIRetries.WithLabelValues(r.Reason).Inc() },
		Sleep:   func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
	opts := server.Options{
		Processor:             &remediation.Service{Client: g.client, Retry: policy, FallbackNamespace: fallbackNS, Now: func() time.Time { return now }},
		Auth:                  auth.NewGuard(g.ids.authenticator(), g.ids.authorizer(), g.metrics),
		Readiness:             g.ready,
		Metrics:               g.metrics,
		Logger:                log,
		MaxBodyBytes:          64 << 10,
		RequestDeadline:       5 * time.Second,
		UnavailableRetryAfter: 5 * time.Second,
		Now:                   func() time.Time { return now },
	}
	edit(&opts)
	g.srv = server.New(opts)
	g.handler = g.srv.Handler()
	return g
}

// do sends a request as the default sender; headers (name, value pairs) override, so
// "Authorization", "" sends none.
func (g *gateway) do(method, path, contentType string, body []byte, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+senderToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	g.handler.ServeHTTP(rec, req)
	return rec
}

func (g *gateway) postAlerts(body []byte, headers ...string) *httptest.ResponseRecorder {
	return g.do(http.MethodPost, server.PathPrometheus, "application/json", body, headers...)
}

func (g *gateway) postEvent(body []byte, headers ...string) *httptest.ResponseRecorder {
	return g.do(http.MethodPost, server.PathKubernetesEvent, "application/json", body, headers...)
}

func (g *gateway) items(tb testing.TB) []v1alpha1.RemediationRequest {
	tb.Helper()
	var list v1alpha1.RemediationRequestList
	require.NoError(tb, g.client.List(context.Background(), &list))
	return list.Items
}

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "alertmanager", name)) // the one copy of the recorded notifications
	require.NoError(tb, err)
	return b
}

func decode[T any](tb testing.TB, rec *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &v), rec.Body.String())
	return v
}
