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

# median_ms LABEL CMD...: run CMD reps times (output discarded), print the median wall time.
median_ms() {
    label=$1
    shift
    i=0
    : >"$state/times"
    while [ $i -lt "$reps" ]; do
        t0=$(date +%s%N)
        "$@" >"$state/out" 2>"$state/err" || { echo "$label failed: $(cat "$state/err")" >&2; exit 1; }
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000)) >>"$state/times"
        i=$((i + 1))
    done
    rows=$(($(wc -l <"$state/out") - 1))
    sort -n "$state/times" | awk -v l="$label" -v r="$rows" '{ v[NR] = $1 }
        END { printf "%-58s median %7.1f ms  (min %.1f, max %.1f; %d rows)\n", l, v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000, r }'
}

echo "== $finished finished jobs on record, 100 pending; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) =="
median_ms "nordlys queue" "$cli" queue
median_ms "nordlys queue --start" "$cli" queue --start
median_ms "nordlys history --since (1 day ago) --until (+1 h)" \
    "$cli" history --since "@$((now - 86400))" --until "@$((now - 82800))"
median_ms "nordlys history --since -1d (1,000 of its rows)" "$cli" history --since -1d
median_ms "nordlys history --since -30d --user user7 --state FAILED" \
    "$cli" history --since -30d --user user7 --state FAILED
median_ms "nordlys history --since -1d --all (every run of a day)" "$cli" history --since -1d --all
