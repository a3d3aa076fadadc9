package server_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
	"github.com/kubernaut/gateway-contract/gateway/internal/server"
)

// The soak's undercount of gateway_signals_created_total: the create took effect, recording the
// first occurrence failed (503); the redelivery records occurrence 1, so it is the signal that
// created the object: 201, and counted created (not deduplicated).
func TestCreatedWhenTheFirstOccurrenceIsRecordedOnRedelivery(t *testing.T) {
	g := newGateway(t)
	body := []byte(`{"alerts":[{"status":"firing","labels":{"alertname":"HighMemory","namespace":"payments","pod":"api-1"}}]}`)
	g.faults.FailN(kubetest.VerbStatusUpdate, 3, apierrors.NewServiceUnavailable("etcd leader change"))
	rec := g.postAlerts(body)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	require.Len(t, g.items(t), 1, "the create took effect")

	rec = g.postAlerts(body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	res := decode[server.Response](t, rec).Results
	require.Len(t, res, 1)
	assert.Equal(t, "created", res[0].Status)
	assert.EqualValues(t, 1, res[0].OccurrenceCount)
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.Created.WithLabelValues("prometheus")))
	assert.Zero(t, testutil.ToFloat64(g.metrics.Deduplicated.WithLabelValues("prometheus")))

	rec = g.postAlerts(body)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.Created.WithLabelValues("prometheus")))
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.Deduplicated.WithLabelValues("prometheus")))
}

// The quarantined soak scenario's undercount: the first occurrence's status write reached the API
// server but its answer was lost, and the API stayed away until the request gave up (503). The
// redelivery finds occurrence 1 already recorded, so it is a duplicate (202, count 2), and it is
// the one that reports the earlier creation: created and deduplicated each count 1.
func TestCreatedWhenTheFirstOccurrenceLandedWithoutAnAnswer(t *testing.T) {
	g := newGateway(t)
	body := []byte(`{"alerts":[{"status":"firing","labels":{"alertname":"HighMemory","namespace":"payments","pod":"api-1"}}]}`)
	g.faults.Inject(kubetest.VerbStatusUpdate, kubetest.Fault{AfterCall: true, Err: kubetest.TransientErrors()["eof"]})
	g.faults.FailN(kubetest.VerbStatusUpdate, 2, apierrors.NewServiceUnavailable("outage")) // the other attempts
	rec := g.postAlerts(body)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	require.EqualValues(t, 1, g.items(t)[0].Status.Deduplication.OccurrenceCount, "the first write landed")
	assert.Zero(t, testutil.ToFloat64(g.metrics.Created.WithLabelValues("prometheus")))
	assert.Equal(t, 1.0, unconfirmed(t, g), "the creation the counter may be missing")

	rec = g.postAlerts(body)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	res := decode[server.Response](t, rec).Results
	require.Len(t, res, 1)
	assert.Equal(t, "duplicate", res[0].Status)
	assert.EqualValues(t, 2, res[0].OccurrenceCount)
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.Created.WithLabelValues("prometheus")), "the earlier creation, counted now")
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.Deduplicated.WithLabelValues("prometheus")))
	assert.Zero(t, unconfirmed(t, g), "settled")
}

// unconfirmed is gateway_unconfirmed_creations as a scrape of the gateway's registry shows it.
func unconfirmed(t *testing.T, g *gateway) float64 {
	t.Helper()
	families, err := g.metrics.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "gateway_unconfirmed_creations" {
			require.Len(t, f.GetMetric(), 1)
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no gateway_unconfirmed_creations in the registry")
	return 0
}
