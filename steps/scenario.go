// Package steps holds the godog step definitions of the contract suite, grouped by domain:
// signals (what senders do), responses (what the gateway answers), remediation requests (what
// lands in the cluster), faults (what the Kubernetes API does wrong) and operations (health,
// metrics, permissions, shutdown).
//
// Scenario state lives in a *scenario stored in the context that godog passes from step to step;
// there is no package-level mutable state. The one thing scenarios share is the *harness.Harness.
package steps

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/poll"
)

// scenario is the state of one running scenario.
type scenario struct {
	h        *harness.Harness
	feature  string
	name     string
	ns       string // the scenario's namespace: every payload and assertion uses it
	second   string // a second namespace, when the scenario asks for one
	missing  string // a namespace name guaranteed not to exist, when the scenario asks for one
	gw       *harness.Gateway
	url      string
	ownGW    bool // gw is a dedicated gateway that this scenario stops
	requests int

	mu        sync.Mutex
	responses []*response // every answer, in order
	last      *sentRequest
	inflight  chan *response
	rules     []*faultproxy.RuleHandle
	current   *v1alpha1.RemediationRequest // the remediation request that "it" refers to
	cancel    context.CancelFunc
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
func Initializer(h *harness.Harness) func(*godog.ScenarioContext) {
	return func(sc *godog.ScenarioContext) {
		sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
			return before(ctx, h, s)
		})
		sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
			return after(ctx, s, err)
		})
		registerSignalSteps(sc)
		registerResponseSteps(sc)
		registerRemediationSteps(sc)
		registerFaultSteps(sc)
		registerOperationSteps(sc)
	}
}

func before(ctx context.Context, h *harness.Harness, s *godog.Scenario) (context.Context, error) {
	feature := strings.TrimSuffix(path.Base(s.Uri), ".feature")
	st := &scenario{h: h, feature: feature, name: s.Name, gw: h.Gateway, url: h.GatewayURL}
	st.ns = h.Namespaces.Name(feature, s.Name)
	// Every step's API calls inherit this bound: nothing in a scenario can hang the run.
	ctx, st.cancel = context.WithTimeout(ctx, st.bounds().Scenario)
	if err := h.CreateNamespace(ctx, st.ns, feature, s.Name); err != nil {
		st.cancel()
		return ctx, fmt.Errorf("creating the scenario's namespace %s: %w", st.ns, err)
	}
	return context.WithValue(ctx, ctxKey{}, st), nil
}

func after(ctx context.Context, s *godog.Scenario, scenarioErr error) (context.Context, error) {
	st, _ := ctx.Value(ctxKey{}).(*scenario)
	if st == nil {
		return ctx, nil
	}
	defer st.cancel()
	var errs []error
	if scenarioErr == nil {
		errs = append(errs, st.faultsFired())
	}
	if scenarioErr != nil || errors.Join(errs...) != nil {
		ctx = attachEvidence(ctx, st)
	}
	for _, r := range st.rules {
		r.Remove()
	}
	if st.ownGW && st.gw != nil {
		if err := st.gw.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the scenario's dedicated gateway: %w", err))
		}
	}
	cleanup, cancelCleanup := context.WithTimeout(context.WithoutCancel(ctx), st.bounds().Eventually)
	defer cancelCleanup()
	errs = append(errs, st.removeOwnFallbacks(cleanup))
	keep := scenarioErr != nil && st.h.Settings.KeepFailed
	for _, ns := range []string{st.ns, st.second} {
		if ns == "" {
			continue
		}
		if keep {
			fmt.Printf("E2E_KEEP_FAILED: kept namespace %s of failed scenario %q\n", ns, s.Name)
			continue
		}
		if err := st.h.DeleteNamespace(cleanup, ns); err != nil {
			errs = append(errs, fmt.Errorf("removing namespace %s: %w", ns, err))
		}
	}
	return ctx, errors.Join(errs...)
}

// removeOwnFallbacks deletes what the scenario's signals put into the shared fallback namespace:
// the objects whose origin is one of its namespaces, or whose cluster-scoped target carries its
// namespace in the name (see clusterName). Nothing of another scenario matches.
func (st *scenario) removeOwnFallbacks(ctx context.Context) error {
	items, err := st.list(ctx, st.h.Settings.FallbackNamespace)
	if err != nil {
		return err
	}
	var errs []error
	for i := range items {
		rr := &items[i]
		origin := rr.Labels[v1alpha1.LabelOriginNamespace]
		own := origin == st.ns || (st.missing != "" && origin == st.missing) ||
			strings.HasSuffix(rr.Spec.TargetResource.Name, "-"+st.ns)
		if !own {
			continue
		}
		if err := st.h.Client.Delete(ctx, rr); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("removing %s/%s from the fallback namespace: %w", rr.Namespace, rr.Name, err))
		}
	}
	return errors.Join(errs...)
}

// faultsFired is the safety net under every fault step: a fault that never met the gateway means
// the scenario proved nothing about it, so the scenario fails.
func (st *scenario) faultsFired() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	var errs []error
	for _, r := range st.rules {
		if r.Count() == 0 {
			errs = append(errs, fmt.Errorf("the fault %q never fired: the scenario did not exercise what it claims", r.Name()))
		}
	}
	return errors.Join(errs...)
}

// proxy is the fault proxy on this scenario's gateway's path to the API server.
func (st *scenario) proxy() (*faultproxy.Proxy, error) {
	if st.gw == nil {
		return nil, harness.ErrContractMode
	}
	return st.gw.Proxy, nil
}

func (st *scenario) addRule(r faultproxy.Rule) (*faultproxy.RuleHandle, error) {
	p, err := st.proxy()
	if err != nil {
		return nil, err
	}
	h := p.AddRule(r)
	st.mu.Lock()
	st.rules = append(st.rules, h)
	st.mu.Unlock()
	return h, nil
}

// lastRule is the fault that "the fault" refers to.
func (st *scenario) lastRule() (*faultproxy.RuleHandle, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.rules) == 0 {
		return nil, errors.New("the scenario injected no fault: a step about 'the fault' needs a fault step before it")
	}
	return st.rules[len(st.rules)-1], nil
}

// bounds are the run's timeouts, from its settings.
func (st *scenario) bounds() poll.Bounds { return st.h.Settings.Timeouts }
