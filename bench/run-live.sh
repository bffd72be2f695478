#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-live.sh - benchmarks of the live system (issue 3): the controller,
# its durable API, the command line, and a 25,000-node emulated facility.
#
# Usage: bench/run-live.sh BUILD_DIR [REPS]       (REPS: runs per figure, default 3)
#
# Builds nothing: BUILD_DIR must hold nordlysd, nordlys-agent, nordlys and
# bench_submit (cmake --build BUILD_DIR). Everything runs on loopback with
# ephemeral ports and state in a temp dir; every process started here is
# killed on exit, by its pid. Prints one table per part, medians of REPS runs.
#
#   api    durable submissions/s through POST /v1/jobs (every 201 only after
#          COMMIT) from 1, 16, 64 and 256 keep-alive connections, with API
#          latency p50/p99 and jobs per group commit; the same at
#          --synchronous normal for comparison (the default stays full)
#   cli    `nordlys submit` in a loop: 1 shell, and 4 shells in parallel
#   scale  narvik (100,008 GPUs) with one agent emulating 25,000 nodes
#          (--noop): controller CPU and memory idle, with 100,000 jobs queued
#          behind a full facility, and while the queue drains into it;
#          scheduling cycle times from /metrics; single-client latency
#          while the agent syncs
#
# Knobs (environment): PARTS="api cli scale", API_JOBS (20000), CLI_JOBS
# (400), QUEUE (100000), FILL_S (45: how long the jobs that fill narvik run).
set -euo pipefail

BUILD=$(cd "${1:?usage: run-live.sh BUILD_DIR [REPS]}" && pwd)
REPS=${2:-3}
PARTS=${PARTS:-api cli scale}
API_JOBS=${API_JOBS:-20000}
CLI_JOBS=${CLI_JOBS:-400}
QUEUE=${QUEUE:-100000}
FILL_S=${FILL_S:-45}

CTLD=$BUILD/src/ctld/nordlysd
AGENT=$BUILD/src/agent/nordlys-agent
CLI=$BUILD/src/cli/nordlys
SUBMIT=$BUILD/bench/bench_submit
LIVE_NAME=run-live.sh
# shellcheck source=bench/live-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/live-lib.sh"
live_need "$CTLD" "$AGENT" "$CLI" "$SUBMIT"
command -v jq >/dev/null || { echo "run-live.sh: jq: missing (scripts/install-deps.sh)" >&2; exit 2; }

live_work nordlys-bench

has() { [[ " $PARTS " == *" $1 "* ]]; }

# ---- helpers (start_ctld, start_agent, stop, metric, submit_loop: live-lib.sh) ----

# CPU seconds (user + system) of a pid so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
rss_mb() { awk -v k="$2" '$1 == k":" {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# median of the numbers on stdin (one per line)
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
range() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }

# cycles FILE0 FILE1: scheduling cycles between two /metrics scrapes:
# count, mean ms, share under 100 ms, and the bucket bound of the slowest.
cycles() {
    awk '
    FNR == 1 {f++}
    $1 ~ /^nordlys_sched_cycle_seconds_bucket/ {
        le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
        b[f, le] = $2; if (f == 1) order[++n] = le
    }
    $1 == "nordlys_sched_cycle_seconds_sum" {s[f] = $2}
    $1 == "nordlys_sched_cycle_seconds_count" {c[f] = $2}
    END {
        dc = c[2] - c[1]; ds = s[2] - s[1]
        if (dc <= 0) {print "cycles=0"; exit}
        slow = "+Inf"
        for (i = n; i >= 1; i--) if (b[2, order[i]] - b[1, order[i]] == dc) slow = order[i]
        printf "cycles=%d mean_ms=%.1f under_100ms=%d/%d slowest<=%ss\n", dc, 1000 * ds / dc, b[2, "0.1"] - b[1, "0.1"], dc, slow
    }' "$1" "$2"
}

# submit_run TAG ARGS...: one bench_submit run, its JSON line appended to $WORK/TAG.jsonl
submit_run() {
    local tag=$1
    shift
    "$SUBMIT" --url "$URL" "$@" --label "$tag" | tee -a "$WORK/$tag.jsonl" >/dev/null
}

# summarize TAG: median (and range) of per_s, p50, p99, jobs per commit over the runs of TAG.
summarize() {
    local f=$WORK/$1.jsonl
    printf '%-26s %6s %16s %9s %9s %8s  %s\n' "$1" "$(jq -s ".[0].conns" "$f")" \
        "$(jq -r .per_s "$f" | median) ($(jq -r .per_s "$f" | range))" \
        "$(jq -r .p50_ms "$f" | median)" "$(jq -r .p99_ms "$f" | median)" \
        "$(jq -r .jobs_per_commit "$f" | median)" \
        "$(jq -s 'map(.verified and .errors == 0) | all' "$f")"
}

# ---- part 1: the API ----

part_api() {
    log "api: $REPS runs; 1 connection ($((API_JOBS / 10)) jobs), 16/64/256 connections ($API_JOBS jobs)"
    local r c sync
    for r in $(seq "$REPS"); do
        for sync in full normal; do
            start_ctld "api-$sync-$r" --facility narvik --synchronous "$sync"
            if [ "$sync" = full ]; then
                submit_run "api-full-c1" --conns 1 --jobs $((API_JOBS / 10)) --warmup 100
                for c in 16 64 256; do
                    submit_run "api-full-c$c" --conns $c --jobs "$API_JOBS" --warmup 500
                done
            else
                submit_run "api-normal-c1" --conns 1 --jobs $((API_JOBS / 10)) --warmup 100
                submit_run "api-normal-c256" --conns 256 --jobs "$API_JOBS" --warmup 500
            fi
            stop "$CTLD_PID"
        done
    done
    echo
    echo "== API: durable submissions (POST /v1/jobs, 201 after COMMIT), median of $REPS runs =="
    printf '%-26s %6s %16s %9s %9s %8s  %s\n' run conns "per_s (range)" p50_ms p99_ms "jobs/cmt" verified
    for t in api-full-c1 api-full-c16 api-full-c64 api-full-c256 api-normal-c1 api-normal-c256; do
        summarize "$t"
    done
}

# ---- part 2: the command line ----

cli_loop() { # N: N sequential `nordlys submit` calls
    submit_loop "$1" --gpus 1 -- sleep 600
}

part_cli() {
    log "cli: $REPS runs; $CLI_JOBS submissions from 1 shell and from 4 shells"
    local r a b p
    for r in $(seq "$REPS"); do
        start_ctld "cli-$r" --facility narvik
        cli_loop 20
        a=$EPOCHREALTIME
        cli_loop "$CLI_JOBS"
        b=$EPOCHREALTIME
        awk -v n="$CLI_JOBS" -v a="$a" -v b="$b" 'BEGIN {printf "%.1f\n", n / (b - a)}' >>"$WORK/cli-1.txt"
        a=$EPOCHREALTIME
        local loops=""
        for p in 1 2 3 4; do
            cli_loop $((CLI_JOBS / 4)) &
            loops="$loops $!"
        done
        wait $loops
        b=$EPOCHREALTIME
        awk -v n="$CLI_JOBS" -v a="$a" -v b="$b" 'BEGIN {printf "%.1f\n", n / (b - a)}' >>"$WORK/cli-4.txt"
        local got
        got=$(metric nordlys_jobs_submitted_total)
        [ "$got" = $((2 * CLI_JOBS + 20)) ] || echo "run-live.sh: cli: controller committed $got jobs, expected $((2 * CLI_JOBS + 20))" >&2
        stop "$CTLD_PID"
    done
    echo
    echo "== CLI: nordlys submit in a loop, submissions/s, median (range) of $REPS runs =="
    echo "1 shell:  $(median <"$WORK/cli-1.txt") ($(range <"$WORK/cli-1.txt"))"
    echo "4 shells: $(median <"$WORK/cli-4.txt") ($(range <"$WORK/cli-4.txt"))"
}

# ---- part 3: 25,000 emulated nodes ----

# sample SECONDS LABEL: controller CPU %, RSS and the cycles of the window.
sample() {
    local s0 s1 c0 c1 a0 a1
    metrics >"$WORK/m0"
    c0=$(cpu_s "$CTLD_PID")
    a0=$(cpu_s "$AGENT_PID")
    s0=$EPOCHREALTIME
    sleep "$1"
    c1=$(cpu_s "$CTLD_PID")
    a1=$(cpu_s "$AGENT_PID")
    s1=$EPOCHREALTIME
    metrics >"$WORK/m1"
    awk -v l="$2" -v c0="$c0" -v c1="$c1" -v a0="$a0" -v a1="$a1" -v s0="$s0" -v s1="$s1" \
        -v rss="$(rss_mb "$CTLD_PID" VmRSS)" -v hwm="$(rss_mb "$CTLD_PID" VmHWM)" \
        'BEGIN {printf "%-34s ctld_cpu=%.1f%% agent_cpu=%.1f%% ctld_rss=%sMB ctld_peak=%sMB ", l, 100 * (c1 - c0) / (s1 - s0), 100 * (a1 - a0) / (s1 - s0), rss, hwm}'
    cycles "$WORK/m0" "$WORK/m1"
}

latency_line() { # TAG ARGS...: one single-client run, printed as p50/p99/max
    local tag=$1
    shift
    "$SUBMIT" --url "$URL" --conns 1 --label "$tag" "$@" |
        jq -r '"\(.label) (1 client): p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, max \(.max_ms) ms over \(.jobs) requests"'
}

part_scale() {
    log "scale: narvik + agent --emulate 25000 --noop, $QUEUE jobs queued"
    start_ctld scale --facility narvik
    start_agent --emulate 25000 --noop --agent-name emu --cgroup-root none
    local t0=$EPOCHREALTIME
    wait_metric 'nordlys_nodes{state="up"}' 25000 180
    echo
    echo "== Scale: narvik (100,008 GPUs), 25,000 emulated nodes syncing every 200 ms =="
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "all 25,000 nodes up %.1f s after the agent started\n", b - a}'
    sample 10 "idle, no jobs"
    # Fill every GPU with rack-sized jobs, then queue QUEUE jobs of 1-8 GPUs behind them.
    "$SUBMIT" --url "$URL" --conns 64 --jobs 1389 --label fill \
        --body "{\"name\":\"fill\",\"gpus\":72,\"command\":[\"sleep\",\"$FILL_S\"],\"time_limit_s\":3600}" >/dev/null
    local fill_t=$EPOCHREALTIME g
    for g in 1 2 4 8; do
        "$SUBMIT" --url "$URL" --conns 128 --jobs $((QUEUE / 4)) --label "queue-$g" \
            --body "{\"name\":\"q$g\",\"gpus\":$g,\"command\":[\"sleep\",\"3600\"],\"time_limit_s\":7200}" |
            tee -a "$WORK/queue.jsonl" >/dev/null
    done
    echo "queueing $QUEUE jobs while 25,000 nodes sync: $(jq -s 'map(.ok) | add' "$WORK/queue.jsonl") ok at $(jq -r .per_s "$WORK/queue.jsonl" | median)/s (median of 4 runs), p99 $(jq -r .p99_ms "$WORK/queue.jsonl" | median) ms"
    echo "live jobs: $(metric 'nordlys_jobs{state="RUNNING",tier="sovereign"}') running, $(metric 'nordlys_jobs{state="PENDING",tier="sovereign"}') pending"
    sample 10 "full facility, $QUEUE queued"
    latency_line health --jobs 300 --get /v1/health
    latency_line submit --jobs 300 --body '{"gpus":1,"command":["sleep","3600"]}'
    latency_line show --jobs 100 --get /v1/jobs/1
    # The fill jobs end FILL_S after they started: the queue drains into 100k free GPUs.
    local left
    left=$(awk -v a="$fill_t" -v b="$EPOCHREALTIME" -v f="$FILL_S" 'BEGIN {d = f - (b - a) - 2; print (d > 0) ? int(d) : 0}')
    sleep "$left"
    sample 20 "fill ends, queue drains"
    echo "live jobs: $(metric 'nordlys_jobs{state="RUNNING",tier="sovereign"}') running, $(metric 'nordlys_jobs{state="PENDING",tier="sovereign"}') pending; GPUs allocated $(metric 'nordlys_gpus{state="allocated"}')"
    sample 10 "after the drain"
    latency_line submit --jobs 300 --body '{"gpus":1,"command":["sleep","3600"]}'
    stop "$AGENT_PID"
    stop "$CTLD_PID"
}

echo "nordlys live benchmarks: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r), build $BUILD"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
if has api; then part_api; fi
if has cli; then part_cli; fi
if has scale; then part_scale; fi
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
