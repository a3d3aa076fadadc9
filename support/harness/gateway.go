package harness

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/gatewayconf"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/poll"
)

// ErrContractMode is returned for what needs control of the gateway's path to the API server,
// which the suite does not have when it drives a deployed gateway.
var ErrContractMode = errors.New("this scenario needs a gateway launched by the suite (fault proxy, dedicated gateway), " +
	"but the run drives a deployed one (E2E_GATEWAY_URL, or the real Pods of a cluster with nodes): exclude such scenarios with E2E_TAGS='~@launched-gateway'")

// Gateway is one launched gateway and the fault proxy that is its only path to the API server.
type Gateway struct {
	Name  string
	Proxy *faultproxy.Proxy
	// Process is the running gateway: a host process or a container (E2E_GATEWAY_RUNTIME).
	Process *gatewayproc.Process
	// Config is what it runs with; the steps read the bounds they assert from it.
	Config gatewayconf.Config

	bounds poll.Bounds
	// stopGrace is how long a stop waits after SIGTERM before SIGKILL: the Pod template's
	// terminationGracePeriodSeconds for a container, the suite's bound for a process.
	stopGrace time.Duration
	tokens    []string               // the API tokens its processes were given
	certDir   string                 // its serving certificate, tls.crt and tls.key
	launch    launcher               // how it is run, for Restart
	replaced  []*gatewayproc.Process // the processes Restart replaced, oldest first, for their logs
	undo      lifecycle.Stack
}

// GatewayConfig is the configuration of a gateway the suite launches with premises: the suite's
// values, then E2E_GATEWAY_ARGS, then the premises. In contract mode it is the documented
// defaults with E2E_GATEWAY_ARGS: what the deployed gateway is said to run with.
func (h *Harness) GatewayConfig(premises ...gatewayconf.Premise) (gatewayconf.Config, error) {
	base := gatewayconf.Suite(h.Settings.FallbackNamespace, h.Settings.AuthzCacheTTL)
	if h.Settings.ContractMode() {
		base = gatewayconf.Documented(h.Settings.FallbackNamespace)
		premises = nil
	}
	c, err := gatewayconf.Build(base, h.Settings.GatewayArgs, premises...)
	if err != nil {
		return gatewayconf.Config{}, fmt.Errorf("E2E_GATEWAY_ARGS: %w", err)
	}
	return c, nil
}

// StartGateway launches a gateway behind a new fault proxy, configured by GatewayConfig(premises):
// what a scenario states of its own gateway is its premise, so a user's override of the suite's
// configuration does not undo it. Scenarios that take the whole API away, or stop the gateway,
// get one of their own so that the others are not disturbed. Whatever it starts is stopped again
// when it fails half-way, and by Stop.
func (h *Harness) StartGateway(ctx context.Context, name string, premises ...gatewayconf.Premise) (*Gateway, error) {
	if h.Settings.ContractMode() || h.realPods() {
		return nil, ErrContractMode
	}
	return h.startGatewayOn(ctx, name, h.target, premises...)
}

// startGatewayOn launches a gateway whose fault proxy leads to the API server of target.
func (h *Harness) startGatewayOn(ctx context.Context, name string, target *gatewayTarget, premises ...gatewayconf.Premise) (*Gateway, error) {
	cfg, err := h.GatewayConfig(premises...)
	if err != nil {
		return nil, err
	}
	g := &Gateway{Name: name, Config: cfg, bounds: h.Settings.Timeouts, stopGrace: h.Settings.Timeouts.GatewayStop}
	err = lifecycle.Setup(ctx, []lifecycle.Stage{
		{Name: "fault proxy", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			opts, err := faultproxy.OptionsFromREST(target.admin)
			if err != nil {
				return err
			}
			if g.Proxy, err = faultproxy.New(opts); err != nil {
				return err
			}
			if err := g.Proxy.Start(); err != nil {
				return err
			}
			undo.Push("the fault proxy", func(context.Context) error { return g.Proxy.Close() })
			return nil
		}},
		{Name: "serving certificate", Run: func(_ context.Context, undo *lifecycle.Stack) error {
			var err error
			g.certDir, err = h.writeGatewayCertificate(name, undo)
			return err
		}},
		{Name: h.Settings.GatewayRuntime, Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			var err error
			if g.launch, err = h.newLauncher(ctx, name, target, g, undo); err != nil {
				return err
			}
			if g.Process, err = g.launch(ctx, ""); err != nil {
				return err
			}
			// The undo stops whichever process is current: Restart replaces it.
			undo.Push("the gateway "+h.Settings.GatewayRuntime, func(context.Context) error {
				return g.Process.Stop(g.stopGrace)
			})
			return nil
		}},
	}, &g.undo, nil)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", name, err)
	}
	return g, nil
}

// gatewayTarget is a cluster a gateway can be launched against: its administrator's
// configuration, and what the runtime needs of it (see newLauncher).
type gatewayTarget struct {
	admin *rest.Config
	// token is the gateway ServiceAccount's token, for a process's kubeconfig.
	token string
	// deployment is the applied Deployment whose Pod template a container runs.
	deployment *deployment
}

// Restart replaces the gateway process by a new one on the same address, behind the same proxy,
// with the same configuration, as a deployment's restart would: kill=false stops it with SIGTERM
// (a rolling restart), kill=true with SIGKILL (a crash). Senders keep the URL they had. The new
// process is ready (/readyz 200) when Restart returns.
func (g *Gateway) Restart(ctx context.Context, kill bool) error {
	old := g.Process
	if kill {
		old.Kill()
	} else if err := old.Stop(g.stopGrace); err != nil {
		return fmt.Errorf("gateway %s: stopping it for a restart: %w", g.Name, err)
	}
	u, err := url.Parse(old.URL())
	if err != nil {
		return fmt.Errorf("gateway %s: its address %q: %w", g.Name, old.URL(), err)
	}
	p, err := g.launch(ctx, u.Host)
	if err != nil {
		return fmt.Errorf("gateway %s: restarting it on %s: %w", g.Name, old.URL(), err)
	}
	g.replaced = append(g.replaced, old)
	g.Process = p
	return nil
}

// CertDir is the directory of the gateway's serving certificate, tls.crt and tls.key, which it
// reloads when they change: a scenario that rotates the certificate replaces them there.
func (g *Gateway) CertDir() string { return g.certDir }

// Credentials are the bearer tokens the gateway's processes were given for the API server.
func (g *Gateway) Credentials() []string { return append([]string(nil), g.tokens...) }

// LogLines are the log lines containing filter of every process this gateway has had, in order:
// a restart does not lose the evidence of what happened before it.
func (g *Gateway) LogLines(filter string) []string {
	var lines []string
	for _, p := range append(append([]*gatewayproc.Process{}, g.replaced...), g.Process) {
		lines = append(lines, p.LogLines(filter)...)
	}
	return lines
}

// Stop stops the process gracefully, then the proxy; safe twice.
func (g *Gateway) Stop() error {
	return g.undo.Unwind(context.Background())
}
