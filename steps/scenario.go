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
	"time"

	"github.com/cucumber/godog"
	"k8s.io/client-go/kubernetes"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/poll"
	"github.com/kubernaut/gateway-contract/support/report"
	"github.com/kubernaut/gateway-contract/support/soak"
)

// scenario is the state of one running scenario.
type scenario struct {
	h        *harness.Harness
	feature  string
	name     string
	ns       string        // the scenario's namespace: every payload and assertion uses it
	second   string        // a second namespace, when the scenario asks for one
	missing  string        // a namespace name guaranteed not to exist, when the scenario asks for one
	gw       gatewayDriver // the gateway the scenario sends to
	on       clusterView   // the cluster that gateway writes to
	ownGW    bool          // gw is a dedicated gateway that this scenario stops
	requests int

	mu              sync.Mutex
	responses       []*response // every answer, in order
	last            *sentRequest
	inflight        chan *response
	rules           []*faultproxy.RuleHandle
	current         *v1alpha1.RemediationRequest // the remediation request that "it" refers to
	sender          *sender                      // who sends the scenario's signals; nil: the suite's default sender
	am              *am                          // the scenario's own Alertmanager, when it has one
	firstSender     *sender                      // the sender the scenario made first, for "the first sender"
	revokedAt       time.Time                    // when the scenario revoked its sender's permission
	cancel          context.CancelFunc
	undo            lifecycle.Stack    // what the scenario set up, undone in reverse by after
	cluster         *harness.Dedicated // a control plane of the scenario's own, when it has one
	containerFaults []string           // evidence of the faults of that control plane's container
	overloads       []string           // the 503s of an overloaded API that the suite redelivered
	soak            *soak.Report       // the scenario\'s soak, when it ran one
	transport       *transport         // the transport steps' senders and certificates
	soakLog         string             // its timeline and summary
	failed          bool               // set by after, for the undos that keep a failed scenario's namespace
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
		registerSecuritySteps(sc)
		registerAlertmanagerSteps(sc)
		registerNamespaceSteps(sc)
		registerContainerFaultSteps(sc)
		registerSoakSteps(sc)
	}
}

func before(ctx context.Context, h *harness.Harness, s *godog.Scenario) (context.Context, error) {
	// godog names a feature selected by path:line (a shard, one scenario) "x.feature:12".
	feature := strings.TrimSuffix(path.Base(report.TrimLine(s.Uri)), ".feature")
	st := &scenario{h: h, feature: feature, name: s.Name, gw: runGateway(h), on: runCluster(h)}
	st.ns = h.Namespaces.Name(s.Name)
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
	if err := st.h.CreateNamespace(ctx, ns, st.feature, st.name); err != nil {
		return fmt.Errorf("creating the scenario's namespace %s: %w", ns, err)
	}
	st.undo.Push("namespace "+ns, func(ctx context.Context) error {
		if st.failed && st.h.Settings.KeepFailed {
			fmt.Printf("E2E_KEEP_FAILED: kept namespace %s of failed scenario %q\n", ns, st.name)
			return nil
		}
		return st.h.DeleteNamespace(ctx, ns)
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
		errs = append(errs, st.faultsFired())
	}
	if scenarioErr != nil || errors.Join(errs...) != nil {
		ctx = attachEvidence(ctx, st)
	} else if overloads := st.overloadLog(); overloads != "" {
		// A passing scenario that needed the sender's redelivery says so in the report.
		ctx = godog.Attach(ctx, godog.Attachment{FileName: "overload-redeliveries.log", MediaType: "text/plain", Body: []byte(overloads)})
	}
	st.failed = scenarioErr != nil
	cleanup, cancelCleanup := context.WithTimeout(context.WithoutCancel(ctx), st.bounds().Eventually)
	defer cancelCleanup()
	errs = append(errs, st.undo.Unwind(cleanup))
	return ctx, errors.Join(errs...)
}

// overloadLog lists the 503s of an overloaded API that the suite redelivered, one per line.
func (st *scenario) overloadLog() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return strings.Join(st.overloads, "\n")
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
func (st *scenario) proxy() (faultDriver, error) { return st.gw.Faults() }

func (st *scenario) addRule(r faultproxy.Rule) (*faultproxy.RuleHandle, error) {
	p, err := st.proxy()
	if err != nil {
		return nil, err
	}
	h, err := p.AddRule(r)
	if err != nil {
		return nil, err
	}
	st.undo.Push("the fault "+h.Name(), func(context.Context) error { h.Remove(); return nil })
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

// authorization is the Authorization header a request carries (none: no header at all): the
// request's own, else the scenario's sender's, else the suite's default sender's bearer token
// (a ServiceAccount bound cluster-wide to kubernaut-signal-sender).
func (st *scenario) authorization(req sentRequest) (header string, none bool) {
	switch {
	case req.noAuthorization:
		return "", true
	case req.authorization != "":
		return req.authorization, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	switch s := st.sender; {
	case s == nil:
		return "Bearer " + st.on.senderToken, false
	case s.none:
		return "", true
	case s.header != "":
		return s.header, false
	default:
		return "Bearer " + s.token, false
	}
}

// kube and client reach the cluster the scenario's gateway writes to: the run's, or the
// scenario's own control plane.
func (st *scenario) kube() kubernetes.Interface {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.on.kube
}

func (st *scenario) client() ctrlclient.Client {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.on.client
}
