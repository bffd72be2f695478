#!/bin/sh
# audit_tamper: after a run (submissions, a cancel, refusals, a restart in
# between), `nordlys audit verify` passes, from the API and from an
# exported file; after one record is edited, removed or two are swapped,
# in an exported file or in the store's audit table itself (sqlite3 while
# the controller is stopped), it fails and names the first bad record's
# line and seq. The controller, restarted on an edited table, carries on
# chaining from its last row; STATE/audit.log, the table's copy, is
# rewritten from the table at each start.
set -u
. "$NL_TEST_LIB/daemon.sh"
command -v sqlite3 >/dev/null ||
    nl_fail "the sqlite3 CLI is needed to edit the audit table (scripts/install-deps.sh)"
nl_tmpdir
S=$NL_TMP/state
DB=$S/nordlys.db
nl_ctld_start "$S"

J1=$(nl_submit '{"command":["true"],"gpus":1,"tenant":"anchor"}')
nl_submit '{"command":["true"],"gpus":1,"tenant":"uk"}' >/dev/null
nl_http DELETE "/v1/jobs/$J1"
nl_expect 200
NL_HTTP_TOKEN=bogus nl_http GET /v1/jobs
nl_expect 401
# A restart in the middle: the chain goes on from the last record in the store.
nl_ctld_stop
nl_ctld_start "$S"
nl_submit '{"command":["true"],"gpus":1,"tenant":"anchor"}' >/dev/null
nl_http POST /v1/tokens '{"user":"carol","role":"user","tenants":["uk"],"ttl_s":60}'
nl_expect 201

# The records, as the controller serves them, exported for an auditor.
nl_cli audit export --since 2000-01-01 --until 2999-01-01
LOG=$NL_TMP/export.log
printf '%s\n' "$NL_OUT" >"$LOG"
n=$(wc -l <"$LOG")
[ "$n" -ge 6 ] || nl_fail "expected at least 6 audit records, got $n: $(cat "$LOG")"
[ "$(jq -s '[.[].seq] == [range(1; length + 1)]' "$LOG")" = true ] ||
    nl_fail "seq is not 1..$n: $(cat "$LOG")"
grep -q '"status":401' "$LOG" || nl_fail "the 401 is not in the audit log: $(cat "$LOG")"
[ "$(sqlite3 "$DB" 'SELECT count(*) FROM audit')" = "$n" ] || nl_fail "the table and the export differ"
cmp -s "$LOG" "$S/audit.log" || nl_fail "STATE/audit.log is not the table's copy: $(cat "$S/audit.log")"

nl_cli audit verify --file "$LOG"
[ "$NL_RC" = 0 ] || nl_fail "verify (file) after a run: rc $NL_RC: $NL_OUT $NL_ERR"
nl_cli audit verify
[ "$NL_RC" = 0 ] || nl_fail "verify (API) after a run: rc $NL_RC: $NL_OUT $NL_ERR"
nl_cli audit export --file "$LOG" --since 2000-01-01 --until 2999-01-01
[ "$(printf '%s\n' "$NL_OUT" | wc -l)" = "$n" ] || nl_fail "export: $NL_OUT"

# ---- an exported file, edited ----
# Edit record 3 (its status): verify names line 3, seq 3.
sed '3s/"status":[0-9]*/"status":299/' "$LOG" >"$NL_TMP/edit.log"
nl_cli audit verify --file "$NL_TMP/edit.log"
[ "$NL_RC" = 1 ] || nl_fail "verify of an edited log: rc $NL_RC: $NL_OUT"
printf '%s' "$NL_OUT" | grep -q 'line 3 (seq 3).*altered' || nl_fail "edited: $NL_OUT"

# Remove record 2.
sed '2d' "$LOG" >"$NL_TMP/rm.log"
nl_cli audit verify --file "$NL_TMP/rm.log"
[ "$NL_RC" = 1 ] || nl_fail "verify of a log missing a record: rc $NL_RC: $NL_OUT"
printf '%s' "$NL_OUT" | grep -q 'line 2 (seq 3).*record 2 removed' || nl_fail "removed: $NL_OUT"

# Swap records 4 and 5.
awk 'NR == 4 { held = $0; next } NR == 5 { print; print held; next } { print }' \
    "$LOG" >"$NL_TMP/swap.log"
nl_cli audit verify --file "$NL_TMP/swap.log"
[ "$NL_RC" = 1 ] || nl_fail "verify of a reordered log: rc $NL_RC: $NL_OUT"
printf '%s' "$NL_OUT" | grep -q 'line 4 (seq 5).*reordered' || nl_fail "reordered: $NL_OUT"

# ---- the table itself, edited while the controller is stopped ----
# verify over the API checks what the controller serves: the table as it finds it.
tamper() { # SQL, then what verify must say
    nl_ctld_stop
    sqlite3 "$DB" "$1" || nl_fail "sqlite3: $1"
    nl_ctld_start "$S"
    nl_cli audit verify
    [ "$NL_RC" = 1 ] || nl_fail "verify (API) after '$1': rc $NL_RC: $NL_OUT $NL_ERR"
    printf '%s' "$NL_OUT" | grep -q "$2" || nl_fail "after '$1': $NL_OUT"
    sqlite3 "$DB" 'SELECT line FROM audit ORDER BY seq' | cmp -s - "$S/audit.log" ||
        nl_fail "the copy was not rewritten from the table at the start"
}
# The table's rows as they were, put back after each edit.
restore() {
    nl_ctld_stop
    sqlite3 "$DB" "ATTACH '$NL_TMP/good.db' AS good; DELETE FROM audit;
                   INSERT INTO audit SELECT * FROM good.audit" || nl_fail "restore the table"
    nl_ctld_start "$S"
    nl_cli audit verify
    [ "$NL_RC" = 0 ] || nl_fail "verify after restoring the table: rc $NL_RC: $NL_OUT $NL_ERR"
}
nl_ctld_stop
sqlite3 "$DB" ".backup '$NL_TMP/good.db'" || nl_fail "back up the table"
nl_ctld_start "$S"
tamper "UPDATE audit SET line = replace(line, '\"status\":', '\"status\":2') WHERE seq = 3" \
    'line 3 (seq 3).*altered'
restore
tamper "DELETE FROM audit WHERE seq = 2" 'line 2 (seq 3).*record 2 removed'
restore
# Reordered: records 4 and 5 trade their places (their lines keep their own seq).
tamper "UPDATE audit SET seq = seq + 1000 WHERE seq IN (4, 5);
        UPDATE audit SET seq = 1009 - seq WHERE seq IN (1004, 1005)" 'line 4 (seq 5).*reordered'
restore

# The chain goes on after a restart on the whole table: the next record's prev is the last's hash.
last=$(sqlite3 "$DB" "SELECT line FROM audit ORDER BY seq DESC LIMIT 1")
nl_submit '{"command":["true"],"gpus":1,"tenant":"anchor"}' >/dev/null
nl_cli audit verify
[ "$NL_RC" = 0 ] || nl_fail "verify after more records: rc $NL_RC: $NL_OUT $NL_ERR"
want=$(printf '%s' "$last" | sha256sum | cut -d' ' -f1)
sqlite3 "$DB" "SELECT line FROM audit WHERE seq = $((n + 1))" | grep -q "\"prev\":\"$want\"" ||
    nl_fail "record $((n + 1)) does not chain to record $n"

# A known limit (docs/security.md): the last record, edited while the controller is down,
# is taken as found at the next start (the head is the last row's hash); a copy kept
# elsewhere (an export) still shows the difference.
nl_cli audit export
printf '%s\n' "$NL_OUT" >"$NL_TMP/good.log"
nl_ctld_stop
sqlite3 "$DB" "UPDATE audit SET line = replace(line, '\"who\":\"root\"', '\"who\":\"mallory\"')
               WHERE seq = (SELECT max(seq) FROM audit)"
nl_ctld_start "$S"
grep -q '"who":"mallory"' "$S/audit.log" || nl_fail "the last record was not edited"
nl_cli audit verify
[ "$NL_RC" = 0 ] || nl_fail "a restart takes the last row as it finds it: rc $NL_RC: $NL_OUT"
nl_cli audit verify --file "$NL_TMP/good.log"
[ "$NL_RC" = 0 ] || nl_fail "the saved copy: rc $NL_RC: $NL_OUT"
echo "audit_tamper: ok"
