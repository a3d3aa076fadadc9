package faultproxy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Record is one request that went through the proxy, forwarded or not. A failed scenario attaches
// the records of its namespace, so the report shows what the gateway actually asked the API server
// and what it got back.
type Record struct {
	Time        time.Time
	Method      string
	Path        string
	Query       string
	Verb        string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	// Rule names the rule that handled the request; empty when it was forwarded untouched.
	Rule string
	// Action is "forward" or the rule's action.
	Action string
	// Code is the upstream's or the injected status; 0 when no response was sent or the request
	// is still in flight.
	Code     int
	Duration time.Duration
	InFlight bool
	// Err says what went wrong or how the request ended without a response.
	Err string
	// Credential identifies the Authorization header the client sent (see CredentialID), so a
	// scenario can check which identity the gateway used without the log holding a token.
	Credential string
}

// String renders the record as one line of a report.
func (r Record) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", r.Time.Format("15:04:05.000"), r.Method, r.Path)
	if r.Query != "" {
		b.WriteString("?" + r.Query)
	}
	target := r.Resource
	if r.Subresource != "" {
		target += "/" + r.Subresource
	}
	if r.Name != "" {
		target += " " + r.Name
	}
	fmt.Fprintf(&b, " [%s %s]", r.Verb, strings.TrimSpace(target))
	if r.InFlight {
		b.WriteString(" -> in flight")
	} else {
		fmt.Fprintf(&b, " -> %d in %s", r.Code, r.Duration.Round(time.Millisecond))
	}
	if r.Rule != "" {
		fmt.Fprintf(&b, " by rule %q", r.Rule)
	}
	if r.Err != "" {
		b.WriteString(" (" + r.Err + ")")
	}
	return b.String()
}

// FormatRecords renders records one per line, for attaching to a scenario's report.
func FormatRecords(records []Record) string {
	var b strings.Builder
	for _, r := range records {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// requestLog keeps the most recent records. It is bounded because one proxy may serve a whole
// suite run; the records are added when a request starts, so long watches and black-holed
// requests show up while they are still open.
type requestLog struct {
	mu      sync.Mutex
	max     int
	records []*Record
}

func (l *requestLog) begin(r Record) *Record {
	rec := &r
	rec.InFlight = true
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, rec)
	if len(l.records) > l.max {
		// Drop the oldest quarter at once to keep appends amortised O(1).
		drop := len(l.records) - l.max + l.max/4
		l.records = append(l.records[:0:0], l.records[drop:]...)
	}
	return rec
}

// setCode records the status as the response header is written.
func (l *requestLog) setCode(rec *Record, code int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rec.Code = code
}

func (l *requestLog) finish(rec *Record, code int, d time.Duration, note string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rec.Code, rec.Duration, rec.InFlight = code, d, false
	if note != "" {
		rec.Err = note
	}
}

func (l *requestLog) list(namespace string) []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Record
	for _, r := range l.records {
		if namespace == "" || r.Namespace == namespace {
			out = append(out, *r)
		}
	}
	return out
}

// CredentialID names an Authorization header by the first 12 hex characters of its SHA-256, or
// "none" when there is none. Records carry this instead of the secret itself.
func CredentialID(authorization string) string {
	if authorization == "" {
		return "none"
	}
	sum := sha256.Sum256([]byte(authorization))
	return "sha256:" + hex.EncodeToString(sum[:6])
}
