# SPDX-License-Identifier: MIT
# daemon.sh - start nordlys daemons on loopback ephemeral ports from shell tests.
#
# Source it, then:
#   nl_tmpdir                     make $NL_TMP (removed on exit) and register cleanup
#   nl_ctld_start STATE [ARGS..]  start nordlysd on 127.0.0.1:0 with --state-dir STATE and
#                                 --allow-root-jobs; sets NL_CTLD_PID, NL_PORT, NL_URL and
#                                 NORDLYS_URL (the CLI's), waits for STATE/ctld.port, mints
#                                 an admin token (unix_user root) into NL_TOKEN and
#                                 NORDLYS_TOKEN (the CLI's) and an agent token (nodes *)
#                                 into NL_AGENT_TOKEN and $NL_TMP/agent.token. Pass --listen
#                                 127.0.0.1:$NL_PORT to come back on the same port.
#                                 $NL_CTLD_WRAP, when set, is put before the binary
#                                 (e.g. "env LD_PRELOAD=..."; split on spaces).
#   nl_ctld_kill9                 SIGKILL the controller (no clean shutdown)
#   nl_ctld_stop                  SIGTERM and wait
#   nl_agent_start NAME [ARGS..]  start nordlys-agent NAME against $NL_URL (state
#                                 $NL_TMP/agent-NAME, log $NL_TMP/agent-NAME.log, no
#                                 cgroups); sets NL_AGENT_PID
#   nl_agent_stop PID             stop an agent the way an operator does: it SIGKILLs its
#                                 jobs at once and exits (SIGTERM then SIGINT), and wait
#   nl_agents_start N [ARGS..]    N agents a0..a(N-1) sharing every node of the facility
#                                 round-robin; sets NL_AGENT_PIDS_STARTED; waits until
#                                 every node is up
#   nl_nodes [STATE]              node names (in state STATE), one a line
#   nl_token STATE ARGS..         print a token minted offline (nordlysd token ARGS)
#   nl_http METHOD PATH [BODY]    curl with $NL_TOKEN ($NL_AGENT_TOKEN for /v1/agent/*,
#                                 $NL_HTTP_TOKEN over both when set); sets NL_STATUS, NL_BODY
#   nl_json FILTER                run a jq filter on $NL_BODY (raw output)
#   nl_expect STATUS [FILTER]     the last answer had STATUS, and FILTER (jq) is true
#   nl_wait PATH FILTER [SECONDS] GET PATH until FILTER (jq) is true (default 60 s)
#   nl_wait_until COND [SECONDS] [WHAT]
#                                 eval the shell condition COND until it holds (default
#                                 60 s); fails naming WHAT (default COND) past the deadline
#   nl_wait_drained [SECONDS]     until no job is PENDING, RUNNING or PREEMPTING; fails
#                                 only when none has ended for SECONDS (default 60): a
#                                 queue of thousands drains at the machine's pace
#   nl_is FILTER                  true if the jq FILTER is true on $NL_BODY
#   nl_sync_until AGENT EXTRA COND [SECONDS] [WHAT]
#                                 a fake agent: POST /v1/agent/sync {"agent_id":AGENT EXTRA}
#                                 (expects 200) until COND (shell, e.g. nl_is FILTER) holds
#                                 on the answer; every answer is checked, the first included
#   nl_count FILE REGEX           lines of FILE matching REGEX (0 if FILE is missing)
#   nl_submit BODY                POST /v1/jobs; expects 201 and prints the new id
#   nl_cli ARGS..                 run the nordlys CLI; sets NL_RC, NL_OUT, NL_ERR
#   nl_fail MSG                   print (with the daemons' logs) and exit 1
#   nl_tagged_pids                processes alive that carry this test's NL_TEST_TAG
#
# Every wait is a condition with a deadline in seconds, generous enough for
# a loaded 2-core machine running the sanitizer build (60 s unless a test
# says more); none counts polls or sleeps a fixed time, so a fast machine
# passes as surely as a slow one. A request gets 60 s too: a list of a
# large store under ASan on a loaded machine takes seconds, and a request
# that timed out may still have been carried out.
#
# Cleanup kills every process started here by its own pid: agents first,
# asked to kill their jobs, then everything by SIGKILL; finally every
# process left that carries this test's NL_TEST_TAG in its environment,
# which agents pass on to their jobs, so that the jobs of an agent the test
# SIGKILLed (a lost node) do not outlive the test.
# Needs: NORDLYSD (path of the binary), NORDLYS_AGENT and NORDLYS_CLI for
# the helpers that use them, curl, jq.

NL_PIDS=""
NL_AGENT_PIDS=""
# Every request of a test goes to loopback (or, in multihost, to namespaces of
# its own), never out: a proxy set in the environment for the outside world
# (many CI machines set one) must not take them, neither curl's here nor the
# daemons'. (agent_run sets one on purpose, to check the agent's own rule.)
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

nl_fail() {
    echo "FAIL: $*" >&2
    if [ -n "${NL_LOG:-}" ] && [ -f "$NL_LOG" ]; then
        echo "--- nordlysd log (last 30 lines) ---" >&2
        tail -n 30 "$NL_LOG" >&2
    fi
    for _l in "${NL_TMP:-/nonexistent}"/agent-*.log; do
        [ -f "$_l" ] || continue
        echo "--- $(basename "$_l") (last 15 lines) ---" >&2
        tail -n 15 "$_l" >&2
    done
    exit 1
}

# Pids of the processes that carry NL_TEST_TAG=$NL_TMP in their environment
# (agents started here and their jobs), one a line; never this shell.
nl_tagged_pids() {
    [ -n "${NL_TMP:-}" ] || return 0
    for _f in $(grep -lzx "NL_TEST_TAG=$NL_TMP" /proc/[0-9]*/environ 2>/dev/null); do
        _p=${_f#/proc/}
        _p=${_p%/environ}
        [ "$_p" != "$$" ] && echo "$_p"
    done
    return 0
}

nl_kill_tagged() {
    for _p in $(nl_tagged_pids); do
        kill -9 "$_p" 2>/dev/null
    done
    return 0
}

nl_cleanup() {
    # Agents kill their jobs' process groups when asked to stop; give them a moment.
    for p in $NL_AGENT_PIDS; do
        kill -TERM "$p" 2>/dev/null
        kill -INT "$p" 2>/dev/null
    done
    _deadline=$(($(date +%s) + 5))
    for p in $NL_AGENT_PIDS; do
        while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$_deadline" ]; do
            sleep 0.05
        done
    done
    for p in $NL_PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    for p in $NL_PIDS; do
        wait "$p" 2>/dev/null
    done
    nl_kill_tagged
    if [ -n "${NL_TMP:-}" ] && [ -z "${NL_KEEP:-}" ]; then
        rm -rf "$NL_TMP"
    fi
}

nl_tmpdir() {
    NL_TMP=$(mktemp -d /tmp/nl-test-XXXXXX)
    trap nl_cleanup EXIT
    trap 'exit 1' HUP INT PIPE TERM
}

nl_ctld_start() {
    _state=$1
    shift
    mkdir -p "$_state"
    rm -f "$_state/ctld.port"
    NL_LOG="$_state/ctld.log"
    # Root jobs allowed (the tests' agents run as root); no rate limit unless a test asks
    # (a later --rate-limit in ARGS wins): the tests submit as fast as they can.
    ${NL_CTLD_WRAP:-} "$NORDLYSD" --state-dir "$_state" --listen 127.0.0.1:0 --log-file "$NL_LOG" \
        --allow-root-jobs --rate-limit 0 "$@" &
    NL_CTLD_PID=$!
    NL_PIDS="$NL_PIDS $NL_CTLD_PID"
    # A sanitizer build reloading a large store on a loaded machine takes a while.
    _deadline=$(($(date +%s) + ${NL_START_S:-60}))
    while [ ! -s "$_state/ctld.port" ]; do
        kill -0 "$NL_CTLD_PID" 2>/dev/null || nl_fail "nordlysd exited at start (state $_state)"
        [ "$(date +%s)" -lt "$_deadline" ] ||
            nl_fail "nordlysd did not write $_state/ctld.port within ${NL_START_S:-60} s"
        sleep 0.05
    done
    NL_PORT=$(cat "$_state/ctld.port")
    NL_URL="http://127.0.0.1:$NL_PORT"
    NORDLYS_URL=$NL_URL
    NL_STATE=$_state
    NL_TOKEN=$(nl_token "$_state" --user root --role admin --unix-user root --ttl 1d) ||
        nl_fail "cannot mint the admin token"
    NL_AGENT_TOKEN=$(nl_token "$_state" --user agents --role agent --nodes '*' --ttl 1d) ||
        nl_fail "cannot mint the agent token"
    NORDLYS_TOKEN=$NL_TOKEN
    if [ -n "${NL_TMP:-}" ]; then
        (umask 077 && printf '%s\n' "$NL_AGENT_TOKEN" >"$NL_TMP/agent.token")
    fi
    export NL_URL NL_PORT NORDLYS_URL NL_TOKEN NORDLYS_TOKEN NL_AGENT_TOKEN NL_STATE
}

nl_token() {
    _ts=$1
    shift
    "$NORDLYSD" token --state-dir "$_ts" "$@"
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
    case "$2" in
    /v1/agent/*) _tok=${NL_HTTP_TOKEN:-${NL_AGENT_TOKEN:-}} ;;
    *) _tok=${NL_HTTP_TOKEN:-${NL_TOKEN:-}} ;;
    esac
    _out=$(curl -sS -m 60 -o - -w '\n%{http_code}' -X "$1" -H 'Content-Type: application/json' \
        ${_tok:+-H "Authorization: Bearer $_tok"} \
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

nl_wait() {
    _deadline=$(($(date +%s) + ${3:-60}))
    while :; do
        nl_http GET "$1"
        [ "$NL_STATUS" = 200 ] && [ "$(nl_json "$2")" = true ] && return 0
        [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "timed out waiting for $2 on $1: $NL_BODY"
        sleep 0.05
    done
}

nl_wait_drained() {
    _wd_left=""
    _wd_deadline=$(($(date +%s) + ${1:-60}))
    while :; do
        nl_http GET "/v1/jobs?state=PENDING,RUNNING,PREEMPTING&limit=1"
        [ "$NL_STATUS" = 200 ] || nl_fail "job list: HTTP $NL_STATUS: $NL_BODY"
        _wd_n=$(nl_json .total)
        [ "$_wd_n" = 0 ] && return 0
        if [ -z "$_wd_left" ] || [ "$_wd_n" -lt "$_wd_left" ]; then
            _wd_left=$_wd_n
            _wd_deadline=$(($(date +%s) + ${1:-60}))
        fi
        [ "$(date +%s)" -lt "$_wd_deadline" ] ||
            nl_fail "no job ended for ${1:-60} s; $_wd_n still live: $(nl_json '.jobs[0] | {id, state, run}' 2>/dev/null)"
        sleep 0.2
    done
}

nl_is() {
    [ "$(nl_json "$1" 2>/dev/null)" = true ]
}

nl_wait_until() {
    _wu_deadline=$(($(date +%s) + ${2:-60}))
    while ! eval "$1"; do
        [ "$(date +%s)" -lt "$_wu_deadline" ] || nl_fail "timed out after ${2:-60} s waiting for ${3:-$1}"
        sleep 0.05
    done
}

nl_sync_until() {
    _su_deadline=$(($(date +%s) + ${4:-60}))
    while :; do
        nl_http POST /v1/agent/sync "{\"agent_id\":\"$1\"$2}"
        nl_expect 200
        eval "$3" && return 0
        [ "$(date +%s)" -lt "$_su_deadline" ] ||
            nl_fail "timed out after ${4:-60} s syncing as $1 for ${5:-$3}: $NL_BODY"
        sleep 0.05
    done
}

nl_count() {
    if [ -f "$1" ]; then grep -c -- "$2" "$1"; else echo 0; fi
}

nl_submit() {
    nl_http POST /v1/jobs "$1"
    nl_expect 201
    nl_json .job.id
}

nl_nodes() {
    nl_http GET "/v1/nodes?limit=100000${1:+&state=$1}"
    nl_expect 200
    nl_json '.nodes[].name'
}

# The agent's options for its credential and the test's tag, where it has them (an
# agent built before tokens has neither; it is then given the token in NORDLYS_TOKEN).
nl_agent_auth_args() {
    if [ -z "${NL_AGENT_HELP+x}" ]; then
        NL_AGENT_HELP=$("$NORDLYS_AGENT" --help 2>&1)
    fi
    case "$NL_AGENT_HELP" in *--token-file*) printf '%s\n' --token-file "$NL_TMP/agent.token" ;; esac
    case "$NL_AGENT_HELP" in *--export-env*) printf '%s\n' --export-env NL_TEST_TAG ;; esac
    return 0
}

nl_agent_start() {
    [ -n "${NORDLYS_AGENT:-}" ] || nl_fail "NORDLYS_AGENT is not set"
    _name=$1
    shift
    # shellcheck disable=SC2046 # one option or value a line, none with spaces
    NORDLYS_TOKEN="${NL_AGENT_TOKEN:-}" NL_TEST_TAG="$NL_TMP" "$NORDLYS_AGENT" --controller "$NL_URL" \
        --state-dir "$NL_TMP/agent-$_name" --agent-name "$_name" --cgroup-root none \
        $(nl_agent_auth_args) "$@" >>"$NL_TMP/agent-$_name.log" 2>&1 &
    NL_AGENT_PID=$!
    NL_PIDS="$NL_PIDS $NL_AGENT_PID"
    NL_AGENT_PIDS="$NL_AGENT_PIDS $NL_AGENT_PID"
}

nl_agent_stop() {
    # The first signal starts a graceful stop, the second makes it SIGKILL the jobs at once.
    kill -TERM "$1" 2>/dev/null
    kill -INT "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

nl_agents_start() {
    _n=$1
    shift
    _nodes=$(nl_nodes)
    _total=$(printf '%s\n' "$_nodes" | wc -l)
    NL_AGENT_PIDS_STARTED=""
    _a=0
    while [ $_a -lt "$_n" ]; do
        _mine=$(printf '%s\n' "$_nodes" | awk -v a=$_a -v n="$_n" '(NR - 1) % n == a' | paste -sd, -)
        nl_agent_start "a$_a" --nodes "$_mine" "$@"
        NL_AGENT_PIDS_STARTED="$NL_AGENT_PIDS_STARTED $NL_AGENT_PID"
        _a=$((_a + 1))
    done
    nl_wait "/v1/nodes?state=up&limit=100000" "(.nodes | length) == $_total"
}

nl_cli() {
    [ -n "${NORDLYS_CLI:-}" ] || nl_fail "NORDLYS_CLI is not set"
    "$NORDLYS_CLI" "$@" >"$NL_TMP/cli.out" 2>"$NL_TMP/cli.err"
    NL_RC=$?
    NL_OUT=$(cat "$NL_TMP/cli.out")
    NL_ERR=$(cat "$NL_TMP/cli.err")
}
