package auth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

// TestAReviewOnAConnectionThatDiedIsRepeated: a review sent on a pooled connection that the API
// server (or a proxy, or an outage) closed gets EOF before any answer. k8s.io/apiserver's webhook
// retry does not repeat on EOF, so without more the sender got 503 auth-unavailable although the
// API was up: what a scenario met right after an outage. Reviews change nothing,
// so the gateway marks them idempotent, and net/http repeats them once on a new connection.
func TestAReviewOnAConnectionThatDiedIsRepeated(t *testing.T) {
	for _, stage := range []string{metrics.StageAuthentication, metrics.StageAuthorization} {
		t.Run(stage, func(t *testing.T) {
			api := newFakeAPI(t)
			api.tokens["other"] = "system:serviceaccount:monitoring:other"
			var reviews atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if reviewStage(r.URL.Path) == stage && reviews.Add(1) == 2 {
					// The second review of the stage, on the connection the first one used: read,
					// then close without an answer.
					_, _ = io.Copy(io.Discard, r.Body)
					if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
						_ = conn.Close()
					}
					return
				}
				api.serve(w, r)
			}))
			t.Cleanup(srv.Close)
			g := newTestGuard(t, testConfig(srv.URL, metrics.New(kuberetry.TransientReasons)))
			ctx := context.Background()
			for _, token := range []string{"good", "other"} {
				u, err := g.Authenticate(ctx, request("Bearer "+token))
				require.NoError(t, err, token)
				require.NoError(t, g.AuthorizeSignals(ctx, u, []string{"payments"}), token)
			}
			assert.EqualValues(t, 3, reviews.Load(), "the review that met the dead connection, sent again")
		})
	}
}
