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
echo "power: ok"
