#!/bin/sh
# ops: operators' controls and history through the CLI against a real
# nordlysd and two real agents (the dev facility: 4 nodes of 4 GPUs).
#   - drain with a running job: the job finishes, nothing new starts on the
#     node, `nordlys nodes` shows DRAINING then DRAINED with reason and who,
#     the drain survives a controller restart, is audited, and resume lets
#     the waiting job start there;
#   - a maintenance reservation the backfill respects: with the open nodes
#     full, a job whose limit outlasts the start waits, a short one runs on
#     the reserved node; `queue --start` gives sane estimates meanwhile;
#   - a tenant's reservation: only that tenant's job runs on its node;
#   - history by window, state, user and tenant, --format and --csv;
#   - authorization: a user may not drain or reserve (403), may list.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100
nl_agents_start 2

T_OP=$(nl_token "$NL_STATE" --user olga --role operator --unix-user root --ttl 1d) || nl_fail "mint"
T_USER=$(nl_token "$NL_STATE" --user alice --role user --tenant anchor --unix-user root --ttl 1d) ||
    nl_fail "mint"

expect_rc() {
    [ "$NL_RC" = "$1" ] || nl_fail "$2: exit $NL_RC, expected $1; stdout: $NL_OUT; stderr: $NL_ERR"
}
out_has() {
    printf '%s\n' "$NL_OUT" | grep -Eq -- "$1" || nl_fail "$2: stdout lacks /$1/: $NL_OUT"
}
out_lacks() {
    printf '%s\n' "$NL_OUT" | grep -Eq -- "$1" && nl_fail "$2: stdout has /$1/: $NL_OUT"
    return 0
}
err_has() {
    printf '%s\n' "$NL_ERR" | grep -Eq -- "$1" || nl_fail "$2: stderr lacks /$1/: $NL_ERR"
}
as_op() { NORDLYS_TOKEN=$T_OP nl_cli "$@"; }
as_user() { NORDLYS_TOKEN=$T_USER nl_cli "$@"; }

# job TENANT GPUS LIMIT_S NAME: a job that runs until $NL_TMP/go-NAME exists; prints its id.
job() {
    nl_submit "{\"name\":\"$4\",\"tenant\":\"$1\",\"gpus\":$2,\"time_limit_s\":$3,\"command\":[\"sh\",\"-c\",\"while [ ! -f $NL_TMP/go-$4 ]; do sleep 0.05; done\"]}"
}
release() { : >"$NL_TMP/go-$1"; }
state_of() {
    nl_http GET "/v1/jobs/$1"
    nl_json .job.state
}
wait_state() {
    nl_wait "/v1/jobs/$1" ".job.state == \"$2\"" 60
}
# A pending job the scheduler has looked at since it was submitted: its reason is set.
wait_evaluated() {
    nl_wait "/v1/jobs/$1" ".job.state == \"PENDING\" and .job.reason != \"none\"" 60
}
node_of() {
    nl_http GET "/v1/jobs/$1"
    nl_json '.job.nodes[0]'
}
NODES=$(nl_nodes)
N0=$(printf '%s\n' "$NODES" | sed -n 1p)
N3=$(printf '%s\n' "$NODES" | sed -n 4p)

# ---- authorization ----
as_user drain --reason "mine now" "$N0"
expect_rc 1 "user drain"
err_has 'needs an operator or admin token' "user drain refused"
as_user reservation create --nodes "$N0" --start now+1h --duration 1h
expect_rc 1 "user reservation"
err_has 'needs an operator or admin token' "user reservation refused"
NL_HTTP_TOKEN=$T_USER nl_http POST /v1/nodes/drain "{\"nodes\":[\"$N0\"],\"reason\":\"x\"}"
nl_expect 403
NL_HTTP_TOKEN=$T_USER nl_http POST /v1/reservations "{\"nodes\":[\"$N0\"],\"start\":0,\"duration\":60}"
nl_expect 403
NL_HTTP_TOKEN=$T_USER nl_http DELETE /v1/reservations/1
nl_expect 403
as_user reservation list
expect_rc 0 "user reservation list"
as_op drain "$N0"
expect_rc 2 "drain without a reason"
as_op drain --reason x no-such-node
expect_rc 1 "drain of an unknown node"
err_has "no-such-node" "unknown node named"
nl_http GET /v1/nodes
[ "$(nl_json '[.nodes[] | select(.drain != null)] | length')" = 0 ] || nl_fail "a refused drain drained: $NL_BODY"

# ---- drain with a running job ----
J1=$(job anchor 1 600 j1)
wait_state "$J1" RUNNING
ND=$(node_of "$J1")
as_op drain --reason "swap PSU" "$ND"
expect_rc 0 "drain"
out_has "^drained $ND$" "drain output"
nl_cli nodes
out_has "^$ND +[^ ]+ +[^ ]+ +DRAINING " "node DRAINING while its job runs"
nl_cli nodes --format name,state,drain_reason,drained_by
expect_rc 0 "nodes --format"
out_has '^NAME +STATE +DRAIN_REASON +DRAINED_BY$' "nodes --format header"
out_has "^$ND +DRAINING +swap PSU +olga$" "nodes --format drain fields"
[ "$(state_of "$J1")" = RUNNING ] || nl_fail "the drain touched the running job"
# Fill the three other nodes; a 1-GPU job then has only the drained node's 3 free GPUs: it waits.
F1=$(job anchor 4 600 fill)
F2=$(job anchor 4 600 fill)
F3=$(job anchor 4 600 fill)
for f in $F1 $F2 $F3; do wait_state "$f" RUNNING; done
for f in $F1 $F2 $F3; do [ "$(node_of "$f")" != "$ND" ] || nl_fail "job $f started on drained $ND"; done
J5=$(job anchor 1 600 j5)
wait_evaluated "$J5"
release j1
wait_state "$J1" COMPLETED
nl_wait /v1/nodes "[.nodes[] | select(.name == \"$ND\" and .drain.state == \"drained\")] | length == 1"
# A job submitted after J1's end is evaluated by a pass that saw the node empty: both still wait.
J6=$(job anchor 1 600 j6)
wait_evaluated "$J6"
[ "$(state_of "$J5")" = PENDING ] || nl_fail "job $J5 started on drained $ND"
nl_cli nodes
out_has "^$ND +[^ ]+ +[^ ]+ +DRAINED " "node DRAINED once empty"

# The drain survives a restart.
nl_ctld_stop
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100
nl_wait "/v1/nodes?state=up" "(.nodes | length) == 4" 60
nl_http GET /v1/nodes
[ "$(nl_json "[.nodes[] | select(.name == \"$ND\" and .drain.reason == \"swap PSU\" and .drain.by == \"olga\")] | length")" = 1 ] ||
    nl_fail "drain lost by the restart: $NL_BODY"
J7=$(job anchor 1 600 j7)
wait_evaluated "$J7"
[ "$(state_of "$J5")" = PENDING ] || nl_fail "job $J5 started on $ND after the restart"
# Audited.
nl_http GET '/v1/audit?limit=1000'
nl_expect 200
printf '%s' "$NL_BODY" | grep -q "node $ND" || nl_fail "drain not audited: $NL_BODY"

as_op resume "$ND"
expect_rc 0 "resume"
out_has "^resumed $ND$" "resume output"
wait_state "$J5" RUNNING
[ "$(node_of "$J5")" = "$ND" ] || nl_fail "job $J5 did not start on the resumed node"
for n in fill j5 j6 j7; do release $n; done
for j in $F1 $F2 $F3 $J5 $J6 $J7; do wait_state "$j" COMPLETED; done

# ---- a maintenance reservation the backfill respects ----
as_op reservation create --nodes "$N3" --start now+10m --duration 1h --name psu
expect_rc 0 "reservation create"
out_has "psu" "reservation create output"
as_user reservation list --json
RID=$(printf '%s' "$NL_OUT" | jq -r '.reservations[0].id')
[ "$(printf '%s' "$NL_OUT" | jq -r ".reservations[0].nodes == [\"$N3\"] and .reservations[0].tenant == null")" = true ] ||
    nl_fail "reservation list: $NL_OUT"
# A reservation by GPU count: the controller picks whole nodes (here one idle node of 4 GPUs).
as_op reservation create --gpus 4 --start now+3h --duration 1h --json
expect_rc 0 "reservation --gpus"
[ "$(printf '%s' "$NL_OUT" | jq -r '.reservation.nodes | length')" = 1 ] || nl_fail "--gpus 4: $NL_OUT"
as_op reservation delete "$(printf '%s' "$NL_OUT" | jq -r '.reservation.id')"
expect_rc 0 "reservation --gpus deleted"
as_op reservation create --gpus 1000 --start now+3h --duration 1h
expect_rc 1 "reservation of more GPUs than there are"
# Reservations survive a restart, and the scheduler plans around them again.
nl_ctld_stop
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100
nl_wait "/v1/nodes?state=up" "(.nodes | length) == 4" 60
as_user reservation list --json
[ "$(printf '%s' "$NL_OUT" | jq -r "[.reservations[] | select(.id == $RID and .name == \"psu\")] | length")" = 1 ] ||
    nl_fail "reservation lost by the restart: $NL_OUT"
B1=$(job anchor 4 3600 blk)
B2=$(job anchor 4 3600 blk)
B3=$(job anchor 4 3600 blk)
for b in $B1 $B2 $B3; do wait_state "$b" RUNNING; done
for b in $B1 $B2 $B3; do [ "$(node_of "$b")" != "$N3" ] || nl_fail "hour-long job $b on reserved $N3"; done
LONG=$(job anchor 4 3600 long)
SHORT=$(job anchor 4 300 short)
wait_state "$SHORT" RUNNING
[ "$(node_of "$SHORT")" = "$N3" ] || nl_fail "short job not backfilled onto $N3"
wait_evaluated "$LONG"

# queue --start while the facility is full: the long job starts when a blocker's hour is up.
as_op queue --start --json
expect_rc 0 "queue --start"
NOW=$(date +%s)
[ "$(printf '%s' "$NL_OUT" | jq -r "[.jobs[] | select(.id == $LONG and .est_start_time != null and .est_start_time >= $NOW - 5 and .est_start_time <= $NOW + 3700)] | length")" = 1 ] ||
    nl_fail "queue --start: no sane estimate for $LONG: $NL_OUT"
as_op queue --start
out_has '^RANK +ID +NAME +TENANT +GPUS +TIME_LIMIT_S +EST_START_TIME +REASON$' "queue --start header"
out_has "^1 +$LONG +long +anchor +4 +1h " "queue --start row"
nl_cli show "$LONG"
out_has '^  est\. start +[0-9-]+ [0-9:]+ \(in ' "show: estimated start"
as_op queue --format id,name,state
out_has '^ID +NAME +STATE$' "queue --format header"
out_has "^$LONG +long +PENDING$" "queue --format row"

# ---- a tenant's reservation on the same node, ending before the maintenance ----
release short
wait_state "$SHORT" COMPLETED
as_op reservation create --nodes "$N3" --start now --duration 5m --tenant nor-research --name nr
expect_rc 0 "tenant reservation"
as_op reservation create --nodes "$N3" --start now+20m --duration 1h
expect_rc 1 "overlapping reservation"
err_has "overlap" "overlap refused"
NR=$(job nor-research 4 120 nr)
wait_state "$NR" RUNNING
[ "$(node_of "$NR")" = "$N3" ] || nl_fail "tenant job not on its reservation"
[ "$(state_of "$LONG")" = PENDING ] || nl_fail "another tenant's job ran on the reservation"
release nr
wait_state "$NR" COMPLETED
as_op reservation delete "$RID"
expect_rc 0 "reservation delete"
as_op reservation delete "$RID"
expect_rc 1 "reservation deleted twice"
nl_http DELETE "/v1/jobs/$LONG"
nl_expect 200 '.job.state == "CANCELLED"'
release blk
for b in $B1 $B2 $B3; do wait_state "$b" COMPLETED; done

# ---- history ----
nl_cli history --since -1h
expect_rc 0 "history"
out_has '^ID +RUN +NAME +USER +TENANT +STATE +GPUS +START_TIME +END_TIME +ELAPSED +EXIT_CODE +NODES$' "history header"
out_has "^$J1 +1 +j1 +root +anchor +COMPLETED +1 " "history row of j1"
nl_cli history --since -1h --format id,state,nodes --state COMPLETED --tenant nor-research
out_has "^$NR +COMPLETED +$N3$" "history --format, --state, --tenant"
out_lacks "^$J1 " "history --tenant keeps other tenants out"
nl_cli history --since -1h --user nobody
[ "$(printf '%s\n' "$NL_OUT" | wc -l)" = 1 ] || nl_fail "history --user nobody: $NL_OUT"
nl_cli history --since -1h --until -59m
[ "$(printf '%s\n' "$NL_OUT" | wc -l)" = 1 ] || nl_fail "history of an empty window: $NL_OUT"
nl_cli history --since -1h --csv --format id,state,elapsed
out_has '^id,state,elapsed' "history --csv header"
out_has "^$J1,COMPLETED,[0-9]+" "history --csv row"
nl_cli history --since -1h --state CANCELLED --json
[ "$(printf '%s' "$NL_OUT" | jq -r "[.runs[] | select(.id == $LONG)] | length")" = 1 ] ||
    nl_fail "history: cancelled job missing: $NL_OUT"
nl_cli history --limit 2 --since -1h
err_has 'more runs' "history says it left runs out"
# --all pages through the window (here a run a page) and prints each page as it comes:
# the same runs as one big page, each once, in the same order, one header.
nl_cli history --since -1h --limit 1000 --format id,run,state
expect_rc 0 "history in one page"
ONE=$NL_OUT
[ "$(printf '%s\n' "$ONE" | wc -l)" -gt 3 ] || nl_fail "history: too few runs to page: $ONE"
nl_cli history --since -1h --limit 1 --all --format id,run,state
expect_rc 0 "history --all a run a page"
[ "$(printf '%s\n' "$NL_OUT" | tr -s ' ')" = "$(printf '%s\n' "$ONE" | tr -s ' ')" ] ||
    nl_fail "history --all by pages of 1 differs from one page: $NL_OUT // $ONE"
nl_cli history --since -1h --limit 2 --all --csv --format id,run
[ "$(printf '%s\n' "$NL_OUT" | grep -c '^id,run')" = 1 ] || nl_fail "history --all --csv: one header: $NL_OUT"
[ "$(printf '%s\n' "$NL_OUT" | wc -l)" = "$(printf '%s\n' "$ONE" | wc -l)" ] ||
    nl_fail "history --all --csv: every run once: $NL_OUT"
nl_cli history --since -1h --limit 2 --all --json
[ "$(printf '%s' "$NL_OUT" | jq -r '.runs | length')" = "$(($(printf '%s\n' "$ONE" | wc -l) - 1))" ] ||
    nl_fail "history --all --json: one document with every run: $NL_OUT"
as_user history --since -1h --limit 1 --all --json --state COMPLETED
[ "$(printf '%s' "$NL_OUT" | jq -r '[.runs[] | select(.tenant != "anchor" or .state != "COMPLETED")] | length')" = 0 ] ||
    nl_fail "a user's --all --state saw another tenant's or state's runs: $NL_OUT"
nl_cli history --format id,bogus
expect_rc 2 "history --format with an unknown field"
err_has "unknown field 'bogus'" "unknown field named"
nl_cli history --state RUNNING
expect_rc 1 "history of a live state"
as_user history --since -1h --json
[ "$(printf '%s' "$NL_OUT" | jq -r '[.runs[] | select(.tenant != "anchor")] | length')" = 0 ] ||
    nl_fail "a user saw another tenant's runs: $NL_OUT"
[ "$(printf '%s' "$NL_OUT" | jq -r '.runs | length > 0')" = true ] || nl_fail "user history empty: $NL_OUT"
as_user history --tenant nor-research
expect_rc 1 "user history of another tenant"
echo "ok"
