// Package controlplane provides the suite's default Kubernetes API: kube-apiserver and etcd built
// from their Go modules (pinned in the separate module under build/), cached once per user and
// version, and started with controller-runtime's envtest. It needs Go and nothing else: no images,
// no downloaded binaries.
package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

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
	{"etcd", "go.etcd.io/etcd/server/v3"},
}

const completeStamp = ".complete"

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

// BinDir names the cache directory for this exact build: versions plus a hash of the build
// module's go.mod and go.sum, the ldflags and the Go version, so that a change to any pin
// builds anew instead of reusing a stale binary.
func BinDir() (string, error) {
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	moduleDir, err := repo.Path("support", "controlplane", "build")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(moduleDir, f))
		if err != nil {
			return "", fmt.Errorf("reading the control-plane build module: %w", err)
		}
		h.Write(data)
	}
	io.WriteString(h, ldflags()+runtime.Version()+runtime.GOOS+runtime.GOARCH)
	key := hex.EncodeToString(h.Sum(nil))[:12]
	return filepath.Join(root, fmt.Sprintf("k8s-%s-etcd-%s-%s", KubernetesVersion, EtcdVersion, key)), nil
}

// EnsureBinaries returns the directory holding kube-apiserver and etcd, building them first if
// this machine has not yet done so. Concurrent callers (parallel test processes) wait on a file
// lock instead of building twice. Progress goes to log, because a cold build takes minutes.
func EnsureBinaries(ctx context.Context, log io.Writer) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	if isComplete(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("creating the control-plane cache: %w", err)
	}
	unlock, err := lockFile(ctx, dir+".lock", log)
	if err != nil {
		return "", err
	}
	defer unlock()
	if isComplete(dir) { // built by another process while we waited
		return dir, nil
	}
	if err := build(ctx, dir, log); err != nil {
		return "", err
	}
	return dir, nil
}

func isComplete(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, completeStamp))
	return err == nil
}

func build(ctx context.Context, dir string, log io.Writer) error {
	moduleDir, err := repo.Path("support", "controlplane", "build")
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("go"); err != nil {
		return errors.New("building the control plane needs the go command on PATH: install Go 1.26")
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		return fmt.Errorf("creating a build directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(log, "controlplane: building kube-apiserver %s and etcd %s from Go modules into %s\n", KubernetesVersion, EtcdVersion, dir)
	fmt.Fprintf(log, "controlplane: this happens once per machine and version; a cold build takes about 8-10 minutes on 2 cores\n")
	fmt.Fprintf(log, "controlplane: (plain `go test` stops at 10 minutes: give it -timeout 30m, or run `make controlplane` first)\n")
	start := time.Now()
	for _, b := range binaries {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags(), "-o", filepath.Join(tmp, b.name), b.pkg)
		cmd.Dir = moduleDir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("building %s (%s) in %s: %w\n%s", b.name, b.pkg, moduleDir, err, out)
		}
		fmt.Fprintf(log, "controlplane: built %s (%s elapsed)\n", b.name, time.Since(start).Round(time.Second))
	}
	if err := os.WriteFile(filepath.Join(tmp, completeStamp), []byte(KubernetesVersion+" "+EtcdVersion+"\n"), 0o644); err != nil {
		return fmt.Errorf("stamping the build: %w", err)
	}
	os.RemoveAll(dir) // a partial directory from an interrupted build
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("moving the built control plane into place: %w", err)
	}
	return nil
}

// lockFile takes an exclusive flock, polling so that ctx can cancel the wait.
func lockFile(ctx context.Context, path string, log io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the build lock %s: %w", path, err)
	}
	announced := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !announced {
			fmt.Fprintf(log, "controlplane: another process is building the control plane; waiting for it\n")
			announced = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the control-plane build lock %s: %w", path, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
