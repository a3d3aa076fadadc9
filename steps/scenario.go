// Package steps holds the godog step definitions of the contract suite, grouped by domain:
// signals (what senders do), responses (what the gateway answers), remediation requests (what
// lands in the cluster), faults (what the Kubernetes API does wrong) and operations (health,
// metrics, permissions, shutdown).
//
// Scenario state lives in a *scenario stored in the context that godog passes from step to step;
// there is no package-level mutable state. Each step domain owns its part of that state, with a
// lock of its own where a goroutine of the scenario shares it. The one thing scenarios share is
// the run, which they reach through its driver (runDriver, driver.go) and nothing else.
package steps

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/poll"
	"github.com/kubernaut/gateway-contract/support/report"
)

// scenario is the state of one running scenario. Its own fields are written by the steps and the
// hooks only, which godog runs one at a time, before any goroutine of the scenario reads them;
// what the scenario's goroutines share lives in the parts, each behind its own lock.
type scenario struct {
	run     runDriver // the run the scenarios share: the only way to the harness
	feature string
	name    string
	ns      string                       // the scenario's namespace: every payload and assertion uses it
	second  string                       // a second namespace, when the scenario asks for one
	missing string                       // a namespace name guaranteed not to exist, when the scenario asks for one
	gw      gatewayDriver                // the gateway the scenario sends to: the run's, until a step starts its own
	current *v1alpha1.RemediationRequest // the remediation request that "it" refers to
	undo    lifecycle.Stack              // what the scenario set up, undone in reverse by after
	cancel  context.CancelFunc
	failed  bool // set by after, for the undos that keep a failed scenario's namespace

	exchange  exchange  // what was sent and answered (http.go)
	faults    faultLog  // the faults injected and met (faults.go, containerfaults.go)
	senders   senders   // who sends the signals (security.go, alertmanager.go)
	placement placement // where the gateway runs and what it writes to (operations.go)
	soak      soakRun   // the soak, when the scenario ran one (soak.go)
	transport transport // the transport steps' senders and certificates (transport.go)
}

type ctxKey struct{}

func state(ctx context.Context) *scenario {
	st, _ := ctx.Value(ctxKey{}).(*scenario)
	if st == nil {
		panic("steps: no scenario in context: the Before hook did not run")
	}
	return st
}

// Initializer registers every step and the hooks that give each scenario its namespace.
// It is the hook that builds the run's driver: the only place besides driver.go that holds h.
func Initializer(h *harness.Harness) func(*godog.ScenarioContext) {
	run := newRun(h)
	return func(sc *godog.ScenarioContext) {
		sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
			return before(ctx, run, s)
		})
		sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
			return after(ctx, s, err)
		})
		registerSignalSteps(sc)
		registerResponseSteps(sc)
		registerRemediationSteps(sc)
		registerFaultSteps(sc)
		registerOperationSteps(sc)
		registerSecuritySteps(sc)
		registerAlertmanagerSteps(sc)
		registerNamespaceSteps(sc)
		registerContainerFaultSteps(sc)
		registerSoakSteps(sc)
	}
}

func before(ctx context.Context, run runDriver, s *godog.Scenario) (context.Context, error) {
	// godog names a feature selected by path:line (a shard, one scenario) "x.feature:12".
	feature := strings.TrimSuffix(path.Base(report.TrimLine(s.Uri)), ".feature")
	st := &scenario{run: run, feature: feature, name: s.Name, gw: run.Gateway(), ns: run.NamespaceName(s.Name)}
	st.placement.on = run.Cluster()
	// Every step's API calls inherit this bound: nothing in a scenario can hang the run.
	ctx, st.cancel = context.WithTimeout(ctx, st.bounds().Scenario)
	// What the scenario leaves in the shared fallback namespace goes last, after everything else.
	st.undo.Push("the scenario's objects in the fallback namespace", st.removeOwnFallbacks)
	if err := st.createNamespace(ctx, st.ns); err != nil {
		st.cancel()
		return ctx, err
	}
	return context.WithValue(ctx, ctxKey{}, st), nil
}

// createNamespace makes a namespace of the scenario and registers its removal (kept instead when
// the scenario failed and E2E_KEEP_FAILED asks for it).
func (st *scenario) createNamespace(ctx context.Context, ns string) error {
	if err := st.run.CreateNamespace(ctx, ns, st.feature, st.name); err != nil {
		return fmt.Errorf("creating the scenario's namespace %s: %w", ns, err)
	}
	st.undo.Push("namespace "+ns, func(ctx context.Context) error {
		if st.failed && st.run.KeepFailed() {
			fmt.Printf("E2E_KEEP_FAILED: kept namespace %s of failed scenario %q\n", ns, st.name)
			return nil
		}
		return st.run.DeleteNamespace(ctx, ns)
	})
	return nil
}

// after checks that every fault fired, attaches evidence to a failure, then undoes what the
// scenario set up, in reverse: fault rules, Alertmanagers, dedicated gateways, namespaces.
func after(ctx context.Context, s *godog.Scenario, scenarioErr error) (context.Context, error) {
	st, _ := ctx.Value(ctxKey{}).(*scenario)
	if st == nil {
		return ctx, nil
	}
	defer st.cancel()
	var errs []error
	if scenarioErr == nil {
		errs = append(errs, st.faults.allFired())
	}
	if scenarioErr != nil || errors.Join(errs...) != nil {
		ctx = attachEvidence(ctx, st)
	} else if overloads := st.faults.overloadLog(); overloads != "" {
		// A passing scenario that needed the sender's redelivery says so in the report.
		ctx = godog.Attach(ctx, godog.Attachment{FileName: "overload-redeliveries.log", MediaType: "text/plain", Body: []byte(overloads)})
	}
	st.failed = scenarioErr != nil
	cleanup, cancelCleanup := context.WithTimeout(context.WithoutCancel(ctx), st.bounds().Eventually)
	defer cancelCleanup()
	errs = append(errs, st.undo.Unwind(cleanup))
	return ctx, errors.Join(errs...)
}

// removeOwnFallbacks deletes what the scenario's signals put into the shared fallback namespace:
// the objects whose origin is one of its namespaces, or whose cluster-scoped target carries its
// namespace in the name (see clusterName). Nothing of another scenario matches.
func (st *scenario) removeOwnFallbacks(ctx context.Context) error {
	items, err := st.list(ctx, st.run.FallbackNamespace())
	if err != nil {
		return err
	}
	var errs []error
	for i := range items {
		rr := &items[i]
		if !st.owns(rr) {
			continue
		}
		if err := st.client().Delete(ctx, rr); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("removing %s/%s from the fallback namespace: %w", rr.Namespace, rr.Name, err))
		}
	}
	return errors.Join(errs...)
}

// owns reports whether a remediation request in the fallback namespace comes from the scenario:
// its origin is one of the scenario's namespaces, or its cluster-scoped target carries the
// scenario's namespace in its name (see clusterName).
func (st *scenario) owns(rr *v1alpha1.RemediationRequest) bool {
	origin := rr.Labels[labelOriginNamespace]
	return origin == st.ns || (st.missing != "" && origin == st.missing) ||
		strings.HasSuffix(rr.Spec.TargetResource.Name, "-"+st.ns)
}

// bounds are the run's timeouts, from its settings.
func (st *scenario) bounds() poll.Bounds { return st.run.Bounds() }
