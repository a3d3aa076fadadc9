package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
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
	}
	return args
}

// StartGateway launches a gateway behind a new fault proxy, with the suite's flags, then extra
// (later flags win), then E2E_GATEWAY_ARGS. Scenarios that take the whole API away, or stop the
// gateway, get one of their own so that the others are not disturbed.
func (h *Harness) StartGateway(ctx context.Context, name string, extra ...string) (*Gateway, error) {
	if h.Settings.ContractMode() {
		return nil, ErrContractMode
	}
	opts, err := faultproxy.OptionsFromREST(h.admin)
	if err != nil {
		return nil, err
	}
	proxy, err := faultproxy.New(opts)
	if err != nil {
		return nil, fmt.Errorf("fault proxy for gateway %s: %w", name, err)
	}
	if err := proxy.Start(); err != nil {
		return nil, fmt.Errorf("fault proxy for gateway %s: %w", name, err)
	}
	g := &Gateway{Name: name, Proxy: proxy}
	kubeconfig := filepath.Join(h.workDir, fmt.Sprintf("kubeconfig-%s-%p", name, g))
	if err := gatewayproc.WriteKubeconfig(kubeconfig, proxy.URL(), proxy.CAData(), h.Identity.Token); err != nil {
		proxy.Close()
		return nil, err
	}
	g.Process, err = gatewayproc.Start(ctx, gatewayproc.Options{
		Binary:       h.binary,
		Kubeconfig:   kubeconfig,
		Args:         append(append(h.suiteArgs(), extra...), h.Settings.GatewayArgs...),
		StartTimeout: poll.Timeouts.GatewayStart,
	})
	if err != nil {
		proxy.Close()
		os.Remove(kubeconfig)
		return nil, fmt.Errorf("gateway %s: %w", name, err)
	}
	return g, nil
}

// Stop stops the process gracefully, then the proxy.
func (g *Gateway) Stop() error {
	err := g.Process.Stop(poll.Timeouts.GatewayStop)
	return errors.Join(err, g.Proxy.Close())
}
