#!/bin/sh
# gate_array: a 1,000-task job array with a limit of 10 tasks running at
# once, through the CLI against nordlysd and two real agents (issue 12).
#
# Every task is a real process that counts itself in and out of a shared
# counter under flock, so the most tasks ever inside their bodies at once
# is measured by the tasks themselves; the controller's own running count
# is sampled over the whole run too. Checks: neither ever exceeds 10 (and
# the tasks did overlap: the limit, not chance, is what bounded them);
# every index 0..999 ran exactly once with NORDLYS_ARRAY_TASK_ID,
# SLURM_ARRAY_TASK_ID and NORDLYS_ARRAY_JOB_ID right; queue shows the
# pending array compactly (ID_[N-999%10]); show ID_INDEX finds a task;
# the array job ends COMPLETED with its counts. Then a small array is
# cancelled as a whole mid-run, a task of another one alone, and a task of
# a third before the array has made it (skipped when its turn comes).
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 50
nl_agents_start 2
C=$NORDLYS_CLI
W=$NL_TMP/witness
mkdir -p "$W"
echo 0 >"$W/count"
: >"$W/peaks"
: >"$W/ids"
cat >"$NL_TMP/task.sh" <<EOT
#!/bin/sh
flock "$W/lock" sh -c 'n=\$((\$(cat "$W/count") + 1)); echo \$n >"$W/count"; echo \$n >>"$W/peaks"'
flock "$W/lock" sh -c 'echo "\$NORDLYS_ARRAY_JOB_ID \$NORDLYS_ARRAY_TASK_ID \$SLURM_ARRAY_TASK_ID \$NORDLYS_ARRAY_TASK_COUNT" >>"$W/ids"'
sleep 0.05
flock "$W/lock" sh -c 'echo \$((\$(cat "$W/count") - 1)) >"$W/count"'
EOT

nl_cli submit --array 0-999%10 --name big -- sh "$NL_TMP/task.sh"
[ "$NL_RC" = 0 ] || nl_fail "submit --array: rc $NL_RC: $NL_ERR"
A=$(printf '%s\n' "$NL_OUT" | sed -n 's/^submitted array job \([0-9]*\).*/\1/p')
[ -n "$A" ] || nl_fail "submit --array printed no array job id: $NL_OUT"

# While it runs: the compact queue line, and the controller's running count, sampled.
saw_compact=0
max_running=0
# The deadline follows progress: 1,000 real tasks take as long as the machine
# makes them; the array must only never stop making tasks for 120 s.
made=-1
deadline=0
while :; do
    nl_http GET "/v1/jobs/$A"
    nl_expect 200
    [ "$(nl_json .job.state)" = PENDING ] || break
    m=$(nl_json .job.array.made)
    if [ "$m" -gt "$made" ]; then
        made=$m
        deadline=$(($(date +%s) + 120))
    fi
    nl_http GET "/v1/jobs?state=RUNNING&limit=100000"
    nl_expect 200
    r=$(nl_json "[.jobs[] | select(.array_job_id == $A)] | length")
    [ "$r" -le 10 ] || nl_fail "the controller runs $r tasks of array $A at once, limit 10: $NL_BODY"
    [ "$r" -gt "$max_running" ] && max_running=$r
    if [ $saw_compact = 0 ]; then
        nl_cli queue
        printf '%s\n' "$NL_OUT" | grep -Eq "^ *${A}_\[[0-9]+-999%10\] +big +[a-z-]+ +PENDING " && saw_compact=1
    fi
    [ "$(date +%s)" -lt "$deadline" ] || nl_fail "array $A made no task for 120 s (made $made)"
    sleep 0.2
done
[ "$(nl_json .job.state)" = COMPLETED ] || nl_fail "array $A ended $(nl_json .job.state): $NL_BODY"
nl_expect 200 '.job.array.count == 1000 and .job.array.made == 1000 and .job.array_job_id == '"$A"
[ $saw_compact = 1 ] || nl_fail "queue never showed the pending array as ${A}_[N-999%10]"
[ "$max_running" -ge 2 ] || nl_fail "the controller never ran 2 tasks at once (max $max_running)"

# The tasks' own witness: at most 10 inside their bodies at once, and more than one.
peak=$(sort -n "$W/peaks" | tail -n 1)
[ "$peak" -le 10 ] || nl_fail "$peak tasks ran at once, limit 10"
[ "$peak" -ge 2 ] || nl_fail "tasks never overlapped (peak $peak): the limit was not what bounded them"
[ "$(cat "$W/count")" = 0 ] || nl_fail "witness count $(cat "$W/count") after the run"
# Every index once, with the right variables.
[ "$(wc -l <"$W/ids")" = 1000 ] || nl_fail "$(wc -l <"$W/ids") task runs, expected 1000"
bad=$(awk -v a="$A" '$1 != a || $2 != $3 || $4 != 1000' "$W/ids" | head -3)
[ -z "$bad" ] || nl_fail "tasks with wrong array variables: $bad"
[ "$(awk '{ print $2 }' "$W/ids" | sort -n | uniq | wc -l)" = 1000 ] ||
    nl_fail "some index ran twice or not at all"
[ "$(awk '{ print $2 }' "$W/ids" | sort -n | sed -n '1p;$p' | paste -sd, -)" = "0,999" ] ||
    nl_fail "indexes are not 0..999"
echo "1,000 tasks: peak $peak in the tasks, $max_running sampled by the controller (limit 10)"

# show ID_INDEX: a task, with its own id and its array's.
nl_cli show "${A}_500" --json
[ "$NL_RC" = 0 ] || nl_fail "show ${A}_500: $NL_ERR"
[ "$(printf '%s' "$NL_OUT" | jq -r '.job.array_job_id == '"$A"' and .job.array_task_id == 500 and .job.state == "COMPLETED" and .job.id != '"$A")" = true ] ||
    nl_fail "show ${A}_500: $NL_OUT"
nl_cli show "${A}_1000"
[ "$NL_RC" = 1 ] || nl_fail "show of index 1000 (not in the array): rc $NL_RC"
printf '%s\n' "$NL_ERR" | grep -q "no such array task" || nl_fail "show ${A}_1000: $NL_ERR"
nl_cli show "${A}_x"
[ "$NL_RC" = 2 ] || nl_fail "show ${A}_x: rc $NL_RC, expected a usage error"

# ---- cancel a whole array mid-run: running tasks killed, the rest never made ----
B=$($C submit --parsable --array 0-99%2 -- sleep 600) || nl_fail "submit array B"
nl_wait "/v1/jobs?state=RUNNING&limit=1000" "[.jobs[] | select(.array_job_id == $B)] | length == 2"
nl_cli cancel "$B"
[ "$NL_RC" = 0 ] || nl_fail "cancel array $B: $NL_ERR"
nl_wait "/v1/jobs/$B" '.job.state == "CANCELLED" and .job.array.made == 2 and .job.array.cancelled'
nl_http GET "/v1/jobs?limit=1000"
nl_expect 200 "[.jobs[] | select(.array_job_id == $B and .id != $B)] | length == 2 and all(.state == \"CANCELLED\")"
nl_cli queue
printf '%s\n' "$NL_OUT" | grep -q "^ *${B}_" && nl_fail "queue still shows array $B: $NL_OUT"

# ---- one task alone: the others run on ----
D=$($C submit --parsable --array 0-2 -- sleep 600) || nl_fail "submit array D"
nl_wait "/v1/jobs?state=RUNNING&limit=1000" "[.jobs[] | select(.array_job_id == $D)] | length == 3"
nl_cli cancel "${D}_1"
[ "$NL_RC" = 0 ] || nl_fail "cancel ${D}_1: $NL_ERR"
nl_wait "/v1/jobs/$D/tasks?index=1" '.job.state == "CANCELLED"'
nl_http GET "/v1/jobs/$D/tasks?index=0"
nl_expect 200 '.job.state == "RUNNING"'
nl_cli cancel "$D"
nl_wait "/v1/jobs/$D" '.job.state == "CANCELLED" and .job.array.cancelled_tasks == null'
# ---- a task cancelled before its array made it: made CANCELLED now, skipped later ----
E=$($C submit --parsable --hold --array 0-5%2 -- true) || nl_fail "submit array E"
nl_cli cancel "${E}_4"
[ "$NL_RC" = 0 ] || nl_fail "cancel ${E}_4 (not made yet): $NL_ERR"
printf '%s\n' "$NL_OUT" | grep -q "^cancelled job ${E}_4$" || nl_fail "cancel ${E}_4: $NL_OUT"
nl_http GET "/v1/jobs/$E/tasks?index=4"
nl_expect 200 '.job.state == "CANCELLED" and .job.exit_reason == "cancelled before its array made it"'
nl_cli cancel "${E}_4"
[ "$NL_RC" = 1 ] || nl_fail "second cancel of ${E}_4: rc $NL_RC"
nl_cli cancel "${E}_9"
[ "$NL_RC" = 1 ] || nl_fail "cancel of an index not in the array: rc $NL_RC"
$C release "$E" >/dev/null || nl_fail "release $E"
nl_wait "/v1/jobs/$E" '.job.state == "CANCELLED"'
nl_expect 200 '(.job.exit_reason | contains("array: 5 completed, 0 failed, 1 cancelled, 0 never made"))'
nl_http GET "/v1/jobs?limit=1000"
[ "$(nl_json "[.jobs[] | select(.array_job_id == $E and .id != $E) | .array_task_id] | sort == [0,1,2,3,4,5]")" = true ] ||
    nl_fail "array $E's task rows: $(nl_json "[.jobs[] | select(.array_job_id == $E) | .array_task_id]")"
# ---- output patterns in an array: %j the task's own id, %A the array's, %a the index ----
F=$($C submit --parsable --array 1,3 --output "$NL_TMP/pat-%A-%a-%j.out" -- sh -c 'echo "$NORDLYS_JOB_ID"') ||
    nl_fail "submit array F"
nl_wait "/v1/jobs/$F" '.job.state == "COMPLETED"'
for i in 1 3; do
    nl_http GET "/v1/jobs/$F/tasks?index=$i"
    nl_expect 200
    T=$(nl_json .job.id)
    [ "$T" != "$F" ] || nl_fail "task $i has its array's id $F"
    f="$NL_TMP/pat-$F-$i-$T.out"
    [ -f "$f" ] || nl_fail "task $i (job $T): no $f; have: $(ls "$NL_TMP" | grep pat-)"
    [ "$(cat "$f")" = "$T" ] || nl_fail "$f holds '$(cat "$f")', expected the task's id $T"
done
echo "gate_array: ok"
