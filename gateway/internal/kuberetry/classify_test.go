package kuberetry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubeclient"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
)

// A deadline met inside an API call is a transient timeout however it reaches the gateway: wrapped,
// flattened into text, or as client-go's rate limiter refusing to wait past it. The soak saw the
// last one answered 500 (permanent) instead of 503.
func TestDeadlinesInsideACallAreTransient(t *testing.T) {
	errs := map[string]error{
		"wrapped":       fmt.Errorf("get: %w", context.DeadlineExceeded),
		"flattened":     errors.New(`Post "https://kube/apis": context deadline exceeded`),
		"client":        errors.New(`Post "https://kube/apis": net/http: request canceled (Client.Timeout exceeded while awaiting headers)`),
		"rate limiter":  errors.New("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline"),
		"rate, wrapped": fmt.Errorf("create remediationrequest: %w", errors.New("client rate limiter Wait returned an error: context deadline exceeded")),
	}
	for name, err := range errs {
		t.Run(name, func(t *testing.T) {
			reason, transient := kuberetry.Classify(err)
			assert.True(t, transient)
			assert.Equal(t, kuberetry.ReasonTimeout, reason)
		})
	}
	// The rate limiter never sent the request: nothing can have taken effect.
	assert.False(t, kuberetry.Ambiguous(errs["rate limiter"]))
	assert.True(t, kuberetry.Ambiguous(errs["flattened"]))
}

// The real thing: client-go's token bucket, empty, and a call whose deadline comes before the next
// token. Its error must end in 503 (UnavailableError), never in a permanent 500.
func TestClientRateLimiterTimeoutIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"apiVersion":"kubernaut.ai/v1alpha1","kind":"RemediationRequest","metadata":{"name":"x","namespace":"ns"}}`))
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL, QPS: 0.1, Burst: 1} // one token, the next in ten seconds
	cfg.Wrap(kuberetry.WrapTransport)
	c, err := kubeclient.New(cfg)
	require.NoError(t, err)
	get := func(ctx context.Context) error {
		return c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "x"}, &v1alpha1.RemediationRequest{})
	}
	require.NoError(t, get(context.Background()), "the burst's token")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	direct := get(ctx)
	require.Error(t, direct)
	assert.Contains(t, direct.Error(), "rate limiter", "client-go's own refusal, before any request")

	var rec recorder
	p := rec.policy(3)
	p.CallTimeout = 200 * time.Millisecond
	err = p.Do(ctx, "get remediationrequest", get)
	var u *kuberetry.UnavailableError
	require.ErrorAs(t, err, &u, "transient, so 503: %v", err)
	require.NotEmpty(t, rec.retries)
	assert.Equal(t, kuberetry.ReasonTimeout, rec.retries[0].Reason)
}
