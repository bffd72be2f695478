#!/bin/sh
# The README's main job (make run): the scheduler at facility scale, then the
# live system on this machine.
#   1. nordlys sim on narvik (100,008 GPUs), the three policies side by side,
#      on a shared trace when ../shared/traces has it, else on a synthetic
#      AI-gigafactory workload;
#   2. a small facility on loopback (controller + agents), a first job run
#      end to end (scripts/run-local.sh).
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
nordlys=$build/src/cli/nordlys
traces=${NL_TRACES_DIR:-$top/../shared/traces}

echo "== nordlys sim: narvik, policies side by side =="
if [ -f "$traces/msitp.csv" ]; then
    echo "(trace $traces/msitp.csv at load 0.9)"
    "$nordlys" sim --facility narvik --trace "$traces/msitp.csv" --load 0.9 --policy all
else
    echo "(no shared traces at $traces: a synthetic 7-day workload instead)"
    "$nordlys" sim --facility narvik --days 7 --policy all
fi

echo
echo "== the live system: a small facility on this machine =="
"$top/scripts/run-local.sh" "$build"
