package harness

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/gatewayconf"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// Dedicated is a control plane of a scenario's own, in a container, made ready for the gateway
// as the run's cluster is (Ready), with a gateway behind a fault proxy: what a scenario needs to
// freeze, restart or cut off the API server itself without disturbing the scenarios running
// beside it, whatever the run's provider. It needs a local Docker engine; its absence fails the
// scenario in one line that says so.
type Dedicated struct {
	Ready
	// Cluster is the control plane's container, whose faults the scenario injects.
	Cluster *cluster.ContainerCluster
	Gateway *Gateway

	undo lifecycle.Stack
}

// StartDedicated starts a Dedicated; Stop releases all of it (also after a failed start).
func (h *Harness) StartDedicated(ctx context.Context, name string, premises ...gatewayconf.Premise) (*Dedicated, error) {
	if h.Settings.ContractMode() || h.realPods() {
		return nil, ErrContractMode
	}
	provider, err := Provider(h.Settings, cluster.NameContainer)
	if err != nil {
		return nil, err
	}
	spec := ReadySpec{Provider: provider, Settings: h.Settings, Identity: OwnIdentity, Disposable: true, deploy: h.deployDedicated}
	if h.Settings.GatewayRuntime == settings.RuntimeContainer {
		spec.Identity = DeploymentIdentity
	}
	d := &Dedicated{}
	stages := append(d.Ready.stages(&spec),
		lifecycle.Stage{Name: "container faults", Run: func(context.Context, *lifecycle.Stack) error {
			cc, ok := d.Ready.Cluster.(*cluster.ContainerCluster)
			if !ok {
				return fmt.Errorf("the container provider returned a %T", d.Ready.Cluster)
			}
			d.Cluster = cc
			return nil
		}},
		lifecycle.Stage{Name: "gateway", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			g, err := h.startGatewayOn(ctx, name, d.target, premises...)
			if err != nil {
				return err
			}
			undo.Push("the dedicated gateway", func(context.Context) error { return g.Stop() })
			d.Gateway = g
			return nil
		}})
	if err := lifecycle.Setup(ctx, stages, &d.undo, nil); err != nil {
		return nil, fmt.Errorf("a control plane of the scenario's own: %w", err)
	}
	return d, nil
}

// deployDedicated applies the manifests to a scenario's own control plane, whose Pods the suite
// runs as a kubelet would, with the suite's configuration as container args.
func (h *Harness) deployDedicated(ctx context.Context, admin *rest.Config, kube kubernetes.Interface, undo *lifecycle.Stack) (*deployment, error) {
	return h.deployGateway(ctx, admin, kube, undo, nil)
}

// Stop stops the gateway and removes the container; safe twice.
func (d *Dedicated) Stop(ctx context.Context) error { return d.undo.Unwind(ctx) }
