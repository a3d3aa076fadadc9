package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/poll"
)

// ErrContractMode is returned for what needs control of the gateway's path to the API server,
// which the suite does not have when it drives a deployed gateway.
var ErrContractMode = errors.New("this scenario needs a gateway launched by the suite (fault proxy, dedicated gateway), " +
	"but E2E_GATEWAY_URL points at a deployed one: exclude such scenarios with E2E_TAGS='~@launched-gateway', or unset E2E_GATEWAY_URL")

// Gateway is one launched gateway and the fault proxy that is its only path to the API server.
type Gateway struct {
	Name    string
	Proxy   *faultproxy.Proxy
	Process *gatewayproc.Process

	bounds   poll.Bounds
	opts     gatewayproc.Options    // how the process was started, for Restart
	replaced []*gatewayproc.Process // the processes Restart replaced, oldest first, for their logs
	undo     lifecycle.Stack
}

// suiteArgs is the gateway's configuration in the suite: short backoffs so that resilience
// scenarios take seconds, with the same shape as production (see docs/design.md).
func (h *Harness) suiteArgs() []string {
	args := []string{
		"--fallback-namespace=" + h.Settings.FallbackNamespace,
		"--retry-attempts=6",
		"--retry-initial-backoff=50ms",
		"--retry-max-backoff=800ms",
		"--request-deadline=5s",
		"--api-call-timeout=1s",
		"--unavailable-retry-after=1s",
		"--shutdown-timeout=15s",
		"--log-level=debug",
		// Short authorization caches (E2E_AUTHZ_CACHE_TTL), so that a revoked permission takes
		// effect within seconds; the token cache keeps its production lifetime.
		"--authz-allow-cache-ttl=" + h.Settings.AuthzCacheTTL.String(),
		"--authz-deny-cache-ttl=1s",
	}
	return args
}

// StartGateway launches a gateway behind a new fault proxy, with the suite's flags, then
// E2E_GATEWAY_ARGS, then extra (later flags win): what a scenario states of its own gateway is its
// premise, so a user's override of the suite's configuration does not undo it. Scenarios that
// take the whole API away, or stop the gateway, get one of their own so that the others are not
// disturbed. Whatever it starts is stopped again when it fails half-way, and by Stop.
func (h *Harness) StartGateway(ctx context.Context, name string, extra ...string) (*Gateway, error) {
	if h.Settings.ContractMode() {
		return nil, ErrContractMode
	}
	return h.startGatewayOn(ctx, name, h.admin, h.Identity.Token, extra...)
}

// startGatewayOn launches a gateway whose fault proxy leads to the API server of admin, with the
// gateway's ServiceAccount token of that cluster.
func (h *Harness) startGatewayOn(ctx context.Context, name string, admin *rest.Config, token string, extra ...string) (*Gateway, error) {
	g := &Gateway{Name: name, bounds: h.Settings.Timeouts}
	err := lifecycle.Setup(ctx, []lifecycle.Stage{
		{Name: "fault proxy", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			opts, err := faultproxy.OptionsFromREST(admin)
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
		{Name: "process", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			kubeconfig := filepath.Join(h.workDir, fmt.Sprintf("kubeconfig-%s-%p", name, g))
			if err := gatewayproc.WriteKubeconfig(kubeconfig, g.Proxy.URL(), g.Proxy.CAData(), token); err != nil {
				return err
			}
			undo.Push("the kubeconfig "+kubeconfig, func(context.Context) error { return os.Remove(kubeconfig) })
			g.opts = gatewayproc.Options{
				Binary:     h.binary,
				Kubeconfig: kubeconfig,
				Args:       append(append(h.suiteArgs(), h.Settings.GatewayArgs...), extra...),
				Bounds:     h.Settings.Timeouts,
			}
			p, err := gatewayproc.Start(ctx, g.opts)
			if err != nil {
				return err
			}
			g.Process = p
			// The undo stops whichever process is current: Restart replaces it.
			undo.Push("the gateway process", func(context.Context) error { return g.Process.Stop(h.Settings.Timeouts.GatewayStop) })
			return nil
		}},
	}, &g.undo, nil)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", name, err)
	}
	return g, nil
}

// Restart replaces the gateway process by a new one on the same address, behind the same proxy,
// with the same flags, as a deployment's restart would: kill=false stops it with SIGTERM (a
// rolling restart), kill=true with SIGKILL (a crash). Senders keep the URL they had. The new
// process is ready (/readyz 200) when Restart returns.
func (g *Gateway) Restart(ctx context.Context, kill bool) error {
	old := g.Process
	if kill {
		old.Kill()
	} else if err := old.Stop(g.bounds.GatewayStop); err != nil {
		return fmt.Errorf("gateway %s: stopping it for a restart: %w", g.Name, err)
	}
	opts := g.opts
	opts.Args = append(append([]string{}, opts.Args...), "--listen="+strings.TrimPrefix(old.URL(), "http://"))
	p, err := gatewayproc.Start(ctx, opts)
	if err != nil {
		return fmt.Errorf("gateway %s: restarting it on %s: %w", g.Name, old.URL(), err)
	}
	g.replaced = append(g.replaced, old)
	g.Process = p
	return nil
}

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
