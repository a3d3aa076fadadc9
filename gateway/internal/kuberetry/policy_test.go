package kuberetry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
)

// recorder captures retries and sleeps instead of waiting.
type recorder struct {
	mu      sync.Mutex
	retries []kuberetry.Retry
	sleeps  []time.Duration
}

func (r *recorder) policy(attempts int) *kuberetry.Policy {
	return &kuberetry.Policy{
		Attempts:       attempts,
		InitialBackoff: 100 * time.Millisecond,
		MaxBackoff:     2 * time.Second,
		OnRetry: func(_ context.Context, rt kuberetry.Retry) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.retries = append(r.retries, rt)
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.sleeps = append(r.sleeps, d)
			return ctx.Err()
		},
		Jitter: func(d time.Duration) time.Duration { return d }, // the ceiling, to make backoff visible
	}
}

func failing(n int, err error) (func(context.Context) error, *int) {
	calls := 0
	return func(context.Context) error {
		calls++
		if calls <= n {
			return err
		}
		return nil
	}, &calls
}

func TestTransientErrorsAreRetried(t *testing.T) {
	for reason, err := range kubetest.TransientErrors() {
		t.Run(reason, func(t *testing.T) {
			got, transient := kuberetry.Classify(err)
			require.True(t, transient)
			assert.Equal(t, reason, got)

			var rec recorder
			fn, calls := failing(2, err)
			require.NoError(t, rec.policy(5).Do(context.Background(), "op", fn))
			assert.Equal(t, 3, *calls)
			require.Len(t, rec.retries, 2)
			for i, r := range rec.retries {
				assert.Equal(t, i+1, r.Attempt)
				assert.Equal(t, reason, r.Reason)
				assert.Equal(t, "op", r.Op)
			}
		})
	}
}

func TestTransportErrorIsTransient(t *testing.T) {
	reason, transient := kuberetry.Classify(fmt.Errorf("get: %w", &kuberetry.TransportError{Reason: kuberetry.ReasonEOF, Err: errors.New("EOF")}))
	assert.True(t, transient)
	assert.Equal(t, kuberetry.ReasonEOF, reason)
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	errs := map[string]error{
		"400":      apierrors.NewBadRequest("bad"),
		"401":      apierrors.NewUnauthorized("who"),
		"403":      apierrors.NewForbidden(schemaGR(), "x", errors.New("no")),
		"404":      apierrors.NewNotFound(schemaGR(), "x"),
		"409":      apierrors.NewConflict(schemaGR(), "x", errors.New("stale")),
		"422":      apierrors.NewInvalid(schemaGK(), "x", nil),
		"plain":    errors.New("something else"),
		"canceled": context.Canceled,
	}
	for name, err := range errs {
		t.Run(name, func(t *testing.T) {
			var rec recorder
			fn, calls := failing(1, err)
			got := rec.policy(5).Do(context.Background(), "op", fn)
			require.Error(t, got)
			assert.ErrorIs(t, got, err)
			assert.False(t, kuberetry.IsUnavailable(got))
			assert.Equal(t, 1, *calls)
			assert.Empty(t, rec.retries)
		})
	}
}

func TestExhaustedAttempts(t *testing.T) {
	var rec recorder
	fn, calls := failing(100, apierrors.NewServiceUnavailable("down"))
	err := rec.policy(4).Do(context.Background(), "op", fn)
	var u *kuberetry.UnavailableError
	require.ErrorAs(t, err, &u)
	assert.Equal(t, 4, u.Attempts)
	assert.Equal(t, "503", u.Reason)
	assert.Equal(t, 4, *calls)
	assert.Len(t, rec.retries, 3)
}

func TestOneAttemptMeansNoRetry(t *testing.T) {
	var rec recorder
	fn, calls := failing(100, apierrors.NewServiceUnavailable("down"))
	require.True(t, kuberetry.IsUnavailable(rec.policy(1).Do(context.Background(), "op", fn)))
	assert.Equal(t, 1, *calls)
}

func TestExponentialBackoffIsCapped(t *testing.T) {
	var rec recorder
	p := rec.policy(8)
	p.MaxBackoff = 500 * time.Millisecond
	fn, _ := failing(100, apierrors.NewInternalError(errors.New("x")))
	_ = p.Do(context.Background(), "op", fn)
	assert.Equal(t, []time.Duration{100, 200, 400, 500, 500, 500, 500}, millis(rec.sleeps))
}

func TestEqualJitterStaysInTheUpperHalfAndNeverShrinks(t *testing.T) {
	for run := 0; run < 50; run++ {
		var rec recorder
		p := rec.policy(6)
		p.Jitter = nil // real randomness
		fn, _ := failing(100, apierrors.NewInternalError(errors.New("x")))
		_ = p.Do(context.Background(), "op", fn)
		ceilings := []time.Duration{100, 200, 400, 800, 1600}
		require.Len(t, rec.sleeps, len(ceilings))
		for i, d := range rec.sleeps {
			assert.GreaterOrEqual(t, d, ceilings[i]*time.Millisecond/2)
			assert.LessOrEqual(t, d, ceilings[i]*time.Millisecond)
			if i > 0 {
				assert.GreaterOrEqual(t, d, rec.sleeps[i-1], "wait %d shrank: %v", i, rec.sleeps)
			}
		}
	}
}

func TestTooManyRequestsRetryAfterIsTheMinimumWait(t *testing.T) {
	var rec recorder
	fn, calls := failing(1, kubetest.TooManyRequests(2))
	require.NoError(t, rec.policy(5).Do(context.Background(), "op", fn))
	assert.Equal(t, 2, *calls)
	require.Len(t, rec.sleeps, 1)
	assert.Equal(t, 2*time.Second, rec.sleeps[0])
	assert.Equal(t, "429", rec.retries[0].Reason)
}

// TestTooManyRequestsRetryAfterMeasured waits for real: the honoured delay is one second.
func TestTooManyRequestsRetryAfterMeasured(t *testing.T) {
	p := &kuberetry.Policy{Attempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	fn, calls := failing(1, kubetest.TooManyRequests(1))
	start := time.Now()
	require.NoError(t, p.Do(context.Background(), "op", fn))
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
	assert.Equal(t, 2, *calls)
}

func TestDeadlineBoundsRetries(t *testing.T) {
	p := &kuberetry.Policy{Attempts: 1000, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	fn, _ := failing(1_000_000, apierrors.NewServiceUnavailable("down"))
	start := time.Now()
	err := p.Do(ctx, "op", fn)
	var u *kuberetry.UnavailableError
	require.ErrorAs(t, err, &u)
	assert.Equal(t, kuberetry.ReasonDeadline, u.Reason)
	assert.Less(t, time.Since(start), time.Second)
}

func TestRetryAfterBeyondDeadlineGivesUpAtOnce(t *testing.T) {
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	fn, calls := failing(1, kubetest.TooManyRequests(5))
	err := rec.policy(5).Do(ctx, "op", fn)
	assert.True(t, kuberetry.IsUnavailable(err))
	assert.Equal(t, 1, *calls)
	assert.Empty(t, rec.sleeps)
}

func TestCallTimeoutAbandonsABlackHoledCall(t *testing.T) {
	var rec recorder
	p := rec.policy(3)
	p.CallTimeout = 20 * time.Millisecond
	calls := 0
	err := p.Do(context.Background(), "op", func(ctx context.Context) error {
		calls++
		if calls == 1 {
			<-ctx.Done()
			return fmt.Errorf("client rate limiter Wait returned an error: %s", ctx.Err()) // not wrapped
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	require.Len(t, rec.retries, 1)
	assert.Equal(t, kuberetry.ReasonTimeout, rec.retries[0].Reason)
}

func TestAmbiguous(t *testing.T) {
	errs := kubetest.TransientErrors()
	for _, r := range []string{"timeout", "connection-reset", "eof", "504"} {
		assert.True(t, kuberetry.Ambiguous(errs[r]), r)
	}
	for _, r := range []string{"429", "500", "502", "503", "connection-refused"} {
		assert.False(t, kuberetry.Ambiguous(errs[r]), r)
	}
	assert.False(t, kuberetry.Ambiguous(apierrors.NewBadRequest("x")))
	assert.False(t, kuberetry.Ambiguous(nil))
}

func millis(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d / time.Millisecond
	}
	return out
}
