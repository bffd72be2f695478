#!/bin/sh
# ctld_second: a second nordlysd on a state directory in use refuses to
# start (exit 1) and names the lock file and the pid that holds it; the
# first carries on untouched. Once the first is gone (even by SIGKILL) the
# lock is free and a controller starts there with every job.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
S=$NL_TMP/state
nl_ctld_start "$S"
FIRST=$NL_CTLD_PID
ID=$(nl_submit '{"name":"kept","command":["true"]}')

# second [ARGS..]: run a second controller on $S; sets RC and OUT (its stderr and stdout).
second() {
    timeout 60 "$NORDLYSD" --state-dir "$S" --listen 127.0.0.1:0 "$@" >"$NL_TMP/second.out" 2>&1
    RC=$?
    OUT=$(cat "$NL_TMP/second.out")
}
second
[ "$RC" = 1 ] || nl_fail "a second nordlysd on $S exited $RC (want 1): $OUT"
printf '%s' "$OUT" | grep -q "$S/ctld.lock" || nl_fail "the refusal does not name $S/ctld.lock: $OUT"
printf '%s' "$OUT" | grep -q "pid $FIRST" || nl_fail "the refusal does not name pid $FIRST: $OUT"
echo "refused: $OUT"
# With a log file the reason still reaches stderr.
second --log-file "$NL_TMP/second.log"
[ "$RC" = 1 ] || nl_fail "a second nordlysd with --log-file exited $RC (want 1)"
printf '%s' "$OUT" | grep -q "pid $FIRST" || nl_fail "with --log-file, stderr does not say why: $OUT"

# The first is untouched: it answers, and its port file is its own.
kill -0 "$FIRST" 2>/dev/null || nl_fail "the first controller died"
[ "$(cat "$S/ctld.port")" = "$NL_PORT" ] || nl_fail "ctld.port changed under the first controller"
nl_http GET "/v1/jobs/$ID"
nl_expect 200 ".job.name == \"kept\""
ID2=$(nl_submit '{"name":"later","command":["true"]}')

# SIGKILL releases the lock: the next controller starts and has both jobs.
nl_ctld_kill9
nl_ctld_start "$S"
nl_http GET "/v1/jobs?limit=100"
nl_expect 200 ".total == 2 and ([.jobs[].id] | sort) == ([$ID, $ID2] | sort)"
grep -q "^$NL_CTLD_PID\$" "$S/ctld.lock" || nl_fail "ctld.lock does not hold the new pid $NL_CTLD_PID"
nl_ctld_stop || nl_fail "nordlysd did not stop cleanly"
echo "ok"
