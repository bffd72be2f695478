#!/bin/sh
# SPDX-License-Identifier: MIT
# agent_duplicate (issue 9): node ownership is exclusive. While agent a0
# runs a ledger job on its nodes:
# 1. a second agent under the name a0 (another state directory, so another
#    instance key) is refused by the controller (409) and exits 1 with the
#    controller's message, which names a0;
# 2. an agent under another name that claims one of a0's nodes is refused
#    the same way, naming the node;
# 3. a0 and its job carry on undisturbed, the job completes once, and an
#    agent with nodes of its own registers fine.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/ledger.sh"
nl_ledger_facility
set -- $(nl_nodes)
[ $# -ge 4 ] || nl_fail "the dev facility should have 4 nodes, has: $*"
N0=$1 N1=$2 N2=$3 N3=$4

nl_agent_start a0 --nodes "$N0,$N1"
A0=$NL_AGENT_PID
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 2'
J=$(nl_submit "$(nl_ledger_body 4 ',"gpus":4')")
nl_wait "/v1/jobs/$J" '.job.state == "RUNNING"'

# An agent that must be refused: run it in the foreground with a bound on its life.
refused() {
    _dir=$1
    shift
    _out=$(NL_TEST_TAG="$NL_TMP" timeout 60 "$NORDLYS_AGENT" --controller "$NL_URL" \
        --state-dir "$NL_TMP/$_dir" --cgroup-root none --token-file "$NL_TMP/agent.token" "$@" 2>&1)
    _rc=$?
    [ "$_rc" = 1 ] || nl_fail "agent $* exited $_rc, expected 1 (refused): $_out"
    printf '%s\n' "$_out" | grep -q "register refused by the controller" ||
        nl_fail "agent $* does not say it was refused: $_out"
    REFUSAL=$(printf '%s\n' "$_out" | grep "register refused by the controller")
}

refused agent-twin --agent-name a0 --nodes "$N2"
printf '%s\n' "$REFUSAL" | grep -q "a0" || nl_fail "the refusal does not name a0: $REFUSAL"
echo "same name refused: $REFUSAL"

refused agent-b0 --agent-name b0 --nodes "$N1,$N2"
printf '%s\n' "$REFUSAL" | grep -q "$N1" || nl_fail "the refusal does not name node $N1: $REFUSAL"
echo "overlapping node refused: $REFUSAL"

kill -0 "$A0" 2>/dev/null || nl_fail "agent a0 died"
nl_http GET "/v1/nodes?state=up"
nl_expect 200 "(.nodes | length) == 2 and all(.nodes[]; .agent == \"a0\")"
nl_wait "/v1/jobs/$J" '.job.state == "COMPLETED" and .job.run == 1' 60
[ "$(nl_ledger_starts "$J")" = 1 ] || nl_fail "job $J started $(nl_ledger_starts "$J") times"
nl_ledger_check

nl_agent_start b1 --nodes "$N2,$N3"
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4'
echo "agent_duplicate: ok"
