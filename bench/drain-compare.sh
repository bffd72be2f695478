#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drain-compare.sh - bench_drain.c (the scale benchmark's drain without HTTP)
# built against two source trees and run in each, wall time and, with
# CALLGRIND=1, instruction counts of its three parts (callgrind counts are
# the same on a loaded machine, wall times are not).
#
# Usage: bench/drain-compare.sh SRC_A BUILD_A [SRC_B BUILD_B ...]
#   SRC: a checkout (include/ and src/), BUILD: its Release build dir
#   (libnordlys.a, libnl_store.a, libnl_common.a, libnl_io.a built).
# Knobs: QUEUE (100000), WAVES (6), REPS (3, wall-time runs), CALLGRIND (0/1).
set -euo pipefail
QUEUE=${QUEUE:-100000}
WAVES=${WAVES:-6}
REPS=${REPS:-3}
CALLGRIND=${CALLGRIND:-0}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/drain.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
i=0
while [ $# -ge 2 ]; do
    src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
    shift 2
    i=$((i + 1))
    bin=$WORK/bench_drain.$i
    gcc -O3 -DNDEBUG -std=gnu11 -I"$src/include" -I"$src/src" "$HERE/bench_drain.c" -o "$bin" \
        "$build/src/store/libnl_store.a" "$build/src/core/libnordlys.a" \
        "$build/src/common/libnl_io.a" "$build/src/common/libnl_common.a" -lsqlite3 -lm
    echo "== $src ($(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    for _ in $(seq "$REPS"); do
        "$bin" "$WORK/db.$i" "$QUEUE" "$WAVES"
    done
    if [ "$CALLGRIND" = 1 ]; then
        valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/cg.$i" \
            "$bin" "$WORK/db.$i" "$QUEUE" "$WAVES" 2>/dev/null
        callgrind_annotate --inclusive=yes "$WORK/cg.$i" 2>/dev/null |
            grep -E 'PROGRAM TOTALS|drain_sched|drain_starts|drain_commit|nl_store_job_start|nl_store_job_end|sqlite3VdbeExec |nodelist' | head -12
        cp "$WORK/cg.$i" "${CG_KEEP:-/tmp}/cg.drain.$i" 2>/dev/null || true
    fi
done
