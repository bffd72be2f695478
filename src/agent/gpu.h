/* SPDX-License-Identifier: MIT */
/*
 * gpu.h - the agent's GPUs: telemetry (power, energy counter, temperature,
 * utilisation, power limit) and power caps, through NVML or modelled.
 *
 * NVML (libnvidia-ml.so.1) is loaded with dlopen at run time and never
 * linked, so the agent builds and runs anywhere; without it (or with
 * --emulate) every GPU is modelled: idle, busy at the job's expected draw
 * or held under its cap, with a little noise, and its energy integrated.
 *
 * Caps are a desired state the controller sends with every sync answer
 * (which GPUs, for which job, at how many watts). gpu_caps_apply() brings
 * the GPUs to it: it sets the limit of a listed GPU, and gives a GPU that
 * is no longer listed back the limit it had before the first cap (read
 * from it then). A GPU never listed is never written: the agent changes no
 * setting the controller did not ask for.
 *
 * Single-threaded, like the agent's loop.
 */
#ifndef NL_AGENT_GPU_H
#define NL_AGENT_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_err;
struct gpu_set;

/* One GPU's reading. */
struct gpu_sample {
    double power_w;  /* board draw now */
    double energy_j; /* counter since the agent started (NVML: since the driver loaded) */
    double temp_c;
    double util;     /* 0..1 */
    double limit_w;  /* power limit in force */
};

/* A cap the controller asks for: GPUs mask of node (the agent's node index) at cap_w each. */
struct gpu_cap {
    uint32_t node;
    uint8_t mask;
    int64_t job;
    double cap_w;
};

/*
 * The GPUs of nnodes nodes of gpus_per_node each. When emulate is false
 * and nnodes is 1, NVML is tried (nvml_path, or "libnvidia-ml.so.1" when
 * NULL) and the node has the GPUs NVML sees; without it the GPUs are
 * modelled, and gpu_real() says which.
 * seed makes the model's noise reproducible. NULL with err set on a bad
 * argument only: a missing NVML is not an error.
 */
struct gpu_set *gpu_open(uint32_t nnodes, uint32_t gpus_per_node, bool emulate,
                         const char *nvml_path, uint64_t seed, struct nl_err *err);
void gpu_close(struct gpu_set *g);
bool gpu_real(const struct gpu_set *g);
/* GPUs per node: as asked, or NVML's count on a real node. */
uint32_t gpu_per_node(const struct gpu_set *g);
/* Why NVML is not used ("" when it is); borrowed. */
const char *gpu_why_modelled(const struct gpu_set *g);

/*
 * Model only: the GPUs mask of node run a job expected to draw busy_w each
 * (busy_w <= 0: idle again). idle_w is the draw of an idle GPU.
 */
void gpu_model_busy(struct gpu_set *g, uint32_t node, uint8_t mask, double busy_w,
                    int64_t now_us);
void gpu_model_idle_w(struct gpu_set *g, double idle_w, double nameplate_w);

/* Read every GPU of node into out[0..gpus_per_node) at now_us (monotonic). 0 or -EIO. */
int gpu_read(struct gpu_set *g, uint32_t node, int64_t now_us, struct gpu_sample *out);

/*
 * Bring the caps to caps[0..n) (the whole desired state): set listed GPUs,
 * restore unlisted ones this set capped. Returns how many GPUs changed; a
 * GPU that refuses (NVML error) is left as it was and counted in *failed.
 */
size_t gpu_caps_apply(struct gpu_set *g, const struct gpu_cap *caps, size_t n, size_t *failed);
/* Give every GPU this set capped its old limit back (the agent stops). */
void gpu_caps_restore_all(struct gpu_set *g);
/* The cap this set holds on GPU bit of node: its job, or 0 when none. */
int64_t gpu_capped_by(const struct gpu_set *g, uint32_t node, uint32_t bit);

#endif
