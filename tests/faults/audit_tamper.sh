#!/bin/sh
# audit_tamper: after a run (submissions, a cancel, refusals, a restart in
# between), `nordlys audit verify` passes, from the file and from the API;
# after one record is edited, removed or two are swapped, it fails and
# names the first bad record's line and seq. The controller, restarted on
# the edited log, carries on chaining from its last line.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
S=$NL_TMP/state
nl_ctld_start "$S"

J1=$(nl_submit '{"command":["true"],"gpus":1,"tenant":"anchor"}')
nl_submit '{"command":["true"],"gpus":1,"tenant":"uk"}' >/dev/null
nl_http DELETE "/v1/jobs/$J1"
nl_expect 200
NL_HTTP_TOKEN=bogus nl_http GET /v1/jobs
nl_expect 401
# A restart in the middle: the chain goes on from the last record on disk.
nl_ctld_stop
nl_ctld_start "$S"
nl_submit '{"command":["true"],"gpus":1,"tenant":"anchor"}' >/dev/null
nl_http POST /v1/tokens '{"user":"carol","role":"user","tenants":["uk"],"ttl_s":60}'
nl_expect 201

LOG=$S/audit.log
n=$(wc -l <"$LOG")
[ "$n" -ge 6 ] || nl_fail "expected at least 6 audit records, got $n: $(cat "$LOG")"
[ "$(jq -s '[.[].seq] == [range(1; length + 1)]' "$LOG")" = true ] ||
    nl_fail "seq is not 1..$n: $(cat "$LOG")"

nl_cli audit verify --file "$LOG"
[ "$NL_RC" = 0 ] || nl_fail "verify (file) after a run: rc $NL_RC: $NL_OUT $NL_ERR"
nl_cli audit verify
[ "$NL_RC" = 0 ] || nl_fail "verify (API) after a run: rc $NL_RC: $NL_OUT $NL_ERR"
nl_cli audit export --file "$LOG" --since 2000-01-01 --until 2999-01-01
[ "$(printf '%s\n' "$NL_OUT" | wc -l)" = "$n" ] || nl_fail "export: $NL_OUT"

# Edit record 3 (its status): verify names line 3, seq 3.
cp "$LOG" "$NL_TMP/good.log"
sed '3s/"status":[0-9]*/"status":299/' "$NL_TMP/good.log" >"$NL_TMP/edit.log"
nl_cli audit verify --file "$NL_TMP/edit.log"
[ "$NL_RC" = 1 ] || nl_fail "verify of an edited log: rc $NL_RC: $NL_OUT"
printf '%s' "$NL_OUT" | grep -q 'line 3 (seq 3).*altered' || nl_fail "edited: $NL_OUT"

# Remove record 2.
sed '2d' "$NL_TMP/good.log" >"$NL_TMP/rm.log"
nl_cli audit verify --file "$NL_TMP/rm.log"
[ "$NL_RC" = 1 ] || nl_fail "verify of a log missing a record: rc $NL_RC: $NL_OUT"
printf '%s' "$NL_OUT" | grep -q 'line 2 (seq 3).*record 2 removed' || nl_fail "removed: $NL_OUT"

# Swap records 4 and 5.
awk 'NR == 4 { held = $0; next } NR == 5 { print; print held; next } { print }' \
    "$NL_TMP/good.log" >"$NL_TMP/swap.log"
nl_cli audit verify --file "$NL_TMP/swap.log"
[ "$NL_RC" = 1 ] || nl_fail "verify of a reordered log: rc $NL_RC: $NL_OUT"
printf '%s' "$NL_OUT" | grep -q 'line 4 (seq 5).*reordered' || nl_fail "reordered: $NL_OUT"

# A known limit (docs/security.md): the last record, edited while the controller is down,
# is taken as found at the next start (the head lives in memory); a copy kept elsewhere
# (an export) still shows the difference.
nl_ctld_stop
sed "\$s/\"who\":\"root\"/\"who\":\"mallory\"/" "$NL_TMP/good.log" >"$LOG"
nl_ctld_start "$S"
nl_cli audit verify
[ "$NL_RC" = 0 ] || nl_fail "a restart takes the last line as it finds it: rc $NL_RC: $NL_OUT"
nl_cli audit verify --file "$NL_TMP/good.log"
[ "$NL_RC" = 0 ] || nl_fail "the saved copy: rc $NL_RC: $NL_OUT"
echo "audit_tamper: ok"
