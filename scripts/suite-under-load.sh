#!/usr/bin/env bash
# The proof of issue 15: the whole suite, RUNS times in a row (default 3), with every core
# saturated by a busy loop (one per core, at the suite's own priority). Prints one JSON line:
# each run's result and duration.
# Usage: bash scripts/suite-under-load.sh [RUNS]
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
CORES="$(nproc)"
pids=()
stop_load() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap stop_load EXIT
for _ in $(seq "$CORES"); do
  node -e 'for (;;) {}' &
  pids+=("$!")
done
results=()
ok=true
for i in $(seq "$RUNS"); do
  t0=$(date +%s)
  pnpm test > ".reports/suite-under-load-$i.log" 2>&1
  status=$?
  t1=$(date +%s)
  counts="$(node -e 'const r=require("./.reports/vitest.json"); console.log(`${r.numPassedTests} ${r.numFailedTests}`)' 2>/dev/null || echo "0 0")"
  read -r passed failed <<< "$counts"
  echo "[suite-under-load] run $i: exit $status, $passed passed, $failed failed, $((t1 - t0)) s, load $(cut -d' ' -f1 /proc/loadavg)" >&2
  results+=("{\"run\":$i,\"exit\":$status,\"passed\":$passed,\"failed\":$failed,\"seconds\":$((t1 - t0))}")
  [ "$status" -eq 0 ] || ok=false
done
echo "{\"suite_under_load\":{\"busy_loops\":$CORES,\"ok\":$ok,\"runs\":[$(IFS=,; echo "${results[*]}")]}}"
$ok
