#!/bin/sh
# Do two builds of the simulator print the same reports? For changes meant
# to make it faster and nothing else: every run's JSON must be identical
# byte for byte once the fields that measure the machine (wall_s,
# events_per_s) are dropped.
#   bench/sim-same.sh OLD_NORDLYS NEW_NORDLYS [QUICK=1: skip the long runs]
# Prints one line per run (same/DIFFERENT, and the two wall times) and
# exits 1 if any run differs.
set -eu
old=$1 new=$2
top=$(cd "$(dirname "$0")/.." && pwd)
traces=${NL_TRACES_DIR:-$top/../shared/traces}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

run() {
    name=$1
    shift
    "$old" sim "$@" --json > "$tmp/old.json"
    "$new" sim "$@" --json > "$tmp/new.json"
    wo=$(jq -r '[.wall_s // (.runs | map(.wall_s) | add)] | .[0]' "$tmp/old.json")
    wn=$(jq -r '[.wall_s // (.runs | map(.wall_s) | add)] | .[0]' "$tmp/new.json")
    # Drop the measured fields textually, wherever they nest: the rest stays byte for byte.
    grep -v -E '"(wall_s|events_per_s)":' "$tmp/old.json" > "$tmp/old.txt"
    grep -v -E '"(wall_s|events_per_s)":' "$tmp/new.json" > "$tmp/new.txt"
    if cmp -s "$tmp/old.txt" "$tmp/new.txt"; then
        printf 'same       %-40s %8.2f s -> %8.2f s\n' "$name" "$wo" "$wn"
    else
        printf 'DIFFERENT  %-40s %8.2f s -> %8.2f s\n' "$name" "$wo" "$wn"
        diff "$tmp/old.txt" "$tmp/new.txt" | head -20
        fail=1
    fi
}

tr=$traces
run "alibaba 16x8 all" --nodes 16 --gpus-per-node 8 --trace "$tr/alibaba-openb2023.csv" --load 0.9 --policy all
run "alibaba 16x8 all 3x seed 2" --nodes 16 --gpus-per-node 8 --trace "$tr/alibaba-openb2023.csv" \
    --load 0.9 --policy all --limits 3x --seed 2
run "msitp 256x8 all" --nodes 256 --gpus-per-node 8 --trace "$tr/msitp.csv" --load 0.9 --policy all
run "msitp 256x8 nordlys user limits" --nodes 256 --gpus-per-node 8 --trace "$tr/msitp.csv" \
    --load 0.9 --limits user --seed 3
run "llm mix 128x8 all, 14 days" --nodes 128 --gpus-per-node 8 --synthetic --mix llm --days 14 \
    --load 0.9 --policy all
run "narvik 7 days power" --facility narvik --days 7 --load 1.5 --budget 200 --power
run "philly 312x8 first 30000, all" --nodes 312 --gpus-per-node 8 --trace "$tr/philly.csv" \
    --load 0.9 --policy all --max-jobs 30000
if [ "${QUICK:-0}" != 1 ]; then
    run "philly 312x8 nordlys" --nodes 312 --gpus-per-node 8 --trace "$tr/philly.csv" --load 0.9 \
        --policy nordlys
    run "philly 312x8 nordlys 3x" --nodes 312 --gpus-per-node 8 --trace "$tr/philly.csv" \
        --load 0.9 --policy nordlys --limits 3x
fi
exit $fail
