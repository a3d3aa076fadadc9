package controlplane

import (
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlane is a running etcd and kube-apiserver.
type ControlPlane struct {
	env     *envtest.Environment
	cfg     *rest.Config
	started time.Duration
}

// Start builds the binaries if needed and starts them. The CRDs are not installed here: the suite
// installs them the same way on every provider.
func Start(ctx context.Context, log io.Writer) (*ControlPlane, error) {
	dir, err := EnsureBinaries(ctx, log)
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    dir,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  20 * time.Second,
	}
	// Keep the apiserver's event TTL short so that leftover events do not pile up in long runs.
	env.ControlPlane.GetAPIServer().Configure().Set("event-ttl", "10m")
	// The data lives for one run in a temporary directory: an fsync per write buys nothing and
	// costs most of each write's latency.
	env.ControlPlane.Etcd = &envtest.Etcd{}
	env.ControlPlane.Etcd.Configure().Set("unsafe-no-fsync", "true")
	begin := time.Now()
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("starting the embedded control plane from %s: %w", dir, err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return &ControlPlane{env: env, cfg: cfg, started: time.Since(begin)}, nil
}

// RESTConfig has administrator credentials for the running API server.
func (c *ControlPlane) RESTConfig() *rest.Config { return rest.CopyConfig(c.cfg) }

// StartupDuration is how long etcd and kube-apiserver took to become ready, for the run's summary.
func (c *ControlPlane) StartupDuration() time.Duration { return c.started }

// Stop stops both processes and removes their data directories.
func (c *ControlPlane) Stop() error {
	if c == nil || c.env == nil {
		return nil
	}
	err := c.env.Stop()
	c.env = nil
	if err != nil {
		return fmt.Errorf("stopping the embedded control plane: %w", err)
	}
	return nil
}
