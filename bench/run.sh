#!/bin/sh
# Runs the benchmarks (never part of the test suite) and prints their
# results; bench/RESULTS.md records them with machine and date.
#   bench/run.sh [BUILD_DIR]
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
traces=${NL_TRACES_DIR:-$top/../shared/traces}
nordlys=$build/src/cli/nordlys
reps=${REPS:-5}

echo "== scheduler core: decisions/s, pass latency, state per GPU (median of $reps) =="
"$build/bench/bench_sched" narvik 100000 "$reps"
"$build/bench/bench_sched" gw10 100000 "$reps"

echo "== simulator: each shared trace on narvik at load 0.9 =="
for t in alibaba-openb2023 msitp philly; do
    if [ ! -f "$traces/$t.csv" ]; then
        echo "$t: SKIP, $traces/$t.csv not found"
        continue
    fi
    "$nordlys" sim --facility narvik --trace "$traces/$t.csv" --load 0.9 --policy nordlys,backfill --json \
        > "/tmp/nordlys-bench-$t.json"
    "$top/bench/summarize.sh" "/tmp/nordlys-bench-$t.json" "$t"
done

echo "== simulator: one synthetic year on gw10 (5,000,040 GPUs) =="
"$nordlys" sim --facility gw10 --days 365 --policy nordlys --json > /tmp/nordlys-bench-gw10.json
"$top/bench/summarize.sh" /tmp/nordlys-bench-gw10.json gw10-year

if [ -x "$top/bench/run-live.sh" ]; then
    echo "== live system =="
    "$top/bench/run-live.sh" "$build"
fi
