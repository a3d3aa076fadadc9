package faultproxy

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// bound caps every wait in these tests. It is an upper limit, never a sleep: generous so a loaded
// machine or -race does not turn slowness into failures.
const bound = 30 * time.Second

// seen is one request that reached the fake API server.
type seen struct {
	Method, Path, Authorization, Body string
}

// fakeAPI is an httptest TLS server that answers like an API server: JSON objects and lists, and
// watches that stream one event and then hold the stream until release is closed.
type fakeAPI struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []seen
	release chan struct{}
}

func newFakeAPI(t testing.TB) *fakeAPI {
	t.Helper()
	f := &fakeAPI{release: make(chan struct{})}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.releaseWatches()
		f.Close()
	})
	return f
}

func (f *fakeAPI) releaseWatches() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.release:
	default:
		close(f.release)
	}
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), string(body)})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	info := ParseRequestInfo(r.Method, r.URL)
	switch info.Verb {
	case VerbWatch:
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, `{"type":"ADDED","object":{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"first"}}}`)
		http.NewResponseController(w).Flush()
		select {
		case <-f.release:
		case <-r.Context().Done():
		}
	case VerbCreate:
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	case VerbList:
		fmt.Fprintf(w, `{"kind":"List","apiVersion":"v1","metadata":{},"items":[]}`)
	default:
		name := info.Name
		if name == "" {
			name = "x"
		}
		fmt.Fprintf(w, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":%q}}`, name)
	}
}

func (f *fakeAPI) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeAPI) count() int { return len(f.requests()) }

// startProxy runs a proxy in front of the fake API server, trusting its test certificate.
func startProxy(t testing.TB, f *fakeAPI) *Proxy {
	t.Helper()
	u, err := url.Parse(f.URL)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(f.Certificate())
	p, err := New(Options{Upstream: u, UpstreamTLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	require.NoError(t, err)
	require.NoError(t, p.Start())
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

// client returns an HTTP client that trusts the proxy's CA, on fresh connections so Go's replay
// of idempotent requests on reused connections does not hide connection faults.
func client(t *testing.T, p *Proxy, timeout time.Duration) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(p.CAData()))
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

const rrPath = "/apis/kubernaut.ai/v1alpha1/namespaces/%s/remediationrequests"

func do(t *testing.T, c *http.Client, p *Proxy, method, path string) (*http.Response, string, error) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost || method == http.MethodPut {
		body = strings.NewReader(`{"kind":"RemediationRequest"}`)
	}
	req, err := http.NewRequest(method, p.URL()+path, body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer gateway-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// mustAddRule puts a rule in force or fails the test.
func mustAddRule(tb testing.TB, p *Proxy, r Rule) *RuleHandle {
	tb.Helper()
	h, err := p.AddRule(r)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// mustAdd puts a rule in force in a rule set or fails the test.
func mustAdd(tb testing.TB, s *ruleSet, r Rule) *RuleHandle {
	tb.Helper()
	h, err := s.add(r)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}
