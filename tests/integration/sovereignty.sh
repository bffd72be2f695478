#!/bin/sh
# sovereignty: tenants' allowed jurisdictions bound placement at submission,
# and the agent's per-node scratch is wiped between tenants.
#  - a tenants file with jurisdictions: a submission that no site of the dev
#    facility (one site, NO) can take, given the job's residency and its
#    tenant's jurisdictions, is a 400 naming residency, both bounds and the
#    sites; an allowed one runs;
#  - one real agent serving one node with --scratch-dir: a job of tenant
#    alpha finds its scratch in NORDLYS_SCRATCH and TMPDIR and leaves a file
#    and a symbolic link to a file outside there; a job of tenant gamma on
#    the same node finds the scratch empty and the link's target intact.
#    (A controller that sends no tenant in its launches gets the same: an
#    unknown tenant is always wiped before.)
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
[ -n "${NORDLYS_AGENT:-}" ] || nl_fail "NORDLYS_AGENT is not set"

cat >"$NL_TMP/tenants.conf" <<'CONF'
[tier regional]
[tenant alpha]
tier = regional
quota_gpus = 16
jurisdictions = NO, EEA
[tenant beta]
tier = regional
quota_gpus = 16
jurisdiction = NO
jurisdictions = UK
[tenant gamma]
tier = regional
quota_gpus = 16
CONF

nl_ctld_start "$NL_TMP/state" --tenants "$NL_TMP/tenants.conf" --sched-interval-ms 10 \
    --sync-interval-ms 100

refused() { # BODY MESSAGE-PART: 400, field residency, the message names MESSAGE-PART
    nl_http POST /v1/jobs "$1"
    nl_expect 400 ".error.field == \"residency\" and (.error.message | startswith(\"residency: \"))"
    nl_json .error.message | grep -qF -- "$2" || nl_fail "message lacks '$2': $NL_BODY"
}
refused '{"tenant":"beta","command":["true"]}' \
    "no site satisfies residency any and tenant beta's jurisdictions (UK); facility dev's sites: dev (NO)"
refused '{"tenant":"alpha","residency":"UK","command":["true"]}' \
    "residency UK and tenant alpha's jurisdictions (NO,EEA)"
refused '{"tenant":"gamma","residency":"SE","command":["true"]}' \
    "residency SE and tenant gamma's jurisdictions (any)"
nl_http GET "/v1/jobs?limit=10"
nl_expect 200 '(.jobs | length) == 0'

NODE=$(nl_nodes | head -n 1)
SCR="$NL_TMP/scratch"
nl_agent_start a0 --nodes "$NODE" --scratch-dir "$SCR"
nl_wait "/v1/nodes?state=up" "(.nodes | length) == 1 and .nodes[0].name == \"$NODE\""
echo precious >"$NL_TMP/outside.txt"

J=$(nl_submit "{\"tenant\":\"alpha\",\"residency\":\"EEA\",\"command\":[\"/bin/sh\",\"-c\",\"echo \\\"\$NORDLYS_SCRATCH \$TMPDIR\\\"; echo secret >\$NORDLYS_SCRATCH/alpha.txt; ln -s $NL_TMP/outside.txt \$TMPDIR/link\"]}")
nl_wait "/v1/jobs/$J" '.job.state == "COMPLETED" and .job.exit_code == 0' 60
OUT=$(nl_json .job.stdout)
grep -qx "$SCR/$NODE $SCR/$NODE" "$OUT" || nl_fail "job $J's scratch variables: $(cat "$OUT")"
[ -f "$SCR/$NODE/alpha.txt" ] || nl_fail "job $J's file is not in $SCR/$NODE"

J=$(nl_submit '{"tenant":"gamma","command":["/bin/sh","-c","ls -A \"$NORDLYS_SCRATCH\" | wc -l"]}')
nl_wait "/v1/jobs/$J" '.job.state == "COMPLETED" and .job.exit_code == 0' 60
OUT=$(nl_json .job.stdout)
[ "$(tr -d ' ' <"$OUT")" = 0 ] || nl_fail "tenant gamma's job found alpha's scratch: $(cat "$OUT")"
[ "$(cat "$NL_TMP/outside.txt")" = precious ] || nl_fail "the wipe followed the link out"
grep -q "scratch $SCR/$NODE: wiped before job $J of tenant" "$NL_TMP/agent-a0.log" ||
    nl_fail "no wipe line for job $J in the agent's log"
echo "sovereignty: ok"
