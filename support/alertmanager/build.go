// Package alertmanager runs a real Prometheus Alertmanager for scenarios and soaks: built from its
// Go module (pinned in the separate module under build/), cached once per machine and version
// beside the embedded control plane, configured with one webhook receiver (the gateway), and
// driven the way Prometheus drives it (POST /api/v2/alerts). Its /metrics show what it delivered
// and how often it retried.
package alertmanager

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/kubernaut/gateway-contract/support/controlplane"
	"github.com/kubernaut/gateway-contract/support/gobuild"
	"github.com/kubernaut/gateway-contract/support/repo"
)

// Version is the pinned Alertmanager. It must match support/alertmanager/build/go.mod;
// TestPinMatchesBuildModule keeps it honest.
const Version = "v0.28.1"

const binaryName = "alertmanager"

// buildCgo makes the binary static, like the control plane's.
const buildCgo = "CGO_ENABLED=0"

// ldflags stamp the version, so that `alertmanager --version` and its build_info metric report
// Version rather than an empty string.
func ldflags() string {
	const pkg = "github.com/prometheus/common/version"
	return strings.Join([]string{"-s", "-w",
		"-X", pkg + ".Version=" + strings.TrimPrefix(Version, "v"),
		"-X", pkg + ".Branch=HEAD",
		"-X", pkg + ".BuildUser=gateway-contract",
		"-X", pkg + ".BuildDate=19700101-00:00:00",
	}, " ")
}

func buildSpec() (gobuild.Build, error) {
	moduleDir, err := repo.Path("support", "alertmanager", "build")
	if err != nil {
		return gobuild.Build{}, err
	}
	return gobuild.Build{
		Prefix:    "alertmanager",
		What:      "Alertmanager",
		ModuleDir: moduleDir,
		Binaries:  []gobuild.Binary{{Name: binaryName, Pkg: "github.com/prometheus/alertmanager/cmd/alertmanager"}},
		Ldflags:   ldflags(),
		Env:       []string{buildCgo},
		Stamp:     "alertmanager " + Version,
	}, nil
}

// BinDir names the cache directory of this exact build: it sits in the control plane's cache
// root (controlplane.CacheRoot, which E2E_CONTROLPLANE_CACHE moves), named by the version and a
// hash of the build module, the flags and the Go version.
func BinDir() (string, error) {
	root, err := controlplane.CacheRoot()
	if err != nil {
		return "", err
	}
	spec, err := buildSpec()
	if err != nil {
		return "", err
	}
	return spec.Dir(root, "alertmanager-"+Version)
}

// EnsureBinary returns the path of the alertmanager binary, building it first if this machine
// has not yet done so (about a minute or two of CPU), under a file lock shared with concurrent
// callers. Progress goes to log.
func EnsureBinary(ctx context.Context, log io.Writer) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	spec, err := buildSpec()
	if err != nil {
		return "", err
	}
	spec.Notes = []string{
		fmt.Sprintf("building Alertmanager %s from its Go module into %s", Version, dir),
		"this happens once per machine and version",
	}
	if err := spec.Ensure(ctx, dir, log); err != nil {
		return "", err
	}
	return filepath.Join(dir, binaryName), nil
}
