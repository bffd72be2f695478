/* SPDX-License-Identifier: MIT */
/* gpucheck.c - see gpucheck.h. */
#include "gpucheck.h"

#include <stdbool.h>
#include <stdint.h>

#include <stdlib.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "gpu.h"
#include "nordlys/err.h"

/*
 * Plausible ranges: wide enough for every board NVML reports on (an idle
 * L4 draws ~15 W, a GB200 board's limit is 1.2 kW; NVML's temperature
 * sensor reads the die), narrow enough that a unit error (mW read as W, a
 * counter read as a rate) falls outside.
 */
#define POWER_MAX_W 2500.0
#define LIMIT_MIN_W 25.0
#define TEMP_MAX_C 125.0

static bool check(FILE *out, uint32_t i, const char *field, double v, double lo, double hi)
{
    if (v >= lo && v <= hi)
        return true;
    fprintf(out, "gpu %u: %s %.6g is not plausible (expected %g..%g)\n", i, field, v, lo, hi);
    return false;
}

int gpucheck_run(const char *nvml_path, FILE *out)
{
    struct nl_err err = {0};
    /* One node, never emulated: the GPUs NVML sees (8 is only the model's count, unused). */
    struct gpu_set *g = gpu_open(1, 8, false, nvml_path, 1, &err);
    if (g == NULL) {
        fprintf(out, "gpu-check: %s\n", err.msg);
        return GPUCHECK_IMPLAUSIBLE;
    }
    if (!gpu_real(g)) {
        fprintf(out, "gpu-check: no NVML here (%s): nothing read\n", gpu_why_modelled(g));
        gpu_close(g);
        return GPUCHECK_NO_NVML;
    }
    uint32_t n = gpu_per_node(g);
    struct gpu_sample *s = xcalloc(n > 0 ? n : 1, sizeof(*s));
    int rc = GPUCHECK_OK;
    if (gpu_read(g, 0, nl_clock_monotonic_us(), s) < 0) {
        fprintf(out, "gpu-check: NVML found, but reading power or the power limit failed\n");
        rc = GPUCHECK_IMPLAUSIBLE;
    }
    for (uint32_t i = 0; rc == GPUCHECK_OK && i < n; i++) {
        fprintf(out,
                "{\"gpu\":%u,\"power_w\":%.3f,\"energy_j\":%.3f,\"temp_c\":%.1f,\"util\":%.2f,"
                "\"limit_w\":%.3f}\n",
                i, s[i].power_w, s[i].energy_j, s[i].temp_c, s[i].util, s[i].limit_w);
        bool ok = check(out, i, "power_w", s[i].power_w, 0.0, POWER_MAX_W) &&
                  check(out, i, "limit_w", s[i].limit_w, LIMIT_MIN_W, POWER_MAX_W) &&
                  check(out, i, "power_w above limit_w", s[i].power_w, 0.0, s[i].limit_w * 1.25) &&
                  check(out, i, "temp_c", s[i].temp_c, 0.0, TEMP_MAX_C) &&
                  check(out, i, "util", s[i].util, 0.0, 1.0) &&
                  check(out, i, "energy_j", s[i].energy_j, 0.0, 1e15);
        if (!ok)
            rc = GPUCHECK_IMPLAUSIBLE;
    }
    if (rc == GPUCHECK_OK)
        fprintf(out, "gpu-check: %u GPUs through NVML, every value plausible, nothing written\n", n);
    free(s);
    gpu_close(g);
    return rc;
}
