#!/bin/sh
# SPDX-License-Identifier: MIT
# run_tasks (issue 12): `nordlys run` and `nordlys output` show every task's
# output, not only the first node's, against the real nordlysd and two real
# agents on loopback (the dev facility: agent a0 has nodes 0 and 2, a1 nodes
# 1 and 3, so a 2-node job runs one node on each agent). Each agent has its
# own --output-root, as nodes without a shared file system: rank 1's file is
# only under a1's, so its lines reach the controller only if a1 ships them.
#
# Checks: a 2-node job whose ranks print distinct lines, quickly and
# concurrently: run shows every line of both ranks once, whole (never two
# ranks' bytes in one line), each rank's in order, unlabelled by default and
# "RANK: " with --label (srun's -l); stderr too; the job's exit code is run's. A 2-node x
# 2-task job: four tasks, each line once. Two nodes writing one shared file
# (--output on a path both agents see) are not shipped twice. `nordlys output
# --task T` gives T's lines alone, --label labels them, a task the job does
# not have is refused naming the field; a job of one task is labelled "0: ".
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
[ -n "${NORDLYS_AGENT:-}" ] || nl_fail "NORDLYS_AGENT is not set"
[ -n "${NORDLYS_CLI:-}" ] || nl_fail "NORDLYS_CLI is not set"

nl_ctld_start "$NL_TMP/state" --facility dev --sched-interval-ms 20 --sync-interval-ms 100
NODES=$(nl_nodes)
nl_agent_start a0 --nodes "$(printf '%s\n' "$NODES" | awk 'NR % 2 == 1' | paste -sd, -)" \
    --output-root "$NL_TMP/out-a0" --sync-interval-ms 100
nl_agent_start a1 --nodes "$(printf '%s\n' "$NODES" | awk 'NR % 2 == 0' | paste -sd, -)" \
    --output-root "$NL_TMP/out-a1" --sync-interval-ms 100
nl_wait "/v1/nodes?state=up&limit=100000" "(.nodes | length) == $(printf '%s\n' "$NODES" | wc -l)"

# Each task prints 200 lines of 150 bytes as fast as it can, so that the
# ranks' writes overlap in time, then a line on stderr.
PAD=$(printf '%0120d' 0)
# shellcheck disable=SC2016 # expanded by the job's shell
JOB='i=1; while [ $i -le 200 ]; do echo "rank $RANK line $i '"$PAD"'"; i=$((i + 1)); done; echo "err of $RANK" >&2; exit ${CODE:-0}'

# check_lines FILE RANKS LABEL: FILE holds lines 1..200 of each rank in RANKS
# (space separated) in order, each once and whole; with LABEL "RANK: " first.
check_lines() {
    awk -v ranks="$2" -v label="$3" -v pad="$PAD" '
        BEGIN { n = split(ranks, r, " "); for (i = 1; i <= n; i++) last[r[i]] = 0; bad = "" }
        {
            line = $0
            if (label) {
                if (!match(line, /^[0-9]+: /)) { bad = bad " unlabelled:[" substr(line, 1, 60) "]"; next }
                lab = substr(line, 1, RLENGTH - 2); line = substr(line, RLENGTH + 1)
            }
            if (line !~ /^rank [0-9]+ line [0-9]+ 0+$/ || split(line, w, " ") != 5 || w[5] != pad) {
                bad = bad " not whole:[" substr($0, 1, 60) "]"; next
            }
            if (label && lab != w[2]) bad = bad " label " lab " on rank " w[2]
            if (!(w[2] in last)) { bad = bad " rank " w[2] "?"; next }
            if (w[4] != last[w[2]] + 1) bad = bad " rank " w[2] ": " w[4] " after " last[w[2]]
            last[w[2]] = w[4]
        }
        END {
            for (k in last) if (last[k] != 200) bad = bad " rank " k " ends at " last[k]
            if (bad != "") { print substr(bad, 1, 600); exit 1 }
        }' "$1"
}

# ---- 2 nodes: every rank's lines, whole, unlabelled; stderr; the exit code ----
"$NORDLYS_CLI" run --nodes 2 --gpus-per-node 1 --env CODE=7 -- /bin/sh -c "$JOB" \
    >"$NL_TMP/run.out" 2>"$NL_TMP/run.err"
RC=$?
[ "$RC" = 7 ] || nl_fail "run of a 2-node job that exits 7 returned $RC: $(tail -5 "$NL_TMP/run.err")"
check_lines "$NL_TMP/run.out" "0 1" "" || nl_fail "run's stdout of a 2-node job: see above"
[ "$(grep -c '^err of [01]$' "$NL_TMP/run.err")" = 2 ] ||
    nl_fail "run's stderr lacks a rank's line: $(cat "$NL_TMP/run.err")"
grep -q '^err of 0$' "$NL_TMP/run.err" && grep -q '^err of 1$' "$NL_TMP/run.err" ||
    nl_fail "run's stderr: $(cat "$NL_TMP/run.err")"
echo "run: 2 ranks x 200 lines whole, exit 7"

# ---- --label: srun's "RANK: " prefix ----
"$NORDLYS_CLI" run -l -N 2 --gpus-per-node 1 -- /bin/sh -c "$JOB" \
    >"$NL_TMP/label.out" 2>"$NL_TMP/label.err"
RC=$?
[ "$RC" = 0 ] || nl_fail "run --label returned $RC: $(tail -5 "$NL_TMP/label.err")"
check_lines "$NL_TMP/label.out" "0 1" 1 || nl_fail "run --label's stdout: see above"
grep -q '^1: err of 1$' "$NL_TMP/label.err" || nl_fail "run --label's stderr: $(cat "$NL_TMP/label.err")"
echo "run --label: labelled by rank"

# ---- 2 nodes x 2 tasks: four tasks ----
"$NORDLYS_CLI" run --nodes 2 --gpus-per-node 2 --tasks-per-node 2 -- /bin/sh -c "$JOB" \
    >"$NL_TMP/tasks.out" 2>"$NL_TMP/tasks.err"
RC=$?
[ "$RC" = 0 ] || nl_fail "run of 2 x 2 tasks returned $RC: $(tail -5 "$NL_TMP/tasks.err")"
check_lines "$NL_TMP/tasks.out" "0 1 2 3" "" || nl_fail "run's stdout of 2 x 2 tasks: see above"
echo "run: 2 nodes x 2 tasks, every task's lines"

# ---- one file both nodes write: each line shipped once ----
"$NORDLYS_CLI" run --nodes 2 --gpus-per-node 1 --output "$NL_TMP/shared/%j.out" -- /bin/sh -c "$JOB" \
    >"$NL_TMP/shared.out" 2>"$NL_TMP/shared.err"
RC=$?
[ "$RC" = 0 ] || nl_fail "run with a shared --output returned $RC: $(tail -5 "$NL_TMP/shared.err")"
# stderr goes where --output does (as sbatch's without --error): its lines come on stdout.
[ "$(grep -c '^err of [01]$' "$NL_TMP/shared.out")" = 2 ] ||
    nl_fail "stderr lines in the shared stream: $(grep 'err of' "$NL_TMP/shared.out")"
grep -v '^err of' "$NL_TMP/shared.out" >"$NL_TMP/shared.lines"
check_lines "$NL_TMP/shared.lines" "0 1" "" || nl_fail "run's stdout with one shared file: see above"
J=$(ls "$NL_TMP/shared" | sed 's/\.out$//')
# The file itself holds both ranks' labelled lines, as before.
grep -v ': err of' "$NL_TMP/shared/$J.out" >"$NL_TMP/shared.file"
check_lines "$NL_TMP/shared.file" "0 1" 1 || nl_fail "the shared file: see above"
echo "run: a file both nodes share is streamed once"

# ---- nordlys output: --task, --label, a task the job lacks ----
# The 2 x 2 job: the third submitted.
J=3
nl_http GET "/v1/jobs/$J"
nl_expect 200 '.job.state == "COMPLETED" and .job.tasks_per_node == 2'
nl_cli output --task 3 "$J"
[ "$NL_RC" = 0 ] || nl_fail "output --task 3: $NL_RC $NL_ERR"
printf '%s\n' "$NL_OUT" >"$NL_TMP/task3"
check_lines "$NL_TMP/task3" "3" "" || nl_fail "output --task 3: see above"
nl_cli output --label --stderr "$J"
printf '%s\n' "$NL_OUT" >"$NL_TMP/all"
check_lines "$NL_TMP/all" "0 1 2 3" 1 || nl_fail "output --label: see above"
[ "$(printf '%s\n' "$NL_ERR" | sort)" = "$(printf '0: err of 0\n1: err of 1\n2: err of 2\n3: err of 3')" ] ||
    nl_fail "output --label --stderr's stderr: [$NL_ERR]"
nl_cli output --follow --task 2 --label "$J"
[ "$NL_RC" = 0 ] || nl_fail "output --follow --task 2: $NL_RC $NL_ERR"
printf '%s\n' "$NL_OUT" >"$NL_TMP/task2"
check_lines "$NL_TMP/task2" "2" 1 || nl_fail "output --follow --task 2 --label: see above"
nl_http GET "/v1/jobs/$J/output?task=4"
nl_expect 400 '.error.field == "task" and (.error.message | test("not a task of job"))'
nl_http GET "/v1/jobs/$J/output?task=x"
nl_expect 400 '.error.field == "task"'
nl_http GET "/v1/jobs/$J/output"
nl_expect 200 '.labelled == true and .complete'
echo "output: --task, --label, a bad task refused"

# ---- a job of one task: plain, "0: " with --label ----
nl_cli run --label -- sh -c 'echo one; printf two'
[ "$NL_RC" = 0 ] && [ "$NL_OUT" = "$(printf '0: one\n0: two')" ] ||
    nl_fail "run --label of one task: $NL_RC [$NL_OUT] $NL_ERR"
nl_cli run -- sh -c 'echo one; printf two'
[ "$NL_RC" = 0 ] && [ "$NL_OUT" = "$(printf 'one\ntwo')" ] ||
    nl_fail "run of one task: $NL_RC [$NL_OUT] $NL_ERR"
# The command's own arguments are its own, --label among them (as `ls --label` would be).
nl_cli run sh -c 'echo "$@"' sh --label -l
[ "$NL_RC" = 0 ] && [ "$NL_OUT" = "--label -l" ] ||
    nl_fail "run CMD --label: the command's argument was taken: $NL_RC [$NL_OUT] $NL_ERR"
echo "run_tasks: ok"
