#!/usr/bin/env bash
# Proves that the contract suite can fail: the resilience scenarios run against gateways started
# with retries turned off (--retry-attempts=1). The run must fail, and the traceability report
# must show the retry requirement failing. A suite that passes here proves nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
out=reports/must-fail
rm -rf "$out"; mkdir -p "$out"
echo "must-fail: running @resilience scenarios against a gateway with --retry-attempts=1 (they must fail)"
E2E_GATEWAY_ARGS="--retry-attempts=1" E2E_TAGS="@resilience" E2E_REPORT_DIR="$out" \
  go test -count=1 -timeout 20m ./e2e >"$out/e2e.log" 2>&1
status=$?
if [ "$status" -eq 0 ]; then
  echo "must-fail: FAILED: the suite passed against a gateway that does not retry; the resilience scenarios prove nothing (log: $out/e2e.log)"
  exit 1
fi
if [ ! -s "$out/traceability.json" ]; then
  echo "must-fail: FAILED: the run failed, but wrote no traceability report: it failed for another reason (log: $out/e2e.log)"
  tail -20 "$out/e2e.log"
  exit 1
fi
verdict=$(go run ./support/cmd/trace verdict "$out/traceability.json" BR-GATEWAY-018)
if [ "$verdict" != "failing" ]; then
  echo "must-fail: FAILED: BR-GATEWAY-018 is '$verdict' against a gateway without retries; expected failing (log: $out/e2e.log)"
  exit 1
fi
echo "must-fail: ok: with retries off the suite failed and BR-GATEWAY-018 is failing, as it must"
