package remediation_test

import (
	"context"
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
	"github.com/kubernaut/gateway-contract/gateway/internal/rrcache"
)

// staleCache serves a fixed view, whatever the API holds: the worst a lagging watch can do.
type staleCache struct {
	mu        sync.Mutex
	objs      []*v1alpha1.RemediationRequest
	unsynced  bool
	observed  int
	forgotten []string
}

func (c *staleCache) Synced() bool { return !c.unsynced }

func (c *staleCache) ByFingerprint(namespace, fingerprint string) []*v1alpha1.RemediationRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*v1alpha1.RemediationRequest
	for _, rr := range c.objs {
		if rr.Namespace == namespace && rr.Spec.SignalFingerprint == fingerprint {
			out = append(out, rr)
		}
	}
	return out
}

func (c *staleCache) Observe(*v1alpha1.RemediationRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.observed++
}

func (c *staleCache) Forget(rr *v1alpha1.RemediationRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgotten = append(c.forgotten, rr.Name)
}

// calls is the number of API calls per verb since the last reset.
type calls struct {
	f    *kubetest.Faults
	base map[string]int
}

func countCalls(f *kubetest.Faults) *calls {
	c := &calls{f: f}
	c.reset()
	return c
}

func (c *calls) reset() {
	c.base = map[string]int{}
	for _, v := range []string{kubetest.VerbList, kubetest.VerbGet, kubetest.VerbCreate, kubetest.VerbStatusUpdate} {
		c.base[v] = c.f.Calls(v)
	}
}

// since returns the calls made since the last reset (verbs with none left out) and resets.
func (c *calls) since() map[string]int {
	out := map[string]int{}
	for v, n := range c.base {
		if d := c.f.Calls(v) - n; d > 0 {
			out[v] = d
		}
	}
	c.reset()
	return out
}

// storedRR is an object as the API holds it, for stale-cache tests.
func (e *env) storedRR(t *testing.T, name string) *v1alpha1.RemediationRequest {
	t.Helper()
	var rr v1alpha1.RemediationRequest
	require.NoError(t, e.client.Get(context.Background(), client.ObjectKey{Namespace: "payments", Name: name}, &rr))
	return &rr
}

// The steady state, with the real watch-backed cache: a new signal costs exactly one create and one
// status update, a repeat exactly one status update; no list, no read.
func TestCallsPerSignalWithTheCache(t *testing.T) {
	e := newEnv(t)
	cache := rrcache.New(kubetest.WithoutWatchList(rrcache.ListWatch(e.client)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cache.Run(ctx)
	require.Eventually(t, cache.Synced, 5*time.Second, time.Millisecond)
	e.svc.Cache = cache
	c := countCalls(e.faults)

	for i, pod := range []string{"api-1", "api-2", "api-3"} {
		sig := podSignal("payments", pod)
		out, err := e.svc.Process(context.Background(), sig, anyNamespace)
		require.NoError(t, err)
		assert.Equal(t, remediation.StatusCreated, out.Status)
		assert.Equal(t, map[string]int{kubetest.VerbCreate: 1, kubetest.VerbStatusUpdate: 1}, c.since(), "new signal %d", i)
		for n := 2; n <= 6; n++ {
			out, err := e.svc.Process(context.Background(), sig, anyNamespace)
			require.NoError(t, err)
			assert.Equal(t, remediation.Outcome{Status: remediation.StatusDuplicate, Namespace: "payments", Name: nameOf(sig, "0"), OccurrenceCount: int32(n)}, out)
			assert.Equal(t, map[string]int{kubetest.VerbStatusUpdate: 1}, c.since(), "repeat %d of signal %d", n, i)
		}
	}
	// The watch has delivered the writes by now; the repeats still cost one call each.
	require.Eventually(t, func() bool {
		items := cache.ByFingerprint("payments", podSignal("payments", "api-3").Fingerprint)
		return len(items) == 1 && items[0].Status.Deduplication != nil && items[0].Status.Deduplication.OccurrenceCount == 6
	}, 5*time.Second, time.Millisecond)
	_, err := e.svc.Process(context.Background(), podSignal("payments", "api-3"), anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{kubetest.VerbStatusUpdate: 1}, c.since())
}

// Without a cache (or before it synced) a signal looks its fingerprint up with a LIST, and still
// needs no read: three calls for a new signal, two for a repeat.
func TestCallsPerSignalWithoutTheCache(t *testing.T) {
	for name, cache := range map[string]remediation.Cache{"none": nil, "not synced": &staleCache{unsynced: true}} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.svc.Cache = cache
			c := countCalls(e.faults)
			sig := podSignal("payments", "api-1")
			_, err := e.svc.Process(context.Background(), sig, anyNamespace)
			require.NoError(t, err)
			assert.Equal(t, map[string]int{kubetest.VerbList: 1, kubetest.VerbCreate: 1, kubetest.VerbStatusUpdate: 1}, c.since())
			_, err = e.svc.Process(context.Background(), sig, anyNamespace)
			require.NoError(t, err)
			assert.Equal(t, map[string]int{kubetest.VerbList: 1, kubetest.VerbStatusUpdate: 1}, c.since())
		})
	}
}

// The cache still holds an active object that was deleted (with its namespace, say): the status
// update meets NotFound, and the signal starts afresh on a new object, counted 1 and created.
func TestStaleCacheDeletedObject(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	_, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	_, err = e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	gone := e.storedRR(t, nameOf(sig, "0"))
	require.NoError(t, e.client.Delete(context.Background(), gone))
	cache := &staleCache{objs: []*v1alpha1.RemediationRequest{gone}}
	e.svc.Cache = cache

	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.Outcome{Status: remediation.StatusCreated, Namespace: "payments", Name: nameOf(sig, "0"), OccurrenceCount: 1}, out)
	items := e.list(t)
	require.Len(t, items, 1)
	assert.EqualValues(t, 1, items[0].Status.Deduplication.OccurrenceCount)
	assert.Equal(t, []string{nameOf(sig, "0")}, cache.forgotten, "the cache's record of the object is dropped")
}

// The cache misses an object another gateway just created: the create collides on the name and
// the occurrence joins the winner's object.
func TestStaleCacheMissesAJustCreatedObject(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	_, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	e.svc.Cache = &staleCache{}
	c := countCalls(e.faults)

	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.Outcome{Status: remediation.StatusDuplicate, Namespace: "payments", Name: nameOf(sig, "0"), OccurrenceCount: 2}, out)
	assert.Equal(t, map[string]int{kubetest.VerbCreate: 1, kubetest.VerbGet: 1, kubetest.VerbStatusUpdate: 1}, c.since())
	assert.Len(t, e.list(t), 1)
}

// The cache holds an old version: the update conflicts, the object is read again, and the count
// continues from the API's.
func TestStaleCacheOldVersion(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	_, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	old := e.storedRR(t, nameOf(sig, "0"))
	for range 2 {
		_, err = e.svc.Process(context.Background(), sig, anyNamespace)
		require.NoError(t, err)
	}
	e.svc.Cache = &staleCache{objs: []*v1alpha1.RemediationRequest{old}}
	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.Outcome{Status: remediation.StatusDuplicate, Namespace: "payments", Name: nameOf(sig, "0"), OccurrenceCount: 4}, out)
}

// The cache has not seen the object turn terminal: the update conflicts, the read shows it ended,
// and the signal starts the next object.
func TestStaleCacheMissesTheEnd(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	_, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	active := e.storedRR(t, nameOf(sig, "0"))
	finish(t, e.client, "payments", nameOf(sig, "0"), v1alpha1.PhaseCompleted)
	e.svc.Cache = &staleCache{objs: []*v1alpha1.RemediationRequest{active}}

	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.Outcome{Status: remediation.StatusCreated, Namespace: "payments", Name: nameOf(sig, "1"), OccurrenceCount: 1}, out)
	assert.Len(t, e.list(t), 2)
}

// The cache knows only the ended object, not its active successor: the create of the next name
// collides with the successor, which takes the occurrence.
func TestStaleCacheMissesTheSuccessor(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	_, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	finish(t, e.client, "payments", nameOf(sig, "0"), v1alpha1.PhaseFailed)
	ended := e.storedRR(t, nameOf(sig, "0"))
	_, err = e.svc.Process(context.Background(), sig, anyNamespace) // the successor, rr-…-1
	require.NoError(t, err)
	e.svc.Cache = &staleCache{objs: []*v1alpha1.RemediationRequest{ended}}

	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.Outcome{Status: remediation.StatusDuplicate, Namespace: "payments", Name: nameOf(sig, "1"), OccurrenceCount: 2}, out)
	assert.Len(t, e.list(t), 2)
}

// Concurrent identical signals through the real cache still make exactly one object, counted once
// per signal and reported created once.
func TestConcurrentIdenticalSignalsWithTheCache(t *testing.T) {
	const n = 25
	e := newEnv(t)
	cache := rrcache.New(kubetest.WithoutWatchList(rrcache.ListWatch(e.client)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cache.Run(ctx)
	require.Eventually(t, cache.Synced, 5*time.Second, time.Millisecond)
	e.svc.Cache = cache
	e.storm(t, n, podSignal("payments", "api-1"))
}

// The soak's undercount: the create succeeds, the first occurrence's status update fails until
// the request gives up (503). The redelivery finds the object with no occurrence and records the
// first one: that signal is the one reported created, so every object is counted created once.
func TestFirstOccurrenceLostThenRedeliveredIsCreated(t *testing.T) {
	for name, cache := range map[string]func(e *env) remediation.Cache{
		"no cache": func(*env) remediation.Cache { return nil },
		"cache with the object": func(e *env) remediation.Cache {
			var list v1alpha1.RemediationRequestList
			require.NoError(t, e.client.List(context.Background(), &list))
			objs := make([]*v1alpha1.RemediationRequest, len(list.Items))
			for i := range list.Items {
				objs[i] = &list.Items[i]
			}
			return &staleCache{objs: objs}
		},
		"cache without the object": func(*env) remediation.Cache { return &staleCache{} },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			sig := podSignal("payments", "api-1")
			e.faults.FailN(kubetest.VerbStatusUpdate, 5, apierrors.NewServiceUnavailable("etcd leader change"))
			_, err := e.svc.Process(context.Background(), sig, anyNamespace)
			require.True(t, kuberetry.IsUnavailable(err), "503, so that the sender delivers again: %v", err)
			items := e.list(t)
			require.Len(t, items, 1, "the create took effect")
			require.Nil(t, items[0].Status.Deduplication)

			e.svc.Cache = cache(e)
			out, err := e.svc.Process(context.Background(), sig, anyNamespace)
			require.NoError(t, err)
			assert.Equal(t, remediation.Outcome{Status: remediation.StatusCreated, Namespace: "payments", Name: nameOf(sig, "0"), OccurrenceCount: 1}, out)

			out, err = e.svc.Process(context.Background(), sig, anyNamespace)
			require.NoError(t, err)
			assert.Equal(t, remediation.StatusDuplicate, out.Status)
			assert.EqualValues(t, 2, out.OccurrenceCount)
		})
	}
}

// The status update carries no spec (the API server keeps the stored one), and the stored object
// keeps its payload, labels and annotations.
func TestStatusUpdateKeepsTheSpec(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	sig.Sender = "alice"
	for range 3 {
		_, err := e.svc.Process(context.Background(), sig, anyNamespace)
		require.NoError(t, err)
	}
	rr := e.storedRR(t, nameOf(sig, "0"))
	assert.Equal(t, sig.Payload, rr.Spec.OriginalPayload)
	assert.Equal(t, sig.Labels, rr.Spec.SignalLabels)
	assert.Equal(t, "alice", rr.Annotations[v1alpha1.AnnotationSender])
	assert.EqualValues(t, 3, rr.Status.Deduplication.OccurrenceCount)
	assert.Equal(t, metav1.NewMicroTime(now).UnixMicro(), rr.Status.Deduplication.FirstSeenAt.UnixMicro())
}
