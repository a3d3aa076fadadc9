package kubeclient

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The defaults (0, 0) switch client-go's limiter off; a set qps gets twice its burst unless told.
func TestRateLimits(t *testing.T) {
	for _, tt := range []struct {
		qps, wantQPS     float32
		burst, wantBurst int
	}{
		{0, -1, 0, 0},
		{0, -1, 400, 0},
		{200, 200, 0, 400},
		{200, 200, 50, 50},
		{0.2, 0.2, 0, 1},
	} {
		qps, burst := RateLimits(tt.qps, tt.burst)
		assert.Equal(t, tt.wantQPS, qps, "qps %v burst %d", tt.qps, tt.burst)
		assert.Equal(t, tt.wantBurst, burst, "qps %v burst %d", tt.qps, tt.burst)
	}
}
