package server

import (
	"fmt"
	"net/http"
	"strconv"
)

// shed lets at most MaxInFlight signal requests be processed at once and answers every further one
// at once with 503 overloaded and Retry-After, before authentication or reading the body: an
// overloaded gateway must not spend TokenReviews, memory or API calls on work it cannot finish
// within its deadline, and a sender that is told to retry later (Alertmanager redelivers a 5xx)
// loses nothing. The acquire never blocks: a queue would only turn overload into timeouts. What
// is let through is processed in full. Health probes and /metrics do not pass through here, so
// an overloaded gateway stays alive, ready and observable.
func (s *Server) shed(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.inFlight <- struct{}{}:
		default:
			s.opts.Metrics.RequestsShed.WithLabelValues(endpoint).Inc()
			s.opts.Metrics.Rejected.WithLabelValues(endpoint, strconv.Itoa(http.StatusServiceUnavailable)).Inc()
			w.Header().Set("Retry-After", retryAfterSeconds(s.opts.UnavailableRetryAfter))
			writeProblem(w, r, http.StatusServiceUnavailable, SlugOverloaded,
				fmt.Sprintf("the gateway is processing its limit of %d requests; retry later", cap(s.inFlight)))
			return
		}
		defer func() { <-s.inFlight }()
		next.ServeHTTP(w, r)
	})
}
