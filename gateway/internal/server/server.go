// Package server is the gateway's HTTP surface: the two signal endpoints, health, readiness and
// metrics, with RFC 7807 problem details for every error. It turns the outcome of processing into the
// status codes of docs/design.md and never answers 2xx for a signal it did not persist.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
	"github.com/kubernaut/gateway-contract/gateway/internal/remediation"
	"github.com/kubernaut/gateway-contract/gateway/internal/signal"
)

// Paths served by the gateway.
const (
	PathPrometheus      = "/api/v1/signals/prometheus"
	PathKubernetesEvent = "/api/v1/signals/kubernetes-event"
	PathHealthz         = "/healthz"
	PathReadyz          = "/readyz"
	PathMetrics         = "/metrics"
)

// Processor persists one firing signal; *remediation.Service is the production implementation.
type Processor interface {
	// Process persists sig; before writing in a namespace it chose at run time (a fallback the
	// API's answers force) it authorizes the sender there with authorize, and returns its error.
	Process(ctx context.Context, sig *signal.Signal, authorize remediation.Authorize) (remediation.Outcome, error)
	// Namespace is where Process writes sig's RemediationRequest (before any fallback that the API's
	// answers force); the sender is authorized there before Process is called.
	Namespace(sig *signal.Signal) (namespace string, fallback bool)
	// UnconfirmedCreations is how many first occurrences were written without an answer and are
	// not settled yet (gateway_unconfirmed_creations).
	UnconfirmedCreations() int
}

// Guard authenticates and authorizes callers; *auth.Guard is the production implementation.
// Errors wrap auth.ErrUnauthenticated (401), are *auth.ForbiddenError (403), or else mean that the
// check could not be made (503).
type Guard interface {
	Authenticate(ctx context.Context, r *http.Request) (user.Info, error)
	AuthorizeSignals(ctx context.Context, u user.Info, namespaces []string) error
	AuthorizeMetrics(ctx context.Context, u user.Info) error
}

// ReadinessChecker says whether the Kubernetes API can serve the gateway's work.
type ReadinessChecker interface {
	Ready(ctx context.Context) error
}

// Options configures a Server. Processor, Auth, Readiness and Metrics are required: there is no
// way to serve signals or metrics without authentication.
type Options struct {
	Processor Processor
	Auth      Guard
	Readiness ReadinessChecker
	Metrics   *metrics.Metrics
	// Logger receives request logs; nil means slog.Default.
	Logger *slog.Logger
	// MaxBodyBytes limits a signal request body.
	MaxBodyBytes int64
	// RequestDeadline bounds all the API work of one request.
	RequestDeadline time.Duration
	// UnavailableRetryAfter is sent as Retry-After with 503.
	UnavailableRetryAfter time.Duration
	// MaxInFlight bounds the signal requests processed at once (see shed); 0 means
	// DefaultMaxInFlight.
	MaxInFlight int
	// NamespaceMissing says whether a namespace does not exist. A signal about a missing
	// namespace is written to the fallback namespace, so that is where its sender is authorized
	// (see authorizeWritten); nil leaves every namespace authorized as named.
	NamespaceMissing func(ctx context.Context, namespace string) (bool, error)
	// FallbackNamespace is the gateway's --fallback-namespace, where NamespaceMissing's signals go.
	FallbackNamespace string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultMaxInFlight is the gateway's --max-in-flight default; docs/design.md says why.
const DefaultMaxInFlight = 200

// Server holds the handlers' shared state.
type Server struct {
	opts         Options
	log          *slog.Logger
	shuttingDown atomic.Bool
	// inFlight is the semaphore of the signal requests being processed: one token per request.
	inFlight chan struct{}
}

// New returns a Server; it does not listen (see Handler). It panics without opts.Auth: a gateway
// that does not check its callers must not be buildable by leaving a field out.
func New(opts Options) *Server {
	if opts.Auth == nil {
		panic("server: Options.Auth is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 256 << 10
	}
	if opts.RequestDeadline <= 0 {
		opts.RequestDeadline = 10 * time.Second
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Metrics != nil && opts.Processor != nil {
		opts.Metrics.ObserveUnconfirmedCreations(opts.Processor.UnconfirmedCreations)
	}
	return &Server{opts: opts, log: opts.Logger, inFlight: make(chan struct{}, opts.MaxInFlight)}
}

// SetShuttingDown makes /readyz answer 503 from now on, so that load balancers stop sending traffic
// before the listener closes.
func (s *Server) SetShuttingDown() { s.shuttingDown.Store(true) }

// Handler routes every path of the gateway through the request-ID, logging and metrics middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PathPrometheus, s.instrument("prometheus",
		s.shed(metrics.SourcePrometheus, s.signalHandler(metrics.SourcePrometheus, parseAlertmanager))))
	mux.Handle(PathKubernetesEvent, s.instrument("kubernetes-event",
		s.shed(metrics.SourceKubernetesEvent, s.signalHandler(metrics.SourceKubernetesEvent, parseEvent))))
	mux.Handle(PathHealthz, s.instrument("healthz", http.HandlerFunc(s.healthz)))
	mux.Handle(PathReadyz, s.instrument("readyz", http.HandlerFunc(s.readyz)))
	mux.Handle(PathMetrics, s.instrument("metrics",
		s.metricsHandler(promhttp.HandlerFor(s.opts.Metrics.Registry, promhttp.HandlerOpts{}))))
	mux.Handle("/", s.instrument("not-found", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, SlugNotFound, "no such endpoint: "+r.URL.Path)
	})))
	return mux
}

// instrument gives the request its ID and logger, and records duration and an access log line. The
// access line carries the sender once the handler has authenticated one (see withSender).
func (s *Server) instrument(handler string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		w.Header().Set(HeaderRequestID, id)
		log := s.log.With("request_id", id)
		info := &requestInfo{}
		ctx := logging.WithLogger(withRequestInfo(withRequestID(r.Context(), id), info), log)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		elapsed := time.Since(start)
		if info.sender != "" {
			log = log.With("sender", info.sender)
		}
		s.opts.Metrics.HTTPDuration.WithLabelValues(handler, strconv.Itoa(rec.status)).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if handler == "healthz" || handler == "readyz" || handler == "metrics" {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "request handled", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration_ms", elapsed.Milliseconds())
	})
}

// statusRecorder remembers the status code for metrics and logs.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
