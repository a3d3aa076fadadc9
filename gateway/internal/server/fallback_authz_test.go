package server_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
	"github.com/kubernaut/gateway-contract/gateway/internal/server"
)

// gone makes every create in the namespace "gone" fail as the API answers for a missing namespace,
// so that the gateway decides on the fallback namespace at run time.
func gone(g *gateway) {
	g.faults.Match = func(verb string, obj client.Object) bool { return obj != nil && obj.GetNamespace() == "gone" }
	g.faults.Inject(kubetest.VerbCreate, kubetest.Fault{Err: kubetest.NamespaceNotFound("gone")},
		kubetest.Fault{Err: kubetest.NamespaceNotFound("gone")})
}

// The namespace authorized is the namespace written: a sender allowed in its signal's namespace
// but not in the fallback namespace, whose signal falls back at run time, is refused 403 and
// nothing is written; allowed there too, its signal lands in the fallback namespace (201).
func TestRuntimeFallbackAuthorized(t *testing.T) {
	g := newGateway(t)
	gone(g)
	g.ids.addUser("gone-only", "gone-sender", "gone")
	rec := g.postAlerts(alerts("gone"), "Authorization", "Bearer gone-only")
	p := assertProblem(t, rec, http.StatusForbidden, server.SlugForbidden)
	assert.Equal(t, "the sender may not create remediationrequests.kubernaut.ai in namespaces: "+fallbackNS, p.Detail)
	assert.Empty(t, g.items(t), "nothing is written")
	assert.Equal(t, []string{"gone", fallbackNS}, g.ids.askedAbout())
	assert.Equal(t, 1.0, testutil.ToFloat64(g.metrics.Rejected.WithLabelValues("prometheus", "403")))

	g.ids.addUser("gone-and-fallback", "fallback-sender", "gone", fallbackNS)
	rec = g.postAlerts(alerts("gone"), "Authorization", "Bearer gone-and-fallback")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	res := decode[server.Response](t, rec).Results
	require.Len(t, res, 1)
	assert.Equal(t, fallbackNS, res[0].Namespace)
	items := g.items(t)
	require.Len(t, items, 1)
	assert.Equal(t, fallbackNS, items[0].Namespace)
}

// A batch in which one signal's runtime fallback is refused answers 403; the signals written
// where the sender is allowed are kept (a redelivery finds them as duplicates).
func TestRuntimeFallbackRefusedInBatch(t *testing.T) {
	g := newGateway(t)
	gone(g)
	g.ids.addUser("two", "two-sender", "gone", "a")
	rec := g.postAlerts(alerts("a", "gone"), "Authorization", "Bearer two")
	assertProblem(t, rec, http.StatusForbidden, server.SlugForbidden)
	items := g.items(t)
	require.Len(t, items, 1)
	assert.Equal(t, "a", items[0].Namespace)
}
