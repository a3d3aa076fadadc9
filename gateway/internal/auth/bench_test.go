package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

// benchmarkGuard runs what one signal request costs the caller checks: authenticate the token and
// authorize a batch that writes to three namespaces, through the real delegating chain against an
// HTTP fake of the review APIs. reviews/op is the number of TokenReview and SubjectAccessReview
// requests per signal request.
func benchmarkGuard(b *testing.B, cfg func(*Config)) {
	api := newFakeAPI(b)
	c := testConfig(api.srv.URL, metrics.New(kuberetry.TransientReasons))
	c.REST.QPS = -1 // measure the checks, not client-go's rate limiter
	cfg(&c)
	g, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	namespaces := []string{"payments", "checkout", "kubernaut-system"}
	ctx := context.Background()
	run := func() {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/signals/prometheus", nil)
		r.Header.Set("Authorization", "Bearer good")
		u, err := g.Authenticate(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		if err := g.AuthorizeSignals(ctx, u, namespaces); err != nil {
			b.Fatal(err)
		}
	}
	run() // warm the caches (when they are on)
	before := api.tokenReviews.Load() + api.accessReviews.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	reviews := api.tokenReviews.Load() + api.accessReviews.Load() - before
	b.ReportMetric(float64(reviews)/float64(b.N), "reviews/op")
}

// BenchmarkGuardWarmCache is the steady state: zero review requests per signal request.
func BenchmarkGuardWarmCache(b *testing.B) {
	benchmarkGuard(b, func(*Config) {})
}

// BenchmarkGuardNoCache is the same with every cache off (TTL 0), for contrast: four reviews per
// request, each an HTTP round trip (here to a local fake; to a real API server, a millisecond or
// more each, and a token of the client-go rate limit).
func BenchmarkGuardNoCache(b *testing.B) {
	benchmarkGuard(b, func(c *Config) { c.AuthnCacheTTL, c.AllowCacheTTL, c.DenyCacheTTL = 0, 0, 0 })
}
