package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
	"github.com/kubernaut/gateway-contract/gateway/internal/server"
)

// blockingGuard holds every authentication until release is closed, reporting each arrival on
// entered: the requests it holds are in flight.
type blockingGuard struct {
	server.Guard
	entered chan struct{}
	release chan struct{}
}

func (b *blockingGuard) Authenticate(ctx context.Context, r *http.Request) (user.Info, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Guard.Authenticate(ctx, r)
}

// With MaxInFlight requests held inside the handler, the next signal request is answered 503
// overloaded at once, unauthenticated and unprocessed, on either endpoint; probes are still
// answered; the held requests are then processed in full, and the slots are free again.
func TestMaxInFlightSheds(t *testing.T) {
	const limit = 3
	var guard *blockingGuard
	g := newGatewayWith(t, logging.Discard(), func(o *server.Options) {
		guard = &blockingGuard{Guard: o.Auth, entered: make(chan struct{}, limit), release: make(chan struct{})}
		o.Auth = guard
		o.MaxInFlight = limit
	})
	body := fixture(t, "single-node-target.json")

	var held sync.WaitGroup
	codes := make([]int, limit)
	for i := range limit {
		held.Go(func() {
			// Each held request fires a different alert, so each creates its own object.
			req := httptest.NewRequest(http.MethodPost, server.PathKubernetesEvent, eventBody(t, i))
			req.Header.Set("Authorization", "Bearer "+senderToken)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			g.handler.ServeHTTP(rec, req)
			codes[i] = rec.Code
		})
	}
	for range limit {
		<-guard.entered
	}

	for _, path := range []string{server.PathPrometheus, server.PathKubernetesEvent} {
		rec := g.do(http.MethodPost, path, "application/json", body)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
		assert.Equal(t, "5", rec.Header().Get("Retry-After"))
		assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		p := decode[server.Problem](t, rec)
		assert.Equal(t, "https://kubernaut.ai/problems/overloaded", p.Type)
		assert.Equal(t, http.StatusServiceUnavailable, p.Status)
		assert.Equal(t, path, p.Instance)
		assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
	}
	assert.Len(t, guard.entered, 0, "a shed request is not authenticated")
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.RequestsShed.WithLabelValues(metrics.SourcePrometheus)))
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.RequestsShed.WithLabelValues(metrics.SourceKubernetesEvent)))
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.Rejected.WithLabelValues(metrics.SourcePrometheus, "503")))

	assert.Equal(t, http.StatusOK, g.do(http.MethodGet, server.PathHealthz, "", nil).Code, "liveness is never shed")
	assert.Equal(t, http.StatusOK, g.do(http.MethodGet, server.PathReadyz, "", nil).Code, "readiness is never shed")

	close(guard.release)
	held.Wait()
	for i, code := range codes {
		assert.Equal(t, http.StatusCreated, code, "held request %d is processed in full", i)
	}
	assert.Len(t, g.items(t), limit)

	rec := g.postAlerts(body)
	assert.Equal(t, http.StatusCreated, rec.Code, "the slots are free again: %s", rec.Body.String())
}

// /metrics is never shed either: an overloaded gateway must stay observable.
func TestMaxInFlightDoesNotShedMetrics(t *testing.T) {
	var guard *blockingGuard
	g := newGatewayWith(t, logging.Discard(), func(o *server.Options) {
		guard = &blockingGuard{Guard: o.Auth, entered: make(chan struct{}, 2), release: make(chan struct{})}
		o.Auth = guard
		o.MaxInFlight = 1
	})
	done := make(chan int, 1)
	go func() { done <- g.postAlerts(fixture(t, "single-node-target.json")).Code }()
	<-guard.entered
	require.Equal(t, http.StatusServiceUnavailable, g.postAlerts(fixture(t, "single-node-target.json")).Code)

	metricsDone := make(chan int, 1)
	go func() { metricsDone <- g.do(http.MethodGet, server.PathMetrics, "", nil).Code }()
	<-guard.entered // the scrape reached authentication: it was not shed
	close(guard.release)
	assert.Equal(t, http.StatusOK, <-metricsDone)
	assert.Equal(t, http.StatusCreated, <-done)
}

// eventBody is a Warning event about pod p-<i> in namespace payments.
func eventBody(t *testing.T, i int) io.Reader {
	t.Helper()
	return strings.NewReader(fmt.Sprintf(`{"type":"Warning","reason":"BackOff","involvedObject":{"kind":"Pod","name":"p-%d","namespace":"payments"}}`, i))
}
