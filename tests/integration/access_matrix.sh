#!/bin/sh
# access_matrix: every role against every endpoint, with the status each
# cell must get (the table below); bad tokens (none, expired, tampered,
# signed with another key, alg "none"); the cross-site-shaped request;
# agent impersonation, node takeover and forged exits; tenant isolation
# (user B neither sees tenant A's jobs, env nor cancels them); the launch
# names the job's user; rate and queue limits answer 429.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
S=$NL_TMP/state
nl_ctld_start "$S" --trusted-origin https://portal.example

# ---- the callers ----
tok() { nl_token "$S" "$@" --ttl 1h || nl_fail "cannot mint $*"; }
T_admin=$NL_TOKEN
T_operator=$(tok --user olga --role operator --unix-user nobody)
T_userA=$(tok --user alice --role user --tenant anchor --unix-user nobody)
T_userB=$(tok --user bob --role user --tenant uk --unix-user nobody)
T_agent=$NL_AGENT_TOKEN
T_none=""
T_expired=$(nl_token "$S" --user alice --role user --tenant anchor --ttl 1s) || nl_fail "mint"
T_wrongkey=$(nl_token "$NL_TMP/other" --user root --role admin --ttl 1h) || nl_fail "mint"

# base64url of stdin, no padding; and back (padding restored).
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
unb64url() {
    _s=$(printf '%s' "$1" | tr -- '-_' '+/')
    while [ $((${#_s} % 4)) -ne 0 ]; do _s="$_s="; done
    printf '%s' "$_s" | base64 -d
}
# Tampered: alice's claims with her role made admin and her tenants all, signature kept.
_h=${T_userA%%.*}
_rest=${T_userA#*.}
_p=${_rest%%.*}
_sig=${_rest#*.}
_claims=$(unb64url "$_p" | jq -c '.role = "admin"')
T_tampered="$_h.$(printf '%s' "$_claims" | b64url).$_sig"
# alg "none": the same claims, unsigned.
T_algnone="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(printf '%s' "$_claims" | b64url)."

NODES=$(nl_nodes)
N0=$(printf '%s\n' "$NODES" | sed -n 1p)
N1=$(printf '%s\n' "$NODES" | sed -n 2p)
N2=$(printf '%s\n' "$NODES" | sed -n 3p)

# call TOKEN METHOD PATH [BODY [CONTENT_TYPE [ORIGIN]]]: sets NL_STATUS, NL_BODY.
call() {
    _out=$(curl -sS -m 60 -o - -w '\n%{http_code}' -X "$2" \
        ${1:+-H "Authorization: Bearer $1"} \
        ${4+-H "Content-Type: ${5:-application/json}"} ${4+--data-binary "$4"} \
        ${6:+-H "Origin: $6"} "$NL_URL$3") || nl_fail "curl $2 $3 failed"
    NL_STATUS=$(printf '%s' "$_out" | tail -n 1)
    NL_BODY=$(printf '%s' "$_out" | sed '$d')
}

# The expired token: wait (with a deadline) until its second has passed.
nl_wait_until 'call "$T_expired" GET /v1/jobs; [ "$NL_STATUS" = 401 ]' 60 "the 1 s token to expire"
nl_expect 401 '.error.code == "unauthenticated" and (.error.message | test("expired"))'

# A job of tenant anchor (A), with a secret in its env, and one to cancel per cell.
nl_http POST /v1/jobs '{"name":"a-secret","command":["true"],"gpus":1,"tenant":"anchor","env":{"SECRET":"s3cr3t"}}'
nl_expect 201 '.job.user == "root"'
JA=$(nl_json .job.id)

# An agent "full" (agent token, nodes *) owns N1 and N2; the matrix's register/sync use "mx" on N0.
NL_HTTP_TOKEN=$T_agent nl_http POST /v1/agent/register "{\"agent\":\"full\",\"nodes\":[\"$N1\",\"$N2\"],\"emulated\":true}"
nl_expect 200
FULL=$(nl_json .agent_id)

JOB_BODY='{"command":["true"],"gpus":1,"tenant":"anchor"}'
REG_BODY="{\"agent\":\"mx\",\"nodes\":[\"$N0\"],\"emulated\":true}"
TOKEN_BODY='{"user":"carol","role":"user","tenants":["uk"],"ttl_s":600}'
DRAIN_BODY="{\"nodes\":[\"$N2\"],\"reason\":\"matrix\"}"
RESUME_BODY="{\"nodes\":[\"$N2\"]}"
GROW_BODY='{"site":"dev","racks":1}'
# resv_body K: a reservation of N0 for day K from now (windows of different cells never overlap).
resv_body() {
    printf '{"nodes":["%s"],"start":%s,"duration":3600}' "$N0" "$(($(date +%s) + 86400 * $1))"
}
vc=0

# METHOD PATH BODY | admin operator userA userB agent none expired tampered wrongkey algnone
# BODY: - none, J job, R register, S sync, T token, D drain, U resume, V reservation,
# G one rack more (expansion online), K revocation (of a jti no token carries).
# {J}: a fresh job of tenant anchor; {V}: a fresh reservation (made by admin).
MATRIX='
POST   /v1/jobs           J  201 201 201 403 403 401 401 401 401 401
GET    /v1/jobs           -  200 200 200 200 403 401 401 401 401 401
GET    /v1/jobs/{J}       -  200 200 200 404 403 401 401 401 401 401
DELETE /v1/jobs/{J}       -  200 200 200 403 403 401 401 401 401 401
GET    /v1/facility       -  200 200 200 200 200 401 401 401 401 401
GET    /v1/nodes          -  200 200 200 200 200 401 401 401 401 401
GET    /v1/tenants        -  200 200 200 200 403 401 401 401 401 401
GET    /v1/usage          -  200 200 200 200 403 401 401 401 401 401
GET    /v1/health         -  200 200 200 200 200 200 200 200 200 200
GET    /metrics           -  200 200 200 200 200 200 200 200 200 200
POST   /v1/agent/register R  403 403 403 403 200 401 401 401 401 401
POST   /v1/agent/sync     S  403 403 403 403 200 401 401 401 401 401
POST   /v1/tokens         T  201 403 403 403 403 401 401 401 401 401
GET    /v1/audit          -  200 403 403 403 403 401 401 401 401 401
POST   /v1/tokens/revoke  K  200 403 403 403 403 401 401 401 401 401
GET    /v1/tokens/revocations - 200 403 403 403 403 401 401 401 401 401
POST   /v1/nodes/drain    D  200 200 403 403 403 401 401 401 401 401
POST   /v1/nodes/resume   U  200 200 403 403 403 401 401 401 401 401
GET    /v1/reservations   -  200 200 200 200 403 401 401 401 401 401
POST   /v1/reservations   V  201 201 403 403 403 401 401 401 401 401
DELETE /v1/reservations/{V} - 200 200 403 403 403 401 401 401 401 401
GET    /v1/history        -  200 200 200 200 403 401 401 401 401 401
GET    /v1/estimates      -  200 200 200 200 403 401 401 401 401 401
GET    /v1/jobs/{J}/events -  200 200 200 404 403 401 401 401 401 401
GET    /v1/queue          -  200 200 200 200 200 401 401 401 401 401
POST   /v1/facility/racks G  201 201 403 403 403 401 401 401 401 401
'
ROLES="admin operator userA userB agent none expired tampered wrongkey algnone"
cells=0
printf '%s\n' "$MATRIX" | while read -r m path body rest; do
    [ -n "$m" ] || continue
    set -- $rest
    for role in $ROLES; do
        want=$1
        shift
        eval "t=\$T_$role"
        [ "$role" = algnone ] && t=$T_algnone
        p=$path
        case "$p" in
        *'{J}'*)
            nl_http POST /v1/jobs "$JOB_BODY"
            nl_expect 201
            p=$(printf '%s' "$p" | sed "s/{J}/$(nl_json .job.id)/")
            ;;
        *'{V}'*)
            vc=$((vc + 1))
            nl_http POST /v1/reservations "$(resv_body $vc)"
            nl_expect 201
            p=$(printf '%s' "$p" | sed "s/{V}/$(nl_json .reservation.id)/")
            ;;
        esac
        case "$body" in
        J) call "$t" "$m" "$p" "$JOB_BODY" ;;
        R) call "$t" "$m" "$p" "$REG_BODY" ;;
        S) call "$t" "$m" "$p" "{\"agent_id\":\"$FULL\"}" ;;
        T) call "$t" "$m" "$p" "$TOKEN_BODY" ;;
        K) call "$t" "$m" "$p" '{"jti":"matrix-no-such-token","reason":"matrix"}' ;;
        D) call "$t" "$m" "$p" "$DRAIN_BODY" ;;
        U) call "$t" "$m" "$p" "$RESUME_BODY" ;;
        G) call "$t" "$m" "$p" "$GROW_BODY" ;;
        V)
            vc=$((vc + 1))
            call "$t" "$m" "$p" "$(resv_body $vc)"
            ;;
        *) call "$t" "$m" "$p" ;;
        esac
        [ "$NL_STATUS" = "$want" ] ||
            nl_fail "$role: $m $p: expected $want, got $NL_STATUS: $NL_BODY"
        case "$want" in
        401) nl_expect 401 '.error.code == "unauthenticated"' ;;
        403) nl_expect 403 '.error.code == "forbidden"' ;;
        esac
    done
done || exit 1

# Each bad token says why.
call "" GET /v1/jobs
nl_expect 401 '.error.message | test("missing")'
call "$T_tampered" GET /v1/jobs
nl_expect 401 '.error.message | test("bad signature")'
call "$T_wrongkey" GET /v1/jobs
nl_expect 401 '.error.message | test("bad signature")'
call "$T_algnone" GET /v1/jobs
nl_expect 401 '.error.message | test("not HS256")'
call "not-a-token" GET /v1/jobs
nl_expect 401 '.error.message | test("malformed")'

# ---- the cross-site-shaped request: text/plain, a foreign Origin and Host ----
_out=$(curl -sS -m 60 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' \
    -H 'Origin: http://evil.example' -H 'Host: attacker.example' \
    --data-binary '{"command":["id"],"gpus":1}' "$NL_URL/v1/jobs")
[ "$_out" = 403 ] || nl_fail "cross-site request: expected 403, got $_out"
call "$T_admin" POST /v1/jobs "$JOB_BODY" application/json http://evil.example
nl_expect 403 '.error.message | test("Origin")'
call "$T_admin" POST /v1/jobs "$JOB_BODY" text/plain
nl_expect 415 '.error.code == "unsupported_media_type"'
call "$T_admin" POST /v1/jobs "$JOB_BODY" application/json https://portal.example
nl_expect 201

# ---- tenant isolation ----
call "$T_userB" GET /v1/jobs
nl_expect 200 '[.jobs[].tenant] | all(. == "uk")'
printf '%s' "$NL_BODY" | grep -q s3cr3t && nl_fail "user B saw tenant A's env: $NL_BODY"
call "$T_userB" GET "/v1/jobs?tenant=anchor"
nl_expect 403
call "$T_userB" GET "/v1/jobs/$JA"
nl_expect 404
printf '%s' "$NL_BODY" | grep -q s3cr3t && nl_fail "user B saw tenant A's env: $NL_BODY"
call "$T_userB" DELETE "/v1/jobs/$JA"
nl_expect 403
call "$T_userA" GET "/v1/jobs/$JA"
nl_expect 200 '.job.state != "CANCELLED" and .job.env.SECRET == "s3cr3t"'
call "$T_userA" GET /v1/jobs
nl_expect 200 '([.jobs[].tenant] | all(. == "anchor")) and (.jobs | length) > 0'
call "$T_userB" GET /v1/usage
nl_expect 200 '[.tenants[].name] == ["uk"]'
call "$T_userB" GET /v1/tenants
nl_expect 200 '[.tenants[].name] == ["uk"]'
call "$T_operator" GET /v1/usage
nl_expect 200 '(.tenants | length) > 1'
# A user's submission without a tenant goes to theirs, and runs as their unix_user.
call "$T_userB" POST /v1/jobs '{"command":["true"],"gpus":1}'
nl_expect 201 '.job.tenant == "uk" and .job.user == "nobody"'

# ---- agents: impersonation, node takeover, forged exits ----
T_agent0=$(tok --user agent0 --role agent --nodes "$N0")
# A token for N0 registering N1 (owned by "full"): refused, naming the node.
call "$T_agent0" POST /v1/agent/register "{\"agent\":\"thief\",\"nodes\":[\"$N1\"],\"emulated\":true}"
nl_expect 403 ".error.message | test(\"$N1\")"
# Taking over "full" by its name: refused too (its nodes are not the token's).
call "$T_agent0" POST /v1/agent/register "{\"agent\":\"full\",\"nodes\":[\"$N1\",\"$N2\"],\"emulated\":true}"
nl_expect 403
# A job running on "full"'s nodes; a sync under full's agent id with another node's token
# (a forged exit) is refused and the job keeps running.
nl_http POST /v1/jobs '{"command":["sleep","100"],"gpus":16,"tenant":"anchor"}'
nl_expect 201
NL_HTTP_TOKEN=$T_agent nl_sync_until "$FULL" ',"full":true,"running":[]' \
    'nl_is "(.launch | length) > 0"' 60 "a launch for agent full"
LJ=$(nl_json '.launch[0].job')
LN=$(nl_json '.launch[0].node')
LR=$(nl_json '.launch[0].run')
# Each launch names its job's user; root is allowed (nordlysd --allow-root-jobs).
nl_expect 200 '.launch | all(.allow_root == true and (.user == "root" or .user == "nobody"))'
EX="{\"job\":$LJ,\"run\":$LR,\"node\":\"$LN\",\"exit_code\":0,\"signal\":0}"
call "$T_agent0" POST /v1/agent/sync "{\"agent_id\":\"$FULL\",\"exits\":[$EX]}"
nl_expect 403 '.error.code == "forbidden"'
call "$T_userA" POST /v1/agent/sync "{\"agent_id\":\"$FULL\",\"exits\":[$EX]}"
nl_expect 403
nl_http GET "/v1/jobs/$LJ"
nl_expect 200 '.job.state == "RUNNING"'

# ---- the audit log holds the refusals and verifies ----
grep -q '"status":401' "$S/audit.log" || nl_fail "no 401 in the audit log"
grep -q '"status":403' "$S/audit.log" || nl_fail "no 403 in the audit log"
nl_cli audit verify
[ "$NL_RC" = 0 ] || nl_fail "audit verify (API): rc $NL_RC: $NL_OUT $NL_ERR"

# ---- the CLI: token create (admin), a token file must be 0600 ----
nl_cli token create --user carol --role user --tenant uk --unix-user nobody --ttl 1h
[ "$NL_RC" = 0 ] || nl_fail "token create: rc $NL_RC: $NL_ERR"
printf '%s\n' "$NL_OUT" >"$NL_TMP/carol.token"
chmod 644 "$NL_TMP/carol.token"
env -u NORDLYS_TOKEN "$NORDLYS_CLI" queue --token-file "$NL_TMP/carol.token" >/dev/null \
    2>"$NL_TMP/err" && nl_fail "a token file of mode 0644 was used"
grep -q "carol.token: mode 0644" "$NL_TMP/err" || nl_fail "mode error: $(cat "$NL_TMP/err")"
chmod 600 "$NL_TMP/carol.token"
env -u NORDLYS_TOKEN "$NORDLYS_CLI" queue --token-file "$NL_TMP/carol.token" >"$NL_TMP/out" 2>&1 ||
    nl_fail "queue with carol's token: $(cat "$NL_TMP/out")"
env -u NORDLYS_TOKEN "$NORDLYS_CLI" token create --token-file "$NL_TMP/carol.token" --user x \
    --role admin >"$NL_TMP/out" 2>&1 && nl_fail "a user minted a token"
grep -q "needs an admin token" "$NL_TMP/out" || nl_fail "token create as user: $(cat "$NL_TMP/out")"

# ---- limits: requests per token and jobs queued per tenant ----
nl_ctld_stop
nl_ctld_start "$S" --rate-limit 1 --tenant-queue-max 3
# 1 request a second, a burst of 2: requests one after another must meet a 429
# as long as each takes less than a second, however many that needs.
got429=""
deadline=$(($(date +%s) + 60))
while [ -z "$got429" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    call "$T_userA" GET /v1/jobs
    [ "$NL_STATUS" = 429 ] && got429=1
done
[ -n "$got429" ] || nl_fail "60 s of requests at 1/s with one token: never 429"
nl_expect 429 '.error.code == "rate_limited" and .error.retry_after_s >= 1'
# The admin token has its own bucket; anchor has 3 or more pending jobs: a 4th is refused.
nl_http POST /v1/jobs "$JOB_BODY"
nl_expect 429 '.error.code == "queue_full" and (.error.message | test("anchor"))'
echo "access_matrix: ok"
