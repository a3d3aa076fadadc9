// Package kuberetry is the gateway's one retry policy for Kubernetes API calls: which errors are
// transient, how long to wait between attempts, and when to give up. Every API call the gateway
// makes goes through Policy.Do, so that each retry is bounded, logged and counted in one place.
package kuberetry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Reasons of transient failures; they are the values of the retries metric's reason label.
const (
	ReasonTimeout           = "timeout"
	ReasonConnectionRefused = "connection-refused"
	ReasonConnectionReset   = "connection-reset"
	ReasonEOF               = "eof"
)

// TransientReasons lists every reason Classify can return for a transient error, so that metrics
// can be initialised with all of them.
var TransientReasons = []string{
	"429", "500", "502", "503", "504",
	ReasonTimeout, ReasonConnectionRefused, ReasonConnectionReset, ReasonEOF,
}

// Classify tells whether err is worth retrying and, if so, why (one of TransientReasons). API
// statuses other than 429, 500, 502, 503 and 504 are permanent: retrying a 400, 403, 404, 409 or 422
// cannot change the answer. A deadline met inside a call (context.DeadlineExceeded, however it is
// wrapped or flattened into text, and client-go's rate limiter refusing to wait past it) is a
// transient timeout.
func Classify(err error) (reason string, transient bool) {
	if err == nil {
		return "", false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return te.Reason, true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		switch code := status.Status().Code; code {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return strconv.Itoa(int(code)), true
		}
		return "", false
	}
	return classifyNetwork(err)
}

// classifyNetwork recognises the failures of a connection rather than of the API server.
func classifyNetwork(err error) (string, bool) {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout, true
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonConnectionRefused, true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ReasonConnectionReset, true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonEOF, true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return ReasonTimeout, true
	}
	// Some layers (TLS, HTTP/2) flatten the cause into text.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection refused"):
		return ReasonConnectionRefused, true
	case strings.Contains(msg, "connection reset by peer"), strings.Contains(msg, "broken pipe"):
		return ReasonConnectionReset, true
	case strings.Contains(msg, "unexpected EOF"), strings.HasSuffix(msg, ": EOF"),
		strings.Contains(msg, "closed network connection"),
		strings.Contains(msg, "server closed idle connection"),
		strings.Contains(msg, "client connection lost"):
		return ReasonEOF, true
	case strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "TLS handshake timeout"),
		strings.Contains(msg, "context deadline exceeded"), strings.Contains(msg, "Client.Timeout exceeded"),
		clientThrottled(msg):
		return ReasonTimeout, true
	}
	return "", false
}

// clientThrottled recognises client-go's own rate limiter giving up because its wait would pass
// the call's deadline ("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed
// context deadline"). The error wraps nothing a caller can match, but it is a timeout of the
// gateway's making, not a refusal by the API: transient. The request was never sent.
func clientThrottled(msg string) bool {
	return strings.Contains(msg, "client rate limiter Wait returned an error") ||
		strings.Contains(msg, "would exceed context deadline")
}

// Ambiguous reports whether a failed call may nevertheless have taken effect on the server (the
// request was sent but its answer was lost). A write retried after such a failure can meet its own
// earlier effect, which callers must recognise so as not to count one signal twice.
func Ambiguous(err error) bool {
	reason, transient := Classify(err)
	if !transient || clientThrottled(err.Error()) {
		return false
	}
	switch reason {
	case ReasonTimeout, ReasonConnectionReset, ReasonEOF, "504":
		return true
	}
	return false
}
