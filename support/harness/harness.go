// Package harness assembles one run's world: a cluster from the chosen provider with the CRD
// installed, the namespace generator, the gateway's and the default sender's identities, the
// fault proxy, and the shared gateway (or, in contract mode, a gateway that is already deployed).
// Steps get a *Harness and nothing else that is shared.
//
// Setup is a list of ordered stages (see stages), each of which registers the undo of what it
// creates the moment it exists; Teardown runs those undos in reverse. A failed stage, or a panic,
// unwinds what the stages before it made, so a failed setup leaves no process or object behind.
package harness

import (
	"context"
	"fmt"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/moby/moby/client"
	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/support/alertmanager"
	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/gatewayconf"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/namespace"
	"github.com/kubernaut/gateway-contract/support/pki"
	"github.com/kubernaut/gateway-contract/support/runid"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// LeftoverAge is how old a suite namespace must be before a new run removes it as a leftover
// of a crashed run.
const LeftoverAge = time.Hour

// Harness is everything one run shares between its scenarios. All of it is safe for concurrent
// use; none of it is scenario state.
type Harness struct {
	Settings settings.Settings
	// Ready is the run's cluster, ready for the gateway: clients, identities, the CRD.
	Ready
	Namespaces *namespace.Generator
	// Gateway is the shared gateway; nil in contract mode.
	Gateway *Gateway
	// GatewayURL is where scenarios send signals.
	GatewayURL string
	// DeployedConfig is what a deployed gateway (contract mode) is said to run with: the
	// documented defaults and E2E_GATEWAY_ARGS.
	DeployedConfig gatewayconf.Config
	// AlertmanagerBinary is the real Alertmanager that scenarios start as their sender.
	AlertmanagerBinary string
	Timings            Timings

	binary  string   // the gateway binary, for the process runtime
	image   string   // the gateway image's tag in the Docker engine, for the container runtime
	built   v1.Image // that image, for a cluster that loads it into its nodes
	docker  *client.Client
	workDir string
	// ca issues the serving certificates of the gateways the suite launches; caPEM is its
	// certificate (or E2E_GATEWAY_CA's in contract mode), which httpClient trusts.
	ca         *pki.CA
	caPEM      []byte
	httpClient *http.Client
	log        io.Writer
	undo       lifecycle.Stack
}

// Timings are printed at the end of the run.
type Timings struct {
	ClusterStart, ControlPlaneStart, GatewayBuild, GatewayStart time.Duration
}

// Setup starts the cluster from the provider that the settings name, installs the CRD from
// gateway/config/crd, makes the identities, and starts the shared gateway behind its fault proxy.
// On failure nothing it started is left running, and the error is one line naming the stage.
func Setup(ctx context.Context, s settings.Settings, log io.Writer) (*Harness, error) {
	return setup(ctx, s, log, nil)
}

// setup is Setup with a test's hook that fails a chosen stage.
func setup(ctx context.Context, s settings.Settings, log io.Writer, inject lifecycle.Inject) (*Harness, error) {
	h := &Harness{Settings: s, log: log}
	if err := lifecycle.Setup(ctx, h.stages(), &h.undo, inject); err != nil {
		return nil, err
	}
	return h, nil
}

// stages is the order of a setup; each stage's undo is registered inside it. The cluster's own
// stages are Ready's; the container runtime builds the image before them, because applying the
// Deployment names it.
func (h *Harness) stages() []lifecycle.Stage {
	spec := ReadySpec{Settings: h.Settings, Identity: OwnIdentity, Log: h.log, deploy: h.deployForRuntime}
	var st []lifecycle.Stage
	switch {
	case h.Settings.ContractMode():
		spec.Identity = NamedIdentity
	case h.Settings.GatewayRuntime == settings.RuntimeContainer:
		spec.Identity = DeploymentIdentity
		st = append(st,
			lifecycle.Stage{Name: "gateway CA", Run: h.setupGatewayCA},
			lifecycle.Stage{Name: "gateway image", Run: h.buildGateway})
	}
	st = append(st, lifecycle.Stage{Name: "provider", Run: func(context.Context, *lifecycle.Stack) error {
		var err error
		spec.Provider, err = Provider(h.Settings, h.Settings.Cluster)
		return err
	}})
	st = append(st, h.Ready.stages(&spec)...)
	st = append(st,
		lifecycle.Stage{Name: "namespaces", Run: h.sweepNamespaces},
		lifecycle.Stage{Name: "alertmanager build", Run: func(ctx context.Context, _ *lifecycle.Stack) error {
			var err error
			h.AlertmanagerBinary, err = alertmanager.EnsureBinary(ctx, h.log)
			return err
		}})
	switch {
	case h.Settings.ContractMode():
		return append(st,
			lifecycle.Stage{Name: "gateway CA", Run: h.setupGatewayCA},
			lifecycle.Stage{Name: "deployed gateway", Run: h.checkDeployedGateway})
	case h.Settings.GatewayRuntime == settings.RuntimeContainer:
		return append(st, lifecycle.Stage{Name: "gateway", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			if h.realPods() {
				return h.startPods(ctx, undo)
			}
			return h.startSharedGateway(ctx, undo)
		}})
	}
	return append(st,
		lifecycle.Stage{Name: "gateway CA", Run: h.setupGatewayCA},
		lifecycle.Stage{Name: "gateway build", Run: h.buildGateway},
		lifecycle.Stage{Name: "gateway", Run: h.startSharedGateway})
}

func (h *Harness) sweepNamespaces(ctx context.Context, undo *lifecycle.Stack) error {
	h.Timings.ClusterStart = h.StartupTime
	if sd, ok := h.Cluster.(cluster.StartupReporter); ok {
		h.Timings.ControlPlaneStart = sd.StartupDuration()
	}
	h.Namespaces = namespace.New(runid.New())
	if h.controllers() {
		// Scenarios only ask for their namespaces' deletion; the run ends when the cluster's
		// namespace controller has really removed them, or fails naming the ones it left.
		undo.Push("the run's namespaces", func(ctx context.Context) error {
			return namespace.WaitGone(ctx, h.Kube, h.Namespaces.RunID(), h.Settings.Timeouts.NamespaceGone)
		})
	}
	if swept, err := namespace.Sweep(ctx, h.Kube, LeftoverAge, "", h.cleanupOptions()...); err != nil {
		fmt.Fprintf(h.log, "harness: removing leftover namespaces: %v\n", err)
	} else if len(swept) > 0 {
		fmt.Fprintf(h.log, "harness: removed %d leftover namespaces of earlier runs\n", len(swept))
	}
	return nil
}

func (h *Harness) checkDeployedGateway(ctx context.Context, _ *lifecycle.Stack) error {
	h.GatewayURL = h.Settings.GatewayURL
	var err error
	if h.DeployedConfig, err = h.GatewayConfig(); err != nil {
		return err
	}
	return h.Settings.Timeouts.Until(ctx, h.Settings.Timeouts.Readiness, "the deployed gateway at "+h.GatewayURL+" to answer /readyz 200", func(ctx context.Context) (bool, string, error) {
		code, err := gatewayproc.Probe(ctx, h.HTTPClient(), h.GatewayURL, "/readyz")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == http.StatusOK, fmt.Sprintf("HTTP %d", code), nil
	})
}

func (h *Harness) buildGateway(ctx context.Context, undo *lifecycle.Stack) error {
	dir, err := os.MkdirTemp("", "gateway-e2e-")
	if err != nil {
		return fmt.Errorf("creating the run's work directory: %w", err)
	}
	h.workDir = dir
	undo.Push("the work directory "+dir, func(context.Context) error { return os.RemoveAll(dir) })
	if h.Settings.GatewayRuntime == settings.RuntimeContainer {
		return h.buildImage(ctx, undo)
	}
	if h.Settings.GatewayBinary != "" { // built beforehand (make mutation): launched as it is
		h.binary = h.Settings.GatewayBinary
		return nil
	}
	begin := time.Now()
	if h.binary, err = gatewayproc.Build(ctx, h.workDir); err != nil {
		return err
	}
	h.Timings.GatewayBuild = time.Since(begin)
	return nil
}

func (h *Harness) startSharedGateway(ctx context.Context, undo *lifecycle.Stack) error {
	begin := time.Now()
	g, err := h.StartGateway(ctx, "shared")
	if err != nil {
		return err
	}
	h.Gateway = g
	undo.Push("the shared gateway", func(context.Context) error { return g.Stop() })
	h.Timings.GatewayStart = time.Since(begin)
	h.GatewayURL = g.Process.URL()
	fmt.Fprintf(h.log, "harness: gateway %s (%s) ready in %s, API through fault proxy %s\n",
		h.GatewayURL, g.Process, h.Timings.GatewayStart.Round(time.Millisecond), g.Proxy.URL())
	return nil
}

// AsToken is a client configuration that reaches the API server directly with a bearer token
// instead of the administrator's credentials: the API server's address and CA only.
func (h *Harness) AsToken(token string) *rest.Config {
	return &rest.Config{
		Host:            h.admin.Host,
		APIPath:         h.admin.APIPath,
		TLSClientConfig: rest.TLSClientConfig{CAData: h.admin.CAData, CAFile: h.admin.CAFile, ServerName: h.admin.ServerName, Insecure: h.admin.Insecure},
		BearerToken:     token,
		QPS:             h.admin.QPS,
		Burst:           h.admin.Burst,
	}
}

// CreateNamespace creates a scenario namespace with the generator's labels.
func (h *Harness) CreateNamespace(ctx context.Context, name, feature, scenario string) error {
	return namespace.Create(ctx, h.Kube, name, h.Namespaces.Labels(feature, scenario), h.Namespaces.Annotations(feature, scenario))
}

// DeleteNamespace removes a scenario namespace and what the suite put in it.
func (h *Harness) DeleteNamespace(ctx context.Context, name string) error {
	return namespace.Delete(ctx, h.Kube, name, h.cleanupOptions()...)
}

// Teardown undoes every stage in reverse: the shared gateway, its proxy, the identities, the CRD
// this run installed, and the cluster. Safe on a nil harness and safe twice.
func (h *Harness) Teardown(ctx context.Context) error {
	if h == nil {
		return nil
	}
	return h.undo.Unwind(context.WithoutCancel(ctx))
}

// Run is a command's whole use of a harness: Setup, fn, Teardown, and the wall time, on log with
// the command's name. The exit code is fn's, or 2 when the setup or the teardown failed.
func Run(ctx context.Context, s settings.Settings, log io.Writer, name string, fn func(*Harness) int) (code int) {
	begin := time.Now()
	h, err := Setup(ctx, s, log)
	if err != nil {
		fmt.Fprintf(log, "%s: harness setup: %v\n", name, err)
		return 2
	}
	defer func() {
		if err := h.Teardown(ctx); err != nil {
			fmt.Fprintf(log, "%s: harness teardown: %v\n", name, err)
			code = max(code, 2)
		}
		fmt.Fprintf(log, "%s: wall time %s (harness setup and teardown included)\n", name, time.Since(begin).Round(time.Millisecond))
	}()
	return fn(h)
}

// Target says what the run tested, for the report: the cluster provider and how the gateway ran.
func (h *Harness) Target() string {
	switch {
	case h.Settings.ContractMode():
		return fmt.Sprintf("%s cluster; a deployed gateway at %s (contract mode)", h.Settings.Cluster, h.Settings.GatewayURL)
	case h.Settings.GatewayRuntime == settings.RuntimeContainer && h.realPods():
		return fmt.Sprintf("%s cluster; gateway runtime container: image %s loaded into the nodes, the Pods of gateway/config/default reached through port-forward; "+
			"@launched-gateway scenarios not run (no fault proxy on the Pods' path to the API server)", h.Settings.Cluster, h.image)
	case h.Settings.GatewayRuntime == settings.RuntimeContainer:
		return fmt.Sprintf("%s cluster; gateway runtime container: image %s, Pod template of gateway/config/default", h.Settings.Cluster, h.image)
	default:
		return fmt.Sprintf("%s cluster; gateway runtime process", h.Settings.Cluster)
	}
}
