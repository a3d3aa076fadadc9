package rrcache_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/rrcache"
)

// source is a scripted API server for one informer: a list, and watches that the test can break.
type source struct {
	mu      sync.Mutex
	rv      int
	objs    map[string]*v1alpha1.RemediationRequest
	watcher *watch.RaceFreeFakeWatcher
	lists   int
	watches int
}

func newSource() *source { return &source{objs: map[string]*v1alpha1.RemediationRequest{}} }

func (s *source) IsWatchListSemanticsUnSupported() bool { return true }

func (s *source) List(metav1.ListOptions) (runtime.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	list := &v1alpha1.RemediationRequestList{ListMeta: metav1.ListMeta{ResourceVersion: strconv.Itoa(s.rv + 1)}}
	for _, o := range s.objs {
		list.Items = append(list.Items, *o.DeepCopy())
	}
	return list, nil
}

func (s *source) Watch(metav1.ListOptions) (watch.Interface, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watches++
	s.watcher = watch.NewRaceFreeFake()
	return s.watcher, nil
}

// put stores obj with the next resourceVersion and tells the current watch, unless broken.
func (s *source) put(obj *v1alpha1.RemediationRequest, tell bool) *v1alpha1.RemediationRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rv++
	obj = obj.DeepCopy()
	obj.ResourceVersion = strconv.Itoa(s.rv + 1)
	_, existed := s.objs[obj.Name]
	s.objs[obj.Name] = obj
	if tell && s.watcher != nil {
		if existed {
			s.watcher.Modify(obj.DeepCopy())
		} else {
			s.watcher.Add(obj.DeepCopy())
		}
	}
	return obj.DeepCopy()
}

func (s *source) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.objs[name]
	delete(s.objs, name)
	s.watcher.Delete(obj)
}

// breakWatch ends the current watch as a restarted API server does for a resourceVersion it no
// longer has: 410 Gone, so the informer must list again.
func (s *source) breakWatch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watcher.Error(&metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
	s.watcher = nil
}

func (s *source) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists, s.watches
}

const fp = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func rr(name string, count int32) *v1alpha1.RemediationRequest {
	o := &v1alpha1.RemediationRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "payments", UID: types.UID("uid-" + name), Labels: map[string]string{"a": "b"}},
		Spec:       v1alpha1.RemediationRequestSpec{SignalFingerprint: fp, SignalName: "X", OriginalPayload: "{\"big\":true}"},
	}
	if count > 0 {
		o.Status.Deduplication = &v1alpha1.DeduplicationStatus{OccurrenceCount: count}
	}
	return o
}

func start(t *testing.T, src *source) *rrcache.Cache {
	t.Helper()
	c := rrcache.New(src)
	require.Error(t, c.Ready(context.Background()), "not ready before the first list")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go c.Run(ctx)
	require.Eventually(t, c.Synced, 5*time.Second, time.Millisecond)
	require.NoError(t, c.Ready(context.Background()))
	require.Eventually(t, func() bool { _, w := src.counts(); return w >= 1 }, 5*time.Second, time.Millisecond, "the watch is open")
	return c
}

func counts(objs []*v1alpha1.RemediationRequest) map[string]int32 {
	out := map[string]int32{}
	for _, o := range objs {
		var n int32
		if o.Status.Deduplication != nil {
			n = o.Status.Deduplication.OccurrenceCount
		}
		out[o.Name] = n
	}
	return out
}

func TestIndexAndStrip(t *testing.T) {
	src := newSource()
	src.put(rr("rr-a-0", 3), false)
	other := rr("rr-b-0", 1)
	other.Spec.SignalFingerprint = "f" + fp[1:]
	src.put(other, false)
	c := start(t, src)
	got := c.ByFingerprint("payments", fp)
	require.Len(t, got, 1)
	assert.Equal(t, "rr-a-0", got[0].Name)
	assert.Equal(t, types.UID("uid-rr-a-0"), got[0].UID)
	assert.NotEmpty(t, got[0].ResourceVersion)
	assert.EqualValues(t, 3, got[0].Status.Deduplication.OccurrenceCount)
	assert.Empty(t, got[0].Spec.OriginalPayload, "the cache keeps no payload")
	assert.Empty(t, got[0].Labels)
	assert.Empty(t, c.ByFingerprint("other", fp), "namespaces are apart")
}

// A write of ours is visible at once, before the watch delivers it, and a stale watch event does
// not hide it; once the watch catches up the record goes.
func TestOwnWritesBeforeTheWatch(t *testing.T) {
	src := newSource()
	c := start(t, src)
	created := src.put(rr("rr-a-0", 0), false) // the watch is slow: nothing delivered yet
	c.Observe(created)
	assert.Equal(t, map[string]int32{"rr-a-0": 0}, counts(c.ByFingerprint("payments", fp)))

	first := src.put(rr("rr-a-0", 1), false)
	c.Observe(first)
	c.Observe(created) // an older answer does not replace a newer one
	assert.Equal(t, map[string]int32{"rr-a-0": 1}, counts(c.ByFingerprint("payments", fp)))

	// The watch delivers the create (older than our record): ours still wins.
	src.mu.Lock()
	src.watcher.Add(created.DeepCopy())
	src.mu.Unlock()
	require.Eventually(t, func() bool { return len(c.ByFingerprint("payments", fp)) == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, map[string]int32{"rr-a-0": 1}, counts(c.ByFingerprint("payments", fp)))

	// Someone else's later write, through the watch, wins over our record.
	src.put(rr("rr-a-0", 7), true)
	require.Eventually(t, func() bool { return counts(c.ByFingerprint("payments", fp))["rr-a-0"] == 7 }, 5*time.Second, time.Millisecond)
}

func TestForgetAndDelete(t *testing.T) {
	src := newSource()
	src.put(rr("rr-a-0", 1), false)
	c := start(t, src)
	up := src.put(rr("rr-a-0", 2), false)
	c.Observe(up)
	c.Forget(up)
	assert.Equal(t, map[string]int32{"rr-a-0": 1}, counts(c.ByFingerprint("payments", fp)), "back to the watch's view")

	c.Observe(src.put(rr("rr-a-0", 3), false))
	src.remove("rr-a-0")
	require.Eventually(t, func() bool { return len(c.ByFingerprint("payments", fp)) == 0 }, 5*time.Second, time.Millisecond,
		"a deletion from the watch drops the record of our write too")
}

// A broken watch recovers by itself: the informer lists again and sees what it missed.
func TestBrokenWatchRecovers(t *testing.T) {
	src := newSource()
	src.put(rr("rr-a-0", 1), false)
	c := start(t, src)
	src.breakWatch()
	src.put(rr("rr-a-1", 1), false) // while no watch is open: only a new list can show it
	require.Eventually(t, func() bool { return len(c.ByFingerprint("payments", fp)) == 2 }, 10*time.Second, 5*time.Millisecond)
	lists, watches := src.counts()
	assert.GreaterOrEqual(t, lists, 2)
	assert.GreaterOrEqual(t, watches, 2)
	src.put(rr("rr-a-2", 1), true)
	require.Eventually(t, func() bool { return len(c.ByFingerprint("payments", fp)) == 3 }, 5*time.Second, time.Millisecond, "the new watch delivers")
}
