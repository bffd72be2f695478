#!/bin/sh
# gate_restart: a controller killed (SIGKILL) and restarted while an array
# runs under its limit, dependents wait on it and on a held job, and a
# 100,000-task array waits held (issue 12). Nothing the gate keeps is lost
# or made twice: every index of the array runs exactly once (but one
# cancelled before its turn, which is skipped after the restart), the array has
# exactly one task row per index, the dependents run once their
# dependencies are met, the held job is still held, and the large array is
# still the two rows it was (no task made) until it is cancelled. Last, an
# array makes no task beyond its tenant's queue bound (--tenant-queue-max).
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/jobs.sh"
nl_tmpdir
S=$NL_TMP/state
ARGS="--sched-interval-ms 10 --sync-interval-ms 50"
nl_ctld_start "$S" $ARGS
PORT=$NL_PORT
nl_agents_start 2
C=$NORDLYS_CLI
NL_WAIT_STATE_S=90
# Tasks 0..5 run through; from 6 on each waits for the file "go", made after
# the restart: the kill lands mid-run however fast or slow the machine is.
cat >"$NL_TMP/t.sh" <<EOT
#!/bin/sh
echo "\$NORDLYS_ARRAY_TASK_ID" >>"$NL_TMP/ledger"
[ "\$NORDLYS_ARRAY_TASK_ID" -lt 6 ] && exit 0
while [ ! -e "$NL_TMP/go" ]; do sleep 0.05; done
EOT

X=$(sub --hold -- true)
W=$(sub --dependency "afterok:$X" -- true)
Y=$(sub --array 0-19%2 -- sh "$NL_TMP/t.sh")
Z=$(sub --dependency "afterany:$Y" -- sh -c "wc -l <$NL_TMP/ledger >$NL_TMP/z-saw")
BIG=$(sub --hold --array 0-99999%50 -- true)
# Mid-run: tasks 0..5 done, 6 and 7 running (waiting for "go"), 8..19 still to make.
nl_wait "/v1/jobs/$Y" '.job.array.made == 8 and .job.array.live == 2' 90
# Its last task cancelled before its turn: made (CANCELLED) now, to be skipped after the restart.
$C cancel "${Y}_19" >/dev/null || nl_fail "cancel ${Y}_19"
nl_ctld_kill9
nl_ctld_start "$S" --listen "127.0.0.1:$PORT" $ARGS
grep -q "gate: reloaded 4 held or waiting jobs and 2 live arrays" "$S/ctld.log" ||
    nl_fail "the restart did not reload the gate's jobs: $(grep gate: "$S/ctld.log")"
touch "$NL_TMP/go"

wait_state "$Y" CANCELLED
nl_expect 200 '(.job.exit_reason | contains("array: 19 completed, 0 failed, 1 cancelled, 0 never made"))'
wait_state "$Z" COMPLETED
[ "$(tr -d ' ' <"$NL_TMP/z-saw")" = 19 ] || nl_fail "afterany:$Y ran after $(cat "$NL_TMP/z-saw") of 19 task runs"
# Each index ran once (19 never), and was made once.
[ "$(sort -n "$NL_TMP/ledger" | uniq -d)" = "" ] || nl_fail "indexes ran twice: $(sort -n "$NL_TMP/ledger" | uniq -d)"
[ "$(sort -n "$NL_TMP/ledger" | uniq | paste -sd, -)" = "$(seq -s, 0 18)" ] ||
    nl_fail "not indexes 0..18: $(sort -n "$NL_TMP/ledger" | paste -sd, -)"
nl_http GET "/v1/jobs?limit=100000"
nl_expect 200
[ "$(nl_json "[.jobs[] | select(.array_job_id == $Y and .id != $Y) | .array_task_id] | (length == 20 and (unique | length) == 20)")" = true ] ||
    nl_fail "array $Y has not exactly one task row per index: $(nl_json "[.jobs[] | select(.array_job_id == $Y) | .array_task_id]")"
nl_http GET "/v1/jobs/$Y"
nl_expect 200 '.job.array.made == 20'

# The held job and its dependent are as they were.
nl_http GET "/v1/jobs/$X"
nl_expect 200 '.job.state == "PENDING" and .job.reason == "Held"'
nl_http GET "/v1/jobs/$W"
nl_expect 200 '.job.state == "PENDING" and .job.reason == "Dependency"'
# The large held array made nothing, before or after the restart.
nl_http GET "/v1/jobs/$BIG"
nl_expect 200 '.job.reason == "Held" and .job.array.count == 100000 and .job.array.made == 0'
nl_cli queue
printf '%s\n' "$NL_OUT" | grep -Eq "^ *${BIG}_\[0-99999%50\] .* \(Held\)" || nl_fail "queue: $NL_OUT"
$C release "$X" >/dev/null || nl_fail "release $X"
wait_state "$W" COMPLETED
$C cancel "$BIG" >/dev/null || nl_fail "cancel $BIG"
wait_state "$BIG" CANCELLED
nl_http GET "/v1/jobs?limit=100000"
[ "$(nl_json "[.jobs[] | select(.array_job_id == $BIG and .id != $BIG)] | length")" = 0 ] ||
    nl_fail "the cancelled held array made tasks"

# A clean restart with nothing gated left: the gate reloads nothing, and the ended stay ended.
nl_ctld_stop
nl_ctld_start "$S" --listen "127.0.0.1:$PORT" $ARGS
nl_http GET "/v1/jobs/$Y"
nl_expect 200 '.job.state == "CANCELLED" and .job.array.made == 20'

# The tenant's queue bound holds for an array's tasks: with --tenant-queue-max 3 and tasks
# that each need the whole facility, one runs and 3 wait; the rest are not made.
nl_ctld_stop
nl_ctld_start "$S" --listen "127.0.0.1:$PORT" $ARGS --tenant-queue-max 3
nl_wait "/v1/nodes?state=up&limit=100" '(.nodes | length) == 4'
Q=$(sub --array 0-9 --gpus 16 -- sleep 600)
nl_wait "/v1/jobs/$Q" '.job.array.made >= 4 and .job.array.live == 4'
nl_http POST /v1/jobs '{"command":["true"]}'
nl_expect 429 '.error.code == "queue_full"'
nl_http GET "/v1/jobs/$Q"
nl_expect 200 '.job.array.made == 4'
$C cancel "$Q" >/dev/null || nl_fail "cancel $Q"
wait_state "$Q" CANCELLED
echo "gate_restart: ok"
