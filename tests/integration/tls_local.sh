#!/bin/sh
# tls_local: nordlysd's HTTPS and its listen policy on loopback (no root needed).
# HTTPS with a test CA answers curl and the CLI that trust it; the wrong CA
# or none fails on the certificate (CLI exit 3); a missing, non-PEM or
# mismatched certificate or key stops the start (exit 1) naming the file;
# plain HTTP on a non-loopback address is refused unless --allow-insecure,
# which warns. An agent that takes --ca-file runs a job over HTTPS.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/tls.sh"
nl_tmpdir
command -v openssl >/dev/null || nl_fail "openssl is not installed (scripts/install-deps.sh)"
P="$NL_TMP/pki"
nl_tls_ca "$P" || nl_fail "cannot make the test CA"
nl_tls_server "$P" ctld "IP:127.0.0.1,DNS:localhost" || nl_fail "cannot make the certificate"
nl_tls_ca "$NL_TMP/wrong" && nl_tls_server "$NL_TMP/wrong" other "IP:127.0.0.1" ||
    nl_fail "cannot make the second CA"

# start_fails WHAT REGEX ARGS..: nordlysd exits 1 at start, saying REGEX.
start_fails() {
    _what=$1 _re=$2
    shift 2
    "$NORDLYSD" --state-dir "$NL_TMP/bad" "$@" >"$NL_TMP/bad.log" 2>&1
    _rc=$?
    [ "$_rc" = 1 ] || nl_fail "$_what: exit $_rc (want 1): $(cat "$NL_TMP/bad.log")"
    grep -q -- "$_re" "$NL_TMP/bad.log" || nl_fail "$_what: no '$_re' in: $(cat "$NL_TMP/bad.log")"
}
L="--listen 127.0.0.1:0"
start_fails "mismatched key" "--tls-cert $P/ctld.pem / --tls-key $NL_TMP/wrong/other.key: .*do not match" \
    $L --tls-cert "$P/ctld.pem" --tls-key "$NL_TMP/wrong/other.key"
start_fails "missing certificate" "--tls-cert: $P/none.pem: No such file" \
    $L --tls-cert "$P/none.pem" --tls-key "$P/ctld.key"
start_fails "key as certificate" "--tls-cert: $P/ctld.key: no PEM" \
    $L --tls-cert "$P/ctld.key" --tls-key "$P/ctld.key"
start_fails "unreadable key" "--tls-key: $P/nope.key" \
    $L --tls-cert "$P/ctld.pem" --tls-key "$P/nope.key"
start_fails "plain HTTP off loopback" "0.0.0.0:0 is not a loopback address" --listen 0.0.0.0:0
"$NORDLYSD" --state-dir "$NL_TMP/half" $L --tls-cert "$P/ctld.pem" >"$NL_TMP/half.log" 2>&1
[ $? = 2 ] && grep -q "needs both --tls-cert and --tls-key" "$NL_TMP/half.log" ||
    nl_fail "a certificate without a key: $(cat "$NL_TMP/half.log")"

# A key others can read starts, with a warning.
cp "$P/ctld.key" "$NL_TMP/open.key" && chmod 644 "$NL_TMP/open.key"
nl_ctld_start "$NL_TMP/openkey" --tls-cert "$P/ctld.pem" --tls-key "$NL_TMP/open.key"
grep -q "warn .*--tls-key $NL_TMP/open.key: readable by group or others (mode 644)" "$NL_LOG" ||
    nl_fail "no warning for a key mode 644"
nl_ctld_stop

# --allow-insecure: it starts, and says what it costs.
nl_ctld_start "$NL_TMP/insecure" --listen 0.0.0.0:0 --allow-insecure
grep -q "warn .*0.0.0.0:.* without TLS (--allow-insecure)" "$NL_LOG" || nl_fail "no insecure warning"
nl_ctld_stop

nl_ctld_start "$NL_TMP/state" --tls-cert "$P/ctld.pem" --tls-key "$P/ctld.key" \
    --sched-interval-ms 20 --sync-interval-ms 100
grep -q "listening on https://127.0.0.1:$NL_PORT" "$NL_LOG" || nl_fail "not listening on https"
grep -q "tls-key" "$NL_LOG" && nl_fail "a 0600 key was warned about: $(grep tls-key "$NL_LOG")"
NL_URL="https://127.0.0.1:$NL_PORT"
NORDLYS_URL=$NL_URL
CURL_CA_BUNDLE="$P/ca.pem"
export NL_URL NORDLYS_URL CURL_CA_BUNDLE
nl_http GET /v1/health
nl_expect 200
nl_http GET /v1/nodes
nl_expect 200
# Small answers go out as one TLS record (src/ctld/http.c, HTTP_CORK_MAX):
# small and large answers, alternating on one kept-alive connection, on a
# connection the client closes, and over HTTP/1.0, all arrive whole.
AUTH="Authorization: Bearer $NL_TOKEN"
nl_http GET /metrics
nl_expect 200
printf '%s\n' "$NL_BODY" >"$NL_TMP/metrics.want"
[ "$(wc -c <"$NL_TMP/metrics.want")" -gt 12288 ] || nl_fail "/metrics is no longer a large answer"
curl -sS -m 60 -H "$AUTH" -w '%{num_connects} %{http_code}\n' \
    -o "$NL_TMP/h1" "$NL_URL/v1/health" -o "$NL_TMP/m1" "$NL_URL/metrics" \
    -o "$NL_TMP/h2" "$NL_URL/v1/health" -o "$NL_TMP/h3" "$NL_URL/v1/health" \
    -o "$NL_TMP/m2" "$NL_URL/metrics" >"$NL_TMP/conns" || nl_fail "keep-alive curl failed"
[ "$(cat "$NL_TMP/conns" | tr '\n' ' ')" = "1 200 0 200 0 200 0 200 0 200 " ] ||
    nl_fail "five answers on one connection: $(cat "$NL_TMP/conns")"
for f in h1 h2 h3; do jq -e '.status == "ok"' "$NL_TMP/$f" >/dev/null || nl_fail "$f: $(cat "$NL_TMP/$f")"; done
for f in m1 m2; do
    # Gauges move between reads: the same lines, by name.
    [ "$(sed 's/ .*//' "$NL_TMP/$f")" = "$(sed 's/ .*//' "$NL_TMP/metrics.want")" ] ||
        nl_fail "$f: not the whole /metrics ($(wc -c <"$NL_TMP/$f") bytes)"
done
for how in "-H Connection:close" "--http1.0"; do
    # shellcheck disable=SC2086 # how is an option and its value
    curl -sS -m 60 -H "$AUTH" $how -o "$NL_TMP/hc" "$NL_URL/v1/health" || nl_fail "curl $how failed"
    jq -e '.status == "ok"' "$NL_TMP/hc" >/dev/null || nl_fail "$how: $(cat "$NL_TMP/hc")"
done
# The controller reads what the socket holds at once and serves GnuTLS from
# it (src/ctld/tlsconn.c): requests that share a record or arrive back to
# back, a request cut into one-byte records, and a body of several full
# records all come through whole.
for mode in pipeline bytewise bigbody; do
    python3 "$NL_TEST_LIB/tlsraw.py" --port "$NL_PORT" --ca "$P/ca.pem" --token "$NL_TOKEN" $mode \
        >"$NL_TMP/raw.out" 2>&1 || nl_fail "tlsraw $mode: $(cat "$NL_TMP/raw.out")"
done
# A client that stops halfway through its handshake (a record header and two
# bytes of a ClientHello, then nothing) costs the controller next to nothing
# while it waits: MHD asks its caller for no wait at all during a handshake,
# which spun the loop at a whole core (src/ctld/http.c, HTTP_STALL_WAIT_MS).
# Over a 2 s window the controller uses under a fifth of one core, and it
# still answers others meanwhile.
python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(bytes([0x16, 3, 1, 2, 0, 1, 0]))
print("sent", flush=True)
while s.recv(4096):
    pass
' "$NL_PORT" >"$NL_TMP/stall.out" 2>&1 &
STALL=$!
NL_PIDS="$NL_PIDS $STALL"
nl_wait_until "grep -q sent '$NL_TMP/stall.out'" 30 "the stalled client to connect"
nl_http GET /v1/health
nl_expect 200
t0=$(awk '{print $14 + $15}' "/proc/$NL_CTLD_PID/stat")
sleep 2 # the measurement window, not a wait for anything
t1=$(awk '{print $14 + $15}' "/proc/$NL_CTLD_PID/stat")
hz=$(getconf CLK_TCK)
[ $((t1 - t0)) -lt $((2 * hz / 5)) ] ||
    nl_fail "a stalled handshake kept the controller busy: $((t1 - t0)) ticks of CPU in 2 s ($hz a second)"
nl_http GET /v1/health
nl_expect 200
kill "$STALL" 2>/dev/null
echo "tls_local: a stalled handshake cost $((t1 - t0)) ticks in 2 s"
# Plain HTTP to the HTTPS port gets no answer.
curl -sS -m 10 "http://127.0.0.1:$NL_PORT/v1/health" >/dev/null 2>&1 &&
    nl_fail "plain HTTP answered on the HTTPS port"

nl_cli nodes --ca-file "$P/ca.pem"
[ "$NL_RC" = 0 ] || nl_fail "CLI --ca-file: rc $NL_RC: $NL_ERR"
NORDLYS_CA="$P/ca.pem" nl_cli nodes
[ "$NL_RC" = 0 ] || nl_fail "CLI NORDLYS_CA: rc $NL_RC: $NL_ERR"
NORDLYS_URL="https://localhost:$NL_PORT" NORDLYS_CA="$P/ca.pem" nl_cli nodes
[ "$NL_RC" = 0 ] || nl_fail "CLI by host name: rc $NL_RC: $NL_ERR"
nl_cli nodes --ca-file "$NL_TMP/wrong/ca.pem"
[ "$NL_RC" = 3 ] || nl_fail "CLI wrong CA: rc $NL_RC (want 3): $NL_ERR"
case $NL_ERR in *"certificate"*"(CA: $NL_TMP/wrong/ca.pem)"*) ;; *) nl_fail "CLI wrong CA: $NL_ERR" ;; esac
nl_cli nodes --ca-file "$NL_TMP/none.pem"
[ "$NL_RC" = 3 ] || nl_fail "CLI missing CA file: rc $NL_RC (want 3): $NL_ERR"
case $NL_ERR in *"$NL_TMP/none.pem"*) ;; *) nl_fail "CLI missing CA file not named: $NL_ERR" ;; esac
# No CA given: the system store does not know the test CA.
nl_cli nodes
[ "$NL_RC" = 3 ] || nl_fail "CLI without a CA: rc $NL_RC (want 3): $NL_ERR"

if [ -n "${NORDLYS_AGENT:-}" ] && "$NORDLYS_AGENT" --help 2>&1 | grep -q -- "--ca-file"; then
    nl_agent_start a0 --emulate 4 --noop --ca-file "$P/ca.pem" ${NL_AGENT_EXTRA_ARGS:-}
    nl_wait "/v1/nodes?state=up" '(.nodes | length) == 4' 60
    J=$(nl_submit '{"command":["/bin/sh","-c","echo over-tls"]}')
    nl_wait "/v1/jobs/$J" '.job.state == "COMPLETED" and .job.exit_code == 0' 60
    echo "tls_local: agent over HTTPS ran job $J"
else
    echo "tls_local: the agent has no --ca-file yet: agent over HTTPS left to multihost"
fi
echo "tls_local: ok"
