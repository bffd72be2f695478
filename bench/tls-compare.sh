#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tls-compare.sh - durable submissions per second over TLS against plain
# HTTP, same build, same run: controllers alternate (plain, TLS, TLS,
# plain, ...), each a fresh one with tokens checked, each measured with
# bench_submit on keep-alive connections (1, 16, 256) after a warm-up on
# the same connections (so the timed window holds no handshake, as for the
# long-lived connections of agents and clients that keep them), plus the
# controller's CPU (user + system) per submission from /proc over the
# whole bench_submit run (the handshakes of its connections included,
# spread over warm-up and timed jobs). TLS uses a
# throw-away CA and an EC P-256 certificate for 127.0.0.1
# (tests/lib/tls.sh); bench_submit verifies it (--ca-file).
#
# Usage: bench/tls-compare.sh BUILD_DIR [ROUNDS] [BASE_BUILD_DIR]
#   (ROUNDS default 3; API_JOBS, default 10000; a quarter of them at 1
#   connection, where every job is its own fsync and the run-to-run spread
#   of a short run is largest)
# Prints one line per run and, per connection count, the medians and the
# median of the paired ratios TLS / plain (bench/RESULTS.md). With
# BASE_BUILD_DIR (a build from before tokens and TLS, e.g. 2aa6309), each
# round also runs that build's controller over plain HTTP, and the table
# adds TLS / base: the issue's "within 10 % of today's figure without them".
set -euo pipefail
BUILD=$(cd "${1:?usage: tls-compare.sh BUILD_DIR [ROUNDS]}" && pwd)
ROUNDS=${2:-3}
BASE=${3:+$(cd "$3" && pwd)}
MAIN_CTLD=$BUILD/src/ctld/nordlysd
API_JOBS=${API_JOBS:-10000}
CTLD=$BUILD/src/ctld/nordlysd
SUBMIT=$BUILD/bench/bench_submit
LIVE_NAME=tls-compare.sh
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=bench/live-lib.sh
. "$here/live-lib.sh"
# shellcheck source=tests/lib/tls.sh
. "$here/../tests/lib/tls.sh"
live_need "$CTLD" "$SUBMIT" ${BASE:+"$BASE/src/ctld/nordlysd"}
command -v jq >/dev/null || { echo "tls-compare.sh: jq: missing" >&2; exit 2; }
command -v openssl >/dev/null || { echo "tls-compare.sh: openssl: missing" >&2; exit 2; }
live_work nordlys-tls
nl_tls_ca "$WORK/ca"
nl_tls_server "$WORK/ca" ctld "IP:127.0.0.1,DNS:localhost"
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# run MODE ROUND: a fresh controller in MODE (plain, tls), its three measurements.
run() {
    local mode=$1 r=$2 c jobs warm t0 t1 ca=()
    CTLD=$MAIN_CTLD
    [ "$mode" = base ] && CTLD=$BASE/src/ctld/nordlysd
    if [ "$mode" = tls ]; then
        start_ctld "$mode-$r" --facility narvik --tls-cert "$WORK/ca/ctld.pem" \
            --tls-key "$WORK/ca/ctld.key"
        URL=https://127.0.0.1:${URL##*:}
        ca=(--ca-file "$WORK/ca/ca.pem")
    else
        start_ctld "$mode-$r" --facility narvik
    fi
    for c in 1 16 256; do
        jobs=$API_JOBS
        [ "$c" = 1 ] && jobs=$((API_JOBS / 4))
        warm=$((c * 4 > 500 ? c * 4 : 500))
        t0=$(cpu_ticks "$CTLD_PID")
        "$SUBMIT" --url "$URL" "${ca[@]}" --conns "$c" --jobs "$jobs" --warmup "$warm" \
            --label "$mode-c$c" >"$WORK/one.json"
        t1=$(cpu_ticks "$CTLD_PID")
        jq -c --arg m "$mode" --argjson r "$r" --argjson cpu \
            "$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v n="$((jobs + warm))" 'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')" \
            --arg load "$(cut -d' ' -f1 /proc/loadavg)" \
            '{mode: $m, round: $r, conns, per_s, p50_ms, p99_ms, verified, errors, cpu_us: $cpu, load: $load}' \
            "$WORK/one.json" | tee -a "$WORK/all.jsonl"
    done
    stop "$CTLD_PID"
}

log "$ROUNDS rounds, $API_JOBS jobs (1 connection: $((API_JOBS / 4))), load $(cut -d' ' -f1 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then run plain "$r"; run tls "$r"; else run tls "$r"; run plain "$r"; fi
    if [ -n "$BASE" ]; then run base "$r"; fi
done
# sel MODE FIELD: FIELD of every run of MODE at $c connections, one a line.
sel() { jq -r "select(.conns == $c and .mode == \"$1\") | .$2" "$WORK/all.jsonl"; }
# paired A B: the median over rounds of A's per_s / B's per_s at $c connections.
paired() {
    local r
    for r in $(seq "$ROUNDS"); do
        jq -rs "map(select(.conns == $c and .round == $r)) |
                (map(select(.mode == \"$1\"))[0].per_s / map(select(.mode == \"$2\"))[0].per_s)" \
            "$WORK/all.jsonl"
    done | median
}
echo
echo "== durable submissions/s, TLS against plain HTTP (medians of $ROUNDS rounds) =="
printf '%6s %12s %12s %18s %14s %14s\n' conns plain_per_s tls_per_s "tls/plain (paired)" plain_cpu_us tls_cpu_us
for c in 1 16 256; do
    printf '%6s %12s %12s %18.3f %14s %14s\n' "$c" "$(sel plain per_s | median)" "$(sel tls per_s | median)" \
        "$(paired tls plain)" "$(sel plain cpu_us | median)" "$(sel tls cpu_us | median)"
done
if [ -n "$BASE" ]; then
    echo
    echo "== TLS (this build) against plain HTTP of $BASE (medians of $ROUNDS rounds) =="
    printf '%6s %12s %12s %18s %14s\n' conns base_per_s tls_per_s "tls/base (paired)" base_cpu_us
    for c in 1 16 256; do
        printf '%6s %12s %12s %18.3f %14s\n' "$c" "$(sel base per_s | median)" "$(sel tls per_s | median)" \
            "$(paired tls base)" "$(sel base cpu_us | median)"
    done
fi
jq -s 'map(.verified and .errors == 0) | all' "$WORK/all.jsonl" | grep -q true ||
    { echo "tls-compare.sh: a run had errors or unverified jobs" >&2; exit 1; }
