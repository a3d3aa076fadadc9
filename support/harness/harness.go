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
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/support/alertmanager"
	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/gatewayconf"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/namespace"
	"github.com/kubernaut/gateway-contract/support/pki"
	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/runid"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// LeftoverAge is how old a suite namespace must be before a new run removes it as a leftover
// of a crashed run.
const LeftoverAge = time.Hour

// The suite's identities, in the gateway's namespace: the default signal sender, bound
// cluster-wide to the shipped ClusterRole kubernaut-signal-sender, and the metrics scraper.
const (
	SenderServiceAccount  = "e2e-signal-sender"
	ScraperServiceAccount = "e2e-metrics-scraper"
)

// Harness is everything one run shares between its scenarios. All of it is safe for concurrent
// use; none of it is scenario state.
type Harness struct {
	Settings   settings.Settings
	Cluster    cluster.Cluster
	Kube       kubernetes.Interface
	Dynamic    dynamic.Interface
	Client     ctrlclient.Client
	Namespaces *namespace.Generator
	// Gateway is the shared gateway; nil in contract mode.
	Gateway *Gateway
	// GatewayURL is where scenarios send signals.
	GatewayURL string
	// DeployedConfig is what a deployed gateway (contract mode) is said to run with: the
	// documented defaults and E2E_GATEWAY_ARGS.
	DeployedConfig gatewayconf.Config
	// Identity is the gateway's ServiceAccount; its token is empty in contract mode.
	Identity *gatewayproc.Identity
	// Sender is the default signal sender: a real ServiceAccount token, bound cluster-wide to
	// kubernaut-signal-sender. Every scenario sends with it unless it makes a sender of its own.
	Sender *gatewayproc.Identity
	// Scraper may read the gateway's /metrics (get on the non-resource URL), as Prometheus would.
	Scraper *gatewayproc.Identity
	// AlertmanagerBinary is the real Alertmanager that scenarios start as their sender.
	AlertmanagerBinary string
	Timings            Timings

	admin   *rest.Config
	binary  string // the gateway binary, for the process runtime
	image   string // the gateway image's tag in the Docker engine, for the container runtime
	docker  *client.Client
	target  *gatewayTarget // the run's cluster, as the shared gateway's target
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

// stages is the order of a setup; each stage's undo is registered inside it.
func (h *Harness) stages() []lifecycle.Stage {
	st := []lifecycle.Stage{
		{Name: "cluster", Run: h.startCluster},
		{Name: "clients", Run: func(context.Context, *lifecycle.Stack) error { return h.connect() }},
		{Name: "crds", Run: h.installCRDs},
		{Name: "namespaces", Run: h.sweepNamespaces},
		{Name: "gateway namespaces", Run: h.ensureGatewayNamespaces},
		{Name: "senders", Run: h.setupSender},
		{Name: "alertmanager build", Run: func(ctx context.Context, _ *lifecycle.Stack) error {
			var err error
			h.AlertmanagerBinary, err = alertmanager.EnsureBinary(ctx, h.log)
			return err
		}},
		{Name: "gateway CA", Run: h.setupGatewayCA},
	}
	if h.Settings.ContractMode() {
		return append(st, lifecycle.Stage{Name: "deployed gateway", Run: h.checkDeployedGateway})
	}
	if h.Settings.GatewayRuntime == settings.RuntimeContainer {
		return append(st,
			lifecycle.Stage{Name: "gateway image", Run: h.buildGateway},
			lifecycle.Stage{Name: "gateway deployment", Run: h.setupDeployment},
			lifecycle.Stage{Name: "gateway", Run: h.startSharedGateway},
		)
	}
	return append(st,
		lifecycle.Stage{Name: "gateway identity", Run: h.setupIdentity},
		lifecycle.Stage{Name: "gateway build", Run: h.buildGateway},
		lifecycle.Stage{Name: "gateway", Run: h.startSharedGateway},
	)
}

func (h *Harness) startCluster(ctx context.Context, undo *lifecycle.Stack) error {
	provider, err := cluster.FromEnv(h.Settings.Getenv(os.Getenv))
	if err != nil {
		return err
	}
	begin := time.Now()
	c, err := provider.Start(ctx)
	if err != nil {
		return err
	}
	h.Cluster = c
	undo.Push("the "+c.Name()+" cluster", c.Stop)
	h.Timings.ClusterStart = time.Since(begin)
	if sd, ok := h.Cluster.(cluster.StartupReporter); ok {
		h.Timings.ControlPlaneStart = sd.StartupDuration()
	}
	// One place sets the suite's client rate limits, for every provider: high enough that the
	// suite is never throttled by its own client (API Priority and Fairness protects the server).
	h.admin = h.Cluster.RESTConfig()
	h.admin.QPS, h.admin.Burst = float32(h.Settings.ClientQPS), h.Settings.ClientBurst
	fmt.Fprintf(h.log, "harness: %s cluster up in %s; suite client limits %g requests/s, burst %d\n",
		h.Cluster.Name(), h.Timings.ClusterStart.Round(time.Millisecond), h.Settings.ClientQPS, h.Settings.ClientBurst)
	return nil
}

func (h *Harness) connect() error {
	var err error
	if h.Kube, err = kubernetes.NewForConfig(h.admin); err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	if h.Dynamic, err = dynamic.NewForConfig(h.admin); err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return fmt.Errorf("scheme: %w", err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("scheme: %w", err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("scheme: %w", err)
	}
	if h.Client, err = ctrlclient.New(h.admin, ctrlclient.Options{Scheme: scheme}); err != nil {
		return fmt.Errorf("controller-runtime client: %w", err)
	}
	return nil
}

// installCRDs applies gateway/config/crd and waits until the API serves it, on any provider. A
// CRD this run created is removed at teardown; one the cluster already had stays.
func (h *Harness) installCRDs(ctx context.Context, undo *lifecycle.Stack) error {
	dir, err := repo.Path("gateway", "config", "crd")
	if err != nil {
		return err
	}
	crdName := v1alpha1.ResourcePlural + "." + v1alpha1.GroupVersion.Group
	existing := &apiextensionsv1.CustomResourceDefinition{}
	err = h.Client.Get(ctx, ctrlclient.ObjectKey{Name: crdName}, existing)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("looking for the CRD %s: %w", crdName, err)
	}
	had := err == nil
	crds, err := envtest.InstallCRDs(h.admin, envtest.CRDInstallOptions{
		Paths:              []string{dir},
		ErrorIfPathMissing: true,
		MaxTime:            h.Settings.Timeouts.Eventually,
	})
	if !had && len(crds) > 0 {
		undo.Push("the CRDs of "+dir, func(ctx context.Context) error {
			if err := envtest.UninstallCRDs(h.admin, envtest.CRDInstallOptions{CRDs: crds}); err != nil {
				return err
			}
			// A CRD goes only once its objects are cleaned up: wait, so that a next run on the same
			// cluster does not find it terminating.
			return h.Settings.Timeouts.Await(ctx, "the CRD "+crdName+" to be gone", func(ctx context.Context) (bool, string, error) {
				err := h.Client.Get(ctx, ctrlclient.ObjectKey{Name: crdName}, &apiextensionsv1.CustomResourceDefinition{})
				if apierrors.IsNotFound(err) {
					return true, "", nil
				}
				return false, "still there", err
			})
		})
	}
	if err != nil {
		return fmt.Errorf("installing the CRDs from %s: %w", dir, err)
	}
	return nil
}

func (h *Harness) sweepNamespaces(ctx context.Context, undo *lifecycle.Stack) error {
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

// gatewayNamespace is where the gateway's ServiceAccount lives, and the default sender with it.
func (h *Harness) gatewayNamespace() string {
	ns, _, _ := strings.Cut(h.Settings.GatewayServiceAccount, "/")
	return ns
}

func (h *Harness) setupSender(ctx context.Context, undo *lifecycle.Stack) error {
	var err error
	if h.Sender, err = gatewayproc.SetupSender(ctx, h.admin, h.gatewayNamespace(), SenderServiceAccount, undo); err != nil {
		return err
	}
	role := gatewayproc.ScraperRole
	h.Scraper, err = gatewayproc.SetupBound(ctx, h.admin, h.gatewayNamespace(), ScraperServiceAccount, &role, undo)
	return err
}

func (h *Harness) setupIdentity(ctx context.Context, undo *lifecycle.Stack) error {
	var err error
	if h.Identity, err = gatewayproc.SetupIdentity(ctx, h.admin, undo); err != nil {
		return err
	}
	h.target = &gatewayTarget{admin: h.admin, token: h.Identity.Token}
	return nil
}

// setupDeployment applies the shipped manifests for the container runtime: the gateway's
// identity is then the Deployment's ServiceAccount, with the manifests' RBAC.
func (h *Harness) setupDeployment(ctx context.Context, undo *lifecycle.Stack) error {
	d, err := h.deployGateway(ctx, h.admin, h.Kube, undo)
	if err != nil {
		return err
	}
	h.target = &gatewayTarget{admin: h.admin, deployment: d}
	h.Identity = d.identity()
	// A token of the same kind the containers get, for the scenarios that ask the API server
	// what the gateway's identity may do.
	h.Identity.Token, err = d.token(ctx)
	return err
}

func (h *Harness) checkDeployedGateway(ctx context.Context, _ *lifecycle.Stack) error {
	h.GatewayURL = h.Settings.GatewayURL
	var err error
	if h.DeployedConfig, err = h.GatewayConfig(); err != nil {
		return err
	}
	ns, name, _ := strings.Cut(h.Settings.GatewayServiceAccount, "/")
	h.Identity = &gatewayproc.Identity{Namespace: ns, ServiceAccount: name} // no token: not ours to hold
	return h.Settings.Timeouts.Until(ctx, h.Settings.Timeouts.Readiness, "the deployed gateway at "+h.GatewayURL+" to answer /readyz 200", func(ctx context.Context) (bool, string, error) {
		code, err := gatewayproc.Probe(ctx, h.HTTPClient(), h.GatewayURL, "/readyz")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == http.StatusOK, fmt.Sprintf("HTTP %d", code), nil
	})
}

// ensureGatewayNamespaces creates the namespace of the gateway's identities and the namespace
// the gateways fall back to, as a deployment would, unless the cluster has them. They are not
// suite namespaces: they carry no suite labels, so no sweep removes them; one this run created is
// removed at its end, and the teardown waits until it is really gone, so that a next run on the
// same cluster does not meet it terminating.
func (h *Harness) ensureGatewayNamespaces(ctx context.Context, undo *lifecycle.Stack) error {
	for _, name := range []string{h.gatewayNamespace(), h.Settings.FallbackNamespace} {
		_, err := h.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		switch {
		case apierrors.IsAlreadyExists(err):
		case err != nil:
			return fmt.Errorf("creating the namespace %s: %w", name, err)
		default:
			undo.Push("namespace "+name, func(ctx context.Context) error { return h.removeNamespace(ctx, name) })
		}
	}
	return nil
}

// removeNamespace deletes a namespace and waits, bounded, until it is gone.
func (h *Harness) removeNamespace(ctx context.Context, name string) error {
	if err := namespace.Delete(ctx, h.Kube, name, h.cleanupOptions()...); err != nil {
		return err
	}
	return h.Settings.Timeouts.Until(ctx, h.Settings.Timeouts.NamespaceGone, "namespace "+name+" to be gone", func(ctx context.Context) (bool, string, error) {
		ns, err := h.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, "phase " + string(ns.Status.Phase), nil
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

// controllers reports whether the cluster runs a namespace controller: every provider does
// (kube-controller-manager runs in the local one too), except the local one given envtest
// binaries without kube-controller-manager through KUBEBUILDER_ASSETS.
func (h *Harness) controllers() bool {
	if c, ok := h.Cluster.(cluster.ControllerReporter); ok {
		return c.Controllers()
	}
	return true
}

// cleanupOptions let namespace deletion finish: on a cluster with a namespace controller the
// deletion is left to it (and the run's end waits for it, bounded); without one (an API server
// alone) the harness empties and finalizes the namespace itself.
func (h *Harness) cleanupOptions() []namespace.Option {
	if h.controllers() {
		return []namespace.Option{namespace.LeaveToController()}
	}
	return []namespace.Option{namespace.WithDynamic(h.Dynamic)}
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

// Admin is a copy of the administrator's client configuration of the run's cluster, for steps
// that apply manifests as a user with kubectl would.
func (h *Harness) Admin() *rest.Config { return rest.CopyConfig(h.admin) }

// Target says what the run tested, for the report: the cluster provider and how the gateway ran.
func (h *Harness) Target() string {
	switch {
	case h.Settings.ContractMode():
		return fmt.Sprintf("%s cluster; a deployed gateway at %s (contract mode)", h.Settings.Cluster, h.Settings.GatewayURL)
	case h.Settings.GatewayRuntime == settings.RuntimeContainer:
		return fmt.Sprintf("%s cluster; gateway runtime container: image %s, Pod template of gateway/config/default", h.Settings.Cluster, h.image)
	default:
		return fmt.Sprintf("%s cluster; gateway runtime process", h.Settings.Cluster)
	}
}
