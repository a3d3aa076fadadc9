package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a settable time source for rule windows.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSet() (*ruleSet, *clock) {
	c := &clock{t: time.Unix(1700000000, 0)}
	return &ruleSet{now: c.now}, c
}

var createRR = RequestInfo{IsResourceRequest: true, Verb: VerbCreate, Resource: "remediationrequests", Namespace: "a"}

func TestMatch(t *testing.T) {
	status := RequestInfo{IsResourceRequest: true, Verb: VerbUpdate, Resource: "remediationrequests", Subresource: "status", Namespace: "a", Name: "rr-1"}
	tests := []struct {
		m    Match
		info RequestInfo
		want bool
	}{
		{Match{}, createRR, true},
		{Match{}, RequestInfo{Verb: "get", Path: "/healthz"}, true},
		{Match{Verb: VerbCreate}, createRR, true},
		{Match{Verb: VerbUpdate}, createRR, false},
		{Match{Resource: "remediationrequests", Namespace: "a"}, createRR, true},
		{Match{Namespace: "b"}, createRR, false},
		{Match{Verb: VerbUpdate, Resource: "remediationrequests"}, status, true},
		{Match{Verb: VerbUpdate, Subresource: "status"}, status, true},
		{Match{Subresource: "status"}, createRR, false},
		{Match{Name: "rr-1"}, status, true},
		{Match{Name: "rr-2"}, status, false},
	}
	for _, tt := range tests {
		t.Run(tt.m.String(), func(t *testing.T) {
			assert.Equal(t, tt.want, tt.m.matches(tt.info))
		})
	}
}

func TestRuleValidate(t *testing.T) {
	tests := []struct {
		rule    Rule
		wantErr string
	}{
		{Rule{Action: Status{Code: 503}}, ""},
		{Rule{Action: Reset{}, Times: 3, For: time.Second}, ""},
		{Rule{}, "no action"},
		{Rule{Action: Drop{}, Times: -1}, "negative"},
		{Rule{Action: Drop{}, For: -time.Second}, "negative"},
		{Rule{Action: Status{Code: 200}}, "not an error"},
		{Rule{Action: Status{Code: 600}}, "not an error"},
		{Rule{Action: Status{Code: 429, RetryAfter: -1}}, "negative"},
		{Rule{Action: Latency{}}, "positive Delay"},
	}
	for _, tt := range tests {
		err := tt.rule.Validate()
		if tt.wantErr == "" {
			assert.NoError(t, err)
			continue
		}
		assert.ErrorContains(t, err, tt.wantErr)
		s, _ := newSet()
		h, err := s.add(tt.rule)
		assert.Nil(t, h, "nothing put in force")
		assert.ErrorContains(t, err, tt.wantErr, "AddRule refuses it with Validate's error")
	}
}

func TestRuleNames(t *testing.T) {
	s, _ := newSet()
	h := mustAdd(t, s, Rule{Match: Match{Verb: VerbCreate, Resource: "remediationrequests", Namespace: "a"}, Action: Status{Code: 429, RetryAfter: time.Second}})
	assert.Equal(t, "status 429 retry-after 1s on create remediationrequests in a", h.Name())
	h = mustAdd(t, s, Rule{Match: Match{Subresource: "status", Name: "rr"}, Action: BlackHole{}})
	assert.Equal(t, "black hole on any verb any resource/status rr in any namespace", h.Name())
	assert.Equal(t, "mine", mustAdd(t, s, Rule{Name: "mine", Action: Drop{}}).Name())
}

func TestTimesAndFor(t *testing.T) {
	tests := []struct {
		name    string
		rule    Rule
		step    time.Duration // clock advance before each request
		want    []bool        // whether each request is hit
		wantWhy string        // WaitFired(n=len+1) reason once inactive
	}{
		{"times", Rule{Action: Drop{}, Times: 2}, 0, []bool{true, true, false, false}, "2 times are used up"},
		{"unlimited", Rule{Action: Drop{}}, time.Hour, []bool{true, true, true, true}, ""},
		{"window", Rule{Action: Drop{}, For: 250 * time.Millisecond}, 100 * time.Millisecond, []bool{true, true, true, false}, "window is over"},
		{"window opens at the first request, not at AddRule", Rule{Action: Drop{}, For: 250 * time.Millisecond}, time.Hour, []bool{true, false, false, false}, "window is over"},
		{"times within window", Rule{Action: Drop{}, Times: 1, For: time.Hour}, time.Minute, []bool{true, false, false, false}, "1 times are used up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newSet()
			h := mustAdd(t, s, tt.rule)
			var got []bool
			for range tt.want {
				c.advance(tt.step)
				m, _ := s.match(http.MethodPost, createRR)
				got = append(got, m == h)
			}
			assert.Equal(t, tt.want, got)
			if tt.wantWhy == "" {
				return
			}
			assert.Empty(t, s.rules, "spent rules are pruned")
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			err := h.WaitFired(ctx, len(tt.want)+1)
			require.ErrorContains(t, err, tt.wantWhy, "fails at once, not at the deadline")
			assert.NoError(t, ctx.Err())
		})
	}
}

func TestFirstActiveMatchingRuleWins(t *testing.T) {
	s, _ := newSet()
	narrow := mustAdd(t, s, Rule{Match: Match{Verb: VerbCreate, Namespace: "a"}, Action: Status{Code: 500}, Times: 1})
	broad := mustAdd(t, s, Rule{Match: Match{Namespace: "a"}, Action: Status{Code: 503}})
	other := mustAdd(t, s, Rule{Match: Match{Namespace: "b"}, Action: Reset{}})
	for _, want := range []*RuleHandle{narrow, broad, broad} {
		got, _ := s.match(http.MethodPost, createRR)
		assert.Same(t, want, got)
	}
	assert.Zero(t, other.Count(), "a rule for namespace b never touches namespace a")
	assert.Equal(t, 2, broad.Count(), "hits survive removal")
}

func TestTimesHoldUnderConcurrency(t *testing.T) {
	s, _ := newSet()
	h := mustAdd(t, s, Rule{Action: Status{Code: 503}, Times: 10})
	var hits atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if m, _ := s.match(http.MethodPost, createRR); m != nil {
				hits.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(10), hits.Load())
	assert.Equal(t, 10, h.Count())
}

func TestTimesHoldThroughTheProxy(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	h := mustAddRule(t, p, Rule{Match: Match{Namespace: "ns1"}, Action: Status{Code: 503}, Times: 4})
	// A generous timeout: this test is about counts, and TLS handshakes are slow under -race on
	// a loaded machine.
	c := client(t, p, time.Minute)
	codes := make(chan int, 12)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			resp, _, err := do(t, c, p, http.MethodPost, fmt.Sprintf(rrPath, "ns1"))
			if assert.NoError(t, err, "request %d", i) {
				codes <- resp.StatusCode
			}
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	assert.Equal(t, map[int]int{503: 4, 201: 8}, count)
	assert.Equal(t, 4, h.Count())
	assert.Len(t, p.Requests("ns1"), 12)
	assert.Equal(t, 8, api.count())
}

func TestWaitFired(t *testing.T) {
	t.Run("never fired", func(t *testing.T) {
		s, _ := newSet()
		h := mustAdd(t, s, Rule{Name: "creates fail", Action: Status{Code: 503}})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := h.WaitFired(ctx, 2)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `rule "creates fail" fired 0 of the 2 times expected`)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("fires later", func(t *testing.T) {
		s, _ := newSet()
		h := mustAdd(t, s, Rule{Action: Status{Code: 503}})
		go func() {
			for range 3 {
				s.match(http.MethodPost, createRR)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		require.NoError(t, h.WaitFired(ctx, 3))
	})
	t.Run("removed while waiting", func(t *testing.T) {
		s, _ := newSet()
		h := mustAdd(t, s, Rule{Action: Status{Code: 503}})
		errc := make(chan error, 1)
		go func() { errc <- h.WaitFired(context.Background(), 1) }()
		h.Remove()
		select {
		case err := <-errc:
			assert.ErrorContains(t, err, "it was removed")
		case <-time.After(bound):
			t.Fatal("WaitFired did not notice Remove")
		}
	})
	t.Run("window closes while waiting", func(t *testing.T) {
		s := &ruleSet{now: time.Now}
		h := mustAdd(t, s, Rule{Action: Status{Code: 503}, For: 30 * time.Millisecond})
		m, idx := s.match(http.MethodPost, createRR) // opens the window
		s.settle(m, idx, 503, nil)
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		assert.ErrorContains(t, h.WaitFired(ctx, 2), "window is over")
		assert.NoError(t, ctx.Err())
	})
	t.Run("injection failed", func(t *testing.T) {
		s, _ := newSet()
		h := mustAdd(t, s, Rule{Action: Reset{}})
		m, idx := s.match(http.MethodGet, createRR)
		s.settle(m, idx, 0, errors.New("hijack not supported"))
		assert.Zero(t, h.Count(), "a failed injection does not count")
		assert.ErrorContains(t, h.WaitFired(context.Background(), 1), "failed to inject its fault")
	})
}

func TestRequestLogIsBounded(t *testing.T) {
	l := requestLog{max: 100}
	for i := range 1000 {
		rec := l.begin(Record{Namespace: fmt.Sprint(i % 2), Path: fmt.Sprint(i)})
		l.finish(rec, 200, time.Millisecond, "")
	}
	all := l.list("")
	assert.LessOrEqual(t, len(all), 100)
	assert.Equal(t, "999", all[len(all)-1].Path, "the newest are kept")
	for _, r := range l.list("1") {
		assert.Equal(t, "1", r.Namespace)
	}
}
