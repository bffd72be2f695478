#!/bin/sh
# shapes: shaped jobs, tasks and their output through the CLI, against the
# real nordlysd and two real agents on loopback (the dev facility: 2 racks
# of 2 nodes of 4 GPUs; agent a0 has nodes 0 and 2, a1 nodes 1 and 3, so a
# 2-node job in one rack runs one node on each agent). Both agents share
# one output root, as nodes on a shared file system do.
#
# Checks: a shape gets exactly N nodes of G GPUs (where --gpus 6 alone
# gives 4 + 2); impossible shapes are refused naming the field; a 2-node x
# 2-task job's tasks see RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
# NODE_RANK, GROUP_RANK, MASTER_ADDR/PORT, the NORDLYS_* names and their
# share of the node's GPUs; the default output is one stream with each
# line labelled by its task, never two tasks' lines mixed in one; --output
# with %t gives a file per task; --input feeds task 0 alone, and an input
# that cannot be opened fails the run saying why; a task that fails ends
# the run (the others are killed) with its exit code.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
[ -n "${NORDLYS_AGENT:-}" ] || nl_fail "NORDLYS_AGENT is not set"
[ -n "${NORDLYS_CLI:-}" ] || nl_fail "NORDLYS_CLI is not set"

OUTROOT="$NL_TMP/out"
nl_ctld_start "$NL_TMP/state" --facility dev --sched-interval-ms 20 --sync-interval-ms 100
nl_agents_start 2 --output-root "$OUTROOT" --sync-interval-ms 100

# submit ARGS..: nordlys submit --parsable; prints the id.
submit() {
    nl_cli submit --parsable "$@"
    [ "$NL_RC" = 0 ] || nl_fail "nordlys submit $*: rc $NL_RC: $NL_ERR"
    printf '%s\n' "$NL_OUT"
}
# ended ID STATE: wait until job ID is in STATE.
ended() { nl_wait "/v1/jobs/$1" ".job.state == \"$2\"" 60; }

# ---- placement ----
# No shape: 6 GPUs on 4-GPU nodes split 4 + 2.
J=$(submit --gpus 6 --time 10m -- sleep 600)
nl_wait "/v1/jobs/$J" '.job.state == "RUNNING"' 60
nl_expect 200 '.job.shape == null and (.job.nodes | length) == 2'
nl_cli cancel "$J"
ended "$J" CANCELLED
# A shape: exactly 2 nodes of 3 GPUs, in one rack; each task sees 3 GPUs.
J=$(submit --nodes 2 --gpus-per-node 3 -- /bin/sh -c 'echo "gpus=$CUDA_VISIBLE_DEVICES"')
ended "$J" COMPLETED
nl_expect 200 '.job.shape == {"nodes":2,"gpus_per_node":3} and .job.gpus == 6 and (.job.nodes | length) == 2'
nl_is '.job.nodes | map(split("-")[2]) | unique | length == 1' ||
    nl_fail "a 2-node shape that fits one rack was spread: $(nl_json .job.nodes)"
OUT=$(nl_json .job.stdout)
[ "$(grep -c '^[01]: gpus=[0-7],[0-7],[0-7]$' "$OUT")" = 2 ] || nl_fail "3 GPUs per node: $(cat "$OUT")"
# --nodes with --gpus splits them evenly.
nl_cli submit --json --nodes 2 --gpus 4 -- true
[ "$NL_RC" = 0 ] || nl_fail "--nodes 2 --gpus 4: $NL_ERR"
printf '%s' "$NL_OUT" | jq -e '.job.shape.gpus_per_node == 2' >/dev/null ||
    nl_fail "--nodes 2 --gpus 4 is not 2 x 2: $NL_OUT"

# ---- impossible shapes: refused, naming the field ----
refused() {
    _want=$1
    shift
    nl_cli submit "$@" -- true
    [ "$NL_RC" != 0 ] || nl_fail "nordlys submit $* was accepted"
    case $NL_ERR in *"$_want"*) ;; *) nl_fail "nordlys submit $*: want '$_want' in: $NL_ERR" ;; esac
}
refused "gpus_per_node: 5 exceeds the GPUs of a node" --gpus-per-node 5
refused "nodes: 5 exceeds the nodes of the largest eligible site" --nodes 5 --gpus-per-node 1
refused "gpus: 3 is not a multiple of nodes (2)" --nodes 2 --gpus 3
refused "gpus: 6 is not nodes x gpus_per_node (2 x 2 = 4)" --nodes 2 --gpus-per-node 2 --gpus 6
nl_http POST /v1/jobs '{"command":["true"],"tasks_per_node":0}'
nl_expect 400 '.error.field == "tasks_per_node"'
nl_http POST /v1/jobs '{"command":["true"],"stdout":"out-%q"}'
nl_expect 400 '.error.field == "stdout" and (.error.message | test("%q is not a pattern"))'
nl_http POST /v1/jobs '{"command":["true"],"stdout":"../up-%j"}'
nl_expect 400 '.error.field == "stdout"'

# ---- ranks and environment of a 2-node x 2-task job ----
# shellcheck disable=SC2016 # expanded by the job's shell
ENVCMD='echo "rank=$RANK local=$LOCAL_RANK world=$WORLD_SIZE lws=$LOCAL_WORLD_SIZE node=$NODE_RANK group=$GROUP_RANK master=$MASTER_ADDR:$MASTER_PORT n_rank=$NORDLYS_RANK n_local=$NORDLYS_LOCAL_RANK n_world=$NORDLYS_WORLD_SIZE nnodes=$NORDLYS_NNODES n_node=$NORDLYS_NODE_RANK tpn=$NORDLYS_TASKS_PER_NODE job=$NORDLYS_JOB_ID cvd=$CUDA_VISIBLE_DEVICES gpus=$NORDLYS_GPUS"'
J=$(submit --nodes 2 --gpus-per-node 4 --tasks-per-node 2 -- /bin/sh -c "$ENVCMD")
ended "$J" COMPLETED
OUT=$(nl_json .job.stdout)
case $OUT in "$OUTROOT"/*) ;; *) nl_fail "default output $OUT is not under the output root" ;; esac
PORT=$(sed -n 's/.*master=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$OUT" | sort -u)
[ -n "$PORT" ] && [ "$(printf '%s\n' "$PORT" | wc -l)" = 1 ] || nl_fail "one MASTER_PORT for all: $(cat "$OUT")"
for r in 0 1 2 3; do
    node=$((r / 2)) local=$((r % 2))
    [ $local = 0 ] && cvd=0,1 || cvd=2,3
    want="$r: rank=$r local=$local world=4 lws=2 node=$node group=$node master=127.0.0.1:$PORT n_rank=$r n_local=$local n_world=4 nnodes=2 n_node=$node tpn=2 job=$J cvd=$cvd gpus=$cvd"
    grep -qxF "$want" "$OUT" || nl_fail "task $r: want '$want' in: $(cat "$OUT")"
done
[ "$(wc -l <"$OUT")" = 4 ] || nl_fail "4 lines, one a task: $(cat "$OUT")"

# ---- one labelled stream: no line of one task inside another's ----
# Each task writes 300 lines of 2,000 bytes (more than a pipe's atomic 4 KiB in
# pieces): any mixing shows as a line that is not one task's label and letter.
# shellcheck disable=SC2016
LONG='i=0; l=$(printf "%02000d" 0 | tr 0 "$(printf "\\$(printf %o $((65 + RANK)))")"); while [ $i -lt 300 ]; do echo "$l"; i=$((i + 1)); done'
J=$(submit --nodes 2 --gpus-per-node 1 --tasks-per-node 2 -- /bin/sh -c "$LONG")
ended "$J" COMPLETED
OUT=$(nl_json .job.stdout)
BAD=$(awk '{ split($0, a, ": "); t = a[1]; c = sprintf("%c", 65 + t);
             if (length(a[2]) != 2000 || a[2] !~ ("^" c "+$")) bad++ }
           END { print bad + 0 }' "$OUT")
[ "$BAD" = 0 ] || nl_fail "$BAD mixed or broken lines in $OUT: $(head -c 300 "$OUT")"
for r in 0 1 2 3; do
    [ "$(grep -c "^$r: " "$OUT")" = 300 ] || nl_fail "task $r has $(grep -c "^$r: " "$OUT") of 300 lines"
done

# ---- one file per task with %t; %j and %x; %% a literal ----
J=$(submit --name shp --nodes 2 --gpus-per-node 1 --tasks-per-node 2 --output 'pt-%x-%j-%t-%%.out' \
    -- /bin/sh -c 'echo "out of $RANK"; echo "err of $RANK" >&2')
ended "$J" COMPLETED
for r in 0 1 2 3; do
    F="$OUTROOT/pt-shp-$J-$r-%.out"
    [ -f "$F" ] || nl_fail "no per-task file $F: $(ls "$OUTROOT")"
    # stderr follows stdout's pattern when --error is not given (sbatch's rule); no labels.
    [ "$(sort "$F" | tr '\n' '|')" = "err of $r|out of $r|" ] || nl_fail "$F: $(cat "$F")"
done
# %A: the array job's id (Slurm's %A_%a), the job's own outside an array.
J=$(submit --output "$NL_TMP/pa-%A-%j.out" -- echo plain)
ended "$J" COMPLETED
[ "$(cat "$NL_TMP/pa-$J-$J.out")" = plain ] || nl_fail "%A of a plain job: $(ls "$NL_TMP")"
nl_cli submit --array 0-1 --output "$NL_TMP/arr-%A_%a.out" -- /bin/sh -c 'echo "task $NORDLYS_ARRAY_TASK_ID"'
[ "$NL_RC" = 0 ] || nl_fail "submit --array with %A: rc $NL_RC: $NL_ERR"
A=$(printf '%s\n' "$NL_OUT" | sed -n 's/^submitted array job \([0-9]*\).*/\1/p')
ended "$A" COMPLETED
for i in 0 1; do
    [ "$(cat "$NL_TMP/arr-${A}_$i.out")" = "task $i" ] || nl_fail "%A_%a of task $i: $(ls "$NL_TMP")"
done
# --error apart; absolute paths.
J=$(submit --nodes 1 --tasks-per-node 2 --output "$NL_TMP/abs-%j.out" --error "$NL_TMP/abs-%j-%t.err" \
    -- /bin/sh -c 'echo "o$RANK"; echo "e$RANK" >&2')
ended "$J" COMPLETED
[ "$(sort "$NL_TMP/abs-$J.out" | tr '\n' '|')" = "0: o0|1: o1|" ] || nl_fail "abs out: $(cat "$NL_TMP/abs-$J.out")"
[ "$(cat "$NL_TMP/abs-$J-1.err")" = "e1" ] || nl_fail "abs err of task 1: $(cat "$NL_TMP/abs-$J-1.err")"

# %a in an array's output pattern: each task writes its own file; tasks
# keep their array's tasks per node.
nl_cli submit --array 0-2 --nodes 1 --tasks-per-node 2 --output "$NL_TMP/arr-%a.out" \
    -- /bin/sh -c 'echo "i$NORDLYS_ARRAY_TASK_ID r$RANK"'
[ "$NL_RC" = 0 ] || nl_fail "submit --array with %a: $NL_ERR"
A=$(printf '%s\n' "$NL_OUT" | sed -n 's/^submitted array job \([0-9]*\).*/\1/p')
[ -n "$A" ] || nl_fail "no array job id: $NL_OUT"
ended "$A" COMPLETED
for i in 0 1 2; do
    [ "$(sort "$NL_TMP/arr-$i.out" | tr '\n' '|')" = "0: i$i r0|1: i$i r1|" ] ||
        nl_fail "array task $i's output: $(cat "$NL_TMP/arr-$i.out" 2>&1)"
done

# ---- --input: task 0 reads the file, the others /dev/null ----
printf 'first line\nsecond line\n' >"$NL_TMP/in.txt"
J=$(submit --nodes 1 --tasks-per-node 2 --input "$NL_TMP/in.txt" -- /bin/sh -c 'n=$(wc -l); echo "read $n"')
ended "$J" COMPLETED
nl_expect 200 ".job.input == \"$NL_TMP/in.txt\""
OUT=$(nl_json .job.stdout)
[ "$(sort "$OUT" | tr '\n' '|')" = "0: read 2|1: read 0|" ] || nl_fail "--input: $(cat "$OUT")"
# One task alone: no label.
J=$(submit --input "$NL_TMP/in.txt" -- cat)
ended "$J" COMPLETED
[ "$(cat "$(nl_json .job.stdout)")" = "$(cat "$NL_TMP/in.txt")" ] || nl_fail "cat of --input"
# An input that cannot be opened fails the run, saying why.
J=$(submit --input "$NL_TMP/no-such-input" -- cat)
ended "$J" FAILED
nl_expect 200 ".job.exit_reason | test(\"input $NL_TMP/no-such-input: No such file or directory\")"

# ---- a failing task ends the run, with its exit code; the others are killed ----
J=$(submit --nodes 2 --gpus-per-node 1 --tasks-per-node 2 --time 300 -- \
    /bin/sh -c '[ "$RANK" = 3 ] && exit 7; exec sleep 300')
nl_wait "/v1/jobs/$J" '.job.state == "FAILED"' 60
nl_expect 200 '.job.exit_code == 7'

echo "shapes: ok"
