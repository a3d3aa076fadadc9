package soak

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/poll"
)

// A kill lets a rule fault that is in force but has not fired yet fire and close its window
// before the freeze; one that gets no request within the bound is ended and says why.
func TestKillWaitsForOpenRulesToFireAndClose(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) }))
	defer api.Close()
	upstream, err := url.Parse(api.URL)
	require.NoError(t, err)
	proxy, err := faultproxy.New(faultproxy.Options{Upstream: upstream})
	require.NoError(t, err)
	require.NoError(t, proxy.Start())
	defer proxy.Close()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(proxy.CAData()))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	const window = 200 * time.Millisecond

	for _, tc := range []struct {
		name      string
		traffic   bool
		wantFired bool
	}{
		{"traffic comes", true, true},
		{"no traffic within the bound", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bounds := poll.Defaults()
			bounds.Eventually = 2 * time.Second
			r := &run{bounds: bounds, out: io.Discard, t0: time.Now()}
			rec := &FaultRecord{Index: 1, Kind: Kind5xx, For: Duration(window), Namespace: "soak-a"}
			handle, err := proxy.AddRule(faultproxy.Rule{Name: tc.name, Match: faultproxy.Match{Resource: "remediationrequests", Namespace: "soak-a"},
				Action: faultproxy.Status{Code: 502}, For: window})
			if err != nil {
				t.Fatal(err)
			}
			defer handle.Remove()
			r.rules = []*ruleFault{{handle: handle, record: rec}}

			locked := make(chan error, 1)
			go func() { locked <- r.lockWhenRulesClosed(context.Background(), Fault{Index: 2, Kind: KindKill}) }()
			if tc.traffic {
				resp, err := client.Get(proxy.URL() + "/apis/kubernaut.ai/v1alpha1/namespaces/soak-a/remediationrequests")
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "the rule answered")
			}
			select {
			case err := <-locked:
				require.NoError(t, err)
			case <-time.After(2 * bounds.Eventually):
				t.Fatal("the kill never got its turn")
			}
			defer r.mu.Unlock()
			hits := handle.Hits()
			if tc.wantFired {
				require.Len(t, hits, 1)
				assert.False(t, time.Now().Before(hits[0].Time.Add(window)), "the kill came after the window closed")
				assert.False(t, r.rules[0].ended)
				assert.Empty(t, rec.Error)
			} else {
				assert.Empty(t, hits)
				assert.True(t, r.rules[0].ended)
				assert.Contains(t, rec.Error, "ended to make room for fault #2")
			}
		})
	}
}

// The counts read before a SIGKILL are those that held still for the whole window; a late change
// (the gateway's bookkeeping of a call the proxy just ended) restarts it, and a field outside the
// three counts does not.
func TestStillnessWaitsForAWindowWithoutChange(t *testing.T) {
	t0 := time.Unix(0, 0)
	c := func(created, dedup, unconfirmed int) Counters {
		return Counters{Created: created, Deduplicated: dedup, Unconfirmed: unconfirmed}
	}
	type reading struct {
		at   time.Duration
		c    Counters
		want bool
	}
	tests := []struct {
		name     string
		readings []reading
		wantSeen string
	}{
		{"still from the first reading", []reading{{0, c(36, 115, 0), false}, {250 * time.Millisecond, c(36, 115, 0), false}, {500 * time.Millisecond, c(36, 115, 0), true}},
			"unchanged for 500ms after 0 changes"},
		{"a late unconfirmed write restarts the window", []reading{{0, c(36, 115, 0), false}, {100 * time.Millisecond, c(36, 115, 1), false}, {500 * time.Millisecond, c(36, 115, 1), false}, {600 * time.Millisecond, c(36, 115, 1), true}},
			"unconfirmed 1, unchanged for 500ms after 1 changes"},
		{"a created change restarts it", []reading{{0, c(36, 115, 0), false}, {500 * time.Millisecond, c(37, 115, 0), false}}, "created 37"},
		{"a deduplicated change restarts it", []reading{{0, c(36, 115, 0), false}, {500 * time.Millisecond, c(36, 116, 0), false}}, "deduplicated 116"},
		{"received may move", []reading{{0, c(36, 115, 0), false}, {500 * time.Millisecond, Counters{Received: 9, Created: 36, Deduplicated: 115}, true}}, "after 0 changes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stillness{window: 500 * time.Millisecond}
			var seen string
			for i, r := range tt.readings {
				var ok bool
				ok, seen = s.observe(r.c, t0.Add(r.at))
				assert.Equal(t, r.want, ok, "reading %d", i)
			}
			assert.Contains(t, seen, tt.wantSeen)
			assert.Equal(t, tt.readings[len(tt.readings)-1].c, s.last)
		})
	}
}
