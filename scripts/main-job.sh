#!/bin/sh
# The README's main job (make run): the scheduler at facility scale, then the
# live system on this machine.
#   1. nordlys sim, the three policies side by side: on narvik (100,008
#      GPUs) with a synthetic AI-gigafactory workload (14 days: LLM gangs
#      of 1,024-16,384 GPUs and smaller jobs; contention builds up over the
#      first days), and, when ../shared/traces has it, the msitp trace on
#      a 2,048-GPU cluster it stresses (no shared trace stresses narvik:
#      bench/RESULTS.md);
#   2. a small facility on loopback (controller + agents), a first job run
#      end to end (scripts/run-local.sh).
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
nordlys=$build/src/cli/nordlys
traces=${NL_TRACES_DIR:-$top/../shared/traces}

echo "== nordlys sim: narvik, 14 synthetic days, policies side by side =="
"$nordlys" sim --facility narvik --days 14 --policy all

echo
if [ -f "$traces/msitp.csv" ]; then
    echo "== nordlys sim: the msitp trace on 256 nodes x 8 GPUs at load 0.9 =="
    "$nordlys" sim --nodes 256 --gpus-per-node 8 --trace "$traces/msitp.csv" --load 0.9 --policy all
else
    echo "(no shared traces at $traces: the trace replay is skipped)"
fi

echo
echo "== the live system: a small facility on this machine =="
"$top/scripts/run-local.sh" "$build"
