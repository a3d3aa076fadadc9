package remediation_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
)

var errRefused = errors.New("refused")

// recorder is an Authorize that remembers the namespaces it was asked about and refuses those in
// refuse.
type recorder struct {
	asked  []string
	refuse map[string]bool
}

func (r *recorder) authorize(_ context.Context, namespace string) error {
	r.asked = append(r.asked, namespace)
	if r.refuse[namespace] {
		return errRefused
	}
	return nil
}

// The fallback namespace decided at run time is authorized before anything is written there: a
// refusal writes nothing and is returned; an allowed sender's signal lands in the fallback.
func TestRuntimeFallbackIsAuthorized(t *testing.T) {
	terminating := apierrors.NewForbidden(v1alpha1.Resource(v1alpha1.ResourcePlural), "x", errors.New("namespace is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: "NamespaceTerminating"}}
	for name, fault := range map[string]error{
		"missing":     kubetest.NamespaceNotFound("gone"),
		"terminating": terminating,
	} {
		t.Run(name, func(t *testing.T) {
			for _, allowed := range []bool{false, true} {
				e := newEnv(t)
				e.faults.Match = func(_ string, obj client.Object) bool { return obj != nil && obj.GetNamespace() == "gone" }
				e.faults.Inject(kubetest.VerbCreate, kubetest.Fault{Err: fault})
				r := &recorder{refuse: map[string]bool{fallbackNS: !allowed}}
				out, err := e.svc.Process(context.Background(), podSignal("gone", "api-1"), r.authorize)
				assert.Equal(t, []string{fallbackNS}, r.asked, "the fallback namespace is authorized once")
				if !allowed {
					require.ErrorIs(t, err, errRefused)
					assert.Empty(t, e.list(t), "nothing is written")
					continue
				}
				require.NoError(t, err)
				assert.Equal(t, fallbackNS, out.Namespace)
				require.Len(t, e.list(t), 1)
			}
		})
	}
}

// A signal written where the caller authorized it asks nothing further; so does one whose
// fallback was decided from the signal alone (the caller authorized the fallback namespace).
func TestNoRuntimeFallbackAsksNothing(t *testing.T) {
	e := newEnv(t)
	r := &recorder{}
	_, err := e.svc.Process(context.Background(), podSignal("payments", "api-1"), r.authorize)
	require.NoError(t, err)
	_, err = e.svc.Process(context.Background(), nodeSignal(), r.authorize)
	require.NoError(t, err)
	assert.Empty(t, r.asked)
}

// Without an Authorize, a runtime fallback is refused rather than written unchecked.
func TestRuntimeFallbackWithoutAuthorizeWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.faults.Inject(kubetest.VerbCreate, kubetest.Fault{Err: kubetest.NamespaceNotFound("gone")})
	_, err := e.svc.Process(context.Background(), podSignal("gone", "api-1"), nil)
	require.Error(t, err)
	assert.Empty(t, e.list(t))
}
