// Package rrcache is the gateway's watch-backed view of the RemediationRequests of the cluster,
// indexed by namespace and fingerprint, so that finding the active RemediationRequest of a signal
// costs no API call.
//
// It is a client-go shared informer (one cluster-wide LIST, then a WATCH that the reflector
// re-establishes by itself after any failure, resuming or re-listing as needed), plus a small
// record of the gateway's own writes that the watch has not delivered yet: after a create or a
// status update, the next signal of the same fingerprint finds the object as the API answered
// the write, not as it was before it, and needs no re-read.
//
// Nothing here has to be fresh for the gateway to be correct (see package remediation): a stale
// answer costs a failed write (AlreadyExists, Conflict, NotFound) and an authoritative read, never
// a lost or doubled signal.
package rrcache

import (
	"context"
	"errors"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// RBAC of the cache: the cluster-wide list and watch of its informer. controller-gen merges these
// markers with those of package remediation into the ClusterRole kubernaut-gateway.
//
// +kubebuilder:rbac:groups=kubernaut.ai,resources=remediationrequests,verbs=list;watch

// indexFingerprint is the informer index of namespace/fingerprint.
const indexFingerprint = "namespace-fingerprint"

// maxWritten bounds the record of own writes: it only grows while the watch is down (every write
// the watch delivers is dropped from it), and losing it costs re-reads, never correctness.
const maxWritten = 10000

// Cache is the view. Objects it returns are shared and must not be modified.
type Cache struct {
	informer toolscache.SharedIndexInformer

	mu sync.Mutex
	// written holds, per namespace and fingerprint and then per name, the newest object the API
	// returned for a write of this gateway, until the watch delivers that version or a newer one.
	written map[fpKey]map[string]*v1alpha1.RemediationRequest
	size    int
}

// fpKey is a namespace and a fingerprint.
type fpKey struct{ namespace, fingerprint string }

func keyOf(rr *v1alpha1.RemediationRequest) fpKey {
	return fpKey{rr.Namespace, rr.Spec.SignalFingerprint}
}

// New builds a cache over lw (see ListWatch); Run starts it.
func New(lw toolscache.ListerWatcher) *Cache {
	c := &Cache{written: map[fpKey]map[string]*v1alpha1.RemediationRequest{}}
	c.informer = toolscache.NewSharedIndexInformerWithOptions(lw, &v1alpha1.RemediationRequest{},
		toolscache.SharedIndexInformerOptions{
			Indexers:          toolscache.Indexers{indexFingerprint: indexFunc},
			ObjectDescription: "remediationrequests.kubernaut.ai",
		})
	// Only what lookups need is kept: not the payload, labels and annotations of every object.
	if err := c.informer.SetTransform(Strip); err != nil {
		panic(err) // only fails once the informer runs
	}
	if _, err := c.informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.seen(obj, false) },
		UpdateFunc: func(_, obj any) { c.seen(obj, false) },
		DeleteFunc: func(obj any) { c.seen(obj, true) },
	}); err != nil {
		panic(err) // only fails once the informer has stopped
	}
	return c
}

// ListWatch lists and watches every RemediationRequest of the cluster through c.
func ListWatch(c client.WithWatch) *toolscache.ListWatch {
	return &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			list := &v1alpha1.RemediationRequestList{}
			if err := c.List(ctx, list, &client.ListOptions{Raw: &opts, Limit: opts.Limit, Continue: opts.Continue}); err != nil {
				return nil, err
			}
			return list, nil
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, &v1alpha1.RemediationRequestList{}, &client.ListOptions{Raw: &opts})
		},
	}
}

// Run lists, watches and keeps the cache current until ctx ends.
func (c *Cache) Run(ctx context.Context) { c.informer.RunWithContext(ctx) }

// Synced reports whether the first list has been loaded.
func (c *Cache) Synced() bool { return c.informer.HasSynced() }

// Ready is nil once the cache has synced: the gateway is not ready before (readiness.Checker).
func (c *Cache) Ready(context.Context) error {
	if !c.Synced() {
		return errors.New("the remediationrequests cache has not synced yet")
	}
	return nil
}

// ByFingerprint returns the RemediationRequests of fingerprint in namespace that the cache knows,
// each in the newest version it knows. The objects are stripped (see Strip) and shared.
func (c *Cache) ByFingerprint(namespace, fingerprint string) []*v1alpha1.RemediationRequest {
	objs, _ := c.informer.GetIndexer().ByIndex(indexFingerprint, namespace+"/"+fingerprint)
	out := make([]*v1alpha1.RemediationRequest, 0, len(objs)+1)
	for _, o := range objs {
		if rr, ok := o.(*v1alpha1.RemediationRequest); ok {
			out = append(out, rr)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
next:
	for name, w := range c.written[fpKey{namespace, fingerprint}] {
		for i, rr := range out {
			if rr.Name == name {
				if newer(w, rr) {
					out[i] = w
				}
				continue next
			}
		}
		out = append(out, w)
	}
	return out
}

// Observe records rr as the API returned it for a write of this gateway.
func (c *Cache) Observe(rr *v1alpha1.RemediationRequest) {
	s, _ := Strip(rr)
	w := s.(*v1alpha1.RemediationRequest)
	key := keyOf(w)
	c.mu.Lock()
	defer c.mu.Unlock()
	byName := c.written[key]
	if old, ok := byName[w.Name]; ok {
		if !newer(w, old) {
			return
		}
	} else {
		if c.size >= maxWritten {
			clear(c.written)
			c.size = 0
		}
		if byName == nil {
			byName = map[string]*v1alpha1.RemediationRequest{}
			c.written[key] = byName
		}
		c.size++
	}
	byName[w.Name] = w
}

// Forget drops the record of a write to an object the API reported missing. The informer's own
// copy goes when the watch delivers the deletion.
func (c *Cache) Forget(rr *v1alpha1.RemediationRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(keyOf(rr), rr.Name)
}

// seen drops the record of own writes that the watch has caught up with.
func (c *Cache) seen(obj any, deleted bool) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	rr, ok := obj.(*v1alpha1.RemediationRequest)
	if !ok {
		return
	}
	key := keyOf(rr)
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.written[key][rr.Name]
	if !ok {
		return
	}
	if deleted || !newer(w, rr) {
		c.dropLocked(key, rr.Name)
	}
}

func (c *Cache) dropLocked(key fpKey, name string) {
	byName := c.written[key]
	if _, ok := byName[name]; !ok {
		return
	}
	delete(byName, name)
	c.size--
	if len(byName) == 0 {
		delete(c.written, key)
	}
}

// newer reports whether a is a later version of the same object than b. Resource versions are
// comparable integers (KEP-5504); when they are not, the watch's copy wins.
func newer(a, b *v1alpha1.RemediationRequest) bool {
	if a.UID != b.UID {
		return false
	}
	cmp, err := resourceversion.CompareResourceVersion(a.ResourceVersion, b.ResourceVersion)
	return err == nil && cmp > 0
}

func indexFunc(obj any) ([]string, error) {
	rr, ok := obj.(*v1alpha1.RemediationRequest)
	if !ok {
		return nil, nil
	}
	return []string{rr.Namespace + "/" + rr.Spec.SignalFingerprint}, nil
}

// Strip keeps what finding and counting on an object need: its identity, version, deletion mark,
// fingerprint and status. It is the informer's transform, so the cache holds no payloads.
func Strip(obj any) (any, error) {
	rr, ok := obj.(*v1alpha1.RemediationRequest)
	if !ok {
		return obj, nil
	}
	out := &v1alpha1.RemediationRequest{
		ObjectMeta: metav1.ObjectMeta{
			Name: rr.Name, Namespace: rr.Namespace, UID: rr.UID, ResourceVersion: rr.ResourceVersion,
			DeletionTimestamp: rr.DeletionTimestamp,
		},
		Spec:   v1alpha1.RemediationRequestSpec{SignalFingerprint: rr.Spec.SignalFingerprint},
		Status: rr.Status,
	}
	out.Status.Deduplication = rr.Status.Deduplication.DeepCopy()
	return out, nil
}
