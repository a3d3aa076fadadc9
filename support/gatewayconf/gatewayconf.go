// Package gatewayconf is the one typed configuration of a gateway the suite launches: the
// values the suite runs it with, the user's override (E2E_GATEWAY_ARGS) and a scenario's own
// premise, combined in one order, rendered to the gateway's command-line flags (for a process)
// or to a container's args (for the deployed form). The steps read the bounds they assert from
// the same value, so a bound is written once.
//
// The suite is a black box: this package names the gateway's flags as the contract documents
// them (docs/design.md) and does not import the gateway's own configuration, so a renamed flag
// breaks the suite rather than following silently.
package gatewayconf

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the part of a gateway's configuration the suite sets or asserts on. A zero field is
// left to the gateway's default (it is not rendered).
type Config struct {
	FallbackNamespace     string
	RetryAttempts         int
	RetryInitialBackoff   time.Duration
	RetryMaxBackoff       time.Duration
	RequestDeadline       time.Duration
	APICallTimeout        time.Duration
	UnavailableRetryAfter time.Duration
	ShutdownDelay         time.Duration
	ShutdownTimeout       time.Duration
	AuthzAllowCacheTTL    time.Duration
	AuthzDenyCacheTTL     time.Duration
	LogLevel              string
	// MaxInFlight is how many signal requests the gateway takes at once; beyond it, it sheds.
	MaxInFlight int
	// Extra are flags this type has no field for (from E2E_GATEWAY_ARGS), passed on in order
	// after the typed ones, so the gateway sees every flag the user gave.
	Extra []string
}

// Suite is the configuration of the gateways the suite launches: short backoffs so that the
// resilience scenarios take seconds, with the same shape as production (docs/design.md), and
// a short authorization cache so that a revoked permission takes effect within seconds.
func Suite(fallbackNamespace string, authzAllowTTL time.Duration) Config {
	return Config{
		FallbackNamespace:     fallbackNamespace,
		RetryAttempts:         6,
		RetryInitialBackoff:   50 * time.Millisecond,
		RetryMaxBackoff:       800 * time.Millisecond,
		RequestDeadline:       5 * time.Second,
		APICallTimeout:        time.Second,
		UnavailableRetryAfter: time.Second,
		ShutdownTimeout:       15 * time.Second,
		LogLevel:              "debug",
		AuthzAllowCacheTTL:    authzAllowTTL,
		AuthzDenyCacheTTL:     time.Second,
	}
}

// Documented is the gateway's documented defaults: what a deployed gateway (contract mode) runs
// with unless E2E_GATEWAY_ARGS says otherwise.
func Documented(fallbackNamespace string) Config {
	return Config{
		FallbackNamespace:     fallbackNamespace,
		RetryAttempts:         5,
		RetryInitialBackoff:   100 * time.Millisecond,
		RetryMaxBackoff:       2 * time.Second,
		RequestDeadline:       10 * time.Second,
		APICallTimeout:        2 * time.Second,
		UnavailableRetryAfter: 5 * time.Second,
		ShutdownTimeout:       30 * time.Second,
		AuthzAllowCacheTTL:    30 * time.Second,
		AuthzDenyCacheTTL:     10 * time.Second,
		LogLevel:              "info",
		MaxInFlight:           200,
	}
}

// Premise is what a scenario states of its own gateway ("a gateway that waits up to 20 seconds
// for the API"); it is applied last, so a user's override does not undo it.
type Premise func(*Config)

// Build combines the three sources in their one order: base (the suite's values or the
// documented defaults), then the user's flags, then the scenario's premises.
func Build(base Config, userArgs []string, premises ...Premise) (Config, error) {
	c, err := base.Override(userArgs)
	if err != nil {
		return Config{}, err
	}
	c.Extra = append([]string(nil), c.Extra...)
	for _, p := range premises {
		if p != nil {
			p(&c)
		}
	}
	return c, nil
}

// field binds one flag to its field, for rendering and for parsing an override.
type field struct {
	flag string
	dur  *time.Duration
	str  *string
	num  *int
}

func (c *Config) fields() []field {
	return []field{
		{flag: "fallback-namespace", str: &c.FallbackNamespace},
		{flag: "retry-attempts", num: &c.RetryAttempts},
		{flag: "retry-initial-backoff", dur: &c.RetryInitialBackoff},
		{flag: "retry-max-backoff", dur: &c.RetryMaxBackoff},
		{flag: "request-deadline", dur: &c.RequestDeadline},
		{flag: "api-call-timeout", dur: &c.APICallTimeout},
		{flag: "unavailable-retry-after", dur: &c.UnavailableRetryAfter},
		{flag: "shutdown-delay", dur: &c.ShutdownDelay},
		{flag: "shutdown-timeout", dur: &c.ShutdownTimeout},
		{flag: "authz-allow-cache-ttl", dur: &c.AuthzAllowCacheTTL},
		{flag: "authz-deny-cache-ttl", dur: &c.AuthzDenyCacheTTL},
		{flag: "log-level", str: &c.LogLevel},
		{flag: "max-in-flight", num: &c.MaxInFlight},
	}
}

// Override returns c with args (--flag=value each) applied: a flag with a field sets it, any
// other is kept in Extra. A value that does not parse is an error that names the flag.
func (c Config) Override(args []string) (Config, error) {
	out := c
	out.Extra = append([]string(nil), c.Extra...)
	byName := map[string]field{}
	for _, f := range out.fields() {
		byName[f.flag] = f
	}
	for _, a := range args {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			return Config{}, fmt.Errorf("gateway flag %q: write --name=value", a)
		}
		f, known := byName[name]
		switch {
		case !known:
			out.Extra = append(out.Extra, a)
		case f.dur != nil:
			d, err := time.ParseDuration(value)
			if err != nil {
				return Config{}, fmt.Errorf("gateway flag --%s: %w", name, err)
			}
			*f.dur = d
		case f.num != nil:
			n, err := strconv.Atoi(value)
			if err != nil {
				return Config{}, fmt.Errorf("gateway flag --%s: %w", name, err)
			}
			*f.num = n
		default:
			*f.str = value
		}
	}
	return out, nil
}

// Args renders c as the gateway's flags: the typed fields that are set, in a fixed order, then
// Extra. The same list is a process's arguments and a container's args.
func (c Config) Args() []string {
	var args []string
	for _, f := range c.fields() {
		switch {
		case f.dur != nil && *f.dur != 0:
			args = append(args, "--"+f.flag+"="+f.dur.String())
		case f.num != nil && *f.num != 0:
			args = append(args, "--"+f.flag+"="+strconv.Itoa(*f.num))
		case f.str != nil && *f.str != "":
			args = append(args, "--"+f.flag+"="+*f.str)
		}
	}
	return append(args, c.Extra...)
}

// RetryAfterSeconds is the Retry-After the contract promises with a 503: --unavailable-retry-after
// in whole seconds, rounded up, at least 1.
func (c Config) RetryAfterSeconds() int {
	s := int((c.UnavailableRetryAfter + time.Second - 1) / time.Second)
	return max(1, s)
}

// BackoffCeiling is the upper bound of the wait after the attempt-th failure: the initial
// backoff, doubled per retry, capped.
func (c Config) BackoffCeiling(attempt int) time.Duration {
	d := c.RetryInitialBackoff
	for i := 1; i < attempt && d < c.RetryMaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.RetryMaxBackoff)
}
