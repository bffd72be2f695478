#!/bin/sh
# port_change: a controller started with --listen 127.0.0.1:0 (a free port,
# as scripts/run-local.sh does) and restarted the same way on the same state
# directory comes back on the port it had (it asks first for the one in
# STATE/ctld.port or STATE/ctld.last-port), so that its agents, which know
# only the old URL, find it again (issue 9). Both after a SIGKILL and after
# a clean stop, with a real agent running a ledger job throughout:
# - the new controller listens on the old port;
# - the agent's syncs reach it: its nodes stay up, the running job carries
#   on as run 1 (one start in the ledger), and a new job runs to the end.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/ledger.sh"
nl_tmpdir
nl_ledger_init
S="$NL_TMP/state"
ARGS="--sched-interval-ms 10 --sync-interval-ms 100 --node-timeout-ms 5000"
nl_ctld_start "$S" $ARGS
PORT1=$NL_PORT
nl_agents_start 1
ALOG="$NL_TMP/agent-a0.log"

J=$(nl_submit "$(nl_ledger_body 600 ',"gpus":4,"requeue":false')")
nl_wait "/v1/jobs/$J" '.job.state == "RUNNING" and .job.run == 1'
nl_wait_until '[ "$(nl_ledger_starts '$J')" = 1 ]' 60 "job $J to start"

# carries_on HOW: after a restart (HOW), on the old port, with the agent back.
carries_on() {
    [ "$NL_PORT" = "$PORT1" ] ||
        nl_fail "after $1 the controller came back on port $NL_PORT, not on $PORT1: $(grep -i 'listen' "$NL_LOG" | tail -3)"
    # The agent, which noticed the controller was gone, reaches it at the old URL.
    nl_wait_until '[ "$(nl_count "$ALOG" "answers again")" -gt '$BACK' ]' 60 \
        "the agent to log that the controller at $NL_URL answers again"
    # Every node is up and has synced since the restart (its heartbeat moved on).
    nl_http GET "/v1/nodes?limit=100"
    _h0=$(nl_json '[.nodes[].last_heartbeat | select(. != null)] | max // 0')
    nl_wait "/v1/nodes?limit=100" "all(.nodes[]; .state == \"up\" and .last_heartbeat > $_h0 + 1)" 60
    nl_http GET "/v1/jobs/$J"
    nl_expect 200 '.job.state == "RUNNING" and .job.run == 1'
    [ "$(nl_ledger_starts "$J")" = 1 ] || nl_fail "after $1 job $J started again"
    _n=$(nl_submit "$(nl_ledger_body 0 ',"gpus":4')")
    nl_wait "/v1/jobs/$_n" '.job.state == "COMPLETED" and .job.exit_code == 0' 60
    [ "$(nl_ledger_starts "$_n")" = 1 ] || nl_fail "after $1 new job $_n did not run once"
    echo "port_change: after $1: port $NL_PORT, job $J on run 1, new job $_n COMPLETED"
}

# gone: the agent has noticed that the controller is gone (a failed sync);
# sets BACK, the agent's recoveries so far.
gone() {
    BACK=$(nl_count "$ALOG" 'answers again')
    nl_wait_until '[ "$(nl_count "$ALOG" "sync failed")" -gt '"$1"' ]' 60 "the agent to notice the controller is gone"
}

# ---- 1. SIGKILL, then a restart on port 0 ----
FAILED=$(nl_count "$ALOG" 'sync failed')
nl_ctld_kill9
gone "$FAILED"
nl_ctld_start "$S" $ARGS
carries_on "a SIGKILL"

# ---- 2. a clean stop (ctld.port removed), then a restart on port 0 ----
FAILED=$(nl_count "$ALOG" 'sync failed')
nl_ctld_stop
gone "$FAILED"
[ ! -e "$S/ctld.port" ] || nl_fail "a clean stop left $S/ctld.port behind"
nl_ctld_start "$S" $ARGS
carries_on "a clean stop"
nl_ledger_check
