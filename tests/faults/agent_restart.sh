#!/bin/sh
# SPDX-License-Identifier: MIT
# agent_restart (issue 9): an agent SIGKILLed while its jobs run takes
# them with it, and its restart on the same state directory never lets a
# run execute twice at once.
# 1. One agent runs four ledger jobs (asked for requeue), one per node.
# 2. The agent is SIGKILLed. Its jobs' processes must go with it (the
#    per-run keeper kills them), without any help from the controller.
# 3. The agent comes back on the same state directory: it sweeps the runs
#    its predecessor recorded before it registers; a second agent on that
#    directory is refused, naming the holder's pid.
# 4. Every job is requeued and completes; no two runs of a job overlapped
#    (the ledger), and the run records are gone once the ends are reported.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/ledger.sh"
nl_ledger_facility
STATE="$NL_TMP/agent-a0"

# ---- 1. four jobs run under agent a0 ----
nl_agent_start a0 --nodes "$NODES"
A0=$NL_AGENT_PID
nl_wait "/v1/nodes?state=up" "(.nodes | length) == $NNODES"
# Run 1 outlives anything the test waits for (it dies with its agent); the
# requeued runs take 2 s. A run 1 that ended on its own before the kill would
# leave nothing to sweep (and, before all four had started, the count below
# would never reach 4).
body() {
    printf '{"name":"ledger","gpus":4,"requeue":true,"command":["sh","-c","S=600; [ \\"$NORDLYS_RUN\\" -ge 2 ] && S=2; exec sh %s %s $S"]}' \
        "$NL_TEST_LIB/ledger-job.sh" "$LEDGER"
}
JOBS=""
for _k in 1 2 3 4; do
    JOBS="$JOBS $(nl_submit "$(body)")"
done
nl_wait "/v1/jobs?state=RUNNING" '(.jobs | length) == 4'
# Running in the controller's eyes is not yet running in the ledger's: wait for the starts.
_deadline=$(($(date +%s) + 60))
until [ "$(nl_ledger_alive | wc -l)" -eq 4 ]; do
    [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "the 4 ledger jobs did not start: $(cat "$LEDGER")"
    sleep 0.05
done
until [ "$(ls "$STATE/runs" | wc -l)" -eq 4 ]; do
    [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "expected 4 run records in $STATE/runs: $(ls "$STATE/runs")"
    sleep 0.05
done

# ---- 2. SIGKILL: the jobs die with their agent ----
kill -9 "$A0"
wait "$A0" 2>/dev/null
_deadline=$(($(date +%s) + 60))
while [ -n "$(nl_ledger_alive)" ]; do
    [ "$(date +%s)" -lt "$_deadline" ] ||
        nl_fail "jobs outlived their SIGKILLed agent by 60 s: pids $(nl_ledger_alive | paste -sd' ' -)"
    sleep 0.05
done
echo "the jobs died with their agent"

# ---- 3. restart on the same state directory; a second agent there is refused ----
nl_agent_start a0 --nodes "$NODES"
A0B=$NL_AGENT_PID
_deadline=$(($(date +%s) + 60))
until grep -q "registered $NNODES nodes" "$NL_TMP/agent-a0.log" 2>/dev/null &&
    [ "$(grep -c "registered $NNODES nodes" "$NL_TMP/agent-a0.log")" -ge 2 ]; do
    kill -0 "$A0B" 2>/dev/null || nl_fail "the restarted agent exited"
    [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "the restarted agent did not register"
    sleep 0.05
done
grep -q "leftover run job=" "$NL_TMP/agent-a0.log" || nl_fail "the restarted agent did not sweep its predecessor's runs"
_out=$(NL_TEST_TAG="$NL_TMP" "$NORDLYS_AGENT" --controller "$NL_URL" --state-dir "$STATE" \
    --agent-name a0-twin --nodes "$NODES" --cgroup-root none 2>&1)
_rc=$?
[ "$_rc" = 1 ] || nl_fail "a second agent on $STATE exited $_rc, expected 1: $_out"
printf '%s\n' "$_out" | grep -q "in use by another nordlys-agent (pid $A0B holds" ||
    nl_fail "the second agent's refusal does not name the holder pid $A0B: $_out"

# ---- 4. every job completes; no run overlapped another of its job ----
for _j in $JOBS; do
    nl_wait "/v1/jobs/$_j" '.job.state == "COMPLETED" and .job.exit_code == 0' 90
done
nl_ledger_check
_deadline=$(($(date +%s) + 60))
until [ -z "$(ls "$STATE/runs")" ]; do
    [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "run records left after every end was reported: $(ls "$STATE/runs")"
    sleep 0.05
done
echo "agent_restart: ok"
