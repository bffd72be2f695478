#!/bin/sh
# End-to-end simulator tests on small traces with outcomes worked out by hand.
#   sim_small.sh PATH_TO_NORDLYS
#
# Cluster: 2 nodes x 8 GPUs in one rack (16 GPUs). Time limits are the
# durations rounded up to a minute (a: 120 s, b: 120 s, c: 60 s).
#   a: t=0,  8 GPUs, 100 s     runs 0-100 under every policy
#   b: t=10, 16 GPUs, 100 s    blocked by a; reservation at a's limit (120 s)
#   c: t=20, 4 GPUs, 50 s      fits beside a and ends (by its limit, 80 s)
#                              before b's reservation: backfill runs it at
#                              20-70; fifo keeps it behind b: 200-250
# So mean wait is (0 + 90 + 0) / 3 = 30 s with backfill and nordlys,
# (0 + 90 + 180) / 3 = 90 s with fifo; mean JCT 113.33 s and 173.33 s.
set -eu
nordlys=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > "$tmp/small.csv" <<'CSV'
job_id,submit_s,duration_s,gpus,tenant,status
a,0,100,8,lab,completed
b,10,100,16,lab,completed
c,20,50,4,lab,completed
CSV
run() { "$nordlys" sim --nodes 2 --gpus-per-node 8 --nodes-per-rack 2 --trace "$tmp/small.csv" --json "$@"; }

for p in backfill nordlys fifo; do
    run --policy $p > "$tmp/$p.json"
    jobs=$(jq .completed "$tmp/$p.json")
    viol=$(jq .violations.total "$tmp/$p.json")
    wait=$(jq '.wait_s.mean * 100 | round' "$tmp/$p.json")
    jct=$(jq '.jct_s.mean * 100 | round' "$tmp/$p.json")
    [ "$jobs" = 3 ] || fail "$p: completed $jobs, want 3"
    [ "$viol" = 0 ] || fail "$p: $viol violations"
    case $p in
    fifo) want_wait=9000 want_jct=17333 ;;
    *) want_wait=3000 want_jct=11333 ;;
    esac
    [ "$wait" = "$want_wait" ] || fail "$p: mean wait x100 = $wait, want $want_wait"
    [ "$jct" = "$want_jct" ] || fail "$p: mean jct x100 = $jct, want $want_jct"
    echo "ok: $p wait=$wait jct=$jct (x100 s)"
done

# Deterministic: the same run twice gives the same report, but for timings.
run --policy nordlys | jq 'del(.wall_s, .events_per_s)' > "$tmp/r1.json"
run --policy nordlys | jq 'del(.wall_s, .events_per_s)' > "$tmp/r2.json"
cmp -s "$tmp/r1.json" "$tmp/r2.json" || fail "two identical runs differ"
echo "ok: deterministic"

# A malformed line is reported with its line number and field, exit 1.
printf 'job_id,submit_s,duration_s,gpus,tenant,status\nx,0,10,2,lab,completed\ny,5,ten,2,lab,completed\n' > "$tmp/bad.csv"
set +e
"$nordlys" sim --nodes 2 --trace "$tmp/bad.csv" > "$tmp/out" 2> "$tmp/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "bad trace: exit $rc, want 1"
grep -q "bad.csv:3: duration_s" "$tmp/err" || fail "bad trace: message was: $(cat "$tmp/err")"
echo "ok: bad trace -> $(cat "$tmp/err")"

# A job bigger than the cluster is rejected and counted, the rest runs.
printf 'job_id,submit_s,duration_s,gpus,tenant,status\nx,0,10,2,lab,completed\nhuge,1,10,64,lab,completed\n' > "$tmp/huge.csv"
"$nordlys" sim --nodes 2 --trace "$tmp/huge.csv" --json > "$tmp/huge.json"
[ "$(jq .rejected "$tmp/huge.json")" = 1 ] || fail "huge job not rejected"
[ "$(jq .completed "$tmp/huge.json")" = 1 ] || fail "small job did not complete"
echo "ok: oversize job rejected"

# Unknown flag: usage error naming it.
set +e
"$nordlys" sim --facility narvik --colour blue > /dev/null 2> "$tmp/err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "unknown flag: exit $rc, want 2"
grep -q -- "--colour" "$tmp/err" || fail "unknown flag not named: $(cat "$tmp/err")"
echo "ok: unknown flag"
# Passes: at most one per 10 virtual seconds by default, one per event with
# --pass-interval 0. y arrives 5 s after the pass that started x: it waits
# for the next pass (5 s) by default, and not at all with a pass per event.
printf 'job_id,submit_s,duration_s,gpus,tenant,status\nx,0,100,4,lab,completed\ny,5,100,4,lab,completed\n' > "$tmp/pass.csv"
w=$("$nordlys" sim --nodes 2 --trace "$tmp/pass.csv" --json | jq '.wait_s.max // .wait_s.p99')
[ "$w" = 5 ] || fail "default pass interval: y waited $w s, want 5"
w=$("$nordlys" sim --nodes 2 --trace "$tmp/pass.csv" --pass-interval 0 --json | jq '.wait_s.p99')
[ "$w" = 0 ] || fail "--pass-interval 0: y waited $w s, want 0"
echo "ok: pass interval"

# --set: a bad scheduler setting is refused before anything runs, named.
set +e
"$nordlys" sim --nodes 2 --trace "$tmp/pass.csv" --set nordlys:reservatons=2 > /dev/null 2> "$tmp/err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "bad --set: exit $rc, want 2"
grep -q "reservatons" "$tmp/err" || fail "bad --set not named: $(cat "$tmp/err")"
"$nordlys" sim --nodes 2 --trace "$tmp/pass.csv" --set reservations=2 --set fifo:depth=10 --json > /dev/null ||
    fail "good --set refused"
echo "ok: --set"

# --out: a directory that does not exist yet is made (parents too) and gets
# one series per policy; one that cannot be made is an error naming it, not
# a report of invariant violations.
"$nordlys" sim --nodes 2 --trace "$tmp/pass.csv" --policy nordlys,backfill --out "$tmp/a/b" > /dev/null ||
    fail "--out into a new directory failed"
[ "$(head -1 "$tmp/a/b/timeseries-nordlys.csv" | cut -d, -f1-2)" = "t_s,utilization" ] ||
    fail "--out: no nordlys series"
[ -s "$tmp/a/b/timeseries-backfill.csv" ] || fail "--out: no backfill series"
: > "$tmp/file"
set +e
"$nordlys" sim --nodes 2 --trace "$tmp/pass.csv" --out "$tmp/file/x" > /dev/null 2> "$tmp/err"
rc=$?
set -e
[ "$rc" != 0 ] || fail "--out under a file: exit 0"
grep -q -- "--out $tmp/file/x" "$tmp/err" || fail "--out error not named: $(cat "$tmp/err")"
! grep -q "violations" "$tmp/err" || fail "--out error reported as violations"
echo "ok: --out"
echo "sim_small: 7 passed, 0 failed"
