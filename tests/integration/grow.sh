#!/bin/sh
# grow: expansion online (issue 11, docs/power.md), end to end through the CLI.
# The dev facility (2 racks of 2 nodes of 4 GPUs, 50 kW) with one emulating
# agent for its 4 nodes:
#  - a job holds all 16 GPUs; a second one of 8 GPUs (another tenant: quotas
#    stay as the facility file sized them) waits for resources;
#  - a user may not add racks (403); bad requests are 400s naming the field
#    (unknown field, missing racks, a shape that differs from the site's, a
#    site that is not the last, racks whose idle draw would pass the budget),
#    and change nothing;
#  - `nordlys facility add-racks dev 2 --power 20kW` adds 2 racks (16 GPUs)
#    to the running controller: /v1/racks and /v1/nodes show them, down until
#    an agent serves them; the budget rises by 20 kW; the change is audited;
#  - a second agent registers for the new nodes and the waiting job starts
#    there (and only there: the first job still holds the old ones);
#  - an operator sets a budget; a new site after it (another jurisdiction)
#    through the API raises it by the racks' power;
#  - a restart after SIGKILL keeps the racks, the new site, the budget and the
#    running job.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100
nl_agent_start em --emulate 4 --noop
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4' 60

A=$(nl_submit '{"name":"all","tenant":"anchor","gpus":16,"command":["sleep","600"]}')
nl_wait "/v1/jobs/$A" '.job.state == "RUNNING"' 60
B=$(nl_submit '{"name":"waits","tenant":"nordics","gpus":8,"command":["sleep","600"]}')
nl_wait "/v1/jobs/$B" '.job.state == "PENDING" and .job.reason == "resources"' 60

# Who may add racks, and what cannot be asked: nothing changes on a refusal.
USER_TOKEN=$(nl_token "$NL_STATE" --user bob --role user --tenant uk --ttl 1h) ||
    nl_fail "cannot mint a user token"
NL_HTTP_TOKEN=$USER_TOKEN nl_http POST /v1/facility/racks '{"site":"dev","racks":1}'
nl_expect 403
nl_http POST /v1/facility/racks '{"site":"dev","racks":1,"colour":"red"}'
nl_expect 400 '.error.field == "colour"'
nl_http POST /v1/facility/racks '{"site":"dev"}'
nl_expect 400 '.error.field == "racks" and (.error.message | test("missing"))'
nl_http POST /v1/facility/racks '{"site":"dev","racks":0}'
nl_expect 400 '.error.field == "racks"'
nl_http POST /v1/facility/racks '{"site":"dev","racks":1,"power_mw":"lots"}'
nl_expect 400 '.error.field == "power_mw"'
# 20 racks more without power would idle at 67.8 kW, over the 50 kW budget.
nl_http POST /v1/facility/racks '{"site":"dev","racks":20}'
nl_expect 400 '.error.field == "power_w" and (.error.message | test("over the budget of 0.050 MW"))'
nl_cli facility add-racks dev 1 --nodes-per-rack 3
[ "$NL_RC" = 1 ] || nl_fail "a shape unlike the site's was not refused (rc $NL_RC): $NL_OUT"
grep -q "nodes_per_rack: 3 differs from site dev's 2" "$NL_TMP/cli.err" ||
    nl_fail "the refusal does not name nodes_per_rack: $(cat "$NL_TMP/cli.err")"
nl_cli facility add-racks dev many
[ "$NL_RC" = 2 ] || nl_fail "a COUNT that is no number was not a usage error (rc $NL_RC)"
nl_http GET /v1/facility
nl_expect 200 '.gpus_total == 16 and (.sites | length) == 1 and .power_budget_w == 50000'

# Two racks join the running facility.
nl_cli facility add-racks dev 2 --power 20kW
[ "$NL_RC" = 0 ] || nl_fail "facility add-racks failed: $(cat "$NL_TMP/cli.err")"
grep -q "added  *2 racks, 4 nodes, 16 GPUs to site dev" "$NL_TMP/cli.out" ||
    nl_fail "facility add-racks printed: $(cat "$NL_TMP/cli.out")"
grep -q "new nodes  *dev-p001-r000-n00 .. dev-p001-r001-n01" "$NL_TMP/cli.out" ||
    nl_fail "facility add-racks printed: $(cat "$NL_TMP/cli.out")"
nl_http GET /v1/racks
nl_expect 200 '.racks == 4 and .pods == 2 and .gpus == [8,8,8,8] and .nodes_down[2] == 2'
nl_http GET /v1/nodes
nl_expect 200 '(.nodes | length) == 8 and ([.nodes[] | select(.state == "unregistered")] | length) == 4'
nl_http GET /v1/facility
nl_expect 200 '.gpus_total == 32 and .power_budget_w == 70000 and .sites[0].racks == 4'
nl_http GET /v1/audit
nl_expect 200 '[.lines[] | select(test("facility racks \\+2 site dev"))] | length == 1'
# No agent serves the new nodes yet: the job still waits.
nl_http GET "/v1/jobs/$B"
nl_expect 200 '.job.state == "PENDING"'

# An agent takes the new nodes, and the waiting job starts on them.
nl_agent_start em2 --emulate 4 --noop
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 8' 60
nl_wait "/v1/jobs/$B" '.job.state == "RUNNING"' 60
nl_http GET "/v1/jobs/$B"
nl_expect 200 '(.job.nodes | length) == 2 and all(.job.nodes[]; startswith("dev-p001-"))'

# A new site after it, in another jurisdiction, through the API; an operator's
# budget in force rises by the racks' power too.
nl_cli facility budget 65kW
[ "$NL_RC" = 0 ] || nl_fail "facility budget 65kW failed: $(cat "$NL_TMP/cli.err")"
nl_http POST /v1/facility/racks '{"site":"dev_se","racks":1,"jurisdiction":"SE","power_kw":1}'
nl_expect 400 '.error.field == "power_kw"'
nl_http POST /v1/facility/racks '{"site":"dev_se","racks":1,"jurisdiction":"SE","power_w":10000}'
nl_expect 201 '.first_node == "dev_se-p000-r000-n00" and .gpus == 40 and .budget_w == 75000'
# The old site is no longer the last: racks join the last site or a new one.
nl_cli facility add-racks dev 1
[ "$NL_RC" = 1 ] || nl_fail "racks for a site that is not the last were not refused (rc $NL_RC)"
grep -q "site: dev is not the last site" "$NL_TMP/cli.err" ||
    nl_fail "the refusal does not say why: $(cat "$NL_TMP/cli.err")"

# A restart keeps the racks, the site, the budget and the job on the new nodes;
# the controller is SIGKILLed: what was answered was committed.
nl_ctld_kill9
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100 --listen "127.0.0.1:$NL_PORT"
nl_http GET /v1/facility
nl_expect 200 '.gpus_total == 40 and (.sites | length) == 2 and .sites[1].jurisdiction == "SE" and .power_budget_w == 75000'
nl_cli facility --json
[ "$NL_RC" = 0 ] || nl_fail "facility failed after the restart: $(cat "$NL_TMP/cli.err")"
jq -e '.sites[0].racks == 4 and .sites[1].racks == 1' "$NL_TMP/cli.out" >/dev/null ||
    nl_fail "facility after the restart: $(cat "$NL_TMP/cli.out")"
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 8' 60
nl_http GET "/v1/jobs/$B"
nl_expect 200 '.job.state == "RUNNING" and all(.job.nodes[]; startswith("dev-p001-"))'
echo "grow: ok"
