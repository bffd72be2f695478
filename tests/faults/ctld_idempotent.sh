#!/bin/sh
# ctld_idempotent: POST /v1/jobs with an Idempotency-Key. The same key and
# request give the first job back (200, "replayed": true), another request
# under the key is 422 idempotency_key_reused, bad keys are 400 naming the
# header, keys are per tenant. Then a burst of keyed submissions with the
# controller SIGKILLed part way (after 40 acknowledged answers) and every
# key retried after the restart: one job per key, every acknowledged job
# kept under its id, none added. Last, the list's total and paging.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
S=$NL_TMP/state
nl_ctld_start "$S"

# post KEY BODY: POST /v1/jobs with the key; sets NL_STATUS and NL_BODY (no failure on curl errors).
post() {
    # curl drops a header given an empty value; "Name;" sends it empty.
    if [ -n "$1" ]; then _h="Idempotency-Key: $1"; else _h="Idempotency-Key;"; fi
    _out=$(curl -sS -m 60 -o - -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $NL_TOKEN" -H "$_h" --data-binary "$2" "$NL_URL/v1/jobs" 2>/dev/null)
    NL_STATUS=$(printf '%s' "$_out" | tail -n 1)
    NL_BODY=$(printf '%s' "$_out" | sed '$d')
}

post k1 '{"name":"one","command":["true"]}'
nl_expect 201 '.job.name == "one" and (.replayed | not)'
A=$(nl_json .job.id)
# The same request, even spelled differently, is the same job.
post k1 '{ "command": ["true"], "name": "one" }'
nl_expect 200 ".job.id == $A and .replayed == true"
post k1 '{"name":"two","command":["true"]}'
nl_expect 422 ".error.code == \"idempotency_key_reused\" and .error.field == \"Idempotency-Key\" and (.error.message | test(\"job $A\"))"
# Keys belong to a tenant: another tenant's k1 is a new job.
post k1 '{"name":"one","command":["true"],"tenant":"anchor"}'
nl_expect 201 ".job.id != $A and .job.tenant == \"anchor\""
post "$(printf 'k%.0s' $(seq 1 256))" '{"name":"long","command":["true"]}'
nl_expect 400 '.error.field == "Idempotency-Key" and .error.code == "invalid_field"'
post '' '{"name":"empty","command":["true"]}'
nl_expect 400 '.error.field == "Idempotency-Key"'
nl_http GET "/v1/jobs?limit=100"
nl_expect 200 '.total == 2'

# The key outlives a crash between the committed submission and the retry.
post k2 '{"name":"crash","command":["true"]}'
nl_expect 201
B=$(nl_json .job.id)
nl_ctld_kill9
nl_ctld_start "$S" --listen "127.0.0.1:$NL_PORT"
post k2 '{"name":"crash","command":["true"]}'
nl_expect 200 ".job.id == $B and .replayed == true"

# A burst: a client submits 200 keyed jobs and records each answer; SIGKILL after 40 answers.
N=200
RESULTS=$NL_TMP/results
: >"$RESULTS"
(
    i=0
    while [ $i -lt $N ]; do
        post "burst-$i" "{\"name\":\"burst-$i\",\"command\":[\"true\"]}"
        echo "$i $NL_STATUS $(printf '%s' "$NL_BODY" | jq -r '.job.id // empty' 2>/dev/null)" >>"$RESULTS"
        i=$((i + 1))
    done
) &
CLIENT=$!
deadline=$(($(date +%s) + 60))
until [ "$(grep -c ' 201 ' "$RESULTS")" -ge 40 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || nl_fail "the burst did not get 40 answers in 60 s"
    sleep 0.02
done
nl_ctld_kill9
wait $CLIENT
ACKED=$(grep -c ' 201 ' "$RESULTS")
echo "killed after $ACKED acknowledged of $N"
nl_ctld_start "$S" --listen "127.0.0.1:$NL_PORT"
# The client retries every key: acknowledged ones must come back with their ids.
i=0
while [ $i -lt $N ]; do
    post "burst-$i" "{\"name\":\"burst-$i\",\"command\":[\"true\"]}"
    [ "$NL_STATUS" = 200 ] || [ "$NL_STATUS" = 201 ] || nl_fail "retry of burst-$i: HTTP $NL_STATUS: $NL_BODY"
    id=$(nl_json .job.id)
    first=$(awk -v i=$i '$1 == i && $2 == 201 { print $3 }' "$RESULTS")
    if [ -n "$first" ]; then
        [ "$NL_STATUS" = 200 ] && [ "$id" = "$first" ] ||
            nl_fail "burst-$i was acknowledged as job $first, the retry gave HTTP $NL_STATUS job $id"
    fi
    i=$((i + 1))
done
nl_http GET "/v1/jobs?limit=100000"
nl_expect 200
DUPS=$(nl_json '[.jobs[].name | select(startswith("burst-"))] | group_by(.) | map(select(length > 1)) | length')
COUNT=$(nl_json '[.jobs[].name | select(startswith("burst-"))] | length')
[ "$DUPS" = 0 ] || nl_fail "$DUPS keys made more than one job"
[ "$COUNT" = $N ] || nl_fail "$COUNT burst jobs stored for $N keys"

# The list says how many jobs match, and pages newest first with before=ID.
ALL=$(nl_json '.total')
nl_http GET "/v1/jobs?limit=50"
nl_expect 200 ".total == $ALL and (.jobs | length) == 50"
SEEN=50
LAST=$(nl_json '.jobs[-1].id')
while [ "$SEEN" -lt "$ALL" ]; do
    nl_http GET "/v1/jobs?limit=50&before=$LAST"
    nl_expect 200 ".total == $ALL and (.jobs | length) > 0 and ([.jobs[].id] | max) < $LAST"
    SEEN=$((SEEN + $(nl_json '.jobs | length')))
    LAST=$(nl_json '.jobs[-1].id')
done
[ "$SEEN" = "$ALL" ] || nl_fail "paging showed $SEEN jobs of $ALL"
nl_http GET "/v1/jobs?before=abc"
nl_expect 400 '.error.field == "before"'
nl_http GET "/v1/jobs?state=PENDING&tenant=anchor"
nl_expect 200 '.total == 1'
nl_ctld_stop || nl_fail "nordlysd did not stop cleanly"
echo "ok: $N keys, $ACKED acknowledged before the kill, one job each"
