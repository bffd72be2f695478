#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench-array.sh - what a 100,000-task job array costs (issue 12): the API
# round trip of its submission (target: under a second) and the store's
# size and the controller's RSS before and after, against one plain job.
#
# Usage: bench/bench-array.sh BUILD_DIR [REPS]     (REPS: arrays submitted per kind, default 5)
#
# A fresh controller on the dev facility with no agent (so no task starts:
# what is measured is the array as stored and kept, before its tasks run),
# on loopback, state in a temp dir; every process started here is killed
# on exit, by its pid. Two kinds, REPS of each, each on the controller as
# the previous ones left it:
#   limit  --array 0-99999%10: 10 tasks exist at a time
#   window --array 0-99999: GATE_ARRAY_WINDOW (1,024) tasks exist at a time
# Printed per kind: the median and range of the round trip (curl's
# time_total of POST /v1/jobs, which answers after the COMMIT), how many
# tasks were made when it answered (the answer's array.made: the store
# then holds two rows for the array, its job and its arrays row), and the
# store's growth (page_count x page_size, read through SQLite so that the
# WAL counts) and the controller's RSS growth per array once its first
# tasks are made; the same for PLAIN (200) plain jobs, per job.
set -euo pipefail

BUILD=$(cd "${1:?usage: bench-array.sh BUILD_DIR [REPS]}" && pwd)
REPS=${2:-5}
CTLD=$BUILD/src/ctld/nordlysd
AGENT=/nonexistent
CLI=$BUILD/src/cli/nordlys
LIVE_NAME=bench-array.sh
# shellcheck source=live-lib.sh
. "$(dirname "$0")/live-lib.sh"
live_need "$CTLD" "$CLI"
command -v sqlite3 >/dev/null || { echo "$LIVE_NAME: needs the sqlite3 shell" >&2; exit 2; }
live_work bench-array

# Ticks a second apart: what is sampled "at the answer" is read before the next tick (or
# request) makes the array's first tasks.
start_ctld arr --sched-interval-ms 1000
DB=$CTLD_DIR/state/nordlys.db

store_bytes() { sqlite3 "file:$DB?mode=ro" 'PRAGMA page_count' 'PRAGMA page_size' | paste -sd'*' | bc; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$CTLD_PID/status"; }
# post BODY: the round trip in ms; the answer in $WORK/answer.json (new_id reads its id).
post() {
    local out
    out=$(curl -sS -o "$WORK/answer.json" -w '%{http_code} %{time_total}' -X POST \
        -H 'Content-Type: application/json' -H "Authorization: Bearer $NORDLYS_TOKEN" \
        --data-binary "$1" "$URL/v1/jobs")
    [ "${out%% *}" = 201 ] || { echo "$LIVE_NAME: submit answered ${out%% *}: $(cat "$WORK/answer.json")" >&2; exit 1; }
    echo "${out#* } * 1000" | bc -l
}
# made ID N: wait until array ID has made N tasks (its first ones, after the answer).
made() {
    local t=$((SECONDS + 60))
    until [ "$(curl -sf -H "Authorization: Bearer $NORDLYS_TOKEN" "$URL/v1/jobs/$1" | jq .job.array.made)" = "$2" ]; do
        [ $SECONDS -lt $t ] || { echo "$LIVE_NAME: array $1 never made $2 tasks" >&2; exit 1; }
        sleep 0.1
    done
}
median() { sort -n | awk '{a[NR] = $1} END {m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.4g (%.4g-%.4g)", m, a[1], a[NR]}'; }

# Warm-up: the first request pays for the token cache, the first COMMIT for the WAL.
post '{"command":["true"],"name":"warm"}' >/dev/null

PLAIN=${PLAIN:-200}
log "$PLAIN plain jobs"
: >"$WORK/plain"
s0=$(store_bytes) r0=$(rss_kb)
for ((i = 0; i < PLAIN; i++)); do
    post '{"command":["true"],"name":"plain"}' >>"$WORK/plain"
done
echo "$((($(store_bytes) - s0) / PLAIN)) $((($(rss_kb) - r0) / PLAIN))" >"$WORK/plain.size"

for kind in limit window; do
    spec=0-99999%10 n=10
    [ $kind = window ] && spec=0-99999 n=1024
    log "$kind: --array $spec, $REPS times"
    : >"$WORK/$kind"
    s0=$(store_bytes) r0=$(rss_kb)
    for ((i = 0; i < REPS; i++)); do
        ms=$(post "{\"command\":[\"true\"],\"name\":\"arr\",\"array\":\"$spec\"}")
        made "$(jq -r .job.id "$WORK/answer.json")" "$n"
        echo "$ms $(jq .job.array.made "$WORK/answer.json")" >>"$WORK/$kind"
    done
    # Summed over the REPS arrays, then per array: one array is below a page's resolution.
    echo "$((($(store_bytes) - s0) / REPS)) $((($(rss_kb) - r0) / REPS))" >"$WORK/$kind.size"
done

echo
echo "machine: $(nproc) cores, $(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| what | round trip ms, median (range) | tasks made at the answer | store / RSS growth each, once its first tasks exist |\n'
printf '| --- | --- | --- | --- |\n'
read -r sp rp <"$WORK/plain.size"
printf '| one plain job (%s of them) | %s | - | %s B / %s KiB |\n' "$PLAIN" \
    "$(median <"$WORK/plain")" "$sp" "$rp"
for kind in limit window; do
    label="--array 0-99999%10 (10 tasks made)"
    [ $kind = window ] && label="--array 0-99999 (1,024 tasks made)"
    read -r sm rm <"$WORK/$kind.size"
    printf '| %s | %s | %s | %s B / %s KiB |\n' "$label" \
        "$(cut -d' ' -f1 "$WORK/$kind" | median)" "$(cut -d' ' -f2 "$WORK/$kind" | median)" \
        "$sm" "$rm"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
