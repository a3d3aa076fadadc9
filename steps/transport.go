package steps

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/support/pki"
)

// The transport steps prove that bearer tokens never cross the network in clear: the gateway
// speaks only TLS, with the certificate its files hold at the time of each handshake.

func registerTransportSteps(sc *godog.ScenarioContext) {
	target := targetPattern(false)
	sc.Step(`^a sender that does not trust the gateway's certificate authority$`, untrustingSender)
	sc.Step(`^that sender sends a firing alert "([^"]+)" with severity "([^"]*)" for `+target+`$`, sendUntrusting)
	sc.Step(`^the TLS handshake fails because the gateway's certificate is signed by an unknown authority$`, handshakeFailed)
	sc.Step(`^a sender sends a firing alert "([^"]+)" with severity "([^"]*)" for `+target+` in plain HTTP to the gateway's port$`, sendPlain)
	sc.Step(`^the plain HTTP request is refused$`, plainRefused)
	sc.Step(`^a sender that keeps sending new alerts, each on a new connection$`, startStream)
	sc.Step(`^the gateway's certificate files are replaced with a new certificate from the same authority$`, replaceCertificate)
	sc.Step(`^new connections present the new certificate$`, newCertificatePresented)
	sc.Step(`^every alert that sender sent was answered 201$`, streamAllCreated)
	sc.Step(`^the namespace holds exactly one remediation request per alert that sender sent$`, streamOnePerAlert)
}

// transport is the scenario's part of the transport steps. Only the steps use it; the sender that
// keeps sending (stream) has a lock of its own.
type transport struct {
	untrusting *http.Client // a client whose only root is a CA of its own
	answer     *plainAnswer // what the last sender of these steps got
	stream     *stream
	oldSerial  string // the serial of the certificate the gateway had before the replacement
	newSerial  string // and of the one that replaced it
}

// plainAnswer is the outcome of one request outside the suite's client: an answer, or an error.
type plainAnswer struct {
	url    string
	code   int
	body   string
	serial string // of the certificate the handshake presented; empty over plain HTTP
	err    error
}

func untrustingSender(ctx context.Context) error {
	st := state(ctx)
	ca, err := pki.NewCA("a CA the gateway's certificate is not from", time.Hour)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	st.transport.untrusting = &http.Client{Transport: t}
	return nil
}

func sendUntrusting(ctx context.Context, name, severity, kind, target string) error {
	st := state(ctx)
	tr := &st.transport
	if tr.untrusting == nil {
		return errors.New("the scenario has no sender that distrusts the gateway: add 'Given a sender that does not trust the gateway's certificate authority'")
	}
	a, err := st.newAlert(name, severity, kind, target)
	if err != nil {
		return err
	}
	tr.answer = st.postWith(ctx, tr.untrusting, st.gw.URL(), notification([]alert{a}, time.Now()))
	return nil
}

func handshakeFailed(ctx context.Context) error {
	st := state(ctx)
	ans := st.transport.answer
	if ans == nil {
		return errors.New("the distrusting sender has sent nothing yet")
	}
	if ans.err == nil {
		return fmt.Errorf("a sender that does not trust the gateway's CA got an answer from %s: HTTP %d %s; the gateway must serve TLS with a certificate its clients verify",
			ans.url, ans.code, ans.body)
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(ans.err, &unknown) {
		return fmt.Errorf("the request failed, but not on an unknown certificate authority: %w", ans.err)
	}
	return nil
}

func sendPlain(ctx context.Context, name, severity, kind, target string) error {
	st := state(ctx)
	a, err := st.newAlert(name, severity, kind, target)
	if err != nil {
		return err
	}
	u, err := url.Parse(st.gw.URL())
	if err != nil {
		return fmt.Errorf("the gateway's URL %q: %w", st.gw.URL(), err)
	}
	u.Scheme = "http"
	plain := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	st.transport.answer = st.postWith(ctx, plain, u.String(), notification([]alert{a}, time.Now()))
	return nil
}

// plainRefused accepts a refusal in any form (an error answer, a closed connection) but an
// acceptance: Go's TLS server answers a plain request 400 "Client sent an HTTP request to an
// HTTPS server".
func plainRefused(ctx context.Context) error {
	st := state(ctx)
	ans := st.transport.answer
	if ans == nil {
		return errors.New("no plain HTTP request was sent yet")
	}
	if ans.err == nil && ans.code >= 200 && ans.code < 300 {
		return fmt.Errorf("the gateway accepted a plain HTTP request at %s: HTTP %d %s; its bearer token crossed the network in clear",
			ans.url, ans.code, ans.body)
	}
	return nil
}

// postWith posts body to base's alert endpoint with client, as the scenario's sender, and returns
// what happened.
func (st *scenario) postWith(ctx context.Context, client *http.Client, base string, body []byte) *plainAnswer {
	ctx, cancel := context.WithTimeout(ctx, st.bounds().Request)
	defer cancel()
	ans := &plainAnswer{url: base + alertPath}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ans.url, bytes.NewReader(body))
	if err != nil {
		ans.err = err
		return ans
	}
	req.Header.Set("Content-Type", "application/json")
	if auth, none := st.authorization(sentRequest{}); !none {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("X-Request-ID", st.nextRequestID())
	resp, err := client.Do(req)
	if err != nil {
		ans.err = err
		return ans
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	ans.code, ans.body = resp.StatusCode, strings.TrimSpace(string(b))
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		ans.serial = resp.TLS.PeerCertificates[0].SerialNumber.String()
	}
	return ans
}

// streamPace spaces the stream's alerts: a steady flow across the replacement, not a flood.
const streamPace = 100 * time.Millisecond

// stream is a sender that sends one new alert after another, each on a new connection (no
// keep-alive), so that each one's handshake shows the certificate the gateway serves then.
type stream struct {
	quit     chan struct{} // closed by stop: no new alert after the one in flight
	stopOnce sync.Once
	done     chan struct{}

	mu   sync.Mutex
	sent []streamed
}

// streamed is one alert of the stream and its outcome.
type streamed struct {
	pod    string
	code   int
	serial string // of the certificate the connection's handshake presented
	err    error
}

func startStream(ctx context.Context) error {
	st := state(ctx)
	tr := &st.transport
	if tr.stream != nil {
		return errors.New("the scenario already has a sender that keeps sending")
	}
	base, ok := st.gw.HTTPClient().Transport.(*http.Transport)
	if !ok {
		return fmt.Errorf("the gateway's client has a %T, not an *http.Transport", st.gw.HTTPClient().Transport)
	}
	t := base.Clone()
	t.DisableKeepAlives = true
	client := &http.Client{Transport: t}
	// Each alert is bounded by the suite's request bound; stop ends the stream between alerts,
	// never in the middle of one, whose answer the scenario counts.
	runCtx := context.WithoutCancel(ctx)
	s := &stream{quit: make(chan struct{}), done: make(chan struct{})}
	tr.stream = s
	st.undo.Push("the sender that keeps sending", func(context.Context) error { s.stop(); return nil })
	go func() {
		defer close(s.done)
		tick := time.NewTicker(streamPace)
		defer tick.Stop()
		for i := 1; ; i++ {
			s.record(st.streamOne(runCtx, client, fmt.Sprintf("rotation-%d", i)))
			select {
			case <-s.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return nil
}

// streamOne sends one new alert on a new connection (the client keeps none alive).
func (st *scenario) streamOne(ctx context.Context, client *http.Client, pod string) streamed {
	a, err := st.newAlert("CertificateRotation", "warning", "pod", pod)
	if err != nil {
		return streamed{pod: pod, err: err}
	}
	ans := st.postWith(ctx, client, st.gw.URL(), notification([]alert{a}, time.Now()))
	return streamed{pod: pod, code: ans.code, serial: ans.serial, err: ans.err}
}

func (s *stream) record(r streamed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, r)
}

func (s *stream) snapshot() []streamed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]streamed(nil), s.sent...)
}

// stop ends the stream after the alert in flight, if any, has its answer; safe twice.
func (s *stream) stop() {
	s.stopOnce.Do(func() { close(s.quit) })
	<-s.done
}

func (st *scenario) theStream() (*stream, error) {
	s := st.transport.stream
	if s == nil {
		return nil, errors.New("the scenario has no sender that keeps sending: add 'Given a sender that keeps sending new alerts, each on a new connection'")
	}
	return s, nil
}

// replaceCertificate waits until the stream has had an answer over the old certificate, then
// replaces the gateway's files with a new certificate from the run's CA: the key, then the
// certificate, each by an atomic rename, as a kubelet or cert-manager updates a Secret volume.
func replaceCertificate(ctx context.Context) error {
	st := state(ctx)
	s, err := st.theStream()
	if err != nil {
		return err
	}
	dir, err := st.gw.CertDir()
	if err != nil {
		return err
	}
	old, err := os.ReadFile(filepath.Join(dir, pki.ServingCertFile))
	if err != nil {
		return fmt.Errorf("the gateway's certificate: %w", err)
	}
	oldCert, err := pki.ParseCertPEM(old)
	if err != nil {
		return fmt.Errorf("the gateway's certificate %s: %w", dir, err)
	}
	tr := &st.transport
	tr.oldSerial = oldCert.SerialNumber.String()
	err = st.bounds().Await(ctx, "the sender to have an alert answered over the gateway's first certificate", func(context.Context) (bool, string, error) {
		for _, r := range s.snapshot() {
			if r.serial == tr.oldSerial {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d sent, none answered over serial %s", len(s.snapshot()), tr.oldSerial), nil
	})
	if err != nil {
		return err
	}
	pair, err := st.run.IssueGatewayCertificate("kubernaut-gateway " + st.ns + " renewed")
	if err != nil {
		return err
	}
	cert, err := pki.ParseCertPEM(pair.CertPEM)
	if err != nil {
		return err
	}
	tr.newSerial = cert.SerialNumber.String()
	if err := pair.WriteProjected(dir); err != nil {
		return fmt.Errorf("replacing the gateway's certificate: %w", err)
	}
	return nil
}

// newCertificatePresented waits, bounded, until a new connection of the stream presents the new
// certificate (the gateway takes it up on the files' change), and checks that none after it went
// back to the old one.
func newCertificatePresented(ctx context.Context) error {
	st := state(ctx)
	s, err := st.theStream()
	if err != nil {
		return err
	}
	tr := &st.transport
	if tr.newSerial == "" {
		return errors.New("the gateway's certificate was not replaced")
	}
	what := fmt.Sprintf("a new connection to present the new certificate (serial %s)", tr.newSerial)
	err = st.bounds().Await(ctx, what, func(context.Context) (bool, string, error) {
		sent := s.snapshot()
		for i, r := range sent {
			if r.serial == tr.newSerial {
				// Two more answers over new connections, to see that the new one stays.
				return len(sent) >= i+3, fmt.Sprintf("first seen at alert %d of %d", i+1, len(sent)), nil
			}
		}
		last := "none answered"
		if len(sent) > 0 {
			last = fmt.Sprintf("the last presented serial %q", sent[len(sent)-1].serial)
		}
		return false, fmt.Sprintf("%d sent; %s", len(sent), last), nil
	})
	if err != nil {
		return err
	}
	seen := false
	for _, r := range s.snapshot() {
		switch {
		case r.serial == tr.newSerial:
			seen = true
		case seen && r.err == nil && r.serial != tr.newSerial:
			return fmt.Errorf("alert %s was answered over serial %q after the new certificate (%s) had been presented", r.pod, r.serial, tr.newSerial)
		}
	}
	return nil
}

// streamAllCreated stops the stream and checks that every alert it sent was created (201).
func streamAllCreated(ctx context.Context) error {
	st := state(ctx)
	s, err := st.theStream()
	if err != nil {
		return err
	}
	s.stop()
	sent := s.snapshot()
	if len(sent) == 0 {
		return errors.New("the sender sent nothing")
	}
	var bad []string
	for _, r := range sent {
		switch {
		case r.err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", r.pod, r.err))
		case r.code != http.StatusCreated:
			bad = append(bad, fmt.Sprintf("%s: HTTP %d", r.pod, r.code))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d alerts were not answered 201: %s", len(bad), len(sent), strings.Join(bad, "; "))
	}
	return nil
}

// streamOnePerAlert checks that the namespace holds one remediation request per alert the
// stream sent: none lost, none doubled across the replacement.
func streamOnePerAlert(ctx context.Context) error {
	st := state(ctx)
	s, err := st.theStream()
	if err != nil {
		return err
	}
	s.stop()
	return holdsExactly(ctx, "namespace", len(s.snapshot()))
}
