package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Action is what a rule does to a matching request. The set is closed (Status, Latency, Reset,
// Drop, LostAnswer, BlackHole) because each one must really happen on the wire: the harness never fakes a
// fault by other means.
type Action interface {
	fmt.Stringer
	serve(x *exchange) error
}

// exchange is one request on its way through an action. note goes into the request log.
type exchange struct {
	p        *Proxy
	w        http.ResponseWriter
	r        *http.Request
	info     RequestInfo
	note     string
	hijacked bool
}

// errClosed ends actions that wait when the proxy shuts down.
var errClosed = errors.New("faultproxy: proxy closed")

// Latency delays the request by Delay and then forwards it, to test deadlines and per-call
// timeouts with a real slow answer rather than a simulated one.
type Latency struct{ Delay time.Duration }

// String names the action in rule names, hits and the request log.
func (l Latency) String() string { return "latency " + l.Delay.String() }

func (l Latency) validate() error {
	if l.Delay <= 0 {
		return errors.New("latency needs a positive Delay")
	}
	return nil
}

func (l Latency) serve(x *exchange) error {
	t := time.NewTimer(l.Delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-x.r.Context().Done():
		x.note = "client gave up during the delay: " + ctxState(x.r)
		return nil // the client did experience the latency
	case <-x.p.closing:
		x.note = errClosed.Error()
		return nil
	}
	x.p.forward(x)
	return nil
}

// Reset hijacks the connection and closes it with SO_LINGER 0, so the kernel sends a TCP RST and
// the client reads "connection reset by peer". Nothing is forwarded.
//
// Go's HTTP client replays an idempotent request (GET, HEAD, ...) once on a new connection when a
// reused one fails like this; give such rules Times of 2 or more to make the caller see the error.
type Reset struct{}

// String names the action in rule names, hits and the request log.
func (Reset) String() string { return "reset" }

func (Reset) serve(x *exchange) error {
	raw, err := hijack(x)
	if err != nil {
		return err
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		if err := tcp.SetLinger(0); err != nil {
			_ = raw.Close()
			return fmt.Errorf("faultproxy: reset: set SO_LINGER 0: %w", err)
		}
	}
	if err := raw.Close(); err != nil {
		return fmt.Errorf("faultproxy: reset: close: %w", err)
	}
	return nil
}

// Drop hijacks the connection and closes it without a response (a plain FIN, no TLS close_notify),
// so the client reads EOF, as when a load balancer or a crashing server drops the connection
// mid-request. Nothing is forwarded. The same replay caveat as for Reset applies.
type Drop struct{}

// String names the action in rule names, hits and the request log.
func (Drop) String() string { return "drop" }

func (d Drop) serve(x *exchange) error { return hangUp(x, d) }

// hangUp closes the client's connection without a response, for action a.
func hangUp(x *exchange, a Action) error {
	raw, err := hijack(x)
	if err != nil {
		return err
	}
	if err := raw.Close(); err != nil {
		return fmt.Errorf("faultproxy: %s: close: %w", a, err)
	}
	return nil
}

// LostAnswer forwards the request, so that the API server applies it, waits for the answer and
// then drops the connection instead of passing the answer on (a plain FIN, as Drop): the client
// reads EOF and cannot tell whether its write landed. This is the fault that idempotent writes
// exist for: a create or status update that took effect while its caller saw it fail. The note in
// the request log says what the API server answered.
type LostAnswer struct{}

// String names the action in rule names, hits and the request log.
func (LostAnswer) String() string { return "lost answer" }

func (l LostAnswer) serve(x *exchange) error {
	sink := &discard{header: http.Header{}}
	var upErr error
	ctx := context.WithValue(x.r.Context(), upstreamErrKey{}, &upErr)
	x.p.rp.ServeHTTP(sink, x.r.WithContext(ctx))
	x.note = fmt.Sprintf("the API server answered %d; the answer was dropped", sink.code)
	if err := hangUp(x, l); err != nil {
		return err
	}
	// Only a call the API server carried out is a lost answer; anything else is an error, so the
	// hit does not count as fired and a scenario that claims the fault fails.
	switch {
	case upErr != nil:
		return fmt.Errorf("faultproxy: lost answer: the API server could not be reached, nothing was carried out: %w", upErr)
	case sink.code < 200 || sink.code > 299:
		return fmt.Errorf("faultproxy: lost answer: the API server answered %d, nothing was carried out", sink.code)
	}
	return nil
}

// discard is a ResponseWriter that keeps only the status code of what it is sent.
type discard struct {
	header http.Header
	code   int
}

func (d *discard) Header() http.Header { return d.header }
func (d *discard) Flush()              {}

func (d *discard) WriteHeader(code int) {
	if d.code == 0 && code >= 200 {
		d.code = code
	}
}

func (d *discard) Write(b []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(b), nil
}

// BlackHole accepts the request and never answers, until the client gives up or the proxy closes
// (which then closes the connection): the failure mode that only a client-side timeout can end.
// Nothing is forwarded.
type BlackHole struct{}

// String names the action in rule names, hits and the request log.
func (BlackHole) String() string { return "black hole" }

func (BlackHole) serve(x *exchange) error {
	// Reading the body to its end lets the server notice the client hanging up, which cancels the
	// request context; with an unread body it would not.
	_, _ = io.Copy(io.Discard, x.r.Body)
	select {
	case <-x.r.Context().Done():
		x.note = "client gave up: " + ctxState(x.r)
	case <-x.p.closing:
		x.note = errClosed.Error()
	}
	return nil
}

func ctxState(r *http.Request) string {
	if err := r.Context().Err(); err != nil {
		return err.Error()
	}
	return "done"
}

// hijack takes the raw TCP connection from the HTTP server. The proxy serves HTTP/1.1 only, so
// this works for every request; an error means the fault could not be injected.
func hijack(x *exchange) (net.Conn, error) {
	conn, _, err := http.NewResponseController(x.w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("faultproxy: hijack the connection: %w", err)
	}
	x.hijacked = true
	return rawConn(conn), nil
}

// abort closes the connection of a request that got no response. Returning from the handler
// instead would make net/http send an empty 200: a success the API server never gave.
func abort(x *exchange) {
	if raw, err := hijack(x); err == nil {
		_ = raw.Close()
	}
}

// rawConn unwraps TLS, so closing skips the close_notify alert and the client sees the bare TCP
// event (FIN or RST) that the fault is about.
func rawConn(c net.Conn) net.Conn {
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok {
		return nc.NetConn()
	}
	return c
}
