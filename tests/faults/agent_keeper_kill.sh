#!/bin/sh
# SPDX-License-Identifier: MIT
# agent_keeper_kill (issue 9): the agent and its keepers die together (as
# when the whole service is killed), so nothing kills the jobs at once:
# their first processes die by PDEATHSIG, but what they started lives on
# as orphans. The agent restarted on the same state directory must find
# and kill those from its run records before it registers, so that the
# requeued runs never overlap them.
# Each job is a wrapper shell that starts a ledger job in the background
# and waits: run 1's ledger job sleeps 600 s (it would far outlive the
# restart), later runs 2 s.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/ledger.sh"
nl_ledger_facility
body() {
    printf '{"name":"orphaning","gpus":4,"requeue":true,"command":["sh","-c","S=600; [ \\"$NORDLYS_RUN\\" -ge 2 ] && S=2; sh %s %s $S & wait"]}' \
        "$NL_TEST_LIB/ledger-job.sh" "$LEDGER"
}
# Children of pid $1, one a line.
children() {
    for _s in /proc/[0-9]*/stat; do
        { read -r _pid _comm _st _ppid _rest <"$_s"; } 2>/dev/null || continue
        [ "$_ppid" = "$1" ] && echo "$_pid"
    done
    return 0
}

nl_agent_start a0 --nodes "$NODES"
A0=$NL_AGENT_PID
nl_wait "/v1/nodes?state=up" "(.nodes | length) == $NNODES"
J1=$(nl_submit "$(body)")
J2=$(nl_submit "$(body)")
_deadline=$(($(date +%s) + 60))
until [ "$(nl_ledger_alive | wc -l)" -eq 2 ]; do
    [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "the 2 ledger jobs did not start: $(cat "$LEDGER")"
    sleep 0.05
done
# The scenario is two recorded runs. Each keeper writes its record before it
# starts the job (and again with the job's pid), so they are there by now;
# the step between the two writes is keeper_window's.
until [ "$(ls "$NL_TMP/agent-a0/runs" | wc -l)" -eq 2 ]; do
    [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "expected 2 run records: $(ls "$NL_TMP/agent-a0/runs")"
    sleep 0.05
done

# The agent is frozen so that it cannot react, its keepers are killed, then the agent.
kill -STOP "$A0"
KEEPERS=$(children "$A0")
[ "$(printf '%s\n' $KEEPERS | wc -l)" -eq 2 ] || nl_fail "expected 2 keepers under agent $A0, found: $KEEPERS"
kill -9 $KEEPERS
kill -9 "$A0"
wait "$A0" 2>/dev/null
_deadline=$(($(date +%s) + 60))
for _k in $KEEPERS; do
    while [ -n "$(children "$_k")" ] && kill -0 "$_k" 2>/dev/null && [ "$(cut -d' ' -f3 /proc/"$_k"/stat 2>/dev/null)" != Z ]; do
        [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "keeper $_k did not die"
        sleep 0.05
    done
done
ORPHANS=$(nl_ledger_alive | paste -sd' ' -)
[ "$(nl_ledger_alive | wc -l)" -eq 2 ] ||
    nl_fail "expected the 2 ledger jobs to outlive agent and keepers (the scenario), alive: $ORPHANS"
echo "orphans after agent and keepers died: $ORPHANS"

nl_agent_start a0 --nodes "$NODES"
A0B=$NL_AGENT_PID
_deadline=$(($(date +%s) + 60))
until grep -q "swept 2 runs left by a previous agent" "$NL_TMP/agent-a0.log"; do
    kill -0 "$A0B" 2>/dev/null || nl_fail "the restarted agent exited"
    [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "the restarted agent did not sweep 2 runs"
    sleep 0.05
done
echo "ledger jobs alive when the sweep was seen (requeued runs may have started): $(nl_ledger_alive | paste -sd' ' -); ledger: $(paste -sd';' "$LEDGER")"
# The orphans by their pids: once the sweep is done the agent registers and
# the requeued runs start at once, so "any ledger job alive" would count them.
for _p in $ORPHANS; do
    if kill -0 "$_p" 2>/dev/null && tr '\0' ' ' </proc/"$_p"/cmdline 2>/dev/null | grep -q ledger-job; then
        nl_fail "orphan $_p alive after the sweep ($(tr '\0' ' ' </proc/"$_p"/cmdline); ledger: $(paste -sd';' "$LEDGER"))"
    fi
done
[ "$(grep -c "leftover run job=.*: killed" "$NL_TMP/agent-a0.log")" -eq 2 ] ||
    nl_fail "the sweep did not report killing both runs: $(grep 'leftover run' "$NL_TMP/agent-a0.log")"

for _j in $J1 $J2; do
    nl_wait "/v1/jobs/$_j" '.job.state == "COMPLETED" and .job.exit_code == 0 and .job.run >= 2' 90
done
nl_ledger_check
echo "agent_keeper_kill: ok"
