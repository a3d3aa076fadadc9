package server_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
	"github.com/kubernaut/gateway-contract/gateway/internal/server"
	"github.com/kubernaut/gateway-contract/gateway/internal/signal"
)

func TestBatchEveryAlertProcessed(t *testing.T) {
	g := newGateway(t)
	rec := g.postAlerts(fixture(t, "batch-3-firing.json"))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	resp := decode[server.Response](t, rec)
	assert.Equal(t, rec.Header().Get(server.HeaderRequestID), resp.RequestID)
	require.Len(t, resp.Results, 3)
	pods := []string{"api-7d9f-abcde", "api-7d9f-fghij", "worker-55c-xyz12"}
	for i, r := range resp.Results {
		fp := signal.Fingerprint("KubePodCrashLooping", "payments", "Pod", pods[i])
		assert.Equal(t, server.Result{Index: i, Alertname: "KubePodCrashLooping", Status: "created", Fingerprint: fp,
			Namespace: "payments", Name: "rr-" + fp[:16] + "-0", OccurrenceCount: 1}, r)
	}
	assert.Len(t, g.items(t), 3)

	// Redelivery: all duplicates.
	rec = g.postAlerts(fixture(t, "batch-3-firing.json"))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	for _, r := range decode[server.Response](t, rec).Results {
		assert.Equal(t, "duplicate", r.Status)
		assert.EqualValues(t, 2, r.OccurrenceCount)
	}
	assert.Len(t, g.items(t), 3)
}

func TestMixedResolvedAfterFiring(t *testing.T) {
	g := newGateway(t)
	require.Equal(t, http.StatusCreated, g.postAlerts(fixture(t, "batch-3-firing.json")).Code)
	rec := g.postAlerts(fixture(t, "batch-mixed-resolved.json"))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	res := decode[server.Response](t, rec).Results
	require.Len(t, res, 3)
	assert.Equal(t, "ignored", res[0].Status)
	assert.Equal(t, "resolved", res[0].Reason)
	assert.Empty(t, res[0].Name)
	assert.Equal(t, "duplicate", res[1].Status)
	assert.Equal(t, "duplicate", res[2].Status)
	assert.Len(t, g.items(t), 3)
}

func TestMixedResolvedAlone(t *testing.T) {
	g := newGateway(t)
	rec := g.postAlerts(fixture(t, "batch-mixed-resolved.json"))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	res := decode[server.Response](t, rec).Results
	assert.Equal(t, []string{"ignored", "created", "created"}, []string{res[0].Status, res[1].Status, res[2].Status})
	assert.Len(t, g.items(t), 2, "the resolved alert writes nothing")
}

func TestOnlyResolvedIs200(t *testing.T) {
	g := newGateway(t)
	rec := g.postAlerts([]byte(`{"alerts":[{"status":"resolved","labels":{"alertname":"A","namespace":"n","pod":"p"}}]}`))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Zero(t, g.faults.TotalCalls())
}

func TestNodeTargetGoesToFallback(t *testing.T) {
	g := newGateway(t)
	rec := g.postAlerts(fixture(t, "single-node-target.json"))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	res := decode[server.Response](t, rec).Results
	assert.Equal(t, fallbackNS, res[0].Namespace)
	items := g.items(t)
	require.Len(t, items, 1)
	assert.Equal(t, fallbackNS, items[0].Namespace)
	assert.Equal(t, v1alpha1.OriginClusterScoped, items[0].Labels[v1alpha1.LabelOriginNamespace])
	assert.Equal(t, v1alpha1.ResourceIdentifier{Kind: "Node", Name: "worker-3"}, items[0].Spec.TargetResource)
	assert.Equal(t, "warning", items[0].Spec.Severity)
}

func TestNamespaceNotFoundFallsBack(t *testing.T) {
	g := newGateway(t)
	g.faults.Match = func(_ string, obj client.Object) bool { return obj != nil && obj.GetNamespace() == "payments" }
	g.faults.Inject(kubetest.VerbCreate, kubetest.Fault{Err: kubetest.NamespaceNotFound("payments")},
		kubetest.Fault{Err: kubetest.NamespaceNotFound("payments")}, kubetest.Fault{Err: kubetest.NamespaceNotFound("payments")})
	rec := g.postAlerts(fixture(t, "batch-3-firing.json"))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	for _, rr := range g.items(t) {
		assert.Equal(t, fallbackNS, rr.Namespace)
		assert.Equal(t, "payments", rr.Labels[v1alpha1.LabelOriginNamespace])
	}
}

func TestEventEndpoint(t *testing.T) {
	g := newGateway(t)
	warning := []byte(`{"metadata":{"namespace":"payments"},"type":"Warning","reason":"OOMKilled",
		"involvedObject":{"kind":"Pod","name":"api-1","namespace":"payments"},"message":"killed"}`)
	rec := g.postEvent(warning)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	res := decode[server.Response](t, rec).Results
	require.Len(t, res, 1)
	assert.Equal(t, "OOMKilled", res[0].Alertname)
	assert.Equal(t, "created", res[0].Status)
	items := g.items(t)
	require.Len(t, items, 1)
	assert.Equal(t, "critical", items[0].Spec.Severity)
	assert.Equal(t, v1alpha1.SignalTypeKubernetesEvent, items[0].Spec.SignalType)
	assert.Equal(t, v1alpha1.SignalSourceKubernetesEvents, items[0].Spec.SignalSource)
	assert.Equal(t, "killed", items[0].Spec.SignalAnnotations["message"])

	assert.Equal(t, http.StatusAccepted, g.postEvent(warning).Code)

	normal := g.postEvent([]byte(`{"type":"Normal","reason":"Pulled","involvedObject":{"kind":"Pod","name":"api-1","namespace":"payments"}}`))
	require.Equal(t, http.StatusOK, normal.Code)
	res = decode[server.Response](t, normal).Results
	assert.Equal(t, "ignored", res[0].Status)
	assert.Equal(t, "normal-event", res[0].Reason)
	assert.Len(t, g.items(t), 1)
}

func TestTransientFailureIs503WithRetryAfter(t *testing.T) {
	g := newGateway(t)
	g.faults.FailN(kubetest.VerbCreate, 100, apierrors.NewServiceUnavailable("down"))
	rec := g.postAlerts(fixture(t, "single-node-target.json"))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	p := decode[server.Problem](t, rec)
	assert.Equal(t, "https://kubernaut.ai/problems/kubernetes-unavailable", p.Type)
	assert.Equal(t, 503, p.Status)
	assert.Equal(t, server.PathPrometheus, p.Instance)
	assert.Equal(t, rec.Header().Get(server.HeaderRequestID), p.RequestID)
	assert.Equal(t, 3, g.faults.Calls(kubetest.VerbCreate), "attempts bound the retries")
	assert.Empty(t, g.items(t))
}

// One alert of a batch fails transiently: the whole answer is 503, and redelivery completes the batch
// with the persisted alerts counted as duplicates.
func TestBatchPartialTransientFailure(t *testing.T) {
	g := newGateway(t)
	g.faults.Match = func(verb string, obj client.Object) bool {
		rr, ok := obj.(*v1alpha1.RemediationRequest)
		return ok && rr.Spec.TargetResource.Name == "api-7d9f-fghij"
	}
	g.faults.FailN(kubetest.VerbCreate, 3, apierrors.NewInternalError(errors.New("etcd")))
	rec := g.postAlerts(fixture(t, "batch-3-firing.json"))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	assert.Len(t, g.items(t), 2, "the other alerts were still processed")

	rec = g.postAlerts(fixture(t, "batch-3-firing.json"))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	res := decode[server.Response](t, rec).Results
	assert.Equal(t, []string{"duplicate", "created", "duplicate"}, []string{res[0].Status, res[1].Status, res[2].Status})
	assert.Len(t, g.items(t), 3)
}

func TestPermanentFailureIs500(t *testing.T) {
	g := newGateway(t)
	g.faults.FailN(kubetest.VerbCreate, 1, apierrors.NewForbidden(v1alpha1.Resource("remediationrequests"), "x", nil))
	rec := g.postAlerts(fixture(t, "single-node-target.json"))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	p := decode[server.Problem](t, rec)
	assert.Equal(t, "https://kubernaut.ai/problems/kubernetes-error", p.Type)
	assert.Empty(t, rec.Header().Get("Retry-After"))
	assert.Equal(t, 1, g.faults.Calls(kubetest.VerbCreate))
}

// Every bad request gets its status and problem type, and the cluster is not touched at all.
func TestValidation(t *testing.T) {
	big := `{"alerts":[{"labels":{"alertname":"A"},"annotations":{"x":"` + strings.Repeat("a", 70<<10) + `"}}]}`
	valid := `{"alerts":[{"labels":{"alertname":"A"}}]}`
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantCode    int
		wantSlug    string
	}{
		{"invalid json", "POST", server.PathPrometheus, "application/json", `{"alerts":`, 400, "invalid-payload"},
		{"empty body", "POST", server.PathPrometheus, "application/json", ``, 400, "invalid-payload"},
		{"empty alerts", "POST", server.PathPrometheus, "application/json", `{"alerts":[]}`, 400, "invalid-payload"},
		{"no alerts field", "POST", server.PathPrometheus, "application/json", `{"receiver":"x"}`, 400, "invalid-payload"},
		{"missing alertname", "POST", server.PathPrometheus, "application/json", `{"alerts":[{"labels":{"pod":"p"}}]}`, 400, "invalid-payload"},
		{"one bad alert in a batch", "POST", server.PathPrometheus, "application/json", `{"alerts":[{"labels":{"alertname":"A"}},{"labels":{}}]}`, 400, "invalid-payload"},
		{"event without reason", "POST", server.PathKubernetesEvent, "application/json", `{"type":"Warning","involvedObject":{"kind":"Pod","name":"p"}}`, 400, "invalid-payload"},
		{"event without kind", "POST", server.PathKubernetesEvent, "application/json", `{"type":"Warning","reason":"X","involvedObject":{"name":"p"}}`, 400, "invalid-payload"},
		{"event without name", "POST", server.PathKubernetesEvent, "application/json", `{"type":"Warning","reason":"X","involvedObject":{"kind":"Pod"}}`, 400, "invalid-payload"},
		{"event not json", "POST", server.PathKubernetesEvent, "application/json", `<event/>`, 400, "invalid-payload"},
		{"too large", "POST", server.PathPrometheus, "application/json", big, 413, "payload-too-large"},
		{"event too large", "POST", server.PathKubernetesEvent, "application/json", big, 413, "payload-too-large"},
		{"text/plain", "POST", server.PathPrometheus, "text/plain", valid, 415, "unsupported-media-type"},
		{"missing content type", "POST", server.PathPrometheus, "", valid, 415, "unsupported-media-type"},
		{"form", "POST", server.PathKubernetesEvent, "application/x-www-form-urlencoded", valid, 415, "unsupported-media-type"},
		{"garbled content type", "POST", server.PathPrometheus, "application/json; =", valid, 415, "unsupported-media-type"},
		{"GET", "GET", server.PathPrometheus, "application/json", ``, 405, "method-not-allowed"},
		{"PUT event", "PUT", server.PathKubernetesEvent, "application/json", valid, 405, "method-not-allowed"},
		{"DELETE", "DELETE", server.PathPrometheus, "", ``, 405, "method-not-allowed"},
		{"POST healthz", "POST", server.PathHealthz, "application/json", valid, 405, "method-not-allowed"},
		{"POST readyz", "POST", server.PathReadyz, "application/json", valid, 405, "method-not-allowed"},
		{"unknown path", "POST", "/api/v1/signals/other", "application/json", valid, 404, "not-found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t)
			rec := g.do(tt.method, tt.path, tt.contentType, []byte(tt.body))
			require.Equal(t, tt.wantCode, rec.Code, rec.Body.String())
			assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			p := decode[server.Problem](t, rec)
			assert.Equal(t, "https://kubernaut.ai/problems/"+tt.wantSlug, p.Type)
			assert.Equal(t, tt.wantCode, p.Status)
			assert.NotEmpty(t, p.Title)
			assert.Equal(t, tt.path, p.Instance)
			assert.NotEmpty(t, p.RequestID)
			assert.Zero(t, g.faults.TotalCalls(), "nothing may reach the cluster")
			if tt.wantCode == 405 {
				if tt.path == server.PathHealthz || tt.path == server.PathReadyz {
					assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
				} else {
					assert.Equal(t, "POST", rec.Header().Get("Allow"))
				}
			}
		})
	}
}

func TestContentTypeWithParametersAccepted(t *testing.T) {
	for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8"} {
		g := newGateway(t)
		rec := g.do(http.MethodPost, server.PathPrometheus, ct, fixture(t, "single-node-target.json"))
		assert.Equal(t, http.StatusCreated, rec.Code, ct)
	}
}

func TestRequestID(t *testing.T) {
	g := newGateway(t)
	rec := g.postAlerts(fixture(t, "single-node-target.json"), server.HeaderRequestID, "am-42.retry_1")
	assert.Equal(t, "am-42.retry_1", rec.Header().Get(server.HeaderRequestID))
	assert.Equal(t, "am-42.retry_1", decode[server.Response](t, rec).RequestID)

	for _, bad := range []string{"has space", strings.Repeat("a", 129), "semi;colon", "ünïcode"} {
		rec = g.postAlerts([]byte(`{}`), server.HeaderRequestID, bad)
		id := rec.Header().Get(server.HeaderRequestID)
		assert.NotEqual(t, bad, id)
		assert.Regexp(t, `^[A-Za-z0-9._-]{1,128}$`, id)
		assert.Equal(t, id, decode[server.Problem](t, rec).RequestID)
	}
	rec = g.postAlerts([]byte(`{}`), server.HeaderRequestID, strings.Repeat("b", 128))
	assert.Equal(t, strings.Repeat("b", 128), rec.Header().Get(server.HeaderRequestID))
}

// A time zone offset can push a timestamp out of what the API can store; found by fuzzing.
func TestUnstorableTimestampsAreNotA500(t *testing.T) {
	g := newGateway(t)
	rec := g.postEvent([]byte(`{"reason":"X","firstTimestamp":"9999-12-31T23:59:59-01:00","involvedObject":{"kind":"Pod","name":"p","namespace":"a"}}`))
	assert.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	rec = g.postAlerts([]byte(`{"alerts":[{"labels":{"alertname":"A"},"startsAt":"0000-01-01T00:00:00+01:00"}]}`))
	assert.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	for _, rr := range g.items(t) {
		assert.Equal(t, now.Unix(), rr.Spec.FiringTime.Unix())
	}
}
