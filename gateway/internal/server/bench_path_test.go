package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/auth"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubeclient"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
	"github.com/kubernaut/gateway-contract/gateway/internal/remediation"
	"github.com/kubernaut/gateway-contract/gateway/internal/rrcache"
	"github.com/kubernaut/gateway-contract/gateway/internal/server"
	"github.com/kubernaut/gateway-contract/gateway/internal/signal"
)

// emptySource is an API server with no RemediationRequest and a watch that stays silent.
type emptySource struct{}

func (emptySource) IsWatchListSemanticsUnSupported() bool { return true }
func (emptySource) List(metav1.ListOptions) (runtime.Object, error) {
	return &v1alpha1.RemediationRequestList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}, nil
}
func (emptySource) Watch(metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil }

// stubAPI answers creates and status updates with an object as the API server returns it (spec,
// payload, managed fields), precomputed, so that the benchmark measures the gateway's side of the
// call (client-go's encoding, the round trip, decoding the answer), not a fake's bookkeeping.
func stubAPI(b *testing.B, fingerprint string) string {
	now := metav1.NewTime(now)
	rr := &v1alpha1.RemediationRequest{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name: "rr-" + fingerprint[:16] + "-0", Namespace: "payments", UID: "6f1c1c52-5b1e-4f7e-9d4c-1a2b3c4d5e6f", ResourceVersion: "4242",
			Generation: 1, CreationTimestamp: now,
			Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByGateway, v1alpha1.LabelSignalFingerprint: fingerprint[:63],
				v1alpha1.LabelSeverity: "critical", v1alpha1.LabelSignalType: v1alpha1.SignalTypePrometheusAlert},
			Annotations: map[string]string{v1alpha1.AnnotationSender: senderName},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kubernaut-gateway", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "kubernaut.ai/v1alpha1", Time: &now, FieldsType: "FieldsV1",
					FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:annotations":{".":{},"f:kubernaut.ai/sender":{}},"f:labels":{".":{},"f:app.kubernetes.io/managed-by":{},"f:kubernaut.ai/severity":{},"f:kubernaut.ai/signal-fingerprint":{},"f:kubernaut.ai/signal-type":{}}},"f:spec":{".":{},"f:firingTime":{},"f:originalPayload":{},"f:receivedTime":{},"f:severity":{},"f:signalAnnotations":{".":{},"f:summary":{}},"f:signalFingerprint":{},"f:signalLabels":{".":{},"f:alertname":{},"f:namespace":{},"f:pod":{}},"f:signalName":{},"f:signalSource":{},"f:signalType":{},"f:targetResource":{".":{},"f:kind":{},"f:name":{},"f:namespace":{}},"f:targetType":{}}}`)}},
				{Manager: "kubernaut-gateway", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "kubernaut.ai/v1alpha1", Time: &now, FieldsType: "FieldsV1", Subresource: "status",
					FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{".":{},"f:deduplication":{".":{},"f:firstSeenAt":{},"f:lastSeenAt":{},"f:occurrenceCount":{}}}}`)}},
			},
		},
		Spec: v1alpha1.RemediationRequestSpec{
			SignalFingerprint: fingerprint, SignalName: "KubePodCrashLooping", Severity: "critical",
			SignalType: v1alpha1.SignalTypePrometheusAlert, SignalSource: v1alpha1.SignalSourceAlertmanager, TargetType: v1alpha1.TargetTypeKubernetes,
			TargetResource: v1alpha1.ResourceIdentifier{Kind: "Pod", Name: "api-1", Namespace: "payments"}, FiringTime: now, ReceivedTime: now,
			SignalLabels:      map[string]string{"alertname": "KubePodCrashLooping", "namespace": "payments", "pod": "api-1"},
			SignalAnnotations: map[string]string{"summary": "Pod is crash looping"},
			OriginalPayload:   `{"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"payments","pod":"api-1"},"annotations":{"summary":"Pod is crash looping"},"startsAt":"2026-11-26T01:05:35Z"}`,
		},
	}
	created, err := json.Marshal(rr)
	if err != nil {
		b.Fatal(err)
	}
	rr.ResourceVersion = "4243"
	rr.Status.Deduplication = &v1alpha1.DeduplicationStatus{FirstSeenAt: metav1.NewMicroTime(now.Time), LastSeenAt: metav1.NewMicroTime(now.Time), OccurrenceCount: 7}
	updated, err := json.Marshal(rr)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(created)
		case http.MethodPut:
			_, _ = w.Write(updated)
		default:
			http.NotFound(w, r)
		}
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkSignal is the production request path for one alert per request: the handler,
// authentication and authorization (their caches warm, as at steady state), parsing, the
// watch-backed cache, and client-go over HTTP (the gateway's transport wrapper included) to an API
// server that answers with precomputed objects. new: every request a new fingerprint, a create
// and a status update; repeat: one fingerprint, one status update. calls/op counts the API
// requests per signal, which is 2 and 1 at steady state.
func BenchmarkSignal(b *testing.B) {
	for _, kind := range []string{"new", "repeat"} {
		b.Run(kind, func(b *testing.B) {
			var calls int64
			// The stub's objects are those of the repeated alert, so that its repeats find them.
			url := stubAPI(b, signal.Fingerprint("KubePodCrashLooping", "payments", "Pod", "warm-up"))
			cfg := &rest.Config{Host: url, QPS: -1}
			cfg.Wrap(kuberetry.WrapTransport)
			cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
				return roundTripFunc(func(r *http.Request) (*http.Response, error) { calls++; return rt.RoundTrip(r) })
			})
			kube, err := kubeclient.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			cache := rrcache.New(emptySource{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go cache.Run(ctx)
			for !cache.Synced() {
				time.Sleep(time.Millisecond)
			}
			ids := newFakeIdentity()
			m := metrics.New(kuberetry.TransientReasons)
			srv := server.New(server.Options{
				Processor: &remediation.Service{Client: kube, Cache: cache, FallbackNamespace: fallbackNS,
					Retry: &kuberetry.Policy{Attempts: 1, CallTimeout: time.Second}},
				Auth: auth.NewGuard(ids.authenticator(), ids.authorizer(), m), Readiness: &readiness{}, Metrics: m,
				Logger: logging.Discard(), RequestDeadline: 5 * time.Second,
			})
			h := srv.Handler()
			post := func(pod string, want int) {
				body := fmt.Appendf(nil, `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"payments","pod":%q,"severity":"critical"},"annotations":{"summary":"Pod is crash looping"},"startsAt":"2026-11-26T01:05:35Z"}]}`, pod)
				req := httptest.NewRequest(http.MethodPost, server.PathPrometheus, strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+senderToken)
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != want {
					b.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body.String())
				}
			}
			pods := make([]string, 0, 1<<16)
			for i := range cap(pods) {
				pods = append(pods, fmt.Sprintf("api-%d", i))
			}
			post("warm-up", http.StatusCreated)
			calls = 0
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if kind == "new" {
					// The stub answers every create with a fresh object (no occurrence yet), so
					// every request is a new signal, reported created; the cache holds none of
					// these fingerprints.
					post(pods[i%len(pods)], http.StatusCreated)
					i++
				} else {
					post("warm-up", http.StatusAccepted)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
