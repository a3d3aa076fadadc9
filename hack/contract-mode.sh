#!/usr/bin/env bash
# Runs the suite in contract mode: against a gateway the suite did not launch, on a cluster it did
# not start (E2E_CLUSTER=existing). Scenarios that need the suite's own gateway (@launched-gateway)
# are excluded, as a user of a deployed gateway would.
#
# With E2E_GATEWAY_URL set, the gateway is the user's (e.g. deployed to kind with
# `kubectl apply -k gateway/config/default` and reached through a port-forward): the cluster is the
# current kubeconfig's (E2E_CLUSTER, default existing) and E2E_GATEWAY_CA the CA of its
# certificate. Without it, the gateway is deployed here as shipped (support/cmd/cluster --deploy):
# the image built from this checkout, gateway/config/default applied with its serving
# certificate's Secret (from a CA made for it, written to gateway-ca.crt, which the suite trusts
# through E2E_GATEWAY_CA), and the Deployment's Pod template run on its in-cluster identity; that
# needs a Docker engine, and is skipped, saying so, without one.
set -euo pipefail
cd "$(dirname "$0")/.."
out=reports/contract
rm -rf "$out"; mkdir -p "$out"

suite() {
  echo "contract: running the suite against the deployed gateway $E2E_GATEWAY_URL"
  E2E_TAGS='~@launched-gateway' E2E_REPORT_DIR="$out" \
    go test -count=1 -v -timeout 20m ./e2e -run '^TestFeatures$' >"$out/e2e.log" 2>&1 \
    || { echo "contract: FAILED (log: $out/e2e.log)"; grep -E '^\s+Error:|^[0-9]+ scenarios' "$out/e2e.log" | head -20; exit 1; }
  grep -E '^[0-9]+ scenarios' "$out/e2e.log" | head -1 | sed 's/^/contract: /'
  echo "contract: ok"
}

if [ -n "${E2E_GATEWAY_URL:-}" ]; then
  export E2E_CLUSTER="${E2E_CLUSTER:-existing}"
  suite
  exit 0
fi

if ! docker info >/dev/null 2>&1; then
  echo "contract: SKIPPED: no Docker engine answers 'docker info'; the deployed gateway runs its image in a local one (or set E2E_GATEWAY_URL to a gateway you deployed)"
  exit 0
fi
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

export E2E_CLUSTER=existing KUBECONFIG="$work/admin.kubeconfig" E2E_GATEWAY_URL
E2E_GATEWAY_URL=$(cat "$work/gateway.url")
export E2E_GATEWAY_CA="$work/gateway-ca.crt"
suite
