#!/usr/bin/env bash
# Regenerates the gateway's generated files from the kubebuilder markers in gateway/:
#   gateway/api/v1alpha1/zz_generated.deepcopy.go  (controller-gen object)
#   gateway/config/crd/*.yaml                       (controller-gen crd)
#   gateway/config/rbac/role.yaml                   (controller-gen rbac, ClusterRole kubernaut-gateway)
# controller-gen is built from the pinned tools module hack/tools/go.mod, so no binary is downloaded.
# Run from anywhere; it works on the repository that contains this script.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

controller_gen() {
	go tool -modfile=hack/tools/go.mod controller-gen "$@"
}

# Remove earlier output first, so that a renamed type does not leave a stale CRD behind.
rm -f gateway/config/crd/*_*.yaml gateway/config/rbac/role.yaml
mkdir -p gateway/config/crd gateway/config/rbac

controller_gen object paths=./gateway/api/...
controller_gen crd paths=./gateway/api/... output:crd:artifacts:config=gateway/config/crd
controller_gen rbac:roleName=kubernaut-gateway paths=./gateway/... output:rbac:artifacts:config=gateway/config/rbac
