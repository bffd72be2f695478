#!/bin/sh
# agent_run: the real nordlys-agent against the real nordlysd on loopback.
# One agent emulates the 4 nodes of the dev facility (sleep jobs as timed
# no-ops, everything else a real process) and runs: a 2-node job (its
# environment and output file), a failing job, an exec failure, a cancel
# of a no-op and of a real job that ignores SIGTERM (SIGKILL after the
# grace period), time limits, and a controller killed with SIGKILL and
# restarted while one job runs, another ends, and one rank of a 2-node job
# has ended: nothing is lost.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
[ -n "${NORDLYS_AGENT:-}" ] || nl_fail "NORDLYS_AGENT is not set"
ALOG="$NL_TMP/agent.log"
agent_stop() {
    # SIGTERM, not the cleanup's SIGKILL: the agent then kills its jobs' process groups.
    [ -n "${AGENT_PID:-}" ] && kill -TERM "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
    AGENT_PID=""
}
trap 'agent_stop; nl_cleanup' EXIT
afail() {
    echo "--- agent log (last 30 lines) ---" >&2
    tail -n 30 "$ALOG" >&2
    nl_fail "$@"
}

nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --node-timeout-ms 3000 --sync-interval-ms 100
"$NORDLYS_AGENT" --controller "$NL_URL" --emulate 4 --noop --state-dir "$NL_TMP/agent" \
    --agent-name it-agent --cgroup-root none >"$ALOG" 2>&1 &
AGENT_PID=$!

# wait_for PATH FILTER [TRIES]: poll GET PATH until the jq FILTER is true (50 ms apart).
wait_for() {
    _i=0
    while :; do
        nl_http GET "$1"
        [ "$NL_STATUS" = 200 ] && [ "$(nl_json "$2")" = true ] && return 0
        _i=$((_i + 1))
        [ $_i -lt "${3:-200}" ] || afail "timed out waiting for $2 on $1: $NL_BODY"
        sleep 0.05
    done
}
submit() {
    nl_http POST /v1/jobs "$1"
    nl_expect 201
    nl_json .job.id
}

wait_for "/v1/nodes?state=up" '(.nodes | length) == 4 and all(.nodes[]; .agent == "it-agent")'

# A 2-node job (8 GPUs = 2 nodes of 4): each rank gets its GPUs, rank and the rendezvous.
J=$(submit '{"gpus":8,"command":["/bin/sh","-c","echo \"rank=$NODE_RANK of=$WORLD_SIZE job=$NORDLYS_JOB_ID gpus=$CUDA_VISIBLE_DEVICES master=$MASTER_ADDR:$MASTER_PORT nodes=$NORDLYS_NODELIST\""]}')
wait_for "/v1/jobs/$J" '.job.state == "COMPLETED" and .job.exit_code == 0'
OUT=$(nl_json .job.stdout)
grep -q "rank=0 of=2 job=$J gpus=0,1,2,3 master=127.0.0.1:[0-9]" "$OUT" || afail "rank 0 output: $(cat "$OUT")"
grep -q "rank=1 of=2 job=$J gpus=0,1,2,3 master=127.0.0.1:[0-9]" "$OUT" || afail "rank 1 output: $(cat "$OUT")"

J=$(submit '{"command":["/bin/sh","-c","exit 3"]}')
wait_for "/v1/jobs/$J" '.job.state == "FAILED" and .job.exit_code == 3'

J=$(submit '{"command":["/no/such/program"]}')
wait_for "/v1/jobs/$J" '.job.state == "FAILED" and .job.exit_code == 127 and .job.exit_reason == "exec /no/such/program: No such file or directory"'
grep -q "job=$J .*exec /no/such/program: No such file or directory" "$ALOG" ||
    afail "no exec failure reason logged"

# Cancel a no-op: it ends at once, and no process ever existed for it.
J=$(submit '{"command":["sleep","600"]}')
wait_for "/v1/jobs/$J" '.job.state == "RUNNING"'
grep -q "job=$J .*started" "$ALOG" && afail "a no-op sleep started a process"
nl_http DELETE "/v1/jobs/$J"
wait_for "/v1/jobs/$J" '.job.state == "CANCELLED"' 40

# Cancel a real job that ignores SIGTERM: SIGKILL comes after its 1 s grace period.
J=$(submit '{"grace_s":1,"command":["/bin/sh","-c","trap \"\" TERM; while :; do sleep 0.1; done"]}')
wait_for "/v1/jobs/$J" '.job.state == "RUNNING"'
sleep 0.3
nl_http DELETE "/v1/jobs/$J"
wait_for "/v1/jobs/$J" '.job.state == "CANCELLED"' 100
grep -q "job=$J .*grace over, SIGKILL" "$ALOG" || afail "job $J was not SIGKILLed after its grace"
grep -q "job=$J .*signal=9" "$ALOG" || afail "job $J did not die of SIGKILL"

# Time limits, for a no-op and for a real process.
J1=$(submit '{"time_limit_s":1,"command":["sleep","100"]}')
J2=$(submit '{"time_limit_s":1,"grace_s":1,"command":["/bin/sleep","100"]}')
wait_for "/v1/jobs/$J1" '.job.state == "TIMEOUT"' 100
wait_for "/v1/jobs/$J2" '.job.state == "TIMEOUT"' 100

# Controller crash: one job keeps running, another ends while the controller is down,
# and one rank of a 2-node job has ended before it: its exit is held, not acknowledged,
# so that the restarted controller hears it again and the gang can end.
JG=$(submit '{"gpus":8,"command":["/bin/sh","-c","[ \"$NODE_RANK\" = 1 ] && exit 0; sleep 4"]}')
wait_for "/v1/jobs/$JG" '.job.state == "RUNNING"'
_i=0
until grep -q "job=$JG run=1 node=.* ended: exit_code=0" "$ALOG"; do
    _i=$((_i + 1)); [ $_i -lt 100 ] || afail "rank 1 of $JG did not end"
    sleep 0.05
done
JR=$(submit '{"command":["sleep","600"]}')
JE=$(submit '{"command":["/bin/sleep","2"]}')
wait_for "/v1/jobs/$JR" '.job.state == "RUNNING"'
wait_for "/v1/jobs/$JE" '.job.state == "RUNNING"'
nl_ctld_kill9
sleep 3
grep -q "job=$JE .*ended: exit_code=0" "$ALOG" || afail "job $JE did not end while the controller was down"
grep -q "sync failed" "$ALOG" || afail "the agent did not notice the controller was gone"
nl_ctld_start "$NL_TMP/state" --listen "127.0.0.1:$NL_PORT" --sched-interval-ms 10 \
    --node-timeout-ms 3000 --sync-interval-ms 100
wait_for "/v1/jobs/$JE" '.job.state == "COMPLETED" and .job.exit_code == 0' 200
wait_for "/v1/jobs/$JR" '.job.state == "RUNNING"'
wait_for "/v1/jobs/$JG" '.job.state == "COMPLETED" and .job.exit_code == 0 and .job.run == 1' 200
[ "$(grep -c "job=$JG run=1 node=.* started" "$ALOG")" = 2 ] || afail "a rank of $JG ran twice"
grep -q "controller .* answers again" "$ALOG" || afail "no recovery line in the agent log"
nl_http DELETE "/v1/jobs/$JR"
wait_for "/v1/jobs/$JR" '.job.state == "CANCELLED"' 40

agent_stop
grep -q "agent it-agent stopped" "$ALOG" || afail "the agent did not stop cleanly on SIGTERM"
echo "agent_run: ok"
