package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// overloadedType is the problem type of a request the gateway shed (docs/design.md).
const overloadedType = "https://kubernaut.ai/problems/overloaded"

// Overload is the gateway under more concurrent senders than its --max-in-flight: each sender
// sends new alerts one after another and redelivers a shed one after its Retry-After, as
// Alertmanager does, so that what the gateway accepted can be checked against what it stored.
type Overload struct {
	Senders           int     `json:"senders"`
	DurationSeconds   float64 `json:"durationSeconds"`
	MaxInFlight       int     `json:"maxInFlight"`
	RetryAfterSeconds float64 `json:"retryAfterSeconds"`
	// Answers counts what the gateway answered during the run (redeliveries included), by kind.
	Answers OverloadAnswers `json:"answers"`
	// ShedShare is 503 overloaded ÷ all answers during the run.
	ShedShare float64 `json:"shedShare"`
	// AcceptedPerSecond is the 2xx answers of the run ÷ its duration.
	AcceptedPerSecond float64 `json:"acceptedPerSecond"`
	// Latency is that of the requests answered 201 during the run.
	Latency Latency `json:"latencyCreated"`
	// ShedMetric is gateway_requests_shed_total summed over endpoints at the end (drain
	// included); -1 when /metrics could not be read.
	ShedMetric float64 `json:"shedMetric"`
	// RSS of the gateway process: after start-up, and its peak (VmHWM) at the end, in MiB.
	RSSStartMiB float64 `json:"rssStartMiB"`
	PeakRSSMiB  float64 `json:"peakRssMiB"`
	// Drain is the redelivery after the run, until every alert was accepted or the bound passed.
	DrainSeconds float64         `json:"drainSeconds"`
	DrainAnswers OverloadAnswers `json:"drainAnswers"`
	Accounting   Accounting      `json:"accounting"`
	// RawCreatesPerSecond is the highest raw create rate of this run's levels: the API server's
	// ceiling, of which a new signal needs a create and a status update.
	RawCreatesPerSecond float64 `json:"rawCreatesPerSecond,omitempty"`
}

// OverloadAnswers counts answers by kind.
type OverloadAnswers struct {
	All      int `json:"all"`
	Created  int `json:"created"`
	Accepted int `json:"accepted"` // 202: a redelivery of a stored alert
	Shed     int `json:"shed"`
	// Other is any other answer or a failed request (redelivered after a second).
	Other      int    `json:"other"`
	FirstOther string `json:"firstOther,omitempty"`
	// OtherByKind splits Other by problem type (its last segment), HTTP code or "request failed".
	OtherByKind map[string]int `json:"otherByKind,omitempty"`
}

func (a *OverloadAnswers) add(o outcome) {
	a.All++
	switch {
	case o.code == http.StatusCreated:
		a.Created++
	case o.code == http.StatusAccepted:
		a.Accepted++
	case o.shed:
		a.Shed++
	default:
		a.Other++
		if a.FirstOther == "" {
			a.FirstOther = o.note
		}
		if a.OtherByKind == nil {
			a.OtherByKind = map[string]int{}
		}
		a.OtherByKind[o.kind()]++
	}
}

// Accounting compares the alerts the gateway accepted with the RemediationRequests in the
// namespace: Lost is accepted and not stored, Doubled is stored more than once, Unexpected is
// stored although never accepted, Unaccepted never accepted within the drain bound.
type Accounting struct {
	Alerts              int `json:"alerts"`
	AlertsAccepted      int `json:"alertsAccepted"`
	Unaccepted          int `json:"unaccepted"`
	RemediationRequests int `json:"remediationRequests"`
	Lost                int `json:"lost"`
	Doubled             int `json:"doubled"`
	Unexpected          int `json:"unexpected"`
}

// account matches accepted alerts (by pod) with the pods of the stored RemediationRequests.
func account(alerts int, accepted map[string]bool, storedPods []string) Accounting {
	a := Accounting{Alerts: alerts, AlertsAccepted: len(accepted), Unaccepted: alerts - len(accepted), RemediationRequests: len(storedPods)}
	storedPerPod := map[string]int{}
	for _, p := range storedPods {
		storedPerPod[p]++
	}
	for p := range accepted {
		if storedPerPod[p] == 0 {
			a.Lost++
		}
	}
	for p, n := range storedPerPod {
		if n > 1 {
			a.Doubled += n - 1
		}
		if !accepted[p] {
			a.Unexpected++
		}
	}
	return a
}

// share is part ÷ whole, 0 for an empty whole.
func share(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// summarize is the percentiles of samples (nearest rank), in milliseconds.
func summarize(samples []time.Duration) Latency {
	s := slices.Clone(samples)
	slices.Sort(s)
	l := Latency{Requests: len(s)}
	if len(s) == 0 {
		return l
	}
	ms := func(q float64) float64 {
		idx := min(max(int(math.Ceil(q*float64(len(s))))-1, 0), len(s)-1)
		return float64(s[idx].Microseconds()) / 1000
	}
	l.P50, l.P95, l.P99, l.Max = ms(0.50), ms(0.95), ms(0.99), ms(1)
	return l
}

// outcome is one answer (or failed request).
type outcome struct {
	code       int
	shed       bool
	retryAfter time.Duration
	took       time.Duration
	done       time.Time
	note       string
	problem    string // the problem type of an error answer
}

// kind names an answer that was neither accepted nor shed.
func (o outcome) kind() string {
	switch {
	case o.problem != "":
		return o.problem[strings.LastIndexByte(o.problem, '/')+1:]
	case o.code != 0:
		return fmt.Sprintf("HTTP %d", o.code)
	default:
		return "request failed"
	}
}

func (o outcome) ok() bool { return o.code == http.StatusCreated || o.code == http.StatusAccepted }

// final says the alert must not be redelivered: accepted, or refused for good (a 4xx).
func (o outcome) final() bool { return o.ok() || (o.code >= 400 && o.code < 500) }

// overloadClient is the HTTP client of the overload: the benchmark's own client (its TLS
// settings included) with room for an idle keep-alive connection per sender.
func (b *bench) overloadClient(senders int) (*http.Client, error) {
	base, ok := b.http.Transport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("the benchmark's HTTP transport is a %T, not an *http.Transport", b.http.Transport)
	}
	t := base.Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = senders, senders
	c := *b.http
	c.Transport = t
	return &c, nil
}

// post sends one firing alert for pod in ns, as the default sender, and reads the answer.
func post(ctx context.Context, c *http.Client, url, token, ns, pod string) outcome {
	body := fmt.Appendf(nil, `{"version":"4","status":"firing","receiver":"loadbench","groupKey":"{}:{alertname=\"LoadBench\"}",`+
		`"alerts":[{"status":"firing","labels":{"alertname":"LoadBench","namespace":%q,"pod":%q,"container":"app","severity":"warning"},`+
		`"annotations":{"summary":"load benchmark","description":"a synthetic alert of the load benchmark"},`+
		`"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example:9090/graph"}]}`, ns, pod)
	begin := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, url+"/api/v1/signals/prometheus", bytes.NewReader(body))
	if err != nil {
		return outcome{note: err.Error(), done: time.Now()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return outcome{note: err.Error(), took: time.Since(begin), done: time.Now()}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	o := outcome{code: resp.StatusCode, took: time.Since(begin), done: time.Now()}
	if !o.ok() {
		var p struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(msg, &p) == nil {
			o.problem = p.Type
		}
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		o.shed = o.problem == overloadedType
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			o.retryAfter = time.Duration(s) * time.Second
		}
	}
	if !o.ok() && !o.shed {
		o.note = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return o
}

// overloadTally collects the senders' outcomes.
type overloadTally struct {
	mu       sync.Mutex
	until    time.Time
	run      OverloadAnswers
	drain    OverloadAnswers
	created  []time.Duration
	accepted map[string]bool
	alerts   int
	lastDone time.Time
}

func (t *overloadTally) record(pod string, o outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o.done.After(t.until) {
		t.drain.add(o)
	} else {
		t.run.add(o)
		if o.code == http.StatusCreated {
			t.created = append(t.created, o.took)
		}
	}
	if o.ok() {
		t.accepted[pod] = true
	}
	if o.done.After(t.lastDone) {
		t.lastDone = o.done
	}
}

// overload runs the overload measurement against a fresh gateway direct to the API server.
func (b *bench) overload(ctx context.Context, rep *Report) error {
	say := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "loadbench: "+format+"\n", args...) }
	senders, dur := b.cfg.overload.senders, b.cfg.overload.duration
	say("overload: %d senders for %s", senders, dur)
	client, err := b.overloadClient(senders)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	ns, err := b.namespace(ctx, "overload")
	if err != nil {
		return err
	}
	cfg, err := b.h.GatewayConfig(production)
	if err != nil {
		return err
	}
	g, err := b.startDirect(ctx)
	if err != nil {
		return err
	}
	o := &Overload{Senders: senders, DurationSeconds: dur.Seconds(), MaxInFlight: cfg.MaxInFlight,
		RetryAfterSeconds: cfg.UnavailableRetryAfter.Seconds(), ShedMetric: -1}
	for _, p := range rep.Raw.Create {
		o.RawCreatesPerSecond = max(o.RawCreatesPerSecond, p.PerSecond)
	}
	if st, err := procStatus(g.Pid()); err == nil {
		o.RSSStartMiB = st.rssKiB / 1024
	}
	tally := b.sendOverload(ctx, client, g.URL(), ns, senders, dur)
	if st, err := procStatus(g.Pid()); err == nil {
		o.PeakRSSMiB = st.hwmKiB / 1024
	}
	if v, err := b.shedMetric(ctx, client, g.URL()); err == nil {
		o.ShedMetric = v
	} else {
		say("  reading gateway_requests_shed_total: %v", err)
	}
	if err := g.Stop(30 * time.Second); err != nil {
		return fmt.Errorf("stopping the overloaded gateway: %w", err)
	}
	o.Answers, o.DrainAnswers = tally.run, tally.drain
	o.ShedShare = share(tally.run.Shed, tally.run.All)
	o.AcceptedPerSecond = float64(tally.run.Created+tally.run.Accepted) / dur.Seconds()
	o.Latency = summarize(tally.created)
	o.DrainSeconds = max(0, tally.lastDone.Sub(tally.until).Seconds())

	if o.Accounting, err = b.accountOverload(ctx, ns, tally); err != nil {
		return err
	}
	rep.Overload = o
	for _, l := range o.lines() {
		say("  %s", l)
	}
	return nil
}

// sendOverload runs senders senders against url for dur: each sends new alerts one after another, and
// redelivers an alert that was refused after its Retry-After (1 s without one), as Alertmanager
// would, until the drain period after dur ends.
func (b *bench) sendOverload(ctx context.Context, client *http.Client, url, ns string, senders int, dur time.Duration) *overloadTally {
	tally := &overloadTally{until: time.Now().Add(dur), accepted: map[string]bool{}}
	drainUntil := tally.until.Add(b.cfg.overload.drain)
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			for i := 0; time.Now().Before(tally.until) && ctx.Err() == nil; i++ {
				pod := fmt.Sprintf("ovl-%d-%d", w, i)
				tally.mu.Lock()
				tally.alerts++
				tally.mu.Unlock()
				b.deliver(ctx, client, url, ns, pod, drainUntil, tally)
			}
		})
	}
	wg.Wait()
	return tally
}

// deliver sends one alert until an answer is final or the drain period ends.
func (b *bench) deliver(ctx context.Context, client *http.Client, url, ns, pod string, until time.Time, tally *overloadTally) {
	for ctx.Err() == nil && time.Now().Before(until) {
		out := post(ctx, client, url, b.h.Sender.Token, ns, pod)
		tally.record(pod, out)
		if out.final() {
			return
		}
		wait := out.retryAfter
		if wait <= 0 {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// accountOverload compares what the senders were told with what the cluster holds, then removes
// the overload's objects: thousands left to the namespace controller would outlast the harness's
// wait for the CRD to go at its end, so one collection delete removes them now.
func (b *bench) accountOverload(ctx context.Context, ns string, tally *overloadTally) (Accounting, error) {
	var list v1alpha1.RemediationRequestList
	if err := b.h.Client.List(ctx, &list, ctrlclient.InNamespace(ns)); err != nil {
		return Accounting{}, fmt.Errorf("listing the RemediationRequests of the overload: %w", err)
	}
	pods := make([]string, 0, len(list.Items))
	for _, rr := range list.Items {
		pods = append(pods, rr.Spec.TargetResource.Name)
	}
	if err := b.h.Client.DeleteAllOf(ctx, &v1alpha1.RemediationRequest{}, ctrlclient.InNamespace(ns)); err != nil {
		fmt.Fprintf(os.Stderr, "loadbench:   deleting the overload's RemediationRequests: %v\n", err)
	}
	return account(tally.alerts, tally.accepted, pods), nil
}

// shedMetric reads gateway_requests_shed_total (all endpoints) with the scraper's token.
func (b *bench) shedMetric(ctx context.Context, c *http.Client, url string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+b.h.Scraper.Token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return metricSum(string(text), "gateway_requests_shed_total"), nil
}

// metricSum adds up the samples of one metric in the Prometheus text format.
func metricSum(text, name string) float64 {
	sum := 0.0
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// memStatus is the resident set of a process from /proc/PID/status, in KiB.
type memStatus struct{ rssKiB, hwmKiB float64 }

func procStatus(pid int) (memStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, fmt.Errorf("reading the gateway's memory: %w", err)
	}
	return parseStatus(string(b)), nil
}

func parseStatus(s string) memStatus {
	var m memStatus
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			m.rssKiB = n
		case "VmHWM":
			m.hwmKiB = n
		}
	}
	return m
}

func (o *Overload) lines() []string {
	a := o.Accounting
	return []string{
		fmt.Sprintf("%d senders for %gs against --max-in-flight=%d (Retry-After %gs): %d answers, %.1f%% shed (503 overloaded), %d other%s",
			o.Senders, o.DurationSeconds, o.MaxInFlight, o.RetryAfterSeconds, o.Answers.All, 100*o.ShedShare, o.Answers.Other, kinds(o.Answers.OtherByKind)),
		fmt.Sprintf("accepted %.1f/s (%d created, %d redeliveries answered 202); raw creates of this run at most %.0f/s", o.AcceptedPerSecond, o.Answers.Created, o.Answers.Accepted, o.RawCreatesPerSecond),
		"latency of the created (201): " + o.Latency.String(),
		fmt.Sprintf("gateway RSS %.0f MiB after start-up, peak %.0f MiB; gateway_requests_shed_total %.0f", o.RSSStartMiB, o.PeakRSSMiB, o.ShedMetric),
		fmt.Sprintf("after the run (requests in flight at its end, then redeliveries until accepted): %.1fs, %d answers (%d created, %d answered 202, %d shed, %d other%s)",
			o.DrainSeconds, o.DrainAnswers.All, o.DrainAnswers.Created, o.DrainAnswers.Accepted, o.DrainAnswers.Shed, o.DrainAnswers.Other, kinds(o.DrainAnswers.OtherByKind)),
		fmt.Sprintf("alerts %d, accepted %d, never accepted %d; RemediationRequests %d: lost %d, doubled %d, unexpected %d",
			a.Alerts, a.AlertsAccepted, a.Unaccepted, a.RemediationRequests, a.Lost, a.Doubled, a.Unexpected),
	}
}

// overloadAndFlood runs the two measurements of the gateway's defences that their flags enable.
func (b *bench) overloadAndFlood(ctx context.Context, rep *Report) error {
	if b.cfg.overload.senders > 0 {
		if err := b.overload(ctx, rep); err != nil {
			return err
		}
	}
	if b.cfg.flood.requests > 0 {
		return b.flood(ctx, rep)
	}
	return nil
}

// kinds renders the other answers by kind: " (auth-unavailable 3, HTTP 500 1)".
func kinds(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return ": " + strings.Join(parts, ", ")
}
