#!/bin/sh
# browser_dashboard: the dashboard (/ui/) in Debian's chromium, driven by
# playwright-core (dashboard.mjs), against real controllers started here:
#   dev:    one agent emulating the 4 nodes, jobs submitted by the CLI,
#           tokens of two tenants;
#   narvik: 1,389 racks, one agent emulating 10 pods (1,440 nodes) with
#           jobs of three tiers on them and a queue, for the rack map at
#           scale (the map draws every rack from /v1/racks, whatever runs).
# Skipped (77), saying why, when node, chromium, playwright-core (npm ci
# in tests/browser: scripts/install-deps.sh) or the built dashboard are
# missing. Screenshots go to $NL_SHOTS.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$(dirname "$0")/browser.sh"
nl_browser_require
[ -n "${NORDLYS_AGENT:-}" ] && [ -n "${NORDLYS_CLI:-}" ] || nl_browser_skip "needs nordlys-agent and nordlys"
nl_tmpdir
mkdir -p "$NL_SHOTS"

# ---- dev: jobs, tenants ----
nl_ctld_start "$NL_TMP/dev" --ui-dir "$NL_UI_DIR" --sched-interval-ms 20 --sync-interval-ms 100
DEV_URL=$NL_URL
DEV_TOKEN=$NL_TOKEN
DEV_STATE=$NL_STATE
nl_agent_start dev --emulate 4 --noop
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4'
ALICE=$(nl_token "$DEV_STATE" --user alice --role user --tenant nor-research --unix-user root --ttl 1d)
BOB=$(nl_token "$DEV_STATE" --user bob --role user --tenant anchor --unix-user root --ttl 1d)
# Work the page shows from the start: one job of each tenant running, some waiting.
for t in nor-research anchor anchor; do
    nl_submit "{\"tenant\":\"$t\",\"gpus\":4,\"command\":[\"sleep\",\"600\"],\"name\":\"warm-$t\"}" >/dev/null
done
nl_submit '{"tenant":"anchor","gpus":16,"command":["sleep","600"],"name":"waits"}' >/dev/null
nl_wait "/v1/facility" '.jobs_running == 3 and .jobs_pending == 1'

# ---- narvik: the rack map at scale ----
nl_ctld_start "$NL_TMP/narvik" --facility narvik --ui-dir "$NL_UI_DIR" --sync-interval-ms 500
NARVIK_URL=$NL_URL
NARVIK_TOKEN=$NL_TOKEN
nl_agent_start narvik --emulate 1440 --noop
nl_wait "/v1/nodes?state=up&limit=100000" '(.nodes | length) == 1440' 120
# submit_n N TENANT GPUS: N jobs that run an hour (timed no-ops on emulated nodes).
submit_n() {
    _i=0
    while [ $_i -lt "$1" ]; do
        nl_submit "{\"tenant\":\"$2\",\"gpus\":$3,\"command\":[\"sleep\",\"3600\"],\"name\":\"$2-$3-$_i\"}" >/dev/null
        _i=$((_i + 1))
    done
}
submit_n 30 anchor 72
submit_n 40 nor-research 36
submit_n 60 uk 8
submit_n 4 anchor 2304
submit_n 6 nor-startups 1152
nl_wait "/v1/facility" '.jobs_running >= 100 and .jobs_pending >= 1' 120

# ---- a simulation report, for its screenshot: three policies on loughton ----
"$NORDLYS_CLI" sim --facility loughton --days 3 --policy all --out "$NL_TMP/sim" >"$NL_TMP/sim.out" ||
    nl_fail "nordlys sim failed: $(cat "$NL_TMP/sim.out")"

SIM_REPORT=$NL_TMP/sim/report.html \
DEV_URL=$DEV_URL DEV_TOKEN=$DEV_TOKEN ALICE_TOKEN=$ALICE BOB_TOKEN=$BOB \
NARVIK_URL=$NARVIK_URL NARVIK_TOKEN=$NARVIK_TOKEN CHROMIUM=$CHROMIUM \
    node "$NL_BROWSER_DIR/dashboard.mjs" || nl_fail "dashboard.mjs failed (above)"
echo "browser_dashboard: ok; screenshots in $NL_SHOTS"
