/* SPDX-License-Identifier: MIT */
/*
 * gpucheck.h - `nordlys-agent --gpu-check [NVML]`: a read-only look at this
 * machine's NVIDIA GPUs through the same NVML path the agent uses (gpu.c),
 * for the first start on a new GPU type or a machine lent for a check.
 *
 * It loads NVML, reads every GPU once (power, energy counter, temperature,
 * utilisation, power limit), prints one JSON line per GPU and says whether
 * each value is plausible. It never writes a GPU setting: it calls only
 * gpu_open, gpu_read and gpu_close, and gpu_close restores only limits the
 * set changed (none here).
 */
#ifndef NL_AGENT_GPUCHECK_H
#define NL_AGENT_GPUCHECK_H

#include <stdio.h>

/* Exit statuses of gpucheck_run. */
enum {
    GPUCHECK_OK = 0,        /* NVML found, every value plausible */
    GPUCHECK_IMPLAUSIBLE = 1, /* a value out of range; the line names GPU and field */
    GPUCHECK_NO_NVML = 3,   /* no NVML here (no NVIDIA driver): nothing was read */
};

/* Check the GPUs through nvml_path (NULL: libnvidia-ml.so.1); report to out. */
int gpucheck_run(const char *nvml_path, FILE *out);

#endif
