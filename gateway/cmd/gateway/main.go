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
	"k8s.io/klog/v2"
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

func serve(cfg *config.Config, log *slog.Logger) error {
	restCfg, err := kubeclient.RESTConfig(cfg.Kubeconfig, float32(cfg.KubeQPS), cfg.KubeBurst)
	if err != nil {
		return err
	}
	kube, err := kubeclient.New(restCfg)
	if err != nil {
		return err
	}
	cores, err := corev1client.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("core client: %w", err)
	}
	discovery, err := readiness.NewDiscovery(restCfg)
	if err != nil {
		return err
	}
	// The watch-backed cache of RemediationRequests: the gateway is ready once it has synced, and
	// it runs until the server has stopped (in-flight requests may still use it).
	rrs := rrcache.New(rrcache.ListWatch(kube))
	cacheCtx, stopCache := context.WithCancel(context.Background())
	defer stopCache()
	go rrs.Run(cacheCtx)
	ready := readiness.All{rrs, discovery}
	m := metrics.New(kuberetry.TransientReasons)
	policy := &kuberetry.Policy{
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
	guard, err := auth.New(auth.Config{
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
	if err != nil {
		return err
	}
	srv := server.New(server.Options{
		Auth: guard,
		Processor: &remediation.Service{
			Client:            kube,
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
		NamespaceMissing:      namespaceMissing(cores, cfg.APICallTimeout),
		FallbackNamespace:     cfg.FallbackNamespace,
	})

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
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestDeadline + 30*time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Request contexts derive from Background, never from the signal context: shutdown must let
		// in-flight requests finish, not cancel them.
		BaseContext: func(net.Listener) context.Context { return context.Background() },
	}

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
	return nil
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
