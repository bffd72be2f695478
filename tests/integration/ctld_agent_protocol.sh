#!/bin/sh
# ctld_agent_protocol: the test plays an agent over HTTP. Register nodes,
# get launches with the documented environment (GPUs, rendezvous variables,
# job id, run number, node list), report exits (idempotently), cancel a
# running job, kill stray processes, and lose a node: its job is requeued,
# and when the silent agent comes back still running the old run (issue 3),
# that run is killed, its exit is ignored and the new run decides.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
# The test is the agent: its syncs come between its other requests, each a curl
# and a jq or two, seconds apart on a loaded machine. The node timeout is long
# against that, so that nodes go down only where the test falls silent on purpose.
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --node-timeout-ms 10000

nl_http GET "/v1/nodes?state=unregistered&limit=2"
nl_expect 200 '(.nodes | length) == 2'
N0=$(nl_json '.nodes[0].name')
N1=$(nl_json '.nodes[1].name')
nl_http POST /v1/agent/register "{\"agent\":\"fake-1\",\"nodes\":[\"$N0\",\"$N1\"],\"emulated\":true}"
nl_expect 200 '.agent_id == "fake-1" and .node_timeout_ms == 10000 and .sync_interval_ms > 0'
nl_http GET "/v1/nodes?state=up"
nl_expect 200 "[.nodes[].name] == [\"$N0\", \"$N1\"] and all(.nodes[]; .agent == \"fake-1\" and .free == 4)"

sync() { nl_http POST /v1/agent/sync "{\"agent_id\":\"fake-1\"$1}"; nl_expect 200; }
# wait_launch N [EXTRA]: sync until an answer carries N launches (the pass runs every 10 ms).
wait_launch() {
    nl_sync_until fake-1 "${2:-}" "nl_is '(.launch | length) >= $1'" 60 "$1 launches"
}

# A two-node job: one launch per node, ranks 0 and 1, rendezvous on rank 0.
nl_http POST /v1/jobs '{"command":["torchrun","train.py"],"gpus":8,"env":{"A":"1"},"cwd":"/tmp"}'
nl_expect 201
J=$(nl_json .job.id)
wait_launch 2
L="$NL_BODY"
nl_expect 200 "[.launch[].job] == [$J, $J] and [.launch[].run] == [1, 1] and ([.launch[].node] | sort) == ([\"$N0\", \"$N1\"] | sort)"
nl_expect 200 "all(.launch[]; .gpus == [0,1,2,3] and .env.CUDA_VISIBLE_DEVICES == \"0,1,2,3\" and .env.NORDLYS_JOB_ID == \"$J\" and .env.NORDLYS_RUN == \"1\" and .env.WORLD_SIZE == \"2\" and .env.MASTER_ADDR == \"127.0.0.1\" and .env.A == \"1\" and .cwd == \"/tmp\" and .command == [\"torchrun\",\"train.py\"] and .time_limit_s == 3600)"
nl_expect 200 '([.launch[].env.NODE_RANK] | sort) == ["0", "1"] and (.launch[0].env.MASTER_PORT == .launch[1].env.MASTER_PORT)'
nl_expect 200 "(.launch[0].env.NORDLYS_NODELIST | split(\",\") | sort) == ([\"$N0\", \"$N1\"] | sort)"
nl_expect 200 ".launch[0].stdout == \"$J/stdout\""
# The output directory is the agent's to create (docs/api.md); agent_run checks the files.
nl_http GET "/v1/jobs/$J"
nl_expect 200 '.job.state == "RUNNING" and .job.start_time != null and (.job.nodes | length) == 2 and .job.run == 1'
# The launch is handed out once only.
sync ",\"running\":[{\"job\":$J,\"run\":1,\"node\":\"$N0\"},{\"job\":$J,\"run\":1,\"node\":\"$N1\"}]"
nl_expect 200 '(.launch | length) == 0 and (.kill | length) == 0'

# Controls (issue 12): resent in every answer until a sync acknowledges their seq in
# "applied"; an agent that never sends "applied" gets each once.
R=",\"running\":[{\"job\":$J,\"run\":1,\"node\":\"$N0\"},{\"job\":$J,\"run\":1,\"node\":\"$N1\"}]"
nl_http POST "/v1/jobs/$J/signal" '{"signal":"USR1"}'
nl_expect 200 '.job.signal.ranks == 2'
sync "$R,\"applied\":[]"
nl_expect 200 "(.signal | length) == 1 and .signal[0].job == $J and .signal[0].run == 1 and .signal[0].signal == 10 and .signal[0].seq >= 1"
SEQ=$(nl_json '.signal[0].seq')
sync "$R,\"applied\":[]" # as if that answer was lost: the same control again
nl_expect 200 "(.signal | length) == 1 and .signal[0].seq == $SEQ"
sync "$R,\"applied\":[$SEQ]"
nl_expect 200 '.signal == null'
sync "$R,\"applied\":[$SEQ]" # acknowledged again (its answer was lost): nothing changes
nl_expect 200 '.signal == null'
nl_http POST "/v1/jobs/$J/signal" '{"signal":"USR2"}'
nl_expect 200
sync "$R"
nl_expect 200 '(.signal | length) == 1 and .signal[0].signal == 12'
sync "$R"
nl_expect 200 '.signal == null'

# Rank 1 exits 0, then rank 0 exits 3: the job FAILED with code 3. Repeats change nothing.
# Rank 1's exit is held (the agent reports it again) until the gang has ended.
EX1="{\"job\":$J,\"run\":1,\"node\":\"$N1\",\"exit_code\":0,\"signal\":0,\"timeout\":false,\"cpu_s\":1.5,\"max_rss_kb\":100,\"start_time\":1,\"end_time\":2}"
EX0="{\"job\":$J,\"run\":1,\"node\":\"$N0\",\"exit_code\":3,\"signal\":0,\"cpu_s\":0.5,\"max_rss_kb\":300}"
sync ",\"running\":[{\"job\":$J,\"run\":1,\"node\":\"$N0\"}],\"exits\":[$EX1]"
nl_expect 200 ".hold == [{\"job\": $J, \"run\": 1, \"node\": \"$N1\"}]"
nl_http GET "/v1/jobs/$J"
nl_expect 200 '.job.state == "RUNNING"'
sync ",\"exits\":[$EX1,$EX0]"
nl_expect 200 '.hold == null'
sync ",\"exits\":[$EX0]"
nl_expect 200 '.hold == null'
nl_http GET "/v1/jobs/$J"
nl_expect 200 '.job.state == "FAILED" and .job.exit_code == 3 and .job.end_time != null and .job.cpu_s == 2 and .job.max_rss_kb == 300'

# Cancel a running job: 200 at once, the kill arrives with a sync, the exit ends it CANCELLED.
nl_http POST /v1/jobs '{"command":["sleep","1000"],"gpus":4}'
K=$(nl_json .job.id)
wait_launch 1
KN=$(nl_json '.launch[0].node')
nl_http DELETE "/v1/jobs/$K"
nl_expect 200 ".job.state == \"RUNNING\" and .job.cancel == \"killing\""
nl_sync_until fake-1 ",\"running\":[{\"job\":$K,\"run\":1,\"node\":\"$KN\"}]" \
    "nl_is '[.kill[] | select(.job == $K and .run == 1 and .reason == \"cancel\")] | length == 1'" 60 \
    "the kill of cancelled job $K"
sync ",\"exits\":[{\"job\":$K,\"run\":1,\"node\":\"$KN\",\"exit_code\":0,\"signal\":15}]"
nl_http GET "/v1/jobs/$K"
nl_expect 200 '.job.state == "CANCELLED"'

# A process the controller does not run there is killed ("unknown").
sync ",\"running\":[{\"job\":$K,\"run\":1,\"node\":\"$KN\"}]"
nl_expect 200 "[.kill[] | select(.job == $K and .run == 1 and .reason == \"unknown\")] | length == 1"

# Node loss: the agent goes silent; its job becomes NODE_FAIL and is requeued (it asked).
nl_http POST /v1/jobs '{"command":["sleep","1000"],"gpus":4,"requeue":true}'
R=$(nl_json .job.id)
wait_launch 1
RN=$(nl_json '.launch[0].node')
# The agent stays silent for longer than the node timeout (10 s).
nl_wait "/v1/nodes?state=down" '(.nodes | length) == 2' 60
nl_wait "/v1/jobs/$R" '.job.state == "PENDING" and (.job.nodes | length) == 0' 60
grep -q "job=$R run=1 lost" "$NL_LOG" || nl_fail "node loss not logged"
# The agent comes back, still running run 1 (issue 3): that run is killed by
# number, and the job starts again as run 2 (here on the same two nodes).
RUN1="{\"job\":$R,\"run\":1,\"node\":\"$RN\"}"
sync ",\"running\":[$RUN1]"
nl_expect 200 "[.kill[] | select(.job == $R and .run == 1)] | length == 1"
wait_launch 1 ",\"running\":[$RUN1]"
nl_expect 200 ".launch[0].job == $R and .launch[0].run == 2 and .launch[0].env.NORDLYS_RUN == \"2\""
R2N=$(nl_json '.launch[0].node')
# The old run's exit (it died of the kill) is not the new run's: the job runs on.
sync ",\"running\":[{\"job\":$R,\"run\":2,\"node\":\"$R2N\"}],\"exits\":[{\"job\":$R,\"run\":1,\"node\":\"$RN\",\"exit_code\":137,\"signal\":9}]"
nl_expect 200 "[.kill[] | select(.job == $R)] | length == 0"
nl_http GET "/v1/jobs/$R"
nl_expect 200 '.job.state == "RUNNING" and .job.run == 2'
sync ",\"exits\":[{\"job\":$R,\"run\":2,\"node\":\"$R2N\",\"exit_code\":0,\"signal\":0}]"
nl_http GET "/v1/jobs/$R"
nl_expect 200 '.job.state == "COMPLETED" and .job.run == 2 and .job.exit_code == 0'
# A launch failure's reason is kept with the job.
nl_http POST /v1/jobs '{"command":["/no/such"],"gpus":4,"requeue":false}'
X=$(nl_json .job.id)
wait_launch 1
XN=$(nl_json '.launch[0].node')
sync ",\"exits\":[{\"job\":$X,\"run\":1,\"node\":\"$XN\",\"exit_code\":127,\"signal\":0,\"reason\":\"exec /no/such: No such file or directory\"}]"
nl_http GET "/v1/jobs/$X"
nl_expect 200 '.job.state == "FAILED" and .job.exit_code == 127 and .job.exit_reason == "exec /no/such: No such file or directory"'
# A job that did not ask for requeue ends NODE_FAIL.
nl_http POST /v1/jobs '{"command":["sleep","1000"],"gpus":4,"requeue":false}'
F=$(nl_json .job.id)
wait_launch 1
nl_wait "/v1/jobs/$F" '.job.state == "NODE_FAIL" and (.job.exit_reason | contains("stopped syncing"))' 60
echo "ctld_agent_protocol: ok"
