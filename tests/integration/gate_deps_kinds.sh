#!/bin/sh
# gate_deps_kinds: the dependency kinds beyond gate_deps' (issue 12), through
# the CLI against nordlysd and two real agents, as Slurm reads them:
# - '?' (any of): afterok:F?afterok:Z runs once Z completes though F
#   failed, and afterok:Z?afterok:W while W still runs; when no condition
#   can be met any more the job is PENDING DependencyNeverSatisfied under
#   --keep-invalid-depend, and CANCELLED with the reason after a restart
#   without it; ',' and '?' mixed are refused;
# - after:ID: runs once ID has started (ID still running); after:ID+MIN
#   waits the minutes, saying how long; after a held ID it waits; from an
#   #SBATCH directive too;
# - aftercorr:X on an array: task N runs after task N of array X completed,
#   task by task (task 0 runs while X's task 3 still runs); a task whose
#   counterpart failed can never run (pending, then cancelled, saying
#   which); a task X lacks waits for nothing; refused for a job that is no
#   array, and on a job that is no array;
# - each refusal names what is wrong.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/jobs.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 50 --keep-invalid-depend
nl_agents_start 2
C=$NORDLYS_CLI
refused() { # DEP WORDS [SUBMIT OPTIONS]
    _dep=$1 _says=$2
    shift 2
    nl_cli submit "$@" --dependency "$_dep" -- true
    [ "$NL_RC" = 1 ] || nl_fail "--dependency $_dep: rc $NL_RC, expected a refusal"
    printf '%s\n' "$NL_ERR" | grep -qF "$_says" || nl_fail "--dependency $_dep: '$NL_ERR' does not say '$_says'"
}
# A job that ends when the test makes its file: F fails, Z completes, W runs on.
waiter() { sub -- sh -c "while [ ! -e $NL_TMP/end-$1 ]; do sleep 0.05; done; exit ${2:-0}"; }

# ---- '?': any one condition ----
F=$(waiter F 3)
Z=$(waiter Z)
W=$(waiter W)
ANY1=$(sub --dependency "afterok:$F?afterok:$Z" -- true)
ANY2=$(sub --dependency "afterok:$Z?afterok:$W" -- true)
NONE=$(sub --dependency "afterok:$F?afternotok:$Z" -- true)
jq_is "$ANY1" ".job.reason == \"Dependency\" and .job.dependency == \"afterok:$F?afterok:$Z\""
touch "$NL_TMP/end-F"
wait_state "$F" FAILED
# F failed, Z runs: both still wait (either alternative may still come).
jq_is "$ANY1" '.job.state == "PENDING" and .job.reason == "Dependency"'
jq_is "$NONE" '.job.state == "PENDING" and .job.reason == "Dependency"'
touch "$NL_TMP/end-Z"
wait_state "$ANY1" COMPLETED
wait_state "$ANY2" COMPLETED
[ "$(state "$W")" = RUNNING ] || nl_fail "W ended before afterok:$Z?afterok:$W ran: $(state "$W")"
nl_wait "/v1/jobs/$NONE" '.job.reason == "DependencyNeverSatisfied"'
jq_is "$NONE" ".job.state == \"PENDING\" and (.job.reason_text | contains(\"can never be met\"))"
refused "afterok:$Z,afterok:$W?afterok:$Z" "',' (all of) and '?' (any of) cannot be mixed"
refused "afterok:$Z??afterok:$W" "empty condition (two '?'"
refused "afterok:$F?afternotok:$Z" "can never be met"

# ---- after:ID[+MIN] ----
S=$(waiter S)
wait_state "$S" RUNNING
AFT=$(sub --dependency "after:$S" -- true)
wait_state "$AFT" COMPLETED
[ "$(state "$S")" = RUNNING ] || nl_fail "after:$S ran only once $S ended"
LATE=$(sub --dependency "after:$S+30" -- true)
nl_wait "/v1/jobs/$LATE" "(.job.reason_text | contains(\"after:$S+30 (job $S began; \")) and (.job.reason_text | contains(\" s to go)\"))"
jq_is "$LATE" '.job.state == "PENDING" and .job.start_time == null'
$C cancel "$LATE" >/dev/null || nl_fail "cancel $LATE"
HELD=$(sub --hold -- true)
AH=$(sub --dependency "after:$HELD" -- true)
nl_wait "/v1/jobs/$AH" "(.job.reason_text | contains(\"after:$HELD (job $HELD has not started)\"))"
$C release "$HELD" >/dev/null || nl_fail "release $HELD"
wait_state "$AH" COMPLETED
cat >"$NL_TMP/after.sh" <<EOT
#!/bin/sh
#SBATCH --job-name=after-dir
#SBATCH --dependency=after:$S
true
EOT
nl_cli submit --parsable "$NL_TMP/after.sh"
[ "$NL_RC" = 0 ] || nl_fail "submit of an #SBATCH --dependency=after script: $NL_ERR"
SD=$NL_OUT
jq_is "$SD" ".job.name == \"after-dir\""
wait_state "$SD" COMPLETED
# An array job began with its first task: after:ARRAY runs while the array still runs.
AR=$(sub --array 0-1 -- sh -c "while [ ! -e $NL_TMP/end-AR ]; do sleep 0.05; done")
nl_wait "/v1/jobs/$AR/tasks?index=0" '.job.state == "RUNNING"'
AA=$(sub --dependency "after:$AR" -- true)
wait_state "$AA" COMPLETED
[ "$(state "$AR")" = PENDING ] || nl_fail "array $AR ended before after:$AR ran: $(state "$AR")"
touch "$NL_TMP/end-AR"
refused "afterok:$S+5" "'+MINUTES' is for after only"
refused "after:$S+soon" "'soon' is not a number of minutes"
touch "$NL_TMP/end-S"

# ---- aftercorr: task by task ----
# X's task 2 fails; task 3 ends when the test says; X has no task 4.
cat >"$NL_TMP/x.sh" <<EOT
#!/bin/sh
[ "\$NORDLYS_ARRAY_TASK_ID" = 3 ] && while [ ! -e $NL_TMP/end-X3 ]; do sleep 0.05; done
[ "\$NORDLYS_ARRAY_TASK_ID" = 2 ] && exit 1
exit 0
EOT
X=$(sub --array 0-3 -- sh "$NL_TMP/x.sh")
Y=$(sub --array 0-4 --dependency "aftercorr:$X" -- true)
nl_wait "/v1/jobs/$Y/tasks?index=0" '.job.state == "COMPLETED"'
nl_wait "/v1/jobs/$Y/tasks?index=4" '.job.state == "COMPLETED"'
nl_wait "/v1/jobs/$Y/tasks?index=2" '.job.reason == "DependencyNeverSatisfied"'
jq_is "$Y/tasks?index=2" ".job.state == \"PENDING\" and (.job.reason_text | contains(\"aftercorr:$X can never be met: task ${X}_2 ended FAILED\"))"
# Task 3 waits for X's task 3, which still runs.
nl_http GET "/v1/jobs/$X/tasks?index=3"
nl_expect 200 '.job.state == "RUNNING"'
nl_http GET "/v1/jobs/$Y/tasks?index=3"
nl_expect 200 ".job.state == \"PENDING\" and (.job.reason_text | contains(\"aftercorr:$X (task ${X}_3 is RUNNING)\"))"
touch "$NL_TMP/end-X3"
nl_wait "/v1/jobs/$Y/tasks?index=3" '.job.state == "COMPLETED"'
for i in 0 1 3; do
    nl_http GET "/v1/jobs/$X/tasks?index=$i"; end=$(nl_json .job.end_time)
    nl_http GET "/v1/jobs/$Y/tasks?index=$i"; start=$(nl_json .job.start_time)
    [ "$(echo "$start >= $end" | bc)" = 1 ] || nl_fail "task ${Y}_$i started ($start) before ${X}_$i ended ($end)"
done
refused "aftercorr:$X" "only an array job (--array) can wait task by task"
refused "aftercorr:$F" "job $F is not a job array" --array 0-1
refused "aftercorr:$X+2" "'+MINUTES' is for after only" --array 0-1

# ---- without --keep-invalid-depend (nordlys's default): cancelled with the reason ----
nl_ctld_stop
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 50
wait_state "$NONE" CANCELLED
jq_is "$NONE" '(.job.exit_reason | contains("dependency never satisfied: "))'
nl_wait "/v1/jobs/$Y/tasks?index=2" '.job.state == "CANCELLED"'
jq_is "$Y/tasks?index=2" "(.job.exit_reason | contains(\"dependency never satisfied: aftercorr:$X can never be met\"))"
wait_state "$Y" CANCELLED
jq_is "$Y" '(.job.exit_reason | contains("array: 4 completed, 0 failed, 1 cancelled"))'
touch "$NL_TMP/end-W"
wait_state "$W" COMPLETED
echo "gate_deps_kinds: ok"
