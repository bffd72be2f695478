#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-local.sh - a small nordlys facility on this machine, and a first job
# run end to end through it.
#
#   scripts/run-local.sh [BUILD_DIR]         the demo: start, run a job, stop
#   scripts/run-local.sh start [BUILD_DIR]   start the facility and leave it running;
#                                            writes STATE/env.sh (NORDLYS_URL,
#                                            NORDLYS_TOKEN): `. STATE/env.sh; nordlys queue`
#   scripts/run-local.sh stop                stop what `start` left running
#
# Starts nordlysd on the `dev` facility (4 nodes of 4 GPUs) with its state
# (SQLite database, job output) under NORDLYS_STATE_DIR (default ./state),
# listening on a free loopback port; starts NORDLYS_AGENTS agents (default 2)
# that share the facility's nodes between them and run jobs as real
# processes; waits for every node to be up; submits a job with
# `nordlys submit`, shows it with `nordlys queue` and `nordlys show`, waits
# for it to finish and prints its output. Everything it started is stopped
# when it exits, however it exits.
#
# Every API call carries a token: the controller creates its signing key
# (STATE/jwt.key, 0600) at its first start, and this script mints an admin
# token (STATE/admin.token, 0600; unix_user: you, so jobs run as you) for
# the CLI and an agent token (STATE/agent.token) for the agents. Run as
# root, nordlysd gets --allow-root-jobs (jobs then run as root: local
# development only).
#
# Binaries come from BUILD_DIR, else $NORDLYS_BUILD, else ./build.
# Exit status: 0 when the job completed (start: when the facility is up), 1 otherwise.
set -eu

MODE=demo
case "${1:-}" in
start | stop)
    MODE=$1
    shift
    ;;
esac
BUILD=${1:-${NORDLYS_BUILD:-./build}}
STATE=${NORDLYS_STATE_DIR:-./state}

if [ "$MODE" = stop ]; then
    [ -f "$STATE/run-local.pids" ] || { echo "run-local: nothing started in $STATE"; exit 0; }
    # Agents first (listed first), then the controller; each by its own pid.
    for pid in $(cat "$STATE/run-local.pids"); do
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -f "$STATE/run-local.pids" "$STATE/env.sh"
    echo "run-local: stopped the facility in $STATE"
    exit 0
fi
AGENTS=${NORDLYS_AGENTS:-2}
# Seconds to wait for each stage; a loaded 2-core CI machine is slow to start.
WAIT_S=${NORDLYS_WAIT_S:-30}

say() { printf '\n== %s\n' "$*"; }
die() { printf 'run-local: %s\n' "$*" >&2; exit 1; }

# Find a binary built by CMake under $BUILD, wherever the target put it.
find_bin() {
    for p in "$BUILD/src/$2/$1" "$BUILD/bin/$1" "$BUILD/$1"; do
        if [ -x "$p" ]; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    die "$1 is not built under $BUILD (build it: cmake --build $BUILD)"
}

NORDLYSD=$(find_bin nordlysd ctld)
AGENT=$(find_bin nordlys-agent agent)
NORDLYS=$(find_bin nordlys cli)

mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
LOGS="$STATE/logs"
mkdir -p "$LOGS"

# ---- stop everything we started, on any exit ----

PIDS=""
KEEP=""
stop_all() {
    status=$?
    trap - EXIT INT TERM
    # `start` succeeded: what it started keeps running until `stop`.
    [ -n "$KEEP" ] && [ "$status" -eq 0 ] && exit 0
    # Agents first, so that none reports a lost controller while we stop it.
    for pid in $PIDS; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $PIDS; do
        # Give each one 5 s to shut down cleanly, then kill it.
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$status" -ne 0 ]; then
        printf '\nrun-local: failed; logs are in %s:\n' "$LOGS" >&2
        tail -n 20 "$LOGS"/*.log >&2 2>/dev/null || true
    fi
    exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Wait up to WAIT_S seconds for the shell command $2 to succeed; $1 says what for.
wait_for() {
    what=$1
    deadline=$(($(date +%s) + WAIT_S))
    until sh -c "$2" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || die "timed out after ${WAIT_S}s waiting for $what"
        for pid in $PIDS; do
            kill -0 "$pid" 2>/dev/null || die "process $pid exited while waiting for $what"
        done
        sleep 0.2
    done
}

# ---- controller ----

say "starting nordlysd (facility dev, state in $STATE)"
rm -f "$STATE/ctld.port"
# Port 0: the kernel picks a free port and nordlysd writes it to ctld.port,
# so a second facility or a leftover process cannot make this fail.
ROOT_JOBS=""
[ "$(id -u)" -ne 0 ] || ROOT_JOBS=--allow-root-jobs
"$NORDLYSD" --facility dev --state-dir "$STATE" --listen 127.0.0.1:0 $ROOT_JOBS \
    >"$LOGS/nordlysd.log" 2>&1 &
PIDS="$!"
wait_for "nordlysd to listen" "test -s '$STATE/ctld.port'"
NORDLYS_URL="http://127.0.0.1:$(cat "$STATE/ctld.port")"
export NORDLYS_URL
# Tokens, signed with STATE/jwt.key: an admin one for the CLI, one for the agents.
(umask 077 && "$NORDLYSD" token --state-dir "$STATE" --user "$(id -un)" --role admin \
    --unix-user "$(id -un)" --ttl 30d >"$STATE/admin.token") || die "cannot mint the admin token"
(umask 077 && "$NORDLYSD" token --state-dir "$STATE" --user local-agents --role agent \
    --nodes '*' --ttl 30d >"$STATE/agent.token") || die "cannot mint the agent token"
NORDLYS_TOKEN=$(cat "$STATE/admin.token")
export NORDLYS_TOKEN
wait_for "nordlysd at $NORDLYS_URL to answer" "'$NORDLYS' facility"
echo "nordlysd is up at $NORDLYS_URL (log: $LOGS/nordlysd.log)"

# ---- agents: the facility's nodes, dealt out round-robin ----

NODES=$("$NORDLYS" nodes | awk 'NR > 1 { print $1 }')
[ -n "$NODES" ] || die "nordlysd lists no nodes"
NNODES=$(printf '%s\n' "$NODES" | wc -l)
[ "$AGENTS" -ge 1 ] || die "NORDLYS_AGENTS: $AGENTS is below the minimum 1"
[ "$AGENTS" -le "$NNODES" ] || AGENTS=$NNODES

say "starting $AGENTS agents for $NNODES nodes"
AGENT_HELP=$("$AGENT" --help 2>&1 || true)
a=0
while [ $a -lt "$AGENTS" ]; do
    mine=$(printf '%s\n' "$NODES" | awk -v a=$a -v n="$AGENTS" '(NR - 1) % n == a' | paste -sd, -)
    mkdir -p "$STATE/agent-$a"
    # The agent's credential: --token-file where it has it (else NORDLYS_TOKEN); the
    # jobs' clean environment keeps NL_TEST_TAG (the tests' process tag) when set.
    set --
    case "$AGENT_HELP" in *--token-file*) set -- --token-file "$STATE/agent.token" ;; esac
    case "$AGENT_HELP" in *--export-env*) [ -z "${NL_TEST_TAG:-}" ] || set -- "$@" --export-env NL_TEST_TAG ;; esac
    NORDLYS_TOKEN=$(cat "$STATE/agent.token") "$AGENT" --controller "$NORDLYS_URL" --nodes "$mine" \
        --state-dir "$STATE/agent-$a" --agent-name "local-$a" "$@" >"$LOGS/agent-$a.log" 2>&1 &
    PIDS="$! $PIDS"
    echo "agent local-$a: $mine"
    a=$((a + 1))
done
wait_for "$NNODES nodes to be up" \
    "test \"\$('$NORDLYS' nodes --state up | awk 'NR > 1' | wc -l)\" -eq $NNODES"
"$NORDLYS" nodes
echo
"$NORDLYS" facility

if [ "$MODE" = start ]; then
    (umask 077 && printf 'NORDLYS_URL=%s\nNORDLYS_TOKEN=%s\nexport NORDLYS_URL NORDLYS_TOKEN\n' \
        "$NORDLYS_URL" "$NORDLYS_TOKEN" >"$STATE/env.sh")
    printf '%s\n' $PIDS >"$STATE/run-local.pids"
    KEEP=1
    say "the facility is running: . $STATE/env.sh; $NORDLYS queue   (stop: $0 stop)"
    exit 0
fi

# ---- a first job ----

say "nordlys submit --name hello --gpus 2 --time 5m -- sh -c '...'"
# The single quotes are meant: the job's shell expands $NORDLYS_JOB_ID, not this one.
# shellcheck disable=SC2016
JOB=$("$NORDLYS" submit --parsable --name hello --gpus 2 --time 5m -- sh -c \
    'echo "hello from job $NORDLYS_JOB_ID on $(uname -n), GPUs $CUDA_VISIBLE_DEVICES"; sleep 3; echo "job $NORDLYS_JOB_ID done"')
echo "submitted job $JOB"

job_state() { "$NORDLYS" show "$JOB" | awk '$1 == "state" { print $2 }'; }

wait_for "job $JOB to start" "'$NORDLYS' show $JOB | grep -Eq '^  state +(RUNNING|COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL)\$'"
say "nordlys queue"
"$NORDLYS" queue
say "nordlys show $JOB"
"$NORDLYS" show "$JOB"

wait_for "job $JOB to end" "'$NORDLYS' show $JOB | grep -Eq '^  state +(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL)\$'"
STATE_NOW=$(job_state)
say "job $JOB ended: $STATE_NOW"
"$NORDLYS" show "$JOB"

OUT=$("$NORDLYS" show "$JOB" | sed -n 's/^  stdout  *//p')
say "output of job $JOB ($OUT)"
if [ -r "$OUT" ]; then
    cat "$OUT"
else
    echo "(no output file at '$OUT')"
fi

say "nordlys usage"
"$NORDLYS" usage

[ "$STATE_NOW" = COMPLETED ] || die "job $JOB ended $STATE_NOW, not COMPLETED"
say "done: a job ran end to end; stopping the facility"
