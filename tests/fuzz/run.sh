#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang (tests/fuzz/project) and runs each
# over its committed corpus (tests/fuzz/corpus/TARGET: seeds from the
# repository's examples and every regression input), with its dictionary
# (tests/fuzz/dict/TARGET.dict).
#
#   run.sh [--build DIR] [TARGET...]        the short run of `make test`: each
#                                           target for a fixed number of inputs
#                                           (NL_FUZZ_RUNS, default 100000), seed 1
#   run.sh [--build DIR] --long SECONDS [TARGET...]
#                                           each target SECONDS long, random seed,
#                                           its corpus kept in DIR/corpus-long
#
# DIR defaults to build/fuzz. A crash, sanitizer report, leak or timeout
# fails the run and leaves the input in DIR/artifacts; add it to the
# target's corpus once the bug is fixed. Exits 77 (skipped) only when clang
# or its libFuzzer runtime is missing (scripts/install-deps.sh installs both).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD="$ROOT/build/fuzz"
LONG=""
RUNS="${NL_FUZZ_RUNS:-100000}"
ALL="job_request agent_proto http_target agent_answer facility tenants trace idxset schedule"
if [ -f "$ROOT/src/ctld/token.c" ]; then ALL="$ALL token"; fi
if [ -f "$ROOT/src/cli/script.c" ]; then ALL="$ALL script"; fi

while [ $# -gt 0 ]; do
    case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --long)
        LONG="$2"; shift 2
        case "$LONG" in ''|*[!0-9]*) echo "run.sh: --long: '$LONG' is not a number of seconds" >&2; exit 2 ;; esac ;;
    -h|--help) sed -n '3,18p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) break ;;
    esac
done
TARGETS="${*:-$ALL}"
for t in $TARGETS; do
    case " $ALL " in *" $t "*) ;; *) echo "run.sh: no target '$t' (known: $ALL)" >&2; exit 2 ;; esac
done

CC=""
for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
    if command -v "$c" >/dev/null 2>&1; then CC=$(command -v "$c"); break; fi
done
if [ -z "$CC" ]; then
    echo "run.sh: SKIPPED: no clang (scripts/install-deps.sh installs clang and libclang-rt-14-dev)" >&2
    exit 77
fi
# libFuzzer's runtime: clang's own, in libclang-rt-14-dev on Debian 12.
rtdir=$("$CC" -print-runtime-dir 2>/dev/null || true)
if [ ! -f "$rtdir/libclang_rt.fuzzer-$(uname -m).a" ]; then
    echo "run.sh: SKIPPED: $CC has no libFuzzer runtime (libclang_rt.fuzzer-$(uname -m).a in '$rtdir'; on Debian 12 it is in libclang-rt-14-dev)" >&2
    exit 77
fi
mkdir -p "$BUILD"
# With the runtime there, a fuzzer that does not link is a broken toolchain: a failure, not a skip.
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    > "$BUILD/probe.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$BUILD/probe.c" -o "$BUILD/probe" 2>"$BUILD/probe.log"; then
    echo "run.sh: $CC cannot link a libFuzzer target:" >&2
    cat "$BUILD/probe.log" >&2
    exit 1
fi

echo "run.sh: building the fuzz targets with $CC in $BUILD"
cmake -S "$HERE/project" -B "$BUILD/cmake" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Debug >"$BUILD/configure.log" 2>&1 ||
    { cat "$BUILD/configure.log" >&2; exit 1; }
bins=""
for t in $TARGETS; do bins="$bins fuzz_$t"; done
# shellcheck disable=SC2086
cmake --build "$BUILD/cmake" -j"${NL_FUZZ_JOBS:-2}" --target $bins >"$BUILD/build.log" 2>&1 ||
    { tail -50 "$BUILD/build.log" >&2; exit 1; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$BUILD/artifacts"
failed=""
for t in $TARGETS; do
    seeds="$HERE/corpus/$t"
    if [ -n "$LONG" ]; then
        # The long run keeps what it finds, so runs build on each other.
        work="$BUILD/corpus-long/$t"
        mkdir -p "$work"
        set -- -max_total_time="$LONG" -seed=0
    else
        # The short run starts from the committed corpus alone: the same inputs every time.
        work="$BUILD/corpus-short/$t"
        rm -rf "$work"
        mkdir -p "$work"
        set -- -runs="$RUNS" -seed=1
    fi
    # Keys, values and edge cases of the format: mutations reach the checks sooner.
    if [ -f "$HERE/dict/$t.dict" ]; then set -- "$@" -dict="$HERE/dict/$t.dict"; fi
    log="$BUILD/$t.log"
    start=$(date +%s)
    if "$BUILD/cmake/fuzz_$t" "$@" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" "$work" "$seeds" >"$log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
        echo "run.sh: $t: ok, ${execs:-?} inputs in $(($(date +%s) - start)) s, $cov, corpus $(ls "$work" | wc -l) new"
    else
        echo "run.sh: $t: FAILED after $(($(date +%s) - start)) s; log $log, input in $BUILD/artifacts/$t-*" >&2
        grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==' "$log" | head -20 >&2 || true
        failed="$failed $t"
    fi
done
if [ -n "$failed" ]; then
    echo "run.sh: failed:$failed" >&2
    exit 1
fi
