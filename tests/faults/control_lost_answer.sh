#!/bin/sh
# SPDX-License-Identifier: MIT
# control_lost_answer (issue 12): a signal or a new time limit for a running
# job reaches it even when the sync answer that carried it is lost, or the
# controller is SIGKILLed before the agent had it, and a signal is never
# delivered twice.
# The agent talks to nordlysd through tests/lib/dropproxy.py, which loses
# chosen sync answers after the controller wrote them (the connection
# closes with no byte of the answer): the fault follows what the answers
# carry, never the clock.
# 1. `nordlys signal J USR1`: the first answer carrying it is lost; the job
#    gets USR1 all the same, once, and later answers no longer carry it
#    (the agent's acknowledgement arrived).
# 2. `nordlys update J --time`: the first answer with the new limit is lost;
#    the limit applies all the same: the job ends TIMEOUT.
# 3. Every answer with a control is lost while a file exists; `nordlys
#    signal K USR2` is acknowledged to the user, the controller is SIGKILLed
#    and comes back: the job gets USR2 once.
set -u
. "$NL_TEST_LIB/daemon.sh"
PY=$(command -v python3) || { echo "SKIP: control_lost_answer needs python3 (its proxy)"; exit 77; }
nl_tmpdir
S=$NL_TMP/state
# Each lost answer is a failed request to the agent, which backs off (up to 30 s)
# and more so while the controller is down: the node timeout and the waits after
# the restart are long against that.
ARGS="--sched-interval-ms 10 --sync-interval-ms 100 --node-timeout-ms 120000"
nl_ctld_start "$S" $ARGS
CTLD_URL=$NL_URL
PLOG=$NL_TMP/proxy.log
: >"$PLOG"
"$PY" "$NL_TEST_LIB/dropproxy.py" "$CTLD_URL" "$NL_TMP/proxy.port" "$PLOG" \
    --drop signal --drop limit --hold "$NL_TMP/hold" &
NL_PIDS="$NL_PIDS $!"
nl_wait_until "[ -s '$NL_TMP/proxy.port' ]" 60 "the proxy's port file"
# The agent alone goes through the proxy; the test's own requests go straight to nordlysd.
NL_URL="http://127.0.0.1:$(cat "$NL_TMP/proxy.port")"
nl_agent_start a0 --nodes "$(nl_nodes | head -n 2 | paste -sd, -)"
NL_URL=$CTLD_URL
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 2'
M=$NL_TMP/marks
mkdir -p "$M"

# A job that appends a line for every USR1 and USR2 it gets.
job() { # NAME
    nl_cli submit --parsable --time 30 --name "$1" -- sh -c \
        "trap 'echo usr1 >>$M/$1' USR1; trap 'echo usr2 >>$M/$1' USR2; echo ready >$M/$1.ready; while :; do sleep 0.1; done"
    [ "$NL_RC" = 0 ] || nl_fail "submit $1: $NL_RC $NL_ERR"
    printf '%s\n' "$NL_OUT"
}
lines() { nl_count "$1" .; }

# ---- 1. the answer carrying a signal is lost ----
J=$(job sig)
nl_wait "/v1/jobs/$J" '.job.state == "RUNNING"'
nl_wait_until "[ -s '$M/sig.ready' ]" 60 "job $J to set its traps"
nl_cli signal "$J" USR1
[ "$NL_RC" = 0 ] || nl_fail "signal USR1: $NL_RC $NL_ERR"
nl_wait_until "grep -q '^drop signal=[0-9]' '$PLOG'" 60 "the proxy to lose the answer with the signal"
nl_wait_until "[ \$(lines '$M/sig') -ge 1 ]" 60 "job $J to get USR1 after its answer was lost"
# Acknowledged: an answer after the one that passed with it carries it no more.
nl_wait_until "awk '/^pass signal=[0-9]/ { p = 1 } p && /^pass signal= / { ok = 1 } END { exit !ok }' '$PLOG'" \
    60 "an answer without the acknowledged signal"
[ "$(lines "$M/sig")" = 1 ] || nl_fail "job $J got USR1 $(lines "$M/sig") times: $(cat "$M/sig")"
[ "$(grep -c '^drop signal=[0-9]' "$PLOG")" = 1 ] || nl_fail "proxy log: $(cat "$PLOG" | grep -v '^pass signal= limit=$')"

# ---- 2. the answer carrying a new time limit is lost ----
nl_cli update "$J" --time 0:02
[ "$NL_RC" = 0 ] || nl_fail "update --time: $NL_RC $NL_ERR"
nl_wait_until "grep -q '^drop signal= limit=[0-9]' '$PLOG'" 60 "the proxy to lose the answer with the limit"
nl_wait "/v1/jobs/$J" '.job.state == "TIMEOUT"'
[ "$(lines "$M/sig")" = 1 ] || nl_fail "job $J got USR1 $(lines "$M/sig") times: $(cat "$M/sig")"

# ---- 3. the controller is SIGKILLed while a signal waits for its agent ----
K=$(job restart)
nl_wait "/v1/jobs/$K" '.job.state == "RUNNING"'
nl_wait_until "[ -s '$M/restart.ready' ]" 60 "job $K to set its traps"
: >"$NL_TMP/hold"
FROM=$(wc -l <"$PLOG") # what the proxy saw before this part
nl_cli signal "$K" USR2
[ "$NL_RC" = 0 ] || nl_fail "signal USR2: $NL_RC $NL_ERR"
# Sent (and lost) at least once: it was queued and committed before the CLI had its answer.
nl_wait_until "[ \$(awk -v from=$FROM 'NR > from && /^drop signal=[0-9]/' '$PLOG' | wc -l) -ge 1 ]" 60 \
    "the proxy to hold back the USR2"
[ "$(lines "$M/restart")" = 0 ] || nl_fail "job $K got USR2 through the hold"
nl_ctld_kill9
nl_ctld_start "$S" $ARGS --listen "127.0.0.1:$NL_PORT"
rm -f "$NL_TMP/hold"
nl_wait_until "[ \$(lines '$M/restart') -ge 1 ]" 120 "job $K to get USR2 after the controller restart"
nl_wait_until "awk -v from=$FROM 'NR > from && /^pass signal=[0-9]/ { p = 1 } p && /^pass signal= / { ok = 1 } END { exit !ok }' '$PLOG'" \
    120 "an answer without the acknowledged USR2"
[ "$(cat "$M/restart")" = usr2 ] || nl_fail "job $K's signals: $(cat "$M/restart")"
nl_http GET "/v1/jobs/$K"
nl_expect 200 '.job.state == "RUNNING"'
nl_cli cancel "$K"
[ "$NL_RC" = 0 ] || nl_fail "cancel $K: $NL_ERR"
echo "control_lost_answer: ok ($(grep -c '^drop' "$PLOG") answers lost)"
