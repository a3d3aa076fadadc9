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
}

// New registers the gateway's metrics, plus the Go and process collectors, on a new registry.
// retryReasons and the sources are pre-initialised to zero so that a scrape before the first event
// already shows every series (a rate over a missing series is no rate at all).
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
	}
	m.Registry.MustRegister(
		m.Received, m.Created, m.Deduplicated, m.Ignored, m.Rejected,
		m.APIRetries, m.APIErrors, m.HTTPDuration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, source := range []string{SourcePrometheus, SourceKubernetesEvent} {
		for _, c := range []*prometheus.CounterVec{m.Received, m.Created, m.Deduplicated, m.Ignored} {
			c.WithLabelValues(source)
		}
	}
	for _, reason := range retryReasons {
		m.APIRetries.WithLabelValues(reason)
	}
	m.APIErrors.WithLabelValues(ClassTransientExhausted)
	m.APIErrors.WithLabelValues(ClassPermanent)
	return m
}
