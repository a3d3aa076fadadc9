package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/controlplane"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/repo"
)

// fallbackNamespace is the suite's default E2E_FALLBACK_NAMESPACE (the runs are not given another).
const fallbackNamespace = "kubernaut-system"

// sharedCluster is one embedded control plane for every suite run of the measurement: each run
// attaches to it as E2E_CLUSTER=existing, which saves a control plane start per mutant. What runs
// would otherwise create and remove at their start and end (the CRD, the gateway's identity and
// namespace, the default sender, the scraper) is made here once, so that no run removes what a
// run beside it still uses; each run keeps its own namespaces, as always.
type sharedCluster struct {
	c          cluster.Cluster
	kubeconfig string
}

func startSharedCluster(ctx context.Context, dir string) (*sharedCluster, error) {
	p, err := cluster.FromEnv(func(key string) string {
		if key == "E2E_CLUSTER" {
			return cluster.NameLocal
		}
		return os.Getenv(key)
	})
	if err != nil {
		return nil, err
	}
	c, err := p.Start(ctx)
	if err != nil {
		return nil, err
	}
	sc := &sharedCluster{c: c, kubeconfig: filepath.Join(dir, "admin.kubeconfig")}
	if err := sc.prepare(ctx); err != nil {
		_ = c.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return sc, nil
}

func (sc *sharedCluster) prepare(ctx context.Context) error {
	cfg := sc.c.RESTConfig()
	crds, err := repo.Path("gateway", "config", "crd")
	if err != nil {
		return err
	}
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{crds}, ErrorIfPathMissing: true}); err != nil {
		return fmt.Errorf("installing the CRD: %w", err)
	}
	// The cluster goes away with this process: nothing to undo.
	id, err := gatewayproc.SetupIdentity(ctx, cfg, nil)
	if err != nil {
		return err
	}
	if _, err := gatewayproc.SetupSender(ctx, cfg, id.Namespace, harness.SenderServiceAccount, nil); err != nil {
		return err
	}
	role := gatewayproc.ScraperRole
	if _, err := gatewayproc.SetupBound(ctx, cfg, id.Namespace, harness.ScraperServiceAccount, &role, nil); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// The suite's default fallback namespace (E2E_FALLBACK_NAMESPACE is not passed to the runs).
	if err := gatewayproc.EnsureNamespace(ctx, cs, fallbackNamespace, nil); err != nil {
		return err
	}
	return controlplane.WriteKubeconfig(sc.kubeconfig, cfg)
}

func (sc *sharedCluster) stop(ctx context.Context) error { return sc.c.Stop(ctx) }
