package harness

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

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
	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/namespace"
	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// The suite's identities, in the gateway's namespace: the default signal sender, bound
// cluster-wide to the shipped ClusterRole kubernaut-signal-sender, and the metrics scraper.
const (
	SenderServiceAccount  = "e2e-signal-sender"
	ScraperServiceAccount = "e2e-metrics-scraper"
)

// Ready is a cluster ready for the gateway: started from a provider, with clients, the CRD from
// gateway/config/crd, the namespace of the gateway's identities and the fallback namespace, the
// gateway's identity, the default signal sender and the metrics scraper. One function assembles it
// (Prepare, or the stages a Harness splices into its own) for every cluster the project prepares:
// a suite run's, a scenario's own control plane, `make mutation`'s shared cluster and
// `support/cmd/cluster`'s. Whoever changes what "ready" means changes this file.
type Ready struct {
	Cluster cluster.Cluster
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Client  ctrlclient.Client
	// Identity is the gateway's ServiceAccount: the suite's own with a token, the Deployment's,
	// or only named (a gateway deployed by somebody else).
	Identity *gatewayproc.Identity
	// Sender is the default signal sender: a real ServiceAccount token, bound cluster-wide to
	// kubernaut-signal-sender. Every scenario sends with it unless it makes a sender of its own.
	Sender *gatewayproc.Identity
	// Scraper may read the gateway's /metrics (get on the non-resource URL), as Prometheus would.
	Scraper *gatewayproc.Identity
	// StartupTime is how long the provider's Start took.
	StartupTime time.Duration

	admin  *rest.Config
	target *gatewayTarget // where launched gateways run against, with which identity
}

// GatewayIdentity is how a ready cluster's gateway gets its identity.
type GatewayIdentity int

const (
	// NamedIdentity is a gateway deployed by somebody else: its ServiceAccount
	// (E2E_GATEWAY_SERVICE_ACCOUNT) is only named, for the permission scenarios.
	NamedIdentity GatewayIdentity = iota
	// OwnIdentity is gateway/config/rbac applied and a token of its ServiceAccount, for a gateway
	// process given a kubeconfig.
	OwnIdentity
	// DeploymentIdentity is gateway/config/default applied: the Deployment's ServiceAccount, whose
	// tokens are bound to a Pod the API server admitted (the container runtime).
	DeploymentIdentity
)

// ReadySpec says which cluster to make ready, and how.
type ReadySpec struct {
	// Provider starts the cluster (see Provider).
	Provider cluster.Provider
	// Settings give the client limits, the timeouts, the fallback namespace and the namespace of
	// the gateway's identities (E2E_GATEWAY_SERVICE_ACCOUNT's).
	Settings settings.Settings
	Identity GatewayIdentity
	// Disposable says the cluster goes away as a whole when it stops: nothing made in it is
	// undone on its own, which saves a teardown's API calls.
	Disposable bool
	Log        io.Writer

	// deploy applies gateway/config/default with the run's image, for DeploymentIdentity.
	deploy func(ctx context.Context, admin *rest.Config, kube kubernetes.Interface, undo *lifecycle.Stack) (*deployment, error)
}

// Provider is the cluster provider that s names, with its options from s: the one place that
// turns settings into provider options.
func Provider(s settings.Settings, name string) (cluster.Provider, error) {
	return cluster.New(name, cluster.Options{
		Kubeconfigs: s.Tools.Kubeconfigs,
		Home:        s.Tools.Home,
		KubeContext: s.KubeContext,
		DockerHost:  s.Tools.DockerHost,
		K3sImage:    s.K3sImage,
		KindImage:   s.KindImage,
		Assets:      s.Tools.Assets,
	})
}

// Prepare starts spec's cluster and makes it ready for the gateway. Everything it makes is undone
// through undo, the cluster last; a failed Prepare has undone it already.
func Prepare(ctx context.Context, spec ReadySpec, undo *lifecycle.Stack) (*Ready, error) {
	r := &Ready{}
	if err := lifecycle.Setup(ctx, r.stages(&spec), undo, nil); err != nil {
		return nil, err
	}
	return r, nil
}

// stages are Prepare's, in order; a Harness runs them among its own. spec is read as each stage
// runs, so that a stage before them may complete it (the provider).
func (r *Ready) stages(spec *ReadySpec) []lifecycle.Stage {
	// own is the undo of what is made inside the cluster: a stack nobody unwinds for a disposable
	// one.
	own := func(undo *lifecycle.Stack) *lifecycle.Stack {
		if spec.Disposable {
			return new(lifecycle.Stack)
		}
		return undo
	}
	return []lifecycle.Stage{
		{Name: "cluster", Run: func(ctx context.Context, undo *lifecycle.Stack) error { return r.start(ctx, *spec, undo) }},
		{Name: "clients", Run: func(context.Context, *lifecycle.Stack) error { return r.connect() }},
		{Name: "crds", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			return r.installCRDs(ctx, spec.Settings, own(undo))
		}},
		{Name: "gateway namespaces", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			return r.ensureNamespaces(ctx, spec.Settings, own(undo))
		}},
		{Name: "senders", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			return r.setupSenders(ctx, spec.Settings, own(undo))
		}},
		{Name: "gateway identity", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			return r.setupIdentity(ctx, *spec, own(undo))
		}},
	}
}

func (r *Ready) start(ctx context.Context, spec ReadySpec, undo *lifecycle.Stack) error {
	begin := time.Now()
	c, err := spec.Provider.Start(ctx)
	if err != nil {
		return err
	}
	r.Cluster = c
	undo.Push("the "+c.Name()+" cluster", c.Stop)
	r.StartupTime = time.Since(begin)
	if spec.Log == nil {
		spec.Log = io.Discard
	}
	// One place sets the suite's client rate limits, for every provider: high enough that the
	// suite is never throttled by its own client (API Priority and Fairness protects the server).
	r.admin = c.RESTConfig()
	r.admin.QPS, r.admin.Burst = float32(spec.Settings.ClientQPS), spec.Settings.ClientBurst
	fmt.Fprintf(spec.Log, "harness: %s cluster up in %s; suite client limits %g requests/s, burst %d\n",
		c.Name(), r.StartupTime.Round(time.Millisecond), spec.Settings.ClientQPS, spec.Settings.ClientBurst)
	return nil
}

func (r *Ready) connect() error {
	var err error
	if r.Kube, err = kubernetes.NewForConfig(r.admin); err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	if r.Dynamic, err = dynamic.NewForConfig(r.admin); err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return fmt.Errorf("scheme: %w", err)
		}
	}
	if r.Client, err = ctrlclient.New(r.admin, ctrlclient.Options{Scheme: scheme}); err != nil {
		return fmt.Errorf("controller-runtime client: %w", err)
	}
	return nil
}

// installCRDs applies gateway/config/crd and waits until the API serves it, on any provider. A
// CRD this call created is removed through undo; one the cluster already had stays.
func (r *Ready) installCRDs(ctx context.Context, s settings.Settings, undo *lifecycle.Stack) error {
	dir, err := repo.Path("gateway", "config", "crd")
	if err != nil {
		return err
	}
	crdName := v1alpha1.ResourcePlural + "." + v1alpha1.GroupVersion.Group
	err = r.Client.Get(ctx, ctrlclient.ObjectKey{Name: crdName}, &apiextensionsv1.CustomResourceDefinition{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("looking for the CRD %s: %w", crdName, err)
	}
	had := err == nil
	crds, err := envtest.InstallCRDs(r.admin, envtest.CRDInstallOptions{
		Paths:              []string{dir},
		ErrorIfPathMissing: true,
		MaxTime:            s.Timeouts.Eventually,
	})
	if !had && len(crds) > 0 {
		undo.Push("the CRDs of "+dir, func(ctx context.Context) error {
			if err := envtest.UninstallCRDs(r.admin, envtest.CRDInstallOptions{CRDs: crds}); err != nil {
				return err
			}
			// A CRD goes only once its objects are cleaned up: wait, so that a next run on the same
			// cluster does not find it terminating.
			return s.Timeouts.Await(ctx, "the CRD "+crdName+" to be gone", func(ctx context.Context) (bool, string, error) {
				err := r.Client.Get(ctx, ctrlclient.ObjectKey{Name: crdName}, &apiextensionsv1.CustomResourceDefinition{})
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

// identityNamespace is where the gateway's ServiceAccount lives, and the suite's identities with it.
func identityNamespace(s settings.Settings) string {
	ns, _, _ := strings.Cut(s.GatewayServiceAccount, "/")
	return ns
}

// ensureNamespaces creates the namespace of the gateway's identities and the namespace the
// gateways fall back to, as a deployment would, unless the cluster has them. They are not suite
// namespaces: they carry no suite labels, so no sweep removes them; one this call created is
// removed through undo, which waits until it is really gone, so that a next run on the same
// cluster does not meet it terminating.
func (r *Ready) ensureNamespaces(ctx context.Context, s settings.Settings, undo *lifecycle.Stack) error {
	for _, name := range []string{identityNamespace(s), s.FallbackNamespace} {
		_, err := r.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		switch {
		case apierrors.IsAlreadyExists(err):
		case err != nil:
			return fmt.Errorf("creating the namespace %s: %w", name, err)
		default:
			undo.Push("namespace "+name, func(ctx context.Context) error { return r.removeNamespace(ctx, s, name) })
		}
	}
	return nil
}

// removeNamespace deletes a namespace and waits, bounded, until it is gone.
func (r *Ready) removeNamespace(ctx context.Context, s settings.Settings, name string) error {
	if err := namespace.Delete(ctx, r.Kube, name, r.cleanupOptions()...); err != nil {
		return err
	}
	return s.Timeouts.Until(ctx, s.Timeouts.NamespaceGone, "namespace "+name+" to be gone", func(ctx context.Context) (bool, string, error) {
		ns, err := r.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, "phase " + string(ns.Status.Phase), nil
	})
}

func (r *Ready) setupSenders(ctx context.Context, s settings.Settings, undo *lifecycle.Stack) error {
	var err error
	if r.Sender, err = gatewayproc.SetupSender(ctx, r.admin, identityNamespace(s), SenderServiceAccount, undo); err != nil {
		return err
	}
	role := gatewayproc.ScraperRole
	r.Scraper, err = gatewayproc.SetupBound(ctx, r.admin, identityNamespace(s), ScraperServiceAccount, &role, undo)
	return err
}

// setupIdentity gives the gateway the identity spec asks for, and sets where launched gateways
// run against.
func (r *Ready) setupIdentity(ctx context.Context, spec ReadySpec, undo *lifecycle.Stack) error {
	switch spec.Identity {
	case OwnIdentity:
		id, err := gatewayproc.SetupIdentity(ctx, r.admin, undo)
		if err != nil {
			return err
		}
		r.Identity, r.target = id, &gatewayTarget{admin: r.admin, token: id.Token}
	case DeploymentIdentity:
		if spec.deploy == nil {
			return fmt.Errorf("the gateway's Deployment identity needs the gateway's image")
		}
		d, err := spec.deploy(ctx, r.admin, r.Kube, undo)
		if err != nil {
			return err
		}
		r.Identity, r.target = d.identity(), &gatewayTarget{admin: r.admin, deployment: d}
		// A token of the same kind the containers get, for the scenarios that ask the API server
		// what the gateway's identity may do.
		r.Identity.Token, err = d.token(ctx)
		return err
	default:
		ns, name, _ := strings.Cut(spec.Settings.GatewayServiceAccount, "/")
		r.Identity = &gatewayproc.Identity{Namespace: ns, ServiceAccount: name} // no token: not ours to hold
	}
	return nil
}

// Admin is a copy of the administrator's client configuration of the cluster, for steps that
// apply manifests as a user with kubectl would, and for commands that write a kubeconfig.
func (r *Ready) Admin() *rest.Config { return rest.CopyConfig(r.admin) }

// controllers reports whether the cluster runs a namespace controller: every provider does
// (kube-controller-manager runs in the local one too), except the local one given envtest
// binaries without kube-controller-manager through KUBEBUILDER_ASSETS.
func (r *Ready) controllers() bool {
	if c, ok := r.Cluster.(cluster.ControllerReporter); ok {
		return c.Controllers()
	}
	return true
}

// cleanupOptions let namespace deletion finish: on a cluster with a namespace controller the
// deletion is left to it (and the run's end waits for it, bounded); without one (an API server
// alone) the harness empties and finalizes the namespace itself.
func (r *Ready) cleanupOptions() []namespace.Option {
	if r.controllers() {
		return []namespace.Option{namespace.LeaveToController()}
	}
	return []namespace.Option{namespace.WithDynamic(r.Dynamic)}
}
