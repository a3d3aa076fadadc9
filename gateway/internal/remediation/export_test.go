package remediation

import "sigs.k8s.io/controller-runtime/pkg/client"

// Waiting is how many occurrences of the object wait for its writer: tests wait for a queue to
// fill before they let the writer go.
func (s *Service) Waiting(key client.ObjectKey) int {
	s.batches.mu.Lock()
	defer s.batches.mu.Unlock()
	if q := s.batches.queues[key]; q != nil {
		return len(q.waiting)
	}
	return 0
}
