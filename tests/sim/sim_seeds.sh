#!/bin/sh
# The simulator over several seeds (issue 13): the spread report's medians,
# worst seeds and ratios against the baseline are checked against the
# per-seed runs it also prints; trace copies, user time limits and the
# LLM-era mix are checked on real runs; bad options name themselves.
#   sim_seeds.sh PATH_TO_NORDLYS
set -eu
nordlys=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A small synthetic trace with enough contention for the policies to differ.
awk 'BEGIN { print "job_id,submit_s,duration_s,gpus,tenant,status";
             srand(7);
             for (i = 0; i < 400; i++) {
                 t += int(rand() * 120);
                 g = 2 ^ int(rand() * 5);
                 printf "j%d,%d,%d,%d,lab%d,completed\n", i, t, 60 + int(rand() * 7200), g, i % 7 }
           }' > "$tmp/t.csv"
run() { "$nordlys" sim --nodes 8 --gpus-per-node 8 --trace "$tmp/t.csv" --load 0.9 "$@"; }

run --policy nordlys,backfill --seeds 1-5 --json > "$tmp/s.json"
[ "$(jq '.seeds | length' "$tmp/s.json")" = 5 ] || fail "want 5 seeds"
[ "$(jq '.runs | length' "$tmp/s.json")" = 10 ] || fail "want 10 runs"
[ "$(jq -r .baseline "$tmp/s.json")" = backfill ] || fail "baseline is not backfill"
# The median and worst of the per-seed JCT ratio, recomputed from the runs.
want=$(jq '[.runs | group_by(.seed)[] | (map(select(.policy=="nordlys"))[0].jct_s.mean /
             map(select(.policy=="backfill"))[0].jct_s.mean)] | sort | [.[2], .[4]]
           | map(. * 1e6 | round)' "$tmp/s.json" | tr -d ' \n')
got=$(jq '.summary.nordlys.against_baseline.jct_mean_ratio | [.median, .worst]
          | map(. * 1e6 | round)' "$tmp/s.json" | tr -d ' \n')
[ "$want" = "$got" ] || fail "jct ratio median/worst: got $got, want $want"
echo "ok: jct ratio median/worst $got (x1e6) matches the runs"
# Utilization: worst is the lowest seed, in points against the baseline.
want=$(jq '[.runs | group_by(.seed)[] | (map(select(.policy=="nordlys"))[0].utilization -
             map(select(.policy=="backfill"))[0].utilization) * 100] | min | . * 1e6 | round' \
       "$tmp/s.json")
got=$(jq '.summary.nordlys.against_baseline.utilization_diff_pt.worst * 1e6 | round' "$tmp/s.json")
[ "$want" = "$got" ] || fail "utilization worst: got $got, want $want"
# Seeds differ (the workload is drawn per seed), and the table says median / worst.
[ "$(jq '[.runs[] | select(.policy=="nordlys") | .jct_s.mean] | unique | length' "$tmp/s.json")" -gt 1 ] ||
    fail "every seed gave the same result"
run --policy nordlys,backfill --seeds 1,2,3 > "$tmp/s.txt"
grep -q "3 seeds (1..3): median / worst" "$tmp/s.txt" || fail "table header: $(head -1 "$tmp/s.txt")"
grep -q "^mean jct ratio" "$tmp/s.txt" || fail "no ratio rows"
echo "ok: seeds table"

# Copies: three times the jobs and the work, all completed, no violations.
run --policy nordlys --json > "$tmp/one.json"
run --policy nordlys --copies 3 --json > "$tmp/three.json"
[ "$(jq .jobs "$tmp/three.json")" = "$(( $(jq .jobs "$tmp/one.json") * 3 ))" ] || fail "copies: jobs"
[ "$(jq .violations.total "$tmp/three.json")" = 0 ] || fail "copies: violations"
echo "ok: copies"

# User limits are never below the run time: no job times out; 3x neither.
for l in user 3x; do
    run --policy backfill --limits $l --json > "$tmp/l.json"
    [ "$(jq .timeouts "$tmp/l.json")" = 0 ] || fail "--limits $l: timeouts"
done
echo "ok: limits"

# The LLM-era mix on a 1,024-GPU cluster: gangs of 128 GPUs and more exist.
"$nordlys" sim --nodes 128 --gpus-per-node 8 --mix llm --days 7 --policy backfill --json > "$tmp/llm.json"
[ "$(jq '.completed > 100 and .violations.total == 0' "$tmp/llm.json")" = true ] || fail "llm mix"
echo "ok: llm-era mix"

# Bad options name themselves, exit 2.
for args in "--seeds 3-1" "--seeds x" "--limits 0.5x" "--mix huge" "--copies 2" \
            "--policy nordlys --baseline fifo" "--copies 0 --trace $tmp/t.csv"; do
    set +e
    # shellcheck disable=SC2086
    "$nordlys" sim --nodes 8 $args > /dev/null 2> "$tmp/err"
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "'$args': exit $rc, want 2"
    flag=$(echo "$args" | awk '{ print ($1 == "--policy") ? $3 : $1 }')
    grep -q -- "$flag" "$tmp/err" || fail "'$args': message does not name $flag: $(cat "$tmp/err")"
done
echo "ok: bad options"
