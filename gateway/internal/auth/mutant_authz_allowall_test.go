//go:build mutant_authz_allowall

package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

// go test -tags mutant_authz_allowall ./gateway/internal/auth: the mutant allows what the API
// refuses, but still authenticates.
func TestMutantAllowsEverything(t *testing.T) {
	assert.NotEmpty(t, Mutation)
	api := newFakeAPI(t)
	api.allow = func(authorizationv1.SubjectAccessReviewSpec) bool { return false }
	g := newTestGuard(t, testConfig(api.srv.URL, metrics.New(kuberetry.TransientReasons)))
	u, err := g.Authenticate(context.Background(), request("Bearer good"))
	require.NoError(t, err)
	require.NoError(t, g.AuthorizeSignals(context.Background(), u, []string{"a"}))
	require.NoError(t, g.AuthorizeMetrics(context.Background(), u))
	assert.Zero(t, api.accessReviews.Load())
	_, err = g.Authenticate(context.Background(), request("Bearer forged"))
	require.ErrorIs(t, err, ErrUnauthenticated)
}
