#!/bin/sh
# proto_http: hostile HTTP requests are answered, never obeyed wrongly and
# never a crash:
# - a request target with %00, a bad %-escape, an escaped control
#   character or bytes that are not UTF-8 is a 400 naming the path segment;
#   DELETE /v1/jobs/ID%00abc does not cancel job ID;
# - request bodies all connections together may buffer are bounded (256 MiB):
#   20 connections each sending an agent sync of almost 16 MiB (320 MiB in
#   all, every body held back by its last byte, so nothing completes and
#   frees its buffer early) get a 503 for those over the bound, a 400 (the
#   body is no JSON) for the others, and the controller carries on with its
#   buffers back to 0.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state"

ID=$(nl_submit '{"gpus":1,"command":["true"]}')
for path in "/v1/jobs/$ID%00abc" "/v1/jobs/$ID%zz" "/v1/jobs/$ID%0a" "/v1/jobs/$ID%" "/v1/jobs/$ID%ff"; do
    nl_http DELETE "$path"
    nl_expect 400 '.error.code == "invalid_path" and (.error.message | startswith("path: segment"))'
done
nl_http GET "/v1/jobs?state=PENDING%00"
nl_expect 400 '.error.code == "invalid_path" and (.error.message | startswith("query: parameter"))'
nl_http GET "/v1/jobs/$ID"
nl_expect 200 '.job.state == "PENDING"'

metric() {
    curl -sS -m 10 "$NL_URL/metrics" | sed -n "s/^$1 //p"
}
[ "$(metric nordlys_http_busy_refusals_total)" = 0 ] || nl_fail "busy refusals before the flood"

N=$((16 * 1024 * 1024 - 64))
K=20
CURLS=""
i=0
while [ $i -lt $K ]; do
    mkfifo "$NL_TMP/in$i"
    curl -sS -m 200 -o "$NL_TMP/out$i" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $NL_AGENT_TOKEN" \
        -H "Content-Length: $N" -T - "$NL_URL/v1/agent/sync" <"$NL_TMP/in$i" >"$NL_TMP/code$i" \
        2>"$NL_TMP/err$i" &
    CURLS="$CURLS $!"
    NL_PIDS="$NL_PIDS $!"
    (
        head -c $((N - 1)) /dev/zero | tr '\0' ' '
        while [ ! -e "$NL_TMP/go" ]; do sleep 0.05; done
        printf '}'
    ) >"$NL_TMP/in$i" &
    NL_PIDS="$NL_PIDS $!"
    i=$((i + 1))
done
# Every body is held back by its last byte: wait until the bound has refused one.
deadline=$(($(date +%s) + 120))
until [ "$(metric nordlys_http_busy_refusals_total)" -ge 1 ] 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || nl_fail "no request was refused at the bound (buffered: $(metric nordlys_http_buffered_bytes))"
    kill -0 "$NL_CTLD_PID" 2>/dev/null || nl_fail "nordlysd died during the flood"
    sleep 0.1
done
BUF=$(metric nordlys_http_buffered_bytes)
[ "$BUF" -le $((256 * 1024 * 1024)) ] || nl_fail "buffered $BUF bytes, over the bound"
touch "$NL_TMP/go"
for p in $CURLS; do
    wait "$p"
done
busy=0 bad=0
i=0
while [ $i -lt $K ]; do
    code=$(cat "$NL_TMP/code$i")
    case $code in
    503)
        busy=$((busy + 1))
        jq -e '.error.code == "busy"' "$NL_TMP/out$i" >/dev/null || nl_fail "503 without its error: $(cat "$NL_TMP/out$i")"
        ;;
    400) bad=$((bad + 1)) ;;
    *) nl_fail "connection $i: HTTP $code ($(cat "$NL_TMP/err$i"))" ;;
    esac
    i=$((i + 1))
done
[ $busy -ge 1 ] || nl_fail "no 503 among $K answers"
kill -0 "$NL_CTLD_PID" 2>/dev/null || nl_fail "nordlysd died"
nl_http GET /v1/health
nl_expect 200
[ "$(metric nordlys_http_buffered_bytes)" = 0 ] || nl_fail "buffers not released: $(metric nordlys_http_buffered_bytes)"
echo "proto_http: $busy answered 503 and $bad answered 400 of $K floods; still serving"
