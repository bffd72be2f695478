#!/bin/sh
# SPDX-License-Identifier: MIT
# run_ctld_restart (issue 12): `nordlys run` outlives a controller SIGKILLed
# and restarted while it streams. The controller's output tails are memory
# only, so what it held is gone; run must neither show a line twice nor out
# of order, must say so if it skipped any, and must still end with the
# job's exit status once the job has ended.
# 1. nordlys run follows a job that prints "line N", N = 1..300, a line
#    every 20 ms, then exits 7.
# 2. Once run has written 40 lines (progress), nordlysd is SIGKILLed and
#    restarted on the same state and port; the agent syncs again and the
#    job runs on.
# 3. run exits 7; its lines are strictly increasing and end at 300; a gap
#    is allowed only where run said it skipped bytes.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
S=$NL_TMP/state
ARGS="--sched-interval-ms 10 --sync-interval-ms 100 --node-timeout-ms 10000"
nl_ctld_start "$S" $ARGS
nl_agent_start a0 --emulate 4 --noop
nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4'

"$NORDLYS_CLI" run -- sh -c 'i=1; while [ $i -le 300 ]; do echo line $i; i=$((i + 1)); sleep 0.02; done; exit 7' \
    >"$NL_TMP/run.out" 2>"$NL_TMP/run.err" &
RUN=$!
nl_wait_until "[ \$(grep -c '^line' '$NL_TMP/run.out') -ge 40 ]" 60 "run to stream 40 lines"
nl_ctld_kill9
echo "controller killed after $(grep -c '^line' "$NL_TMP/run.out") lines streamed"
nl_ctld_start "$S" $ARGS
_deadline=$(($(date +%s) + 120))
while kill -0 $RUN 2>/dev/null; do
    [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "nordlys run did not end: $(tail -n 3 "$NL_TMP/run.out")"
    sleep 0.05
done
wait $RUN
RC=$?
[ "$RC" = 7 ] || nl_fail "run returned $RC, not the job's 7: $(cat "$NL_TMP/run.err")"
awk -v skipped="$(grep -c skipped "$NL_TMP/run.err")" '
    /^line [0-9]+$/ { if ($2 <= last) bad = bad " " $2 " after " last; if ($2 != last + 1) gaps++; last = $2; n++; next }
    { bad = bad " [" $0 "]" }
    END {
        if (last != 300) bad = bad " last line " last
        if (gaps > 0 && skipped == 0) bad = bad " " gaps " gaps not announced"
        if (bad != "") { print "bad:" bad; exit 1 }
        print "run: " n " lines in order, " gaps + 0 " gaps (" skipped " skip notices)"
    }' "$NL_TMP/run.out" || nl_fail "run's output: $(head -c 300 "$NL_TMP/run.out")"
echo "run_ctld_restart: ok"
