package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/kubernaut/gateway-contract/gateway/internal/auth"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
)

// requestInfo is what instrument learns from the handler after the fact: the authenticated sender,
// for the access log line.
type requestInfo struct {
	sender string
}

type requestInfoKey struct{}

func withRequestInfo(ctx context.Context, info *requestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// withSender records the authenticated sender on every later log line of the request: through the
// context's logger, and on the access line through requestInfo. Lines before authentication (and
// every line of a refused caller) have no sender, since there is none.
func withSender(r *http.Request, sender string) *http.Request {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.sender = sender
	}
	return r.WithContext(logging.WithLogger(r.Context(), logging.FromContext(r.Context()).With("sender", sender)))
}

// authProblem turns a Guard error into the answer: 401 with WWW-Authenticate, 403 naming what was
// refused, or 503 with Retry-After when the check could not be made (never 401/403 then: the
// caller is not at fault, and Alertmanager redelivers after a 5xx but drops after a 4xx). The
// detail of a 401 or 503 does not echo the API server's message to a caller that is not known.
func (s *Server) authProblem(w http.ResponseWriter, err error) (status int, slug, detail string) {
	var unauthenticated *auth.UnauthenticatedError
	var forbidden *auth.ForbiddenError
	var unavailable *auth.UnavailableError
	switch {
	case errors.As(err, &unauthenticated):
		w.Header().Set("WWW-Authenticate", "Bearer")
		return http.StatusUnauthorized, SlugUnauthenticated, unauthenticated.Reason
	case errors.As(err, &forbidden):
		return http.StatusForbidden, SlugForbidden, forbidden.Error()
	case errors.As(err, &unavailable):
		detail = "the caller could not be checked: the Kubernetes " + unavailable.Review() + " API is unavailable; retry later"
	default:
		detail = "the caller could not be checked; retry later"
	}
	w.Header().Set("Retry-After", retryAfterSeconds(s.opts.UnavailableRetryAfter))
	return http.StatusServiceUnavailable, SlugAuthUnavailable, detail
}

// logAuthRefusal logs a refused caller like any rejected request, plus the underlying error that
// the answer leaves out; a check that could not be made is a warning, a refused caller is not.
func logAuthRefusal(r *http.Request, status int, slug string, err error) {
	level := slog.LevelInfo
	if status == http.StatusServiceUnavailable {
		level = slog.LevelWarn
	}
	logging.FromContext(r.Context()).Log(r.Context(), level, "request rejected", "status", status, "problem", slug,
		"error", err.Error())
}

// metricsHandler lets through only callers allowed to get the non-resource URL /metrics.
func (s *Server) metricsHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestDeadline)
		defer cancel()
		u, err := s.opts.Auth.Authenticate(ctx, r)
		if err == nil {
			r = withSender(r, u.GetName())
			err = s.opts.Auth.AuthorizeMetrics(ctx, u)
		}
		if err != nil {
			status, slug, detail := s.authProblem(w, err)
			logAuthRefusal(r, status, slug, err)
			writeProblem(w, r, status, slug, detail)
			return
		}
		next.ServeHTTP(w, r)
	})
}
