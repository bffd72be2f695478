#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# submit-callgrind.sh - instructions the controller spends per durable
# submission (POST /v1/jobs), counted by callgrind, so that two builds can
# be compared on a loaded machine (wall-clock figures cannot be there).
#
# Usage: bench/submit-callgrind.sh BUILD_DIR [JOBS] [CONNS]   (defaults 2000 16)
#
# nordlysd runs under callgrind (bench_submit natively); the counters are
# zeroed after 200 warm-up submissions and dumped after JOBS more, so the
# figure is the steady per-request cost (HTTP, token, audit, store, COMMIT
# work in the controller's thread), not start-up. A build with tokens gets
# an admin token and --rate-limit 0 as bench/live-lib.sh does. Prints
# instructions per submission and the top functions (inclusive) into
# $OUT_DIR (default /tmp) as callgrind.BUILDNAME.out.
# TLS=1: the controller serves HTTPS (a throw-away CA, tests/lib/tls.sh) and
# bench_submit verifies it: the instructions TLS adds per submission.
set -euo pipefail
BUILD=$(cd "${1:?usage: submit-callgrind.sh BUILD_DIR [JOBS] [CONNS]}" && pwd)
JOBS=${2:-2000}
CONNS=${3:-16}
OUT_DIR=${OUT_DIR:-/tmp}
CTLD=$BUILD/src/ctld/nordlysd
SUBMIT=$BUILD/bench/bench_submit
export LIVE_NAME=submit-callgrind.sh
# shellcheck source=bench/live-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/live-lib.sh"
live_need "$CTLD" "$SUBMIT"
live_work nordlys-cg
tag=$(basename "$(dirname "$BUILD")")-$(basename "$BUILD")${TLS:+-tls}
out=$OUT_DIR/callgrind.$tag.out
rm -f "$out" "$out".*
CTLD_REAL=$CTLD
# start_ctld runs "$CTLD" ARGS: a wrapper puts the daemon (not `token`) under callgrind.
cat >"$WORK/ctld" <<EOS
#!/bin/sh
case "\$1" in token|--help) exec "$CTLD_REAL" "\$@" ;; esac
exec valgrind --tool=callgrind --callgrind-out-file="$out" "$CTLD_REAL" "\$@"
EOS
chmod +x "$WORK/ctld"
CTLD=$WORK/ctld
tls=() ca=()
if [ -n "${TLS:-}" ]; then
    # shellcheck source=tests/lib/tls.sh
    . "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/tls.sh"
    nl_tls_ca "$WORK/ca"
    nl_tls_server "$WORK/ca" ctld "IP:127.0.0.1"
    tls=(--tls-cert "$WORK/ca/ctld.pem" --tls-key "$WORK/ca/ctld.key")
    ca=(--ca-file "$WORK/ca/ca.pem")
fi
start_ctld cg --facility narvik "${tls[@]}"
[ -z "${TLS:-}" ] || URL=https://127.0.0.1:${URL##*:}
"$SUBMIT" --url "$URL" "${ca[@]}" --conns "$CONNS" --jobs 200 --warmup 0 --label warm >/dev/null
callgrind_control -z "$CTLD_PID" >/dev/null
"$SUBMIT" --url "$URL" "${ca[@]}" --conns "$CONNS" --jobs "$JOBS" --warmup 0 --label cg |
    tee "$WORK/run.json" >&2
callgrind_control -d "$CTLD_PID" >/dev/null
stop "$CTLD_PID"
dump=$out.1 # the -d dump (the exit writes $out itself)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
echo "$tag: $JOBS submissions, $CONNS conns: $total instructions, $((total / JOBS)) per submission ($dump)"
