package steps

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
)

// Steps about what senders (Alertmanager, the cluster's event stream, careless clients) send.
func registerSignalSteps(sc *godog.ScenarioContext) {
	target := targetPattern(false)
	sc.Step(`^Alertmanager (sends|has sent) a firing alert "([^"]+)" with severity "([^"]*)" for `+target+`( in the second namespace| in a namespace that does not exist)?$`, sendFiringAlert)
	sc.Step(`^Alertmanager sends a firing alert "([^"]+)" with severity "([^"]*)" for `+target+` without waiting for the answer$`, sendFiringAlertAsync)
	sc.Step(`^Alertmanager sends a batch of firing alerts without waiting for the answer:$`, sendBatchAsync)
	sc.Step(`^Alertmanager sends a firing alert "([^"]+)" for `+target+` with a label "([^"]+)" of (\d+) characters$`, sendAlertWithLongLabel)
	sc.Step(`^Alertmanager sends a firing alert "([^"]+)" for `+target+` that also names `+target+`$`, sendAlertNamingTwo)
	sc.Step(`^Alertmanager sends a resolved alert "([^"]+)" for `+target+`$`, sendResolvedAlert)
	sc.Step(`^Alertmanager (sends|has sent) a batch of firing alerts:$`, sendBatch)
	sc.Step(`^Alertmanager (sends|has sent) the recorded notification "([^"]+)"$`, sendRecorded)
	sc.Step(`^Alertmanager sends the same alert (\d+) more times, one after another$`, sendSameAgain)
	sc.Step(`^Alertmanager sends (\d+) identical firing alerts "([^"]+)" for `+target+` at once$`, sendConcurrently)
	sc.Step(`^Alertmanager delivers the same notification again$`, redeliver)
	sc.Step(`^Alertmanager delivers a batch of firing alerts, redelivering on 503 until it is accepted:$`, deliverUntilAccepted)
	sc.Step(`^the cluster (reports|has reported) a (Warning|Normal) event "([^"]+)" for (pod|node) "([^"]+)"$`, sendEvent)
	sc.Step(`^a sender posts (.+) to the (alert|event) endpoint$`, sendBadInput)
	sc.Step(`^a sender posts a valid notification to the alert endpoint declared as "([^"]+)"$`, sendWithContentType)
	sc.Step(`^a sender posts a valid notification to the alert endpoint without a content type$`, sendWithoutContentType)
	sc.Step(`^a sender uses (GET|PUT|DELETE|PATCH) on the alert endpoint$`, sendWithMethod)
	sc.Step(`^a second namespace for this scenario$`, secondNamespace)
}

// checkPrecondition checks that a step phrased as a precondition ("has sent") was accepted, with an answer
// that keeps the contract.
func checkPrecondition(st *scenario, verb string, resp *response) error {
	if verb != "has sent" && verb != "has reported" {
		return nil
	}
	if resp.code != http.StatusCreated && resp.code != http.StatusAccepted {
		return fmt.Errorf("precondition failed: the gateway should have accepted the signal (201 or 202), but answered %s", resp)
	}
	if err := st.checkAnswer(resp); err != nil {
		return fmt.Errorf("precondition failed: %w", err)
	}
	return nil
}

func sendFiringAlert(ctx context.Context, verb, name, severity, kind, target, where string) error {
	st := state(ctx)
	a, err := st.newAlert(name, severity, kind, target)
	if err != nil {
		return err
	}
	switch where {
	case " in the second namespace":
		if st.second == "" {
			return fmt.Errorf("the scenario has no second namespace: add 'Given a second namespace for this scenario'")
		}
		a.namespace = st.second
	case " in a namespace that does not exist":
		st.missing = st.run.MissingNamespace(st.name)
		a.namespace = st.missing
	}
	resp, err := st.send(ctx, jsonRequest(alertPath, notification([]alert{a}, time.Now())))
	if err != nil {
		return err
	}
	return checkPrecondition(st, verb, resp)
}

func sendFiringAlertAsync(ctx context.Context, name, severity, kind, target string) error {
	st := state(ctx)
	a, err := st.newAlert(name, severity, kind, target)
	if err != nil {
		return err
	}
	st.sendAsync(ctx, notification([]alert{a}, time.Now()))
	return nil
}

// sendBatchAsync sends a batch and leaves its answer in flight, like sendFiringAlertAsync.
func sendBatchAsync(ctx context.Context, table *godog.Table) error {
	st := state(ctx)
	alerts, err := batchFromTable(st, table)
	if err != nil {
		return err
	}
	st.sendAsync(ctx, notification(alerts, time.Now()))
	return nil
}

// sendAsync posts a notification without waiting: its answer arrives on the exchange's
// inflight channel.
func (st *scenario) sendAsync(ctx context.Context, body []byte) {
	answer := st.exchange.awaitAnswer()
	go func() {
		resp, err := st.send(context.WithoutCancel(ctx), jsonRequest(alertPath, body))
		if err != nil {
			resp = &response{code: 0, body: []byte(err.Error())}
		}
		answer <- resp
	}()
}

func sendAlertWithLongLabel(ctx context.Context, name, kind, target, label string, length int) error {
	st := state(ctx)
	a, err := st.newAlert(name, "warning", kind, target)
	if err != nil {
		return err
	}
	a.extra = map[string]string{label: strings.Repeat("abcdefghij", length/10+1)[:length]}
	_, err = st.send(ctx, jsonRequest(alertPath, notification([]alert{a}, time.Now())))
	return err
}

// sendAlertNamingTwo sends an alert with two target labels, to prove which one the gateway takes.
func sendAlertNamingTwo(ctx context.Context, name, kind, target, otherKind, otherTarget string) error {
	st := state(ctx)
	a, err := st.newAlert(name, "warning", kind, target)
	if err != nil {
		return err
	}
	a.extra = map[string]string{otherKind: st.clusterName(otherKind, otherTarget)}
	_, err = st.send(ctx, jsonRequest(alertPath, notification([]alert{a}, time.Now())))
	return err
}

func sendResolvedAlert(ctx context.Context, name, kind, target string) error {
	st := state(ctx)
	a, err := st.newAlert(name, "critical", kind, target)
	if err != nil {
		return err
	}
	a.resolved = true
	_, err = st.send(ctx, jsonRequest(alertPath, notification([]alert{a}, time.Now())))
	return err
}

// batchFromTable reads | alert | kind | target | severity | rows.
func batchFromTable(st *scenario, table *godog.Table) ([]alert, error) {
	if len(table.Rows) < 2 {
		return nil, fmt.Errorf("the batch table needs a header and at least one alert")
	}
	var alerts []alert
	for i, row := range table.Rows[1:] {
		if len(row.Cells) != 4 {
			return nil, fmt.Errorf("batch row %d: want | alert | kind | target | severity |", i+1)
		}
		c := row.Cells
		a, err := st.newAlert(c[0].Value, c[3].Value, c[1].Value, c[2].Value)
		if err != nil {
			return nil, fmt.Errorf("batch row %d: %w", i+1, err)
		}
		alerts = append(alerts, a)
	}
	return alerts, nil
}

func sendBatch(ctx context.Context, verb string, table *godog.Table) error {
	st := state(ctx)
	alerts, err := batchFromTable(st, table)
	if err != nil {
		return err
	}
	resp, err := st.send(ctx, jsonRequest(alertPath, notification(alerts, time.Now())))
	if err != nil {
		return err
	}
	return checkPrecondition(st, verb, resp)
}

func sendRecorded(ctx context.Context, verb, name string) error {
	st := state(ctx)
	body, err := st.recordedNotification(name)
	if err != nil {
		return err
	}
	resp, err := st.send(ctx, jsonRequest(alertPath, body))
	if err != nil {
		return err
	}
	return checkPrecondition(st, verb, resp)
}

func (st *scenario) lastSent() (sentRequest, error) { return st.exchange.lastSent() }

func sendSameAgain(ctx context.Context, times int) error {
	st := state(ctx)
	req, err := st.lastSent()
	if err != nil {
		return err
	}
	for i := 0; i < times; i++ {
		if _, err := st.send(ctx, req); err != nil {
			return err
		}
	}
	return nil
}

// sendConcurrently releases all requests at once, the way two replicas of a sender, or a burst of
// redeliveries, would race.
func sendConcurrently(ctx context.Context, n int, name, kind, target string) error {
	st := state(ctx)
	a, err := st.newAlert(name, "critical", kind, target)
	if err != nil {
		return err
	}
	body := notification([]alert{a}, time.Now())
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := st.send(ctx, jsonRequest(alertPath, body))
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func redeliver(ctx context.Context) error {
	st := state(ctx)
	req, err := st.lastSent()
	if err != nil {
		return err
	}
	_, err = st.send(ctx, req)
	return err
}

// deliverUntilAccepted plays Alertmanager's redelivery: on a 5xx it sends the same notification
// again after the Retry-After the gateway asked for (Alertmanager retries about every second),
// within the suite's request bound. Each refusal must be a whole answer of the contract (problem
// details, a Retry-After in whole seconds as configured), or the redelivery stops there.
func deliverUntilAccepted(ctx context.Context, table *godog.Table) error {
	st := state(ctx)
	alerts, err := batchFromTable(st, table)
	if err != nil {
		return err
	}
	req := jsonRequest(alertPath, notification(alerts, time.Now()))
	attempts := 0
	return st.bounds().Until(ctx, st.bounds().Request, "the gateway to accept the batch", func(ctx context.Context) (bool, string, error) {
		if attempts > 0 {
			last, _ := st.lastResponse()
			wait, _ := strconv.Atoi(last.header.Get("Retry-After"))
			select {
			case <-ctx.Done():
				return false, "", ctx.Err()
			case <-time.After(time.Duration(wait) * time.Second):
			}
		}
		attempts++
		resp, err := st.send(ctx, req)
		if err != nil {
			return false, "", err
		}
		if resp.code >= 500 {
			// Alertmanager waits as the gateway asks: the answer must say how long, as the contract says.
			if err := st.checkAnswer(resp); err != nil {
				return false, "", fmt.Errorf("attempt %d: %w", attempts, err)
			}
			return false, fmt.Sprintf("attempt %d answered %s", attempts, resp), nil
		}
		return true, "", nil
	})
}

func sendEvent(ctx context.Context, verb, eventType, reason, kind, target string) error {
	st := state(ctx)
	body, err := st.event(kind, eventType, reason, target, time.Now())
	if err != nil {
		return err
	}
	resp, err := st.send(ctx, jsonRequest(eventPath, body))
	if err != nil {
		return err
	}
	return checkPrecondition(st, verb, resp)
}

func sendBadInput(ctx context.Context, what, endpoint string) error {
	st := state(ctx)
	body, err := st.badInput(what)
	if err != nil {
		return err
	}
	path := alertPath
	if endpoint == "event" {
		path = eventPath
	}
	_, err = st.send(ctx, jsonRequest(path, body))
	return err
}

func sendWithContentType(ctx context.Context, contentType string) error {
	st := state(ctx)
	a, err := st.newAlert("HighMemoryUsage", "critical", "pod", "api-0")
	if err != nil {
		return err
	}
	_, err = st.send(ctx, sentRequest{method: http.MethodPost, path: alertPath, contentType: contentType, body: notification([]alert{a}, time.Now())})
	return err
}

// sendWithoutContentType posts a valid notification with no Content-Type header at all, which
// the contract refuses with 415 like a wrong one.
func sendWithoutContentType(ctx context.Context) error {
	return sendWithContentType(ctx, "")
}

func sendWithMethod(ctx context.Context, method string) error {
	_, err := state(ctx).send(ctx, sentRequest{method: method, path: alertPath})
	return err
}

func secondNamespace(ctx context.Context) error {
	st := state(ctx)
	st.second = st.run.NamespaceName(st.name + " second")
	return st.createNamespace(ctx, st.second)
}
