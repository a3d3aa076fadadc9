package steps

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/support/gatewayconf"
)

// Steps about overload: a gateway that takes only so many signals at once sheds the rest at
// once, with a 503 that tells the sender when to come back, and loses nothing the senders then
// redeliver.
func registerOverloadSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a dedicated gateway with its own path to the Kubernetes API that takes at most (\d+) signals? at once and waits up to (\d+) seconds for each API call$`, dedicatedGatewayLimited)
	sc.Step(`^while the gateway sheds a burst of (\d+) alerts, its health probes and metrics answer 200$`, probesWhileShedding)
	sc.Step(`^(\d+) senders each send a different firing alert at the same moment$`, burst)
	sc.Step(`^the gateway accepts at most (\d+) of them and sheds the others at once with 503, asking them to come back after its retry interval$`, shedAtOnce)
	sc.Step(`^the gateway's metrics count every shed alert$`, shedCounted)
	sc.Step(`^each sender redelivers its shed alert until it is accepted$`, redeliverShed)
	sc.Step(`^every alert of the burst has exactly one remediation request$`, burstStoredOnce)
	sc.Step(`^a sender presents the same unknown token (\d+) times$`, garbageTokenFlood)
	sc.Step(`^every one of those requests is answered 401, and only the first cost the API a review of that token$`, reviewedOnce)
}

// burstKey holds, in the context of the steps that follow, the alerts of a burst and their
// first answers.
type burstKey struct{}

type burstAlert struct {
	alert alert
	req   sentRequest
	first *response
}

// dedicatedGatewayLimited is a gateway that takes at most n signals at once, patient enough per
// API call that a slowed API keeps its accepted signals in flight rather than failing them.
func dedicatedGatewayLimited(ctx context.Context, n, callTimeout int) error {
	return state(ctx).startDedicated(ctx, func(c *gatewayconf.Config) {
		c.MaxInFlight = n
		c.APICallTimeout = time.Duration(callTimeout) * time.Second
		c.RequestDeadline = max(c.RequestDeadline, 5*c.APICallTimeout)
	})
}

// burst sends n different alerts, each in its own request, released at the same moment.
func burst(ctx context.Context, n int) (context.Context, error) {
	return sendBurst(ctx, n, nil)
}

// sendBurst sends a burst; during, if given, runs while the burst is in flight, with a channel
// on which each answer arrives.
func sendBurst(ctx context.Context, n int, during func(answers <-chan *response) error) (context.Context, error) {
	st := state(ctx)
	alerts := make([]*burstAlert, n)
	for i := range alerts {
		a, err := st.newAlert(fmt.Sprintf("Burst%03d", i+1), "warning", "pod", "api-7f9c")
		if err != nil {
			return ctx, err
		}
		alerts[i] = &burstAlert{alert: a, req: jsonRequest(alertPath, notification([]alert{a}, time.Now()))}
	}
	start := make(chan struct{})
	errs := make([]error, n)
	answers := make(chan *response, n)
	var wg sync.WaitGroup
	for i, b := range alerts {
		wg.Go(func() {
			<-start
			// sendOnce: the senders' redelivery is a step of its own.
			b.first, errs[i] = st.sendOnce(ctx, b.req)
			answers <- b.first
		})
	}
	close(start)
	var duringErr error
	if during != nil {
		duringErr = during(answers)
	}
	wg.Wait()
	if duringErr != nil {
		return ctx, duringErr
	}
	for i, err := range errs {
		if err != nil {
			return ctx, fmt.Errorf("alert %d of the burst: %w", i+1, err)
		}
	}
	firsts := make([]*response, len(alerts))
	for i, b := range alerts {
		firsts[i] = b.first
	}
	st.exchange.recordAll(firsts)
	return context.WithValue(ctx, burstKey{}, alerts), nil
}

func burstOf(ctx context.Context) ([]*burstAlert, error) {
	alerts, ok := ctx.Value(burstKey{}).([]*burstAlert)
	if !ok {
		return nil, fmt.Errorf("no burst was sent: the scenario must first say 'N senders each send a different firing alert at the same moment'")
	}
	return alerts, nil
}

// shedAtOnce checks the first answers of a burst: at most limit accepted (201), every other one a
// whole 503 overloaded problem with the gateway's Retry-After, answered at once (within the run's
// answer margin: the gateway did no API work for it), and at least one of each.
func shedAtOnce(ctx context.Context, limit int) error {
	st := state(ctx)
	alerts, err := burstOf(ctx)
	if err != nil {
		return err
	}
	accepted, shed := 0, 0
	for i, b := range alerts {
		r := b.first
		switch r.code {
		case http.StatusCreated:
			accepted++
		case http.StatusServiceUnavailable:
			shed++
			if err := st.checkProblem(r); err != nil {
				return fmt.Errorf("alert %d: %w", i+1, err)
			}
			if r.problem.Type != problemTypeBase+"overloaded" {
				return fmt.Errorf("alert %d was refused as %q, not as overloaded: %s", i+1, r.problem.Type, r)
			}
			if took, bound := r.at.Sub(r.sentAt), st.bounds().AnswerMargin; took > bound {
				return fmt.Errorf("alert %d was shed after %s; shedding is at once, within %s: %s", i+1, took.Round(time.Millisecond), bound, r)
			}
		default:
			return fmt.Errorf("alert %d was answered %s; a burst gets 201 or 503 overloaded", i+1, r)
		}
	}
	if accepted == 0 || accepted > limit || shed == 0 {
		return fmt.Errorf("of %d alerts, %d were accepted and %d shed; expected between 1 and %d accepted and the rest shed: %v",
			len(alerts), accepted, shed, limit, codes(firstAnswers(alerts)))
	}
	return nil
}

func firstAnswers(alerts []*burstAlert) []*response {
	rs := make([]*response, len(alerts))
	for i, b := range alerts {
		rs[i] = b.first
	}
	return rs
}

// shedCounted checks that gateway_requests_shed_total counts exactly the alerts of the burst the
// gateway shed (the scenario's gateway is its own: nothing else sends to it).
func shedCounted(ctx context.Context) error {
	st := state(ctx)
	alerts, err := burstOf(ctx)
	if err != nil {
		return err
	}
	want := 0
	for _, b := range alerts {
		if b.first.code == http.StatusServiceUnavailable {
			want++
		}
	}
	families, err := st.scrape(ctx)
	if err != nil {
		return err
	}
	got, err := value(families, `gateway_requests_shed_total{endpoint="prometheus"}`)
	if err != nil {
		return err
	}
	if int(got) != want {
		return fmt.Errorf("gateway_requests_shed_total{endpoint=\"prometheus\"} is %g, but the gateway shed %d alerts", got, want)
	}
	return nil
}

// redeliverShed plays each shed sender: it waits the Retry-After its 503 asked for, then sends the
// same notification again, until it is accepted, within the suite's request bound.
func redeliverShed(ctx context.Context) error {
	st := state(ctx)
	alerts, err := burstOf(ctx)
	if err != nil {
		return err
	}
	errs := make([]error, len(alerts))
	var wg sync.WaitGroup
	for i, b := range alerts {
		if b.first.code != http.StatusServiceUnavailable {
			continue
		}
		wg.Go(func() {
			last := b.first
			errs[i] = st.bounds().Until(ctx, st.bounds().Request, fmt.Sprintf("the gateway to accept alert %d", i+1), func(ctx context.Context) (bool, string, error) {
				wait, _ := strconv.Atoi(last.header.Get("Retry-After"))
				select {
				case <-ctx.Done():
					return false, "", ctx.Err()
				case <-time.After(time.Duration(wait) * time.Second):
				}
				r, err := st.sendOnce(ctx, b.req)
				if err != nil {
					return false, "", err
				}
				last = r
				if r.code == http.StatusServiceUnavailable {
					if err := st.checkProblem(r); err != nil {
						return false, "", err
					}
					return false, r.String(), nil
				}
				if r.code != http.StatusCreated {
					return false, "", fmt.Errorf("the redelivered alert %d was answered %s, not 201: it was stored before, or lost", i+1, r)
				}
				return true, "", nil
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// burstStoredOnce checks from the cluster that each alert of the burst has exactly one
// remediation request, first seen once, and that the namespace holds nothing else.
func burstStoredOnce(ctx context.Context) error {
	st := state(ctx)
	alerts, err := burstOf(ctx)
	if err != nil {
		return err
	}
	return st.bounds().Await(ctx, fmt.Sprintf("each of the %d alerts of the burst to be stored once", len(alerts)), func(ctx context.Context) (bool, string, error) {
		items, err := st.list(ctx, st.ns)
		if err != nil {
			return false, "", err
		}
		byName := map[string]int{}
		for _, rr := range items {
			byName[rr.Spec.SignalName]++
			var n int32
			if d := rr.Status.Deduplication; d != nil {
				n = d.OccurrenceCount
			}
			switch {
			case n == 0:
				return false, fmt.Sprintf("the first occurrence of %s is not recorded yet", rr.Spec.SignalName), nil
			case n > 1:
				return false, "", fmt.Errorf("%s (%s) has occurrence count %d: a shed alert was counted, or stored twice", rr.Name, rr.Spec.SignalName, n)
			}
		}
		for _, b := range alerts {
			if byName[b.alert.name] > 1 {
				return false, "", fmt.Errorf("%s has %d remediation requests", b.alert.name, byName[b.alert.name])
			}
			if byName[b.alert.name] == 0 {
				return false, fmt.Sprintf("%d of %d stored; %s not yet", len(items), len(alerts), b.alert.name), nil
			}
		}
		if len(items) != len(alerts) {
			return false, "", fmt.Errorf("the namespace holds %d remediation requests for a burst of %d alerts", len(items), len(alerts))
		}
		return true, "", nil
	})
}

// probesWhileShedding sends a burst and, once the gateway has shed one of it (so every slot is
// taken) and while an accepted alert is still unanswered, asks /readyz, /healthz and /metrics:
// each must answer 200. An accepted alert answered before the probes are done leaves the proof
// open, and fails the step rather than passing it.
func probesWhileShedding(ctx context.Context, n int) (context.Context, error) {
	st := state(ctx)
	return sendBurst(ctx, n, func(answers <-chan *response) error {
		shed, accepted := 0, 0
		err := st.bounds().Until(ctx, st.bounds().Request, "the gateway to shed an alert of the burst", func(context.Context) (bool, string, error) {
			for {
				select {
				case r := <-answers:
					if r == nil {
						continue
					}
					if r.code == http.StatusServiceUnavailable {
						shed++
					} else {
						accepted++
					}
				default:
					if accepted > 0 {
						return false, "", fmt.Errorf("an accepted alert was answered before any was shed: nothing was in flight to fill the gateway")
					}
					return shed > 0, fmt.Sprintf("%d shed", shed), nil
				}
			}
		})
		if err != nil {
			return err
		}
		for _, path := range []string{"/readyz", "/healthz"} {
			a, err := st.health(ctx, path)
			if err != nil {
				return err
			}
			if a.code != http.StatusOK {
				return fmt.Errorf("%s answered %d while the gateway was full; probes are never shed", path, a.code)
			}
		}
		if _, unavailable, err := st.scrapeOnce(ctx); err != nil || unavailable != nil {
			return fmt.Errorf("/metrics while the gateway was full: %v %v; metrics are never shed", err, unavailable)
		}
		for {
			select {
			case r := <-answers:
				if r != nil && r.code != http.StatusServiceUnavailable {
					return fmt.Errorf("an accepted alert was answered (%s) before the probes were done: they may not have met a full gateway; slow the API down further", r)
				}
			default:
				return nil
			}
		}
	})
}

// floodKey holds, in the context of the steps that follow, when a garbage-token flood began and
// its answers.
type floodKey struct{}

type flood struct {
	began   time.Time
	answers []*response
}

// garbageTokenFlood sends n alerts one after another, each with the same token that no
// ServiceAccount has.
func garbageTokenFlood(ctx context.Context, n int) (context.Context, error) {
	st := state(ctx)
	a, err := st.newAlert("HighMemoryUsage", "critical", "pod", "api-7f9c")
	if err != nil {
		return ctx, err
	}
	req := jsonRequest(alertPath, notification([]alert{a}, time.Now()))
	req.authorization = "Bearer not-a-token-of-" + st.ns
	f := &flood{began: time.Now()}
	for i := 0; i < n; i++ {
		r, err := st.sendOnce(ctx, req)
		if err != nil {
			return ctx, fmt.Errorf("request %d of the flood: %w", i+1, err)
		}
		f.answers = append(f.answers, r)
	}
	return context.WithValue(ctx, floodKey{}, f), nil
}

// reviewedOnce checks every answer of the flood (a whole 401 problem) and counts, in the fault
// proxy's record of the scenario's own gateway, the TokenReviews it made since the flood began:
// the first request costs one (more only if the API was too slow and the review was retried),
// the refusal is remembered, and the rest cost none.
func reviewedOnce(ctx context.Context) error {
	st := state(ctx)
	f, ok := ctx.Value(floodKey{}).(*flood)
	if !ok {
		return fmt.Errorf("no flood was sent: the scenario must first say 'a sender presents the same unknown token N times'")
	}
	for i, r := range f.answers {
		if r.code != http.StatusUnauthorized {
			return fmt.Errorf("request %d of the flood was answered %s, not 401", i+1, r)
		}
		if err := st.checkProblem(r); err != nil {
			return fmt.Errorf("request %d of the flood: %w", i+1, err)
		}
	}
	if _, err := st.dedicated(); err != nil {
		return fmt.Errorf("counting the gateway's TokenReviews needs a gateway no other scenario uses: %w", err)
	}
	p, err := st.proxy()
	if err != nil {
		return err
	}
	reviews := 0
	for _, rec := range p.Requests("") {
		if rec.Resource == "tokenreviews" && rec.Method == http.MethodPost && !rec.Time.Before(f.began) {
			reviews++
		}
	}
	// The first request's review may be retried on a slow API (its retry attempts); every later
	// request must find the refusal remembered.
	bound := max(1, st.gatewayConfig().RetryAttempts)
	if len(f.answers) <= 2*bound {
		return fmt.Errorf("a flood of %d requests cannot tell a remembered refusal from retries (up to %d reviews): send more than %d", len(f.answers), bound, 2*bound)
	}
	if reviews < 1 || reviews > bound {
		return fmt.Errorf("%d requests with one unknown token cost %d TokenReviews; a refused token is remembered, so they cost those of the first request only (1, at most %d with its retries)",
			len(f.answers), reviews, bound)
	}
	return nil
}
