package remediation

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// A first occurrence whose answer was lost. The status write that takes an object's count from
// nothing to 1 is what makes its signal "created" (see Process). When the connection drops after
// that write was sent (an outage, a reset), the gateway cannot tell whether it landed, answers
// 503, and the sender delivers again; the redelivery then finds the count at 1 and is a duplicate.
// If the lost write had landed, no request was ever answered "created" for that object, and
// gateway_signals_created_total would stay one short of the objects for good.
//
// So the write ID of such a first write is remembered, and the next write of the same object by
// this process settles it: the object it writes on carries every earlier write ID (the newest
// v1alpha1.MaxRecentWrites), and since every write is version-checked, that object either carries
// the lost write (it landed: the object was created by it, and is counted now, once) or a count
// that another write began (it did not land). A process that dies first takes the memory with it,
// as it takes its counters; gateway_unconfirmed_creations shows how many it holds, so that whoever
// adds up the counters of killed processes knows by how much each may fall short.

// maxUnconfirmed bounds the memory: an object whose sender never comes back is never written
// again. Past the bound the oldest entry is dropped (its object would stay uncounted).
const maxUnconfirmed = 4096

// unconfirmed holds the first writes whose answer was lost, by object. The zero value is ready.
type unconfirmed struct {
	mu    sync.Mutex
	ids   map[types.NamespacedName]firstWrite
	order []types.NamespacedName // oldest first, for the bound
}

// firstWrite is the write IDs of an object's unanswered first writes and the UID of the object
// they were for (a later object of the same name is another object). There can be several (two
// requests, or two attempts of one after a conflict), but at most one of them landed: each was
// based on a count of 0, and every write is version-checked. So the object is one unconfirmed
// creation however many IDs it holds, and forgetting any of them could leave a landed one
// uncounted.
type firstWrite struct {
	uid types.UID
	ids []string
}

// remember records that update, a first occurrence's status write (based on count 0), may have
// landed without an answer.
func (u *unconfirmed) remember(update *v1alpha1.RemediationRequest) {
	id := lastWrite(update)
	if id == "" {
		return
	}
	key := types.NamespacedName{Namespace: update.Namespace, Name: update.Name}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ids == nil {
		u.ids = map[types.NamespacedName]firstWrite{}
	}
	first, ok := u.ids[key]
	if !ok {
		u.order = append(u.order, key)
	}
	if first.uid != update.UID {
		first = firstWrite{uid: update.UID}
	}
	if !slices.Contains(first.ids, id) {
		first.ids = append(first.ids, id)
	}
	u.ids[key] = first
	for len(u.ids) > maxUnconfirmed {
		delete(u.ids, u.order[0])
		u.order = u.order[1:]
	}
}

// settle is called with an object this process has just written (its status lists the write IDs
// before its own). It reports whether an unconfirmed first write of that object is among them (it
// landed: count the object as created now), and forgets the entry either way: a written object
// without any of them had its first occurrence written by someone else, or by this very write.
func (u *unconfirmed) settle(written *v1alpha1.RemediationRequest) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	key := types.NamespacedName{Namespace: written.Namespace, Name: written.Name}
	first, ok := u.ids[key]
	if !ok {
		return false
	}
	delete(u.ids, key)
	if i := slices.Index(u.order, key); i >= 0 {
		u.order = slices.Delete(u.order, i, i+1)
	}
	d := written.Status.Deduplication
	if first.uid != written.UID || d == nil {
		return false
	}
	earlier := d.Writes[:max(len(d.Writes)-1, 0)]
	return slices.ContainsFunc(first.ids, func(id string) bool { return slices.Contains(earlier, id) })
}

// pending is how many objects have a first write waiting to be settled.
func (u *unconfirmed) pending() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.ids)
}

// lastWrite is the write ID an update adds (the last of its list), or "".
func lastWrite(update *v1alpha1.RemediationRequest) string {
	d := update.Status.Deduplication
	if d == nil || len(d.Writes) == 0 {
		return ""
	}
	return d.Writes[len(d.Writes)-1]
}
