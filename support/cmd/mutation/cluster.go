package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/controlplane"
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// sharedCluster is one embedded control plane for every suite run of the measurement: each run
// attaches to it as E2E_CLUSTER=existing, which saves a control plane start per mutant. It is made
// ready for the gateway once (harness.Prepare: the CRD, the gateway's identity and namespaces, the
// default sender, the scraper), so that no run removes what a run beside it still uses; each run
// keeps its own namespaces, as always. The runs inherit this process's environment, so they are
// told the same fallback namespace and service account it was prepared with.
type sharedCluster struct {
	undo       lifecycle.Stack
	kubeconfig string
}

func startSharedCluster(ctx context.Context, dir string) (*sharedCluster, error) {
	s, err := settings.FromEnvironment(os.Getenv)
	if err != nil {
		return nil, err
	}
	provider, err := harness.Provider(s, cluster.NameLocal)
	if err != nil {
		return nil, err
	}
	sc := &sharedCluster{kubeconfig: filepath.Join(dir, "admin.kubeconfig")}
	// The cluster goes away with this process: nothing made in it is undone on its own.
	ready, err := harness.Prepare(ctx, harness.ReadySpec{Provider: provider, Settings: s, Identity: harness.OwnIdentity, Disposable: true}, &sc.undo)
	if err != nil {
		return nil, err
	}
	if err := controlplane.WriteKubeconfig(sc.kubeconfig, ready.Admin()); err != nil {
		_ = sc.stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return sc, nil
}

func (sc *sharedCluster) stop(ctx context.Context) error { return sc.undo.Unwind(ctx) }
