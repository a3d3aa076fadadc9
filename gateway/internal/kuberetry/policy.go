package kuberetry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ReasonDeadline is the UnavailableError reason when the per-request deadline, not the attempt
// budget, ended the retries.
const ReasonDeadline = "deadline"

// Retry describes one retry about to happen; Policy.OnRetry receives it for logging and metrics.
type Retry struct {
	// Op names the API call, e.g. "create remediationrequest".
	Op string
	// Attempt is the number of the attempt that just failed, starting at 1.
	Attempt int
	// Reason is the transient reason (one of TransientReasons).
	Reason string
	// Backoff is the wait before the next attempt.
	Backoff time.Duration
	// Err is the error of the failed attempt.
	Err error
}

// Policy retries transient Kubernetes API failures with exponential backoff and "equal" jitter:
// each wait is random in the upper half of its step, so replicas spread out while every wait is
// still at least as long as the one before (the suite asserts that the backoff grows).
// The zero value is not useful; set at least Attempts, InitialBackoff and MaxBackoff.
type Policy struct {
	// Attempts is the number of attempts per call, the first included (1 = no retry).
	Attempts int
	// InitialBackoff is the backoff cap of the first retry; it doubles with each retry.
	InitialBackoff time.Duration
	// MaxBackoff caps the exponential growth.
	MaxBackoff time.Duration
	// CallTimeout bounds one attempt, so that a black-holed call is abandoned and retried. Zero means
	// no per-attempt bound beyond the caller's context.
	CallTimeout time.Duration

	// OnRetry, if set, is called before each backoff.
	OnRetry func(ctx context.Context, r Retry)
	// Sleep waits d or until ctx is done; nil means a real timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a uniformly random duration in [0, d]; nil means math/rand. Tests replace it.
	Jitter func(d time.Duration) time.Duration
}

// UnavailableError means the API could not be reached in time: a transient failure outlasted the
// attempts or the caller's deadline. The HTTP layer answers it with 503 and Retry-After, so that the
// sender delivers the signal again.
type UnavailableError struct {
	Op       string
	Attempts int
	// Reason is the last transient reason, or ReasonDeadline.
	Reason string
	Err    error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s: kubernetes api unavailable after %d attempt(s) (%s): %v", e.Op, e.Attempts, e.Reason, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// IsUnavailable reports whether err (or an error it wraps) is an *UnavailableError.
func IsUnavailable(err error) bool {
	var u *UnavailableError
	return errors.As(err, &u)
}

// Do calls fn until it succeeds, fails permanently, runs out of attempts, or ctx ends. Each call gets
// a context bounded by CallTimeout. A permanent error is returned wrapped with op (so apierrors
// predicates still work); an exhausted transient failure or an ended ctx returns *UnavailableError.
func (p *Policy) Do(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	attempts := max(p.Attempts, 1)
	var lastErr error
	lastReason := ReasonDeadline
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return &UnavailableError{Op: op, Attempts: attempt - 1, Reason: ReasonDeadline, Err: errors.Join(lastErr, err)}
		}
		callTimedOut, err := p.call(ctx, fn)
		if err == nil {
			return nil
		}
		reason, transient := Classify(err)
		if !transient && callTimedOut && !isAPIStatus(err) {
			// The per-call timeout fired; whatever shape the error took on the way up, it is a timeout.
			reason, transient = ReasonTimeout, true
		}
		if ctx.Err() != nil && (transient || errors.Is(err, ctx.Err())) {
			return &UnavailableError{Op: op, Attempts: attempt, Reason: ReasonDeadline, Err: err}
		}
		if !transient {
			return fmt.Errorf("%s: %w", op, err)
		}
		lastErr, lastReason = err, reason
		if attempt >= attempts {
			return &UnavailableError{Op: op, Attempts: attempt, Reason: lastReason, Err: lastErr}
		}
		backoff := p.backoff(attempt, err)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= backoff {
			return &UnavailableError{Op: op, Attempts: attempt, Reason: ReasonDeadline,
				Err: fmt.Errorf("backoff of %s would pass the request deadline: %w", backoff, err)}
		}
		if p.OnRetry != nil {
			p.OnRetry(ctx, Retry{Op: op, Attempt: attempt, Reason: reason, Backoff: backoff, Err: err})
		}
		if err := p.sleep(ctx, backoff); err != nil {
			return &UnavailableError{Op: op, Attempts: attempt, Reason: ReasonDeadline, Err: errors.Join(lastErr, err)}
		}
	}
}

// call runs one attempt under CallTimeout and reports whether that timeout (not the caller's) fired.
func (p *Policy) call(ctx context.Context, fn func(ctx context.Context) error) (bool, error) {
	if p.CallTimeout <= 0 {
		return false, fn(ctx)
	}
	callCtx, cancel := context.WithTimeout(ctx, p.CallTimeout)
	defer cancel()
	err := fn(callCtx)
	return err != nil && ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded), err
}

// Backoff is the wait after the attempt-th failure: with step = min(MaxBackoff,
// InitialBackoff*2^(attempt-1)), a random wait in [step/2, step], and never less than the delay a
// 429 asks for.
func (p *Policy) backoff(attempt int, err error) time.Duration {
	ceiling := p.InitialBackoff
	for i := 1; i < attempt && ceiling < p.MaxBackoff; i++ {
		ceiling *= 2
	}
	if p.MaxBackoff > 0 && ceiling > p.MaxBackoff {
		ceiling = p.MaxBackoff
	}
	wait := ceiling/2 + p.jitter(ceiling-ceiling/2)
	if apierrors.IsTooManyRequests(err) {
		if seconds, ok := apierrors.SuggestsClientDelay(err); ok && seconds > 0 {
			wait = max(wait, time.Duration(seconds)*time.Second)
		}
	}
	return wait
}

func (p *Policy) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	if p.Jitter != nil {
		return p.Jitter(d)
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

func (p *Policy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func isAPIStatus(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status)
}
