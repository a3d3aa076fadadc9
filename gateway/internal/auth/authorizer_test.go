package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

// New's authorizer asks the API and obeys a refusal: there is no build or setting that allows all.
func TestAuthorizerObeysRefusal(t *testing.T) {
	api := newFakeAPI(t)
	api.allow = func(authorizationv1.SubjectAccessReviewSpec) bool { return false }
	g := newTestGuard(t, testConfig(api.srv.URL, metrics.New(kuberetry.TransientReasons)))
	u, err := g.Authenticate(context.Background(), request("Bearer good"))
	require.NoError(t, err)
	var forbidden *ForbiddenError
	require.ErrorAs(t, g.AuthorizeSignals(context.Background(), u, []string{"a"}), &forbidden)
}
