# SPDX-License-Identifier: MIT
# daemon.sh - start nordlys daemons on loopback ephemeral ports from shell tests.
#
# Source it, then:
#   nl_tmpdir                     make $NL_TMP (removed on exit) and register cleanup
#   nl_ctld_start STATE [ARGS..]  start nordlysd on 127.0.0.1:0 with --state-dir STATE;
#                                 sets NL_CTLD_PID, NL_PORT, NL_URL (waits for STATE/ctld.port)
#   nl_ctld_kill9                 SIGKILL the controller (no clean shutdown)
#   nl_ctld_stop                  SIGTERM and wait
#   nl_http METHOD PATH [BODY]    curl; sets NL_STATUS and NL_BODY
#   nl_json FILTER                run a jq filter on $NL_BODY (raw output)
#   nl_expect STATUS [FILTER]     the last answer had STATUS, and FILTER (jq) is true
#   nl_fail MSG                   print and exit 1
# Every process started here is killed on exit, by its own pid.
# Needs: NORDLYSD (path of the binary), curl, jq.

NL_PIDS=""

nl_fail() {
    echo "FAIL: $*" >&2
    if [ -n "${NL_LOG:-}" ] && [ -f "$NL_LOG" ]; then
        echo "--- nordlysd log (last 30 lines) ---" >&2
        tail -n 30 "$NL_LOG" >&2
    fi
    exit 1
}

nl_cleanup() {
    for p in $NL_PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    for p in $NL_PIDS; do
        wait "$p" 2>/dev/null
    done
    if [ -n "${NL_TMP:-}" ] && [ -z "${NL_KEEP:-}" ]; then
        rm -rf "$NL_TMP"
    fi
}

nl_tmpdir() {
    NL_TMP=$(mktemp -d /tmp/nl-test-XXXXXX)
    trap nl_cleanup EXIT
    trap 'exit 1' INT TERM
}

nl_ctld_start() {
    _state=$1
    shift
    mkdir -p "$_state"
    rm -f "$_state/ctld.port"
    NL_LOG="$_state/ctld.log"
    "$NORDLYSD" --state-dir "$_state" --listen 127.0.0.1:0 --log-file "$NL_LOG" "$@" &
    NL_CTLD_PID=$!
    NL_PIDS="$NL_PIDS $NL_CTLD_PID"
    _i=0
    while [ ! -s "$_state/ctld.port" ]; do
        _i=$((_i + 1))
        if [ $_i -gt 200 ] || ! kill -0 "$NL_CTLD_PID" 2>/dev/null; then
            nl_fail "nordlysd did not start (state $_state)"
        fi
        sleep 0.05
    done
    NL_PORT=$(cat "$_state/ctld.port")
    NL_URL="http://127.0.0.1:$NL_PORT"
    export NL_URL NL_PORT
}

nl_ctld_kill9() {
    kill -9 "$NL_CTLD_PID" 2>/dev/null
    wait "$NL_CTLD_PID" 2>/dev/null
    return 0
}

nl_ctld_stop() {
    kill -TERM "$NL_CTLD_PID" 2>/dev/null
    wait "$NL_CTLD_PID"
}

nl_http() {
    _out=$(curl -sS -m 10 -o - -w '\n%{http_code}' -X "$1" -H 'Content-Type: application/json' \
        ${3+--data-binary "$3"} "$NL_URL$2") || nl_fail "curl $1 $2 failed"
    NL_STATUS=$(printf '%s' "$_out" | tail -n 1)
    NL_BODY=$(printf '%s' "$_out" | sed '$d')
}

nl_json() {
    printf '%s' "$NL_BODY" | jq -r "$1"
}

nl_expect() {
    [ "$NL_STATUS" = "$1" ] || nl_fail "expected HTTP $1, got $NL_STATUS: $NL_BODY"
    if [ -n "${2:-}" ]; then
        _v=$(nl_json "$2") || nl_fail "cannot evaluate $2 on: $NL_BODY"
        [ "$_v" = "true" ] || nl_fail "expected $2 on: $NL_BODY"
    fi
}
