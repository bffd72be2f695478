#!/bin/sh
# `nordlys queue` and `nordlys history` with a million finished jobs on
# record (issue 12): end to end, one CLI process per call, as a user types
# them; medians of REPS runs each, in milliseconds.
#   bench/history.sh [BUILD_DIR] [FINISHED]    (REPS=11; DB=path reuses a filled store)
# The store is filled through the store's API by bench_history (10,000 jobs
# to a transaction, ends spread over 30 days, 100 pending jobs on top), then
# a controller (dev facility, no agents: the pending jobs stay pending)
# serves it on a loopback port.
set -eu
build=${1:-build}
finished=${2:-1000000}
reps=${REPS:-11}
state=$(mktemp -d /tmp/nl-bench-history-XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$state"' EXIT
if [ -n "${DB:-}" ]; then
    cp "$DB" "$state/nordlys.db"
else
    "$build/bench/bench_history" "$state/nordlys.db" "$finished" 100 30
fi
"$build/src/ctld/nordlysd" --state-dir "$state" --listen 127.0.0.1:0 --facility dev \
    --log-file "$state/ctld.log" &
pid=$!
deadline=$(($(date +%s) + 120))
while [ ! -s "$state/ctld.port" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "nordlysd did not start" >&2; exit 1; }
    sleep 0.1
done
NORDLYS_URL="http://127.0.0.1:$(cat "$state/ctld.port")"
NORDLYS_TOKEN=$("$build/src/ctld/nordlysd" token --state-dir "$state" --user bench --role admin --ttl 1h)
export NORDLYS_URL NORDLYS_TOKEN
cli=$build/src/cli/nordlys
now=$(date +%s)

# CPU seconds (user + system) nordlysd has used so far, in ms: /proc/PID/stat fields 14 and 15.
srv_cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$pid/stat"
}

# median_ms LABEL CMD...: run CMD reps times (output discarded), print the median wall time,
# and the CPU time the CLI (median) and the controller (mean) spent on one run: under a
# loaded machine the wall time is mostly waiting for a CPU, the CPU time is not.
median_ms() {
    label=$1
    shift
    i=0
    : >"$state/times"
    : >"$state/cpu"
    s0=$(srv_cpu_ms)
    while [ $i -lt "$reps" ]; do
        t0=$(date +%s%N)
        /usr/bin/time -f "%U %S" -o "$state/cpu1" "$@" >"$state/out" 2>"$state/err" ||
            { echo "$label failed: $(cat "$state/err")" >&2; exit 1; }
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000)) >>"$state/times"
        awk '{ print ($1 + $2) * 1000 }' "$state/cpu1" >>"$state/cpu"
        i=$((i + 1))
    done
    srv=$(awk -v a="$s0" -v b="$(srv_cpu_ms)" -v n="$reps" 'BEGIN { printf "%.0f", (b - a) / n }')
    cli_ms=$(sort -n "$state/cpu" | awk '{ v[NR] = $1 } END { printf "%.0f", v[int((NR + 1) / 2)] }')
    rows=$(($(wc -l <"$state/out") - 1))
    sort -n "$state/times" | awk -v l="$label" -v r="$rows" -v c="$cli_ms" -v s="$srv" '{ v[NR] = $1 }
        END { printf "%-58s median %7.1f ms  (min %.1f, max %.1f; %d rows; cpu: cli %s ms, nordlysd %s ms)\n", l, v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000, r, c, s }'
}

echo "== $finished finished jobs on record, 100 pending; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) =="
median_ms "nordlys queue" "$cli" queue
median_ms "nordlys queue --start" "$cli" queue --start
median_ms "nordlys history --since (1 day ago) --until (+1 h)" \
    "$cli" history --since "@$((now - 86400))" --until "@$((now - 82800))"
median_ms "nordlys history --since -1d (1,000 of its rows)" "$cli" history --since -1d
median_ms "nordlys history --since -30d --user user7 --state FAILED" \
    "$cli" history --since -30d --user user7 --state FAILED
median_ms "nordlys history --since -30d --state NODE_FAIL (none)" \
    "$cli" history --since -30d --state NODE_FAIL
median_ms "nordlys history --since -30d --tenant uk --state FAILED" \
    "$cli" history --since -30d --tenant uk --state FAILED
# Every row of a window, page after page (printed as each page comes).
median_ms "nordlys history --since -1d --all (every run of a day)" "$cli" history --since -1d --all
median_ms "nordlys history --since -1d --all --csv" "$cli" history --since -1d --all --csv
median_ms "nordlys history --since -1d --all --json" "$cli" history --since -1d --all --json
median_ms "nordlys history --since -30d --user user7 --state FAILED --all" \
    "$cli" history --since -30d --user user7 --state FAILED --all
median_ms "nordlys history --since -1d --tenant anchor --all" \
    "$cli" history --since -1d --tenant anchor --all
median_ms "nordlys history --since -30d --state NODE_FAIL --all (none)" \
    "$cli" history --since -30d --state NODE_FAIL --all
