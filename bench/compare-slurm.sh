#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# compare-slurm.sh - the workloads of ../shared/peers/slurm/throughput.sh
# (tests A1, A2 and B1), run against nordlys, so that the two can be put
# side by side on the same machine.
#
# Usage: bench/compare-slurm.sh BUILD_DIR [RUNS]      (RUNS default 3)
#        SLURM=1 bench/compare-slurm.sh BUILD_DIR [RUNS]
#   SLURM=1 also runs the Slurm side first (TESTS="A1 B1" throughput.sh 256
#   RUNS from $SLURM_DIR, default ../shared/peers/slurm next to the
#   checkout; it installs slurm-wlm and munge if missing and needs root),
#   and always stops its cluster.
#
# The same workloads for both, on a cluster of 256 nodes x 8 GPUs:
#   A1  2,000 submissions from one client, one CLI process each (`nordlys
#       submit` for nordlys, `sbatch -H --wrap true` for Slurm), with
#       nothing able to run (Slurm: held; nordlys: no agent yet, every node
#       down), so it is the pure accept rate
#   A2  the same 2,000 from 4 clients in parallel
#   B1  start burst: 2,048 one-GPU jobs that each write a timestamp when
#       their process starts, then sleep; released at once into the free
#       cluster (Slurm: partition DOWN -> UP; nordlys: a blocker job holding
#       all 2,048 GPUs is cancelled); job starts/s = 2,048 / (last timestamp
#       - release), and the time to half of them. nordlys runs them as real
#       processes through one agent emulating the 256 nodes.
#   B1n the same burst with --noop jobs (nordlys only): the control plane's
#       own start rate, without the cost of forking 2,048 processes here.
# Every process started here is killed on exit, by its pid. When a run
# fails, its controller log (ctld.log) and agent log are kept with the
# results so far in /tmp/nordlys-vs-slurm-failed-*; the last line says where.
set -euo pipefail

BUILD=$(cd "${1:?usage: compare-slurm.sh BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SLURM_DIR=${SLURM_DIR:-$HERE/../../shared/peers/slurm}
SUBMITS=${SUBMITS:-2000}
PAR=4
BURST=2048

CTLD=$BUILD/src/ctld/nordlysd
AGENT=$BUILD/src/agent/nordlys-agent
CLI=$BUILD/src/cli/nordlys
LIVE_NAME=compare-slurm.sh
# shellcheck source=bench/live-lib.sh
. "$HERE/live-lib.sh"
live_need "$CTLD" "$AGENT" "$CLI"

live_work nordlys-vs-slurm

# keep_logs RC: WORK is removed on exit, and with it what says why a run
# failed; copy the last run's controller and agent logs, next to the results
# so far, into a dir that stays.
keep_logs() {
    local keep f
    keep=$(mktemp -d /tmp/nordlys-vs-slurm-failed-XXXXXX)
    for f in "$CTLD_DIR/ctld.log" "$CTLD_DIR/agent.log" "$WORK/raw.tsv" "$WORK/half.tsv" \
        "$WORK/slurm.txt"; do
        if [ -f "$f" ]; then cp "$f" "$keep/"; fi
    done
    log "run ${CTLD_DIR##*/} ended with exit $1: its ctld.log and agent.log (if it had an agent) and the results so far are in $keep"
}

cleanup() {
    local rc=$?
    live_kill_all
    if [ "$rc" != 0 ] && [ -n "${CTLD_DIR:-}" ]; then keep_logs "$rc"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ "${SLURM:-0}" = 1 ]; then
    log "Slurm: throughput.sh 256 $RUNS, tests A1 (with A2) and B1"
    TESTS="A1 B1" OUT_DIR="$WORK/slurm" "$SLURM_DIR/throughput.sh" 256 "$RUNS" >"$WORK/slurm.txt"
    cat "$WORK/slurm.txt"
fi

# 256 nodes x 8 GPUs, the Slurm cluster's size and node shape, in 32 racks
# of 8 nodes (Slurm's cluster is flat; racks only guide nordlys's placement).
cat >"$WORK/cluster256.conf" <<'EOF'
name = slurm256
[site cluster]
jurisdiction = NO
racks = 32
nodes_per_rack = 8
gpus_per_node = 8
EOF

secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.1f", (s > 0) ? n / s : 0}'; }
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(rate "$3" "$4")" >>"$WORK/raw.tsv"; log "run $1 $2: $3 in $4 s = $(rate "$3" "$4")/s"; }

# A fresh controller on the 256-node cluster (see start_ctld in live-lib.sh).
start_ctld256() { # NAME
    start_ctld "$1" --facility "$WORK/cluster256.conf"
}

test_a() { # RUN
    start_ctld256 "a-$1"
    local a b per=$((SUBMITS / PAR)) p
    a=$EPOCHREALTIME
    submit_loop "$SUBMITS" -- true
    b=$EPOCHREALTIME
    record "$1" A1_submit_1client "$SUBMITS" "$(secs "$a" "$b")"
    a=$EPOCHREALTIME
    local loops=""
    for ((p = 0; p < PAR; p++)); do
        submit_loop "$per" -- true &
        loops="$loops $!"
    done
    wait $loops
    b=$EPOCHREALTIME
    record "$1" "A2_submit_${PAR}clients" $((per * PAR)) "$(secs "$a" "$b")"
    local n
    n=$(metric nordlys_jobs_submitted_total)
    [ "$n" = $((SUBMITS + per * PAR)) ] || log "warning: $n jobs committed, expected $((SUBMITS + per * PAR))"
    stop "$CTLD_PID"
}

# burst_setup RUN MODE [AGENT_ARGS...]: controller, agent, the blocker running; sets AGENT_PID.
burst_setup() {
    local run=$1 mode=$2
    shift 2
    start_ctld256 "b$mode-$run"
    start_agent --emulate 256 --agent-name burst "$@"
    wait_metric 'nordlys_nodes{state="up"}' 256 60 0.2 ||
        { log "agent did not bring 256 nodes up"; exit 1; }
    # The blocker takes every GPU; the burst queues behind it.
    BLOCKER=$("$CLI" submit --url "$URL" --parsable --gpus $BURST --name blocker -- sleep 3600)
    wait_metric 'nordlys_gpus{state="allocated"}' $BURST 60 0.2 || { log "blocker did not start"; exit 1; }
}

# B1: real processes, each writing the time it starts.
test_b() { # RUN
    burst_setup "$1" real
    local ev=$WORK/breal-$1/starts t a
    : >"$ev"
    local body
    body=$(jq -cn --arg ev "$ev" '{name: "burst", gpus: 1, cwd: "/tmp",
        command: ["sh", "-c", ("echo $(date +%s.%N) >>" + $ev + "; exec sleep 600")]}')
    "$BUILD/bench/bench_submit" --url "$URL" --conns 16 --jobs $BURST --body "$body" >/dev/null
    sleep 1
    a=$EPOCHREALTIME
    "$CLI" cancel --url "$URL" "$BLOCKER" >/dev/null
    t=$((SECONDS + 600))
    while [ "$(wc -l <"$ev")" -lt $BURST ] && [ $SECONDS -lt $t ]; do sleep 0.2; done
    local got last half
    got=$(wc -l <"$ev")
    last=$(sort -n "$ev" | tail -1)
    half=$(sort -n "$ev" | awk -v h=$((BURST / 2)) 'NR == h {print}')
    record "$1" B1_start_burst "$got" "$(secs "$a" "$last")"
    log "run $1 B1: 50% running after $(secs "$a" "${half:-$a}") s"
    printf '%s\tB1 (real processes)\t%s\n' "$1" "$(secs "$a" "${half:-$a}")" >>"$WORK/half.tsv"
    # SIGTERM: the agent ends its 2,048 jobs (SIGTERM, then SIGKILL after its grace) before it exits.
    stop "$AGENT_PID"
    stop "$CTLD_PID"
}

# B1n: the same burst with the agent's --noop jobs, so that only the control
# plane is timed: release until the controller has all 2,048 RUNNING (each
# launch reaches the agent in its next sync, at most 200 ms later).
test_bn() { # RUN
    burst_setup "$1" noop --noop
    "$BUILD/bench/bench_submit" --url "$URL" --conns 16 --jobs $BURST \
        --body '{"name":"burst","gpus":1,"command":["sleep","600"]}' >/dev/null
    sleep 1
    local a b half="" n t
    a=$EPOCHREALTIME
    "$CLI" cancel --url "$URL" "$BLOCKER" >/dev/null
    t=$((SECONDS + 300))
    while :; do
        n=$(metric 'nordlys_jobs{state="RUNNING",tier="sovereign"}')
        b=$EPOCHREALTIME
        [ -n "$half" ] || [ "${n:-0}" -lt $((BURST / 2)) ] || half=$b
        [ "$n" = $BURST ] && [ "$(metric 'nordlys_gpus{state="allocated"}')" = $BURST ] && break
        [ $SECONDS -lt $t ] || break
        sleep 0.05
    done
    record "$1" B1n_start_burst_noop "${n:-0}" "$(secs "$a" "$b")"
    printf '%s\tB1n (no-op jobs)\t%s\n' "$1" "$(secs "$a" "${half:-$a}")" >>"$WORK/half.tsv"
    stop "$AGENT_PID"
    stop "$CTLD_PID"
}

: >"$WORK/raw.tsv"
for r in $(seq "$RUNS"); do
    log "=== nordlys run $r/$RUNS ==="
    test_a "$r"
    test_b "$r"
    test_bn "$r"
done

echo "nordlys on a 256 x 8-GPU cluster, $RUNS runs, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
awk -F'\t' '{k = $2; if (!(k in o)) {o[k] = ++n; nm[n] = k}; c[k]++; s[k] += $5; v[k, c[k]] = $5
             if (!(k in mn) || $5 < mn[k]) mn[k] = $5; if ($5 > mx[k]) mx[k] = $5; cnt[k] = $3}
    END {printf "%-24s %7s %10s %10s %10s %10s\n", "test", "count", "median/s", "mean/s", "min/s", "max/s"
         for (i = 1; i <= n; i++) {k = nm[i]; m = c[k]
             for (x = 1; x <= m; x++) a[x] = v[k, x]
             for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++) if (a[y] < a[x]) {t = a[x]; a[x] = a[y]; a[y] = t}
             med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
             printf "%-24s %7s %10.1f %10.1f %10.1f %10.1f\n", k, cnt[k], med, s[k] / m, mn[k], mx[k]}}' "$WORK/raw.tsv"
awk -F'\t' '{printf "%s run %s: 50%% of the burst running after %s s\n", $2, $1, $3}' "$WORK/half.tsv"
