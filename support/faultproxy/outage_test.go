package faultproxy

import (
	"bufio"
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOutageRefusesConnectionsAndRecovers(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	url := p.URL()
	c := client(t, p, bound)

	resp, _, err := do(t, c, p, http.MethodGet, "/api/v1/namespaces/ns1")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// An open watch is cut by the outage, as when the API server goes down.
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/namespaces?watch=1", nil)
	require.NoError(t, err)
	watch, err := client(t, p, 0).Do(req)
	require.NoError(t, err)
	defer watch.Body.Close()
	stream := bufio.NewReader(watch.Body)
	_, err = stream.ReadString('\n')
	require.NoError(t, err)

	require.NoError(t, p.SetOutage(true))
	require.NoError(t, p.SetOutage(true), "idempotent")
	_, err = stream.ReadString('\n')
	assert.Error(t, err, "the open stream ends")

	_, _, err = do(t, c, p, http.MethodGet, "/api/v1/namespaces/ns1")
	require.Error(t, err)
	assert.ErrorContains(t, err, "connection refused")

	require.NoError(t, p.SetOutage(false))
	assert.Equal(t, url, p.URL(), "same address")
	resp, _, err = do(t, c, p, http.MethodGet, "/api/v1/namespaces/ns1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	outages := p.Outages()
	require.Len(t, outages, 1)
	assert.False(t, outages[0].Start.IsZero())
	assert.True(t, outages[0].End.After(outages[0].Start))
}

func TestOutageNeedsARunningProxy(t *testing.T) {
	p, err := New(Options{Upstream: mustURL(t, "https://127.0.0.1:1")})
	require.NoError(t, err)
	assert.Error(t, p.SetOutage(true), "not started")
	require.NoError(t, p.Start())
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "Close twice")
	assert.Error(t, p.SetOutage(true), "closed")
}
