#!/bin/sh
# ctld_empty_db: a zero-length nordlys.db, a file that is not SQLite, and
# another program's SQLite database are refused (exit 1) with an error that
# names the file, says what is wrong, and points at --init; nothing is
# written to them. --init moves such a file aside (kept, never deleted)
# and starts a new facility whose job ids continue after the job
# directories already in STATE/jobs; --init leaves a nordlys database
# (with its jobs) as it is.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
S=$NL_TMP/state
DB=$S/nordlys.db
mkdir -p "$S/jobs/41"

# refused WHAT: nordlysd must exit 1 naming $DB, WHAT and --init, leaving the file as it was.
refused() {
    _before=$(cksum <"$DB")
    timeout 60 "$NORDLYSD" --state-dir "$S" --listen 127.0.0.1:0 >"$NL_TMP/out" 2>&1
    _rc=$?
    _out=$(cat "$NL_TMP/out")
    [ "$_rc" = 1 ] || nl_fail "nordlysd on a database that is $1 exited $_rc (want 1): $_out"
    for _want in "$DB" "$1" "--init"; do
        printf '%s' "$_out" | grep -qF -- "$_want" || nl_fail "the refusal does not say '$_want': $_out"
    done
    [ "$(cksum <"$DB")" = "$_before" ] || nl_fail "the refused file was changed"
    [ ! -e "$S/ctld.port" ] || nl_fail "a refused controller wrote ctld.port"
    echo "refused: $_out"
}

: >"$DB"
refused "empty (0 bytes)"
printf 'not a database at all, just text that is long enough to have a header\n' >"$DB"
refused "not a SQLite database"

# Another program's database: a nordlys one with a foreign application_id (offset 68).
rm -f "$DB"
nl_ctld_start "$S"
nl_ctld_stop
printf '\022\064\126\170' | dd of="$DB" bs=1 seek=68 conv=notrunc 2>/dev/null
refused "another application"

# A corrupt file (a SQLite header, then garbage): refused too.
head -c 100 "$DB" >"$NL_TMP/corrupt"
head -c 8000 /dev/urandom >>"$NL_TMP/corrupt"
cp "$NL_TMP/corrupt" "$DB"
rm -f "$DB-wal" "$DB-shm"
refused "$DB"

# --init: the file is moved aside and a new facility starts after job 41.
nl_ctld_start "$S" --init
ls "$S"/nordlys.db.refused-* >/dev/null 2>&1 || nl_fail "--init did not keep the refused file"
ID=$(nl_submit '{"name":"fresh","command":["true"]}')
[ "$ID" = 42 ] || nl_fail "the first job after --init is $ID; ids must continue after STATE/jobs/41"
nl_ctld_stop

# --init again on a nordlys database: nothing is replaced.
nl_ctld_start "$S" --init
nl_http GET "/v1/jobs/$ID"
nl_expect 200 '.job.name == "fresh"'
nl_ctld_stop
[ "$(ls "$S"/nordlys.db.refused-* | wc -l)" = 1 ] || nl_fail "--init moved a nordlys database aside"
echo "ok"
