#!/bin/sh
# token_revoke: an admin revokes one token (by its jti) and every token of a
# user through the CLI (`nordlys token revoke`, `nordlys token revocations`)
# against the real controller: from the next request on the revoked tokens
# get 401 with a reason naming what was revoked, by whom and why, and the
# others keep working; a user's token minted right after the revocation
# works; a non-admin cannot revoke; bad requests are refused naming the
# field; the revocations and the 401s are in the audit log, whose chain
# still verifies; and after a controller restart all of it still holds.
# Then key rotation (`nordlysd token rotate-key|retire-key`): after a
# rotation tokens of the previous key still work and new ones are signed
# with the new key; after the retirement the previous key's get 401.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
S=$NL_TMP/state
nl_ctld_start "$S"

# mint USER: a user token of tenant uk through the CLI; prints "TOKEN JTI".
mint() {
    nl_cli token create --user "$1" --role user --tenant uk --unix-user nobody --ttl 1h --json
    [ "$NL_RC" = 0 ] || nl_fail "token create $1: rc $NL_RC: $NL_ERR"
    printf '%s' "$NL_OUT" | jq -r '"\(.token) \(.jti)"'
}
# shellcheck disable=SC2046 # "TOKEN JTI" split in two on purpose
set -- $(mint dora)
D1=$1 D1_JTI=$2
# shellcheck disable=SC2046
set -- $(mint dora)
D2=$1
# shellcheck disable=SC2046
set -- $(mint erin)
E1=$1
if [ -z "$D1_JTI" ] || [ "$D1_JTI" = null ]; then nl_fail "token create --json gave no jti"; fi

# as TOKEN ARGS..: the CLI with that token.
as() {
    _t=$1
    shift
    NORDLYS_TOKEN=$_t nl_cli "$@"
}
as "$D1" queue
[ "$NL_RC" = 0 ] || nl_fail "dora's first token before any revocation: $NL_ERR"

# ---- one token, by its jti ----
nl_cli token revoke --jti "$D1_JTI" --reason "laptop lost"
[ "$NL_RC" = 0 ] || nl_fail "token revoke --jti: rc $NL_RC: $NL_ERR"
printf '%s' "$NL_OUT" | grep -q "jti $D1_JTI revoked by root: laptop lost" ||
    nl_fail "token revoke --jti said: $NL_OUT"
as "$D1" queue
[ "$NL_RC" != 0 ] || nl_fail "a revoked token still lists the queue"
printf '%s' "$NL_ERR" | grep -q "revoked (jti $D1_JTI) at .* by root: laptop lost" ||
    nl_fail "the revoked token's error: $NL_ERR"
NL_HTTP_TOKEN=$D1 nl_http GET /v1/jobs
nl_expect 401 '.error.code == "unauthenticated" and (.error.message | test("revoked"))'
as "$D2" queue
[ "$NL_RC" = 0 ] || nl_fail "dora's other token was taken with the first: $NL_ERR"

# ---- every token of a user ----
nl_cli token revoke --user erin --reason "left the project"
[ "$NL_RC" = 0 ] || nl_fail "token revoke --user: rc $NL_RC: $NL_ERR"
as "$E1" queue
[ "$NL_RC" != 0 ] || nl_fail "erin's token survived the revocation of all her tokens"
printf '%s' "$NL_ERR" | grep -q "every token of user erin issued until" ||
    nl_fail "erin's error: $NL_ERR"
# A token minted for her now (the same second, likely) is not revoked.
# shellcheck disable=SC2046
set -- $(mint erin)
E2=$1
as "$E2" queue
[ "$NL_RC" = 0 ] || nl_fail "erin's token minted after the revocation: $NL_ERR"

# ---- who may, and what is refused ----
as "$D2" token revoke --user erin
[ "$NL_RC" != 0 ] || nl_fail "a user revoked tokens"
printf '%s' "$NL_ERR" | grep -q "needs an admin token" || nl_fail "user's revoke: $NL_ERR"
nl_cli token revoke
[ "$NL_RC" = 2 ] || nl_fail "token revoke without --jti or --user: rc $NL_RC"
nl_cli token revoke --jti a --user b
[ "$NL_RC" = 2 ] || nl_fail "token revoke with both: rc $NL_RC"
nl_http POST /v1/tokens/revoke '{"jti":"x","colour":"red"}'
nl_expect 400 '.error.message | test("colour: unknown field")'
nl_http POST /v1/tokens/revoke '{"user":""}'
nl_expect 400 '.error.message | test("user: expected a string")'
nl_http POST /v1/tokens/revoke '{"user":"a\tb"}'
nl_expect 400 '.error.field == "user" and (.error.message | test("user: control character at byte 1"))'
NL_HTTP_TOKEN=$D2 nl_http GET /v1/tokens/revocations
nl_expect 403

# ---- the list and the audit log ----
check_list() {
    nl_cli token revocations
    [ "$NL_RC" = 0 ] || nl_fail "token revocations: $NL_ERR"
    [ "$(printf '%s\n' "$NL_OUT" | wc -l)" = 2 ] || nl_fail "revocations ($1): $NL_OUT"
    printf '%s\n' "$NL_OUT" | sed -n 1p | grep -q "^jti $D1_JTI revoked by root: laptop lost" ||
        nl_fail "revocations, first ($1): $NL_OUT"
    printf '%s\n' "$NL_OUT" | sed -n 2p | grep -q "^user erin revoked by root (tokens issued until" ||
        nl_fail "revocations, second ($1): $NL_OUT"
}
check_list "before the restart"
nl_http GET /v1/audit
nl_expect 200
printf '%s' "$NL_BODY" | jq -r '.lines[]' >"$NL_TMP/audit"
grep -q "\"target\":\"token revocation: jti $D1_JTI\"" "$NL_TMP/audit" ||
    nl_fail "no audit record of the jti's revocation"
grep -q '"target":"token revocation: user erin"' "$NL_TMP/audit" ||
    nl_fail "no audit record of erin's revocation"
grep -q '"who":"dora".*"status":401.*revoked (jti' "$NL_TMP/audit" ||
    nl_fail "no audit record of the revoked token's 401"
nl_cli audit verify
[ "$NL_RC" = 0 ] || nl_fail "audit verify after revocations: $NL_OUT $NL_ERR"

# ---- a restart keeps them ----
nl_ctld_stop
nl_ctld_start "$S" --listen "127.0.0.1:$NL_PORT"
as "$D1" queue
[ "$NL_RC" != 0 ] || nl_fail "the revoked jti works again after a restart"
printf '%s' "$NL_ERR" | grep -q "revoked (jti $D1_JTI)" || nl_fail "after restart: $NL_ERR"
as "$E1" queue
[ "$NL_RC" != 0 ] || nl_fail "erin's old token works again after a restart"
as "$E2" queue
[ "$NL_RC" = 0 ] || nl_fail "erin's new token after a restart: $NL_ERR"
as "$D2" queue
[ "$NL_RC" = 0 ] || nl_fail "dora's other token after a restart: $NL_ERR"
check_list "after the restart"

# ---- key rotation: the previous key verifies (never signs) until retired ----
nl_ctld_stop
"$NORDLYSD" token rotate-key --state-dir "$S" >"$NL_TMP/rotate.out" 2>&1 ||
    nl_fail "rotate-key: $(cat "$NL_TMP/rotate.out")"
[ -f "$S/jwt.key.old" ] || nl_fail "rotate-key left no jwt.key.old"
nl_ctld_start "$S" --listen "127.0.0.1:$NL_PORT"
as "$E2" queue
[ "$NL_RC" = 0 ] || nl_fail "a token of the previous key after the rotation: $NL_ERR"
as "$D1" queue
[ "$NL_RC" != 0 ] || nl_fail "a rotation undid a revocation"
# shellcheck disable=SC2046
set -- $(mint fred)
F1=$1
as "$F1" queue
[ "$NL_RC" = 0 ] || nl_fail "a token of the new key: $NL_ERR"
nl_ctld_stop
"$NORDLYSD" token retire-key --state-dir "$S" >"$NL_TMP/retire.out" 2>&1 ||
    nl_fail "retire-key: $(cat "$NL_TMP/retire.out")"
"$NORDLYSD" token retire-key --state-dir "$S" >"$NL_TMP/retire.out" 2>&1 &&
    nl_fail "retire-key without a previous key succeeded"
grep -q "no previous key to retire" "$NL_TMP/retire.out" || nl_fail "retire-key: $(cat "$NL_TMP/retire.out")"
nl_ctld_start "$S" --listen "127.0.0.1:$NL_PORT"
as "$E2" queue
[ "$NL_RC" != 0 ] || nl_fail "a token of the retired key still works"
printf '%s' "$NL_ERR" | grep -q "bad signature" || nl_fail "retired key's token: $NL_ERR"
as "$F1" queue
[ "$NL_RC" = 0 ] || nl_fail "a token of the new key after the retirement: $NL_ERR"
echo "token_revoke: ok"
