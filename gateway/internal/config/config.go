// Package config reads the gateway's settings from flags, each with a GATEWAY_<NAME> environment
// fallback, so that the same binary is configured by the suite's launcher (flags) and by a Deployment
// (environment) without a config file.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
)

// Config is the gateway's configuration; docs/design.md documents each field's flag.
type Config struct {
	Listen                string
	Kubeconfig            string
	FallbackNamespace     string
	RetryAttempts         int
	RetryInitialBackoff   time.Duration
	RetryMaxBackoff       time.Duration
	RequestDeadline       time.Duration
	APICallTimeout        time.Duration
	UnavailableRetryAfter time.Duration
	MaxBodyBytes          int64
	KubeQPS               float64
	KubeBurst             int
	ShutdownDelay         time.Duration
	ShutdownTimeout       time.Duration
	LogLevel              slog.Level
	// AuthnCacheTTL, AuthzAllowCacheTTL and AuthzDenyCacheTTL are how long an accepted token, an
	// allowed and a refused permission are remembered. There is deliberately no setting that turns
	// authentication or authorization off.
	AuthnCacheTTL      time.Duration
	AuthzAllowCacheTTL time.Duration
	AuthzDenyCacheTTL  time.Duration
	// AuthnDenyCacheTTL is how long a token the TokenReview refused is remembered, so that a
	// sender repeating a bad token costs one review per TTL, not one per request.
	AuthnDenyCacheTTL time.Duration
	// TLSCertFile and TLSPrivateKeyFile are the serving certificate (tls.crt and tls.key of a
	// kubernetes.io/tls Secret); both or neither. Neither means plain HTTP.
	TLSCertFile       string
	TLSPrivateKeyFile string
	// MaxInFlight bounds the signal requests processed at once; more are answered 503 at once.
	MaxInFlight int
}

// EnvName is the environment fallback of a flag: GATEWAY_ and the name in upper snake case.
func EnvName(flagName string) string {
	return "GATEWAY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse reads args (without the program name). A flag wins over its environment variable, which
// wins over the default. With -h or --help it prints the usage to out and returns flag.ErrHelp.
func Parse(name string, args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s [flags]\n\nReceives Alertmanager webhooks and Kubernetes events and records them as RemediationRequests.\nEvery flag falls back to the environment variable GATEWAY_<FLAG_NAME>.\n\nFlags:\n", name)
		fs.PrintDefaults()
	}
	c := &Config{}
	var logLevel string
	fs.StringVar(&c.Listen, "listen", ":8080", "listen address; 127.0.0.1:0 picks a free port")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig file; empty means in-cluster config")
	fs.StringVar(&c.FallbackNamespace, "fallback-namespace", "kubernaut-system", "namespace for signals without a usable namespace")
	fs.IntVar(&c.RetryAttempts, "retry-attempts", 5, "attempts per Kubernetes API call, including the first (1 = no retry)")
	fs.DurationVar(&c.RetryInitialBackoff, "retry-initial-backoff", 100*time.Millisecond, "first retry backoff")
	fs.DurationVar(&c.RetryMaxBackoff, "retry-max-backoff", 2*time.Second, "retry backoff cap")
	fs.DurationVar(&c.RequestDeadline, "request-deadline", 10*time.Second, "deadline for all the API work of one HTTP request")
	fs.DurationVar(&c.APICallTimeout, "api-call-timeout", 2*time.Second, "timeout of one Kubernetes API call")
	fs.DurationVar(&c.UnavailableRetryAfter, "unavailable-retry-after", 5*time.Second, "Retry-After sent with 503")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 262144, "request body limit in bytes")
	fs.Float64Var(&c.KubeQPS, "kube-qps", 0, "client-go queries per second; 0 = no client-side limit (API Priority and Fairness protects the API server)")
	fs.IntVar(&c.KubeBurst, "kube-burst", 0, "client-go burst when --kube-qps is set; 0 = twice --kube-qps")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", 0, "time between readyz turning 503 and the server stopping")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "time in-flight requests get to finish")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.DurationVar(&c.AuthnCacheTTL, "authn-cache-ttl", 2*time.Minute, "how long an accepted bearer token is cached (0 = ask TokenReview every time)")
	fs.DurationVar(&c.AuthzAllowCacheTTL, "authz-allow-cache-ttl", 30*time.Second, "how long an allowed SubjectAccessReview is cached")
	fs.DurationVar(&c.AuthzDenyCacheTTL, "authz-deny-cache-ttl", 10*time.Second, "how long a refused SubjectAccessReview is cached")
	fs.DurationVar(&c.AuthnDenyCacheTTL, "authn-deny-cache-ttl", 10*time.Second, "how long a bearer token the TokenReview refused is cached (0 = a TokenReview per request)")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", "", "serving certificate (PEM, tls.crt), reloaded when it changes; with --tls-private-key-file")
	fs.StringVar(&c.TLSPrivateKeyFile, "tls-private-key-file", "", "serving certificate's private key (PEM, tls.key); with --tls-cert-file")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 200, "signal requests processed at once; beyond it a signal request is answered 503 at once")

	// One pass over the flag set applies the environment: the variable overrides the default
	// through the flag's own parser (so a bad value fails exactly as it would on the command
	// line), and the command line, parsed afterwards, overrides the variable.
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := EnvName(f.Name)
		f.Usage += " (env " + env + ")"
		if v := getenv(env); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
			}
		}
	})
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	level, err := logging.ParseLevel(logLevel)
	if err != nil {
		errs = append(errs, err)
	}
	c.LogLevel = level
	errs = append(errs, c.validate()...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) validate() []error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Listen != "", "--listen must not be empty")
	check(c.FallbackNamespace != "", "--fallback-namespace must not be empty")
	check(c.RetryAttempts >= 1, "--retry-attempts must be at least 1, got %d", c.RetryAttempts)
	check(c.RetryInitialBackoff >= 0, "--retry-initial-backoff must not be negative")
	check(c.RetryMaxBackoff >= c.RetryInitialBackoff, "--retry-max-backoff must be at least --retry-initial-backoff")
	check(c.RequestDeadline > 0, "--request-deadline must be positive")
	check(c.APICallTimeout > 0, "--api-call-timeout must be positive")
	check(c.UnavailableRetryAfter > 0, "--unavailable-retry-after must be positive")
	check(c.MaxBodyBytes > 0, "--max-body-bytes must be positive")
	check(c.KubeQPS >= 0, "--kube-qps must not be negative (0 = no client-side limit)")
	check(c.KubeBurst >= 0, "--kube-burst must not be negative (0 = twice --kube-qps)")
	check(c.ShutdownDelay >= 0, "--shutdown-delay must not be negative")
	check(c.ShutdownTimeout > 0, "--shutdown-timeout must be positive")
	check(c.AuthnCacheTTL >= 0, "--authn-cache-ttl must not be negative")
	check(c.AuthzAllowCacheTTL >= 0, "--authz-allow-cache-ttl must not be negative")
	check(c.AuthzDenyCacheTTL >= 0, "--authz-deny-cache-ttl must not be negative")
	check(c.AuthnDenyCacheTTL >= 0, "--authn-deny-cache-ttl must not be negative")
	check((c.TLSCertFile == "") == (c.TLSPrivateKeyFile == ""),
		"--tls-cert-file and --tls-private-key-file go together: give both (TLS) or neither (plain HTTP)")
	check(c.MaxInFlight >= 1, "--max-in-flight must be at least 1, got %d", c.MaxInFlight)
	return errs
}
