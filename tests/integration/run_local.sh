#!/bin/sh
# run_local: scripts/run-local.sh, the README's main-job demo, as a user runs
# it: it starts nordlysd on the dev facility and two agents, submits a first
# job, shows it running and completed with its output, and stops everything.
# Checks its exit status, what it printed, and that nothing it started is
# left running afterwards.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
# The build directory holds src/ctld/nordlysd.
BUILD=$(dirname "$(dirname "$(dirname "$NORDLYSD")")")
SCRIPT="$NL_TEST_LIB/../../scripts/run-local.sh"
NL_TEST_TAG="$NL_TMP" NORDLYS_STATE_DIR="$NL_TMP/state" sh "$SCRIPT" "$BUILD" >"$NL_TMP/out" 2>&1
RC=$?
[ $RC = 0 ] || nl_fail "run-local.sh exited $RC: $(tail -n 40 "$NL_TMP/out")"
out_has() {
    grep -Eq -- "$1" "$NL_TMP/out" || nl_fail "run-local.sh output lacks /$1/: $(cat "$NL_TMP/out")"
}
out_has '^nordlysd is up at http://127\.0\.0\.1:[0-9]+'
out_has '^agent local-0: dev-'
out_has '^agent local-1: dev-'
[ "$(grep -Ec '^dev-p[0-9]+-r[0-9]+-n[0-9]+ +dev +[0-9]+ +up ' "$NL_TMP/out")" -ge 4 ] ||
    nl_fail "run-local.sh did not show 4 nodes up: $(cat "$NL_TMP/out")"
out_has '^submitted job 1$'
out_has '^  state +RUNNING$'
out_has '^== job 1 ended: COMPLETED$'
out_has '^  exit code +0$'
out_has '^hello from job 1 on .*, GPUs [0-3],[0-3]$'
out_has '^job 1 done$'
out_has '^nor-research +sovereign .* 1 +0$'
# Everything it started is gone: the daemons, and the job's processes.
left=$(nl_tagged_pids)
[ -z "$left" ] || nl_fail "run-local.sh left processes running: $(for p in $left; do tr '\0' ' ' </proc/$p/cmdline; echo; done)"
[ ! -e "$NL_TMP/state/ctld.port" ] || nl_fail "nordlysd did not stop cleanly (ctld.port is still there)"
echo "run_local: ok"
