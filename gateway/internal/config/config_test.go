package config

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Parse("gateway", nil, env(nil), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, &Config{
		Listen: ":8080", FallbackNamespace: "kubernaut-system", RetryAttempts: 5,
		RetryInitialBackoff: 100 * time.Millisecond, RetryMaxBackoff: 2 * time.Second,
		RequestDeadline: 10 * time.Second, APICallTimeout: 2 * time.Second, UnavailableRetryAfter: 5 * time.Second,
		MaxBodyBytes: 262144, KubeQPS: 0, KubeBurst: 0, ShutdownTimeout: 30 * time.Second, LogLevel: slog.LevelInfo,
		AuthnCacheTTL: 2 * time.Minute, AuthzAllowCacheTTL: 30 * time.Second, AuthzDenyCacheTTL: 10 * time.Second,
		AuthnDenyCacheTTL: 10 * time.Second, MaxInFlight: 200,
	}, c)
}

func TestEnvironmentFallbackAndFlagPrecedence(t *testing.T) {
	e := env(map[string]string{
		"GATEWAY_LISTEN":               "127.0.0.1:0",
		"GATEWAY_RETRY_ATTEMPTS":       "2",
		"GATEWAY_API_CALL_TIMEOUT":     "300ms",
		"GATEWAY_KUBE_QPS":             "50.5",
		"GATEWAY_MAX_BODY_BYTES":       "1024",
		"GATEWAY_LOG_LEVEL":            "debug",
		"GATEWAY_FALLBACK_NAMESPACE":   "from-env",
		"GATEWAY_AUTHN_CACHE_TTL":      "1m",
		"GATEWAY_AUTHZ_DENY_CACHE_TTL": "0s",
	})
	c, err := Parse("gateway", []string{"--fallback-namespace", "from-flag", "--shutdown-delay=2s", "--authz-allow-cache-ttl=5s"}, e, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:0", c.Listen)
	assert.Equal(t, 2, c.RetryAttempts)
	assert.Equal(t, 300*time.Millisecond, c.APICallTimeout)
	assert.Equal(t, 50.5, c.KubeQPS)
	assert.EqualValues(t, 1024, c.MaxBodyBytes)
	assert.Equal(t, slog.LevelDebug, c.LogLevel)
	assert.Equal(t, "from-flag", c.FallbackNamespace)
	assert.Equal(t, 2*time.Second, c.ShutdownDelay)
	assert.Equal(t, time.Minute, c.AuthnCacheTTL)
	assert.Equal(t, 5*time.Second, c.AuthzAllowCacheTTL)
	assert.Equal(t, time.Duration(0), c.AuthzDenyCacheTTL)
}

func TestInvalid(t *testing.T) {
	tests := map[string]struct {
		args []string
		env  map[string]string
	}{
		"bad env duration":    {env: map[string]string{"GATEWAY_REQUEST_DEADLINE": "soon"}},
		"bad env int":         {env: map[string]string{"GATEWAY_RETRY_ATTEMPTS": "many"}},
		"zero attempts":       {args: []string{"--retry-attempts=0"}},
		"max below initial":   {args: []string{"--retry-initial-backoff=3s", "--retry-max-backoff=1s"}},
		"bad level":           {args: []string{"--log-level=loud"}},
		"unknown flag":        {args: []string{"--nope"}},
		"stray argument":      {args: []string{"serve"}},
		"zero body limit":     {args: []string{"--max-body-bytes=0"}},
		"negative authn ttl":  {args: []string{"--authn-cache-ttl=-1s"}},
		"negative allow ttl":  {env: map[string]string{"GATEWAY_AUTHZ_ALLOW_CACHE_TTL": "-1s"}},
		"negative deny ttl":   {args: []string{"--authz-deny-cache-ttl=-1s"}},
		"negative qps":        {args: []string{"--kube-qps=-1"}},
		"negative burst":      {args: []string{"--kube-burst=-5"}},
		"negative authn deny": {args: []string{"--authn-deny-cache-ttl=-1s"}},
		"cert without key":    {args: []string{"--tls-cert-file=tls.crt"}},
		"key without cert":    {env: map[string]string{"GATEWAY_TLS_PRIVATE_KEY_FILE": "tls.key"}},
		"zero in flight":      {args: []string{"--max-in-flight=0"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("gateway", tt.args, env(tt.env), &bytes.Buffer{})
			require.Error(t, err)
		})
	}
}

func TestHelpListsEveryFlagWithItsEnvironmentVariable(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse("gateway", []string{"--help"}, env(nil), &out)
	require.True(t, errors.Is(err, flag.ErrHelp))
	for _, name := range []string{"listen", "kubeconfig", "fallback-namespace", "retry-attempts", "retry-initial-backoff",
		"retry-max-backoff", "request-deadline", "api-call-timeout", "unavailable-retry-after", "max-body-bytes",
		"kube-qps", "kube-burst", "shutdown-delay", "shutdown-timeout", "log-level",
		"authn-cache-ttl", "authz-allow-cache-ttl", "authz-deny-cache-ttl", "authn-deny-cache-ttl",
		"tls-cert-file", "tls-private-key-file", "max-in-flight"} {
		assert.Contains(t, out.String(), "-"+name)
		assert.Contains(t, out.String(), EnvName(name))
	}
}

// TestNoFlagTurnsAuthOff pins the flag set: authentication and authorization cannot be switched
// off, so a new flag must be added here on purpose (and must not be such a switch).
func TestNoFlagTurnsAuthOff(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse("gateway", []string{"--help"}, env(nil), &out)
	require.True(t, errors.Is(err, flag.ErrHelp))
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(out.String(), -1) {
		names = append(names, m[1])
	}
	assert.ElementsMatch(t, []string{"listen", "kubeconfig", "fallback-namespace", "retry-attempts",
		"retry-initial-backoff", "retry-max-backoff", "request-deadline", "api-call-timeout",
		"unavailable-retry-after", "max-body-bytes", "kube-qps", "kube-burst", "shutdown-delay",
		"shutdown-timeout", "log-level", "authn-cache-ttl", "authz-allow-cache-ttl", "authz-deny-cache-ttl",
		"authn-deny-cache-ttl", "tls-cert-file", "tls-private-key-file", "max-in-flight"}, names)
}

// TestEnvironmentErrorNamesTheVariable: a bad environment value is parsed by the flag's own
// parser and reported under the variable's name, so a Deployment's author sees which one.
func TestEnvironmentErrorNamesTheVariable(t *testing.T) {
	for env, value := range map[string]string{
		"GATEWAY_REQUEST_DEADLINE": "soon", "GATEWAY_KUBE_QPS": "fast", "GATEWAY_MAX_BODY_BYTES": "1KiB",
	} {
		_, err := Parse("gateway", nil, func(k string) string {
			if k == env {
				return value
			}
			return ""
		}, &bytes.Buffer{})
		require.Error(t, err, env)
		assert.Contains(t, err.Error(), env+`="`+value+`"`)
	}
}

func TestTLSFilesTogether(t *testing.T) {
	c, err := Parse("gateway", []string{"--tls-cert-file=/tls/tls.crt", "--tls-private-key-file=/tls/tls.key"}, env(nil), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "/tls/tls.crt", c.TLSCertFile)
	assert.Equal(t, "/tls/tls.key", c.TLSPrivateKeyFile)

	_, err = Parse("gateway", []string{"--tls-cert-file=/tls/tls.crt"}, env(nil), &bytes.Buffer{})
	require.ErrorContains(t, err, "--tls-cert-file and --tls-private-key-file go together")
}
