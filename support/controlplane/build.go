// Package controlplane provides the suite's default Kubernetes API: kube-apiserver and etcd built
// from their Go modules (pinned in the separate module under build/), cached once per user and
// version, and started with controller-runtime's envtest. It needs Go and nothing else: no images,
// no downloaded binaries.
package controlplane

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubernaut/gateway-contract/support/gobuild"
	"github.com/kubernaut/gateway-contract/support/repo"
)

// Pinned versions. They must match support/controlplane/build/go.mod; TestPinsMatchBuildModule
// keeps them honest.
const (
	KubernetesVersion = "v1.36.3"
	EtcdVersion       = "v3.6.8"
)

// binaries maps the name envtest looks for to the package that builds it.
var binaries = []struct{ name, pkg string }{
	{"kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver"},
	{"kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager"},
	{"etcd", "go.etcd.io/etcd/server/v3"},
}

// buildCgo makes the binaries static: the container provider runs them in an image built from
// scratch, which has no C library to link against.
const buildCgo = "CGO_ENABLED=0"

// ldflags stamps the version so that the server reports KubernetesVersion, not v0.0.0-master.
func ldflags() string {
	v := strings.TrimPrefix(KubernetesVersion, "v")
	parts := strings.SplitN(v, ".", 3)
	flags := []string{"-s", "-w"}
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", pkg+".gitVersion="+KubernetesVersion,
			"-X", pkg+".gitMajor="+parts[0],
			"-X", pkg+".gitMinor="+parts[1],
			"-X", pkg+".gitTreeState=clean",
			"-X", pkg+".buildDate=1970-01-01T00:00:00Z",
		)
	}
	return strings.Join(flags, " ")
}

// CacheRoot is where built control planes live, shared by every clone of the project:
// $E2E_CONTROLPLANE_CACHE, else the user cache directory.
func CacheRoot() (string, error) {
	if dir := os.Getenv("E2E_CONTROLPLANE_CACHE"); dir != "" {
		return filepath.Abs(dir)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory (set E2E_CONTROLPLANE_CACHE): %w", err)
	}
	return filepath.Join(base, "gateway-contract", "controlplane"), nil
}

// buildSpec is the generic build (support/gobuild) of the control plane.
func buildSpec() (gobuild.Build, error) {
	moduleDir, err := repo.Path("support", "controlplane", "build")
	if err != nil {
		return gobuild.Build{}, err
	}
	bins := make([]gobuild.Binary, len(binaries))
	for i, b := range binaries {
		bins[i] = gobuild.Binary{Name: b.name, Pkg: b.pkg}
	}
	return gobuild.Build{
		Prefix:    "controlplane",
		What:      "the control plane",
		ModuleDir: moduleDir,
		Binaries:  bins,
		Ldflags:   ldflags(),
		Env:       []string{buildCgo},
		Stamp:     KubernetesVersion + " " + EtcdVersion,
	}, nil
}

// BinDir names the cache directory for this exact build: versions plus a hash of the build
// module's go.mod and go.sum, the ldflags, the cgo setting and the Go version (gobuild.Build.Key),
// so that a change to any pin builds anew instead of reusing a stale binary.
func BinDir() (string, error) {
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	spec, err := buildSpec()
	if err != nil {
		return "", err
	}
	return spec.Dir(root, fmt.Sprintf("k8s-%s-etcd-%s", KubernetesVersion, EtcdVersion))
}

// EnsureBinaries returns the directory holding kube-apiserver and etcd, building them first if
// this machine has not yet done so. Concurrent callers (parallel test processes) wait on a file
// lock instead of building twice. Progress goes to log, because a cold build takes minutes.
func EnsureBinaries(ctx context.Context, log io.Writer) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	spec, err := buildSpec()
	if err != nil {
		return "", err
	}
	spec.Notes = []string{
		fmt.Sprintf("building kube-apiserver and kube-controller-manager %s and etcd %s from Go modules into %s", KubernetesVersion, EtcdVersion, dir),
		"this happens once per machine and version; a cold build takes 6 to 23 minutes on 2 cores (measured: docs/measurements.md)",
		"(plain `go test` stops at 10 minutes: give it -timeout 30m, or run `make controlplane` first)",
	}
	if err := spec.Ensure(ctx, dir, log); err != nil {
		return "", err
	}
	return dir, nil
}
