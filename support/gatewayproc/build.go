// Package gatewayproc runs the gateway under test as a real subprocess: built once per run from
// gateway/cmd/gateway, given a kubeconfig of its own that holds a ServiceAccount token bound to the
// RBAC manifest (so a missing permission fails a scenario instead of passing as cluster-admin),
// and watched through its log and its readiness endpoint.
package gatewayproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/kubernaut/gateway-contract/support/repo"
)

// Build compiles gateway/cmd/gateway into dir and returns the binary's path. The suite calls it
// once per run; Go's build cache makes repeated runs cheap. The gateway has no build tags: its
// mutants are source edits (hack/mutants/catalog.yaml), built by `make mutation`.
func Build(ctx context.Context, dir string) (string, error) {
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "gateway")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./gateway/cmd/gateway")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the gateway (go build ./gateway/cmd/gateway in %s): %w\n%s", root, err, msg)
	}
	return out, nil
}
