#!/bin/sh
# torch_dist: distributed training that runs unmodified (issue 12), with
# Debian's python3-torch, through the CLI against the real nordlysd and two
# real agents on loopback (the dev facility; agent a0 has nodes 0 and 2,
# a1 nodes 1 and 3, so a 2-node job in one rack has a node on each agent).
#
# (a) a script written as a user writes it for torch.distributed's env://
#     rendezvous (init_process_group("gloo", init_method="env://"): RANK,
#     WORLD_SIZE, MASTER_ADDR and MASTER_PORT from the environment, nothing
#     nordlys-specific) runs as 2 nodes x 2 tasks; its all-reduce of
#     rank + 1 over 4 ranks must give 1 + 2 + 3 + 4 = 10 in every rank;
# (b) the same script under torchrun with a static rendezvous
#     (--nnodes 2 --nproc_per_node 2 --node_rank $NODE_RANK --master_addr
#     $MASTER_ADDR --master_port $MASTER_PORT), one task per node.
#
# Skipped (77) when no python3 with torch is installed.
set -u
. "$NL_TEST_LIB/daemon.sh"
PY=""
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch.distributed' >/dev/null 2>&1; then
        PY=$(command -v "$p")
        break
    fi
done
if [ -z "$PY" ]; then
    echo "SKIP: torch_dist needs python3-torch (import torch.distributed failed)"
    exit 77
fi
nl_tmpdir
[ -n "${NORDLYS_AGENT:-}" ] || nl_fail "NORDLYS_AGENT is not set"
[ -n "${NORDLYS_CLI:-}" ] || nl_fail "NORDLYS_CLI is not set"

nl_ctld_start "$NL_TMP/state" --facility dev --sched-interval-ms 20 --sync-interval-ms 100
nl_agents_start 2 --output-root "$NL_TMP/out" --sync-interval-ms 100

# The user's script, as written for any launcher that sets the env:// variables.
cat >"$NL_TMP/allreduce.py" <<'EOF'
import os

import torch
import torch.distributed as dist

dist.init_process_group("gloo", init_method="env://")
rank = dist.get_rank()
world = dist.get_world_size()
t = torch.tensor([float(rank + 1)])
dist.all_reduce(t, op=dist.ReduceOp.SUM)
# One write per line: torchrun's workers share their node's stdout and run
# unbuffered, so print()'s separate writes of text and newline can interleave.
os.write(1, f"rank {rank} local {os.environ['LOCAL_RANK']} of {world} sum {t.item():g}\n".encode())
dist.destroy_process_group()
EOF

submit() {
    nl_cli submit --parsable "$@"
    [ "$NL_RC" = 0 ] || nl_fail "nordlys submit $*: rc $NL_RC: $NL_ERR"
    printf '%s\n' "$NL_OUT"
}
# check ID: the job completed and each of the 4 ranks printed the right sum.
check() {
    nl_wait "/v1/jobs/$1" '.job.state != "PENDING" and .job.state != "RUNNING"' 240
    nl_is '.job.state == "COMPLETED"' ||
        nl_fail "job $1 $(nl_json .job.state) ($(nl_json .job.exit_reason)): $(cat "$(nl_json .job.stdout)" "$(nl_json .job.stderr)" 2>&1 | tail -40)"
    _out=$(nl_json .job.stdout)
    for r in 0 1 2 3; do
        grep -Eq "^[0-9]+: rank $r local $((r % 2)) of 4 sum 10$" "$_out" ||
            nl_fail "job $1: rank $r did not report the sum 10: $(cat "$_out")"
    done
    [ "$(grep -c ' sum ' "$_out")" = 4 ] || nl_fail "job $1: 4 ranks, one line each: $(cat "$_out")"
}

# (a) env://, 2 nodes x 2 tasks: nordlys starts the 4 processes.
J=$(submit --name env --nodes 2 --gpus-per-node 1 --tasks-per-node 2 --time 5m -- "$PY" "$NL_TMP/allreduce.py")
check "$J"
nl_is '.job.nodes | length == 2' || nl_fail "job $J did not run on 2 nodes: $(nl_json .job.nodes)"

# (b) torchrun, static rendezvous, one task per node; torchrun starts 2 workers on each.
# shellcheck disable=SC2016 # expanded by the job's shell, from what nordlys sets
# torch 1.13 (Debian 12) spells the options with underscores only; later ones take both.
# Its default --redirects/--tee "0" break under Python 3.11 (Std.from_str("0") is None there,
# and torchrun fails in to_map with "'NoneType' object has no attribute 'get'"): a map naming
# no local rank ("9:0") means the same, no redirection, and passes. Newer torch needs neither.
FIX=""
"$PY" -c 'from torch.distributed.elastic.multiprocessing.api import Std; assert Std.from_str("0") is not None' \
    2>/dev/null || FIX="--redirects 9:0 --tee 9:0"
RUN='exec "$0" -m torch.distributed.run --nnodes 2 --nproc_per_node 2 --node_rank "$NODE_RANK" --master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT" '"$FIX"' "$1"'
J=$(submit --name torchrun --nodes 2 --gpus-per-node 1 --time 5m -- /bin/sh -c "$RUN" "$PY" "$NL_TMP/allreduce.py")
check "$J"

echo "torch_dist: ok"
