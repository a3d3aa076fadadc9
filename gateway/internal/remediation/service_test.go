package remediation_test

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
	"github.com/kubernaut/gateway-contract/gateway/internal/remediation"
	"github.com/kubernaut/gateway-contract/gateway/internal/signal"
)

const fallbackNS = "kubernaut-system"

var now = time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)

// anyNamespace authorizes the sender everywhere: the tests of this package are not about who may
// write (fallback_authz_test.go is).
func anyNamespace(context.Context, string) error { return nil }

type env struct {
	faults  *kubetest.Faults
	client  client.WithWatch
	svc     *remediation.Service
	mu      sync.Mutex
	retries []kuberetry.Retry
	sleeps  []time.Duration
}

func newEnv(t *testing.T, objs ...client.Object) *env {
	t.Helper()
	e := &env{faults: &kubetest.Faults{}}
	e.client = kubetest.NewClient(e.faults, objs...)
	e.svc = &remediation.Service{
		Client: e.client,
		Retry: &kuberetry.Policy{
			Attempts: 5, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second,
			CallTimeout: 50 * time.Millisecond,
			OnRetry: func(_ context.Context, r kuberetry.Retry) {
				e.mu.Lock()
				defer e.mu.Unlock()
				e.retries = append(e.retries, r)
			},
			Sleep: func(ctx context.Context, d time.Duration) error {
				e.mu.Lock()
				defer e.mu.Unlock()
				e.sleeps = append(e.sleeps, d)
				return ctx.Err()
			},
		},
		FallbackNamespace: fallbackNS,
		Now:               func() time.Time { return now },
	}
	return e
}

func podSignal(namespace, pod string) *signal.Signal {
	s := &signal.Signal{
		Name: "KubePodCrashLooping", Severity: v1alpha1.SeverityCritical,
		Type: v1alpha1.SignalTypePrometheusAlert, Source: v1alpha1.SignalSourceAlertmanager,
		Namespace: namespace, Target: signal.Target{Kind: signal.KindPod, Name: pod},
		FiringTime: now.Add(-time.Minute), ReceivedTime: now,
		Labels:  map[string]string{"alertname": "KubePodCrashLooping", "pod": pod, "namespace": namespace},
		Payload: `{"labels":{}}`,
	}
	s.Fingerprint = signal.Fingerprint(s.Name, s.Namespace, s.Target.Kind, s.Target.Name)
	return s
}

func nodeSignal() *signal.Signal {
	s := &signal.Signal{
		Name: "NodeNotReady", Severity: v1alpha1.SeverityWarning,
		Type: v1alpha1.SignalTypePrometheusAlert, Source: v1alpha1.SignalSourceAlertmanager,
		Target: signal.Target{Kind: signal.KindNode, Name: "worker-3"}, FiringTime: now, ReceivedTime: now,
	}
	s.Fingerprint = signal.Fingerprint(s.Name, "", s.Target.Kind, s.Target.Name)
	return s
}

func (e *env) list(t *testing.T) []v1alpha1.RemediationRequest {
	t.Helper()
	var list v1alpha1.RemediationRequestList
	require.NoError(t, e.client.List(context.Background(), &list))
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items
}

func nameOf(s *signal.Signal, n string) string { return "rr-" + s.Fingerprint[:16] + "-" + n }

func TestCreateThenDuplicate(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")

	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.Outcome{Status: remediation.StatusCreated, Namespace: "payments", Name: nameOf(sig, "0"), OccurrenceCount: 1}, out)

	items := e.list(t)
	require.Len(t, items, 1)
	rr := items[0]
	assert.Equal(t, map[string]string{
		v1alpha1.LabelManagedBy:         v1alpha1.ManagedByGateway,
		v1alpha1.LabelSignalFingerprint: sig.Fingerprint[:63],
		v1alpha1.LabelSeverity:          "critical",
		v1alpha1.LabelSignalType:        "prometheus-alert",
	}, rr.Labels)
	assert.Equal(t, sig.Fingerprint, rr.Spec.SignalFingerprint)
	assert.Equal(t, "KubePodCrashLooping", rr.Spec.SignalName)
	assert.Equal(t, v1alpha1.TargetTypeKubernetes, rr.Spec.TargetType)
	assert.Equal(t, v1alpha1.ResourceIdentifier{Kind: "Pod", Name: "api-1", Namespace: "payments"}, rr.Spec.TargetResource)
	assert.Equal(t, "alertmanager", rr.Spec.SignalSource)
	require.NotNil(t, rr.Status.Deduplication)
	assert.EqualValues(t, 1, rr.Status.Deduplication.OccurrenceCount)
	assert.Equal(t, now.UnixMicro(), rr.Status.Deduplication.FirstSeenAt.UnixMicro())

	later := now.Add(time.Minute)
	e.svc.Now = func() time.Time { return later }
	out, err = e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.Outcome{Status: remediation.StatusDuplicate, Namespace: "payments", Name: nameOf(sig, "0"), OccurrenceCount: 2}, out)
	items = e.list(t)
	require.Len(t, items, 1)
	d := items[0].Status.Deduplication
	assert.EqualValues(t, 2, d.OccurrenceCount)
	assert.Equal(t, now.UnixMicro(), d.FirstSeenAt.UnixMicro())
	assert.Equal(t, later.UnixMicro(), d.LastSeenAt.UnixMicro())
}

func TestDuplicateCount(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	for i := 1; i <= 7; i++ {
		out, err := e.svc.Process(context.Background(), sig, anyNamespace)
		require.NoError(t, err)
		assert.EqualValues(t, i, out.OccurrenceCount)
	}
	items := e.list(t)
	require.Len(t, items, 1)
	assert.EqualValues(t, 7, items[0].Status.Deduplication.OccurrenceCount)
}

func TestTerminalPhaseStartsANewObject(t *testing.T) {
	for _, phase := range []string{v1alpha1.PhaseCompleted, v1alpha1.PhaseFailed, v1alpha1.PhaseTimedOut, v1alpha1.PhaseSkipped, v1alpha1.PhaseCancelled} {
		t.Run(phase, func(t *testing.T) {
			e := newEnv(t)
			sig := podSignal("payments", "api-1")
			_, err := e.svc.Process(context.Background(), sig, anyNamespace)
			require.NoError(t, err)
			finish(t, e.client, "payments", nameOf(sig, "0"), phase)

			out, err := e.svc.Process(context.Background(), sig, anyNamespace)
			require.NoError(t, err)
			assert.Equal(t, remediation.StatusCreated, out.Status)
			assert.Equal(t, nameOf(sig, "1"), out.Name)
			assert.EqualValues(t, 1, out.OccurrenceCount)

			out, err = e.svc.Process(context.Background(), sig, anyNamespace)
			require.NoError(t, err)
			assert.Equal(t, remediation.Outcome{Status: remediation.StatusDuplicate, Namespace: "payments", Name: nameOf(sig, "1"), OccurrenceCount: 2}, out)
			assert.Len(t, e.list(t), 2)
		})
	}
}

func TestNonTerminalPhaseIsADuplicate(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	_, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	finish(t, e.client, "payments", nameOf(sig, "0"), "Processing")
	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.StatusDuplicate, out.Status)
}

func finish(t *testing.T, c client.Client, namespace, name, phase string) {
	t.Helper()
	var rr v1alpha1.RemediationRequest
	require.NoError(t, c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, &rr))
	rr.Status.OverallPhase = phase
	require.NoError(t, c.Status().Update(context.Background(), &rr))
}

func TestConcurrentIdenticalSignals(t *testing.T) {
	const n = 25
	e := newEnv(t)
	e.storm(t, n, podSignal("payments", "api-1"))
}

// storm sends n copies of sig at once: exactly one is created, and the one object counts all n.
func (e *env) storm(t *testing.T, n int, sig *signal.Signal) {
	t.Helper()
	var wg sync.WaitGroup
	outs := make([]remediation.Outcome, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s := *sig
			outs[i], errs[i] = e.svc.Process(context.Background(), &s, anyNamespace)
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for i := range n {
		require.NoError(t, errs[i])
		if outs[i].Status == remediation.StatusCreated {
			created++
		}
	}
	assert.Equal(t, 1, created)
	items := e.list(t)
	require.Len(t, items, 1)
	assert.EqualValues(t, n, items[0].Status.Deduplication.OccurrenceCount)
}

func TestNamespaceNotFoundFallsBack(t *testing.T) {
	e := newEnv(t)
	e.faults.Match = func(verb string, obj client.Object) bool { return obj != nil && obj.GetNamespace() == "gone" }
	e.faults.Inject(kubetest.VerbCreate, kubetest.Fault{Err: kubetest.NamespaceNotFound("gone")})
	sig := podSignal("gone", "api-1")

	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.StatusCreated, out.Status)
	assert.Equal(t, fallbackNS, out.Namespace)
	items := e.list(t)
	require.Len(t, items, 1)
	assert.Equal(t, "gone", items[0].Labels[v1alpha1.LabelOriginNamespace])
	assert.Equal(t, "gone", items[0].Spec.TargetResource.Namespace)
	assert.Equal(t, sig.Fingerprint, items[0].Spec.SignalFingerprint, "identity keeps the original namespace")
}

func TestNamespaceTerminatingFallsBack(t *testing.T) {
	e := newEnv(t)
	terminating := apierrors.NewForbidden(v1alpha1.Resource(v1alpha1.ResourcePlural), "x", errors.New("namespace is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: "NamespaceTerminating"}}
	e.faults.Inject(kubetest.VerbCreate, kubetest.Fault{Err: terminating})
	out, err := e.svc.Process(context.Background(), podSignal("ending", "api-1"), anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, fallbackNS, out.Namespace)
}

func TestClusterScopedTargetsUseFallback(t *testing.T) {
	tests := []struct {
		name       string
		sig        *signal.Signal
		wantOrigin string
		wantTarget v1alpha1.ResourceIdentifier
	}{
		{"node", nodeSignal(), v1alpha1.OriginClusterScoped, v1alpha1.ResourceIdentifier{Kind: "Node", Name: "worker-3"}},
		{"namespace target keeps its namespace as origin", func() *signal.Signal {
			s := podSignal("payments", "")
			s.Target = signal.Target{Kind: signal.KindNamespace, Name: "payments"}
			s.Fingerprint = signal.Fingerprint(s.Name, "payments", "Namespace", "payments")
			return s
		}(), "payments", v1alpha1.ResourceIdentifier{Kind: "Namespace", Name: "payments"}},
		{"invalid namespace", func() *signal.Signal {
			s := podSignal("Not A Namespace!", "p")
			return s
		}(), remediation.OriginInvalidNamespace, v1alpha1.ResourceIdentifier{Kind: "Pod", Name: "p", Namespace: "Not A Namespace!"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			out, err := e.svc.Process(context.Background(), tt.sig, anyNamespace)
			require.NoError(t, err)
			assert.Equal(t, fallbackNS, out.Namespace)
			items := e.list(t)
			require.Len(t, items, 1)
			assert.Equal(t, tt.wantOrigin, items[0].Labels[v1alpha1.LabelOriginNamespace])
			assert.Equal(t, tt.wantTarget, items[0].Spec.TargetResource)

			out, err = e.svc.Process(context.Background(), tt.sig, anyNamespace)
			require.NoError(t, err)
			assert.Equal(t, remediation.StatusDuplicate, out.Status)
			assert.EqualValues(t, 2, out.OccurrenceCount)
		})
	}
}
