package remediation

import (
	"context"
	"fmt"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
)

// Occurrences of one RemediationRequest that arrive together are written together (a group
// commit): the first becomes the writer; those that arrive while it writes queue up, and the
// next writer records all of them in one status update. Twenty identical alerts at once (two
// Alertmanager replicas deliver the same notification; a storm repeats one alert) then cost a
// create and two or three status updates instead of a round of conflicts per alert (each losing
// writer reads and writes again: about n²/2 calls), which on a loaded API server outran the
// request deadline. Each occurrence still gets its own count, in arrival order, and only the
// first of an object is "created". This coalesces within one gateway process; replicas still
// meet at the API server's version check.

// batcher holds the queues of occurrences waiting for an object's writer. The zero value is ready.
type batcher struct {
	mu     sync.Mutex
	queues map[client.ObjectKey]*queue
}

// queue is the occurrences waiting while an object's writer writes.
type queue struct{ waiting []*ticket }

// ticket is one occurrence's place in a queue.
type ticket struct {
	done chan struct{} // closed when out/err are set, or when the ticket is made the next writer
	out  Outcome
	err  error
	// taken: a writer holds this ticket in its batch (it can no longer leave the queue).
	taken bool
	// lead and batch: this ticket writes batch (itself first), starting from latest if known.
	lead   bool
	batch  []*ticket
	latest *v1alpha1.RemediationRequest
	// earlier: this ticket's write confirmed a lost first write (Outcome.EarlierCreated).
	earlier int
}

// recordOccurrence records one occurrence on current (see writeOccurrences), together with the
// occurrences of the same object that arrive meanwhile. The outcome's count is this occurrence's.
func (s *Service) recordOccurrence(ctx context.Context, current *v1alpha1.RemediationRequest) (Outcome, error) {
	key := client.ObjectKeyFromObject(current)
	t := &ticket{done: make(chan struct{})}
	b := &s.batches
	b.mu.Lock()
	if b.queues == nil {
		b.queues = map[client.ObjectKey]*queue{}
	}
	q, busy := b.queues[key]
	if !busy {
		q = &queue{}
		b.queues[key] = q
		t.lead, t.batch = true, []*ticket{t}
		b.mu.Unlock()
	} else {
		q.waiting = append(q.waiting, t)
		b.mu.Unlock()
		if err := t.wait(ctx, b, q); err != nil {
			return Outcome{}, err
		}
		if !t.lead {
			return t.out, t.err
		}
		if t.latest != nil {
			current = t.latest
		}
	}
	s.writeBatch(ctx, current, t.batch)
	s.handOver(key, q, t.batch)
	return t.out, t.err
}

// wait blocks until the ticket is answered or made a writer. A request whose deadline passes
// while it waits leaves the queue, uncounted, unless a writer already holds it: then its
// occurrence is being written and it waits for the outcome, which the writer's own deadline bounds.
func (t *ticket) wait(ctx context.Context, b *batcher, q *queue) error {
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	if !t.taken {
		for i, w := range q.waiting {
			if w == t {
				q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
				break
			}
		}
		b.mu.Unlock()
		return &kuberetry.UnavailableError{Op: "update remediationrequest status", Reason: kuberetry.ReasonTimeout,
			Err: fmt.Errorf("waiting for the occurrences before this one to be written: %w", ctx.Err())}
	}
	b.mu.Unlock()
	<-t.done
	return nil
}

// writeBatch writes the batch's occurrences in one update and answers every ticket but the first
// (the writer's own, which it reads itself). The count of the i-th occurrence is the base + i + 1.
func (s *Service) writeBatch(ctx context.Context, current *v1alpha1.RemediationRequest, batch []*ticket) {
	written, base, err := s.writeOccurrences(ctx, current, int32(len(batch)))
	if err == nil && s.firsts.settle(written) {
		batch[0].earlier = 1
	}
	for i, t := range batch {
		if err != nil {
			t.err = err
		} else {
			t.out = s.outcome(ctx, written, base+int32(i)+1)
			t.out.EarlierCreated = t.earlier
		}
		t.latest = written
		if i > 0 {
			close(t.done)
		}
	}
}

// handOver makes the first waiting ticket the writer of everything that queued meanwhile, or
// removes the queue when nothing did.
func (s *Service) handOver(key client.ObjectKey, q *queue, done []*ticket) {
	b := &s.batches
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(q.waiting) == 0 {
		delete(b.queues, key)
		return
	}
	next := q.waiting[0]
	for _, w := range q.waiting {
		w.taken = true
	}
	next.lead, next.batch, q.waiting = true, q.waiting, nil
	if last := done[len(done)-1]; last.err == nil {
		next.latest = last.latest
	}
	close(next.done)
}
