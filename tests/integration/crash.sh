#!/bin/sh
# crash: issue 3's crash test. Four clients submit thousands of jobs while
# nordlysd is killed with SIGKILL several times and restarted on the same
# state directory and port; two real agents run the jobs as real processes
# on a facility of 32 nodes (128 GPUs, so that thousands of jobs get through
# in seconds). Each job appends "ID RUN" to one ledger file. Afterwards:
# - every job that was answered 201 is still there and ran to completion;
# - no job ran twice: every id is in the ledger at most once, and every
#   acknowledged id exactly once;
# - no id was acknowledged twice, and nothing is left running.
# Id lists are sorted as text (LC_ALL=C), the order comm needs.
# Check by hand with a larger load: NL_CRASH_JOBS=20000.
# NL_CRASH_JOBS (default 2000) sets the number of submissions.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
NJOBS=${NL_CRASH_JOBS:-2000}
S="$NL_TMP/state"
cat >"$NL_TMP/facility.conf" <<EOF
name = crashtest
[site osl]
jurisdiction = NO
racks = 4
racks_per_pod = 4
nodes_per_rack = 8
gpus_per_node = 4
EOF
# synchronous=normal: in WAL mode a commit survives the death of the process,
# which is what this test does to it (only a power cut needs FULL's fsync),
# and the test then does not wait for the disk of a shared 2-core machine.
ARGS="--facility $NL_TMP/facility.conf --sched-interval-ms 10 --sync-interval-ms 50"
ARGS="$ARGS --node-timeout-ms 5000 --synchronous normal"
nl_ctld_start "$S" $ARGS
PORT=$NL_PORT
nl_agents_start 2

LEDGER="$NL_TMP/ledger"
: >"$LEDGER"
# The job's own shell expands the variables; O_APPEND writes this small are atomic.
printf '{"name":"crash","command":["sh","-c","echo \\"$NORDLYS_JOB_ID $NORDLYS_RUN\\" >> %s"]}' \
    "$LEDGER" >"$NL_TMP/body.json"
jq -e . "$NL_TMP/body.json" >/dev/null || nl_fail "bad job body: $(cat "$NL_TMP/body.json")"

# Four clients, one curl each, one transfer per job (a curl config file), so that a
# client costs one process, not thousands. A refused connection (controller
# down) is retried once a second: the request never reached it, so nothing
# can be submitted twice that way. Anything else that fails is simply not
# acknowledged. Each answer is followed by a line "@@STATUS".
client_config() {
    _i=0
    while [ $_i -lt "$1" ]; do
        printf 'url = "http://127.0.0.1:%s/v1/jobs"\nheader = "Content-Type: application/json"\n' "$PORT"
        printf 'header = "Authorization: Bearer %s"\n' "$NL_TOKEN"
        printf 'data-binary = "@%s"\nsilent\nmax-time = 10\nretry = 60\nretry-connrefused\n' "$NL_TMP/body.json"
        printf 'retry-delay = 1\nwrite-out = "\\n@@%%{http_code}\\n"\nnext\n'
        _i=$((_i + 1))
    done >"$2"
}
# Each client sends five sixths of its jobs, then waits for the file "last"
# (made after the fourth kill) before the rest: however fast the clients and
# however slow the test's restarts, the clients are still there for every kill.
NCLIENTS=4
T0=$(date +%s)
CLIENTS=""
c=0
while [ $c -lt $NCLIENTS ]; do
    _n=$(((NJOBS + c) / NCLIENTS))
    client_config $((_n * 5 / 6)) "$NL_TMP/c$c.cfg"
    client_config $((_n - _n * 5 / 6)) "$NL_TMP/c$c.last.cfg"
    (
        curl -K "$NL_TMP/c$c.cfg" >"$NL_TMP/c$c.out" 2>"$NL_TMP/c$c.err"
        : >"$NL_TMP/c$c.waits"
        while [ ! -e "$NL_TMP/last" ]; do sleep 0.05; done
        curl -K "$NL_TMP/c$c.last.cfg" >>"$NL_TMP/c$c.out" 2>>"$NL_TMP/c$c.err"
    ) &
    CLIENTS="$CLIENTS $!"
    c=$((c + 1))
done
NL_PIDS="$NL_PIDS $CLIENTS"

# Kill the controller 4 times while the clients run, each time once another
# K submissions have been acknowledged (the clients' outputs hold one "@@201"
# line per acknowledged answer), or once every client waits for "last" (should
# many submissions have failed): the kills follow the clients' progress, so
# they land during the run however fast or slow the machine is.
K=$((NJOBS / 6))
waiting() { [ "$(ls "$NL_TMP"/c*.waits 2>/dev/null | wc -l)" = "$NCLIENTS" ]; }
KILLS=0
running() {
    for _c in $CLIENTS; do
        kill -0 "$_c" 2>/dev/null && return 0
    done
    return 1
}
nacked() { cat "$NL_TMP"/c*.out 2>/dev/null | grep -c '^@@201$'; }
while [ $KILLS -lt 4 ]; do
    want=$((K * (KILLS + 1)))
    nl_wait_until '[ "$(nacked)" -ge '$want' ] || waiting || ! running' 120 "$want acknowledged submissions"
    running || nl_fail "the clients ended after $KILLS kills with $(nacked) acknowledged"
    nl_ctld_kill9
    KILLS=$((KILLS + 1))
    nl_ctld_start "$S" --listen "127.0.0.1:$PORT" $ARGS
done
: >"$NL_TMP/last"
wait $CLIENTS 2>/dev/null
T1=$(date +%s)

# Once more while the last jobs run: they are adopted from the agents' reports.
nl_ctld_kill9
KILLS=$((KILLS + 1))
nl_ctld_start "$S" --listen "127.0.0.1:$PORT" $ARGS

acked() {
    awk '/^@@/ { if ($0 == "@@201") print body; body = ""; next } { body = body $0 }' "$@" |
        jq -r '.job.id'
}
acked "$NL_TMP"/c*.out | LC_ALL=C sort >"$NL_TMP/acked"
NACK=$(wc -l <"$NL_TMP/acked")
[ "$NACK" -ge $((NJOBS / 2)) ] || nl_fail "only $NACK of $NJOBS submissions were acknowledged"
[ -z "$(uniq -d "$NL_TMP/acked")" ] || nl_fail "ids acknowledged twice: $(uniq -d "$NL_TMP/acked" | head -5)"

# Every job ends; wait until nothing is pending or running.
nl_wait_drained 60
T2=$(date +%s)

# Every acknowledged job is there, COMPLETED with exit code 0.
nl_http GET "/v1/jobs?limit=100000"
nl_expect 200
printf '%s' "$NL_BODY" | jq -r '.jobs[] | select(.state == "COMPLETED" and .exit_code == 0) | .id' |
    LC_ALL=C sort >"$NL_TMP/completed"
missing=$(LC_ALL=C comm -23 "$NL_TMP/acked" "$NL_TMP/completed" | head -5)
[ -z "$missing" ] || nl_fail "acknowledged jobs not COMPLETED: $missing ($(printf '%s' "$NL_BODY" | jq -c "[.jobs[] | select(.id == $(echo "$missing" | head -1))][0] | {id, state, run, exit_code, exit_reason}"))"
NSTORED=$(printf '%s' "$NL_BODY" | jq '.jobs | length')

# None ran twice: each id at most once in the ledger, each acknowledged id exactly once.
cut -d' ' -f1 "$LEDGER" | LC_ALL=C sort >"$NL_TMP/ran"
twice=$(uniq -d "$NL_TMP/ran" | head -5)
[ -z "$twice" ] || nl_fail "jobs ran twice: $twice ($(grep -E "^($(echo "$twice" | paste -sd'|' -)) " "$LEDGER" | head -10 | paste -sd';' -))"
notrun=$(LC_ALL=C comm -23 "$NL_TMP/acked" "$NL_TMP/ran" | head -5)
[ -z "$notrun" ] || nl_fail "acknowledged jobs that never ran: $notrun"
stray=$(LC_ALL=C comm -13 "$NL_TMP/completed" "$NL_TMP/ran" | head -5)
[ -z "$stray" ] || nl_fail "ledger ids that are not COMPLETED jobs: $stray"
RERUN=$(awk '$2 != 1' "$LEDGER" | wc -l)

# Nothing is left on the nodes.
nl_wait "/v1/nodes?state=up" 'all(.nodes[]; .free == 4 and (.jobs | length) == 0) and (.nodes | length) == 32' 60
echo "crash: $NACK of $NJOBS submissions acknowledged in $((T1 - T0)) s under $KILLS kills;" \
    "$NSTORED jobs stored, all ran once ($RERUN on a later run after a lost launch) within $((T2 - T0)) s"
