# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# live-lib.sh - what the live benchmarks (run-live.sh, compare-slurm.sh) share:
# a work dir, the controller and agent started on loopback and stopped by
# pid, and samples of /metrics. Sourced, not run.
#
# The script sets before sourcing: LIVE_NAME (its name, for messages),
# CTLD, AGENT and CLI (binaries); WORK after live_work. Each function
# says which globals it sets. Every process started here is recorded in
# PIDS, so that live_kill_all ends exactly those, by pid.

PIDS=""

log() { printf '[%s %(%H:%M:%S)T] %s\n' "${LIVE_NAME%.sh}" -1 "$*" >&2; }

# live_need BIN...: exit 2 unless every BIN is built.
live_need() {
    local b
    for b in "$@"; do
        [ -x "$b" ] || { echo "$LIVE_NAME: $b: missing; build first (cmake --build $BUILD)" >&2; exit 2; }
    done
}

# live_work PREFIX: a fresh WORK dir under /tmp, removed on exit by live_cleanup
# (or by the script's own EXIT trap, set after this).
live_work() {
    WORK=$(mktemp -d "/tmp/$1-XXXXXX")
    trap live_cleanup EXIT
    trap 'exit 130' INT TERM
}

# live_kill_all: SIGTERM every process started here, then wait for each.
live_kill_all() {
    local p
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
}

live_cleanup() {
    live_kill_all
    rm -rf "$WORK"
}

# start_ctld NAME ARGS...: a fresh controller in $WORK/NAME, its log in
# $WORK/NAME/ctld.log; sets CTLD_DIR, CTLD_PID and URL. Exits 1 if it dies
# before it listens.
start_ctld() {
    local name=$1 i
    shift
    CTLD_DIR=$WORK/$name
    rm -rf "$CTLD_DIR"
    mkdir -p "$CTLD_DIR"
    # No per-token rate limit: the bench measures throughput (--rate-limit later in ARGS wins).
    # A controller from before tokens (a baseline build) has neither the option nor tokens.
    local rate="" tokens=""
    # Nor a queue bound per tenant: the scale part queues 100,000 jobs of one tenant and more.
    case "$("$CTLD" --help 2>&1)" in
    *--rate-limit*) rate="--rate-limit 0 --tenant-queue-max 10000000" tokens=1 ;;
    esac
    # shellcheck disable=SC2086 # rate is an option and its value
    "$CTLD" --state-dir "$CTLD_DIR/state" --listen 127.0.0.1:0 --log-file "$CTLD_DIR/ctld.log" \
        $rate "$@" &
    CTLD_PID=$!
    PIDS="$PIDS $CTLD_PID"
    for i in $(seq 300); do
        [ -s "$CTLD_DIR/state/ctld.port" ] && break
        kill -0 "$CTLD_PID" 2>/dev/null || { echo "$LIVE_NAME: nordlysd did not start:" >&2; tail -5 "$CTLD_DIR/ctld.log" >&2; exit 1; }
        sleep 0.1
    done
    URL=http://127.0.0.1:$(cat "$CTLD_DIR/state/ctld.port")
    # Admin for the CLI and bench_submit (NORDLYS_TOKEN), an agent token for agents.
    if [ -z "$tokens" ]; then
        : >"$CTLD_DIR/agent.token"
        return 0
    fi
    NORDLYS_TOKEN=$("$CTLD" token --state-dir "$CTLD_DIR/state" --user root --role admin \
        --unix-user root --ttl 1d)
    export NORDLYS_TOKEN
    (umask 077 && "$CTLD" token --state-dir "$CTLD_DIR/state" --user agents --role agent \
        --nodes '*' --ttl 1d >"$CTLD_DIR/agent.token")
}

# start_agent ARGS...: an agent of the last controller started, its state in
# $CTLD_DIR/agent and its log in $CTLD_DIR/agent.log; sets AGENT_PID.
start_agent() {
    local auth=""
    case "$("$AGENT" --help 2>&1)" in *--token-file*) auth="--token-file $CTLD_DIR/agent.token" ;; esac
    # shellcheck disable=SC2086 # auth is an option and a path without spaces
    NORDLYS_TOKEN=$(cat "$CTLD_DIR/agent.token") "$AGENT" --controller "$URL" \
        --state-dir "$CTLD_DIR/agent" $auth "$@" >"$CTLD_DIR/agent.log" 2>&1 &
    AGENT_PID=$!
    PIDS="$PIDS $AGENT_PID"
}

# stop PID: SIGTERM, wait, forget.
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

metrics() { curl -sf "$URL/metrics" || true; }
# metric NAME: one sample of /metrics (read whole first: awk leaving early would fail curl)
metric() {
    metrics >"$WORK/metrics.txt"
    awk -v k="$1" '$1 == k {print $2; exit}' "$WORK/metrics.txt"
}

# wait_metric SAMPLE VALUE TIMEOUT_S [POLL_S]: until the sample reads VALUE
# (polled every POLL_S, default 0.5); returns 1 after TIMEOUT_S.
wait_metric() {
    local t=$((SECONDS + $3))
    while [ "$(metric "$1")" != "$2" ]; do
        [ $SECONDS -lt $t ] || { echo "$LIVE_NAME: timeout waiting for $1 = $2" >&2; return 1; }
        sleep "${4:-0.5}"
    done
}

# submit_loop N ARGS...: N sequential `nordlys submit --parsable ARGS...` calls.
submit_loop() {
    local n=$1 i
    shift
    for ((i = 0; i < n; i++)); do
        "$CLI" submit --url "$URL" --parsable "$@" >/dev/null || echo "submit failed" >&2
    done
}
