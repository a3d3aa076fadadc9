package harness

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/gatewayctr"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// launcher starts one gateway process of a Gateway and waits until it is ready: on listen (its
// old address, for a restart), or on a free loopback port when listen is empty. Each call is a
// new process: a restart is a new container, as a Pod's is.
type launcher func(ctx context.Context, listen string) (*gatewayproc.Process, error)

// newLauncher returns how g runs on target under the run's E2E_GATEWAY_RUNTIME; what it prepares
// for all of g's processes (a kubeconfig, a ServiceAccount volume) is undone through undo.
func (h *Harness) newLauncher(ctx context.Context, name string, target *gatewayTarget, g *Gateway, undo *lifecycle.Stack) (launcher, error) {
	if h.Settings.GatewayRuntime == settings.RuntimeContainer {
		return h.containerLauncher(ctx, name, target, g, undo)
	}
	return h.processLauncher(name, target, g, undo)
}

// launches numbers the work files and containers of the run's gateways.
var launches atomic.Int64

// processLauncher runs the gateway binary on this host with a kubeconfig that leads to the
// fault proxy with the gateway's ServiceAccount token.
func (h *Harness) processLauncher(name string, target *gatewayTarget, g *Gateway, undo *lifecycle.Stack) (launcher, error) {
	kubeconfig := filepath.Join(h.workDir, fmt.Sprintf("kubeconfig-%s-%d", name, launches.Add(1)))
	if err := gatewayproc.WriteKubeconfig(kubeconfig, g.Proxy.URL(), g.Proxy.CAData(), target.token); err != nil {
		return nil, err
	}
	undo.Push("the kubeconfig "+kubeconfig, func(context.Context) error { return os.Remove(kubeconfig) })
	g.tokens = []string{target.token}
	return func(ctx context.Context, listen string) (*gatewayproc.Process, error) {
		return gatewayproc.Start(ctx, gatewayproc.Options{
			Binary:     h.binary,
			Kubeconfig: kubeconfig,
			Args:       withListen(append(g.Config.Args(), tlsArgs(g.certDir)...), listen),
			Bounds:     h.Settings.Timeouts,
			Client:     h.HTTPClient(),
		})
	}, nil
}

// containerLauncher runs the Deployment's Pod template's container from the run's image, the
// way a kubelet runs it: a token bound to a Pod the API server admitted, the CA and the namespace
// in the ServiceAccount volume, and KUBERNETES_SERVICE_HOST/PORT leading to the fault proxy on
// loopback. No kubeconfig: the gateway takes its in-cluster configuration. The suite's
// configuration is added after the template's args (the later flag wins), and the listening
// address last.
func (h *Harness) containerLauncher(ctx context.Context, name string, target *gatewayTarget, g *Gateway, undo *lifecycle.Stack) (launcher, error) {
	d := target.deployment
	if d == nil {
		return nil, fmt.Errorf("no gateway Deployment was applied to this cluster")
	}
	g.stopGrace = d.grace
	return h.podLauncher(name, d, g.Proxy.URL(), g.Proxy.CAData(), g.certDir, func() []string { return g.Config.Args() },
		func(token string) { g.tokens = append(g.tokens, token) }, undo)
}

// podLauncher runs containers of d's Pod template that reach the API server at apiURL, whose
// certificate ca verifies, with args() after the template's; issued is told each token. certDir
// (tls.crt, tls.key) is mounted read-only where the template mounts its certificate's Secret.
func (h *Harness) podLauncher(name string, d *deployment, apiURL string, ca []byte, certDir string, args func() []string, issued func(string), undo *lifecycle.Stack) (launcher, error) {
	api, err := url.Parse(apiURL)
	if err != nil || api.Hostname() == "" {
		return nil, fmt.Errorf("the API server's address %q: %v", apiURL, err)
	}
	port := api.Port()
	if port == "" {
		port = "443"
	}
	n := launches.Add(1)
	dir := filepath.Join(h.workDir, fmt.Sprintf("serviceaccount-%s-%d", name, n))
	undo.Push("the ServiceAccount volume "+dir, func(context.Context) error { return os.RemoveAll(dir) })
	restarts := 0
	return func(ctx context.Context, listen string) (*gatewayproc.Process, error) {
		// A new container gets a new token, bound to the admitted Pod, as a kubelet's would.
		token, err := d.token(ctx)
		if err != nil {
			return nil, err
		}
		if err := gatewayctr.WriteCredentials(dir, token, ca, d.namespace); err != nil {
			return nil, err
		}
		issued(token)
		restarts++
		spec := gatewayctr.Spec{
			Name:        fmt.Sprintf("gateway-e2e-%s-%s-%d-%d", h.runID(), containerSafe(name), n, restarts),
			Image:       d.image,
			Command:     d.container.Command,
			Args:        withListen(append(append([]string{}, d.container.Args...), args()...), listen),
			Env:         append(d.env(), "KUBERNETES_SERVICE_HOST="+api.Hostname(), "KUBERNETES_SERVICE_PORT="+port),
			User:        d.user,
			Credentials: dir,
			Mounts:      []gatewayctr.Mount{{Source: certDir, Target: d.tlsMount}},
			Labels: map[string]string{
				cluster.LabelE2E:          "true",
				cluster.LabelE2ERun:       h.runID(),
				cluster.LabelE2EOwner:     owner(),
				cluster.LabelE2EComponent: "gateway",
			},
		}
		return gatewayproc.StartWith(ctx, gatewayctr.New(d.docker, spec), h.Settings.Timeouts, h.HTTPClient())
	}, nil
}

// runID names the run's containers: the namespace generator's run id, or this process's for a
// harness without one (Deploy).
func (h *Harness) runID() string {
	if h.Namespaces != nil {
		return h.Namespaces.RunID()
	}
	return "deploy-" + strconv.Itoa(os.Getpid())
}

// withListen adds the listening address last, so that it wins over any --listen before it: a
// free loopback port, or the old address on a restart.
func withListen(args []string, listen string) []string {
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	return append(append([]string{}, args...), "--listen="+listen)
}

// containerSafe keeps the characters a container name may hold.
func containerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}

// owner is "<hostname>/<pid>", the LabelE2EOwner of this process's containers: the leftover sweep
// leaves them alone while it lives.
func owner() string {
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid())
}
