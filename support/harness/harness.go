package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	"github.com/kubernaut/gateway-contract/support/namespace"
	"github.com/kubernaut/gateway-contract/support/poll"
	"github.com/kubernaut/gateway-contract/support/repo"
)

// LeftoverAge is how old a suite namespace must be before a new run removes it as a leftover
// of a crashed run.
const LeftoverAge = time.Hour

// Harness is everything one run shares between its scenarios. All of it is safe for concurrent
// use; none of it is scenario state.
type Harness struct {
	Settings   Settings
	Cluster    cluster.Cluster
	Kube       kubernetes.Interface
	Dynamic    dynamic.Interface
	Client     ctrlclient.Client
	Namespaces *namespace.Generator
	// Gateway is the shared gateway; nil in contract mode.
	Gateway *Gateway
	// GatewayURL is where scenarios send signals.
	GatewayURL string
	// Identity is the gateway's ServiceAccount; nil in contract mode.
	Identity *gatewayproc.Identity
	Timings  Timings

	admin   *rest.Config
	binary  string
	workDir string
	log     io.Writer
}

// Timings are printed at the end of the run.
type Timings struct {
	ClusterStart, ControlPlaneStart, GatewayBuild, GatewayStart time.Duration
}

// Setup starts the cluster from the provider that E2E_CLUSTER names, installs the CRD from
// gateway/config/crd, and starts the shared gateway behind its fault proxy.
func Setup(ctx context.Context, s Settings, log io.Writer) (h *Harness, err error) {
	h = &Harness{Settings: s, log: log}
	defer func() {
		if err != nil {
			h.Teardown(context.WithoutCancel(ctx))
		}
	}()
	provider, err := cluster.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	begin := time.Now()
	if h.Cluster, err = provider.Start(ctx); err != nil {
		return nil, err
	}
	h.Timings.ClusterStart = time.Since(begin)
	if sd, ok := h.Cluster.(interface{ StartupDuration() time.Duration }); ok {
		h.Timings.ControlPlaneStart = sd.StartupDuration()
	}
	fmt.Fprintf(log, "harness: %s cluster up in %s\n", h.Cluster.Name(), h.Timings.ClusterStart.Round(time.Millisecond))
	h.admin = h.Cluster.RESTConfig()
	if err := h.connect(); err != nil {
		return nil, err
	}
	if err := h.installCRDs(); err != nil {
		return nil, err
	}
	h.Namespaces = namespace.New(namespace.NewRunID())
	if swept, err := namespace.Sweep(ctx, h.Kube, LeftoverAge, "", h.cleanupOptions()...); err != nil {
		fmt.Fprintf(log, "harness: removing leftover namespaces: %v\n", err)
	} else if len(swept) > 0 {
		fmt.Fprintf(log, "harness: removed %d leftover namespaces of earlier runs\n", len(swept))
	}
	if s.ContractMode() {
		h.GatewayURL = s.GatewayURL
		ns, name, _ := strings.Cut(s.GatewayServiceAccount, "/")
		h.Identity = &gatewayproc.Identity{Namespace: ns, ServiceAccount: name} // no token: not ours to hold
		return h, h.checkDeployedGateway(ctx)
	}
	if h.workDir, err = os.MkdirTemp("", "gateway-e2e-"); err != nil {
		return nil, fmt.Errorf("creating the run's work directory: %w", err)
	}
	begin = time.Now()
	if h.binary, err = gatewayproc.Build(ctx, h.workDir); err != nil {
		return nil, err
	}
	h.Timings.GatewayBuild = time.Since(begin)
	if h.Identity, err = gatewayproc.SetupIdentity(ctx, h.admin); err != nil {
		return nil, err
	}
	if err := h.ensureFallbackNamespace(ctx); err != nil {
		return nil, err
	}
	begin = time.Now()
	if h.Gateway, err = h.StartGateway(ctx, "shared"); err != nil {
		return nil, err
	}
	h.Timings.GatewayStart = time.Since(begin)
	h.GatewayURL = h.Gateway.Process.URL()
	fmt.Fprintf(log, "harness: gateway %s (pid %d) ready in %s, API through fault proxy %s\n",
		h.GatewayURL, h.Gateway.Process.Pid(), h.Timings.GatewayStart.Round(time.Millisecond), h.Gateway.Proxy.URL())
	return h, nil
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
	if h.Client, err = ctrlclient.New(h.admin, ctrlclient.Options{Scheme: scheme}); err != nil {
		return fmt.Errorf("controller-runtime client: %w", err)
	}
	return nil
}

// installCRDs applies gateway/config/crd and waits until the API serves it, on any provider.
func (h *Harness) installCRDs() error {
	dir, err := repo.Path("gateway", "config", "crd")
	if err != nil {
		return err
	}
	if _, err := envtest.InstallCRDs(h.admin, envtest.CRDInstallOptions{
		Paths:              []string{dir},
		ErrorIfPathMissing: true,
		MaxTime:            poll.Timeouts.Eventually,
	}); err != nil {
		return fmt.Errorf("installing the CRDs from %s: %w", dir, err)
	}
	return nil
}

func (h *Harness) checkDeployedGateway(ctx context.Context) error {
	return poll.Until(ctx, poll.Timeouts.Readiness, "the deployed gateway at "+h.GatewayURL+" to answer /readyz 200", func(ctx context.Context) (bool, string, error) {
		code, err := gatewayproc.Probe(ctx, h.GatewayURL, "/readyz")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == http.StatusOK, fmt.Sprintf("HTTP %d", code), nil
	})
}

// AsToken is a client configuration that reaches the API server directly with a bearer token
// instead of the administrator's credentials: the API server's address and CA only.
func (h *Harness) AsToken(token string) *rest.Config {
	return &rest.Config{
		Host:            h.admin.Host,
		APIPath:         h.admin.APIPath,
		TLSClientConfig: rest.TLSClientConfig{CAData: h.admin.CAData, CAFile: h.admin.CAFile, ServerName: h.admin.ServerName, Insecure: h.admin.Insecure},
		BearerToken:     token,
	}
}

// ensureFallbackNamespace creates the namespace the launched gateways fall back to, as a
// deployment would. It is not a suite namespace: it carries no suite labels, so no sweep removes it.
func (h *Harness) ensureFallbackNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.Settings.FallbackNamespace}}
	if _, err := h.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the fallback namespace %s: %w", ns.Name, err)
	}
	return nil
}

// cleanupOptions let namespace deletion finish on control planes without a namespace controller.
func (h *Harness) cleanupOptions() []namespace.Option {
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

// Teardown stops the shared gateway, its proxy and the cluster; safe on a half-built harness.
func (h *Harness) Teardown(ctx context.Context) {
	if h.Gateway != nil {
		if err := h.Gateway.Stop(); err != nil {
			fmt.Fprintf(h.log, "harness: %v\n", err)
		}
	}
	if h.Cluster != nil {
		if err := h.Cluster.Stop(ctx); err != nil {
			fmt.Fprintf(h.log, "harness: %v\n", err)
		}
	}
	if h.workDir != "" {
		os.RemoveAll(h.workDir)
	}
}
