#!/usr/bin/env bash
# Runs the suite in contract mode: against a gateway the suite did not launch, on a cluster it did
# not start (E2E_CLUSTER=existing). Scenarios that need the suite's own gateway (@launched-gateway)
# are excluded, as a user of a deployed gateway would.
set -euo pipefail
cd "$(dirname "$0")/.."
out=reports/contract
rm -rf "$out"; mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/cluster" ./support/cmd/cluster
go build -o "$work/gateway" ./gateway/cmd/gateway
"$work/cluster" --dir "$work" >"$out/cluster.log" 2>&1 & pids+=($!)
for _ in $(seq 1 600); do [ -s "$work/admin.kubeconfig" ] && break; kill -0 "${pids[0]}" 2>/dev/null || break; sleep 0.1; done
[ -s "$work/admin.kubeconfig" ] || { echo "contract: the cluster did not come up:"; cat "$out/cluster.log"; exit 1; }

# The suite's bound of a revocation (E2E_AUTHZ_CACHE_TTL, 2s by default) is the deployed gateway's
# allow-cache lifetime.
"$work/gateway" --listen 127.0.0.1:0 --kubeconfig "$work/gateway.kubeconfig" --authz-allow-cache-ttl=2s >"$out/gateway.log" 2>&1 & pids+=($!)
addr=""
for _ in $(seq 1 300); do
  addr=$(sed -n 's/.*"msg":"listening".*"addr":"\([^"]*\)".*/\1/p' "$out/gateway.log" | head -1)
  [ -n "$addr" ] && break; sleep 0.1
done
[ -n "$addr" ] || { echo "contract: the gateway did not start:"; cat "$out/gateway.log"; exit 1; }

echo "contract: running the suite against the deployed gateway http://$addr (cluster via KUBECONFIG)"
E2E_CLUSTER=existing KUBECONFIG="$work/admin.kubeconfig" E2E_GATEWAY_URL="http://$addr" \
  E2E_TAGS='~@launched-gateway' E2E_REPORT_DIR="$out" \
  go test -count=1 -v -timeout 20m ./e2e -run '^TestFeatures$' >"$out/e2e.log" 2>&1 \
  || { echo "contract: FAILED (log: $out/e2e.log)"; grep -E '^\s+Error:|^[0-9]+ scenarios' "$out/e2e.log" | head -20; exit 1; }
grep -E '^[0-9]+ scenarios' "$out/e2e.log" | head -1 | sed 's/^/contract: /'
echo "contract: ok"
