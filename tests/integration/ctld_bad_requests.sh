#!/bin/sh
# ctld_bad_requests: every bad request gets a 4xx JSON error naming the
# field, and changes nothing (the job count and the last id stay put).
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state"

nl_http POST /v1/jobs '{"command":["true"]}'
nl_expect 201
FIRST=$(nl_json .job.id)

# bad BODY STATUS CODE FIELD
bad() {
    nl_http POST /v1/jobs "$1"
    nl_expect "$2" ".error.status == $2 and .error.code == \"$3\" and (.error.message | length) > 0"
    if [ -n "$4" ]; then
        nl_expect "$2" ".error.field == \"$4\" and (.error.message | startswith(\"$4\"))"
    fi
}
bad '{"command":["true"]' 400 bad_json ""
bad '[1,2]' 400 bad_json ""
bad '' 400 bad_json ""
bad '{"command":["true"],"command":["x"]}' 400 bad_json ""
bad '{}' 400 missing_field command
bad '{"command":[]}' 400 invalid_field command
bad '{"command":["true"],"gpus":"8"}' 400 invalid_field gpus
bad '{"command":["true"],"gpus":0}' 400 invalid_field gpus
bad '{"command":["true"],"gpus":200000}' 400 invalid_field gpus
bad '{"command":["true"],"gpus":17}' 400 invalid_field gpus
bad '{"command":["true"],"gpus":4,"residency":"UK"}' 400 invalid_field residency
bad '{"command":["true"],"tenant":"nobody"}' 400 invalid_field tenant
bad '{"command":["true"],"residency":"Atlantis"}' 400 invalid_field residency
bad '{"command":["true"],"time_limit_s":-5}' 400 invalid_field time_limit_s
bad '{"command":["true"],"extra":1}' 400 unknown_field extra
bad '{"command":["true"],"env":{"A":3}}' 400 invalid_field env.A
# One argument longer than execve takes (NL_PROTO_ARG_MAX, 128 KiB less one).
{ printf '{"command":["true","'; head -c 131072 /dev/zero | tr '\0' 'a'; printf '"]}'; } >"$NL_TMP/longarg.json"
bad "@$NL_TMP/longarg.json" 400 invalid_field 'command[1]'

# Over the body limit (512 KiB, NL_PROTO_JOB_REQUEST_MAX): 413, naming the body.
# The body goes from a file (curl's @FILE): one argument that long is past execve's limit.
{ printf '{"command":["'; head -c 530000 /dev/zero | tr '\0' 'a'; printf '"]}'; } >"$NL_TMP/big.json"
bad "@$NL_TMP/big.json" 413 too_large body

# Unknown paths, methods and ids.
nl_http GET /v1/nothing
nl_expect 404 '.error.code == "not_found"'
nl_http PUT /v1/jobs '{}'
nl_expect 405
nl_http GET /v1/jobs/abc
nl_expect 400 '.error.code == "invalid_path" and .error.field == "id" and (.error.message | contains("'"'"'abc'"'"'"))'
nl_http DELETE /v1/jobs/099
nl_expect 400 '.error.code == "invalid_path" and .error.field == "id"'
nl_http GET "/v1/jobs?state=DONE"
nl_expect 400 '.error.field == "state"'
# A long target is refused with our reason, not MHD's, and a large header
# still fits MHD's per-connection pool (http.c, HTTP_CONN_MEMORY_BYTES).
nl_http GET "/v1/jobs/$(head -c 12000 /dev/zero | tr '\0' 7)"
nl_expect 400 '.error.code == "invalid_path" and (.error.message | contains("longer than 8192 bytes"))'
curl -sS -m 60 -o "$NL_TMP/big-header" -w '%{http_code}' -H "Authorization: Bearer $NL_TOKEN" \
    -H "X-Padding: $(head -c 6000 /dev/zero | tr '\0' p)" "$NL_URL/v1/health" >"$NL_TMP/big-status" ||
    nl_fail "curl with a 6 KB header failed"
[ "$(cat "$NL_TMP/big-status")" = 200 ] || nl_fail "a 6 KB header: HTTP $(cat "$NL_TMP/big-status")"
nl_http GET "/v1/jobs?limit=0"
nl_expect 400 '.error.field == "limit"'
nl_http GET "/v1/nodes?state=sideways"
nl_expect 400 '.error.field == "state"'

# Agent protocol bodies are checked as strictly.
nl_http POST /v1/agent/register '{"agent":"x","nodes":["no-such-node"]}'
nl_expect 400 '.error.field == "nodes[0]" and (.error.message | contains("no-such-node"))'
nl_http POST /v1/agent/register '{"agent":"x","nodes":[],"colour":"red"}'
nl_expect 400 '.error.code == "unknown_field" and .error.field == "colour"'
nl_http POST /v1/agent/register '{"agent":"x","nodes":[],"output_root":"relative/out"}'
nl_expect 400 '.error.field == "output_root"'
nl_http POST /v1/agent/register '{"agent":"x","nodes":[],"instance":"not-hex"}'
nl_expect 400 '.error.field == "instance"'
nl_http POST /v1/agent/register '{"agent":"x","nodes":[],"colour":"red"}'
nl_expect 400 '.error.code == "unknown_field" and .error.field == "colour"'
nl_http POST /v1/agent/sync '{"agent_id":"never-registered"}'
nl_expect 404 '.error.field == "agent_id"'
nl_http POST /v1/agent/sync '{"agent_id":"x","exits":[{"job":"one"}]}'
nl_expect 400 '.error.field == "exits[0].job"'
nl_http GET "/v1/nodes?limit=1"
N0=$(nl_json '.nodes[0].name')
nl_http POST /v1/agent/sync "{\"agent_id\":\"x\",\"running\":[{\"job\":1,\"node\":\"$N0\"}]}"
nl_expect 400 '.error.code == "missing_field" and .error.field == "running[0].run"'
nl_http POST /v1/agent/sync '{"agent_id":"x","exits":[{"job":1,"run":0}]}'
nl_expect 400 '.error.field == "exits[0].run" and (.error.message | startswith("exits[0].run: "))'
nl_http POST /v1/agent/sync "{\"agent_id\":\"x\",\"exits\":[{\"job\":1,\"run\":1,\"node\":\"$N0\",\"reason\":7}]}"
nl_expect 400 '.error.field == "exits[0].reason"'
nl_http POST /v1/agent/sync '{"agent_id":"x","applied":[3,0]}'
nl_expect 400 '.error.field == "applied[1]" and (.error.message | contains("a control'"'"'s seq"))'
nl_http POST /v1/agent/sync '{"agent_id":"x","applied":{"seq":3}}'
nl_expect 400 '.error.field == "applied"'

# Nothing changed: one job, and the next id follows the first directly.
nl_http GET /v1/jobs
nl_expect 200 "(.jobs | length) == 1 and .jobs[0].id == $FIRST"
nl_http GET /v1/nodes
nl_expect 200 'all(.nodes[]; .state == "unregistered")'
nl_http POST /v1/jobs '{"command":["true"]}'
nl_expect 201 ".job.id == $((FIRST + 1))"
# None of it made the store unavailable: health and /metrics say so.
nl_http GET /v1/health
nl_expect 200 '.status == "ok" and .store == "ok" and .reason == null'
curl -sf "$NL_URL/metrics" | grep -qx 'nordlys_store_available 1' ||
    nl_fail "/metrics lacks nordlys_store_available 1"
echo "ctld_bad_requests: ok"
