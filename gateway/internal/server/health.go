package server

import (
	"net/http"
)

type healthBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// healthz answers 200 while the process is alive: it checks nothing external, so that a slow API
// server never gets the gateway restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if !allowGetHead(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, healthBody{Status: "ok"})
}

// readyz answers 200 when the API serves remediationrequests, and 503 from the moment shutdown
// begins.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !allowGetHead(w, r) {
		return
	}
	if s.shuttingDown.Load() {
		writeJSON(w, http.StatusServiceUnavailable, healthBody{Status: "not ready", Reason: "shutting down"})
		return
	}
	if err := s.opts.Readiness.Ready(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, healthBody{Status: "not ready", Reason: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, healthBody{Status: "ok"})
}

func allowGetHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeProblem(w, r, http.StatusMethodNotAllowed, SlugMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
	return false
}
