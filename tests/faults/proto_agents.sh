#!/bin/sh
# proto_agents: node ownership is exclusive, and a restarted agent's runs are
# lost at once. Agents are raw HTTP (curl), as in ctld_restart.sh, so that
# every step is one exact message:
# - a second agent whose nodes overlap a live agent's is refused with 409
#   "node_owned", naming the node and its owner; nothing changes;
# - a second agent under a live agent's name (another instance, or a legacy
#   agent without one) is refused with 409 "agent_name_in_use";
# - the same agent restarted (same instance) is accepted, and the runs on its
#   nodes are requeued at once (the answer to its registration already sees
#   them requeued, long before node-timeout-ms), never relaunched as the same
#   run; the runs on the other agent's nodes carry on;
# - after a registration the controller asks for a full list (full_next);
# - a node whose owner fell silent may be taken by another agent, and the old
#   owner, if it comes back listing a run there, is told to kill it.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
# The node timeout is long against the steps that must happen within it (from
# a's registration to its first sync: some sixteen requests, each a curl and a
# jq, 15 s and more on a loaded machine: 15 s failed there) and short enough
# that the takeover below does not take long.
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --node-timeout-ms 30000

nl_http GET "/v1/nodes?state=unregistered&limit=4"
nl_expect 200 '(.nodes | length) == 4'
set -- $(nl_json '[.nodes[].name] | join(" ")')
N0=$1 N1=$2 N2=$3 N3=$4

reg() { nl_http POST /v1/agent/register "$1"; }
sync_as() { nl_http POST /v1/agent/sync "{\"agent_id\":\"$1\"$2}"; nl_expect 200; }
node_field() { # NODE FIELD
    nl_http GET "/v1/nodes?limit=100"
    nl_json ".nodes[] | select(.name == \"$1\") | .$2"
}

reg "{\"agent\":\"a\",\"instance\":\"aa01\",\"nodes\":[\"$N0\",\"$N1\"]}"
nl_expect 200

# Overlap: refused, naming the node and its owner; b owns nothing afterwards.
reg "{\"agent\":\"b\",\"instance\":\"bb01\",\"nodes\":[\"$N2\",\"$N1\"]}"
nl_expect 409 ".error.code == \"node_owned\" and .error.field == \"nodes\"
    and (.error.message | contains(\"$N1\")) and (.error.message | contains(\"'a'\"))"
[ "$(node_field "$N1" agent)" = a ] || nl_fail "$N1 changed hands on a refused registration"
[ "$(node_field "$N2" state)" = unregistered ] || nl_fail "$N2 was taken by a refused registration"

# A second agent under a's name: another instance, or a legacy agent (no instance).
reg "{\"agent\":\"a\",\"instance\":\"cc01\",\"nodes\":[\"$N2\"]}"
nl_expect 409 ".error.code == \"agent_name_in_use\" and (.error.message | contains(\"'a'\"))
    and (.error.message | test(\"last synced [0-9.]+ s ago\"))"
reg "{\"agent\":\"a\",\"nodes\":[\"$N2\"]}"
nl_expect 409 '.error.code == "agent_name_in_use"'
[ "$(node_field "$N2" state)" = unregistered ] || nl_fail "$N2 was taken under a's name"

reg "{\"agent\":\"b\",\"instance\":\"bb01\",\"nodes\":[\"$N2\",\"$N3\"]}"
nl_expect 200

# Four one-node jobs fill the four nodes; each agent takes and runs its launches.
JOBS=""
for i in 1 2 3 4; do
    JOBS="$JOBS $(nl_submit '{"gpus":4,"requeue":true,"command":["sleep","600"]}')"
done
for j in $JOBS; do
    nl_wait "/v1/jobs/$j" '.job.state == "RUNNING"' 60
done
RUN_A="" RUN_B=""
for ag in a b; do
    sync_as $ag ""
    L=$(nl_json '[.launch[] | {job, run, node}]')
    [ "$ag" = a ] && RUN_A=$L || RUN_B=$L
done
[ "$(printf '%s' "$RUN_A" | jq length)" = 2 ] || nl_fail "agent a got $RUN_A, not 2 launches"
[ "$(printf '%s' "$RUN_B" | jq length)" = 2 ] || nl_fail "agent b got $RUN_B, not 2 launches"
sync_as a ",\"seq\":1,\"full\":true,\"running\":$RUN_A"
nl_expect 200 '(.kill | length) == 0 and .full_next == false'
sync_as b ",\"seq\":1,\"full\":true,\"running\":$RUN_B"
nl_expect 200 '(.kill | length) == 0'
# A delta keeps them: nothing to say, nothing asked.
sync_as a ",\"seq\":2,\"full\":false,\"running\":[]"
nl_expect 200 '(.kill | length) == 0 and .full_next == false'

# a restarts (same instance): accepted, and its two runs are requeued at once.
reg "{\"agent\":\"a\",\"instance\":\"aa01\",\"nodes\":[\"$N0\",\"$N1\"]}"
nl_expect 200
for j in $(printf '%s' "$RUN_A" | jq -r '.[].job'); do
    nl_http GET "/v1/jobs/$j"
    nl_expect 200 '.job.state == "PENDING" or (.job.state == "RUNNING" and .job.run == 2)'
done
for j in $(printf '%s' "$RUN_B" | jq -r '.[].job'); do
    nl_http GET "/v1/jobs/$j"
    nl_expect 200 '.job.state == "RUNNING" and .job.run == 1'
done
# The new incarnation is asked for a full list, and gets run 2 of its jobs, never run 1.
sync_as a ",\"seq\":1,\"full\":false,\"running\":[]"
nl_expect 200 '.full_next == true'
L1=$(nl_json '[.launch[] | {job, run, node}]')
for j in $(printf '%s' "$RUN_A" | jq -r '.[].job'); do
    nl_wait "/v1/jobs/$j" '.job.state == "RUNNING" and .job.run == 2' 60
done
sync_as a ",\"seq\":2,\"full\":true,\"running\":$L1"
RUN_A2=$(nl_json "$L1 + [.launch[] | {job, run, node}]" | jq -c .)
[ "$(printf '%s' "$RUN_A2" | jq '[.[].run] | length == 2 and all(. == 2)')" = true ] ||
    nl_fail "agent a's new incarnation got $RUN_A2, not run 2 of its two jobs"
# Should an old process of run 1 be listed, it is killed.
OLD=$(printf '%s' "$RUN_A" | jq -c '.[0]')
sync_as a ",\"seq\":3,\"full\":true,\"running\":$(printf '%s' "$RUN_A2" | jq -c ". + [$OLD]")"
nl_expect 200 "[.kill[] | select(.job == $(printf '%s' "$OLD" | jq .job) and .run == 1)] | length == 1"

# a falls silent while b syncs on; once a is dead, b may take a node of a's.
B_FULL=",\"full\":true,\"running\":$RUN_B"
(
    while :; do
        curl -sS -m 5 -o /dev/null -X POST -H 'Content-Type: application/json' \
            -H "Authorization: Bearer $NL_AGENT_TOKEN" \
            --data-binary "{\"agent_id\":\"b\"$B_FULL}" "$NL_URL/v1/agent/sync" || exit 0
        sleep 0.2
    done
) &
HEARTBEAT=$!
NL_PIDS="$NL_PIDS $HEARTBEAT"
nl_wait "/v1/nodes?limit=100" ".nodes[] | select(.name == \"$N0\") | .state == \"down\"" 90
reg "{\"agent\":\"b\",\"instance\":\"bb01\",\"nodes\":[\"$N0\",\"$N2\",\"$N3\"]}"
nl_expect 200
[ "$(node_field "$N0" agent)" = b ] || nl_fail "$N0 was not taken over by b"
grep -q "agent=b takes node $N0 from agent=a" "$NL_LOG" || nl_fail "the takeover of $N0 was not logged"
# a comes back listing its run on N0: not its node any more, so it is killed
# (the kill may say node_fail, queued when a fell silent, or node_not_owned).
ON_N0=$(printf '%s' "$RUN_A2" | jq -c "[.[] | select(.node == \"$N0\")]")
sync_as a ",\"seq\":4,\"full\":true,\"running\":$ON_N0"
[ "$(printf '%s' "$ON_N0" | jq length)" = 1 ] || nl_fail "no run of a's on $N0: $RUN_A2"
J0=$(printf '%s' "$ON_N0" | jq '.[0].job')
nl_expect 200 "[.kill[] | select(.job == $J0 and .run == 2)] | length == 1"
kill "$HEARTBEAT" 2>/dev/null
echo "proto_agents: ok"
