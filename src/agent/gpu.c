/* SPDX-License-Identifier: MIT */
/* gpu.c - see gpu.h. */
#include "gpu.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

#define GPU_MAX_PER_NODE 8

/*
 * The few NVML entry points used, declared here from NVML's C API (nvml.h):
 * every call returns nvmlReturn_t, 0 being NVML_SUCCESS; power in mW,
 * energy in mJ. Devices are opaque handles.
 */
typedef int nvml_ret;
typedef struct nvml_device *nvml_device;
struct nvml_util {
    unsigned int gpu, memory; /* percent */
};
#define NVML_TEMPERATURE_GPU 0

struct nvml {
    void *lib;
    nvml_ret (*init)(void);
    nvml_ret (*shutdown)(void);
    nvml_ret (*count)(unsigned int *);
    nvml_ret (*handle)(unsigned int, nvml_device *);
    nvml_ret (*power)(nvml_device, unsigned int *);
    nvml_ret (*energy)(nvml_device, unsigned long long *);
    nvml_ret (*temp)(nvml_device, int, unsigned int *);
    nvml_ret (*util)(nvml_device, struct nvml_util *);
    nvml_ret (*limit)(nvml_device, unsigned int *);
    nvml_ret (*constraints)(nvml_device, unsigned int *, unsigned int *);
    nvml_ret (*set_limit)(nvml_device, unsigned int);
};

/* One GPU: the model's state, or an NVML handle; and the cap this set holds on it. */
struct gpu {
    nvml_device dev;
    double busy_w;   /* model: the running job's expected draw; 0 = idle */
    double energy_j; /* model */
    double limit_w;  /* model: in force */
    int64_t last_us; /* model: energy integrated up to here */
    int64_t cap_job; /* the job whose cap is in force, 0 = none */
    double cap_w;    /* that cap */
    double saved_w;  /* the limit before this set's first cap, restored after */
};

struct gpu_set {
    uint32_t nnodes, per_node;
    struct gpu *g;
    struct nvml nv;
    bool real;
    char why[160];
    double idle_w, nameplate_w;
    struct nl_rng rng;
};

/* Resolve every symbol or none: a partial NVML is not used. */
static bool nvml_load(struct nvml *nv, const char *path, char *why, size_t size)
{
    nv->lib = dlopen(path ? path : "libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (nv->lib == NULL) {
        snprintf(why, size, "NVML not loaded: %s", dlerror());
        return false;
    }
    static const char *const names[] = {
            "nvmlInit_v2", "nvmlShutdown", "nvmlDeviceGetCount_v2",
            "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetPowerUsage",
            "nvmlDeviceGetTotalEnergyConsumption", "nvmlDeviceGetTemperature",
            "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetPowerManagementLimit",
            "nvmlDeviceGetPowerManagementLimitConstraints", "nvmlDeviceSetPowerManagementLimit"};
    void **slots[] = {(void **)&nv->init,   (void **)&nv->shutdown, (void **)&nv->count,
                      (void **)&nv->handle, (void **)&nv->power,    (void **)&nv->energy,
                      (void **)&nv->temp,   (void **)&nv->util,     (void **)&nv->limit,
                      (void **)&nv->constraints, (void **)&nv->set_limit};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *slots[i] = dlsym(nv->lib, names[i]);
        if (*slots[i] == NULL) {
            snprintf(why, size, "NVML lacks %s", names[i]);
            dlclose(nv->lib);
            nv->lib = NULL;
            return false;
        }
    }
    if (nv->init() != 0) {
        snprintf(why, size, "nvmlInit_v2 failed (no NVIDIA driver?)");
        dlclose(nv->lib);
        nv->lib = NULL;
        return false;
    }
    return true;
}

struct gpu_set *gpu_open(uint32_t nnodes, uint32_t gpus_per_node, bool emulate,
                         const char *nvml_path, uint64_t seed, struct nl_err *err)
{
    if (nnodes == 0 || gpus_per_node == 0 || gpus_per_node > GPU_MAX_PER_NODE) {
        nl_err_set(err, -EINVAL, "gpus: %u nodes of %u GPUs (1..%d per node)", nnodes,
                   gpus_per_node, GPU_MAX_PER_NODE);
        return NULL;
    }
    struct gpu_set *s = xcalloc(1, sizeof(*s));
    s->nnodes = nnodes;
    s->per_node = gpus_per_node;
    s->g = xcalloc((size_t)nnodes * gpus_per_node, sizeof(*s->g));
    s->idle_w = 350;
    s->nameplate_w = 1800;
    nl_rng_seed(&s->rng, seed);
    if (emulate)
        snprintf(s->why, sizeof(s->why), "emulated nodes");
    else if (nnodes > 1)
        snprintf(s->why, sizeof(s->why), "NVML serves one node per agent; %u nodes here", nnodes);
    else if (nvml_load(&s->nv, nvml_path, s->why, sizeof(s->why))) {
        /* A real node has the GPUs NVML sees (up to 8), whatever was assumed. */
        unsigned int n = 0;
        s->real = s->nv.count(&n) == 0 && n >= 1;
        if (s->real && n > GPU_MAX_PER_NODE)
            n = GPU_MAX_PER_NODE;
        if (s->real && n != gpus_per_node) {
            free(s->g);
            s->per_node = n;
            s->g = xcalloc(n, sizeof(*s->g));
        }
        for (unsigned int i = 0; s->real && i < n; i++)
            s->real = s->nv.handle(i, &s->g[i].dev) == 0;
        if (!s->real) {
            snprintf(s->why, sizeof(s->why), "NVML sees no usable GPU (%u)", n);
            s->nv.shutdown();
            dlclose(s->nv.lib);
            s->nv.lib = NULL;
        }
    }
    if (s->real)
        s->why[0] = '\0';
    /* per_node, not gpus_per_node: a real node may have fewer GPUs than assumed. */
    for (size_t i = 0; i < (size_t)nnodes * s->per_node; i++)
        s->g[i].limit_w = s->nameplate_w;
    return s;
}

void gpu_close(struct gpu_set *s)
{
    if (s == NULL)
        return;
    if (s->nv.lib != NULL) {
        s->nv.shutdown();
        dlclose(s->nv.lib);
    }
    free(s->g);
    free(s);
}

uint32_t gpu_per_node(const struct gpu_set *s)
{
    return s->per_node;
}

bool gpu_real(const struct gpu_set *s)
{
    return s->real;
}

const char *gpu_why_modelled(const struct gpu_set *s)
{
    return s->why;
}

static struct gpu *gpu_at(const struct gpu_set *s, uint32_t node, uint32_t bit)
{
    return &s->g[(size_t)node * s->per_node + bit];
}

/* Model: what a GPU draws now (before noise). */
static double model_w(const struct gpu_set *s, const struct gpu *g)
{
    double w = g->busy_w > 0 ? g->busy_w : s->idle_w;
    return w > g->limit_w ? g->limit_w : w;
}

static void model_advance(const struct gpu_set *s, struct gpu *g, int64_t now_us)
{
    if (g->last_us != 0 && now_us > g->last_us)
        g->energy_j += model_w(s, g) * (double)(now_us - g->last_us) / 1e6;
    if (now_us > g->last_us)
        g->last_us = now_us;
}

void gpu_model_idle_w(struct gpu_set *s, double idle_w, double nameplate_w)
{
    if (idle_w > 0)
        s->idle_w = idle_w;
    if (nameplate_w > 0)
        s->nameplate_w = nameplate_w;
}

void gpu_model_busy(struct gpu_set *s, uint32_t node, uint8_t mask, double busy_w,
                    int64_t now_us)
{
    if (s->real || node >= s->nnodes)
        return;
    for (uint32_t b = 0; b < s->per_node; b++)
        if (mask & (1u << b)) {
            struct gpu *g = gpu_at(s, node, b);
            model_advance(s, g, now_us); /* energy so far at the old draw */
            g->busy_w = busy_w > 0 ? busy_w : 0;
        }
}

int gpu_read(struct gpu_set *s, uint32_t node, int64_t now_us, struct gpu_sample *out)
{
    if (node >= s->nnodes)
        return -EINVAL;
    for (uint32_t b = 0; b < s->per_node; b++) {
        struct gpu *g = gpu_at(s, node, b);
        struct gpu_sample *o = &out[b];
        if (s->real) {
            unsigned int mw = 0, t = 0, lim = 0;
            unsigned long long mj = 0;
            struct nvml_util u = {0};
            if (s->nv.power(g->dev, &mw) != 0 || s->nv.limit(g->dev, &lim) != 0)
                return -EIO;
            /* Energy, temperature and utilisation are optional on older boards. */
            if (s->nv.energy(g->dev, &mj) != 0)
                mj = 0;
            if (s->nv.temp(g->dev, NVML_TEMPERATURE_GPU, &t) != 0)
                t = 0;
            if (s->nv.util(g->dev, &u) != 0)
                u.gpu = 0;
            *o = (struct gpu_sample){.power_w = mw / 1e3, .energy_j = (double)mj / 1e3,
                                     .temp_c = t, .util = u.gpu / 100.0, .limit_w = lim / 1e3};
            continue;
        }
        model_advance(s, g, now_us);
        /* +-3 % of noise around the modelled draw, never above the limit. */
        double w = model_w(s, g) * (0.97 + 0.06 * nl_rng_unit(&s->rng));
        if (w > g->limit_w)
            w = g->limit_w;
        *o = (struct gpu_sample){.power_w = w, .energy_j = g->energy_j,
                                 .temp_c = 25 + 45 * w / s->nameplate_w,
                                 .util = g->busy_w > 0 ? 0.9 + 0.1 * nl_rng_unit(&s->rng) : 0,
                                 .limit_w = g->limit_w};
    }
    return 0;
}

/* Set one GPU's limit; saves the old one on the first cap. 0, or -EIO. */
static int set_limit(struct gpu_set *s, struct gpu *g, double w)
{
    if (!s->real) {
        if (g->cap_job == 0)
            g->saved_w = g->limit_w;
        g->limit_w = w;
        return 0;
    }
    unsigned int lo = 0, hi = 0, cur = 0;
    if (g->cap_job == 0) {
        if (s->nv.limit(g->dev, &cur) != 0)
            return -EIO;
        g->saved_w = cur / 1e3;
    }
    unsigned int mw = (unsigned int)llround(w * 1e3);
    if (s->nv.constraints(g->dev, &lo, &hi) == 0) {
        mw = mw < lo ? lo : mw;
        mw = mw > hi ? hi : mw;
    }
    return s->nv.set_limit(g->dev, mw) == 0 ? 0 : -EIO;
}

static int restore(struct gpu_set *s, struct gpu *g)
{
    if (!s->real) {
        g->limit_w = g->saved_w;
    } else if (s->nv.set_limit(g->dev, (unsigned int)llround(g->saved_w * 1e3)) != 0) {
        return -EIO;
    }
    g->cap_job = 0;
    return 0;
}

size_t gpu_caps_apply(struct gpu_set *s, const struct gpu_cap *caps, size_t n, size_t *failed)
{
    size_t changed = 0, bad = 0;
    size_t total = (size_t)s->nnodes * s->per_node;
    /* Desired per GPU: the index of its cap entry + 1, 0 = none. */
    uint32_t *want = xcalloc(total, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++)
        if (caps[i].node < s->nnodes)
            for (uint32_t b = 0; b < s->per_node; b++)
                if (caps[i].mask & (1u << b))
                    want[(size_t)caps[i].node * s->per_node + b] = (uint32_t)i + 1;
    for (size_t k = 0; k < total; k++) {
        struct gpu *g = &s->g[k];
        if (want[k] == 0) {
            if (g->cap_job != 0) {
                if (restore(s, g) < 0)
                    bad++;
                else
                    changed++;
            }
            continue;
        }
        const struct gpu_cap *c = &caps[want[k] - 1];
        /* A GPU capped for another job (its job ended, a new one came) starts from its saved limit. */
        if (g->cap_job != 0 && g->cap_job != c->job && restore(s, g) < 0) {
            bad++;
            continue;
        }
        if (g->cap_job == c->job && g->cap_w == c->cap_w)
            continue; /* already so: NVML is not written again */
        if (set_limit(s, g, c->cap_w) < 0) {
            bad++;
            continue;
        }
        g->cap_job = c->job;
        g->cap_w = c->cap_w;
        changed++;
    }
    free(want);
    if (failed != NULL)
        *failed = bad;
    return changed;
}

void gpu_caps_restore_all(struct gpu_set *s)
{
    for (size_t k = 0; k < (size_t)s->nnodes * s->per_node; k++)
        if (s->g[k].cap_job != 0)
            restore(s, &s->g[k]);
}

int64_t gpu_capped_by(const struct gpu_set *s, uint32_t node, uint32_t bit)
{
    if (node >= s->nnodes || bit >= s->per_node)
        return 0;
    return gpu_at(s, node, bit)->cap_job;
}
