package faultproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestStatusAnswersLikeTheAPIServer(t *testing.T) {
	tests := []struct {
		status     Status
		reason     metav1.StatusReason
		is         func(error) bool
		retryAfter string // header; empty: none
		delay      int    // SuggestsClientDelay seconds
	}{
		{Status{Code: 429, RetryAfter: 2 * time.Second}, metav1.StatusReasonTooManyRequests, apierrors.IsTooManyRequests, "2", 2},
		{Status{Code: 429}, metav1.StatusReasonTooManyRequests, apierrors.IsTooManyRequests, "", 0},
		{Status{Code: 500}, metav1.StatusReasonInternalError, apierrors.IsInternalError, "", 0},
		{Status{Code: 502}, metav1.StatusReasonUnknown, isCode(502), "", 0},
		{Status{Code: 503, RetryAfter: 1500 * time.Millisecond}, metav1.StatusReasonServiceUnavailable, apierrors.IsServiceUnavailable, "2", 2},
		{Status{Code: 504, RetryAfter: time.Second}, metav1.StatusReasonTimeout, apierrors.IsTimeout, "1", 1},
		{Status{Code: 403, RetryAfter: time.Second}, metav1.StatusReasonForbidden, apierrors.IsForbidden, "", 0},
		{Status{Code: 422}, metav1.StatusReasonInvalid, apierrors.IsInvalid, "", 0},
		{Status{Code: 400}, metav1.StatusReasonBadRequest, apierrors.IsBadRequest, "", 0},
		{Status{Code: 404}, metav1.StatusReasonNotFound, apierrors.IsNotFound, "", 0},
		{Status{Code: 409}, metav1.StatusReasonConflict, apierrors.IsConflict, "", 0},
		{Status{Code: 500, Reason: metav1.StatusReasonServerTimeout, Message: "custom"}, metav1.StatusReasonServerTimeout, apierrors.IsServerTimeout, "", 0},
	}
	api := newFakeAPI(t)
	p := startProxy(t, api)
	c := client(t, p, bound)
	for _, tt := range tests {
		t.Run(tt.status.String(), func(t *testing.T) {
			h := mustAddRule(t, p, Rule{Match: Match{Verb: VerbCreate, Namespace: "ns1"}, Action: tt.status, Times: 1})
			before := api.count()
			resp, body, err := do(t, c, p, http.MethodPost, fmt.Sprintf(rrPath, "ns1"))
			require.NoError(t, err)
			assert.Equal(t, before, api.count(), "not forwarded")
			assert.Equal(t, tt.status.Code, resp.StatusCode)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.Equal(t, tt.retryAfter, resp.Header.Get("Retry-After"))

			var st metav1.Status
			require.NoError(t, json.Unmarshal([]byte(body), &st), body)
			assert.Equal(t, "Status", st.Kind)
			assert.Equal(t, "v1", st.APIVersion)
			assert.Equal(t, metav1.StatusFailure, st.Status)
			assert.Equal(t, int32(tt.status.Code), st.Code)
			assert.Equal(t, tt.reason, st.Reason)
			require.NotNil(t, st.Details)
			assert.Equal(t, "remediationrequests", st.Details.Kind)
			assert.Equal(t, "kubernaut.ai", st.Details.Group)

			apiErr := apierrors.FromObject(&st)
			assert.True(t, tt.is(apiErr), "%v", apiErr)
			delay, ok := apierrors.SuggestsClientDelay(apiErr)
			assert.Equal(t, tt.delay, delay)
			if tt.delay > 0 {
				assert.True(t, ok)
			}

			require.Equal(t, 1, h.Count())
			hit := h.Hits()[0]
			assert.Equal(t, tt.status.Code, hit.Code)
			assert.Equal(t, VerbCreate, hit.Verb)
			assert.Equal(t, "ns1", hit.Namespace)
		})
	}
}

func isCode(code int32) func(error) bool {
	return func(err error) bool {
		var se apierrors.APIStatus
		return errors.As(err, &se) && se.Status().Code == code
	}
}

// dropRetryAfter does what the gateway's transport does: it hides the header from client-go's
// own retry loop, so the error surfaces at once and only the body's retryAfterSeconds remains.
type dropRetryAfter struct{ rt http.RoundTripper }

func (d dropRetryAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.rt.RoundTrip(r)
	if resp != nil {
		resp.Header.Del("Retry-After")
	}
	return resp, err
}

func TestClientGoTurnsTheStatusIntoATypedError(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	h := mustAddRule(t, p, Rule{Match: Match{Verb: VerbGet, Resource: "namespaces"}, Action: Status{Code: 429, RetryAfter: 3 * time.Second}, Times: 1})
	cs, err := kubernetes.NewForConfig(&rest.Config{
		Host:            p.URL(),
		BearerToken:     "gateway-token",
		TLSClientConfig: rest.TLSClientConfig{CAData: p.CAData()},
		WrapTransport:   func(rt http.RoundTripper) http.RoundTripper { return dropRetryAfter{rt} },
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()

	_, err = cs.CoreV1().Namespaces().Get(ctx, "ns1", metav1.GetOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsTooManyRequests(err), "%v", err)
	delay, ok := apierrors.SuggestsClientDelay(err)
	assert.True(t, ok)
	assert.Equal(t, 3, delay)
	require.NoError(t, h.WaitFired(ctx, 1))
	assert.Zero(t, api.count())

	ns, err := cs.CoreV1().Namespaces().Get(ctx, "ns1", metav1.GetOptions{})
	require.NoError(t, err, "the rule was used up; the next call goes through")
	assert.Equal(t, "ns1", ns.Name)
	assert.Equal(t, "Bearer gateway-token", api.requests()[0].Authorization)
	for _, rec := range p.Requests("") {
		assert.Equal(t, CredentialID("Bearer gateway-token"), rec.Credential, "the record names the client's own credential")
	}
}

func TestLatencyDelaysThenForwards(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	h := mustAddRule(t, p, Rule{Match: Match{Verb: VerbGet}, Action: Latency{Delay: 200 * time.Millisecond}, Times: 1})

	start := time.Now()
	resp, _, err := do(t, client(t, p, bound), p, http.MethodGet, "/api/v1/namespaces/ns1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	assert.Equal(t, 1, api.count())
	assert.Equal(t, http.StatusOK, h.Hits()[0].Code, "the upstream's code")

	// A client that gives up during the delay is never forwarded: a read, and a write with a
	// body (which Go's HTTP/1 server only watches for a hang-up once the body has been read).
	for i, method := range []string{http.MethodGet, http.MethodPost} {
		verb, path := VerbGet, "/api/v1/namespaces/ns1"
		var body io.Reader
		if method == http.MethodPost {
			verb, path, body = VerbCreate, "/api/v1/namespaces/ns1/configmaps", strings.NewReader(`{"metadata":{"name":"cm"}}`)
		}
		slow := mustAddRule(t, p, Rule{Match: Match{Verb: verb}, Action: Latency{Delay: time.Hour}, Times: 1})
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		reqCtx, giveUp := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() {
			req, err := http.NewRequestWithContext(reqCtx, method, p.URL()+path, body)
			if err == nil {
				_, err = client(t, p, 0).Do(req)
			}
			errc <- err
		}()
		require.NoError(t, slow.WaitFired(ctx, 1))
		giveUp()
		require.ErrorIs(t, <-errc, context.Canceled)
		require.Eventually(t, func() bool {
			recs := p.Requests("ns1")
			return len(recs) == 2+i && !recs[1+i].InFlight
		}, bound, 10*time.Millisecond, method)
		assert.Contains(t, p.Requests("ns1")[1+i].Err, "client gave up", method)
		assert.Equal(t, 1, api.count(), method)
		cancel()
	}
}

func TestConnectionFaults(t *testing.T) {
	tests := []struct {
		action  Action
		timeout time.Duration
		check   func(t *testing.T, err error)
	}{
		{Reset{}, bound, func(t *testing.T, err error) {
			assert.ErrorContains(t, err, "connection reset")
		}},
		{Drop{}, bound, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, io.EOF)
		}},
		{BlackHole{}, 300 * time.Millisecond, func(t *testing.T, err error) {
			assert.ErrorContains(t, err, "Client.Timeout exceeded")
		}},
	}
	for _, tt := range tests {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(tt.action.String()+" "+method, func(t *testing.T) {
				api := newFakeAPI(t)
				p := startProxy(t, api)
				h := mustAddRule(t, p, Rule{Match: Match{Namespace: "ns1"}, Action: tt.action})
				_, _, err := do(t, client(t, p, tt.timeout), p, method, fmt.Sprintf(rrPath, "ns1"))
				require.Error(t, err)
				tt.check(t, err)
				assert.Zero(t, api.count(), "never forwarded")
				rec := onlyRecord(t, p, h)
				assert.Zero(t, rec.Code, "no response was sent")
				assert.Equal(t, tt.action.String(), rec.Action)
			})
		}
	}
}

// TestLostAnswerAppliesTheRequest: the API server gets the request (and answers it), the client
// gets EOF; the request log says what the answer was.
func TestLostAnswerAppliesTheRequest(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	h := mustAddRule(t, p, Rule{Match: Match{Namespace: "ns1", Verb: VerbCreate}, Action: LostAnswer{}, Times: 1})
	_, _, err := do(t, client(t, p, bound), p, http.MethodPost, fmt.Sprintf(rrPath, "ns1"))
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, 1, api.count(), "forwarded: the API server applied it")
	rec := onlyRecord(t, p, h)
	assert.Zero(t, rec.Code, "no response reached the client")
	assert.Equal(t, "lost answer", rec.Action)
	assert.Contains(t, rec.Err, "the API server answered 201; the answer was dropped")

	resp, _, err := do(t, client(t, p, bound), p, http.MethodPost, fmt.Sprintf(rrPath, "ns1"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "the rule was used up")
}

// onlyRecord waits for h to fire and for the one request of ns1 to end, and returns its record.
func onlyRecord(t *testing.T, p *Proxy, h *RuleHandle) Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	require.NoError(t, h.WaitFired(ctx, 1))
	require.Eventually(t, func() bool {
		recs := p.Requests("ns1")
		return len(recs) == 1 && !recs[0].InFlight
	}, bound, 10*time.Millisecond)
	return p.Requests("ns1")[0]
}

// TestLostAnswerThatCarriedOutNothingDoesNotFire: when the API server cannot be reached, nothing
// landed, so the hit is an error and does not count as fired.
func TestLostAnswerThatCarriedOutNothingDoesNotFire(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	api.Close()
	h := mustAddRule(t, p, Rule{Match: Match{Namespace: "ns1", Verb: VerbCreate}, Action: LostAnswer{}, Times: 1})
	_, _, err := do(t, client(t, p, bound), p, http.MethodPost, fmt.Sprintf(rrPath, "ns1"))
	require.Error(t, err)
	require.Eventually(t, func() bool { return len(h.Hits()) == 1 && h.Hits()[0].Err != "" }, bound, 10*time.Millisecond)
	assert.Contains(t, h.Hits()[0].Err, "nothing was carried out")
	assert.Zero(t, h.Count(), "not fired")
}

func TestCloseReleasesBlackHoledRequests(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	h := mustAddRule(t, p, Rule{Action: BlackHole{}})
	errc := make(chan error, 1)
	go func() {
		_, _, err := do(t, client(t, p, 0), p, http.MethodGet, "/api/v1/namespaces/ns1")
		errc <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	require.NoError(t, h.WaitFired(ctx, 1))
	require.NoError(t, p.Close())
	select {
	case err := <-errc:
		require.Error(t, err)
	case <-ctx.Done():
		t.Fatal("the black-holed request outlived Close")
	}
}

// panics is an action that fails as a bug in an action would.
type panics struct{}

func (panics) String() string          { return "panics" }
func (panics) serve(x *exchange) error { panic("a bug in an action") }

// TestARecordEndsEvenWhenItsActionPanics: net/http recovers a handler's panic, so without the
// deferred finish the record stayed in flight for good, and a soak waiting for the proxy to be
// idle waited in vain.
func TestARecordEndsEvenWhenItsActionPanics(t *testing.T) {
	api := newFakeAPI(t)
	p := startProxy(t, api)
	h := mustAddRule(t, p, Rule{Match: Match{Namespace: "ns1"}, Action: panics{}})
	_, _, err := do(t, client(t, p, bound), p, http.MethodGet, fmt.Sprintf(rrPath, "ns1"))
	require.Error(t, err, "net/http closes the connection of a handler that panicked")
	rec := onlyRecord(t, p, h)
	assert.Contains(t, rec.Err, "faultproxy: panic: a bug in an action")
}
