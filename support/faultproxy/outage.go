package faultproxy

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
)

// Outage is one period during which the whole API was unreachable through the proxy. End is zero
// while it lasts.
type Outage struct {
	Start time.Time
	End   time.Time
}

// SetOutage switches a whole-API outage on or off, for scenarios run against a dedicated gateway
// (an outage hits every namespace). On: the listener and every open client connection are closed,
// so requests in flight fail and new connections are refused (ECONNREFUSED), as when the API
// server is down. Off: the proxy listens again on the same address. Switching to the current
// state does nothing.
func (p *Proxy) SetOutage(on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started || p.closed {
		return errors.New("faultproxy: outage needs a started, open proxy")
	}
	if on == p.outage {
		return nil
	}
	now := time.Now()
	if on {
		p.outage = true
		p.outages = append(p.outages, Outage{Start: now})
		err := p.ln.Close()
		p.ln = nil
		for c := range p.conns {
			_ = rawConn(c).Close()
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("faultproxy: start outage: close listener %s: %w", p.addr, err)
		}
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("faultproxy: end outage: listen again on %s: %w", p.addr, err)
	}
	p.ln, p.outage = ln, false
	p.outages[len(p.outages)-1].End = now
	p.serveLocked(ln)
	return nil
}

// Outages returns the outages so far, in order.
func (p *Proxy) Outages() []Outage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.outages)
}

// connState tracks open client connections so an outage can cut them. A connection accepted just
// as an outage began is closed as soon as the server reports it.
func (p *Proxy) connState(c net.Conn, st http.ConnState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch st {
	case http.StateNew:
		if p.outage || p.closed {
			_ = rawConn(c).Close()
			return
		}
		p.conns[c] = struct{}{}
	case http.StateHijacked, http.StateClosed:
		delete(p.conns, c)
	}
}
