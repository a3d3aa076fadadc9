#!/usr/bin/env bash
# Proves that the contract suite can fail. Each proof breaks something on purpose and requires the
# suite (or the soak's checker) to notice, and the traceability report to name the requirement:
#   1. retries turned off (--retry-attempts=1): the resilience scenarios fail, BR-GATEWAY-018 failing;
#   2. remediation requests deleted behind the gateway's back during a soak: the soak reports
#      exactly those as lost, and fails.
# A suite that passes here proves nothing. The authorization scenarios' proof is the mutation
# catalog's (hack/mutants/catalog.yaml, BR-GATEWAY-183): the gateway has no test-only build.
set -uo pipefail
cd "$(dirname "$0")/.."
root=reports/must-fail
rm -rf "$root"; mkdir -p "$root"
failed=0

# proof NAME REQUIREMENT ENV... : the suite, run with ENV, must fail with REQUIREMENT failing.
proof() {
  local name=$1 req=$2; shift 2
  local out="$root/$name"
  mkdir -p "$out"
  echo "must-fail: $name: running with $* (it must fail, with $req failing)"
  env "$@" E2E_REPORT_DIR="$out" go test -count=1 -timeout 20m ./e2e -run TestFeatures >"$out/e2e.log" 2>&1
  local status=$?
  if [ "$status" -eq 0 ]; then
    echo "must-fail: $name: FAILED: the suite passed; these scenarios prove nothing (log: $out/e2e.log)"
    failed=1; return
  fi
  if [ ! -s "$out/traceability.json" ]; then
    echo "must-fail: $name: FAILED: the run failed but wrote no report: it failed for another reason (log: $out/e2e.log)"
    tail -20 "$out/e2e.log"; failed=1; return
  fi
  local verdict
  verdict=$(go run ./support/cmd/trace verdict "$out/traceability.json" "$req")
  if [ "$verdict" != "failing" ]; then
    echo "must-fail: $name: FAILED: $req is '$verdict'; expected failing (log: $out/e2e.log)"
    failed=1; return
  fi
  echo "must-fail: $name: ok: the suite failed and $req is failing, as it must"
}

proof no-retries BR-GATEWAY-018 E2E_GATEWAY_ARGS=--retry-attempts=1 E2E_TAGS=@resilience

out="$root/soak-delete-behind"
mkdir -p "$out"
echo "must-fail: soak: deleting 3 remediation requests behind the gateway's back (the soak must report them lost and fail)"
if E2E_REPORT_DIR="$out" go run ./support/cmd/soak --size=ci --delete-behind 3 --report "$out/soak.json" >"$out/soak.log" 2>&1; then
  echo "must-fail: soak: FAILED: the soak passed with 3 remediation requests deleted (log: $out/soak.log)"
  failed=1
elif grep -q '"deletedBehindAllLost": true' "$out/soak.json" 2>/dev/null; then
  echo "must-fail: soak: ok: the soak failed and reported exactly the 3 deleted remediation requests as lost"
else
  echo "must-fail: soak: FAILED: the soak failed, but did not report exactly the deleted requests as lost (log: $out/soak.log)"
  failed=1
fi
exit $failed
