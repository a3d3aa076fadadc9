package harness

import (
	"context"
	"fmt"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/gatewayconf"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// Dedicated is a control plane of a scenario's own, in a container, with the CRD, the gateway's
// identity, a default sender, the fallback namespace and a gateway behind a fault proxy: what a
// scenario needs to freeze, restart or cut off the API server itself without disturbing the
// scenarios running beside it, whatever the run's provider. It needs a local Docker engine; its
// absence fails the scenario in one line that says so.
type Dedicated struct {
	Cluster *cluster.ContainerCluster
	Kube    kubernetes.Interface
	Client  ctrlclient.Client
	Sender  *gatewayproc.Identity
	Gateway *Gateway

	admin *rest.Config
	undo  lifecycle.Stack
}

// StartDedicated starts a Dedicated; Stop releases all of it (also after a failed start).
func (h *Harness) StartDedicated(ctx context.Context, name string, premises ...gatewayconf.Premise) (*Dedicated, error) {
	if h.Settings.ContractMode() {
		return nil, ErrContractMode
	}
	d := &Dedicated{}
	target := &gatewayTarget{}
	err := lifecycle.Setup(ctx, []lifecycle.Stage{
		{Name: "container cluster", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			p, err := cluster.FromEnv(func(k string) string {
				if k == "E2E_CLUSTER" {
					return cluster.NameContainer
				}
				return os.Getenv(k)
			})
			if err != nil {
				return err
			}
			c, err := p.Start(ctx)
			if err != nil {
				return err
			}
			undo.Push("the dedicated container cluster", c.Stop)
			cc, ok := c.(*cluster.ContainerCluster)
			if !ok {
				return fmt.Errorf("the container provider returned a %T", c)
			}
			d.Cluster, d.admin = cc, cc.RESTConfig()
			d.admin.QPS, d.admin.Burst = float32(h.Settings.ClientQPS), h.Settings.ClientBurst
			target.admin = d.admin
			return nil
		}},
		{Name: "clients", Run: func(context.Context, *lifecycle.Stack) error {
			var err error
			if d.Kube, err = kubernetes.NewForConfig(d.admin); err != nil {
				return err
			}
			d.Client, err = ctrlclient.New(d.admin, ctrlclient.Options{Scheme: h.Client.Scheme()})
			return err
		}},
		{Name: "crds", Run: func(context.Context, *lifecycle.Stack) error {
			dir, err := repo.Path("gateway", "config", "crd")
			if err != nil {
				return err
			}
			_, err = envtest.InstallCRDs(d.admin, envtest.CRDInstallOptions{Paths: []string{dir}, ErrorIfPathMissing: true, MaxTime: h.Settings.Timeouts.Eventually})
			return err
		}},
		// The cluster goes away as a whole: what these stages create needs no undo of its own.
		{Name: "identities", Run: func(ctx context.Context, _ *lifecycle.Stack) error {
			if h.Settings.GatewayRuntime == settings.RuntimeContainer {
				var gone lifecycle.Stack // the cluster goes away as a whole
				dep, err := h.deployGateway(ctx, d.admin, d.Kube, &gone)
				if err != nil {
					return err
				}
				target.deployment = dep
			} else {
				identity, err := gatewayproc.SetupIdentity(ctx, d.admin, nil)
				if err != nil {
					return err
				}
				target.token = identity.Token
			}
			var err error
			if d.Sender, err = gatewayproc.SetupSender(ctx, d.admin, h.gatewayNamespace(), SenderServiceAccount, nil); err != nil {
				return err
			}
			return gatewayproc.EnsureNamespace(ctx, d.Kube, h.Settings.FallbackNamespace, nil)
		}},
		{Name: "gateway", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			g, err := h.startGatewayOn(ctx, name, target, premises...)
			if err != nil {
				return err
			}
			undo.Push("the dedicated gateway", func(context.Context) error { return g.Stop() })
			d.Gateway = g
			return nil
		}},
	}, &d.undo, nil)
	if err != nil {
		return nil, fmt.Errorf("a control plane of the scenario's own: %w", err)
	}
	return d, nil
}

// Stop stops the gateway and removes the container; safe twice.
func (d *Dedicated) Stop(ctx context.Context) error { return d.undo.Unwind(ctx) }
