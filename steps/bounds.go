package steps

import (
	"fmt"
	"math"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The bounds the contract (docs/design.md) states, as literals: a step checks that a thing
// happens within them, not only that it happens. The launched gateways run with the
// configuration that the feature backgrounds state (support/harness starts every gateway with
// it); a deployed gateway (contract mode) with the documented defaults; E2E_GATEWAY_ARGS can
// override either, a scenario's own gateway flags override that, and the bounds follow them.
var (
	// launchedConfig is the launched gateways' configuration ("all the work of one request within
	// a 5-second deadline, and senders asked to come back after 1 second", "backoff from 50
	// milliseconds doubling to at most 800 milliseconds").
	launchedConfig = gatewayConfig{
		requestDeadline:       5 * time.Second,
		unavailableRetryAfter: time.Second,
		retryInitialBackoff:   50 * time.Millisecond,
		retryMaxBackoff:       800 * time.Millisecond,
	}
	// deployedConfig is the documented defaults of the gateway's flags.
	deployedConfig = gatewayConfig{
		requestDeadline:       10 * time.Second,
		unavailableRetryAfter: 5 * time.Second,
		retryInitialBackoff:   100 * time.Millisecond,
		retryMaxBackoff:       2 * time.Second,
	}
)

const (
	// readinessBound is /readyz's own bound: "200 when the API answers discovery ... within 1 s,
	// else 503". A probe's answer may take the run's AnswerMargin beyond it, as a signal's may
	// beyond the request deadline: a loaded run (make flake LOAD=1) met a 503 that took 2.65 s.
	readinessBound = time.Second
	// notReadyWithin is how soon /readyz must turn 503 once the API is gone: it asks the API on
	// every probe, so one probe's bound and a margin.
	notReadyWithin = readinessBound + 4*time.Second
	// retryTimingMargin is what a gap between two attempts the fault proxy saw may exceed the
	// gateway's wait by: the failed call itself and scheduling.
	retryTimingMargin = 250 * time.Millisecond

	problemTypeBase = "https://kubernaut.ai/problems/"
)

// signalSources are the spec.signalSource of each spec.signalType.
var signalSources = map[string]string{
	"prometheus-alert": "alertmanager",
	"kubernetes-event": "kubernetes-events",
}

// problemSlugs are the problem types the contract allows for each error status of the signal
// endpoints.
var problemSlugs = map[int][]string{
	400: {"invalid-payload"},
	401: {"unauthenticated"},
	403: {"forbidden"},
	405: {"method-not-allowed"},
	413: {"payload-too-large"},
	415: {"unsupported-media-type"},
	500: {"kubernetes-error"},
	503: {"kubernetes-unavailable", "auth-unavailable"},
}

// gatewayConfig is the part of a gateway's flags that the contract's bounds depend on.
type gatewayConfig struct {
	requestDeadline, unavailableRetryAfter, retryInitialBackoff, retryMaxBackoff time.Duration
}

// gatewayConfig is the configuration of the gateway the scenario talks to.
func (st *scenario) gatewayConfig() gatewayConfig {
	c := launchedConfig
	if st.h.Settings.ContractMode() {
		c = deployedConfig
	}
	// E2E_GATEWAY_ARGS first, then the scenario's own flags: the order in which the harness
	// passes them to the gateway (later flags win).
	for _, a := range append(append([]string{}, st.h.Settings.GatewayArgs...), st.gwArgs...) {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok {
			continue
		}
		d, err := time.ParseDuration(value)
		if err != nil {
			continue
		}
		switch name {
		case "request-deadline":
			c.requestDeadline = d
		case "unavailable-retry-after":
			c.unavailableRetryAfter = d
		case "retry-initial-backoff":
			c.retryInitialBackoff = d
		case "retry-max-backoff":
			c.retryMaxBackoff = d
		}
	}
	return c
}

// retryAfterSeconds is the Retry-After the contract promises: --unavailable-retry-after in whole
// seconds, rounded up, at least 1.
func (c gatewayConfig) retryAfterSeconds() int {
	return max(1, int(math.Ceil(c.unavailableRetryAfter.Seconds())))
}

// backoffCeiling is the upper bound of the wait after the attempt-th failure: the initial backoff,
// doubled per retry, capped.
func (c gatewayConfig) backoffCeiling(attempt int) time.Duration {
	d := c.retryInitialBackoff
	for i := 1; i < attempt && d < c.retryMaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.retryMaxBackoff)
}

// withinDeadline checks that an answer arrived within the request deadline (plus the margin):
// the deadline is an upper bound on the answer, whatever the API does.
func (st *scenario) withinDeadline(r *response) error {
	if r.sentAt.IsZero() || r.at.IsZero() {
		return nil // not an answer to a request the suite timed
	}
	margin := st.bounds().AnswerMargin
	bound := st.gatewayConfig().requestDeadline + margin
	if took := r.at.Sub(r.sentAt); took > bound {
		return fmt.Errorf("the answer took %s, more than the request deadline %s (plus %s): %s",
			took.Round(time.Millisecond), st.gatewayConfig().requestDeadline, margin, r)
	}
	return nil
}

var digits = regexp.MustCompile(`^[0-9]+$`)

// checkRetryAfter checks a 503's Retry-After: integer seconds, the gateway's
// --unavailable-retry-after (rounded up).
func (st *scenario) checkRetryAfter(r *response) error {
	ra := r.header.Get("Retry-After")
	want := st.gatewayConfig().retryAfterSeconds()
	if !digits.MatchString(ra) {
		return fmt.Errorf("a 503 must tell the sender when to come back in whole seconds, but Retry-After is %q: %s", ra, r)
	}
	if n, _ := strconv.Atoi(ra); n != want {
		return fmt.Errorf("Retry-After is %s seconds, but the gateway's --unavailable-retry-after is %s (%d seconds): %s",
			ra, st.gatewayConfig().unavailableRetryAfter, want, r)
	}
	return nil
}

// mediaType is the media type of a Content-Type header, without parameters.
func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}
