package gatewayconf

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildOrder(t *testing.T) {
	patient := func(c *Config) { c.RequestDeadline = 20 * time.Second }
	tests := []struct {
		name         string
		user         []string
		premises     []Premise
		wantDeadline time.Duration
		wantExtra    []string
	}{
		{name: "suite", wantDeadline: 5 * time.Second},
		{name: "user overrides the suite", user: []string{"--request-deadline=15s"}, wantDeadline: 15 * time.Second},
		{name: "premise overrides the user", user: []string{"--request-deadline=15s"}, premises: []Premise{patient}, wantDeadline: 20 * time.Second},
		{name: "unknown flags pass through", user: []string{"--kube-qps=50"}, wantDeadline: 5 * time.Second, wantExtra: []string{"--kube-qps=50"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Build(Suite("kubernaut-system", 2*time.Second), tc.user, tc.premises...)
			require.NoError(t, err)
			assert.Equal(t, tc.wantDeadline, c.RequestDeadline)
			assert.Equal(t, tc.wantExtra, c.Extra)
		})
	}
}

func TestOverrideRejects(t *testing.T) {
	for _, args := range [][]string{{"request-deadline=5s"}, {"--request-deadline=soon"}, {"--retry-attempts=x"}, {"--listen"}} {
		_, err := Suite("ns", time.Second).Override(args)
		assert.Error(t, err, "%v", args)
	}
}

func TestArgsRoundTrip(t *testing.T) {
	c := Suite("kubernaut-system", 2*time.Second)
	c.ShutdownDelay = 2 * time.Second
	c.Extra = []string{"--kube-qps=50"}
	args := c.Args()
	assert.Contains(t, args, "--request-deadline=5s")
	assert.Contains(t, args, "--shutdown-delay=2s")
	assert.Equal(t, "--kube-qps=50", args[len(args)-1])
	back, err := Config{}.Override(args)
	require.NoError(t, err)
	assert.Equal(t, c, back)
}

func TestRetryAfterAndBackoff(t *testing.T) {
	tests := []struct {
		retryAfter time.Duration
		want       int
	}{{time.Second, 1}, {1500 * time.Millisecond, 2}, {0, 1}, {5 * time.Second, 5}}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Config{UnavailableRetryAfter: tc.retryAfter}.RetryAfterSeconds(), "%s", tc.retryAfter)
	}
	c := Suite("ns", time.Second)
	assert.Equal(t, 50*time.Millisecond, c.BackoffCeiling(1))
	assert.Equal(t, 400*time.Millisecond, c.BackoffCeiling(4))
	assert.Equal(t, 800*time.Millisecond, c.BackoffCeiling(9))
}
