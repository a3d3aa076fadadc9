package cluster

import (
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/support/controlplane"
)

// localProvider runs the embedded kube-apiserver and etcd (support/controlplane): the default,
// because it needs nothing but Go.
type localProvider struct {
	assets string // KUBEBUILDER_ASSETS; empty: the module build
	log    io.Writer
}

func (localProvider) Name() string { return NameLocal }

// Start builds the control plane on first use (minutes, once per machine) and starts it
// (seconds).
func (p localProvider) Start(ctx context.Context) (Cluster, error) {
	cp, err := controlplane.Start(ctx, p.assets, p.log)
	if err != nil {
		return nil, fmt.Errorf("local cluster: %w", err)
	}
	return &localCluster{cp: cp}, nil
}

type localCluster struct{ cp *controlplane.ControlPlane }

func (c *localCluster) Name() string             { return NameLocal }
func (c *localCluster) RESTConfig() *rest.Config { return c.cp.RESTConfig() }

// StartupDuration is how long etcd and kube-apiserver took to come up, without any build.
func (c *localCluster) StartupDuration() time.Duration { return c.cp.StartupDuration() }

func (c *localCluster) Stop(context.Context) error { return c.cp.Stop() }

// Controllers reports whether kube-controller-manager runs beside the API server.
func (c *localCluster) Controllers() bool { return c.cp.Controllers() }
