#!/bin/sh
# power: a budget cut answered by capping, end to end (docs/power.md). The dev
# facility (16 GPUs, PUE 1.1) with one emulating agent for its 4 nodes, whose
# modelled GPUs report their draw with every sync:
#  - a sovereign job (nor-research, 4 GPUs) and a regional one (uk, 12 GPUs)
#    run; every node's measured draw reaches the controller;
#  - a user may not set a budget (403); a budget below the idle draw is refused
#    by the CLI with the idle draw named;
#  - `nordlys facility budget` lowers it below the draw: the regional job is
#    capped (the agent applies the cap to its 12 GPUs only), the sovereign job
#    is not, the measured facility draw falls under the budget, nothing is
#    preempted; the change is in the audit log;
#  - the budget is raised: the cap goes, the agent restores the 12 GPUs;
#  - a cut deeper than capping can close preempts the regional job, never the
#    sovereign one;
#  - a rack's limit is lowered through `nordlys facility limit`: the jobs under
#    that rack are capped (the regional one, the sovereign one untouched),
#    the rack's draw falls under its limit; a user may not set one (403); bad
#    input is named; the change is audited; `default` lifts it again;
#  - energy shows in /metrics per tenant and site, and per job and tenant
#    (IT, facility, emissions) through `nordlys usage --by`;
#  - the budget and a job's stored energy survive a restart of the controller.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100
nl_agent_start em --emulate 4 --noop
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4'

S=$(nl_submit '{"name":"sov","tenant":"nor-research","gpus":4,"command":["sleep","600"]}')
R=$(nl_submit '{"name":"reg","tenant":"uk","gpus":12,"preemptible":true,"command":["sleep","600"]}')
nl_wait "/v1/jobs/$S" '.job.state == "RUNNING"'
nl_wait "/v1/jobs/$R" '.job.state == "RUNNING"'
# Every node reported; all 16 GPUs busy at 1,800 W: 16 x 1.8 kW x 1.1 = 31.68 kW.
nl_wait /v1/facility/power '.measured_nodes == 4 and .measured_w > 28000 and .power_w > 31000' 60

# Who may set it, and what cannot be asked.
USER_TOKEN=$(nl_token "$NL_STATE" --user bob --role user --tenant uk --ttl 1h) ||
    nl_fail "cannot mint a user token"
NL_HTTP_TOKEN=$USER_TOKEN nl_http PUT /v1/facility/budget '{"budget_mw":0.02}'
nl_expect 403
nl_http PUT /v1/facility/budget '{"budget_mw":"lots"}'
nl_expect 400 '.error.message | test("budget_mw")'
nl_cli facility budget 5kW
[ "$NL_RC" = 1 ] || nl_fail "a budget below the idle draw was not refused (rc $NL_RC): $NL_OUT"
grep -q "below the facility's idle draw of 0.006 MW" "$NL_TMP/cli.err" ||
    nl_fail "the refusal does not name the idle draw: $(cat "$NL_TMP/cli.err")"
nl_cli facility budget 12parsecs
[ "$NL_RC" = 2 ] || nl_fail "a budget that is no power was not a usage error (rc $NL_RC)"

# 27 kW: the regional job gives about half its headroom, the sovereign job nothing.
nl_cli facility budget 27kW
[ "$NL_RC" = 0 ] || nl_fail "facility budget 27kW failed: $(cat "$NL_TMP/cli.err")"
grep -q "budget  *27.0 kW" "$NL_TMP/cli.out" || nl_fail "facility budget printed: $(cat "$NL_TMP/cli.out")"
# Decided by the next pass (10 ms): the answer of the next request already shows it.
nl_wait /v1/facility/power ".jobs_capped == 1 and .capped[0].id == $R and .power_w <= 27000" 60
nl_http GET "/v1/jobs/$S"
nl_expect 200 '.job.power_cap_w == null and .job.state == "RUNNING" and .job.preemptions == 0'
nl_http GET "/v1/jobs/$R"
nl_expect 200 '.job.power_cap_w > 1080 and .job.power_cap_w < 1800 and .job.state == "RUNNING"'
# The agent caps exactly the regional job's 12 GPUs, and the measured draw follows.
nl_wait_until 'grep -q "power caps: 12 GPUs changed, 3 caps in force" "$NL_TMP/agent-em.log"' 60 \
    "the agent to cap the regional job's 12 GPUs"
nl_wait /v1/facility/power '.measured_nodes == 4 and .measured_w <= .budget_w' 60
nl_http GET /v1/facility/power
nl_expect 200 '.power_preemptions == 0'
nl_http GET /v1/audit
nl_expect 200 '[.lines[] | select(test("facility budget 0.027 MW"))] | length == 1'

# The budget is raised: the cap goes and the GPUs get their limits back.
nl_cli facility budget none
[ "$NL_RC" = 0 ] || nl_fail "facility budget none failed: $(cat "$NL_TMP/cli.err")"
nl_wait /v1/facility/power '.jobs_capped == 0 and .budget_w == 0' 60
nl_http GET "/v1/jobs/$R"
nl_expect 200 '.job.power_cap_w == null'
nl_wait_until 'grep -q "power caps: 12 GPUs changed, 0 caps in force" "$NL_TMP/agent-em.log"' 60 \
    "the agent to restore the 12 GPUs"
nl_wait /v1/facility/power '.measured_w > 28000' 60

# One rack's limit (IT power): the dev facility's 2 racks of 8 GPUs; the sovereign job's rack
# also holds 4 of the regional job's GPUs. Its draw at nameplate: 8 x 1,800 W = 14.4 kW.
RACK=$(nl_http GET "/v1/jobs/$S" >/dev/null; printf '%s' "$NL_BODY" | jq -r '.job.nodes[0] // empty')
[ -n "$RACK" ] || nl_fail "no node for the sovereign job: $NL_BODY"
RACK=$(printf '%s' "$RACK" | sed -E 's/.*-r0*([0-9]+)-n.*/\1/')
NL_HTTP_TOKEN=$USER_TOKEN nl_http PUT /v1/facility/limit "{\"level\":\"rack\",\"index\":$RACK,\"limit_kw\":13}"
nl_expect 403
nl_http PUT /v1/facility/limit '{"level":"shelf","index":0,"limit_w":1}'
nl_expect 400 '.error.message | test("level")'
nl_http PUT /v1/facility/limit '{"level":"rack","index":7,"limit_w":1}'
nl_expect 400 '.error.message | test("rack 7 does not exist")'
nl_cli facility limit rack x 1kW
[ "$NL_RC" = 2 ] || nl_fail "a rack index that is no number was not a usage error (rc $NL_RC)"
# 13 kW: the regional job gives 1.4 kW of its 4 GPUs' headroom there (2.88 kW); the sovereign job nothing.
nl_cli facility limit rack "$RACK" 13kW
[ "$NL_RC" = 0 ] || nl_fail "facility limit rack $RACK 13kW failed: $(cat "$NL_TMP/cli.err")"
grep -q "^rack $RACK  limit 13.0 kW" "$NL_TMP/cli.out" || nl_fail "facility limit printed: $(cat "$NL_TMP/cli.out")"
nl_wait /v1/facility/power ".jobs_capped == 1 and .capped[0].id == $R" 60
nl_http GET "/v1/jobs/$S"
nl_expect 200 '.job.power_cap_w == null and .job.state == "RUNNING"'
nl_http PUT /v1/facility/limit "{\"level\":\"rack\",\"index\":$RACK,\"limit_kw\":13}"
# Answered before the next pass: the sovereign job's readings (within 3 % of its draw) may have
# moved the rack's counted draw since the last one, by at most 4 GPUs x 3 % x 1,800 W.
nl_expect 200 '.limit_w == 13000 and .draw_w <= .limit_w + 4 * 0.03 * 1800'
nl_http GET /v1/audit
nl_expect 200 "[.lines[] | select(test(\"power limit rack $RACK 0.013 MW\"))] | length >= 1"
nl_cli facility limit rack "$RACK" default
[ "$NL_RC" = 0 ] || nl_fail "facility limit rack $RACK default failed: $(cat "$NL_TMP/cli.err")"
nl_wait /v1/facility/power '.jobs_capped == 0' 60

# Deeper than capping everything can go (the floor is 16 x 1,080 W of IT: 19 kW with PUE):
# the regional job is preempted, the sovereign job keeps running.
nl_http PUT /v1/facility/budget '{"budget_w":18000}'
nl_expect 200
nl_wait "/v1/jobs/$R" '.job.preemptions == 1' 60
nl_http GET "/v1/jobs/$S"
nl_expect 200 '.job.state == "RUNNING" and .job.preemptions == 0'
nl_wait /v1/facility/power '.power_w <= 18000 and .power_preemptions == 1' 60

# Accounting: Prometheus watts and joules per tenant and site; energy per tenant and per job.
nl_http GET /metrics
printf '%s\n' "$NL_BODY" | grep -Eq '^nordlys_tenant_energy_joules_total\{tenant="nor-research"\} [0-9.e+]+$' ||
    nl_fail "no tenant energy counter in /metrics"
printf '%s\n' "$NL_BODY" | grep -q '^nordlys_tenant_energy_joules_total{tenant="nor-research"} 0$' &&
    nl_fail "the sovereign tenant's energy counter is 0"
printf '%s\n' "$NL_BODY" | grep -Eq '^nordlys_site_power_watts\{site="dev"\} [1-9]' ||
    nl_fail "no site power gauge in /metrics"
printf '%s\n' "$NL_BODY" | grep -Eq '^nordlys_power_measured_watts [1-9]' || nl_fail "no measured draw in /metrics"
# The sovereign job ends: its energy is stored, IT and facility apart.
nl_http DELETE "/v1/jobs/$S"
nl_wait "/v1/jobs/$S" '.job.state == "CANCELLED"' 60
nl_cli usage --by job --grid 20 --json
[ "$NL_RC" = 0 ] || nl_fail "usage --by job failed: $(cat "$NL_TMP/cli.err")"
jq -e "[.jobs[] | select(.id == $S and .state == \"CANCELLED\" and .it_kwh > 0 and
        .facility_kwh > .it_kwh and (.co2_kg - .facility_kwh * 0.02 | fabs) < 1e-9)] | length == 1" \
    "$NL_TMP/cli.out" >/dev/null || nl_fail "usage --by job: $(cat "$NL_TMP/cli.out")"
S_KWH=$(jq ".jobs[] | select(.id == $S) | .facility_kwh" "$NL_TMP/cli.out")
nl_cli usage --by tenant --since 0
[ "$NL_RC" = 0 ] || nl_fail "usage --by tenant failed: $(cat "$NL_TMP/cli.err")"
grep -q "^nor-research  *sovereign" "$NL_TMP/cli.out" || nl_fail "usage --by tenant: $(cat "$NL_TMP/cli.out")"
nl_http GET "/v1/energy?since=yesterday"
nl_expect 400 '.error.field == "since"'

# The budget and the accounting outlive the controller.
nl_ctld_stop
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100 --listen "127.0.0.1:$NL_PORT"
nl_http GET /v1/facility/power
nl_expect 200 '.budget_w == 18000'
nl_http GET "/v1/energy?by=job"
nl_expect 200 "[.jobs[] | select(.id == $S and .facility_kwh == $S_KWH)] | length == 1"
# Parts add up to the whole: over one closed window, the jobs' GPU-hours and
# IT and facility energy sum to the tenants' (the window ends before now, so
# no running job's growing share is in either answer).
UNTIL=$(($(date +%s) + 1)) # the next whole second: after the end of every job that has ended
nl_wait_until "[ \$(date +%s) -gt $UNTIL ]" 60 "the window to close"
nl_http GET "/v1/energy?by=job&since=0&until=$UNTIL"
nl_expect 200
BYJOB=$NL_BODY
nl_http GET "/v1/energy?since=0&until=$UNTIL"
nl_expect 200
jq -ne --argjson j "$BYJOB" --argjson t "$NL_BODY" '
    def close(a; b): (a - b | fabs) <= 1e-9 * ([a, b, 1] | max);
    ($j.jobs | length) > 0 and
    (["gpu_hours", "it_kwh", "facility_kwh"] | all(. as $k |
        close([$j.jobs[][$k]] | add; [$t.tenants[][$k]] | add)))' >/dev/null ||
    nl_fail "the jobs' energy does not add up to the tenants': $BYJOB / $NL_BODY"
echo "power: ok"
