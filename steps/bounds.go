package steps

import (
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/kubernaut/gateway-contract/support/gatewayconf"
)

// The bounds the contract (docs/design.md) states, as literals: a step checks that a thing
// happens within them, not only that it happens. The configuration of the gateway a scenario
// talks to (support/gatewayconf: the suite's values, E2E_GATEWAY_ARGS, the scenario's premise;
// for a deployed gateway the documented defaults) comes through its driver, so a bound of the
// gateway is written in one place.

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
	503: {"kubernetes-unavailable", "auth-unavailable", "overloaded"},
}

// gatewayConfig is the configuration of the gateway the scenario talks to.
func (st *scenario) gatewayConfig() gatewayconf.Config { return st.gw.Config() }

// withinDeadline checks that an answer arrived within the request deadline (plus the margin):
// the deadline is an upper bound on the answer, whatever the API does.
func (st *scenario) withinDeadline(r *response) error {
	if r.sentAt.IsZero() || r.at.IsZero() {
		return nil // not an answer to a request the suite timed
	}
	margin := st.bounds().AnswerMargin
	bound := st.gatewayConfig().RequestDeadline + margin
	if took := r.at.Sub(r.sentAt); took > bound {
		return fmt.Errorf("the answer took %s, more than the request deadline %s (plus %s): %s",
			took.Round(time.Millisecond), st.gatewayConfig().RequestDeadline, margin, r)
	}
	return nil
}

var digits = regexp.MustCompile(`^[0-9]+$`)

// checkRetryAfter checks a 503's Retry-After: integer seconds, the gateway's
// --unavailable-retry-after (rounded up).
func (st *scenario) checkRetryAfter(r *response) error {
	ra := r.header.Get("Retry-After")
	want := st.gatewayConfig().RetryAfterSeconds()
	if !digits.MatchString(ra) {
		return fmt.Errorf("a 503 must tell the sender when to come back in whole seconds, but Retry-After is %q: %s", ra, r)
	}
	if n, _ := strconv.Atoi(ra); n != want {
		return fmt.Errorf("Retry-After is %s seconds, but the gateway's --unavailable-retry-after is %s (%d seconds): %s",
			ra, st.gatewayConfig().UnavailableRetryAfter, want, r)
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
