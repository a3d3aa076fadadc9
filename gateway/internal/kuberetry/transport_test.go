package kuberetry_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubeclient"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
)

// apiServer answers every request with handler and counts the requests.
func apiServer(t *testing.T, handler http.HandlerFunc) (client.Client, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL}
	cfg.Wrap(kuberetry.WrapTransport)
	c, err := kubeclient.New(cfg)
	require.NoError(t, err)
	return c, &hits
}

func statusWithRetryAfter(w http.ResponseWriter, code int, reason metav1.StatusReason) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(code), Reason: reason, Message: "injected",
		Details: &metav1.StatusDetails{RetryAfterSeconds: 1},
	})
}

// Without the wrapper client-go would repeat these requests up to ten times, a second apart.
func TestClientGoDoesNotRetryOnRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason metav1.StatusReason
	}{
		{http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests},
		{http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable},
		{http.StatusInternalServerError, metav1.StatusReasonInternalError},
	} {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			c, hits := apiServer(t, func(w http.ResponseWriter, _ *http.Request) { statusWithRetryAfter(w, tc.code, tc.reason) })
			start := time.Now()
			err := c.Create(context.Background(), &v1alpha1.RemediationRequest{
				ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns"},
			})
			require.Error(t, err)
			assert.EqualValues(t, 1, hits.Load(), "exactly one request reached the server")
			assert.Less(t, time.Since(start), 900*time.Millisecond)
			reason, transient := kuberetry.Classify(err)
			assert.True(t, transient)
			assert.Equal(t, http.StatusText(tc.code), http.StatusText(mustAtoi(t, reason)))
			seconds, ok := apierrors.SuggestsClientDelay(err)
			assert.True(t, ok, "the delay survives in the error")
			assert.Equal(t, 1, seconds)

			// GETs take another path through client-go's retry.
			hits.Store(0)
			err = c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "x"}, &v1alpha1.RemediationRequest{})
			require.Error(t, err)
			assert.EqualValues(t, 1, hits.Load())
		})
	}
}

// client-go retries a GET after a connection reset or EOF on its own; the wrapper prevents it.
func TestClientGoDoesNotRetryDroppedConnections(t *testing.T) {
	c, hits := apiServer(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	start := time.Now()
	var list v1alpha1.RemediationRequestList
	err := c.List(context.Background(), &list, client.InNamespace("ns"))
	require.Error(t, err)
	assert.EqualValues(t, 1, hits.Load())
	assert.Less(t, time.Since(start), 900*time.Millisecond)
	reason, transient := kuberetry.Classify(err)
	assert.True(t, transient, "%v", err)
	assert.Contains(t, []string{kuberetry.ReasonEOF, kuberetry.ReasonConnectionReset}, reason)
}

func TestTransportKeepsSuccessfulAnswers(t *testing.T) {
	c, hits := apiServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v1alpha1.RemediationRequest{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind},
			ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns", ResourceVersion: "7"},
		})
	})
	var rr v1alpha1.RemediationRequest
	require.NoError(t, c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "x"}, &rr))
	assert.Equal(t, "7", rr.ResourceVersion)
	assert.EqualValues(t, 1, hits.Load())
}
