package remediation_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
	"github.com/kubernaut/gateway-contract/gateway/internal/remediation"
	"github.com/kubernaut/gateway-contract/gateway/internal/signal"
)

// Namespace is the one rule the HTTP layer authorizes by: it must agree with where Process writes
// when the API raises no objection.
func TestNamespaceIsWhereProcessWrites(t *testing.T) {
	tests := []struct {
		name         string
		sig          *signal.Signal
		want         string
		wantFallback bool
	}{
		{"pod in its namespace", podSignal("payments", "api-1"), "payments", false},
		{"node", nodeSignal(), fallbackNS, true},
		{"no namespace", podSignal("", "api-1"), fallbackNS, true},
		{"invalid namespace", podSignal("Not_A_Namespace", "api-1"), fallbackNS, true},
		{"namespace target", func() *signal.Signal {
			s := podSignal("payments", "")
			s.Target = signal.Target{Kind: signal.KindNamespace, Name: "payments"}
			return s
		}(), fallbackNS, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ns, fallback := e.svc.Namespace(tt.sig)
			assert.Equal(t, tt.want, ns)
			assert.Equal(t, tt.wantFallback, fallback)
			out, err := e.svc.Process(context.Background(), tt.sig, anyNamespace)
			require.NoError(t, err)
			assert.Equal(t, ns, out.Namespace)
		})
	}
}

// The creator's username is annotated; an occurrence from another sender does not change it, and a
// signal without a sender gets no annotation.
func TestSenderAnnotation(t *testing.T) {
	e := newEnv(t)
	first := podSignal("payments", "api-1")
	first.Sender = "alice"
	_, err := e.svc.Process(context.Background(), first, anyNamespace)
	require.NoError(t, err)
	second := podSignal("payments", "api-1")
	second.Sender = "bob"
	out, err := e.svc.Process(context.Background(), second, anyNamespace)
	require.NoError(t, err)
	require.Equal(t, remediation.StatusDuplicate, out.Status)
	items := e.list(t)
	require.Len(t, items, 1)
	assert.Equal(t, map[string]string{v1alpha1.AnnotationSender: "alice"}, items[0].Annotations)

	// A fallback after the API's answer keeps the sender too.
	e = newEnv(t)
	e.faults.Inject(kubetest.VerbCreate, kubetest.Fault{Err: kubetest.NamespaceNotFound("gone")})
	gone := podSignal("gone", "api-1")
	gone.Sender = "alice"
	out, err = e.svc.Process(context.Background(), gone, anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, fallbackNS, out.Namespace)
	assert.Equal(t, "alice", e.list(t)[0].Annotations[v1alpha1.AnnotationSender])

	e = newEnv(t)
	_, err = e.svc.Process(context.Background(), podSignal("payments", "api-2"), anyNamespace)
	require.NoError(t, err)
	assert.Empty(t, e.list(t)[0].Annotations)
}
