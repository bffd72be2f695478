#!/bin/sh
# ctld_api: submit, list (with filters), show and cancel through the real
# nordlysd; health, facility, tenants, usage and /metrics answer.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state"

nl_http GET /v1/health
nl_expect 200 '.status == "ok"'

nl_http POST /v1/jobs '{"name":"a","command":["true"],"gpus":2,"tenant":"anchor"}'
nl_expect 201 '.job.id > 0 and .job.state == "PENDING" and .job.tenant == "anchor" and .job.tier == "anchor" and .job.gpus == 2'
A=$(nl_json .job.id)
nl_expect 201 ".job.stdout == \"$A/stdout\""
nl_http POST /v1/jobs '{"name":"b","command":["sleep","5"],"env":{"K":"V"},"cwd":"/tmp"}'
nl_expect 201 '.job.name == "b" and .job.env.K == "V" and .job.cwd == "/tmp" and .job.tenant == "nor-research"'
B=$(nl_json .job.id)
[ "$B" -gt "$A" ] || nl_fail "ids must grow: $A then $B"

nl_http GET "/v1/jobs/$A"
nl_expect 200 ".job.id == $A and .job.name == \"a\" and .job.command == [\"true\"]"
# Without agents no node is up, so the job waits and says why.
nl_expect 200 '.job.reason != null and .job.reason_text != null'

nl_http GET /v1/jobs
nl_expect 200 "[.jobs[].id] == [$B, $A]"
nl_http GET "/v1/jobs?tenant=anchor"
nl_expect 200 "[.jobs[].id] == [$A]"
nl_http GET "/v1/jobs?limit=1"
nl_expect 200 "[.jobs[].id] == [$B]"
nl_http GET "/v1/jobs?state=PENDING,RUNNING"
nl_expect 200 '(.jobs | length) == 2'

nl_http DELETE "/v1/jobs/$A"
nl_expect 200 ".job.id == $A and .job.state == \"CANCELLED\" and .job.end_time != null"
nl_http DELETE "/v1/jobs/$A"
nl_expect 409 '.error.code == "conflict" and .error.field == "id"'
nl_http GET "/v1/jobs?state=CANCELLED"
nl_expect 200 "[.jobs[].id] == [$A]"
nl_http GET "/v1/jobs?state=pending"
nl_expect 200 "[.jobs[].id] == [$B]"
nl_http GET /v1/jobs/999999
nl_expect 404 '.error.code == "not_found"'

nl_http GET /v1/facility
nl_expect 200 '.name == "dev" and .gpus_total == 16 and .jobs_pending == 1 and (.sites | length) >= 1 and .power_budget_w >= 0'
nl_http GET /v1/tenants
nl_expect 200 '(.tenants | map(.name) | index("anchor")) != null and (.tenants[0] | has("quota_gpus"))'
nl_http GET /v1/usage
nl_expect 200 '(.tenants | length) >= 6 and (.tenants[0] | has("gpu_hours"))'
nl_http GET "/v1/nodes?state=unregistered&limit=3"
nl_expect 200 '(.nodes | length) == 3 and all(.nodes[]; .state == "unregistered")'

nl_http GET /metrics
[ "$NL_STATUS" = 200 ] || nl_fail "metrics: $NL_STATUS"
for m in 'nordlys_jobs{state="PENDING",tier="sovereign"} 1' 'nordlys_jobs_submitted_total 2' \
         'nordlys_gpus_allocated{tier="anchor"} 0' 'nordlys_queue_wait_seconds_bucket' \
         'nordlys_sched_cycle_seconds_count' 'nordlys_power_budget_watts' \
         'nordlys_api_request_duration_seconds_count{route="POST /v1/jobs"} 2' \
         'nordlys_jobs_ended_total{state="CANCELLED",tier="anchor"} 1'; do
    printf '%s\n' "$NL_BODY" | grep -qF "$m" || nl_fail "metrics lack '$m'"
done

nl_ctld_stop || nl_fail "nordlysd did not stop cleanly on SIGTERM"
[ ! -e "$NL_TMP/state/ctld.port" ] || nl_fail "port file left behind"
echo "ctld_api: ok"
