// Package gobuild builds Go main packages from a pinned build module (a go.mod of its own, beside
// the harness code that needs the binaries) into a cache directory, once per machine and key,
// under a file lock, so that parallel test processes and every clone of the project share one
// build. support/controlplane (kube-apiserver, etcd) and support/alertmanager use it.
package gobuild

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
	"syscall"
	"time"
)

// CompleteStamp is the file a finished build leaves in its directory; a directory without it is
// the remains of an interrupted build.
const CompleteStamp = ".complete"

// Binary is one main package to build, and the file name to give it.
type Binary struct {
	Name string // file name in the cache directory, e.g. "kube-apiserver"
	Pkg  string // import path of the main package, resolved in the build module
}

// Build describes one cached build.
type Build struct {
	// Prefix starts every log line, e.g. "controlplane".
	Prefix string
	// What names the build in messages, e.g. "the control plane".
	What string
	// ModuleDir is the pinned build module the packages are built in.
	ModuleDir string
	// Binaries are built in this order.
	Binaries []Binary
	// Ldflags are passed to every `go build` (with -trimpath).
	Ldflags string
	// Env is added to the environment of `go build`, e.g. "CGO_ENABLED=0".
	Env []string
	// Stamp is written into CompleteStamp, for people looking at the cache.
	Stamp string
	// Notes are printed (after Prefix) before a cold build starts: what, where, how long.
	Notes []string
}

// Key is a short hash of everything that decides the binaries: the build module's go.mod and
// go.sum, the ldflags, the added environment, and the Go version and platform. A change to any pin
// gives a new key, hence a new directory, instead of reusing a stale binary. The bytes hashed are
// go.mod, go.sum, Ldflags, each Env entry, runtime.Version(), GOOS, GOARCH, with no separators.
func (b Build) Key() (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(b.ModuleDir, f))
		if err != nil {
			return "", fmt.Errorf("reading the build module of %s: %w", b.What, err)
		}
		h.Write(data)
	}
	io.WriteString(h, b.Ldflags)
	for _, e := range b.Env {
		io.WriteString(h, e)
	}
	io.WriteString(h, runtime.Version()+runtime.GOOS+runtime.GOARCH)
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// Dir is the cache directory of this exact build: root/name-KEY (see Key).
func (b Build) Dir(root, name string) (string, error) {
	key, err := b.Key()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, name+"-"+key), nil
}

// IsComplete reports whether dir holds a finished build.
func IsComplete(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, CompleteStamp))
	return err == nil
}

// Ensure makes dir hold the finished build, building it first if this machine has not yet done
// so. Concurrent callers (parallel test processes) wait on dir+".lock" instead of building twice.
// Progress goes to log, because a cold build takes minutes.
func (b Build) Ensure(ctx context.Context, dir string, log io.Writer) error {
	if IsComplete(dir) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("creating the cache for %s: %w", b.What, err)
	}
	unlock, err := Lock(ctx, dir+".lock", log, b.Prefix, b.What)
	if err != nil {
		return err
	}
	defer unlock()
	if IsComplete(dir) { // built by another process while we waited
		return nil
	}
	return b.build(ctx, dir, log)
}

func (b Build) build(ctx context.Context, dir string, log io.Writer) error {
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("building %s needs the go command on PATH: install Go 1.26", b.What)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		return fmt.Errorf("creating a build directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, n := range b.Notes {
		fmt.Fprintf(log, "%s: %s\n", b.Prefix, n)
	}
	start := time.Now()
	for _, bin := range b.Binaries {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", b.Ldflags, "-o", filepath.Join(tmp, bin.Name), bin.Pkg)
		cmd.Dir = b.ModuleDir
		cmd.Env = append(append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly"), b.Env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("building %s (%s) in %s: %w\n%s", bin.Name, bin.Pkg, b.ModuleDir, err, out)
		}
		fmt.Fprintf(log, "%s: built %s (%s elapsed)\n", b.Prefix, bin.Name, time.Since(start).Round(time.Second))
	}
	if err := os.WriteFile(filepath.Join(tmp, CompleteStamp), []byte(b.Stamp+"\n"), 0o644); err != nil {
		return fmt.Errorf("stamping the build: %w", err)
	}
	os.RemoveAll(dir) // a partial directory from an interrupted build
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("moving the built %s into place: %w", b.What, err)
	}
	return nil
}

// Lock takes an exclusive flock on path, polling so that ctx can cancel the wait. The wait is
// announced once on log as "<prefix>: another process is building <what>; waiting for it".
func Lock(ctx context.Context, path string, log io.Writer, prefix, what string) (func(), error) {
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
			fmt.Fprintf(log, "%s: another process is building %s; waiting for it\n", prefix, what)
			announced = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the build lock %s of %s: %w", path, what, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
