package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubernaut/gateway-contract/support/poll"
)

// receiver is a webhook endpoint that answers from a script and records what it got.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	script   []int // status codes for the first requests; 200 after them
	requests []received
}

type received struct {
	at      time.Time
	status  int // what the receiver answered
	header  http.Header
	message WebhookMessage
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m WebhookMessage
		body, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("the webhook body is not a webhook message: %v\n%s", err, body)
		}
		r.mu.Lock()
		status := http.StatusOK
		if n := len(r.requests); n < len(r.script) {
			status = r.script[n]
		}
		r.requests = append(r.requests, received{at: time.Now(), status: status, header: req.Header.Clone(), message: m})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

// waitFor polls until the receiver has at least n requests.
func (r *receiver) waitFor(ctx context.Context, t *testing.T, n int) []received {
	t.Helper()
	err := poll.Defaults().Await(ctx, fmt.Sprintf("%d webhook requests", n), func(context.Context) (bool, string, error) {
		got := r.got()
		return len(got) >= n, fmt.Sprintf("%d requests", len(got)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r.got()
}

func startFor(ctx context.Context, t *testing.T, o Options) *Alertmanager {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a real Alertmanager")
	}
	o.WorkDir = t.TempDir()
	o.Log = &testLog{t: t}
	am, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := am.Stop(); err != nil {
			t.Error(err)
		}
	})
	return am
}

// testLog sends Alertmanager's log to t.Log, line by line. The process is stopped in a cleanup,
// and Stop returns only after its output is copied, so no line comes after the test.
type testLog struct {
	t  *testing.T
	mu sync.Mutex
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.t.Log("alertmanager: " + line)
	}
	return len(p), nil
}

// crashLooping is a firing alert that started at startsAt. Give startsAt about now, not earlier:
// a new group whose first alert started more than group_wait ago is flushed at once, which could
// split the alerts of one push across notifications.
func crashLooping(pod string, startsAt time.Time) Alert {
	return Alert{
		Labels:       map[string]string{"alertname": "KubePodCrashLooping", "namespace": "payments", "pod": pod, "severity": "critical"},
		Annotations:  map[string]string{"summary": "Pod is crash looping"},
		StartsAt:     startsAt,
		EndsAt:       startsAt.Add(time.Hour),
		GeneratorURL: "http://prometheus.example:9090/graph?g0.expr=x",
	}
}

// TestGroupsAlertsIntoOneAuthenticatedNotificationAndSendsResolved drives a real Alertmanager as
// Prometheus would: three alerts of one group arrive as one POST carrying the bearer token from
// the file; resolving them (endsAt in the past) sends the group again with per-alert status.
func TestGroupsAlertsIntoOneAuthenticatedNotificationAndSendsResolved(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	am := startFor(ctx, t, Options{
		ReceiverURL:     rcv.srv.URL + "/api/v1/signals/prometheus",
		BearerTokenFile: token,
		SendResolved:    true,
	})

	fired := time.Now()
	pods := []string{"api-7d9f-abcde", "api-7d9f-fghij", "worker-55c-xyz12"}
	steps := []struct {
		name         string
		push         []Alert
		wantStatus   string            // the group's status
		wantAlerts   map[string]string // pod -> the alert's status
		wantRequests int               // the receiver's total after the step
	}{
		{
			name:         "three firing alerts of one group arrive in one notification",
			push:         []Alert{crashLooping(pods[0], fired), crashLooping(pods[1], fired), crashLooping(pods[2], fired)},
			wantStatus:   "firing",
			wantAlerts:   map[string]string{pods[0]: "firing", pods[1]: "firing", pods[2]: "firing"},
			wantRequests: 1,
		},
		{
			name:         "one resolved alert: the group is still firing, that alert is resolved",
			push:         []Alert{crashLooping(pods[0], fired).Resolve(time.Now())},
			wantStatus:   "firing",
			wantAlerts:   map[string]string{pods[0]: "resolved", pods[1]: "firing", pods[2]: "firing"},
			wantRequests: 2,
		},
		{
			// A resolved alert that was delivered leaves the group: it is not sent again.
			name:         "the rest resolved: the group is resolved",
			push:         []Alert{crashLooping(pods[1], fired).Resolve(time.Now()), crashLooping(pods[2], fired).Resolve(time.Now())},
			wantStatus:   "resolved",
			wantAlerts:   map[string]string{pods[1]: "resolved", pods[2]: "resolved"},
			wantRequests: 3,
		},
	}
	for _, step := range steps {
		pushed := time.Now()
		if err := am.Push(ctx, step.push); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got := rcv.waitFor(ctx, t, step.wantRequests)
		if len(got) != step.wantRequests {
			t.Fatalf("%s: the receiver got %d requests, want %d", step.name, len(got), step.wantRequests)
		}
		last := got[len(got)-1]
		t.Logf("%s: delivered %s after the push", step.name, last.at.Sub(pushed).Round(time.Millisecond))
		if auth := last.header.Get("Authorization"); auth != "Bearer s3cret-token" {
			t.Errorf("%s: Authorization = %q, want the token from the file", step.name, auth)
		}
		if ua := last.header.Get("User-Agent"); ua != "Alertmanager/"+strings.TrimPrefix(Version, "v") {
			t.Errorf("%s: User-Agent = %q, want the stamped version", step.name, ua)
		}
		if ct := last.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type = %q", step.name, ct)
		}
		m := last.message
		if m.Status != step.wantStatus || m.Version != "4" || m.Receiver != "gateway" ||
			m.GroupLabels["alertname"] != "KubePodCrashLooping" || m.GroupLabels["namespace"] != "payments" || len(m.GroupLabels) != 2 {
			t.Errorf("%s: message status %q version %q receiver %q group labels %v", step.name, m.Status, m.Version, m.Receiver, m.GroupLabels)
		}
		statuses := map[string]string{}
		for _, a := range m.Alerts {
			statuses[a.Labels["pod"]] = a.Status
		}
		if fmt.Sprint(statuses) != fmt.Sprint(step.wantAlerts) {
			t.Errorf("%s: alert statuses %v, want %v", step.name, statuses, step.wantAlerts)
		}
		if m.ExternalURL != am.URL() {
			t.Errorf("%s: externalURL %q, want %q", step.name, m.ExternalURL, am.URL())
		}
	}
	// The counters move when the request returns, just after the receiver recorded it.
	want := Delivery{Notifications: 3, Requests: 3}
	err := poll.Defaults().Await(ctx, "Alertmanager's webhook counters to be "+want.String(), func(ctx context.Context) (bool, string, error) {
		d, err := am.Delivery(ctx)
		return d == want, d.String(), err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRedelivery shows how Alertmanager treats a receiver's failures: a 5xx is retried within
// the same notification (exponential backoff from 500ms), a 4xx (429 included) is given up at
// once and sent again only at the next group interval.
func TestRedelivery(t *testing.T) {
	const groupInterval = 2 * time.Second
	tests := []struct {
		name   string
		script []int
		want   Delivery
		// retried says whether the later attempts belong to the same notification (within the
		// group interval) or to the next one (a group interval later).
		retried bool
	}{
		{name: "503 twice then 200", script: []int{503, 503}, want: Delivery{Notifications: 1, Requests: 3, RequestsFailed: 2}, retried: true},
		{name: "500 then 200", script: []int{500}, want: Delivery{Notifications: 1, Requests: 2, RequestsFailed: 1}, retried: true},
		{name: "400 then 200", script: []int{400}, want: Delivery{Notifications: 2, NotificationsFailed: 1, Requests: 2, RequestsFailed: 1}},
		{name: "429 then 200", script: []int{429}, want: Delivery{Notifications: 2, NotificationsFailed: 1, Requests: 2, RequestsFailed: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			rcv := newReceiver(t, tc.script...)
			am := startFor(ctx, t, Options{ReceiverURL: rcv.srv.URL, GroupInterval: groupInterval})
			alert := crashLooping("api-7d9f-abcde", time.Now())
			if err := am.Push(ctx, []Alert{alert}); err != nil {
				t.Fatal(err)
			}
			got := rcv.waitFor(ctx, t, tc.want.Requests)
			var gaps []string
			for i := 1; i < len(got); i++ {
				gap := got[i].at.Sub(got[i-1].at)
				gaps = append(gaps, fmt.Sprintf("%d after %s", got[i].status, gap.Round(time.Millisecond)))
				if got[i].message.GroupKey != got[0].message.GroupKey || len(got[i].message.Alerts) != 1 {
					t.Errorf("attempt %d carried group %q with %d alerts, want the same group and alert", i+1, got[i].message.GroupKey, len(got[i].message.Alerts))
				}
				// Backoff intervals are 500ms±50% growing by 1.5: well inside the group interval.
				// A resend waits for the group's next flush: about one group interval.
				if tc.retried && gap >= groupInterval {
					t.Errorf("attempt %d came %s after the one before; a retry within the notification should come sooner than the group interval %s", i+1, gap, groupInterval)
				}
				if !tc.retried && gap < groupInterval/2 {
					t.Errorf("attempt %d came %s after the one before; a 4xx should not be retried before the next group interval %s", i+1, gap, groupInterval)
				}
			}
			t.Logf("receiver answered %d first; then %s", got[0].status, strings.Join(gaps, ", "))
			var last Delivery
			err := poll.Defaults().Await(ctx, "Alertmanager's webhook counters to be "+tc.want.String(), func(ctx context.Context) (bool, string, error) {
				d, err := am.Delivery(ctx)
				if err != nil {
					return false, "", err
				}
				last = d
				return d == tc.want, d.String(), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(rcv.got()); n != tc.want.Requests {
				t.Errorf("the receiver got %d requests, Alertmanager counted %s", n, last)
			}
			if last.Delivered() != 1 {
				t.Errorf("Delivered() = %d, want 1: every script ends with one notification that reached the receiver (%s)", last.Delivered(), last)
			}
		})
	}
}

func TestStopIsSafeTwiceAndEndsTheProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rcv := newReceiver(t)
	am := startFor(ctx, t, Options{ReceiverURL: rcv.srv.URL})
	if err := am.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-am.Exited():
	default:
		t.Fatal("Stop returned before the process exited")
	}
	if err := am.Stop(); err != nil {
		t.Fatalf("second Stop() = %v", err)
	}
	if !strings.Contains(am.Log(0), "Received SIGTERM") {
		t.Errorf("Alertmanager did not log a graceful stop; its log:\n%s", am.Log(20))
	}
	if err := am.Push(ctx, []Alert{crashLooping("p", time.Now())}); err == nil {
		t.Error("Push to a stopped Alertmanager succeeded")
	}
}
