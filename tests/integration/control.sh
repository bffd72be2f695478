#!/bin/sh
# control: controlling jobs after their submission, through the CLI against
# the real nordlysd and nordlys-agent (issue 12):
#   nordlys run      streams a job's lines in order while it runs, returns its
#                    exit code (exit 3 -> 3), and Ctrl-C cancels the job (130);
#   requeue          a running ledger job is killed and runs again (run 2),
#                    never two runs at once; a finished job runs again;
#   update           a pending job's name, time and GPUs; a refused GPU count
#                    names the field; a running job takes a lower limit only;
#   signal           a job that traps USR1 writes a marker; SIGKILL is refused;
#   --signal         USR1 some seconds before the time limit, not at the start;
#   cancel filters   by name and by state, with counts; nothing without a filter;
#   tenants          a user reads their job's output, another tenant's user
#                    gets 404, and may not cancel by the other's tenant (403).
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/ledger.sh"
nl_tmpdir
S=$NL_TMP/state
nl_ctld_start "$S" --sched-interval-ms 10 --node-timeout-ms 3000 --sync-interval-ms 100
# Jobs of user tokens run as nobody (the agent is root) or as the agent (--run-as-self):
# the output root must let nobody through.
chmod 0711 "$NL_TMP"
nl_agent_start a0 --emulate 4 --noop --run-as-self --output-root "$NL_TMP/out"
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4'
nl_ledger_init
M=$NL_TMP/marks
mkdir -p "$M"
chmod 0777 "$M"

# ---- nordlys run: exit code, both streams, order ----
nl_cli run -- sh -c 'echo one; echo two >&2; echo three; exit 3'
[ "$NL_RC" = 3 ] || nl_fail "run of 'exit 3' returned $NL_RC (err: $NL_ERR)"
[ "$NL_OUT" = "$(printf 'one\nthree')" ] || nl_fail "run's stdout: [$NL_OUT]"
[ "$NL_ERR" = two ] || nl_fail "run's stderr: [$NL_ERR]"
nl_cli run -- sh -c 'i=1; while [ $i -le 200 ]; do echo line $i; i=$((i + 1)); done'
[ "$NL_RC" = 0 ] || nl_fail "run of a job that succeeds returned $NL_RC"
[ "$NL_OUT" = "$(seq 200 | sed 's/^/line /')" ] || nl_fail "run's lines are not 1..200 in order"
nl_cli run -- sh -c 'kill -USR2 $$'
[ "$NL_RC" = $((128 + 12)) ] || nl_fail "a job killed by SIGUSR2 gave $NL_RC, not 140"

# Streaming while it runs: the job waits for a file the test makes only once run has
# printed its first line, so run must show output before the job ends.
"$NORDLYS_CLI" run -- sh -c "echo ready; while [ ! -e $M/go ]; do sleep 0.05; done; echo done" \
    >"$NL_TMP/run1.out" 2>"$NL_TMP/run1.err" &
RUN=$!
nl_wait_until "grep -q ready '$NL_TMP/run1.out'" 60 "nordlys run to stream 'ready' while the job runs"
touch "$M/go"
wait $RUN
RC=$?
[ "$RC" = 0 ] || nl_fail "streamed run returned $RC: $(cat "$NL_TMP/run1.err")"
[ "$(cat "$NL_TMP/run1.out")" = "$(printf 'ready\ndone')" ] || nl_fail "streamed run: $(cat "$NL_TMP/run1.out")"

# Ctrl-C cancels the job; run exits 130 once it has ended.
"$NORDLYS_CLI" run --name ctrlc -- sh -c 'echo started; while :; do sleep 0.1; done' \
    >"$NL_TMP/run2.out" 2>"$NL_TMP/run2.err" &
RUN=$!
nl_wait_until "grep -q started '$NL_TMP/run2.out'" 60 "the Ctrl-C job to start"
kill -INT $RUN
wait $RUN
RC=$?
[ "$RC" = 130 ] || nl_fail "run after Ctrl-C returned $RC: $(cat "$NL_TMP/run2.err")"
grep -q "cancelling job" "$NL_TMP/run2.err" || nl_fail "run did not say it cancels: $(cat "$NL_TMP/run2.err")"
nl_http GET "/v1/jobs?state=CANCELLED"
nl_expect 200 '[.jobs[] | select(.name == "ctrlc")] | length == 1'

# ---- requeue ----
J=$(nl_submit "$(nl_ledger_body 600)")
nl_wait "/v1/jobs/$J" '.job.state == "RUNNING"'
nl_wait_until "[ \$(nl_ledger_starts $J) -ge 1 ]" 60 "job $J's first run to start"
nl_cli requeue "$J"
[ "$NL_RC" = 0 ] || nl_fail "requeue of a running job: $NL_RC $NL_ERR"
nl_wait "/v1/jobs/$J" '.job.state == "RUNNING" and .job.run == 2'
nl_wait_until "[ \$(nl_ledger_starts $J) -ge 2 ]" 60 "job $J's second run to start"
nl_ledger_check
nl_cli requeue "$J"
nl_wait "/v1/jobs/$J" '.job.run == 3'
nl_cli cancel "$J"
nl_wait "/v1/jobs/$J" '.job.state == "CANCELLED"'
# A finished job runs again under its id.
J2=$(nl_submit '{"name":"again","command":["sh","-c","echo run $NORDLYS_RUN"]}')
nl_wait "/v1/jobs/$J2" '.job.state == "COMPLETED"'
nl_cli requeue "$J2"
[ "$NL_RC" = 0 ] || nl_fail "requeue of a completed job: $NL_RC $NL_ERR"
nl_wait "/v1/jobs/$J2" '.job.state == "COMPLETED" and .job.run == 2'
nl_cli output "$J2"
[ "$NL_OUT" = "$(printf 'run 1\nrun 2')" ] || nl_fail "requeued job's output: [$NL_OUT]"

# ---- update ----
# Fill the facility (16 GPUs) so that the next job waits.
BIG=$(nl_submit '{"name":"big","gpus":16,"command":["sleep","600"]}')
nl_wait "/v1/jobs/$BIG" '.job.state == "RUNNING"'
P=$(nl_submit '{"name":"waiting","gpus":1,"command":["sleep","1"]}')
nl_wait "/v1/jobs/$P" '.job.state == "PENDING"'
nl_cli requeue "$P"
[ "$NL_RC" = 1 ] && echo "$NL_ERR" | grep -q "already PENDING" || nl_fail "requeue of a pending job: $NL_RC $NL_ERR"
nl_cli update "$P" --name renamed --time 5m --gpus 2
[ "$NL_RC" = 0 ] || nl_fail "update of a pending job: $NL_RC $NL_ERR"
nl_http GET "/v1/jobs/$P"
nl_expect 200 '.job.name == "renamed" and .job.time_limit_s == 300 and .job.gpus == 2 and .job.state == "PENDING"'
nl_cli update "$P" --gpus 100000
[ "$NL_RC" = 1 ] && echo "$NL_ERR" | grep -q "gpus" || nl_fail "update to 100000 GPUs: $NL_RC $NL_ERR"
nl_http GET "/v1/jobs/$P"
nl_expect 200 '.job.gpus == 2'
nl_http PATCH "/v1/jobs/$BIG" '{"gpus":4}'
nl_expect 409 '.error.field == "gpus"'
nl_http PATCH "/v1/jobs/$BIG" '{"time_limit_s":999999}'
nl_expect 409 '.error.field == "time_limit_s"'
nl_http PATCH "/v1/jobs/$BIG" '{"bogus":1}'
nl_expect 400
# A lower limit reaches the agent: the running job times out.
nl_http PATCH "/v1/jobs/$BIG" '{"time_limit_s":1}'
nl_expect 200 '.job.time_limit_s == 1'
nl_wait "/v1/jobs/$BIG" '.job.state == "TIMEOUT"'
nl_wait "/v1/jobs/$P" '.job.state == "COMPLETED"'

# ---- signal ----
J=$(nl_submit "{\"command\":[\"sh\",\"-c\",\"trap 'echo usr1 >$M/usr1' USR1; echo ready; while :; do sleep 0.1; done\"]}")
nl_wait "/v1/jobs/$J" '.job.state == "RUNNING"'
nl_wait "/v1/jobs/$J/output" '(.data | @base64d) == "ready\n"'
nl_cli signal "$J" KILL
[ "$NL_RC" = 2 ] || nl_fail "signal KILL: $NL_RC $NL_ERR"
nl_http POST "/v1/jobs/$J/signal" '{"signal":"KILL"}'
nl_expect 400 '.error.field == "signal"'
nl_cli signal "$J" USR1
[ "$NL_RC" = 0 ] || nl_fail "signal USR1: $NL_RC $NL_ERR"
nl_wait_until "[ -s '$M/usr1' ]" 60 "the job's USR1 trap to write its marker"
nl_http GET "/v1/jobs/$J"
nl_expect 200 '.job.state == "RUNNING"'
nl_cli cancel "$J"
nl_http POST "/v1/jobs/$J2/signal" '{"signal":"USR1"}'
nl_expect 409 '.error.field == "state"'

# ---- --signal SIG@SECONDS before the time limit ----
# 130 s limit, USR1 120 s before it: 10 s after the start, never at once. The
# job's own clock starts a little after the agent's (its shell starts first),
# so the check allows 2 s less; how late the signal may come is no property
# (a loaded machine delays it), only that it came before the limit.
nl_cli submit --signal USR1@120 -- sh -c "date +%s.%N >$M/t0; trap 'date +%s.%N >$M/warn' USR1; while :; do sleep 0.1; done"
[ "$NL_RC" = 0 ] || nl_fail "submit --signal: $NL_RC $NL_ERR"
J=$(echo "$NL_OUT" | awk '{print $3}')
nl_http PATCH "/v1/jobs/$J" '{"time_limit_s":130}'
nl_expect 200
nl_http GET "/v1/jobs/$J"
nl_expect 200 '.job.signal.signal == "USR1" and .job.signal.before_s == 120'
nl_wait_until "[ -s '$M/warn' ]" 120 "the warning USR1"
nl_http GET "/v1/jobs/$J"
nl_expect 200 '.job.state == "RUNNING"'
D=$(echo "$(cat "$M/warn") - $(cat "$M/t0")" | bc)
echo "USR1 came $D s after the start (limit 130 s, --signal USR1@120)"
[ "$(echo "$D >= 8" | bc)" = 1 ] || nl_fail "USR1 came $D s after the start, not 10 s or later"
nl_cli cancel "$J"
nl_cli submit --signal KILL@10 -- true
[ "$NL_RC" = 2 ] || nl_fail "submit --signal KILL: $NL_RC"

# ---- cancel by filter ----
for i in 1 2 3; do nl_submit '{"name":"sweep","command":["sleep","600"]}' >/dev/null; done
KEEP=$(nl_submit '{"name":"keep","command":["sleep","600"]}')
nl_wait "/v1/jobs?state=RUNNING" '[.jobs[] | select(.name == "sweep")] | length == 3'
nl_cli cancel --name sweep
[ "$NL_RC" = 0 ] && echo "$NL_OUT" | grep -q "cancelled 3 jobs" || nl_fail "cancel --name: $NL_RC $NL_OUT $NL_ERR"
nl_wait "/v1/jobs?state=CANCELLED" '[.jobs[] | select(.name == "sweep")] | length == 3'
nl_http GET "/v1/jobs/$KEEP"
nl_expect 200 '.job.state == "RUNNING"'
nl_cli cancel
[ "$NL_RC" = 2 ] || nl_fail "cancel with neither ids nor filters: $NL_RC"
nl_http DELETE /v1/jobs
nl_expect 400
nl_http DELETE "/v1/jobs?state=COMPLETED"
nl_expect 400 '.error.field == "state"'
nl_cli cancel --state RUNNING,PENDING
[ "$NL_RC" = 0 ] || nl_fail "cancel --state: $NL_RC $NL_ERR"
nl_wait "/v1/jobs/$KEEP" '.job.state == "CANCELLED"'

# ---- tenants: output and cancel ----
T_A=$(nl_token "$S" --user alice --role user --tenant anchor --unix-user nobody --ttl 1h)
T_B=$(nl_token "$S" --user bob --role user --tenant uk --unix-user nobody --ttl 1h)
NORDLYS_TOKEN=$T_A nl_cli run --cwd / -- sh -c 'echo secret of anchor'
[ "$NL_RC" = 0 ] && [ "$NL_OUT" = "secret of anchor" ] || nl_fail "alice's run: $NL_RC $NL_OUT $NL_ERR"
NL_HTTP_TOKEN=$T_A nl_http GET "/v1/jobs?tenant=anchor"
JA=$(nl_json '.jobs[0].id')
NL_HTTP_TOKEN=$T_A nl_http GET "/v1/jobs/$JA/output"
nl_expect 200 '(.data | @base64d) == "secret of anchor\n" and .complete'
NL_HTTP_TOKEN=$T_B nl_http GET "/v1/jobs/$JA/output"
nl_expect 404
case "$NL_BODY" in *secret*) nl_fail "bob read anchor's output: $NL_BODY" ;; esac
NORDLYS_TOKEN=$T_B nl_cli output "$JA"
[ "$NL_RC" = 1 ] && [ -z "$NL_OUT" ] || nl_fail "bob's nordlys output of anchor's job: $NL_RC [$NL_OUT]"
NL_HTTP_TOKEN=$T_B nl_http DELETE "/v1/jobs?tenant=anchor"
nl_expect 403
NL_HTTP_TOKEN=$T_B nl_http POST "/v1/jobs/$JA/requeue"
nl_expect 404
# The refusals and the writes are audited.
nl_http GET /v1/audit
nl_expect 200
echo "$NL_BODY" | grep -q 'requeue' || nl_fail "no requeue in the audit log"
echo "control: ok"
