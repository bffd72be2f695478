#!/bin/sh
# ctld_disk_full: the state directory on a small tmpfs that a file fills
# while a client submits. The controller answers 503 store_unavailable
# ("database or disk is full") instead of exiting, serves reads meanwhile,
# loses no acknowledged job, and accepts submissions again by itself once
# the filler is gone; jobs that ran through the outage (ledger jobs, one
# agent) end normally and never run twice at once. Then it is stopped and
# started again on the full
# disk: it starts, reads work, writes are 503, and space coming back
# brings writes back. Needs root (mount); exits 77 (skipped) otherwise.
set -u
. "$NL_TEST_LIB/daemon.sh"
if [ "$(id -u)" != 0 ]; then
    echo "skipped: mounting a tmpfs needs root (uid $(id -u))"
    exit 77
fi
nl_tmpdir
M=$NL_TMP/mnt
mkdir -p "$M"
if ! mount -t tmpfs -o size=24m nl-disk-full "$M" 2>"$NL_TMP/mount.err"; then
    echo "skipped: mount -t tmpfs failed: $(cat "$NL_TMP/mount.err")"
    exit 77
fi
# Daemons first (their files are on the tmpfs), then the mount, then the rest.
fs_cleanup() {
    # The submitting client first: it loops until stop-client, which a failure never makes.
    [ -n "${CLIENT:-}" ] && kill "$CLIENT" 2>/dev/null
    for p in $NL_PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    for p in $NL_PIDS; do
        wait "$p" 2>/dev/null
    done
    umount "$M" 2>/dev/null || umount -l "$M"
    nl_cleanup
}
trap fs_cleanup EXIT

S=$M/state
LOG=$NL_TMP/ctld.log
. "$NL_TEST_LIB/ledger.sh"
nl_ledger_init
nl_ctld_start "$S" --log-file "$LOG" --node-timeout-ms 3000
NL_LOG=$LOG
nl_agents_start 1
ACKED=$NL_TMP/acked
: >"$ACKED"

# post BODY: NL_STATUS and NL_BODY; an acknowledged job's id goes to $ACKED.
post() {
    nl_http POST /v1/jobs "$1"
    if [ "$NL_STATUS" = 201 ]; then
        nl_json .job.id >>"$ACKED"
    fi
}

# Ledger jobs that run through the outage: none may ever run twice at once.
LEDGER_JOBS=""
for k in 1 2 3 4; do
    post "$(nl_ledger_body 12 ',"gpus":4')"
    nl_expect 201
    LEDGER_JOBS="$LEDGER_JOBS $(nl_json .job.id)"
done
deadline=$(($(date +%s) + 60))
until [ "$(grep -c '^start' "$LEDGER")" -ge 4 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || nl_fail "the ledger jobs did not start within 60 s"
    sleep 0.05
done

# A client submits all along, recording every answer ("STATUS ID" a line).
RESULTS=$NL_TMP/results
: >"$RESULTS"
(
    n=0
    while [ ! -e "$NL_TMP/stop-client" ]; do
        out=$(curl -sS -m 60 -o - -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
            -H "Authorization: Bearer $NL_TOKEN" \
            --data-binary "{\"name\":\"client-$n\",\"command\":[\"true\"],\"gpus\":16}" \
            "$NL_URL/v1/jobs" 2>/dev/null)
        st=$(printf '%s' "$out" | tail -n 1)
        body=$(printf '%s' "$out" | sed '$d')
        echo "$st $(printf '%s' "$body" | jq -r '.job.id // .error.message // empty' 2>/dev/null)" >>"$RESULTS"
        n=$((n + 1))
    done
) &
CLIENT=$!
# wait_results PATTERN SECONDS WHAT: until a line of $RESULTS matches PATTERN (grep -E).
wait_results() {
    deadline=$(($(date +%s) + $2))
    until grep -qE "$1" "$RESULTS"; do
        kill -0 "$NL_CTLD_PID" 2>/dev/null || nl_fail "nordlysd exited ($3)"
        [ "$(date +%s)" -lt "$deadline" ] || nl_fail "$3: nothing within $2 s; last answers: $(tail -n 3 "$RESULTS" | paste -sd'|' -)"
        sleep 0.05
    done
}
wait_results '^201 ' 60 "the client's first submission"

# Fill the filesystem (dd stops at ENOSPC): the client's submissions start failing with 503.
dd if=/dev/zero of="$M/filler" bs=1M >/dev/null 2>&1
wait_results '^503 ' 60 "a 503 on a full disk"
grep '^503 ' "$RESULTS" | head -n 1 | grep -q "the database cannot be written: database or disk is full" ||
    nl_fail "the 503 does not say why: $(grep '^503 ' "$RESULTS" | head -n 1)"
nl_http POST /v1/jobs '{"name":"refused","command":["true"]}'
nl_expect 503 '.error.code == "store_unavailable" and .error.status == 503 and (.error.message | test("database or disk is full"))'
echo "full: $(nl_json .error.message)"

# While full: writes 503 (cancel too), reads served.
FIRST=$(echo $LEDGER_JOBS | cut -d' ' -f1)
nl_http DELETE "/v1/jobs/$FIRST"
nl_expect 503 '.error.code == "store_unavailable"'
nl_http GET "/v1/jobs/$FIRST"
nl_expect 200 ".job.id == $FIRST and .job.state == \"RUNNING\""
nl_http GET "/v1/jobs?limit=1"
nl_expect 200 '.total > 0'
# Racks cannot join while the store cannot keep them (expansion online, issue 11).
nl_http GET /v1/facility
GPUS=$(nl_json .gpus_total)
nl_http POST /v1/facility/racks '{"site":"dev","racks":1}'
nl_expect 503 '.error.code == "store_unavailable"'
nl_http GET /v1/facility
nl_expect 200 ".gpus_total == $GPUS"
# Many reads while the client's writes are refused beside them: a read
# answered in the same loop iteration as a refused write is still a 200.
for i in $(seq 1 60); do
    nl_http GET "/v1/jobs/$FIRST"
    nl_expect 200 ".job.id == $FIRST"
done
# The outage lasts until the agent's syncs have been refused three times.
deadline=$(($(date +%s) + 60))
until grep -q "failed (attempt 3" "$NL_TMP"/agent-a0.log; do
    [ "$(date +%s)" -lt "$deadline" ] || nl_fail "the agent's syncs were not refused 3 times in 60 s"
    sleep 0.05
done

# Every acknowledged job is there, and nothing else.
check_acked() {
    grep '^201 ' "$RESULTS" | cut -d' ' -f2 >>"$ACKED"
    nl_http GET "/v1/jobs?limit=100000"
    nl_expect 200
    nl_json '.jobs[].id' | sort -n >"$NL_TMP/have"
    sort -nu "$ACKED" >"$NL_TMP/want"
    cmp -s "$NL_TMP/have" "$NL_TMP/want" ||
        nl_fail "stored jobs differ from acknowledged ones: $(diff "$NL_TMP/want" "$NL_TMP/have" | head -5 | paste -sd' ' -)"
}

# Space comes back: the client's submissions succeed again without help.
rm -f "$M/filler"
LINES=$(wc -l <"$RESULTS")
deadline=$(($(date +%s) + 60))
until tail -n +"$((LINES + 1))" "$RESULTS" | grep -q '^201 '; do
    kill -0 "$NL_CTLD_PID" 2>/dev/null || nl_fail "nordlysd exited"
    [ "$(date +%s)" -lt "$deadline" ] || nl_fail "writes still refused 60 s after space returned"
    sleep 0.05
done
touch "$NL_TMP/stop-client"
wait "$CLIENT"
check_acked
echo "client: $(grep -c '^201 ' "$RESULTS") acknowledged, $(grep -c '^503 ' "$RESULTS") refused with 503"

# The ledger jobs run on and end; none ran twice at once; the nodes are back.
nl_wait "/v1/nodes?state=up&limit=100000" '(.nodes | length) == 4' 60
for j in $LEDGER_JOBS; do
    nl_wait "/v1/jobs/$j" '.job.state == "COMPLETED"' 120
    echo "ledger job $j: $(nl_ledger_starts "$j") start(s)"
done
nl_ledger_check

i=0
wait_writable() {
    deadline=$(($(date +%s) + ${1:-60}))
    while :; do
        post "{\"name\":\"after-$i\",\"command\":[\"true\"],\"gpus\":16}"
        i=$((i + 1))
        [ "$NL_STATUS" = 201 ] && return 0
        [ "$NL_STATUS" = 503 ] || nl_fail "expected 503 until space returns, got $NL_STATUS: $NL_BODY"
        [ "$(date +%s)" -lt "$deadline" ] || nl_fail "writes still refused ${1:-60} s after space returned: $NL_BODY"
        sleep 0.1
    done
}
: >"$RESULTS"

# Start on a full disk: fill, stop, start on the same port (the port file may not be writable).
dd if=/dev/zero of="$M/filler" bs=1M >/dev/null 2>&1
nl_ctld_stop
"$NORDLYSD" --state-dir "$S" --listen "127.0.0.1:$NL_PORT" --log-file "$LOG" &
NL_CTLD_PID=$!
NL_PIDS="$NL_PIDS $NL_CTLD_PID"
deadline=$(($(date +%s) + 60))
until curl -sf -m 10 "$NL_URL/v1/health" >/dev/null 2>&1; do
    kill -0 "$NL_CTLD_PID" 2>/dev/null || nl_fail "nordlysd did not start on a full disk"
    [ "$(date +%s)" -lt "$deadline" ] || nl_fail "nordlysd did not answer within 60 s on a full disk"
    sleep 0.1
done
check_acked
# Writes wait for space; on a disk with a little room left the first may still commit.
post '{"name":"on-full-disk","command":["true"],"gpus":16}'
[ "$NL_STATUS" = 201 ] || nl_expect 503 '.error.code == "store_unavailable"'
rm -f "$M/filler"
wait_writable 60
check_acked
nl_ctld_stop || nl_fail "nordlysd did not stop cleanly"
grep -q "store: cannot commit" "$LOG" || nl_fail "the log does not say why writes were refused"
echo "ok: $(wc -l <"$ACKED") acknowledged jobs, none lost, writes came back twice"
