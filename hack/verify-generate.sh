#!/usr/bin/env bash
# Fails when the committed generated files differ from what hack/generate.sh produces now.
# It regenerates into a temporary copy of the sources, so the working tree is never modified.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$root"
cp go.mod go.sum "$tmp/"
cp -R gateway hack "$tmp/"

if ! bash "$tmp/hack/generate.sh" >"$tmp/generate.log" 2>&1; then
	cat "$tmp/generate.log" >&2
	echo "hack/generate.sh failed in a temporary copy" >&2
	exit 1
fi

generated=(
	gateway/api/v1alpha1/zz_generated.deepcopy.go
	gateway/config/crd
	gateway/config/rbac/role.yaml
)
for path in "${generated[@]}"; do
	if ! diff -r "$root/$path" "$tmp/$path" >/dev/null 2>&1; then
		diff -r "$root/$path" "$tmp/$path" >&2 || true
		echo "generated files are stale: run make generate" >&2
		exit 1
	fi
done
