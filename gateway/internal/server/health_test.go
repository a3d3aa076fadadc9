package server_test

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
	"github.com/kubernaut/gateway-contract/gateway/internal/server"
)

func TestHealthAndReadiness(t *testing.T) {
	g := newGateway(t)
	assert.Equal(t, http.StatusOK, g.do("GET", server.PathHealthz, "", nil).Code)
	assert.Equal(t, http.StatusOK, g.do("HEAD", server.PathHealthz, "", nil).Code)
	assert.Equal(t, http.StatusOK, g.do("GET", server.PathReadyz, "", nil).Code)

	notReady := errors.New("kubernaut.ai/v1alpha1 does not serve remediationrequests")
	g.ready.err.Store(&notReady)
	rec := g.do("GET", server.PathReadyz, "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "remediationrequests")
	assert.Equal(t, http.StatusOK, g.do("GET", server.PathHealthz, "", nil).Code, "liveness does not depend on the API")

	g.ready.err.Store(nil)
	g.srv.SetShuttingDown()
	rec = g.do("GET", server.PathReadyz, "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "shutting down")
	assert.Equal(t, http.StatusCreated, g.postAlerts(fixture(t, "single-node-target.json")).Code,
		"requests are still served while draining")
}

func TestMetrics(t *testing.T) {
	g := newGateway(t)
	require.Equal(t, http.StatusCreated, g.postAlerts(fixture(t, "batch-mixed-resolved.json")).Code)
	require.Equal(t, http.StatusAccepted, g.postAlerts(fixture(t, "batch-mixed-resolved.json")).Code)
	g.postAlerts([]byte(`nope`))
	g.faults.FailN(kubetest.VerbList, 100, apierrors.NewTooManyRequests("slow", 0))
	require.Equal(t, http.StatusServiceUnavailable, g.postEvent([]byte(`{"reason":"Evicted","involvedObject":{"kind":"Pod","name":"p","namespace":"a"}}`)).Code)

	m := g.metrics
	assert.Equal(t, 6.0, testutil.ToFloat64(m.Received.WithLabelValues("prometheus")))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.Created.WithLabelValues("prometheus")))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.Deduplicated.WithLabelValues("prometheus")))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.Ignored.WithLabelValues("prometheus")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Rejected.WithLabelValues("prometheus", "400")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Received.WithLabelValues("kubernetes-event")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Rejected.WithLabelValues("kubernetes-event", "503")))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.APIRetries.WithLabelValues("429")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.APIErrors.WithLabelValues("transient-exhausted")))

	rec := g.do("GET", server.PathMetrics, "", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	body, _ := io.ReadAll(rec.Body)
	for _, name := range []string{
		"gateway_signals_received_total", "gateway_signals_created_total", "gateway_signals_deduplicated_total",
		"gateway_signals_ignored_total", "gateway_signals_rejected_total", "gateway_k8s_api_retries_total",
		"gateway_k8s_api_errors_total", "gateway_http_request_duration_seconds_bucket",
	} {
		assert.Contains(t, string(body), name)
	}
	assert.Contains(t, string(body), `gateway_http_request_duration_seconds_count{code="201",handler="prometheus"} 1`)
}
