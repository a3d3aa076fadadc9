package kuberetry

import (
	"net/http"
	"strings"

	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// WrapTransport switches off client-go's own retry loops, so that Policy is the only one:
//
//   - client-go repeats a request (up to 10 times) whenever a 429 or 5xx answer carries a Retry-After
//     header. The wrapper drops that header. The delay is not lost: the API server (and the suite's
//     fault proxy) also put it in the Status body as details.retryAfterSeconds, which client-go turns
//     into the error's suggested delay (apierrors.SuggestsClientDelay).
//   - client-go repeats a GET after a connection reset or EOF, sleeping 1 s between tries. The wrapper
//     hands such errors back as *TransportError, which client-go does not recognise but Classify does.
//
// Use it as rest.Config.WrapTransport (or with rest.Config.Wrap).
func WrapTransport(next http.RoundTripper) http.RoundTripper {
	return &transport{next: next}
}

type transport struct {
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		switch {
		case utilnet.IsConnectionReset(err):
			return nil, &TransportError{Reason: ReasonConnectionReset, Err: err}
		case utilnet.IsProbableEOF(err), utilnet.IsHTTP2ConnectionLost(err):
			return nil, &TransportError{Reason: ReasonEOF, Err: err}
		}
		return nil, err
	}
	resp.Header.Del("Retry-After")
	return resp, nil
}

// WrappedRoundTripper lets client-go reach the transport below to cancel a timed-out request
// (without it, client-go logs "unable to cancel request" on every timeout).
func (t *transport) WrappedRoundTripper() http.RoundTripper { return t.next }

// TransportError is a connection failure hidden from client-go's GET retry (see WrapTransport).
// It deliberately has no Unwrap method: client-go finds syscall.ECONNRESET and io.EOF through
// unwrapping and by matching a few messages, and would retry on its own.
type TransportError struct {
	// Reason is ReasonConnectionReset or ReasonEOF.
	Reason string
	// Err is the original transport error.
	Err error
}

// Error describes the failure without the phrases client-go's retry matches on.
func (e *TransportError) Error() string {
	msg := e.Err.Error()
	msg = strings.ReplaceAll(msg, "use of closed network connection", "closed network connection")
	msg = strings.ReplaceAll(msg, "http2: client connection lost", "http2 client connection lost")
	return "kubernetes api connection failed (" + e.Reason + "): " + msg
}
