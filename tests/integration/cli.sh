#!/bin/sh
# cli: the nordlys command line against a real nordlysd and two real agents
# (the dev facility's 4 nodes, jobs as real processes). Checks what a user
# and a script see: human output and --json for submit, queue, show, cancel,
# nodes, facility, tenants and usage; show's reason for a pending job, in
# the controller's own words; the exit reason of a job that could not start;
# and the exit statuses scripts rely on: 0 ok, 1 refused (with the API's
# message, which names the field), 2 usage error, 3 controller unreachable.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100
nl_agents_start 2

# expect_rc RC WHAT: the last nl_cli exited RC.
expect_rc() {
    [ "$NL_RC" = "$1" ] || nl_fail "$2: exit $NL_RC, expected $1; stdout: $NL_OUT; stderr: $NL_ERR"
}
# out_has / err_has REGEX WHAT: the last nl_cli's stdout / stderr matches (grep -E).
out_has() {
    printf '%s\n' "$NL_OUT" | grep -Eq -- "$1" || nl_fail "$2: stdout lacks /$1/: $NL_OUT"
}
err_has() {
    printf '%s\n' "$NL_ERR" | grep -Eq -- "$1" || nl_fail "$2: stderr lacks /$1/: $NL_ERR"
}
# jout FILTER: jq on the last nl_cli's stdout (its --json output).
jout() {
    printf '%s' "$NL_OUT" | jq -r "$1" || nl_fail "not JSON: $NL_OUT"
}
# show_state ID: the state line of `nordlys show ID`.
show_state() {
    "$NORDLYS_CLI" show "$1" | awk '$1 == "state" { print $2 }'
}
wait_state() {
    _deadline=$(($(date +%s) + 60))
    until [ "$(show_state "$1")" = "$2" ]; do
        [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "job $1 never reached $2: $("$NORDLYS_CLI" show "$1")"
        sleep 0.1
    done
}

# ---- nodes, facility, tenants ----
nl_cli nodes
expect_rc 0 "nodes"
out_has '^NAME +SITE +RACK +STATE +GPUS +FREE' "nodes header"
[ "$(printf '%s\n' "$NL_OUT" | grep -Ec ' up +4 +4 ')" = 4 ] || nl_fail "nodes: not 4 idle nodes up: $NL_OUT"
nl_cli nodes --json
expect_rc 0 "nodes --json"
[ "$(jout '(.nodes | length) == 4 and all(.nodes[]; .state == "up" and .gpus == 4)')" = true ] ||
    nl_fail "nodes --json: $NL_OUT"
nl_cli facility
expect_rc 0 "facility"
out_has '^facility +dev$' "facility name"
out_has '^gpus +0 allocated of 16' "facility gpus"
nl_cli facility --json
[ "$(jout '.name == "dev" and .gpus_total == 16 and .gpus_down == 0 and .power_budget_w > 0')" = true ] ||
    nl_fail "facility --json: $NL_OUT"
nl_cli tenants
expect_rc 0 "tenants"
out_has '^nor-research +sovereign +4 ' "tenants table"
nl_cli tenants --json
[ "$(jout '[.tenants[] | select(.name == "nor-research" and .tier == "sovereign" and .quota_gpus == 4)] | length == 1')" = true ] ||
    nl_fail "tenants --json: $NL_OUT"

# ---- submit: human, --parsable, --json; the job really runs ----
OUTF="$NL_TMP/hello.out"
nl_cli submit --name hello --gpus 2 -- sh -c "echo \"hello \$NORDLYS_JOB_ID run \$NORDLYS_RUN gpus \$CUDA_VISIBLE_DEVICES\" > $OUTF"
expect_rc 0 "submit"
out_has '^submitted job [0-9]+ \((PENDING|RUNNING)\)$' "submit output"
H=$(printf '%s\n' "$NL_OUT" | sed 's/^submitted job \([0-9]*\).*/\1/')
wait_state "$H" COMPLETED
grep -Eq "^hello $H run 1 gpus [0-3],[0-3]$" "$OUTF" || nl_fail "job $H output: $(cat "$OUTF")"
nl_cli show "$H"
expect_rc 0 "show completed"
out_has "^job $H +hello$" "show title"
out_has '^  exit code +0$' "show exit code"
out_has '^  run +1$' "show run"
nl_cli show "$H" --json
[ "$(jout ".job.id == $H and .job.state == \"COMPLETED\" and .job.exit_code == 0 and .job.gpus == 2 and .job.run == 1")" = true ] ||
    nl_fail "show --json: $NL_OUT"

nl_cli submit --parsable -- true
expect_rc 0 "submit --parsable"
printf '%s\n' "$NL_OUT" | grep -Eqx '[0-9]+' || nl_fail "submit --parsable printed: $NL_OUT"
nl_cli submit --json --name j -- true
expect_rc 0 "submit --json"
[ "$(jout '.job.name == "j" and (.job.id | type) == "number" and .job.command == ["true"]')" = true ] ||
    nl_fail "submit --json: $NL_OUT"
# sbatch's letters: -J -G -t -A as --name --gpus --time --tenant; the command's own -l stays its.
nl_cli submit --json -J letters -G2 -t 10 -A uk -- ls -l
expect_rc 0 "submit with letters"
[ "$(jout '.job.name == "letters" and .job.gpus == 2 and .job.time_limit_s == 600 and
          .job.tenant == "uk" and .job.command == ["ls", "-l"]')" = true ] ||
    nl_fail "submit -J -G -t -A: $NL_OUT"
nl_cli submit -G -- true
[ "$NL_RC" = 2 ] && case $NL_ERR in *"--gpus: '--' is not"* | *"-G (--gpus)"*) true ;; *) false ;; esac ||
    nl_fail "submit -G without a number: rc $NL_RC: $NL_ERR"

# ---- a pending job says why it waits, in the controller's words ----
B=$(nl_submit "{\"name\":\"blocker\",\"gpus\":16,\"command\":[\"sh\",\"-c\",\"echo \$\$ > $NL_TMP/blocker.pid; exec sleep 600\"]}")
wait_state "$B" RUNNING
nl_cli submit --gpus 4 --name waiter -- true
expect_rc 0 "submit waiter"
P=$(printf '%s\n' "$NL_OUT" | sed 's/^submitted job \([0-9]*\).*/\1/')
nl_wait "/v1/jobs/$P" '.job.state == "PENDING" and .job.reason != null'
WHY=$(nl_json '.job.reason + ": " + .job.reason_text')
nl_cli show "$P"
expect_rc 0 "show pending"
out_has '^  state +PENDING$' "show pending state"
printf '%s\n' "$NL_OUT" | grep -Fqx "  waiting for   $WHY" || nl_fail "show $P does not give the reason '$WHY': $NL_OUT"
nl_cli queue
expect_rc 0 "queue"
out_has '^ID +NAME +TENANT +STATE +GPUS +TIME +LIMIT +NODES \(REASON\)$' "queue header"
out_has "^ *$P +waiter +nor-research +PENDING +4 .*\\($(nl_json .job.reason)\\)$" "queue pending row"
out_has "^ *$B +blocker +nor-research +RUNNING +16 " "queue running row"
printf '%s\n' "$NL_OUT" | grep -Eq "^ *$H " && nl_fail "queue lists finished job $H by default: $NL_OUT"
nl_cli queue --all --json
expect_rc 0 "queue --all --json"
[ "$(jout "[.jobs[].id] | index($H) != null and index($P) != null")" = true ] || nl_fail "queue --all --json: $NL_OUT"
nl_cli queue --state completed --json
[ "$(jout 'all(.jobs[]; .state == "COMPLETED") and (.jobs | length) >= 3')" = true ] ||
    nl_fail "queue --state completed: $NL_OUT"

# ---- queue --all pages through every job; rows left out are counted ----
nl_http GET "/v1/jobs?limit=100000"
NALL=$(nl_json '.jobs | length')
nl_cli queue --all --json
expect_rc 0 "queue --all --json"
[ "$(jout "[.jobs[].id] as \$i | (\$i | length) == $NALL and \$i == (\$i | unique | reverse)")" = true ] ||
    nl_fail "queue --all --json: not the $NALL jobs, newest first, once each: $NL_OUT"
nl_cli queue --all --limit 2
expect_rc 0 "queue --all --limit 2"
[ "$(printf '%s\n' "$NL_OUT" | sed 1d | wc -l)" = 2 ] || nl_fail "queue --all --limit 2: $NL_OUT"
nl_http GET "/v1/jobs?limit=1"
if [ "$(nl_json 'has("total")')" = true ]; then
    err_has "^\.\.\. and $((NALL - 2)) more; --limit $NALL or --all to see them$" "queue --limit 2: rows left out"
    nl_cli queue --all
    [ -z "$NL_ERR" ] || nl_fail "queue --all says rows were left out: $NL_ERR"
else
    # A controller from before "total" in job lists: nothing to count with.
    [ -z "$NL_ERR" ] || nl_fail "queue --all --limit 2 without a total: $NL_ERR"
    echo "cli: this controller's job lists carry no total; the left-out count is not checked"
fi

# ---- cancel: pending ends at once, running is killed, ended is refused ----
nl_cli cancel "$P"
expect_rc 0 "cancel pending"
out_has "^cancelled job $P$" "cancel pending output"
nl_cli cancel "$B"
expect_rc 0 "cancel running"
out_has "^cancelling job $B \\(RUNNING\\)$" "cancel running output"
wait_state "$B" CANCELLED
kill -0 "$(cat "$NL_TMP/blocker.pid")" 2>/dev/null && nl_fail "cancelled job $B still has its process"
nl_cli cancel "$B"
expect_rc 1 "cancel ended job"
err_has "^nordlys: job $B: already CANCELLED" "cancel ended job message"
nl_cli cancel 12abc
expect_rc 2 "cancel bad id"
nl_cli show 999999
expect_rc 1 "show unknown job"
err_has '^nordlys: job 999999: not found$' "show unknown job message"

# ---- a job that cannot start: FAILED, 127, and the agent's reason ----
nl_cli submit --parsable -- /no/such/program
X=$NL_OUT
wait_state "$X" FAILED
nl_cli show "$X"
out_has '^  exit code +127$' "launch failure exit code"
out_has '^  exit reason +exec /no/such/program: No such file or directory$' "launch failure reason"

# ---- usage accounts the ended work ----
nl_cli usage
expect_rc 0 "usage"
out_has '^TENANT +TIER +GPU-HOURS +ENERGY +COMPLETED +FAILED$' "usage header"
out_has '^nor-research +sovereign +[0-9]+\.[0-9] +[0-9.]+ (k|M|G)?Wh +[0-9]+ +[0-9]+$' "usage row"
printf '%s\n' "$NL_OUT" | grep -Eqi '(^| )-?(nan|inf)( |$)' && nl_fail "usage prints a non-number: $NL_OUT"
nl_cli usage --json
[ "$(jout '[.tenants[] | select(.name == "nor-research")][0] | .jobs_completed >= 3 and .jobs_failed >= 1 and .gpu_hours > 0')" = true ] ||
    nl_fail "usage --json: $NL_OUT"

# ---- bad requests: exit 1 with the API's message naming the field; nothing created ----
nl_http GET "/v1/jobs?limit=100000"
BEFORE=$(nl_json '.jobs | length')
nl_cli submit --tenant nosuch -- true
expect_rc 1 "unknown tenant"
err_has "^nordlys: tenant: unknown tenant 'nosuch'$" "unknown tenant message"
nl_cli submit --gpus 99999 -- true
expect_rc 1 "too many gpus"
err_has '^nordlys: gpus: 99999 exceeds' "too many gpus message"
nl_cli submit --residency UK -- true
expect_rc 1 "impossible residency"
err_has '^nordlys: residency: ' "impossible residency message"
nl_cli submit --gpus 2
expect_rc 2 "submit without a command"
nl_cli submit --gpus many -- true
expect_rc 2 "submit with a bad --gpus"
err_has 'gpus' "bad --gpus message"
nl_http GET "/v1/jobs?limit=100000"
[ "$(nl_json '.jobs | length')" = "$BEFORE" ] || nl_fail "a refused submission created a job"

# ---- the controller is down: exit 3, saying where it looked ----
nl_ctld_kill9
nl_cli queue
expect_rc 3 "queue, controller down"
err_has "127\\.0\\.0\\.1:$NL_PORT" "unreachable message names the URL"
nl_cli submit --retry-s 0 -- true
expect_rc 3 "submit --retry-s 0, controller down"
err_has "^nordlys: cannot reach controller at http://127\\.0\\.0\\.1:$NL_PORT: Connection refused$" "submit --retry-s 0 message"
nl_cli nodes --json
expect_rc 3 "nodes --json, controller down"
[ -z "$NL_OUT" ] || nl_fail "nodes --json printed something with the controller down: $NL_OUT"
# submit retries (same request, same Idempotency-Key) until the controller is back.
"$NORDLYS_CLI" submit --parsable --retry-s 300 --idempotency-key "cli-late-1" -- true \
    >"$NL_TMP/late.out" 2>"$NL_TMP/late.err" &
LATE=$!
NL_PIDS="$NL_PIDS $LATE"
nl_wait_until "grep -q 'Connection refused; retrying for up to 300 s (Idempotency-Key cli-late-1)$' '$NL_TMP/late.err'" 60 \
    "submit to say that it retries"
nl_ctld_start "$NL_TMP/state" --listen "127.0.0.1:$NL_PORT" --sched-interval-ms 10 --sync-interval-ms 100
wait "$LATE"
RC=$?
[ "$RC" = 0 ] || nl_fail "submit across a controller restart: exit $RC: $(cat "$NL_TMP/late.err")"
LATE_ID=$(cat "$NL_TMP/late.out")
nl_wait "/v1/jobs/$LATE_ID" '.job.state == "COMPLETED"'
echo "cli: ok"
