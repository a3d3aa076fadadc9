package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	alertPath = "/api/v1/signals/prometheus"
	eventPath = "/api/v1/signals/kubernetes-event"
)

// sentRequest is kept so that "Alertmanager delivers the same notification again" resends it.
type sentRequest struct {
	method, path, contentType string
	body                      []byte
	// authorization is the Authorization header as sent; empty means the scenario's sender's
	// bearer token, noAuthorization sends none at all.
	authorization   string
	noAuthorization bool
}

// exchange is the scenario's part of the sending steps: what it sent and what the gateway
// answered. Senders in goroutines (bursts, a signal sent without waiting, a stream) add to it,
// hence the lock.
type exchange struct {
	mu        sync.Mutex
	requests  int          // how many request ids were given out
	responses []*response  // every answer, in order
	last      *sentRequest // what "the same notification again" resends
	inflight  chan *response
}

// record keeps an answer and the request it answered.
func (e *exchange) record(req sentRequest, resp *response) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.responses = append(e.responses, resp)
	e.last = &req
}

// recordAll keeps answers whose requests are not for sending again (a burst's).
func (e *exchange) recordAll(resps []*response) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.responses = append(e.responses, resps...)
}

// nextID counts a request and returns its number.
func (e *exchange) nextID() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests++
	return e.requests
}

// lastSent is the request "the same notification again" refers to.
func (e *exchange) lastSent() (sentRequest, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.last == nil {
		return sentRequest{}, fmt.Errorf("nothing was sent before, so nothing can be sent again")
	}
	return *e.last, nil
}

// lastResponse is the answer that "the gateway answers" refers to.
func (e *exchange) lastResponse() (*response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.responses) == 0 {
		return nil, fmt.Errorf("the gateway has not been sent anything in this scenario yet")
	}
	return e.responses[len(e.responses)-1], nil
}

func (e *exchange) allResponses() []*response {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*response(nil), e.responses...)
}

// awaitAnswer makes the channel on which the answer to a signal sent without waiting arrives.
func (e *exchange) awaitAnswer() chan *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inflight = make(chan *response, 1)
	return e.inflight
}

// inflightAnswer is that channel; nil when nothing was sent without waiting.
func (e *exchange) inflightAnswer() chan *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.inflight
}

// response is one answer of the gateway, parsed as far as it goes.
type response struct {
	requestID string // the X-Request-ID the suite sent
	path      string // the path it was sent to
	code      int
	header    http.Header
	body      []byte
	sentAt    time.Time
	at        time.Time
	// firstSentAt is when the first delivery of this request was sent: sentAt, unless the suite
	// redelivered it after an overload (send), when the object may come from the first delivery.
	firstSentAt time.Time
	results     signalResults
	problem     *problem
	parseErr    error
}

type signalResults struct {
	RequestID string   `json:"requestId"`
	Results   []result `json:"results"`
}

type result struct {
	Index           int    `json:"index"`
	Alertname       string `json:"alertname"`
	Status          string `json:"status"`
	Fingerprint     string `json:"fingerprint"`
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	OccurrenceCount int32  `json:"occurrenceCount"`
	Reason          string `json:"reason"`
}

type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	RequestID string `json:"requestId"`
}

func (r *response) String() string {
	body := string(r.body)
	if len(body) > 600 {
		body = body[:600] + "..."
	}
	return fmt.Sprintf("HTTP %d %s", r.code, strings.TrimSpace(body))
}

// maxOverloadRedeliveries bounds how often the suite, as the sender, redelivers a request that
// the gateway refused because the API server was too slow (see redeliversOnOverload).
const maxOverloadRedeliveries = 3

// send posts to the scenario's gateway and records the answer. Like Alertmanager, it redelivers
// after the Retry-After of a 503 that says the Kubernetes API (or the access review) was
// unavailable, but only where the scenario did nothing to cause one (redeliversOnOverload): on a
// loaded machine the API server can be slower than the gateway's bounds, and the contract's answer
// to that is this 503 and the sender's retry. Each such redelivery is logged and attached to the
// scenario's report; the scenario's steps see the final answer.
func (st *scenario) send(ctx context.Context, req sentRequest) (*response, error) {
	var first time.Time
	for redelivery := 0; ; redelivery++ {
		resp, err := st.sendOnce(ctx, req)
		if err != nil {
			return nil, err
		}
		if first.IsZero() {
			first = resp.sentAt
		}
		resp.firstSentAt = first
		if redelivery == maxOverloadRedeliveries || !st.redeliversOnOverload(resp) {
			st.exchange.record(req, resp)
			return resp, nil
		}
		wait, _ := strconv.Atoi(resp.header.Get("Retry-After"))
		note := fmt.Sprintf("%s request %s: %s; redelivered after %ds", resp.at.Format("15:04:05.000"), resp.requestID, resp, wait)
		fmt.Printf("e2e: scenario %q: the API was slower than the gateway's bounds: %s\n", st.name, note)
		st.faults.addOverload(note)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting %ds to redeliver after a 503: %w", wait, ctx.Err())
		case <-time.After(time.Duration(wait) * time.Second):
		}
	}
}

// redeliversOnOverload reports whether resp is a 503 that the suite redelivers: a well-formed
// kubernetes-unavailable, auth-unavailable or overloaded problem with its Retry-After, from the shared gateway,
// in a scenario with no fault, outage or control plane of its own (where a 503 is what the
// scenario is about, and must be seen).
func (st *scenario) redeliversOnOverload(resp *response) bool {
	if resp.code != http.StatusServiceUnavailable || st.checkProblem(resp) != nil {
		return false
	}
	switch resp.problem.Type {
	case problemTypeBase + "kubernetes-unavailable", problemTypeBase + "auth-unavailable", problemTypeBase + "overloaded":
	default:
		return false
	}
	return !st.faults.injected() && !st.placement.ownGateway() && !st.placement.ownControlPlane()
}

// sendOnce posts one request. The request id carries the scenario's namespace, so that the
// gateway's log lines for it can be attached when the scenario fails.
func (st *scenario) sendOnce(ctx context.Context, req sentRequest) (*response, error) {
	id := st.nextRequestID()
	ctx, cancel := context.WithTimeout(ctx, st.bounds().Request)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, req.method, st.gw.URL()+req.path, bytes.NewReader(req.body))
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	switch auth, none := st.authorization(req); {
	case none:
	default:
		hr.Header.Set("Authorization", auth)
	}
	hr.Header.Set("User-Agent", "Alertmanager/0.28.1 (gateway contract suite)")
	hr.Header.Set("X-Request-ID", id)
	resp := &response{requestID: id, path: req.path, sentAt: time.Now()}
	hresp, err := st.gw.HTTPClient().Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%s %s (request %s): %w", req.method, req.path, id, err)
	}
	defer hresp.Body.Close()
	if err := resp.read(hresp); err != nil {
		return nil, fmt.Errorf("reading the answer to %s %s: %w", req.method, req.path, err)
	}
	return resp, nil
}

// nextRequestID is the X-Request-ID of the scenario's next request: it carries the scenario's
// namespace, so that the gateway's log lines for it can be attached when the scenario fails.
func (st *scenario) nextRequestID() string {
	return fmt.Sprintf("%s-%d", st.ns, st.exchange.nextID())
}

// read takes the answer's status, headers and body, and parses a problem or a result list.
func (r *response) read(hr *http.Response) error {
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		return err
	}
	r.body, r.at, r.code, r.header = body, time.Now(), hr.StatusCode, hr.Header
	switch ct := hr.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/problem+json"):
		r.problem = &problem{}
		r.parseErr = json.Unmarshal(r.body, r.problem)
	case strings.HasPrefix(ct, "application/json"):
		r.parseErr = json.Unmarshal(r.body, &r.results)
	}
	return nil
}

func jsonRequest(path string, body []byte) sentRequest {
	return sentRequest{method: http.MethodPost, path: path, contentType: "application/json", body: body}
}

// lastResponse is the answer that "the gateway answers" refers to.
func (st *scenario) lastResponse() (*response, error) { return st.exchange.lastResponse() }

func (st *scenario) allResponses() []*response { return st.exchange.allResponses() }
