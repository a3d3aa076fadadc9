package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
)

func TestSummarizeNearestRank(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	l := summarize(samples)
	assert.Equal(t, Latency{Requests: 100, P50: 50, P95: 95, P99: 99, Max: 100}, l)
	assert.Equal(t, time.Duration(100)*time.Millisecond, samples[0], "the caller's samples are left as they were")
	assert.Equal(t, Latency{}, summarize(nil))
	assert.Equal(t, Latency{Requests: 1, P50: 7, P95: 7, P99: 7, Max: 7}, summarize([]time.Duration{7 * time.Millisecond}))
}

func TestShare(t *testing.T) {
	for _, c := range []struct {
		part, whole int
		want        float64
	}{{0, 0, 0}, {3, 4, 0.75}, {10, 10, 1}} {
		assert.InDelta(t, c.want, share(c.part, c.whole), 1e-9)
	}
}

func TestAnswersByKind(t *testing.T) {
	var a OverloadAnswers
	for _, o := range []outcome{
		{code: http.StatusCreated}, {code: http.StatusAccepted},
		{code: http.StatusServiceUnavailable, shed: true}, {code: http.StatusServiceUnavailable, shed: true},
		{code: http.StatusServiceUnavailable, note: "auth-unavailable", problem: "https://kubernaut.ai/problems/auth-unavailable"},
		{note: "connection reset"}, {code: http.StatusBadGateway},
	} {
		a.add(o)
	}
	assert.Equal(t, OverloadAnswers{All: 7, Created: 1, Accepted: 1, Shed: 2, Other: 3, FirstOther: "auth-unavailable",
		OtherByKind: map[string]int{"auth-unavailable": 1, "request failed": 1, "HTTP 502": 1}}, a)
	assert.Equal(t, ": HTTP 502 1, auth-unavailable 1, request failed 1", kinds(a.OtherByKind))
	assert.InDelta(t, 2.0/7, share(a.Shed, a.All), 1e-9)
}

func TestOutcomeFinal(t *testing.T) {
	assert.True(t, outcome{code: 201}.final())
	assert.True(t, outcome{code: 202}.final())
	assert.True(t, outcome{code: 401}.final())
	assert.False(t, outcome{code: 503, shed: true}.final())
	assert.False(t, outcome{code: 500}.final())
	assert.False(t, outcome{}.final(), "a failed request is redelivered")
}

func TestAccount(t *testing.T) {
	for _, c := range []struct {
		name     string
		alerts   int
		accepted []string
		stored   []string
		want     Accounting
	}{
		{"every accepted alert stored once", 3, []string{"a", "b", "c"}, []string{"c", "a", "b"},
			Accounting{Alerts: 3, AlertsAccepted: 3, RemediationRequests: 3}},
		{"one lost, one never accepted", 3, []string{"a", "b"}, []string{"a"},
			Accounting{Alerts: 3, AlertsAccepted: 2, Unaccepted: 1, RemediationRequests: 1, Lost: 1}},
		{"doubled and unexpected", 2, []string{"a"}, []string{"a", "a", "a", "z"},
			Accounting{Alerts: 2, AlertsAccepted: 1, Unaccepted: 1, RemediationRequests: 4, Doubled: 2, Unexpected: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			acc := map[string]bool{}
			for _, p := range c.accepted {
				acc[p] = true
			}
			assert.Equal(t, c.want, account(c.alerts, acc, c.stored))
		})
	}
}

func TestParseStatus(t *testing.T) {
	m := parseStatus("Name:\tgateway\nVmPeak:\t 1300000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\nThreads:\t12\n")
	assert.Equal(t, memStatus{rssKiB: 40960, hwmKiB: 81920}, m)
}

func TestMetricSum(t *testing.T) {
	text := "# HELP gateway_requests_shed_total x\n# TYPE gateway_requests_shed_total counter\n" +
		"gateway_requests_shed_total{endpoint=\"prometheus\"} 1234\n" +
		"gateway_requests_shed_total{endpoint=\"kubernetes-event\"} 6\n" +
		"gateway_requests_shed_totally 99\ngateway_requests_total{code=\"201\"} 5\n"
	assert.InDelta(t, 1240, metricSum(text, "gateway_requests_shed_total"), 1e-9)
	assert.InDelta(t, 7, metricSum("gateway_requests_shed_total 7\n", "gateway_requests_shed_total"), 1e-9)
}

func TestCountReviewsSinceTheMarker(t *testing.T) {
	marker := time.Now()
	before, after := marker.Add(-time.Second), marker.Add(time.Second)
	recs := []faultproxy.Record{
		{Time: before, Method: http.MethodPost, Resource: "tokenreviews"},
		{Time: after, Method: http.MethodPost, Resource: "tokenreviews"},
		{Time: after, Method: http.MethodPost, Resource: "tokenreviews"},
		{Time: after, Method: http.MethodPost, Resource: "subjectaccessreviews"},
		{Time: after, Method: http.MethodGet, Resource: "remediationrequests"},
	}
	tr, sar := countReviews(recs, marker)
	assert.Equal(t, 2, tr)
	assert.Equal(t, 1, sar)
}

func TestAuthnDenyCacheTTL(t *testing.T) {
	assert.Equal(t, 10*time.Second, authnDenyCacheTTL([]string{"--log-level=info"}))
	assert.Equal(t, 3*time.Second, authnDenyCacheTTL([]string{"--authn-deny-cache-ttl=3s"}))
}

func TestReportDefenceSections(t *testing.T) {
	r := newReport(config{levels: []int{1}, win: window{duration: time.Second}, latencyN: 1})
	assert.NotContains(t, r.markdown(), "## Overload")
	r.Overload = &Overload{Senders: 2000, DurationSeconds: 30, MaxInFlight: 200, ShedShare: 0.9,
		Accounting: Accounting{Alerts: 10, AlertsAccepted: 10, RemediationRequests: 10}}
	r.Flood = &Flood{Requests: 500, DistinctTokens: 20, Unauthorized: 500, TokenReviews: 20, TokenReviewsPerRequest: 0.04}
	md := r.markdown()
	assert.Contains(t, md, "## Overload")
	assert.Contains(t, md, "90.0% shed")
	assert.Contains(t, md, "lost 0, doubled 0")
	assert.Contains(t, md, "## Garbage-token flood")
	assert.Contains(t, md, "TokenReviews 20 (0.040 per request)")
}
