package auth

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

// newDenyGuard is a Guard against api that remembers refusals for ttl on a clock the test moves.
func newDenyGuard(t *testing.T, api *fakeAPI, ttl time.Duration) (*Guard, *metrics.Metrics, *clocktesting.FakeClock) {
	t.Helper()
	m := metrics.New(kuberetry.TransientReasons)
	cfg := testConfig(api.srv.URL, m)
	cfg.AuthnDenyCacheTTL = ttl
	g := newTestGuard(t, cfg)
	clock := clocktesting.NewFakeClock(time.Now())
	g.refused = cache.NewExpiringWithClock(clock)
	return g, m, clock
}

func requireRefused(t *testing.T, err error) {
	t.Helper()
	var unauth *UnauthenticatedError
	require.ErrorAs(t, err, &unauth, "a refused token is a 401")
	assert.Equal(t, ReasonTokenRefused, unauth.Reason)
	assert.Contains(t, err.Error(), "token lookup failed", "the review's message is kept for the log")
}

// A refused token is reviewed once per deny TTL; every request with it is still refused.
func TestRefusedTokenReviewedOncePerTTL(t *testing.T) {
	api := newFakeAPI(t)
	g, m, clock := newDenyGuard(t, api, 10*time.Second)
	for range 5 {
		_, err := g.Authenticate(context.Background(), request("Bearer forged"))
		requireRefused(t, err)
	}
	assert.EqualValues(t, 1, api.tokenReviews.Load())
	assert.Equal(t, 5.0, testutil.ToFloat64(m.AuthDecisions.WithLabelValues(metrics.StageAuthentication, metrics.OutcomeUnauthenticated)))
	assert.Equal(t, 4.0, testutil.ToFloat64(m.AuthCacheHits.WithLabelValues(metrics.StageAuthentication)))

	clock.Step(10*time.Second + time.Millisecond)
	_, err := g.Authenticate(context.Background(), request("Bearer forged"))
	requireRefused(t, err)
	assert.EqualValues(t, 2, api.tokenReviews.Load(), "after the TTL the token is reviewed again")

	// A token that becomes valid is accepted once its refusal has expired.
	api.tokens["forged"] = "system:serviceaccount:monitoring:late"
	clock.Step(10*time.Second + time.Millisecond)
	u, err := g.Authenticate(context.Background(), request("Bearer forged"))
	require.NoError(t, err)
	assert.Equal(t, "system:serviceaccount:monitoring:late", u.GetName())
}

// N concurrent requests with K distinct unknown tokens cause exactly K reviews, and all are 401.
func TestConcurrentRefusalsShareReviews(t *testing.T) {
	const distinct, perToken = 4, 25
	api := newFakeAPI(t)
	g, m, _ := newDenyGuard(t, api, 10*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, distinct*perToken)
	for i := range distinct * perToken {
		wg.Go(func() {
			_, err := g.Authenticate(context.Background(), request(fmt.Sprintf("Bearer garbage-%d", i%distinct)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		requireRefused(t, err)
	}
	assert.EqualValues(t, distinct, api.tokenReviews.Load())
	assert.Equal(t, float64(distinct), testutil.ToFloat64(m.AuthReviewRequests.WithLabelValues(metrics.StageAuthentication)))
}

// A review that could not be made is not remembered: the next request asks again, and the
// answer of the API, once back, counts.
func TestFailedReviewNotRemembered(t *testing.T) {
	api := newFakeAPI(t)
	g, _, _ := newDenyGuard(t, api, 10*time.Second)
	api.failAuthn.Store(503)
	_, err := g.Authenticate(context.Background(), request("Bearer good"))
	var unavailable *UnavailableError
	require.ErrorAs(t, err, &unavailable)
	api.failAuthn.Store(0)
	_, err = g.Authenticate(context.Background(), request("Bearer good"))
	require.NoError(t, err)
	assert.EqualValues(t, 2, api.tokenReviews.Load())
}

// With the deny TTL 0, every request with a refused token costs a review.
func TestRefusalCacheOff(t *testing.T) {
	api := newFakeAPI(t)
	g := newTestGuard(t, testConfig(api.srv.URL, metrics.New(kuberetry.TransientReasons)))
	for range 3 {
		_, err := g.Authenticate(context.Background(), request("Bearer forged"))
		requireRefused(t, err)
	}
	assert.EqualValues(t, 3, api.tokenReviews.Load())
}
