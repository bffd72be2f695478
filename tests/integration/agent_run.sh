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
# Named like nl_agent_start's logs, so that nl_fail shows it.
ALOG="$NL_TMP/agent-it-agent.log"
agent_stop() {
    # SIGTERM, not the cleanup's SIGKILL: the agent then kills its jobs' process groups.
    [ -n "${AGENT_PID:-}" ] && kill -TERM "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
    AGENT_PID=""
}
trap 'agent_stop; nl_cleanup' EXIT
# nl_fail shows the agent's log too (agent-*.log).
afail() { nl_fail "$@"; }

nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --node-timeout-ms 3000 --sync-interval-ms 100
# A proxy for the outside world in the environment (as on many CI machines), and
# no no_proxy: the agent still speaks to its loopback controller directly.
env -u no_proxy -u NO_PROXY http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
    https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
    "$NORDLYS_AGENT" --controller "$NL_URL" --emulate 4 --noop --state-dir "$NL_TMP/agent" \
    --agent-name it-agent --cgroup-root none --token-file "$NL_TMP/agent.token" >"$ALOG" 2>&1 &
AGENT_PID=$!

# wait_for PATH FILTER [SECONDS]: GET PATH until the jq FILTER is true (default 60 s).
wait_for() { nl_wait "$1" "$2" "${3:-60}"; }
# in_log REGEX [SECONDS]: wait until the agent has logged a line matching REGEX.
in_log() { nl_wait_until "grep -q -- '$1' '$ALOG'" "${2:-60}" "/$1/ in the agent log"; }
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
wait_for "/v1/jobs/$J" '.job.state == "CANCELLED"'

# Cancel a real job that ignores SIGTERM: SIGKILL comes after its 1 s grace period.
# The job says when its trap is set; the cancel comes only then. The deadline
# allows for a controller that makes a cancel wait its own 10 s before the
# SIGKILL whatever the job's grace (issue 9), as well as one that honours it.
J=$(submit "{\"grace_s\":1,\"command\":[\"/bin/sh\",\"-c\",\"trap '' TERM; touch $NL_TMP/trapped; while :; do sleep 0.1; done\"]}")
wait_for "/v1/jobs/$J" '.job.state == "RUNNING"'
nl_wait_until "[ -e '$NL_TMP/trapped' ]" 60 "job $J to set its SIGTERM trap"
nl_http DELETE "/v1/jobs/$J"
wait_for "/v1/jobs/$J" '.job.state == "CANCELLED"' 60
grep -q "job=$J .*grace over, SIGKILL" "$ALOG" || afail "job $J was not SIGKILLed after its grace"
grep -q "job=$J .*signal=9" "$ALOG" || afail "job $J did not die of SIGKILL"

# Time limits, for a no-op and for a real process.
J1=$(submit '{"time_limit_s":1,"command":["sleep","100"]}')
J2=$(submit '{"time_limit_s":1,"grace_s":1,"command":["/bin/sleep","100"]}')
wait_for "/v1/jobs/$J1" '.job.state == "TIMEOUT"' 60
wait_for "/v1/jobs/$J2" '.job.state == "TIMEOUT"' 60

# Controller crash: one job keeps running, another ends while the controller is down,
# and one rank of a 2-node job has ended before it: its exit is held, not acknowledged,
# so that the restarted controller hears it again and the gang can end.
# Rank 0 of JG and JE run until the test makes their file (after the kill,
# after the restart), not for a time a loaded machine may outlast.
JG=$(submit "{\"gpus\":8,\"command\":[\"/bin/sh\",\"-c\",\"[ \\\"\$NODE_RANK\\\" = 1 ] && exit 0; while [ ! -e $NL_TMP/go-g ]; do sleep 0.05; done\"]}")
wait_for "/v1/jobs/$JG" '.job.state == "RUNNING"'
in_log "job=$JG run=1 node=.* ended: exit_code=0"
# JR and JE are real processes so that the agent's log says when each launch
# has reached it: the controller dies only after that.
JR=$(submit '{"command":["/bin/sleep","600"]}')
JE=$(submit "{\"command\":[\"/bin/sh\",\"-c\",\"while [ ! -e $NL_TMP/go-e ]; do sleep 0.05; done\"]}")
wait_for "/v1/jobs/$JR" '.job.state == "RUNNING"'
wait_for "/v1/jobs/$JE" '.job.state == "RUNNING"'
in_log "job=$JR run=1 node=.* started"
in_log "job=$JE run=1 node=.* started"
nl_ctld_kill9
touch "$NL_TMP/go-e"
in_log "job=$JE run=1 node=.* ended: exit_code=0"
in_log "sync failed"
nl_ctld_start "$NL_TMP/state" --listen "127.0.0.1:$NL_PORT" --sched-interval-ms 10 \
    --node-timeout-ms 3000 --sync-interval-ms 100
wait_for "/v1/jobs/$JE" '.job.state == "COMPLETED" and .job.exit_code == 0'
wait_for "/v1/jobs/$JR" '.job.state == "RUNNING"'
touch "$NL_TMP/go-g"
wait_for "/v1/jobs/$JG" '.job.state == "COMPLETED" and .job.exit_code == 0 and .job.run == 1'
[ "$(grep -c "job=$JG run=1 node=.* started" "$ALOG")" = 2 ] || afail "a rank of $JG ran twice"
grep -q "controller .* answers again" "$ALOG" || afail "no recovery line in the agent log"
nl_http DELETE "/v1/jobs/$JR"
wait_for "/v1/jobs/$JR" '.job.state == "CANCELLED"' 60

agent_stop
grep -q "agent it-agent stopped" "$ALOG" || afail "the agent did not stop cleanly on SIGTERM"
echo "agent_run: ok"
