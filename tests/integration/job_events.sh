#!/bin/sh
# job_events: the dashboard's numbers behind the page (issue 14), end to end
# with the dev facility and one emulating agent:
#  - GET /v1/jobs/ID/events: a job submitted held, released, started on
#    named nodes, requeued, started again and cancelled has those events in
#    that order; a user of another tenant gets 404, one of its own 200;
#    the history is the same after a restart of the controller;
#  - GET /v1/queue: pending jobs by tier, as /v1/tenants counts them, with
#    wait percentiles in order;
#  - the agents' GPU temperature and draw reach /v1/racks, and each site's
#    measured draw /v1/facility/power;
#  - a budget cut that caps a job, then lifted: "capped" and "cap_lifted" in
#    its history, none in the uncapped job's.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
S=$NL_TMP/state
nl_ctld_start "$S" --sched-interval-ms 10 --sync-interval-ms 100
PORT=$NL_PORT
nl_agent_start em --emulate 4 --noop
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4'

# ---- a job's state history ----
J=$(nl_submit '{"name":"hist","tenant":"nor-research","gpus":8,"hold":true,"command":["sleep","600"]}')
nl_http GET "/v1/jobs/$J/events"
nl_expect 200 '[.events[].kind] == ["submitted", "held"]'
nl_http DELETE "/v1/jobs/$J/hold"
nl_expect 200
nl_wait "/v1/jobs/$J" '.job.state == "RUNNING"' 60
nl_http GET "/v1/jobs/$J"
NODES=$(nl_json '.job.nodes | sort | join(",")')
nl_http GET "/v1/jobs/$J/events"
nl_expect 200 '[.events[].kind] == ["submitted", "held", "released", "started"]'
[ "$(nl_json '.events[3].nodes | sort | join(",")')" = "$NODES" ] ||
    nl_fail "started on $(nl_json '.events[3].nodes') but the job runs on $NODES"
nl_expect 200 '[.events[].time] == ([.events[].time] | sort) and .events[3].run == 1'
nl_http POST "/v1/jobs/$J/requeue"
nl_expect 200
nl_wait "/v1/jobs/$J" '.job.state == "RUNNING" and .job.run == 2' 60
nl_http DELETE "/v1/jobs/$J"
nl_expect 200
nl_wait "/v1/jobs/$J" '.job.state == "CANCELLED"' 60
WANT='["submitted","held","released","started","requeued","started","ended"]'
nl_wait "/v1/jobs/$J/events" "[.events[].kind] == $WANT and .events[6].state == \"CANCELLED\"" 60
nl_expect 200 '.events[4].run == 1 and .events[5].run == 2 and .events[6].run == 2'
BEFORE=$NL_BODY

# The CLI's view of it: one line an event, the nodes named.
if [ -n "${NORDLYS_CLI:-}" ]; then
    nl_cli events "$J"
    [ "$NL_RC" = 0 ] || nl_fail "nordlys events $J: $NL_ERR"
    [ "$(awk 'NR > 1 {print $3}' "$NL_TMP/cli.out" | paste -sd, -)" = \
        "submitted,held,released,started,requeued,started,ended" ] ||
        nl_fail "nordlys events $J printed: $(cat "$NL_TMP/cli.out")"
    grep -q "ended .*run 2; CANCELLED" "$NL_TMP/cli.out" || nl_fail "no end line: $(cat "$NL_TMP/cli.out")"
    for n in $(printf '%s' "$NODES" | tr , ' '); do
        grep -q "started .*$n" "$NL_TMP/cli.out" || nl_fail "nordlys events does not name $n"
    done
    nl_cli events "${J}_3"
    [ "$NL_RC" != 0 ] || nl_fail "nordlys events ID_N should be refused"
    grep -q "own job id" "$NL_TMP/cli.err" || nl_fail "nordlys events ID_N said: $(cat "$NL_TMP/cli.err")"
fi

# Who may read it: its tenant's users, nobody of another tenant.
ALICE=$(nl_token "$S" --user alice --role user --tenant nor-research --ttl 1h) || nl_fail "token"
BOB=$(nl_token "$S" --user bob --role user --tenant anchor --ttl 1h) || nl_fail "token"
NL_HTTP_TOKEN=$ALICE nl_http GET "/v1/jobs/$J/events"
nl_expect 200 '.events | length == 7'
NL_HTTP_TOKEN=$BOB nl_http GET "/v1/jobs/$J/events"
nl_expect 404 '.error.code == "not_found"'
nl_http GET "/v1/jobs/999999/events"
nl_expect 404
nl_http GET "/v1/jobs/x/events"
nl_expect 400 '.error.field == "id"'

# Durable: the same history after a restart.
nl_ctld_stop
nl_ctld_start "$S" --listen "127.0.0.1:$PORT" --sched-interval-ms 10 --sync-interval-ms 100
nl_http GET "/v1/jobs/$J/events"
nl_expect 200
[ "$(printf '%s' "$NL_BODY" | jq -cS .)" = "$(printf '%s' "$BEFORE" | jq -cS .)" ] ||
    nl_fail "events changed over a restart: before $BEFORE, after $NL_BODY"
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4' 60

# ---- the queue by tier ----
for t in nor-research anchor anchor uk uk; do
    nl_submit "{\"tenant\":\"$t\",\"gpus\":16,\"command\":[\"sleep\",\"600\"]}" >/dev/null
done
nl_wait /v1/facility '.jobs_running == 1 and .jobs_pending == 4' 60
nl_http GET /v1/tenants
TENANTS=$NL_BODY
nl_http GET /v1/queue
nl_expect 200 '[.tiers[].pending] | add == 4'
for tier in $(nl_json '.tiers[].tier'); do
    want=$(printf '%s' "$TENANTS" | jq "[.tenants[] | select(.tier == \"$tier\") | .jobs_pending] | add")
    nl_expect 200 "(.tiers[] | select(.tier == \"$tier\") | .pending) == $want"
done
nl_expect 200 '[.tiers[] | select(.pending > 0) | .wait_p50_s <= .wait_p90_s and .wait_p90_s <= .wait_max_s and .wait_p50_s >= 0] | all'
nl_expect 200 '[.tiers[] | select(.pending == 0) | .wait_p50_s == null] | all'
NL_HTTP_TOKEN=$BOB nl_http GET /v1/queue
nl_expect 200
NL_HTTP_TOKEN=not-a-token nl_http GET /v1/queue
nl_expect 401

# ---- measured draw and temperature ----
# The modelled GPUs: 25 C idle, up to 70 C at their nameplate draw.
nl_wait /v1/racks '([.temp_c[] | . != null and . > 20 and . < 80] | all) and ([.power_w[] | . > 0] | all)' 60
nl_wait /v1/facility/power '.sites[0].measured_nodes == 4 and .sites[0].measured_w > 0' 60
nl_expect 200 '([.sites[].measured_it_w] | add) == .measured_it_w'
# ---- a power cap in the history: when it started and when it was lifted ----
nl_http DELETE "/v1/jobs?state=PENDING,RUNNING"
nl_expect 200
nl_wait /v1/facility '.jobs_running == 0 and .jobs_pending == 0' 60
SOV=$(nl_submit '{"name":"sov","tenant":"nor-research","gpus":4,"command":["sleep","600"]}')
REG=$(nl_submit '{"name":"reg","tenant":"uk","gpus":12,"preemptible":true,"command":["sleep","600"]}')
nl_wait "/v1/jobs/$REG" '.job.state == "RUNNING"' 60
nl_wait /v1/facility/power '.measured_nodes == 4 and .measured_w > 28000' 60
# 27 kW against about 31.7: the regional job is capped, the sovereign one not (docs/power.md).
nl_http PUT /v1/facility/budget '{"budget_w":27000}'
nl_expect 200
nl_wait "/v1/jobs/$REG/events" '[.events[].kind] == ["submitted", "started", "capped"]' 60
nl_expect 200 '.events[2].detail | test("W per GPU")'
nl_http PUT /v1/facility/budget '{"budget_w":0}'
nl_expect 200
nl_wait "/v1/jobs/$REG/events" '[.events[].kind] == ["submitted", "started", "capped", "cap_lifted"]' 60
nl_http GET "/v1/jobs/$SOV/events"
nl_expect 200 '[.events[].kind] == ["submitted", "started"]'
echo "job_events: ok"
