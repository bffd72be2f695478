#!/bin/sh
# ctld_disk_full: the state directory on a small tmpfs that a file fills
# while a client submits. The controller answers 503 store_unavailable
# ("database or disk is full") instead of exiting, serves reads meanwhile,
# loses no acknowledged job, and accepts submissions again by itself once
# the filler is gone. Then it is stopped and started again on the full
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
nl_ctld_start "$S" --log-file "$LOG"
NL_LOG=$LOG
ACKED=$NL_TMP/acked
: >"$ACKED"

# post BODY: NL_STATUS and NL_BODY; an acknowledged job's id goes to $ACKED.
post() {
    nl_http POST /v1/jobs "$1"
    if [ "$NL_STATUS" = 201 ]; then
        nl_json .job.id >>"$ACKED"
    fi
}

i=0
while [ $i -lt 20 ]; do
    post "{\"name\":\"before-$i\",\"command\":[\"true\"]}"
    nl_expect 201
    i=$((i + 1))
done

# Fill the filesystem (dd stops at ENOSPC), then submit until the store says it is full.
dd if=/dev/zero of="$M/filler" bs=1M >/dev/null 2>&1
deadline=$(($(date +%s) + 60))
while :; do
    post "{\"name\":\"full-$i\",\"command\":[\"true\"]}"
    i=$((i + 1))
    [ "$NL_STATUS" = 503 ] && break
    [ "$NL_STATUS" = 201 ] || nl_fail "expected 201 or 503 while filling, got $NL_STATUS: $NL_BODY"
    [ "$(date +%s)" -lt "$deadline" ] || nl_fail "no 503 within 60 s on a full disk"
done
nl_expect 503 '.error.code == "store_unavailable" and .error.status == 503 and (.error.message | test("database or disk is full"))'
kill -0 "$NL_CTLD_PID" 2>/dev/null || nl_fail "nordlysd exited on a full disk"
echo "full after $(wc -l <"$ACKED") acknowledged submissions: $(nl_json .error.message)"

# While full: writes 503 (cancel too), reads served.
post '{"name":"refused","command":["true"]}'
nl_expect 503 '.error.code == "store_unavailable"'
FIRST=$(head -n 1 "$ACKED")
nl_http DELETE "/v1/jobs/$FIRST"
nl_expect 503 '.error.code == "store_unavailable"'
nl_http GET "/v1/jobs/$FIRST"
nl_expect 200 ".job.id == $FIRST and .job.state == \"PENDING\""
nl_http GET "/v1/jobs?limit=100000"
nl_expect 200 ".total == $(wc -l <"$ACKED")"

# Every acknowledged job is there, and nothing else.
check_acked() {
    nl_http GET "/v1/jobs?limit=100000"
    nl_expect 200
    nl_json '.jobs[].id' | sort -n >"$NL_TMP/have"
    sort -n "$ACKED" >"$NL_TMP/want"
    cmp -s "$NL_TMP/have" "$NL_TMP/want" ||
        nl_fail "stored jobs differ from acknowledged ones: $(diff "$NL_TMP/want" "$NL_TMP/have" | head -5 | paste -sd' ' -)"
}
check_acked

# Space comes back: submissions succeed again without help.
rm -f "$M/filler"
wait_writable() {
    deadline=$(($(date +%s) + ${1:-30}))
    while :; do
        post "{\"name\":\"after-$i\",\"command\":[\"true\"]}"
        i=$((i + 1))
        [ "$NL_STATUS" = 201 ] && return 0
        [ "$NL_STATUS" = 503 ] || nl_fail "expected 503 until space returns, got $NL_STATUS: $NL_BODY"
        [ "$(date +%s)" -lt "$deadline" ] || nl_fail "writes still refused ${1:-30} s after space returned: $NL_BODY"
        sleep 0.1
    done
}
wait_writable 30
check_acked
kill -0 "$NL_CTLD_PID" 2>/dev/null || nl_fail "nordlysd exited"

# Start on a full disk: fill, stop, start on the same port (the port file may not be writable).
dd if=/dev/zero of="$M/filler" bs=1M >/dev/null 2>&1
nl_ctld_stop
"$NORDLYSD" --state-dir "$S" --listen "127.0.0.1:$NL_PORT" --log-file "$LOG" &
NL_CTLD_PID=$!
NL_PIDS="$NL_PIDS $NL_CTLD_PID"
deadline=$(($(date +%s) + 30))
until curl -sf -m 2 "$NL_URL/v1/health" >/dev/null 2>&1; do
    kill -0 "$NL_CTLD_PID" 2>/dev/null || nl_fail "nordlysd did not start on a full disk"
    [ "$(date +%s)" -lt "$deadline" ] || nl_fail "nordlysd did not answer within 30 s on a full disk"
    sleep 0.1
done
check_acked
# Writes wait for space; on a disk with a little room left the first may still commit.
post '{"name":"on-full-disk","command":["true"]}'
[ "$NL_STATUS" = 201 ] || nl_expect 503 '.error.code == "store_unavailable"'
rm -f "$M/filler"
wait_writable 30
check_acked
nl_ctld_stop || nl_fail "nordlysd did not stop cleanly"
grep -q "store: cannot commit" "$LOG" || nl_fail "the log does not say why writes were refused"
echo "ok: $(wc -l <"$ACKED") acknowledged jobs, none lost, writes came back twice"
