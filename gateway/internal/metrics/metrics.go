// Package metrics defines the gateway's Prometheus metrics (names and labels fixed by docs/design.md)
// on a private registry, so that tests can build as many gateways as they like in one process.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Signal sources, the values of the source label.
const (
	SourcePrometheus      = "prometheus"
	SourceKubernetesEvent = "kubernetes-event"
)

// API error classes, the values of gateway_k8s_api_errors_total's class label.
const (
	ClassTransientExhausted = "transient-exhausted"
	ClassPermanent          = "permanent"
)

// Stages of the caller checks, the values of the auth metrics' stage label.
const (
	StageAuthentication = "authentication"
	StageAuthorization  = "authorization"
)

// Outcomes of a caller check, the values of gateway_auth_decisions_total's outcome label.
// Unauthenticated occurs only at the authentication stage and Forbidden only at authorization.
const (
	OutcomeAllowed         = "allowed"
	OutcomeUnauthenticated = "unauthenticated"
	OutcomeForbidden       = "forbidden"
	OutcomeError           = "error"
)

// Metrics holds every collector the gateway updates.
type Metrics struct {
	// Registry serves /metrics.
	Registry *prometheus.Registry

	Received     *prometheus.CounterVec // {source}
	Created      *prometheus.CounterVec // {source}
	Deduplicated *prometheus.CounterVec // {source}
	Ignored      *prometheus.CounterVec // {source}
	Rejected     *prometheus.CounterVec // {source, code}
	APIRetries   *prometheus.CounterVec // {reason}
	APIErrors    *prometheus.CounterVec // {class}
	HTTPDuration *prometheus.HistogramVec

	// AuthDecisions counts caller checks {stage, outcome}: one per authentication, and one per
	// authorization question (a batch touching three namespaces asks three).
	AuthDecisions *prometheus.CounterVec
	// AuthReviewRequests counts the HTTP requests made to TokenReview and SubjectAccessReview
	// {stage}, retries included.
	AuthReviewRequests *prometheus.CounterVec
	// AuthCacheHits counts the decisions answered without a review call {stage}; package auth
	// explains how it is derived.
	AuthCacheHits *prometheus.CounterVec
	// RequestsShed counts signal requests answered 503 at once because --max-in-flight requests
	// were already being processed {endpoint}.
	RequestsShed *prometheus.CounterVec
}

// New registers the gateway's metrics, plus the Go and process collectors, on a new registry,
// with every known series at zero (see initSeries).
func New(retryReasons []string) *Metrics {
	sourceCounter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"source"})
	}
	m := &Metrics{
		Registry:     prometheus.NewRegistry(),
		Received:     sourceCounter("gateway_signals_received_total", "Signals (alerts or events) received in accepted requests."),
		Created:      sourceCounter("gateway_signals_created_total", "Signals that created a RemediationRequest."),
		Deduplicated: sourceCounter("gateway_signals_deduplicated_total", "Signals recorded as an occurrence of an existing RemediationRequest."),
		Ignored:      sourceCounter("gateway_signals_ignored_total", "Signals that needed no RemediationRequest (resolved alerts, Normal events)."),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_signals_rejected_total",
			Help: "Requests answered with an error status, by HTTP status code.",
		}, []string{"source", "code"}),
		APIRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_k8s_api_retries_total",
			Help: "Kubernetes API calls retried, by transient reason.",
		}, []string{"reason"}),
		APIErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_k8s_api_errors_total",
			Help: "Signals that failed on a Kubernetes API error, by class.",
		}, []string{"class"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_http_request_duration_seconds",
			Help:    "HTTP request duration by handler and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"handler", "code"}),
		AuthDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_decisions_total",
			Help: "Caller checks by stage (authentication, authorization) and outcome (allowed, unauthenticated, forbidden, error).",
		}, []string{"stage", "outcome"}),
		AuthReviewRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_review_requests_total",
			Help: "HTTP requests made to the TokenReview (authentication) and SubjectAccessReview (authorization) APIs, retries included.",
		}, []string{"stage"}),
		AuthCacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_cache_hits_total",
			Help: "Caller checks answered from the gateway's cache, without a review request.",
		}, []string{"stage"}),
		RequestsShed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_requests_shed_total",
			Help: "Signal requests answered 503 overloaded at once, unprocessed, because --max-in-flight requests were in progress.",
		}, []string{"endpoint"}),
	}
	m.Registry.MustRegister(
		m.Received, m.Created, m.Deduplicated, m.Ignored, m.Rejected,
		m.APIRetries, m.APIErrors, m.HTTPDuration,
		m.AuthDecisions, m.AuthReviewRequests, m.AuthCacheHits, m.RequestsShed,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.initSeries(retryReasons)
	return m
}

// initSeries creates every series whose label values are known in advance (the sources, the
// retryReasons, the error classes, the auth stages and outcomes) at zero, so that a scrape before
// the first event already shows them: a rate over a missing series is no rate at all.
func (m *Metrics) initSeries(retryReasons []string) {
	for _, source := range []string{SourcePrometheus, SourceKubernetesEvent} {
		for _, c := range []*prometheus.CounterVec{m.Received, m.Created, m.Deduplicated, m.Ignored} {
			c.WithLabelValues(source)
		}
		m.RequestsShed.WithLabelValues(source)
	}
	for _, reason := range retryReasons {
		m.APIRetries.WithLabelValues(reason)
	}
	m.APIErrors.WithLabelValues(ClassTransientExhausted)
	m.APIErrors.WithLabelValues(ClassPermanent)
	for stage, outcomes := range map[string][]string{
		StageAuthentication: {OutcomeAllowed, OutcomeUnauthenticated, OutcomeError},
		StageAuthorization:  {OutcomeAllowed, OutcomeForbidden, OutcomeError},
	} {
		for _, outcome := range outcomes {
			m.AuthDecisions.WithLabelValues(stage, outcome)
		}
		m.AuthReviewRequests.WithLabelValues(stage)
		m.AuthCacheHits.WithLabelValues(stage)
	}
}

// ObserveUnconfirmedCreations registers gateway_unconfirmed_creations, read from pending at every
// scrape: the first occurrences whose status write may have landed without an answer and that the
// created counter does not count yet. It is 0 when the counter is exact; a process that dies with
// n pending may have created up to n objects it never counted.
func (m *Metrics) ObserveUnconfirmedCreations(pending func() int) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gateway_unconfirmed_creations",
		Help: "First occurrences written without an answer and not yet counted in gateway_signals_created_total; settled by the object's next write.",
	}, func() float64 { return float64(pending()) }))
}
