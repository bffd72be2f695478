#!/bin/sh
# The simulator at facility scale, with invariants checked from scratch at
# every sample (--check): narvik and the multi-site narvik-2 on a short
# synthetic workload, every policy, a full check every 30 virtual minutes, 0 violations; and a shared trace on
# narvik when ../shared/traces has it (said plainly when it does not).
#   sim_scale.sh PATH_TO_NORDLYS TRACES_DIR
set -eu
nordlys=$1
traces=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
for fac in narvik narvik-2; do
    out=$("$nordlys" sim --facility "$fac" --days 1 --sample 1800 --policy all --check --json)
    n=$(echo "$out" | jq '[.runs[].violations.total] | add')
    c=$(echo "$out" | jq '[.runs[].completed] | min')
    [ "$n" = 0 ] || fail "$fac: $n violations"
    [ "$c" -gt 1000 ] || fail "$fac: only $c jobs completed"
    echo "ok: $fac all policies, $c+ jobs each, 0 violations"
done
if [ -f "$traces/alibaba-openb2023.csv" ]; then
    out=$("$nordlys" sim --facility narvik --trace "$traces/alibaba-openb2023.csv" --load 0.9 --check --json)
    [ "$(echo "$out" | jq .violations.total)" = 0 ] || fail "alibaba: violations"
    [ "$(echo "$out" | jq .completed)" = 6203 ] || fail "alibaba: not all jobs completed"
    echo "ok: alibaba-openb2023 on narvik at load 0.9"
else
    echo "SKIP: $traces/alibaba-openb2023.csv not found (shared traces absent)"
fi
echo "sim_scale: passed"
