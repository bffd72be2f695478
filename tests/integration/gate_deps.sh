#!/bin/sh
# gate_deps: dependencies, singleton, hold and release through the CLI
# against nordlysd and two real agents (issue 12).
#
# - an afterok chain A -> B -> C runs in order (each starts after the one
#   before ended); afterany and afternotok on a job that fails run; afterok
#   on it stays PENDING with reason DependencyNeverSatisfied (show, queue,
#   API) until cancelled, as does afternotok on a job that completes, while
#   the controller runs with --keep-invalid-depend (Slurm's default); after
#   a restart without it (nordlys's default) such a job is CANCELLED with
#   the reason; a waiting job says Dependency (show, queue, API) and counts
#   in the queue;
# - a dependency on an array job waits for all of its tasks;
# - bad dependencies are refused at submit, naming what is wrong;
# - singleton: the second job of a name and user waits for the first;
# - hold at submit, hold of a job the scheduler had (facility full), hold of
#   a waiting job (met dependency, still held), release; refusals: hold of
#   a running job, release of a job not held, another tenant's job (403),
#   each audited.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/jobs.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 50 --keep-invalid-depend
nl_agents_start 2
C=$NORDLYS_CLI

# ---- an afterok chain, released by a gate job ----
G=$(sub --hold -- true)
A=$(sub --dependency "afterok:$G" -- sh -c 'sleep 0.3')
B=$(sub --dependency "afterok:$A" -- sh -c 'sleep 0.3')
Cc=$(sub --dependency "afterok:$B" -- true)
jq_is "$A" '.job.state == "PENDING" and .job.reason == "Dependency" and .job.dependency == "afterok:'"$G"'"'
jq_is "$A" "(.job.reason_text | contains(\"afterok:$G (job $G is PENDING)\"))"
nl_cli show "$B"
printf '%s\n' "$NL_OUT" | grep -Eq "waiting for +Dependency: waiting for its dependency: afterok:$A" ||
    nl_fail "show $B: $NL_OUT"
printf '%s\n' "$NL_OUT" | grep -Eq "dependency +afterok:$A" || nl_fail "show $B dependency line: $NL_OUT"
nl_cli queue
printf '%s\n' "$NL_OUT" | grep -Eq "^ *$Cc .* PENDING .*\(Dependency\)" || nl_fail "queue: $NL_OUT"
printf '%s\n' "$NL_OUT" | grep -Eq "^ *$G .* PENDING .*\(Held\)" || nl_fail "queue held: $NL_OUT"
nl_cli release "$G"
[ "$NL_RC" = 0 ] || nl_fail "release $G: $NL_ERR"
wait_state "$Cc" COMPLETED
for pair in "$A $B" "$B $Cc"; do
    set -- $pair
    nl_http GET "/v1/jobs/$1"; end=$(nl_json .job.end_time)
    nl_http GET "/v1/jobs/$2"; start=$(nl_json .job.start_time)
    [ "$(echo "$start >= $end" | bc)" = 1 ] || nl_fail "job $2 started ($start) before job $1 ended ($end)"
done

# ---- a job that fails: afterok never satisfied (pending, saying so), afterany/afternotok run ----
# F and Z end when the test makes their files, once their dependents are in: a
# dependency on a job already ended badly is refused at submit (checked below).
F=$(sub -- sh -c "while [ ! -e $NL_TMP/end-F ]; do sleep 0.05; done; exit 3")
OK=$(sub --dependency "afterok:$F" -- true)
ANY=$(sub --dependency "afterany:$F" -- true)
NOTOK=$(sub --dependency "afternotok:$F" -- true)
# afternotok on a job that completes, and "all of" (comma) with both kinds.
Z=$(sub -- sh -c "while [ ! -e $NL_TMP/end-Z ]; do sleep 0.05; done")
NOT2=$(sub --dependency "afternotok:$Z" -- true)
touch "$NL_TMP/end-F" "$NL_TMP/end-Z"
# With --keep-invalid-depend, as in Slurm: it stays pending, saying why, until cancelled.
nl_wait "/v1/jobs/$OK" '.job.reason == "DependencyNeverSatisfied"' 60
jq_is "$OK" ".job.state == \"PENDING\" and (.job.reason_text | contains(\"afterok:$F can never be met: job $F ended FAILED\"))"
nl_cli queue
printf '%s\n' "$NL_OUT" | grep -Eq "^ *$OK .* PENDING .*\(DependencyNeverSatisfied\)" ||
    nl_fail "queue shows $OK without DependencyNeverSatisfied: $NL_OUT"
nl_cli show "$OK"
printf '%s\n' "$NL_OUT" | grep -q "DependencyNeverSatisfied: dependency never satisfied: afterok:$F" ||
    nl_fail "show $OK: $NL_OUT"
nl_cli cancel "$OK"
[ "$NL_RC" = 0 ] || nl_fail "cancel of $OK (dependency never satisfied): $NL_ERR"
wait_state "$OK" CANCELLED
wait_state "$ANY" COMPLETED
wait_state "$NOTOK" COMPLETED
nl_wait "/v1/jobs/$NOT2" '.job.reason == "DependencyNeverSatisfied"' 60
jq_is "$NOT2" ".job.state == \"PENDING\" and (.job.reason_text | contains(\"afternotok:$Z can never be met: job $Z ended COMPLETED\"))"
BOTH=$(sub --dependency "afterok:$A:$B,afterany:$F" -- true)
wait_state "$BOTH" COMPLETED

# ---- a dependency on an array job waits for every task ----
cat >"$NL_TMP/t.sh" <<EOT
#!/bin/sh
sleep 0.2
echo "\$NORDLYS_ARRAY_TASK_ID" >>"$NL_TMP/array-done"
EOT
AR=$(sub --array 0-5%2 -- sh "$NL_TMP/t.sh")
AFTER=$(sub --dependency "afterok:$AR" -- sh -c "wc -l <$NL_TMP/array-done >$NL_TMP/seen")
wait_state "$AFTER" COMPLETED
[ "$(tr -d ' ' <"$NL_TMP/seen")" = 6 ] || nl_fail "afterok:$AR ran after $(cat "$NL_TMP/seen") of 6 tasks"
jq_is "$AR" '.job.state == "COMPLETED"'

# ---- refused at submit, naming what is wrong; nothing is made ----
nl_http GET "/v1/jobs?limit=1"; before=$(nl_json .total)
for bad in "afterok:99999|no such job" "afterfoo:1|not a dependency type" "afterok|needs job ids" \
    "afterok:1x|is not a job id" "singleton:3|singleton takes no job ids" ",afterok:$A|empty condition" \
    "afterok:$F|afterok:$F can never be met: job $F ended FAILED"; do
    nl_cli submit --dependency "${bad%%|*}" -- true
    [ "$NL_RC" = 1 ] || nl_fail "--dependency ${bad%%|*}: rc $NL_RC"
    printf '%s\n' "$NL_ERR" | grep -qF "${bad#*|}" || nl_fail "--dependency ${bad%%|*}: $NL_ERR"
done
nl_http POST /v1/jobs '{"command":["true"],"hold":"yes"}'
nl_expect 400 '.error.field == "hold"'
nl_http POST /v1/jobs '{"command":["true"],"array":"3-1"}'
nl_expect 400 '.error.field == "array" and (.error.message | contains("ends before it starts"))'
nl_http GET "/v1/jobs?limit=1"
[ "$(nl_json .total)" = "$before" ] || nl_fail "a refused submission made a job"

# ---- singleton: one job of a name and user at a time ----
S1=$(sub --name single -- sleep 600)
wait_state "$S1" RUNNING
S2=$(sub --name single --dependency singleton -- true)
jq_is "$S2" '.job.reason == "Dependency" and (.job.reason_text | contains("singleton (job '"$S1"' of the same name and user is live)"))'
OTHER=$(sub --name other --dependency singleton -- true)
wait_state "$OTHER" COMPLETED
[ "$(state "$S2")" = PENDING ] || nl_fail "singleton $S2 ran while $S1 runs"
$C cancel "$S1" >/dev/null
wait_state "$S2" COMPLETED

# ---- hold and release ----
# A job the scheduler has: the facility is full (16 GPUs), so it waits for resources.
BIG=$(sub --gpus 16 -- sleep 600)
wait_state "$BIG" RUNNING
P=$(sub -- true)
jq_is "$P" '.job.state == "PENDING" and .job.reason != "Held"'
nl_cli hold "$P"
[ "$NL_RC" = 0 ] || nl_fail "hold $P: $NL_ERR"
printf '%s\n' "$NL_OUT" | grep -q "^held job $P$" || nl_fail "hold output: $NL_OUT"
jq_is "$P" '.job.reason == "Held" and .job.held'
nl_cli hold "$P" # idempotent
[ "$NL_RC" = 0 ] || nl_fail "hold twice: $NL_ERR"
nl_cli hold "$BIG"
[ "$NL_RC" = 1 ] || nl_fail "hold of a running job: rc $NL_RC"
printf '%s\n' "$NL_ERR" | grep -q "only a pending job can be held" || nl_fail "hold running: $NL_ERR"
$C cancel "$BIG" >/dev/null
wait_state "$BIG" CANCELLED
# The facility is free now: a later job runs, the held one does not.
LATER=$(sub -- true)
wait_state "$LATER" COMPLETED
jq_is "$P" '.job.state == "PENDING" and .job.reason == "Held" and .job.start_time == null'
# Counted in /metrics as held (and in the queue: it is listed PENDING).
curl -sf "$NL_URL/metrics" | grep -q '^nordlys_gate_jobs{kind="held"} 1$' ||
    nl_fail "metrics: $(curl -sf "$NL_URL/metrics" | grep gate)"
# Another tenant's user may neither hold nor release it (403, audited), nor see its tasks.
T_uk=$(nl_token "$NL_STATE" --user bob --role user --tenant uk --unix-user nobody --ttl 1h)
NORDLYS_TOKEN=$T_uk nl_cli release "$P"
[ "$NL_RC" = 1 ] || nl_fail "release by another tenant: rc $NL_RC"
printf '%s\n' "$NL_ERR" | grep -q "bob may not release another tenant's job" || nl_fail "403: $NL_ERR"
NL_HTTP_TOKEN=$T_uk nl_http POST "/v1/jobs/$P/hold"
nl_expect 403
nl_cli release "$P"
[ "$NL_RC" = 0 ] || nl_fail "release $P: $NL_ERR"
wait_state "$P" COMPLETED
nl_cli release "$P"
[ "$NL_RC" = 1 ] || nl_fail "release of a job not held: rc $NL_RC"
printf '%s\n' "$NL_ERR" | grep -q "not held" || nl_fail "release not held: $NL_ERR"
# Held with a dependency: met, it still waits for the release.
X=$(sub -- sh -c 'sleep 0.5')
Y=$(sub --hold --dependency "afterok:$X" -- true)
wait_state "$X" COMPLETED
nl_wait "/v1/jobs/$Y" '.job.reason == "Held" and .job.dependency == null'
nl_cli release "$Y"
wait_state "$Y" COMPLETED
# A held array makes no task until released.
HA=$(sub --hold --array 0-3 -- true)
jq_is "$HA" '.job.reason == "Held" and .job.array.made == 0'
nl_cli release "$HA"
wait_state "$HA" COMPLETED
# A held job can be updated (it is not in the scheduler yet) and cancelled by a filter.
H2=$(sub --hold --name before -- true)
nl_cli update "$H2" --name after --gpus 2
[ "$NL_RC" = 0 ] || nl_fail "update of held job $H2: $NL_ERR"
jq_is "$H2" '.job.name == "after" and .job.gpus == 2 and .job.reason == "Held"'
nl_cli update "$H2" --gpus 100000
[ "$NL_RC" = 1 ] || nl_fail "update of held job $H2 to 100000 GPUs: rc $NL_RC"
nl_cli cancel --name after
[ "$NL_RC" = 0 ] || nl_fail "cancel --name after: $NL_ERR"
wait_state "$H2" CANCELLED
# Every hold and release is in the audit log, refusals too.
nl_http GET "/v1/audit?limit=1000"
nl_expect 200
[ "$(nl_json "[.lines[] | fromjson | select(.target == \"job $P\" and (.action | test(\"hold\")))] | length >= 6")" = true ] ||
    nl_fail "audit lacks the hold/release records of job $P: $NL_BODY"
# By default (Slurm's kill_invalid_depend) such a job ends CANCELLED with the reason:
# NOT2, still pending, is at the restart's first evaluation.
nl_ctld_stop
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 50
wait_state "$NOT2" CANCELLED
jq_is "$NOT2" "(.job.exit_reason | contains(\"dependency never satisfied: afternotok:$Z can never be met: job $Z ended COMPLETED\"))"
nl_cli show "$NOT2"
printf '%s\n' "$NL_OUT" | grep -q "exit reason.*dependency never satisfied: afternotok:$Z" ||
    nl_fail "show $NOT2: $NL_OUT"
echo "gate_deps: ok"
