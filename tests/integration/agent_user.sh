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
# The agent runs under umask 077 (a hardened service's): the output root it makes
# must still be 0755, or no job of another user gets to its own directory.
umask 077
nl_agent_start u0 --nodes "$NODE" --output-root "$ROOT/out" --export-env NL_TEST_TAG
umask 022
unset AGENT_ONLY_SECRET
nl_wait "/v1/nodes?state=up" "any(.nodes[]; .name == \"$NODE\")"
grep -q "running as root: each job runs as the account its launch names" "$NL_TMP/agent-u0.log" ||
    nl_fail "the agent did not say whose identity jobs take"
[ "$(stat -c %a "$ROOT/out")" = 755 ] || nl_fail "output root mode $(stat -c %a "$ROOT/out"), not 755"

J=$(nl_submit '{"gpus":1,"command":["/bin/sh","-c","echo uid=$(id -u) secret=${AGENT_ONLY_SECRET-unset} tag=${NL_TEST_TAG:+set} path=$PATH user=$USER home=$HOME"]}')
nl_wait "/v1/jobs/$J" '.job.state == "COMPLETED" and .job.exit_code == 0' 60
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
# ---- a job as another user: its own uid, and neither the controller's state nor root's output ----
# NL_TMP (mktemp, 0700) is opened to traversal, so that only the state directory's own mode
# (0700, the controller's) stands between the job and the database.
chmod 0711 "$NL_TMP"
[ "$(stat -c %a "$NL_TMP/state")" = 700 ] || nl_fail "state directory mode $(stat -c %a "$NL_TMP/state"), not 700"
NOBODY_UID=$(id -u nobody) || nl_fail "no account nobody"
UTOK=$("$NORDLYSD" token --state-dir "$NL_TMP/state" --user u1 --role user --tenant nor-research \
    --unix-user nobody --ttl 1h) || nl_fail "cannot mint a user token"
ROOT_OUT=$OUT
BODY=$(jq -cn --arg db "$NL_TMP/state/nordlys.db" --arg out "$ROOT_OUT" \
    '{gpus:1, tenant:"nor-research", command:["/bin/sh","-c",
      "echo uid=$(id -u); cat \"$1\" >/dev/null 2>&1 && echo db=read || echo db=refused; cat \"$2\" >/dev/null 2>&1 && echo out=read || echo out=refused",
      "sh", $db, $out]}')
_out=$(curl -sS -m 60 -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $UTOK" --data-binary "$BODY" "$NL_URL/v1/jobs")
[ "$(printf '%s' "$_out" | tail -n 1)" = 201 ] || nl_fail "user submission refused: $_out"
JU=$(printf '%s' "$_out" | sed '$d' | jq -r .job.id)
nl_wait "/v1/jobs/$JU" '.job.state == "COMPLETED" and .job.exit_code == 0' 60
UOUT=$(nl_json .job.stdout)
ULINES=$(cat "$UOUT" | paste -sd' ' -)
[ "$ULINES" = "uid=$NOBODY_UID db=refused out=refused" ] ||
    nl_fail "a job of nobody saw: '$ULINES' (want uid=$NOBODY_UID db=refused out=refused)"
[ "$(stat -c '%a %U' "$UOUT")" = "600 nobody" ] || nl_fail "output file $UOUT: $(stat -c '%a %U' "$UOUT"), not 600 nobody"
echo "agent_user: ok"
