// Package faultproxy is an HTTPS reverse proxy that sits between the gateway and the Kubernetes
// API server and injects real faults into chosen requests: error statuses with proper
// metav1.Status bodies, latency, TCP resets, dropped connections, black holes and whole-API
// outages.
//
// The contract suite never fakes a failure: a fault step adds a rule, the gateway's own client
// meets the fault on the wire, and the step then checks with RuleHandle.WaitFired that the fault
// really fired, failing the scenario if it did not. Rules are scoped by namespace, so fault
// scenarios run in parallel with the rest of the suite.
//
// The proxy terminates TLS, so the gateway must authenticate with a bearer token (its
// Authorization header is forwarded unchanged); client certificates cannot pass through it.
package faultproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Options configure a proxy.
type Options struct {
	// Upstream is the API server's base URL (scheme and host, and a path prefix if any).
	Upstream *url.URL
	// UpstreamTLS verifies the API server. It must carry no client credentials: the proxy
	// forwards each client's own Authorization header, so the gateway is authorised as itself
	// and RBAC scenarios stay real.
	UpstreamTLS *tls.Config
	// ListenAddr defaults to 127.0.0.1:0.
	ListenAddr string
	// CertHosts are the names and addresses the serving certificate is valid for; the default is
	// 127.0.0.1, ::1 and localhost, plus the host of ListenAddr.
	CertHosts []string
	// MaxRecords bounds the request log; the default is 100000.
	MaxRecords int
}

// OptionsFromREST derives Options from an administrator's rest.Config. It keeps only what
// verifies the server (CA, server name, insecure flag) and drops the client certificate and
// token, so requests reach the API server with the gateway's credentials, not the admin's.
func OptionsFromREST(cfg *rest.Config) (Options, error) {
	u, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return Options{}, fmt.Errorf("faultproxy: upstream URL from rest config: %w", err)
	}
	trustOnly := &rest.Config{TLSClientConfig: rest.TLSClientConfig{
		Insecure:   cfg.Insecure,
		ServerName: cfg.ServerName,
		CAFile:     cfg.CAFile,
		CAData:     cfg.CAData,
	}}
	tlsCfg, err := rest.TLSConfigFor(trustOnly)
	if err != nil {
		return Options{}, fmt.Errorf("faultproxy: upstream TLS from rest config: %w", err)
	}
	return Options{Upstream: u, UpstreamTLS: tlsCfg}, nil
}

// Proxy is the fault-injection proxy. Its methods are safe for concurrent use.
type Proxy struct {
	opts      Options
	caPEM     []byte
	tlsConfig *tls.Config
	transport *http.Transport
	rp        *httputil.ReverseProxy
	server    *http.Server
	rules     ruleSet
	log       requestLog
	closing   chan struct{}
	serving   sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	addr    string
	ln      net.Listener
	conns   map[net.Conn]struct{}
	started bool
	closed  bool
	outage  bool
	outages []Outage
}

// New prepares a proxy to the upstream and generates its serving certificate; Start serves it.
func New(opts Options) (*Proxy, error) {
	if opts.Upstream == nil || (opts.Upstream.Scheme != "https" && opts.Upstream.Scheme != "http") || opts.Upstream.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream must be an http(s) URL with a host, got %v", opts.Upstream)
	}
	if opts.ListenAddr == "" {
		opts.ListenAddr = "127.0.0.1:0"
	}
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = 100000
	}
	hosts := opts.CertHosts
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
		if h, _, err := net.SplitHostPort(opts.ListenAddr); err == nil && h != "" {
			hosts = append(hosts, h)
		}
	}
	cert, caPEM, err := servingCert(hosts)
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		opts:  opts,
		caPEM: caPEM,
		tlsConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"}, // no h2: faults hijack HTTP/1.1 connections
			MinVersion:   tls.VersionTLS12,
		},
		transport: &http.Transport{
			Proxy:               nil, // never route the API server through HTTP_PROXY
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     opts.UpstreamTLS,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		},
		closing: make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
	}
	p.rules.now = time.Now
	p.log.max = opts.MaxRecords
	p.rp = &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(opts.Upstream) },
		Transport:     p.transport,
		FlushInterval: -1, // watches stream event by event
		ErrorHandler:  p.upstreamError,
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	p.server = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 30 * time.Second,
		ConnState:         p.connState,
		ErrorLog:          log.New(io.Discard, "", 0), // TLS noise from clients that hang up
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	return p, nil
}

// Start listens and serves HTTPS in the background.
func (p *Proxy) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("faultproxy: already started")
	}
	ln, err := net.Listen("tcp", p.opts.ListenAddr)
	if err != nil {
		return fmt.Errorf("faultproxy: listen on %s: %w", p.opts.ListenAddr, err)
	}
	p.started, p.ln, p.addr = true, ln, ln.Addr().String()
	p.serveLocked(ln)
	return nil
}

func (p *Proxy) serveLocked(ln net.Listener) {
	p.serving.Add(1)
	go func() {
		defer p.serving.Done()
		_ = p.server.Serve(tls.NewListener(ln, p.tlsConfig)) // ends when ln closes
	}()
}

// URL is the proxy's base URL for the gateway's kubeconfig; empty before Start.
func (p *Proxy) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.addr == "" {
		return ""
	}
	return "https://" + p.addr
}

// CAData is the PEM certificate the gateway must trust to reach the proxy.
func (p *Proxy) CAData() []byte { return append([]byte(nil), p.caPEM...) }

// Close stops the proxy, ends every connection and releases requests held by BlackHole or
// Latency. It is safe to call twice.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.closing)
	p.mu.Unlock()
	// A listener an outage closed may still be tracked by the server until its Serve returns;
	// closing it again is not an error.
	err := p.server.Close()
	p.serving.Wait()
	p.transport.CloseIdleConnections()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("faultproxy: close: %w", err)
	}
	return nil
}

// AddRule puts a rule in force behind those added before it. A rule that fails Validate is
// refused with its error and nothing is put in force.
func (p *Proxy) AddRule(r Rule) (*RuleHandle, error) { return p.rules.add(r) }

// Requests returns the request log for a namespace, oldest first; an empty namespace returns all.
func (p *Proxy) Requests(namespace string) []Record { return p.log.list(namespace) }

type upstreamErrKey struct{}

// ServeHTTP classifies the request, applies the first matching rule or forwards it, and logs it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := ParseRequestInfo(r.Method, r.URL)
	rec := Record{
		Time: start, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Verb: info.Verb,
		Resource: info.Resource, Subresource: info.Subresource, Namespace: info.Namespace,
		Name: info.Name, Action: "forward", Credential: CredentialID(r.Header.Get("Authorization")),
	}
	h, idx := p.rules.match(r.Method, info)
	if h != nil {
		rec.Rule, rec.Action = h.name, h.rule.Action.String()
	}
	logged := p.log.begin(rec)
	// The code is recorded as the header goes out, before the client can read it, so a step that
	// has its answer also finds the code in the record and in the rule's hit.
	sw := &statusWriter{ResponseWriter: w, onCode: func(code int) {
		if h != nil {
			p.rules.settleCode(h, idx, code)
		}
		p.log.setCode(logged, code)
	}}
	x := &exchange{p: p, w: sw, r: r, info: info}
	// The record is finished whatever happens, a panic included (net/http recovers it and says so
	// only in the discarded error log): a record left in flight would have a caller that waits for
	// the proxy to be idle wait in vain.
	finished := false
	defer func() {
		if finished {
			return
		}
		v := recover()
		p.log.finish(logged, sw.code, time.Since(start), fmt.Sprintf("faultproxy: panic: %v", v))
		if v != nil {
			panic(v)
		}
	}()
	var injectErr error
	if h == nil {
		p.forward(x)
	} else if err := bufferBody(r); err != nil {
		injectErr = err
	} else {
		injectErr = h.rule.Action.serve(x)
		p.rules.settle(h, idx, sw.code, injectErr)
	}
	if injectErr != nil {
		x.note = injectErr.Error()
	}
	if sw.code == 0 && !x.hijacked {
		abort(x)
	}
	finished = true
	p.log.finish(logged, sw.code, time.Since(start), x.note)
}

// maxBody bounds what bufferBody holds: above the API server's own request limit (3 MiB).
const maxBody = 4 << 20

// bufferBody reads the request's body before a rule acts on it. Go's HTTP/1 server only notices
// that a client hung up once the body has been read; until then the request's context stays
// alive, so a delayed request whose client had long given up was still forwarded, and landed
// (seen under load: a create delayed 6 s by a latency rule reached the API server after the
// gateway had answered 503).
func bufferBody(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	if len(body) > maxBody {
		return fmt.Errorf("request body over %d bytes", maxBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}

// forward sends the request upstream unchanged, Authorization header included.
func (p *Proxy) forward(x *exchange) {
	var upErr error
	ctx := context.WithValue(x.r.Context(), upstreamErrKey{}, &upErr)
	p.rp.ServeHTTP(x.w, x.r.WithContext(ctx))
	if upErr != nil {
		x.note = "upstream: " + upErr.Error()
	}
}

// upstreamError answers 502 with a Status when the API server cannot be reached (a fault outside
// the suite's control, reported as such), and nothing when the client has already gone.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if slot, ok := r.Context().Value(upstreamErrKey{}).(*error); ok {
		*slot = err
	}
	if r.Context().Err() != nil {
		return
	}
	st := Status{Code: http.StatusBadGateway, Message: "faultproxy: the API server could not be reached: " + err.Error()}
	writeStatus(w, st.body(ParseRequestInfo(r.Method, r.URL)), 0)
}

// statusWriter remembers the final status code; Unwrap keeps Flush and Hijack reachable through
// http.ResponseController for streaming and for the connection faults.
type statusWriter struct {
	http.ResponseWriter
	code   int
	onCode func(int)
}

func (s *statusWriter) setCode(code int) {
	s.code = code
	if s.onCode != nil {
		s.onCode(code)
	}
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 && code >= 200 {
		s.setCode(code)
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.setCode(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
