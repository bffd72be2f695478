#!/bin/sh
# Runs the benchmarks (never part of the test suite) and prints their
# results; bench/RESULTS.md records them with machine and date.
#   bench/run.sh [BUILD_DIR]     (REPS=5 runs of bench_sched; SKIP_LIVE=1 skips run-live.sh)
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

# No shared trace stresses narvik (see bench/RESULTS.md): each is also
# replayed on a cluster of 8-GPU nodes it does stress, at load 0.9.
echo "== simulator: each shared trace on a cluster it stresses, load 0.9 =="
for tn in alibaba-openb2023:16 msitp:256 philly:312; do
    t=${tn%%:*} nodes=${tn##*:}
    if [ ! -f "$traces/$t.csv" ]; then
        echo "$t: SKIP, $traces/$t.csv not found"
        continue
    fi
    "$nordlys" sim --nodes "$nodes" --gpus-per-node 8 --trace "$traces/$t.csv" --load 0.9 \
        --policy nordlys,backfill,fifo --json > "/tmp/nordlys-bench-$t-$nodes.json"
    jq -r --arg t "$t" --arg n "$nodes" '.runs[] | [$t, $n, .policy, .utilization, .jct_s.mean,
        .wait_s.mean, .by_tier.sovereign.wait_s.p95, .preemptions, .violations.total, .wall_s]
        | @tsv' "/tmp/nordlys-bench-$t-$nodes.json"
done

echo "== simulator: 14 synthetic days on narvik, every policy =="
"$nordlys" sim --facility narvik --days 14 --policy all --json > /tmp/nordlys-bench-narvik14.json
jq -r '.runs[] | [.policy, .utilization, .jct_s.mean, .wait_s.mean, .wait_s.p95,
    .by_tier.sovereign.wait_s.p95, .fragmentation, .preemptions, .violations.total, .wall_s]
    | @tsv' /tmp/nordlys-bench-narvik14.json

echo "== simulator: one synthetic year on gw10 (5,000,040 GPUs) =="
"$nordlys" sim --facility gw10 --days 365 --policy nordlys --json > /tmp/nordlys-bench-gw10.json
"$top/bench/summarize.sh" /tmp/nordlys-bench-gw10.json gw10-year

if [ "${SKIP_LIVE:-0}" = 0 ] && [ -x "$top/bench/run-live.sh" ]; then
    echo "== live system =="
    "$top/bench/run-live.sh" "$build"
fi
