#!/bin/sh
# SPDX-License-Identifier: MIT
# The controller's output tails for single-node jobs, this tree against
# REF (default main), by instructions (callgrind, repeatable under load)
# and peak RSS: bench/outtail-compare.sh [REF] [JOBS CHUNKS BYTES].
set -eu
ref=${1:-main}
shift || true
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/old/ctld"
git -C "$top" show "$ref:src/ctld/outtail.c" >"$tmp/old/ctld/outtail.c"
git -C "$top" show "$ref:src/ctld/outtail.h" >"$tmp/old/ctld/outtail.h"
common="$top/src/common/u64map.c $top/src/common/xalloc.c"
cc -O2 -std=c11 -D_GNU_SOURCE -I"$top/src" -I"$top/include" -o "$tmp/new" \
    "$top/bench/bench_outtail.c" "$top/src/ctld/outtail.c" $common
cc -O2 -std=c11 -D_GNU_SOURCE -DOLD_OUTTAIL -I"$tmp/old" -I"$top/src" -I"$top/include" -o "$tmp/old/bench" \
    "$top/bench/bench_outtail.c" "$tmp/old/ctld/outtail.c" $common
for b in old/bench new; do
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$tmp/$b" "$@" 2>"$tmp/vg" >/dev/null
    ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/vg")
    rss=$(/usr/bin/time -f %M "$tmp/$b" "$@" 2>&1 >/dev/null | tail -1)
    echo "$b: $ir instructions, peak RSS $rss KiB"
done
