#!/bin/sh
# clock_step: the controller's wall clock steps, as NTP does to a machine
# whose clock was off, while a real agent runs jobs (issue 9). The
# controller runs under libfaketime with only the wall clock faked (the
# monotonic clock is left alone) and the offset read from a file on every
# call, which the test rewrites to step it.
# 1. +30 s: no node goes down and no running job restarts (run stays 1,
#    one start each in the ledger), over two node timeouts of syncs.
# 2. -1 h: the agent of two nodes is SIGKILLed; its nodes still go down
#    within the node timeout (failure detection works), its jobs end
#    NODE_FAIL, and no new job is placed on them.
# Skipped (77) where libfaketime is not installed (Debian: faketime).
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/ledger.sh"
FAKETIME_LIB=${NL_FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}
if [ ! -r "$FAKETIME_LIB" ]; then
    echo "clock_step: SKIP: libfaketime not found at $FAKETIME_LIB (apt-get install faketime," \
        "or set NL_FAKETIME_LIB)"
    exit 77
fi
nl_tmpdir
nl_ledger_init
CLOCK="$NL_TMP/clock"
# set_clock OFFSET: a new offset, by rename: libfaketime reads the file on every
# call, and a file rewritten in place can be read empty (no offset) in between.
set_clock() {
    echo "$1" >"$CLOCK.new" && mv "$CLOCK.new" "$CLOCK"
}
set_clock +0
# The sanitizer runtime wants to be the first library loaded; libfaketime comes
# first here, which is harmless for ASan's interception of malloc.
NL_CTLD_WRAP="env LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$CLOCK FAKETIME_NO_CACHE=1"
NL_CTLD_WRAP="$NL_CTLD_WRAP FAKETIME_DONT_FAKE_MONOTONIC=1"
NL_CTLD_WRAP="$NL_CTLD_WRAP ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
# The same clock for a plain program, to check that the file steps it here.
fake_now() {
    LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$CLOCK FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 date +%s
}
[ $(($(fake_now) - $(date +%s))) -le 1 ] || nl_fail "libfaketime: offset +0 is not the real time"

TIMEOUT_S=3
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100 \
    --node-timeout-ms $((TIMEOUT_S * 1000))
set -- $(nl_nodes)
A0_NODES="$1,$2"
A1_NODES="$3,$4"
nl_agent_start a0 --nodes "$A0_NODES"
A0=$NL_AGENT_PID
nl_agent_start a1 --nodes "$A1_NODES"
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4'

# Three long ledger jobs of a whole node each (not requeued: a lost one ends
# NODE_FAIL, so that nothing reruns beside the orphan its killed agent leaves).
JOBS=""
for i in 1 2 3; do
    JOBS="$JOBS $(nl_submit "$(nl_ledger_body 600 ',"gpus":4,"requeue":false')")"
done
for j in $JOBS; do
    nl_wait "/v1/jobs/$j" '.job.state == "RUNNING" and .job.run == 1'
    nl_wait_until '[ "$(nl_ledger_starts '$j')" = 1 ]' 60 "job $j to start"
done

# up_and_once: every node is up and every long job still runs its first run.
up_and_once() {
    nl_http GET "/v1/nodes?limit=100"
    [ "$(nl_json '[.nodes[] | select(.state != "up") | .name] | join(" ")')" = "" ] ||
        nl_fail "$WHEN: nodes went down: $(nl_json '[.nodes[] | select(.state != "up") | .name]')"
    for _j in $JOBS; do
        nl_http GET "/v1/jobs/$_j"
        nl_is '.job.state == "RUNNING" and .job.run == 1' || nl_fail "$WHEN: job $_j: $NL_BODY"
        [ "$(nl_ledger_starts "$_j")" = 1 ] || nl_fail "$WHEN: job $_j started again"
    done
}
# observe: up_and_once holds while every node's heartbeat, in the controller's
# own clock, moves on by two node timeouts (the controller lives through them).
observe() {
    nl_http GET "/v1/nodes?limit=100"
    _h0=$(nl_json '[.nodes[].last_heartbeat] | max')
    nl_wait_until "up_and_once; nl_http GET '/v1/nodes?limit=100'; nl_is '[.nodes[].last_heartbeat] | min >= $_h0 + $((2 * TIMEOUT_S))'" \
        60 "$WHEN: two node timeouts of heartbeats"
}
# The controller logs in wall-clock time: a line it writes now shows the step.
# stamp_after SECONDS: a job ends, and its log line is SECONDS off the real clock.
# The line is written between the submission and the answer that shows the job
# ended; the real clock is read on both sides, so however long that takes the
# line's time less the offset lies between them (a second either way for the
# whole seconds compared).
stamp_after() {
    _t0=$(date +%s)
    _p=$(nl_submit '{"name":"probe","command":["true"]}')
    nl_wait "/v1/jobs/$_p" '.job.state == "COMPLETED"'
    _t1=$(date +%s)
    _line=$(grep "job=$_p ended" "$NL_LOG" | head -1)
    _t=$(date -d "$(printf '%s' "$_line" | cut -d' ' -f1)" +%s) || nl_fail "no time in: $_line"
    [ "$_t" -ge $((_t0 + $1 - 1)) ] && [ "$_t" -le $((_t1 + $1 + 1)) ] ||
        nl_fail "$WHEN: the controller logged at $_t, not $1 s off the real clock ($_t0..$_t1): $_line"
}

# ---- 1. +30 s ----
LOGPOS=$(wc -l <"$NL_LOG")
set_clock +30
# The real clock first: the faked one, read after it, is then 30 s or more ahead.
_real=$(date +%s)
[ $(($(fake_now) - _real)) -ge 30 ] || nl_fail "libfaketime did not step the clock by +30 s"
WHEN="after a +30 s step"
stamp_after 30
observe
up_and_once
tail -n +$((LOGPOS + 1)) "$NL_LOG" | grep -E 'down|lost|requeue|stopped syncing' &&
    nl_fail "$WHEN: the controller gave up a node or a job"
echo "clock_step: +30 s: 4 nodes up, 3 jobs on run 1"

# ---- 2. -1 h ----
set_clock -3570
WHEN="after a -1 h step"
stamp_after -3570
observe
kill -9 "$A0"
wait "$A0" 2>/dev/null
T_KILL=$(date +%s)
nl_wait "/v1/nodes?state=down&limit=100" "([.nodes[].name] | sort) == (\"$A0_NODES\" | split(\",\") | sort)" \
    $((TIMEOUT_S + 60))
T_DOWN=$(date +%s)
# a0's jobs ended NODE_FAIL; a1's run on, once.
LOST=0
for j in $JOBS; do
    nl_http GET "/v1/jobs/$j"
    if nl_is '.job.state == "NODE_FAIL"'; then
        LOST=$((LOST + 1))
    else
        nl_expect 200 '.job.state == "RUNNING" and .job.run == 1'
    fi
done
[ $LOST -ge 1 ] || nl_fail "$WHEN: none of a0's jobs ended NODE_FAIL"
# New work goes to a1's nodes or waits; never to the dead agent's.
N1=$(nl_submit '{"name":"after","gpus":4,"command":["sleep","600"]}')
N2=$(nl_submit '{"name":"after","gpus":4,"command":["sleep","600"]}')
for j in $N1 $N2; do
    nl_wait "/v1/jobs/$j" '.job.state == "RUNNING" or (.job.state == "PENDING" and .job.reason != null)'
    nl_json '.job.nodes[]' | grep -Eqx "$(echo "$A0_NODES" | tr ',' '|')" &&
        nl_fail "$WHEN: job $j was placed on a down node: $NL_BODY"
done
nl_http GET "/v1/nodes?state=down&limit=100"
nl_expect 200 'all(.nodes[]; (.jobs | length) == 0) and (.nodes | length) == 2'
nl_ledger_check
echo "clock_step: -1 h: a0's nodes down $((T_DOWN - T_KILL)) s after its SIGKILL, $LOST jobs NODE_FAIL, nothing placed on them"
