#!/usr/bin/env bash
# make e2e-shards N=3: the sharded suite proven on one machine, as CI's job matrix runs it. Each
# shard is `make e2e` with E2E_SHARD=I/N (its own cluster, its own reports in
# reports/shards/shard-I), one after another; `make shards-merge` merges them into
# reports/shards/merged; `trace compare` then checks that the merged report has the same
# scenarios, the same results and the same requirement verdicts as one whole run of the same
# commit. The whole run is the reports/ of the `make e2e` just before (make test, in .ci/run)
# when reports/commit names this commit; otherwise this script runs one first. The shards are
# balanced by that run's durations (E2E_SHARD_DURATIONS).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-3}
dir=reports/shards
head=$(git rev-parse HEAD)
rm -rf "$dir"; mkdir -p "$dir"
begin=$(date +%s)

whole=reports
if [ -f "$whole/traceability.json" ] && [ -f "$whole/cucumber.json" ] && [ "$(cat "$whole/commit" 2>/dev/null)" = "$head" ]; then
  echo "e2e-shards: the whole run to compare with: $whole/ of make e2e at $head"
else
  whole=$dir/whole
  echo "e2e-shards: no make e2e report of $head in reports/; running the whole suite once into $whole"
  E2E_REPORT_DIR=$whole make e2e >/dev/null 2>&1 \
    || { echo "e2e-shards: the whole run FAILED (log: $whole/e2e.log)"; exit 1; }
fi

failed=()
for i in $(seq 1 "$n"); do
  step=$(date +%s)
  if E2E_SHARD="$i/$n" E2E_SHARD_DURATIONS="$whole/cucumber.json" E2E_REPORT_DIR="$dir/shard-$i" \
      make e2e >/dev/null 2>&1; then
    result=passed
  else
    result=FAILED; failed+=("$i")
  fi
  echo "e2e-shards: shard $i/$n $result in $(( $(date +%s) - step ))s: $(grep -m1 -o 'shard [0-9]*/[0-9]*: [0-9]* of [0-9]* scenarios.*' "$dir/shard-$i/e2e.log" || echo 'no split line') (log: $dir/shard-$i/e2e.log)"
done

status=0
make shards-merge SHARDS_DIR="$dir" || status=1
if [ -f "$dir/merged/traceability.json" ]; then
  go run ./support/cmd/trace compare "$whole/traceability.json" "$dir/merged/traceability.json" || status=1
  go run ./support/cmd/trace verdict "$dir/merged/traceability.json" | sed 's/^/e2e-shards: merged: /'
fi
echo "e2e-shards: $n shards run, merged and compared in $(( $(date +%s) - begin ))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "e2e-shards: shard(s) ${failed[*]} of $n failed"; status=1
fi
exit "$status"
