#!/bin/sh
# preempt: reclaiming guaranteed quota, with real processes. On the dev
# facility (16 GPUs, two real agents), a regional tenant (uk: quota 0) borrows
# all 16 GPUs with a job that traps SIGTERM and carries on. A sovereign job
# inside its tenant's quota (nor-research: 4 GPUs) arrives. Then:
# - the borrowed job is PREEMPTING, its processes get SIGTERM (they log it),
#   and SIGKILL once its 2 s grace is over, not before;
# - it is requeued (PENDING, preemptions 1) and the sovereign job runs;
# - once the sovereign job is done the borrowed job runs again (run 2) and
#   completes.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100
nl_agents_start 2

LOG="$NL_TMP/borrowed.log"
# Run 1 logs its start and every SIGTERM, and ignores them; run 2 just ends.
BORROWED=$(cat <<EOF
{"name":"borrowed","tenant":"uk","gpus":16,"grace_s":2,"preemptible":true,"command":["sh","-c",
 "echo \"start \$NORDLYS_RUN \$NODE_RANK \$\$\" >> $LOG; [ \"\$NORDLYS_RUN\" -ge 2 ] && exit 0; trap 'echo \"term \$NORDLYS_RUN \$NODE_RANK\" >> $LOG' TERM; while :; do sleep 0.2; done"]}
EOF
)
B=$(nl_submit "$BORROWED")
nl_wait "/v1/jobs/$B" '.job.state == "RUNNING" and .job.borrowed == true and (.job.nodes | length) == 4'
# All four ranks have started before the reclaim comes.
nl_wait_until '[ "$(nl_count "$LOG" "^start 1 ")" = 4 ]' 60 "the borrowed job's 4 ranks to start"

nl_http GET /v1/tenants
nl_expect 200 '.tenants[] | select(.name == "uk") | .gpus_borrowed == 16'

S=$(nl_submit "{\"name\":\"sovereign\",\"tenant\":\"nor-research\",\"gpus\":4,\"command\":[\"sh\",\"-c\",\"echo sovereign \$NORDLYS_JOB_ID > $NL_TMP/sovereign.out\"]}")
nl_wait "/v1/jobs/$B" '.job.state == "PREEMPTING"' 60
# SIGTERM reached every rank; the job ignores it and is still there until the grace ends.
nl_wait_until '[ "$(nl_count "$LOG" "^term 1 ")" -ge 4 ]' 60 "SIGTERM to reach the borrowed job's 4 ranks"

# The sovereign job waits for the reclaimed GPUs; on a fast machine it may
# already have run by now, so only a failure is wrong here (the timing of
# preemption against requeue is checked from the log below).
nl_http GET "/v1/jobs/$S"
nl_expect 200 '.job.state == "PENDING" or .job.state == "RUNNING" or .job.state == "COMPLETED"'
# Requeued (it may be running again at once: the sovereign job is small).
nl_wait "/v1/jobs/$B" '.job.preemptions == 1 and .job.state != "PREEMPTING"' 60
# From the preemption to the requeue took the whole grace: the job ignored SIGTERM.
# ms WHAT: the time of the log line, in ms since the epoch (the whole stamp: a run across midnight too).
ms() {
    _l=$(grep "job=$B $1" "$NL_LOG" | head -1)
    [ -n "$_l" ] && date -d "${_l%% *}" +%s%3N
}
T_PRE=$(ms preempted)
T_REQ=$(ms "requeued (preempted)")
[ -n "$T_PRE" ] && [ -n "$T_REQ" ] || nl_fail "no preemption and requeue of $B in the log"
[ $((T_REQ - T_PRE)) -ge 2000 ] || nl_fail "job $B was requeued $((T_REQ - T_PRE)) ms after its preemption, within its 2 s grace"
for l in "$NL_TMP"/agent-a*.log; do
    grep -q "job=$B run=1 .*kill (grace 2 s, preempt)" "$l" || nl_fail "$(basename "$l"): no preempt kill with grace 2 s"
    grep -q "job=$B run=1 .*grace over, SIGKILL" "$l" || nl_fail "$(basename "$l"): no SIGKILL after the grace"
done
[ "$(grep -c "job=$B run=1 .*ended: exit_code=137 signal=9" "$NL_TMP"/agent-a*.log | awk -F: '{ s += $NF } END { print s }')" = 4 ] ||
    nl_fail "the borrowed job's 4 ranks did not all die of SIGKILL"
for pid in $(awk '$1 == "start" && $2 == 1 { print $4 }' "$LOG"); do
    kill -0 "$pid" 2>/dev/null && nl_fail "a preempted process ($pid) is still alive"
done

# The sovereign job runs and completes; then the borrowed job runs again.
nl_wait "/v1/jobs/$S" '.job.state == "COMPLETED" and .job.exit_code == 0' 60
grep -qx "sovereign $S" "$NL_TMP/sovereign.out" || nl_fail "the sovereign job did not run"
nl_wait "/v1/jobs/$B" '.job.state == "COMPLETED" and .job.run == 2 and .job.preemptions == 1' 60
[ "$(grep -c '^start 2 ' "$LOG")" = 4 ] || nl_fail "run 2 of the borrowed job: $(cat "$LOG")"
nl_http GET /v1/tenants
nl_expect 200 'all(.tenants[]; .gpus_alloc == 0)'
echo "preempt: ok"
