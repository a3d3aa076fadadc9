package faultproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
)

func TestForwardKeepsTheClientsCredentials(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	c := client(t, p, bound)

	resp, body, err := do(t, c, p, http.MethodPost, fmt.Sprintf(rrPath, "ns1"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.JSONEq(t, `{"kind":"RemediationRequest"}`, body)

	got := api.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "Bearer gateway-token", got[0].Authorization, "forwarded unchanged")
	assert.Equal(t, fmt.Sprintf(rrPath, "ns1"), got[0].Path)

	// The client can read the answer a moment before the proxy's handler returns and closes the
	// record: wait (bounded) for it to close.
	var recs []Record
	require.Eventually(t, func() bool {
		recs = p.Requests("ns1")
		return len(recs) == 1 && !recs[0].InFlight
	}, bound, 5*time.Millisecond, "the record of the forwarded request never closed: %v", recs)
	assert.Equal(t, "forward", recs[0].Action)
	assert.Equal(t, VerbCreate, recs[0].Verb)
	assert.Equal(t, "remediationrequests", recs[0].Resource)
	assert.Equal(t, http.StatusCreated, recs[0].Code)
	assert.False(t, recs[0].InFlight)
	assert.Contains(t, FormatRecords(recs), "-> 201")
}

func TestWatchStreamsThroughTheProxy(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	c := client(t, p, 0)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/api/v1/namespaces?watch=true", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	// The upstream holds the stream open after the first event: reading it proves events are
	// flushed as they come, not when the watch ends.
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, line, `"ADDED"`)
	recs := p.Requests("")
	require.Len(t, recs, 1)
	assert.True(t, recs[0].InFlight, "an open watch shows in the log")
	assert.Equal(t, VerbWatch, recs[0].Verb)
	api.releaseWatches()
}

func TestUpstreamUnreachableIsReportedAs502(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	api.Close()
	resp, body, err := do(t, client(t, p, bound), p, http.MethodGet, "/api/v1/namespaces/ns1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, body, "could not be reached")
	recs := p.Requests("ns1")
	require.Len(t, recs, 1)
	assert.Contains(t, recs[0].Err, "upstream:")
}

func TestOptionsFromRESTTrustsTheServerButSendsNoAdminCredentials(t *testing.T) {
	api := newFakeAPI(t)
	caPEM := pemOf(api.Certificate().Raw)
	cfg := &rest.Config{
		Host:        api.URL,
		BearerToken: "admin-token",
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   caPEM,
			CertData: []byte("admin client certificate"),
			KeyData:  []byte("admin client key"),
		},
	}
	opts, err := OptionsFromREST(cfg)
	require.NoError(t, err)
	assert.Equal(t, api.URL, opts.Upstream.String())
	require.NotNil(t, opts.UpstreamTLS)
	assert.NotNil(t, opts.UpstreamTLS.RootCAs)
	assert.Empty(t, opts.UpstreamTLS.Certificates)
	assert.Nil(t, opts.UpstreamTLS.GetClientCertificate)

	p, err := New(opts)
	require.NoError(t, err)
	require.NoError(t, p.Start())
	t.Cleanup(func() { _ = p.Close() })
	resp, _, err := do(t, client(t, p, bound), p, http.MethodGet, "/api/v1/namespaces/ns1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "upstream TLS verified with the CA")
	assert.Equal(t, "Bearer gateway-token", api.requests()[0].Authorization, "not the admin token")
}

func TestProxyServesOnlyHTTP11WithItsOwnCA(t *testing.T) {
	p := startProxy(t, newFakeAPI(t))
	pool := client(t, p, time.Second).Transport.(*http.Transport).TLSClientConfig.RootCAs
	conn, err := tls.Dial("tcp", p.URL()[len("https://"):], &tls.Config{
		RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12,
	})
	require.NoError(t, err, "the certificate verifies against CAData")
	defer conn.Close()
	assert.Equal(t, "http/1.1", conn.ConnectionState().NegotiatedProtocol)
}

func TestNewRejectsABadUpstream(t *testing.T) {
	for _, opts := range []Options{{}, {Upstream: mustURL(t, "ftp://x")}, {Upstream: mustURL(t, "https://")}} {
		_, err := New(opts)
		assert.ErrorContains(t, err, "upstream must be")
	}
}
