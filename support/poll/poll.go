// Package poll is the suite's one way to wait: a bounded poll (on e2e-framework's klient/wait)
// whose timeout message names what it waited for and what it last saw. There are no fixed sleeps
// in the suite; every wait goes through Bounds, and every Bounds comes from the run's settings
// (support/settings), so that one place says how long anything may take.
package poll

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/e2e-framework/klient/wait"
)

// Bounds are the suite's timeouts. Scenarios never pass their own: they pick one of these.
type Bounds struct {
	// Eventually bounds waits for the cluster to show what the gateway has already acknowledged.
	Eventually time.Duration
	// Consistently is how long "nothing happens" is watched for.
	Consistently time.Duration
	// Request bounds one HTTP request to the gateway, including its retries against a slow API.
	Request time.Duration
	// GatewayStart bounds a gateway's start, up to /readyz answering 200.
	GatewayStart time.Duration
	// GatewayStop bounds a graceful stop before the process is killed.
	GatewayStop time.Duration
	// Readiness bounds waits for /readyz to change.
	Readiness time.Duration
	// AnswerMargin is what an answer may take beyond the bound the gateway works within (a
	// signal's request deadline, /readyz's 1 s discovery call): the bound covers the gateway's
	// API work, not the writing of the answer and its way back to the sender. A machine loaded
	// on purpose (make flake LOAD=1) stretches that way back, so load mode gives it more.
	AnswerMargin time.Duration
	// Scenario bounds a whole scenario, so that no API call in a step can hang the run.
	Scenario time.Duration
	// NamespaceGone bounds the wait for the cluster's namespace controller to remove the run's
	// namespaces at its end.
	NamespaceGone time.Duration
	// Interval is the polling interval.
	Interval time.Duration
}

// Defaults are the bounds a run uses unless its settings change them.
func Defaults() Bounds {
	return Bounds{
		Eventually:    15 * time.Second,
		Consistently:  500 * time.Millisecond,
		Request:       30 * time.Second,
		GatewayStart:  30 * time.Second,
		GatewayStop:   20 * time.Second,
		Readiness:     15 * time.Second,
		AnswerMargin:  1500 * time.Millisecond,
		Scenario:      3 * time.Minute,
		NamespaceGone: time.Minute,
		Interval:      50 * time.Millisecond,
	}
}

// Check reports whether the awaited state holds, and what it saw, for the timeout message.
// An error stops the wait at once.
type Check func(ctx context.Context) (ok bool, seen string, err error)

// Until polls check every b.Interval until it holds, for at most timeout. A timeout of zero or
// less checks once: klient/wait reads a zero timeout as "no bound", and a bound computed from a
// deadline that has passed must not become an endless wait.
func (b Bounds) Until(ctx context.Context, timeout time.Duration, what string, check Check) error {
	bound := max(timeout, time.Nanosecond)
	seen := "nothing yet"
	var stop error
	err := wait.For(func(ctx context.Context) (bool, error) {
		ok, s, err := check(ctx)
		if s != "" {
			seen = s
		}
		// An error because the bound is (about to be) over, such as client-go's rate limiter
		// refusing to wait past the deadline, is the timeout, reported with what was last seen.
		if dl, has := ctx.Deadline(); err != nil && has && time.Until(dl) < b.interval() {
			return false, nil
		}
		if err != nil {
			stop = err
			return false, err
		}
		return ok, nil
	}, wait.WithContext(ctx), wait.WithTimeout(bound), wait.WithInterval(b.interval()), wait.WithImmediate())
	switch {
	case err == nil:
		return nil
	case stop != nil:
		return fmt.Errorf("waiting for %s: %w", what, stop)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("waiting for %s: cancelled; last saw %s", what, seen)
	default:
		return fmt.Errorf("timed out after %s waiting for %s; last saw %s", timeout, what, seen)
	}
}

// Await is Until with the Eventually bound.
func (b Bounds) Await(ctx context.Context, what string, check Check) error {
	return b.Until(ctx, b.Eventually, what, check)
}

// Hold checks that check keeps holding for the Consistently window; it fails at the first moment
// it does not, naming what it saw.
func (b Bounds) Hold(ctx context.Context, what string, check Check) error {
	deadline := time.Now().Add(b.Consistently)
	for {
		ok, seen, err := check(ctx)
		if err != nil {
			return fmt.Errorf("checking that %s: %w", what, err)
		}
		if !ok {
			return fmt.Errorf("expected %s to keep holding, but saw %s", what, seen)
		}
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("checking that %s: %w", what, ctx.Err())
		case <-time.After(b.interval()):
		}
	}
}

func (b Bounds) interval() time.Duration {
	if b.Interval <= 0 {
		return Defaults().Interval
	}
	return b.Interval
}

// Validate rejects bounds that cannot work: every one must be positive, and a scenario must have
// room for at least one request.
func (b Bounds) Validate() error {
	for name, d := range map[string]time.Duration{
		"eventually": b.Eventually, "consistently": b.Consistently, "request": b.Request,
		"gateway-start": b.GatewayStart, "gateway-stop": b.GatewayStop, "readiness": b.Readiness,
		"answer-margin": b.AnswerMargin,
		"scenario":      b.Scenario, "namespace-gone": b.NamespaceGone, "interval": b.Interval,
	} {
		if d <= 0 {
			return fmt.Errorf("timeout %s=%s: must be positive", name, d)
		}
	}
	if b.Scenario < b.Request {
		return fmt.Errorf("timeout scenario=%s is shorter than one request (%s)", b.Scenario, b.Request)
	}
	return nil
}
