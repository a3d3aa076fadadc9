package steps

import (
	"context"
	"fmt"
	"net/http"
	"syscall"
	"time"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/harness"
)

// Steps about running the gateway: its own gateway for scenarios that disturb it, health,
// metrics, permissions and shutdown.
func registerOperationSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a dedicated gateway with its own path to the Kubernetes API$`, dedicatedGateway)
	sc.Step(`^the gateway reports (ready|not ready)$`, reportsReadiness)
	sc.Step(`^the gateway still reports alive$`, reportsAlive)
	sc.Step(`^the Kubernetes API becomes (unreachable|reachable again)$`, outage)
	sc.Step(`^the gateway is told to stop while the alert is in flight$`, stopWhileInFlight)
	sc.Step(`^the gateway reports not ready while it stops$`, notReadyWhileStopping)
	sc.Step(`^the alert in flight is answered (\d+)$`, inflightAnswered)
	sc.Step(`^the gateway process exits cleanly$`, exitsCleanly)
	registerMetricSteps(sc)
	registerAccessSteps(sc)
}

func dedicatedGateway(ctx context.Context) error {
	st := state(ctx)
	// Readiness must visibly fail for a moment after SIGTERM, as it would while a Service drops
	// the endpoint; the shared gateway does not need that delay. Two seconds, so that a probe
	// every 50 ms sees it even on a machine short of CPU (make flake LOAD=1).
	if st.am != nil {
		return fmt.Errorf("the dedicated gateway must come before the Alertmanager, which sends to the gateway it found")
	}
	gw, err := st.h.StartGateway(ctx, st.ns, "--shutdown-delay=2s")
	if err != nil {
		return err
	}
	st.undo.Push("the dedicated gateway", func(context.Context) error { return gw.Stop() })
	st.gw, st.url, st.ownGW = gw, gw.Process.URL(), true
	return nil
}

func (st *scenario) dedicated() (*harness.Gateway, error) {
	if !st.ownGW {
		return nil, fmt.Errorf("this step disturbs the gateway: the scenario must start with 'Given a dedicated gateway with its own path to the Kubernetes API'")
	}
	return st.gw, nil
}

func (st *scenario) probe(ctx context.Context, path string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, st.bounds().Request)
	defer cancel()
	return gatewayproc.Probe(ctx, st.url, path)
}

func (st *scenario) awaitProbe(ctx context.Context, path string, want int) error {
	return st.bounds().Until(ctx, st.bounds().Readiness, fmt.Sprintf("%s to answer %d", path, want), func(ctx context.Context) (bool, string, error) {
		code, err := st.probe(ctx, path)
		if err != nil {
			return false, err.Error(), nil
		}
		return code == want, fmt.Sprintf("HTTP %d", code), nil
	})
}

func reportsReadiness(ctx context.Context, which string) error {
	want := http.StatusOK
	if which == "not ready" {
		want = http.StatusServiceUnavailable
	}
	return state(ctx).awaitProbe(ctx, "/readyz", want)
}

func reportsAlive(ctx context.Context) error {
	st := state(ctx)
	code, err := st.probe(ctx, "/healthz")
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("expected /healthz to answer 200 while the API is away, got %d, %v", code, err)
	}
	return nil
}

func outage(ctx context.Context, which string) error {
	st := state(ctx)
	gw, err := st.dedicated()
	if err != nil {
		return err
	}
	return gw.Proxy.SetOutage(which == "unreachable")
}

func stopWhileInFlight(ctx context.Context) error {
	st := state(ctx)
	gw, err := st.dedicated()
	if err != nil {
		return err
	}
	if st.inflight == nil {
		return fmt.Errorf("no alert is in flight: send one 'without waiting for the answer' first")
	}
	r, err := st.lastRule()
	if err != nil {
		return fmt.Errorf("to stop the gateway while an alert is in flight, slow the API down first: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, st.bounds().Eventually)
	defer cancel()
	if err := r.WaitFired(wctx, 1); err != nil {
		return fmt.Errorf("the alert never reached the Kubernetes API, so it is not in flight: %w", err)
	}
	return gw.Process.Signal(syscall.SIGTERM)
}

func notReadyWhileStopping(ctx context.Context) error {
	st := state(ctx)
	return st.bounds().Until(ctx, st.bounds().Readiness, "/readyz to answer 503 while the gateway stops", func(ctx context.Context) (bool, string, error) {
		code, err := st.probe(ctx, "/readyz")
		if err != nil {
			return false, "", fmt.Errorf("the gateway stopped listening before it reported not ready: %w", err)
		}
		return code == http.StatusServiceUnavailable, fmt.Sprintf("HTTP %d", code), nil
	})
}

func inflightAnswered(ctx context.Context, code int) error {
	st := state(ctx)
	select {
	case resp := <-st.inflight:
		if resp.code != code {
			return fmt.Errorf("expected the alert in flight to be answered %d during shutdown, got %s", code, resp)
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
	case <-gw.Process.Exited():
		if err := gw.Process.ExitErr(); err != nil {
			return fmt.Errorf("the gateway exited with an error after SIGTERM: %w", err)
		}
		return nil
	case <-time.After(st.bounds().GatewayStop):
		return fmt.Errorf("the gateway did not exit within %s of SIGTERM", st.bounds().GatewayStop)
	}
}
