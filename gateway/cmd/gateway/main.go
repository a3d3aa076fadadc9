// Command gateway receives Alertmanager webhooks and Kubernetes events and records them as
// RemediationRequests. See docs/design.md for its HTTP contract and flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubernaut/gateway-contract/gateway/internal/auth"
	"github.com/kubernaut/gateway-contract/gateway/internal/config"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubeclient"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
	"github.com/kubernaut/gateway-contract/gateway/internal/readiness"
	"github.com/kubernaut/gateway-contract/gateway/internal/remediation"
	"github.com/kubernaut/gateway-contract/gateway/internal/rrcache"
	"github.com/kubernaut/gateway-contract/gateway/internal/server"
	"github.com/kubernaut/gateway-contract/gateway/internal/serving"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	usageOut := os.Stderr
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			usageOut = os.Stdout // help that was asked for is output, not an error
		}
	}
	cfg, err := config.Parse("gateway", args, os.Getenv, usageOut)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 2
	}
	log := logging.New(os.Stderr, cfg.LogLevel)
	slog.SetDefault(log)
	// client-go and controller-runtime log through klog and logr; send both to the same JSON stream.
	sink := logr.FromSlogHandler(log.Handler())
	klog.SetLogger(sink)
	ctrllog.SetLogger(sink)

	if err := serve(cfg, log); err != nil {
		log.Error("gateway failed", "error", err.Error())
		return 1
	}
	return 0
}

// serve runs the gateway until SIGTERM or SIGINT. Its steps, in order: the API clients; the
// server and what it needs (the cache, metrics, retries, the caller checks); the listener; then
// serving until a signal and the graceful shutdown. It returns an error only when the gateway
// cannot start or serving fails before a signal.
func serve(cfg *config.Config, log *slog.Logger) error {
	clients, err := newAPIClients(cfg)
	if err != nil {
		return err
	}
	// The watch-backed cache of RemediationRequests runs until the server has stopped (in-flight
	// requests may still use it), so its context ends only when serve returns.
	cacheCtx, stopCache := context.WithCancel(context.Background())
	defer stopCache()
	srv, err := newServer(cacheCtx, cfg, log, clients)
	if err != nil {
		return err
	}

	// The certificate is watched until the process ends: in-flight requests may still be served
	// after shutdown begins, and new handshakes until the listener closes.
	certCtx, stopCertWatch := context.WithCancel(context.Background())
	defer stopCertWatch()
	ln, err := serving.Listen(certCtx, serving.Options{
		Addr: cfg.Listen, CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSPrivateKeyFile, Logger: log,
	})
	if err != nil {
		return err
	}
	if ln.Scheme == serving.SchemeHTTP {
		log.Warn(serving.PlainHTTPWarning)
	}
	return serveUntilSignal(cfg, log, srv, newHTTPServer(cfg, log, srv.Handler()), ln)
}

// apiClients are the gateway's clients of the Kubernetes API, all built from one REST config, so
// that each has the same credentials, user agent, client-side rate limits and retrying transport.
type apiClients struct {
	rest      *rest.Config
	kube      client.WithWatch              // RemediationRequests
	cores     corev1client.NamespacesGetter // whether a namespace exists
	discovery *readiness.Discovery          // whether the API serves remediationrequests
}

// newAPIClients builds the API clients; an error here means the gateway cannot start.
func newAPIClients(cfg *config.Config) (*apiClients, error) {
	restCfg, err := kubeclient.RESTConfig(cfg.Kubeconfig, float32(cfg.KubeQPS), cfg.KubeBurst)
	if err != nil {
		return nil, err
	}
	kube, err := kubeclient.New(restCfg)
	if err != nil {
		return nil, err
	}
	cores, err := corev1client.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("core client: %w", err)
	}
	discovery, err := readiness.NewDiscovery(restCfg)
	if err != nil {
		return nil, err
	}
	return &apiClients{rest: restCfg, kube: kube, cores: cores, discovery: discovery}, nil
}

// newServer builds the gateway's HTTP handlers and what they need. It starts the cache of
// RemediationRequests, which runs until cacheCtx ends: the gateway is ready once the cache has
// synced and the API answers discovery.
func newServer(cacheCtx context.Context, cfg *config.Config, log *slog.Logger, c *apiClients) (*server.Server, error) {
	rrs := rrcache.New(rrcache.ListWatch(c.kube))
	go rrs.Run(cacheCtx)
	ready := readiness.All{rrs, c.discovery}
	m := metrics.New(kuberetry.TransientReasons)
	policy := retryPolicy(cfg, m)
	guard, err := newGuard(cfg, c.rest, m)
	if err != nil {
		return nil, err
	}
	return server.New(server.Options{
		Auth: guard,
		Processor: &remediation.Service{
			Client:            c.kube,
			Cache:             rrs,
			Retry:             policy,
			FallbackNamespace: cfg.FallbackNamespace,
		},
		Readiness:             ready,
		Metrics:               m,
		Logger:                log,
		MaxBodyBytes:          cfg.MaxBodyBytes,
		RequestDeadline:       cfg.RequestDeadline,
		UnavailableRetryAfter: cfg.UnavailableRetryAfter,
		MaxInFlight:           cfg.MaxInFlight,
		NamespaceMissing:      namespaceMissing(c.cores, cfg.APICallTimeout),
		FallbackNamespace:     cfg.FallbackNamespace,
	}), nil
}

// retryPolicy is how RemediationRequest API calls are retried on transient errors; every retry
// is counted by reason and logged, so that a struggling API shows before requests fail.
func retryPolicy(cfg *config.Config, m *metrics.Metrics) *kuberetry.Policy {
	return &kuberetry.Policy{
		Attempts:       cfg.RetryAttempts,
		InitialBackoff: cfg.RetryInitialBackoff,
		MaxBackoff:     cfg.RetryMaxBackoff,
		CallTimeout:    cfg.APICallTimeout,
		OnRetry: func(ctx context.Context, r kuberetry.Retry) {
			m.APIRetries.WithLabelValues(r.Reason).Inc()
			logging.FromContext(ctx).Warn("retrying kubernetes api call", "attempt", r.Attempt, "reason", r.Reason,
				"backoff", r.Backoff.String(), "op", r.Op, "error", r.Err.Error())
		},
	}
}

// newGuard builds the caller checks: who a bearer token belongs to (TokenReview) and whether it
// may write in a namespace (SubjectAccessReview), with the caching and retries the flags set.
func newGuard(cfg *config.Config, restCfg *rest.Config, m *metrics.Metrics) (*auth.Guard, error) {
	return auth.New(auth.Config{
		REST:              restCfg,
		CallTimeout:       cfg.APICallTimeout,
		LookupTimeout:     cfg.RequestDeadline,
		Attempts:          cfg.RetryAttempts,
		InitialBackoff:    cfg.RetryInitialBackoff,
		AuthnCacheTTL:     cfg.AuthnCacheTTL,
		AuthnDenyCacheTTL: cfg.AuthnDenyCacheTTL,
		AllowCacheTTL:     cfg.AuthzAllowCacheTTL,
		DenyCacheTTL:      cfg.AuthzDenyCacheTTL,
		Metrics:           m,
	})
}

// newHTTPServer bounds how long a client may hold a connection, so that slow or idle clients
// cannot pin the gateway's resources; a write may take the request deadline and then some.
func newHTTPServer(cfg *config.Config, log *slog.Logger, handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestDeadline + 30*time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Request contexts derive from Background, never from the signal context: shutdown must let
		// in-flight requests finish, not cancel them.
		BaseContext: func(net.Listener) context.Context { return context.Background() },
	}
}

// serveUntilSignal serves on ln until the first SIGTERM or SIGINT, then shuts down gracefully.
// It returns an error only when serving fails before a signal; a second signal during shutdown
// terminates the process the default way.
func serveUntilSignal(cfg *config.Config, log *slog.Logger, srv *server.Server, httpSrv *http.Server, ln *serving.Listener) error {
	stop, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	limit := "off"
	if qps, burst := kubeclient.RateLimits(float32(cfg.KubeQPS), cfg.KubeBurst); qps > 0 {
		limit = fmt.Sprintf("%g/s, burst %d", qps, burst)
	}
	log.Info("listening", "addr", ln.Addr().String(), "scheme", ln.Scheme, "fallback_namespace", cfg.FallbackNamespace,
		"client_rate_limit", limit)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-stop.Done():
	}
	cancel() // a second signal now terminates the process the default way
	shutdown(cfg, log, srv, httpSrv)
	return nil
}

// shutdown stops the gateway without losing a request: readiness fails at once and the server
// keeps serving for --shutdown-delay, so that endpoints stop sending here before the listener
// closes; then in-flight requests get --shutdown-timeout to finish, and are cut off after it.
// The grace period derives from Background, not from the signal context, which has already ended.
func shutdown(cfg *config.Config, log *slog.Logger, srv *server.Server, httpSrv *http.Server) {
	log.Info("shutdown started: readiness now fails", "shutdown_delay", cfg.ShutdownDelay.String())
	srv.SetShuttingDown()
	time.Sleep(cfg.ShutdownDelay)

	ctx, cancelShutdown := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancelShutdown()
	if err := httpSrv.Shutdown(ctx); err != nil {
		log.Warn("in-flight requests did not finish in time", "shutdown_timeout", cfg.ShutdownTimeout.String(), "error", err.Error())
		_ = httpSrv.Close()
	}
	log.Info("stopped")
}

// namespaceMissing asks the API whether a namespace does not exist, within one call's timeout.
func namespaceMissing(cores corev1client.NamespacesGetter, timeout time.Duration) func(context.Context, string) (bool, error) {
	return func(ctx context.Context, namespace string) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, err := cores.Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, fmt.Errorf("is namespace %s there: %w", namespace, err)
		}
		return false, nil
	}
}
