#!/bin/sh
# gpu_check MODE: `nordlys-agent --gpu-check`, the read-only look at a
# machine's GPUs through NVML (issue 11, src/agent/gpucheck.c).
#   fake  through the stand-in NVML the unit tests use (FAKE_NVML: four
#         boards at 700 W under a 1000 W limit): every GPU is printed, the
#         values are read in the right units, and nothing is written (the
#         stand-in logs every write to a file, which must stay absent);
#   real  through this machine's libnvidia-ml.so.1: skipped (77) where there
#         is no NVIDIA driver; on a GPU machine every value must be
#         plausible and the exit status 0.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
[ -n "${NORDLYS_AGENT:-}" ] || nl_fail "NORDLYS_AGENT is not set"
case "${1:-}" in
fake)
    [ -f "${FAKE_NVML:-}" ] || nl_fail "FAKE_NVML is not a file: ${FAKE_NVML:-unset}"
    FAKE_NVML_WRITE_LOG="$NL_TMP/writes" "$NORDLYS_AGENT" --gpu-check "$FAKE_NVML" >"$NL_TMP/out" 2>&1
    rc=$?
    [ "$rc" = 0 ] || nl_fail "--gpu-check on the stand-in NVML: exit $rc: $(cat "$NL_TMP/out")"
    n=$(grep -c '^{"gpu":' "$NL_TMP/out")
    [ "$n" = 4 ] || nl_fail "expected 4 GPU lines, got $n: $(cat "$NL_TMP/out")"
    for i in 0 1 2 3; do
        grep "^{\"gpu\":$i," "$NL_TMP/out" | jq -e '.power_w == 700 and .limit_w == 1000' >/dev/null ||
            nl_fail "GPU $i not read as 700 W under 1000 W: $(cat "$NL_TMP/out")"
    done
    grep -q "nothing written" "$NL_TMP/out" || nl_fail "no verdict line: $(cat "$NL_TMP/out")"
    [ ! -e "$NL_TMP/writes" ] || nl_fail "--gpu-check wrote GPU settings: $(cat "$NL_TMP/writes")"
    # A library that is not NVML: exit 3, saying so, nothing read.
    "$NORDLYS_AGENT" --gpu-check "$NL_TMP/no-such-libnvidia-ml.so" >"$NL_TMP/out" 2>&1
    rc=$?
    [ "$rc" = 3 ] || nl_fail "--gpu-check without NVML: exit $rc, want 3: $(cat "$NL_TMP/out")"
    grep -q "no NVML here" "$NL_TMP/out" || nl_fail "no reason given: $(cat "$NL_TMP/out")"
    ;;
real)
    "$NORDLYS_AGENT" --gpu-check >"$NL_TMP/out" 2>&1
    rc=$?
    cat "$NL_TMP/out"
    if [ "$rc" = 3 ]; then
        echo "SKIP: no NVIDIA driver here (libnvidia-ml.so.1 not loadable): the real-GPU check needs a GPU machine"
        exit 77
    fi
    [ "$rc" = 0 ] || nl_fail "--gpu-check on this machine's GPUs: exit $rc"
    ;;
*) nl_fail "usage: gpu_check.sh fake|real" ;;
esac
echo "gpu_check $1: ok"
