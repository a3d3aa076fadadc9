#!/usr/bin/env bash
# Runs the suite in contract mode: against a gateway the suite did not launch, on a cluster it did
# not start (E2E_CLUSTER=existing). The gateway is deployed as shipped (support/cmd/cluster
# --deploy): the image built from this checkout, gateway/config/default applied with its serving
# certificate's Secret (from a CA made for it, written to gateway-ca.crt, which the suite trusts
# through E2E_GATEWAY_CA), and the Deployment's Pod template run on its in-cluster identity. Scenarios that need the suite's own
# gateway (@launched-gateway) are excluded, as a user of a deployed gateway would. Without a
# Docker engine, which runs the image, it is skipped and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! docker info >/dev/null 2>&1; then
  echo "contract: SKIPPED: no Docker engine answers 'docker info'; the deployed gateway runs its image in a local one"
  exit 0
fi
out=reports/contract
rm -rf "$out"; mkdir -p "$out"
work=$(mktemp -d)
pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/cluster" ./support/cmd/cluster
# The suite's bound of a revocation (E2E_AUTHZ_CACHE_TTL, 2s by default) is the deployed gateway's
# allow-cache lifetime.
"$work/cluster" --dir "$work" --deploy --gateway-arg=--authz-allow-cache-ttl=2s >"$out/cluster.log" 2>&1 & pid=$!
for _ in $(seq 1 1800); do [ -s "$work/admin.kubeconfig" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
[ -s "$work/admin.kubeconfig" ] || { echo "contract: the cluster or the deployed gateway did not come up:"; cat "$out/cluster.log"; exit 1; }
url=$(cat "$work/gateway.url")

echo "contract: running the suite against the deployed gateway $url (cluster via KUBECONFIG)"
E2E_CLUSTER=existing KUBECONFIG="$work/admin.kubeconfig" E2E_GATEWAY_URL="$url" E2E_GATEWAY_CA="$work/gateway-ca.crt" \
  E2E_TAGS='~@launched-gateway' E2E_REPORT_DIR="$out" \
  go test -count=1 -v -timeout 20m ./e2e -run '^TestFeatures$' >"$out/e2e.log" 2>&1 \
  || { echo "contract: FAILED (log: $out/e2e.log)"; grep -E '^\s+Error:|^[0-9]+ scenarios' "$out/e2e.log" | head -20; exit 1; }
grep -E '^[0-9]+ scenarios' "$out/e2e.log" | head -1 | sed 's/^/contract: /'
echo "contract: ok"
