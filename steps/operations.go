package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"k8s.io/client-go/kubernetes"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/support/gatewayconf"
)

// Steps about running the gateway: its own gateway for scenarios that disturb it, health,
// metrics, permissions and shutdown.
func registerOperationSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a dedicated gateway with its own path to the Kubernetes API$`, dedicatedGateway)
	sc.Step(`^a dedicated gateway with its own path to the Kubernetes API, a request deadline of (\d+) seconds and an API call timeout of (\d+) seconds$`, dedicatedGatewayPatient)
	sc.Step(`^a dedicated gateway with its own path to the Kubernetes API, a request deadline of (\d+) seconds, an API call timeout of (\d+) seconds and a shutdown timeout of (\d+) seconds$`, dedicatedGatewayPatientDrain)
	sc.Step(`^the gateway reports (ready|not ready)$`, reportsReadiness)
	sc.Step(`^the gateway still reports alive$`, reportsAlive)
	sc.Step(`^the Kubernetes API becomes (unreachable|reachable again)$`, outage)
	sc.Step(`^the gateway is told to stop while the (?:alert|batch) is in flight$`, stopWhileInFlight)
	sc.Step(`^the gateway reports not ready while it stops$`, notReadyWhileStopping)
	sc.Step(`^the (?:alert|batch) in flight is answered (\d+)$`, inflightAnswered)
	sc.Step(`^the gateway process exits cleanly$`, exitsCleanly)
	registerMetricSteps(sc)
	registerAccessSteps(sc)
	registerDeploymentSteps(sc)
	registerOverloadSteps(sc)
	registerFallbackAuthSteps(sc)
}

// dedicatedShutdownDelay is the dedicated gateways' shutdown delay: how long /readyz answers 503
// after SIGTERM before the server stops listening and drains what is in flight, as it would while
// a Service drops the endpoint (the shared gateway does not need it). Two seconds, so that a probe
// every 50 ms sees it even on a machine short of CPU (make flake LOAD=1).
const dedicatedShutdownDelay = 2 * time.Second

// drains is the premise of every dedicated gateway: it drains for dedicatedShutdownDelay.
func drains(c *gatewayconf.Config) { c.ShutdownDelay = dedicatedShutdownDelay }

// sigtermKey holds, in the context of the steps that follow, when the scenario told its gateway
// to stop.
type sigtermKey struct{}

func dedicatedGateway(ctx context.Context) error { return state(ctx).startDedicated(ctx) }

// patient is a gateway that waits up to deadline seconds for all the API work of a request, and
// callTimeout seconds for one call: for a scenario whose gateway must outlast a long,
// deliberately slow request.
func patient(deadline, callTimeout int) gatewayconf.Premise {
	return func(c *gatewayconf.Config) {
		c.RequestDeadline = time.Duration(deadline) * time.Second
		c.APICallTimeout = time.Duration(callTimeout) * time.Second
	}
}

// dedicatedGatewayPatient is for a scenario whose gateway must outlast a long, deliberately slow
// request; the bounds it asserts follow its premise.
func dedicatedGatewayPatient(ctx context.Context, deadline, callTimeout int) error {
	return state(ctx).startDedicated(ctx, patient(deadline, callTimeout))
}

// dedicatedGatewayPatientDrain is a patient gateway whose drain on shutdown (15 s in the suite)
// must outlast its request deadline, or the drain, not the deadline, would end a slow request in
// flight.
func dedicatedGatewayPatientDrain(ctx context.Context, deadline, callTimeout, shutdownTimeout int) error {
	if shutdownTimeout <= deadline {
		return fmt.Errorf("a shutdown timeout of %d s would end the drain before a request deadline of %d s: give it more", shutdownTimeout, deadline)
	}
	return state(ctx).startDedicated(ctx, patient(deadline, callTimeout),
		func(c *gatewayconf.Config) { c.ShutdownTimeout = time.Duration(shutdownTimeout) * time.Second })
}

// placement is the scenario's part of the steps that give it a gateway of its own (here) or a
// control plane of its own (containerfaults.go): whether it has them, and the cluster its
// gateway writes to. The undo of a control plane of its own puts the run's cluster back while a
// signal sent without waiting may still be reading it, hence the lock.
type placement struct {
	mu      sync.Mutex
	on      clusterView   // the cluster the scenario's gateway writes to
	ownGW   bool          // the scenario's gateway is a dedicated one, which it stops
	cluster *controlPlane // a control plane of the scenario's own, when it has one
}

func (p *placement) ownGateway() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ownGW
}

func (p *placement) ownControlPlane() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cluster != nil
}

// controlPlane is the scenario's own control plane; nil when it has none.
func (p *placement) controlPlane() *controlPlane {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cluster
}

// dedicate records that the scenario's gateway is its own, on cp when that is not nil.
func (p *placement) dedicate(cp *controlPlane) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ownGW = true
	if cp != nil {
		p.cluster, p.on = cp, cp.on
	}
}

// leave puts back the run's cluster once the control plane of the scenario's own is gone.
func (p *placement) leave(run clusterView) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cluster, p.on = nil, run
}

func (p *placement) view() clusterView {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.on
}

// kube and client reach the cluster the scenario's gateway writes to: the run's, or the
// scenario's own control plane.
func (st *scenario) kube() kubernetes.Interface { return st.placement.view().kube }

func (st *scenario) client() ctrlclient.Client { return st.placement.view().client }

func (st *scenario) startDedicated(ctx context.Context, premises ...gatewayconf.Premise) error {
	if st.senders.hasAlertmanager() {
		return fmt.Errorf("the dedicated gateway must come before the Alertmanager, which sends to the gateway it found")
	}
	gw, stop, err := st.run.StartGateway(ctx, st.ns, append([]gatewayconf.Premise{drains}, premises...)...)
	if err != nil {
		return err
	}
	st.undo.Push("the dedicated gateway", func(context.Context) error { return stop() })
	st.gw = gw
	st.placement.dedicate(nil)
	return nil
}

func (st *scenario) dedicated() (gatewayDriver, error) {
	if !st.placement.ownGateway() {
		return nil, fmt.Errorf("this step disturbs the gateway: the scenario must start with 'Given a dedicated gateway with its own path to the Kubernetes API'")
	}
	return st.gw, nil
}

// healthAnswer is one answer of /healthz or /readyz.
type healthAnswer struct {
	code  int
	took  time.Duration
	state string // the body's status: "ok" or "not ready"
}

// health asks /healthz or /readyz and checks the answer against the contract: application/json
// {"status":"ok"} with 200, {"status":"not ready","reason":...} with 503, and, for /readyz, within
// its own bound (the API must answer discovery within 1 s) plus the run's AnswerMargin.
func (st *scenario) health(ctx context.Context, path string) (healthAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, st.bounds().Request)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.gw.URL()+path, nil)
	if err != nil {
		return healthAnswer{}, err
	}
	begin := time.Now()
	resp, err := st.gw.HTTPClient().Do(req)
	if err != nil {
		return healthAnswer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return healthAnswer{}, fmt.Errorf("reading the answer of %s: %w", path, err)
	}
	a := healthAnswer{code: resp.StatusCode, took: time.Since(begin)}
	var doc struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if mediaType(resp.Header) != "application/json" || json.Unmarshal(body, &doc) != nil {
		return a, fmt.Errorf("%s answered %d with Content-Type %q, not the documented JSON: %s", path, a.code, resp.Header.Get("Content-Type"), body)
	}
	a.state = doc.Status
	switch {
	case a.code == http.StatusOK && doc.Status != "ok",
		a.code == http.StatusServiceUnavailable && (doc.Status != "not ready" || doc.Reason == ""),
		a.code != http.StatusOK && a.code != http.StatusServiceUnavailable:
		return a, fmt.Errorf("%s answered %d %s: expected 200 {\"status\":\"ok\"} or 503 {\"status\":\"not ready\",\"reason\":...}", path, a.code, body)
	}
	if margin := st.bounds().AnswerMargin; path == "/readyz" && a.took > readinessBound+margin {
		return a, fmt.Errorf("/readyz took %s to answer %d: readiness asks the API with a bound of %s (plus the answer margin %s)", a.took.Round(time.Millisecond), a.code, readinessBound, margin)
	}
	return a, nil
}

func (st *scenario) awaitProbe(ctx context.Context, path string, want int, within time.Duration) error {
	return st.bounds().Until(ctx, within, fmt.Sprintf("%s to answer %d", path, want), func(ctx context.Context) (bool, string, error) {
		a, err := st.health(ctx, path)
		if a.code == 0 && err != nil {
			return false, err.Error(), nil // not listening (yet)
		}
		if err != nil {
			return false, "", err
		}
		return a.code == want, fmt.Sprintf("HTTP %d %s", a.code, a.state), nil
	})
}

// reportsReadiness waits for /readyz to say ready or not ready. Not ready must come within one
// probe's bound and a margin, since readiness asks the API on every probe; ready may take as long
// as the API takes to come back (a restarted API server, say).
func reportsReadiness(ctx context.Context, which string) error {
	st := state(ctx)
	if which == "not ready" {
		return st.awaitProbe(ctx, "/readyz", http.StatusServiceUnavailable, min(notReadyWithin, st.bounds().Readiness))
	}
	return st.awaitProbe(ctx, "/readyz", http.StatusOK, st.bounds().Readiness)
}

func reportsAlive(ctx context.Context) error {
	st := state(ctx)
	a, err := st.health(ctx, "/healthz")
	if err != nil {
		return fmt.Errorf("expected /healthz to answer 200 while the API is away: %w", err)
	}
	if a.code != http.StatusOK {
		return fmt.Errorf("expected /healthz to answer 200 while the API is away, got %d", a.code)
	}
	return nil
}

func outage(ctx context.Context, which string) error {
	st := state(ctx)
	gw, err := st.dedicated()
	if err != nil {
		return err
	}
	f, err := gw.Faults()
	if err != nil {
		return err
	}
	return f.SetOutage(which == "unreachable")
}

func stopWhileInFlight(ctx context.Context) (context.Context, error) {
	st := state(ctx)
	gw, err := st.dedicated()
	if err != nil {
		return ctx, err
	}
	if st.exchange.inflightAnswer() == nil {
		return ctx, fmt.Errorf("no alert is in flight: send one 'without waiting for the answer' first")
	}
	r, err := st.lastRule()
	if err != nil {
		return ctx, fmt.Errorf("to stop the gateway while an alert is in flight, slow the API down first: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, st.bounds().Eventually)
	defer cancel()
	if err := r.WaitFired(wctx, 1); err != nil {
		return ctx, fmt.Errorf("the alert never reached the Kubernetes API, so it is not in flight: %w", err)
	}
	at := time.Now()
	return context.WithValue(ctx, sigtermKey{}, at), gw.Terminate()
}

func notReadyWhileStopping(ctx context.Context) error {
	st := state(ctx)
	return st.bounds().Until(ctx, st.bounds().Readiness, "/readyz to answer 503 while the gateway stops", func(ctx context.Context) (bool, string, error) {
		a, err := st.health(ctx, "/readyz")
		if a.code == 0 && err != nil {
			return false, "", fmt.Errorf("the gateway stopped listening before it reported not ready: %w", err)
		}
		if err != nil {
			return false, "", err
		}
		return a.code == http.StatusServiceUnavailable, fmt.Sprintf("HTTP %d %s", a.code, a.state), nil
	})
}

// inflightAnswered checks the answer to what was in flight when the gateway was told to stop: the
// status, the whole answer as any other, within the request deadline; and it must have come after
// the shutdown delay, while the server drained its requests, or the scenario did not put a request
// through the drain it claims to prove (the API must be slower).
func inflightAnswered(ctx context.Context, code int) error {
	st := state(ctx)
	select {
	case resp := <-st.exchange.inflightAnswer():
		if resp.code != code {
			return fmt.Errorf("expected the alert in flight to be answered %d, got %s", code, resp)
		}
		if err := st.checkAnswer(resp); err != nil {
			return err
		}
		if stopped, ok := ctx.Value(sigtermKey{}).(time.Time); ok && resp.at.Sub(stopped) < st.gatewayConfig().ShutdownDelay {
			return fmt.Errorf("the answer came %s after SIGTERM, within the shutdown delay of %s, before the gateway stopped listening: "+
				"it was not in flight when the server drained its requests; slow the API down further", resp.at.Sub(stopped).Round(time.Millisecond), st.gatewayConfig().ShutdownDelay)
		}
		return nil
	case <-time.After(st.bounds().Request):
		return fmt.Errorf("the alert in flight got no answer within %s", st.bounds().Request)
	}
}

func exitsCleanly(ctx context.Context) error {
	st := state(ctx)
	gw, err := st.dedicated()
	if err != nil {
		return err
	}
	select {
	case <-gw.Exited():
		if err := gw.ExitErr(); err != nil {
			return fmt.Errorf("the gateway exited with an error after SIGTERM: %w", err)
		}
		return nil
	case <-time.After(st.bounds().GatewayStop):
		return fmt.Errorf("the gateway did not exit within %s of SIGTERM", st.bounds().GatewayStop)
	}
}
