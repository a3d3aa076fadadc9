package remediation_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
	"github.com/kubernaut/gateway-contract/gateway/internal/remediation"
)

// Occurrences of one object that arrive while its first status update is being written are
// written together in the next update: two status updates for n identical signals, each signal
// still answered with a count of its own (1..n, each once) and only the first created.
func TestOccurrencesThatArriveTogetherAreWrittenTogether(t *testing.T) {
	const n = 20
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	release := make(chan struct{})
	// The first status update waits until every other signal has found the object (listed it, or
	// lost the create race and read it) and queued behind it.
	e.faults.Inject(kubetest.VerbStatusUpdate, kubetest.Fault{Wait: release})
	var wg sync.WaitGroup
	outs := make([]remediation.Outcome, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s := *sig
			outs[i], errs[i] = e.svc.Process(context.Background(), &s, anyNamespace)
		})
	}
	require.Eventually(t, func() bool { return e.svc.Waiting(key(e)) == n-1 }, 10*time.Second, time.Millisecond,
		"the other %d signals to queue behind the first write", n-1)
	close(release)
	wg.Wait()
	var counts []int
	created := 0
	for i := range n {
		require.NoError(t, errs[i])
		counts = append(counts, int(outs[i].OccurrenceCount))
		if outs[i].Status == remediation.StatusCreated {
			created++
		}
	}
	sort.Ints(counts)
	for i, c := range counts {
		assert.Equal(t, i+1, c, "every count from 1 to n, each once")
	}
	assert.Equal(t, 1, created)
	assert.Equal(t, 2, e.faults.Calls(kubetest.VerbStatusUpdate), "the first occurrence, then the other n-1 together")
	assert.EqualValues(t, n, e.list(t)[0].Status.Deduplication.OccurrenceCount)
}

// key is the one object of the env's namespace, once it exists.
func key(e *env) client.ObjectKey {
	var l v1alpha1.RemediationRequestList
	if err := e.client.List(context.Background(), &l); err != nil || len(l.Items) != 1 {
		return client.ObjectKey{}
	}
	return client.ObjectKeyFromObject(&l.Items[0])
}

// A signal whose deadline passes while it waits for the writer leaves the queue uncounted.
func TestAnOccurrenceThatGivesUpWaitingIsNotCounted(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	_, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	release := make(chan struct{})
	e.faults.Inject(kubetest.VerbStatusUpdate, kubetest.Fault{Wait: release})
	first := make(chan error, 1)
	go func() {
		_, err := e.svc.Process(context.Background(), sig, anyNamespace)
		first <- err
	}()
	require.Eventually(t, func() bool { return e.faults.Calls(kubetest.VerbStatusUpdate) == 2 }, 10*time.Second, time.Millisecond,
		"the first repeat to reach its status update")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = e.svc.Process(ctx, sig, anyNamespace)
	require.Error(t, err, "it waited behind the writer until its deadline")
	close(release)
	require.NoError(t, <-first)
	assert.EqualValues(t, 2, e.list(t)[0].Status.Deduplication.OccurrenceCount, "the one that gave up is not counted")
}
