package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubernaut/gateway-contract/support/repo"
)

// The gateway image's fixed facts. The manifests in gateway/config name Repository; User is the
// UID:GID the Deployment's security context runs as (the "nonroot" user of distroless images).
const (
	Repository = "kubernaut-gateway"
	Entrypoint = "/gateway"
	User       = "65532:65532"
	// Package is the gateway's main package, relative to the checkout root.
	Package = "./gateway/cmd/gateway"
	// Source is the org.opencontainers.image.source label: where the code of the image lives.
	Source = "https://" + repo.ModulePath
	// LatestTag is the second tag Load gives the gateway image, the one the manifests in
	// gateway/config/default name, so that `kubectl apply -k` right after `make image` runs it.
	LatestTag = Repository + ":latest"
)

// GoBuildFlags are the flags of the gateway's `go build`: no paths of this machine in the binary
// (-trimpath), no build ID (-buildid=, which would differ between machines), no symbol tables.
// With CGO_ENABLED=0 the binary is static, so it runs on an empty base.
var GoBuildFlags = []string{"-trimpath", "-ldflags=-s -w -buildid="}

// Options says which gateway image Build makes. The zero value builds this checkout for this
// machine's architecture.
type Options struct {
	// Dir is the checkout root; empty means the one the working directory is in (repo.Root).
	Dir string
	// Arch is the GOARCH to build for; empty means runtime.GOARCH.
	Arch string
	// Repository names the image; empty means Repository.
	Repository string
}

// Gateway is a built gateway image and what it was built from.
type Gateway struct {
	Image v1.Image
	// Digest is the manifest's digest: equal for two builds of one commit.
	Digest v1.Hash
	// ID is the config's digest, the image ID a Docker engine with the classic image store shows.
	ID v1.Hash
	// Tag is "<repository>:<12-digit commit>", with "-dirty" when the checkout had uncommitted
	// changes (whose image is then not what the commit alone would give).
	Tag string
	// Revision is the full commit; Version is `git describe --tags --always --dirty`.
	Revision, Version string
	// Dirty says the checkout had changes, tracked or untracked, that are not committed.
	Dirty bool
	// Created is the commit's time (or SOURCE_DATE_EPOCH): the image's creation time.
	Created time.Time
}

// Build compiles the gateway static and reproducibly and makes its image: /gateway as the
// entrypoint, run as 65532:65532, with the org.opencontainers.image labels. Two builds of one
// commit on one toolchain give the same Digest. It needs git and the go command.
func Build(ctx context.Context, opts Options) (*Gateway, error) {
	dir := opts.Dir
	if dir == "" {
		root, err := repo.Root()
		if err != nil {
			return nil, err
		}
		dir = root
	}
	arch := opts.Arch
	if arch == "" {
		arch = runtime.GOARCH
	}
	repository := opts.Repository
	if repository == "" {
		repository = Repository
	}
	vcs, err := readVCS(ctx, dir, os.Getenv)
	if err != nil {
		return nil, err
	}

	work, err := os.MkdirTemp("", "gateway-image-")
	if err != nil {
		return nil, fmt.Errorf("gateway image: %w", err)
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "gateway")
	args := append(append([]string{"build"}, GoBuildFlags...), "-o", bin, Package)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gateway image: go %s: %w\n%s", strings.Join(args, " "), err, out)
	}

	img, err := FromFiles(Spec{
		Files:        []File{{Path: Entrypoint, Source: bin}},
		Created:      vcs.created,
		Architecture: arch,
		CreatedBy:    "go " + strings.Join(append(append([]string{"build"}, GoBuildFlags...), Package), " "),
		Config: v1.Config{
			Entrypoint:   []string{Entrypoint},
			User:         User,
			WorkingDir:   "/",
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Labels:       Labels(vcs.revision, vcs.version, vcs.created),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("gateway image: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("gateway image digest: %w", err)
	}
	id, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("gateway image ID: %w", err)
	}
	tag := repository + ":" + vcs.revision[:12]
	if vcs.dirty {
		tag += "-dirty"
	}
	return &Gateway{
		Image: img, Digest: digest, ID: id, Tag: tag,
		Revision: vcs.revision, Version: vcs.version, Dirty: vcs.dirty, Created: vcs.created,
	}, nil
}

// Labels are the gateway image's org.opencontainers.image annotations, as config labels.
func Labels(revision, version string, created time.Time) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       Repository,
		"org.opencontainers.image.description": "Receives Alertmanager webhooks and Kubernetes events and records them as RemediationRequests",
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.revision":    revision,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.created":     created.UTC().Format(time.RFC3339),
	}
}

// vcs is what the image takes from the checkout.
type vcs struct {
	revision, version string
	dirty             bool
	created           time.Time
}

// readVCS asks git for the commit, whether the tree is dirty, `git describe` and the commit time.
// SOURCE_DATE_EPOCH, the reproducible-builds convention, overrides the time.
func readVCS(ctx context.Context, dir string, getenv func(string) string) (vcs, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = strings.TrimSpace(string(ee.Stderr))
			}
			return "", fmt.Errorf("gateway image: git %s in %s (the image is named after the commit, so it needs a git checkout): %w %s",
				strings.Join(args, " "), dir, err, stderr)
		}
		return strings.TrimSpace(string(out)), nil
	}
	var v vcs
	var err error
	if v.revision, err = git("rev-parse", "HEAD"); err != nil {
		return v, err
	}
	status, err := git("status", "--porcelain")
	if err != nil {
		return v, err
	}
	v.dirty = status != ""
	if v.version, err = git("describe", "--tags", "--always", "--dirty"); err != nil {
		return v, err
	}
	epoch := getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		if epoch, err = git("show", "-s", "--format=%ct", "HEAD"); err != nil {
			return v, err
		}
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return v, fmt.Errorf("gateway image: commit time %q: %w", epoch, err)
	}
	v.created = time.Unix(secs, 0).UTC()
	return v, nil
}
