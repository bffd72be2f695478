#!/bin/sh
# node_loss: real agents that disappear. On the dev facility (4 nodes):
# 1. Agent a0 (2 nodes) runs job R (asked for requeue) and job F (did not).
#    a0 is killed with SIGKILL. After the node timeout its nodes are down,
#    F is NODE_FAIL (with the reason), and R is requeued and runs again, as
#    run 2, on agent a1's node.
# 2. Issue 3: agent a1 stops (SIGSTOP) while it runs the 2-node job S on
#    both its nodes. After the node timeout S is requeued; then a1 comes
#    back (SIGCONT) with run 1's processes still alive. They are killed,
#    S runs again as run 2 on those same nodes, and the two runs never
#    overlap: run 1 never reaches its end, run 2 completes.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
TIMEOUT_MS=4000
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100 --node-timeout-ms $TIMEOUT_MS
NODES=$(nl_nodes)
set -- $NODES
A0_NODES="$1,$2"
A1_NODES="$3,$4"
LOG="$NL_TMP/jobs.log"
# A job body: logs "start NAME RUN RANK PID", ends at once from run 2 on, else runs for ten
# minutes (longer than the test however slow) and logs "end NAME RUN" if it ever gets there.
body() {
    printf '{"name":"%s","gpus":%s,"requeue":%s,"command":["sh","-c","echo \\"start %s $NORDLYS_RUN ${NODE_RANK:-0} $$\\" >> %s; [ $NORDLYS_RUN -ge 2 ] && exit 0; sleep 600; echo \\"end %s $NORDLYS_RUN\\" >> %s"]}' \
        "$1" "$2" "$3" "$1" "$LOG" "$1" "$LOG"
}
count() { nl_count "$LOG" "^$1 "; }

# ---- 1. a0 runs R and F, and is killed ----
nl_agent_start a0 --nodes "$A0_NODES"
A0=$NL_AGENT_PID
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 2'
R=$(nl_submit "$(body R 4 true)")
F=$(nl_submit "$(body F 4 false)")
nl_wait "/v1/jobs?state=RUNNING" '(.jobs | length) == 2'
nl_agent_start a1 --nodes "$A1_NODES"
A1=$NL_AGENT_PID
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4'
nl_wait_until '[ "$(count "start R 1")" = 1 ] && [ "$(count "start F 1")" = 1 ]' 60 "R and F to start"
kill -9 "$A0"
wait "$A0" 2>/dev/null
nl_wait "/v1/jobs/$F" '.job.state == "NODE_FAIL" and (.job.exit_reason | contains("stopped syncing"))' 60
nl_http GET "/v1/nodes?state=down"
nl_expect 200 "([.nodes[].name] | sort) == ([\"$1\", \"$2\"] | sort) and all(.nodes[]; .agent == \"a0\")"
nl_http GET /v1/facility
nl_expect 200 '.gpus_down == 8'
grep -q "job=$R run=1 lost: its node's agent stopped syncing" "$NL_LOG" || nl_fail "job $R was not declared lost"
nl_wait "/v1/jobs/$R" '.job.state == "COMPLETED" and .job.run == 2 and .job.exit_code == 0' 60
nl_json '.job.nodes[0]' | grep -Eqx "$3|$4" || nl_fail "run 2 of $R did not run on a1's nodes: $NL_BODY"
[ "$(count "start R 2")" = 1 ] || nl_fail "run 2 of $R did not run once: $(cat "$LOG")"
nl_cli nodes --state down
[ "$NL_RC" = 0 ] && [ "$(printf '%s\n' "$NL_OUT" | grep -c ' down ')" = 2 ] || nl_fail "nordlys nodes --state down: $NL_OUT"

# ---- 2. a1 is cut off while it runs S, comes back with S's old processes ----
S=$(nl_submit "$(body S 8 true)")
nl_wait "/v1/jobs/$S" '.job.state == "RUNNING" and .job.run == 1'
nl_wait_until '[ "$(count "start S 1")" = 2 ]' 60 "S to start on both nodes"

kill -STOP "$A1"
nl_wait "/v1/jobs/$S" '.job.state == "PENDING" and .job.run == 1' 60
nl_http GET "/v1/nodes?state=up"
nl_expect 200 '(.nodes | length) == 0'
# Both of run 1's processes are still alive while their agent is stopped.
for pid in $(awk '$1 == "start" && $2 == "S" && $3 == 1 { print $5 }' "$LOG"); do
    kill -0 "$pid" 2>/dev/null || nl_fail "run 1 of S ($pid) died while its agent was stopped"
done
kill -CONT "$A1"
nl_wait "/v1/jobs/$S" '.job.state == "COMPLETED" and .job.run == 2 and .job.exit_code == 0' 60
nl_expect 200 "(.job.nodes | sort) == ([\"$3\", \"$4\"] | sort)"
[ "$(count "start S 2")" = 2 ] || nl_fail "run 2 of S did not run once per node: $(cat "$LOG")"
[ "$(count "end S 1")" = 0 ] || nl_fail "run 1 of S ran on beside run 2: $(cat "$LOG")"
for pid in $(awk '$1 == "start" && $2 == "S" && $3 == 1 { print $5 }' "$LOG"); do
    kill -0 "$pid" 2>/dev/null && nl_fail "run 1 of S ($pid) is still alive"
done
grep -Eq "job=$S run=1 node=.*: kill \(grace 0 s, (node_fail|unknown|stale run)\)|job=$S node=.*run 2 launched while run 1 still runs" \
    "$NL_TMP/agent-a1.log" || nl_fail "a1 did not kill run 1 of S"
echo "node_loss: ok"
