#!/bin/sh
# agent_user (issue 10, the agent's side): a real nordlys-agent, as root,
# runs a job submitted through the API with a clean environment (none of
# the agent's variables but those --export-env names, the default PATH,
# the account's HOME/USER/LOGNAME/SHELL) and its output in a 0600 file in a
# 0700 directory of its own under a 0755 output root; the agent refuses a
# token file others can read and a CA file it cannot read, each with an
# error naming the file. That jobs take their account's uid (nobody's
# "id -u"), and that root needs allow_root, is tested with real processes
# in test_agent_jobs (test_jobs_run_as_their_user), as the controller's
# "user" field arrives in parallel.
set -u
. "$NL_TEST_LIB/daemon.sh"
if [ "$(id -u)" != 0 ]; then
    echo "agent_user: skipped: needs root (the agent changes a job's uid only as root)"
    exit 77
fi
nl_tmpdir
[ -n "${NORDLYS_AGENT:-}" ] || nl_fail "NORDLYS_AGENT is not set"

# ---- the agent refuses credentials it must not use ----
TOK="$NL_TMP/agent.token"
printf 'abc.def.ghi\n' >"$TOK"
chmod 0644 "$TOK"
if "$NORDLYS_AGENT" --controller http://127.0.0.1:9 --nodes n0 --state-dir "$NL_TMP/refuse" \
    --token-file "$TOK" >"$NL_TMP/refuse.log" 2>&1; then
    nl_fail "the agent started with a 0644 token file"
fi
grep -q -- "--token-file $TOK: mode 0644 lets others read the token; it must be 0600" "$NL_TMP/refuse.log" ||
    nl_fail "no clear token-file error: $(cat "$NL_TMP/refuse.log")"
chmod 0600 "$TOK"
if "$NORDLYS_AGENT" --controller https://127.0.0.1:9 --nodes n0 --state-dir "$NL_TMP/refuse" \
    --token-file "$TOK" --ca-file "$NL_TMP/no-ca.pem" >"$NL_TMP/refuse.log" 2>&1; then
    nl_fail "the agent started with a missing CA file"
fi
grep -q -- "--ca-file $NL_TMP/no-ca.pem: No such file or directory" "$NL_TMP/refuse.log" ||
    nl_fail "no clear CA-file error: $(cat "$NL_TMP/refuse.log")"
if "$NORDLYS_AGENT" --nodes n0 --export-env 'BAD-NAME' >"$NL_TMP/refuse.log" 2>&1; then
    nl_fail "the agent took --export-env BAD-NAME"
fi
grep -q -- "--export-env: 'BAD-NAME' is not a variable name" "$NL_TMP/refuse.log" ||
    nl_fail "no clear --export-env error: $(cat "$NL_TMP/refuse.log")"

# ---- a job's environment and output ----
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100
NODE=$(nl_nodes | head -n 1)
# The output root lies where any job user can reach it (NL_TMP itself is 0700).
ROOT=$(mktemp -d /tmp/nl-out-XXXXXX)
chmod 0755 "$ROOT"
trap 'rm -rf "$ROOT"; nl_cleanup' EXIT
export AGENT_ONLY_SECRET=s3cret
# NL_TEST_TAG reaches jobs only because it is named: the clean-up finds them by it.
nl_agent_start u0 --nodes "$NODE" --output-root "$ROOT/out" --export-env NL_TEST_TAG
unset AGENT_ONLY_SECRET
nl_wait "/v1/nodes?state=up" "any(.nodes[]; .name == \"$NODE\")"
grep -q "running as root: each job runs as the account its launch names" "$NL_TMP/agent-u0.log" ||
    nl_fail "the agent did not say whose identity jobs take"
[ "$(stat -c %a "$ROOT/out")" = 755 ] || nl_fail "output root mode $(stat -c %a "$ROOT/out"), not 755"

J=$(nl_submit '{"gpus":1,"command":["/bin/sh","-c","echo uid=$(id -u) secret=${AGENT_ONLY_SECRET-unset} tag=${NL_TEST_TAG:+set} path=$PATH user=$USER home=$HOME"]}')
nl_wait "/v1/jobs/$J" '.job.state == "COMPLETED" and .job.exit_code == 0' 30
OUT=$(nl_json .job.stdout)
case "$OUT" in
/*) ;;
*) nl_fail "the JOB object's stdout is not a whole path: $OUT" ;;
esac
# The controller names the account (as root with --allow-root-jobs in this harness, or root from a
# controller that names none): uid 0 here; nobody's uid is checked in test_agent_jobs.
LINE=$(cat "$OUT")
[ "$LINE" = "uid=0 secret=unset tag=set path=/usr/local/bin:/usr/bin:/bin user=root home=$(getent passwd root | cut -d: -f6)" ] ||
    nl_fail "the job's environment is not clean: $LINE"
[ "$(stat -c '%a %U' "$OUT")" = "600 root" ] || nl_fail "output file $OUT: $(stat -c '%a %U' "$OUT"), not 600 root"
[ "$(stat -c %a "$(dirname "$OUT")")" = 700 ] || nl_fail "job directory $(dirname "$OUT"): mode $(stat -c %a "$(dirname "$OUT")"), not 700"
echo "agent_user: ok"
