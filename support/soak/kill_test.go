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
			handle := proxy.AddRule(faultproxy.Rule{Name: tc.name, Match: faultproxy.Match{Resource: "remediationrequests", Namespace: "soak-a"},
				Action: faultproxy.Status{Code: 502}, For: window})
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
