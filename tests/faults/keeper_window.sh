#!/bin/sh
# SPDX-License-Identifier: MIT
# keeper_window (issue 9's last window): the agent and a run's keeper are
# SIGKILLed together at the two steps around the job's start where no run
# record used to exist (the agent wrote it only once the keeper had
# reported the job's pid, so what the job started by then was found by no
# sweep):
#   A: the keeper has written the record and not yet started the job;
#   B: the job runs (its ledger job too, in a session of its own: out of
#      the job's process group and, once the keeper is dead, below nobody),
#      and the record does not name its pid yet.
# The keeper stops at each step by the test builds' hold (launch.c: the
# agent's NL_TEST_KEEPER_HOLD_DIR and the job's NL_TEST_HOLD), so the kills
# follow progress, not the clock. The restarted agent must sweep both
# records before it registers: A as never started, B by killing the orphan
# through the run's key (NORDLYS_RUN_KEY; the test agents have no cgroups).
# Then both jobs complete after their requeue: A's ledger job started once,
# B's twice, and no two runs of a job were ever alive together.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/ledger.sh"
nl_ledger_facility
HOLD="$NL_TMP/hold"
mkdir "$HOLD"
RUNS="$NL_TMP/agent-a0/runs"
LOG="$NL_TMP/agent-a0.log"

# Run 1 of B sleeps 600 s (it would far outlive the restart), later runs 2 s.
body_a() {
    printf '{"name":"window-a","gpus":4,"requeue":true,"env":{"NL_TEST_HOLD":"before-exec"},"command":["sh","%s","%s","2"]}' \
        "$NL_TEST_LIB/ledger-job.sh" "$LEDGER"
}
body_b() {
    printf '{"name":"window-b","gpus":4,"requeue":true,"env":{"NL_TEST_HOLD":"after-exec"},"command":["sh","-c","S=600; [ \\"$NORDLYS_RUN\\" -ge 2 ] && S=2; setsid sh %s %s $S & wait"]}' \
        "$NL_TEST_LIB/ledger-job.sh" "$LEDGER"
}
# The pid of the keeper held at step $1 (its file HOLD/STEP.PID), or nothing.
held() {
    for _f in "$HOLD/$1".*; do
        case "$_f" in *.tmp | *'*'*) continue ;; esac
        echo "${_f##*.}"
    done
    return 0
}
# A process that is gone or a zombie (dead, not yet reaped by its new parent).
dead() {
    ! kill -0 "$1" 2>/dev/null || [ "$(cut -d' ' -f3 /proc/"$1"/stat 2>/dev/null)" = Z ] ||
        [ ! -e /proc/"$1"/stat ]
}

export NL_TEST_KEEPER_HOLD_DIR="$HOLD"
nl_agent_start a0 --nodes "$NODES"
unset NL_TEST_KEEPER_HOLD_DIR
A0=$NL_AGENT_PID
nl_wait "/v1/nodes?state=up" "(.nodes | length) == $NNODES"
JA=$(nl_submit "$(body_a)")
JB=$(nl_submit "$(body_b)")
nl_wait_until '[ -n "$(held before-exec)" ] && [ -n "$(held after-exec)" ]' 60 \
    "both keepers at their hold (files: $(ls "$HOLD"))"
nl_wait_until '[ "$(nl_ledger_alive | wc -l)" -eq 1 ]' 60 "B's ledger job to start"
KA=$(held before-exec)
KB=$(held after-exec)
ORPHAN=$(nl_ledger_alive)
# The window itself: both records are there, and neither names a pid.
for _r in "$JA.1" "$JB.1"; do
    _f=$(ls "$RUNS" | grep "^$_r\\.") || nl_fail "no run record $_r.* in $RUNS: $(ls "$RUNS")"
    grep -qx 'pid=0' "$RUNS/$_f" || nl_fail "record $_f names a pid already: $(cat "$RUNS/$_f")"
done
[ "$(nl_ledger_starts "$JA")" -eq 0 ] || nl_fail "job A started before its keeper was let go"

# The agent is frozen so that it cannot react, its two keepers are killed, then the agent.
kill -STOP "$A0"
kill -9 "$KA" "$KB"
kill -9 "$A0"
wait "$A0" 2>/dev/null
nl_wait_until 'dead "$KA" && dead "$KB"' 60 "keepers $KA and $KB to die"
dead "$ORPHAN" && nl_fail "B's ledger job $ORPHAN died with its keeper: not the scenario"
echo "orphan after agent and keepers died: $ORPHAN"

nl_agent_start a0 --nodes "$NODES"
A0B=$NL_AGENT_PID
nl_wait_until 'grep -q "swept 2 runs left by a previous agent" "$LOG" || ! kill -0 "$A0B" 2>/dev/null' 60 \
    "the restarted agent to sweep 2 runs"
kill -0 "$A0B" 2>/dev/null || nl_fail "the restarted agent exited"
# By pid: once the sweep is done the requeued runs start at once.
if kill -0 "$ORPHAN" 2>/dev/null && tr '\0' ' ' </proc/"$ORPHAN"/cmdline 2>/dev/null | grep -q ledger-job &&
    ! dead "$ORPHAN"; then
    nl_fail "orphan $ORPHAN alive after the sweep (ledger: $(paste -sd';' "$LEDGER"))"
fi
grep -q "leftover run job=$JA run=1 .*never started" "$LOG" ||
    nl_fail "the sweep did not report job $JA's run as never started: $(grep 'leftover run' "$LOG")"
grep -q "leftover run job=$JB run=1 .*killed .*by its key" "$LOG" ||
    nl_fail "the sweep did not report killing job $JB's run by its key: $(grep 'leftover run' "$LOG")"

for _j in $JA $JB; do
    nl_wait "/v1/jobs/$_j" '.job.state == "COMPLETED" and .job.exit_code == 0 and .job.run >= 2' 90
done
nl_ledger_check
[ "$(nl_ledger_starts "$JA")" -eq 1 ] || nl_fail "job A started $(nl_ledger_starts "$JA") times, expected once"
[ "$(nl_ledger_starts "$JB")" -eq 2 ] || nl_fail "job B started $(nl_ledger_starts "$JB") times, expected twice"
nl_wait_until '[ -z "$(ls "$RUNS")" ]' 60 "the run records to be removed (left: $(ls "$RUNS"))"
echo "keeper_window: ok"
