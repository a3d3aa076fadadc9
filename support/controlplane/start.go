package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlane is a running etcd, kube-apiserver and (when its binary is there)
// kube-controller-manager.
type ControlPlane struct {
	env         *envtest.Environment
	cfg         *rest.Config
	started     time.Duration
	controllers *controllers
}

// AssetsEnv is the envtest convention: a directory that already holds kube-apiserver and etcd
// (and, optionally, kube-controller-manager) of a compatible version. When it is set, the module
// build is skipped.
const AssetsEnv = "KUBEBUILDER_ASSETS"

// Binaries returns the directory of the control plane's binaries: dir (KUBEBUILDER_ASSETS) when
// given (checked), else the module build (built on first use).
func Binaries(ctx context.Context, dir string, log io.Writer) (string, error) {
	if dir == "" {
		return EnsureBinaries(ctx, log)
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("%s=%s has no %s: point it at envtest binaries (setup-envtest use 1.36.x -p path), or unset it to build them from Go modules", AssetsEnv, dir, b)
		}
	}
	fmt.Fprintf(log, "controlplane: using the binaries in %s=%s, not the module build\n", AssetsEnv, dir)
	return dir, nil
}

// Start builds the binaries if needed and starts them. The CRDs are not installed here: the suite
// installs them the same way on every provider.
// assets is KUBEBUILDER_ASSETS, or empty for the module build.
func Start(ctx context.Context, assets string, log io.Writer) (*ControlPlane, error) {
	dir, err := Binaries(ctx, assets, log)
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
	cp := &ControlPlane{env: env, cfg: cfg}
	if _, err := os.Stat(filepath.Join(dir, "kube-controller-manager")); err == nil {
		if cp.controllers, err = startControllers(ctx, dir, env.ControlPlane.GetAPIServer().CertDir, cfg); err != nil {
			_ = env.Stop()
			return nil, err
		}
	} else {
		fmt.Fprintf(log, "controlplane: no kube-controller-manager in %s: running without controllers (namespaces are finalized by the harness)\n", dir)
	}
	cp.started = time.Since(begin)
	return cp, nil
}

// Controllers reports whether kube-controller-manager runs: whether namespaces are removed and
// objects garbage-collected by the cluster itself.
func (c *ControlPlane) Controllers() bool { return c.controllers != nil }

// RESTConfig has administrator credentials for the running API server.
func (c *ControlPlane) RESTConfig() *rest.Config { return rest.CopyConfig(c.cfg) }

// StartupDuration is how long etcd, kube-apiserver and kube-controller-manager took to become ready, for the run's summary.
func (c *ControlPlane) StartupDuration() time.Duration { return c.started }

// Stop stops both processes and removes their data directories.
func (c *ControlPlane) Stop() error {
	if c == nil || c.env == nil {
		return nil
	}
	err := errors.Join(c.controllers.stop(), c.env.Stop())
	c.env, c.controllers = nil, nil
	if err != nil {
		return fmt.Errorf("stopping the embedded control plane: %w", err)
	}
	return nil
}
