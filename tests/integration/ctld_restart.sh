#!/bin/sh
# ctld_restart: the controller is killed with SIGKILL (several times, while a
# client submits) and restarted on the same state directory:
# - every job that was answered 201 is still there, ids are never reused;
# - a running job its agent still reports stays RUNNING on the same nodes;
# - a running job its agent does not have after the restart (its launch was
#   lost with the old controller) is launched again, same run number, at
#   that agent's first sync; if it is still not reported within
#   node-timeout-ms it is NODE_FAIL, requeued because it asked;
# - a cancel answered before the crash still kills the job afterwards;
# - the agent's registration survives, so its syncs are accepted at once.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
S="$NL_TMP/state"
# A node timeout long enough that the fake agent, silent while the controller
# restarts (and daemon.sh mints its tokens, two more processes), does not lose
# its jobs on a loaded machine.
ARGS="--sched-interval-ms 10 --node-timeout-ms 10000"
nl_ctld_start "$S" $ARGS

nl_http GET "/v1/nodes?state=unregistered&limit=3"
NODES=$(nl_json '[.nodes[].name] | join(" ")')
set -- $NODES
NA=$1 NB=$2 NC=$3
nl_http POST /v1/agent/register "{\"agent\":\"fake-r\",\"nodes\":[\"$NA\",\"$NB\",\"$NC\"]}"
nl_expect 200

sync() { nl_http POST /v1/agent/sync "{\"agent_id\":\"fake-r\"$1}"; nl_expect 200; }
# start_one: submit a 4-GPU job and sync until it is launched; sets JOB and NODE.
RUNNING=""
start_one() {
    nl_http POST /v1/jobs "{\"command\":[\"sleep\",\"1000\"],\"gpus\":4$1}"
    nl_expect 201
    JOB=$(nl_json .job.id)
    nl_sync_until fake-r ",\"running\":[${RUNNING#,}]" "nl_is '[.launch[] | select(.job == $JOB)] | length > 0'" 60 \
        "the launch of job $JOB"
    NODE=$(nl_json ".launch[] | select(.job == $JOB) | .node")
    [ "$(nl_json ".launch[] | select(.job == $JOB) | .run")" = 1 ] || nl_fail "job $JOB: not run 1"
    RUNNING="$RUNNING,{\"job\":$JOB,\"run\":1,\"node\":\"$NODE\"}"
}
start_one ''
A=$JOB AN=$NODE
start_one ',"requeue":true'
B=$JOB
start_one ''
D=$JOB DN=$NODE
nl_http DELETE "/v1/jobs/$D"
nl_expect 200 '.job.cancel == "killing"'

# A client submits as fast as it can; the controller is killed three times under it,
# each time once a few more submissions have been acknowledged since the last restart
# (the kills follow the client's progress, not the clock); round 4 only waits for a
# few more, and the fourth kill comes once the client has stopped.
ACK="$NL_TMP/acked"
: > "$ACK"
submitter() {
    while :; do
        out=$(curl -s -m 5 -w '\n%{http_code}' -X POST -d '{"command":["true"],"gpus":16}' \
              -H 'Content-Type: application/json' -H "Authorization: Bearer $NL_TOKEN" \
              "http://127.0.0.1:$(cat "$S/ctld.port" 2>/dev/null)/v1/jobs" 2>/dev/null)
        if [ "$(printf '%s' "$out" | tail -n 1)" = 201 ]; then
            printf '%s' "$out" | sed '$d' | jq -r .job.id >> "$ACK"
        fi
    done
}
submitter &
SUB=$!
NL_PIDS="$NL_PIDS $SUB"
# Meanwhile the fake agent keeps syncing with all three jobs running, so that
# however long a round takes on a loaded machine its nodes stay up.
keepalive() { sync ",\"running\":[${RUNNING#,}]"; }
for round in 1 2 3 4; do
    want=$(($(wc -l < "$ACK") + 3))
    nl_wait_until 'keepalive; [ "$(wc -l < "$ACK")" -ge '$want' ]' 60 "$want acknowledged submissions (round $round)"
    [ $round = 4 ] && break
    nl_ctld_kill9
    nl_ctld_start "$S" $ARGS
done
kill "$SUB"
wait "$SUB" 2>/dev/null
n=$(wc -l < "$ACK")
# A handful is enough to prove durability here (crash.sh is the volume test);
# a loaded 2-core machine running the sanitizer build gets through few.
[ "$n" -ge 5 ] || nl_fail "only $n submissions were acknowledged"
nl_ctld_kill9
nl_ctld_start "$S" $ARGS
# The agent reports A (and the cancelled D) still running, but not B: B is launched again.
# The cancel of D answered before the crashes may come back in this very first
# answer already: every answer is checked for it, this one included.
RUN_AD="{\"job\":$A,\"run\":1,\"node\":\"$AN\"},{\"job\":$D,\"run\":1,\"node\":\"$DN\"}"
KILL_D="[.kill[] | select(.job == $D and .run == 1 and .reason == \"cancel\")] | length == 1"
sync ",\"running\":[$RUN_AD]"
nl_expect 200 "([.launch[] | select(.job == $B and .run == 1 and .env.NORDLYS_NODELIST != \"\")] | length == 1) and ([.launch[] | select(.job == $A or .job == $D)] | length == 0)"
nl_is "$KILL_D" && KILLED_D=1 || KILLED_D=0
grep -q "job=$B run=1 rank=0: its agent does not have it after the restart" "$NL_LOG" || nl_fail "no relaunch of $B logged"

# Every acknowledged job is there, once.
nl_http GET "/v1/jobs?limit=100000&state=PENDING"
printf '%s' "$NL_BODY" | jq -r '.jobs[].id' | LC_ALL=C sort > "$NL_TMP/have"
LC_ALL=C sort "$ACK" > "$NL_TMP/want"
missing=$(LC_ALL=C comm -23 "$NL_TMP/want" "$NL_TMP/have" | head -5)
[ -z "$missing" ] || nl_fail "acknowledged jobs lost after kill -9: $missing"
[ "$(uniq -d "$NL_TMP/want" | wc -l)" = 0 ] || nl_fail "an id was acknowledged twice"
echo "ctld_restart: $n acknowledged submissions survived 4 kills"

# The controller resends a kill until the run ends; the first may have come above.
[ $KILLED_D = 1 ] ||
    nl_sync_until fake-r ",\"running\":[$RUN_AD]" "nl_is '$KILL_D'" 60 "the kill of cancelled job $D after the crashes"
# B goes unreported for longer than node-timeout-ms while the agent keeps
# syncing (so that its nodes stay up and A stays where it is, run 1).
nl_sync_until fake-r ",\"running\":[$RUN_AD]" "grep -q \"job=$B run=1 lost\" \"\$NL_LOG\"" 60 \
    "job $B declared lost"
sync ",\"running\":[{\"job\":$A,\"run\":1,\"node\":\"$AN\"}],\"exits\":[{\"job\":$D,\"run\":1,\"node\":\"$DN\",\"exit_code\":0,\"signal\":15}]"
nl_http GET "/v1/jobs/$A"
nl_expect 200 ".job.state == \"RUNNING\" and .job.nodes == [\"$AN\"] and .job.run == 1"
nl_http GET "/v1/jobs/$B"
nl_expect 200 '.job.state == "PENDING" or .job.state == "RUNNING"'
nl_http GET "/v1/jobs/$D"
nl_expect 200 '.job.state == "CANCELLED"'

# Ids are never reused: a new job gets an id above every earlier one.
max=$(sort -n "$NL_TMP/want" | tail -n 1)
nl_http POST /v1/jobs '{"command":["true"]}'
nl_expect 201 ".job.id > $max"
echo "ctld_restart: ok"
