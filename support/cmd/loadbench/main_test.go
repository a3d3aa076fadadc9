package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
)

func TestParseLevels(t *testing.T) {
	lv, err := parseLevels("1, 4,16")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 4, 16}, lv)
	_, err = parseLevels("1,0")
	assert.Error(t, err)
	_, err = parseLevels("x")
	assert.Error(t, err)
}

func TestWindowCountsOnlyTheMeasuredPart(t *testing.T) {
	win := window{warmup: 50 * time.Millisecond, duration: 100 * time.Millisecond}
	p := win.run(context.Background(), 2, func(_ context.Context, w, i int) error {
		time.Sleep(5 * time.Millisecond)
		if w == 1 && i == 0 {
			return errors.New("boom")
		}
		return nil
	})
	assert.Equal(t, 2, p.Concurrency)
	assert.Equal(t, 1, p.Errors)
	assert.Equal(t, "boom", p.Error)
	// about 2 senders × 20 operations in 100 ms, whatever the warm-up did
	assert.InDelta(t, 400, p.PerSecond, 200)
	assert.Greater(t, p.Ops, int(p.PerSecond*win.duration.Seconds()))
}

func TestLatencyPercentiles(t *testing.T) {
	l := latency(context.Background(), 100, 3, func(_ context.Context, _, i int) error {
		if i < 3 {
			time.Sleep(20 * time.Millisecond) // warm-up, not counted
		}
		return nil
	})
	assert.Equal(t, 100, l.Requests)
	assert.Less(t, l.P99, 20.0)
	assert.LessOrEqual(t, l.P50, l.P95)
	assert.LessOrEqual(t, l.P95, l.P99)
}

func TestCountCallsSinceTheMarker(t *testing.T) {
	marker := time.Now()
	before, after := marker.Add(-time.Second), marker.Add(time.Second)
	recs := []faultproxy.Record{
		{Time: before, Verb: "create"},
		{Time: after, Verb: "update", Subresource: "status"},
		{Time: after, Verb: "update", Subresource: "status"},
		{Time: after, Verb: "get"},
	}
	p := Point{Ops: 3, Errors: 1}
	countCalls(&p, recs, marker)
	require.NotNil(t, p.APICallsPerSignal)
	assert.InDelta(t, 1.5, *p.APICallsPerSignal, 1e-9)
	assert.Equal(t, map[string]int{"update status": 2, "get": 1}, p.APICalls)
}

func TestReportRatiosAndTables(t *testing.T) {
	r := newReport(config{levels: []int{1, 16}, win: window{duration: time.Second}, latencyN: 10})
	r.Raw.Create = []Point{{Concurrency: 1, PerSecond: 300}, {Concurrency: 16, PerSecond: 600}}
	r.Raw.StatusUpdate = []Point{{Concurrency: 1, PerSecond: 200}, {Concurrency: 16, PerSecond: 400, CPUMillisPerOp: map[string]float64{"kube-apiserver": 3, "total": 4}}}
	r.Direct.New = []Point{{Concurrency: 1, PerSecond: 120}, {Concurrency: 16, PerSecond: 240}}
	r.Direct.Repeat = []Point{{Concurrency: 1, PerSecond: 160}, {Concurrency: 16, PerSecond: 360}}
	r.finish(time.Minute)
	require.Len(t, r.Ratios, 2)
	assert.InDelta(t, 0.8, r.Ratios[0].New, 1e-9)
	assert.InDelta(t, 0.8, r.Ratios[0].Repeat, 1e-9)
	assert.InDelta(t, 0.8, r.Ratios[1].New, 1e-9)
	assert.InDelta(t, 0.9, r.Ratios[1].Repeat, 1e-9)
	md := r.markdown()
	assert.Contains(t, md, "| new ratio: gateway ÷ (raw creates ÷ 2) | 0.80 | 0.80 |")
	assert.Contains(t, md, "| raw status update | 3.00 |")
	var out strings.Builder
	r.print(&out)
	assert.Contains(t, out.String(), "repeat ratio: gateway ÷ raw updates")
}
