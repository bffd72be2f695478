/* SPDX-License-Identifier: MIT */
/* apower.c - see apower.h. */
#include "apower.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "nordlys/err.h"
#include "common/xalloc.h"
#include "gpu.h"

/* Nodes read per sync; every node is read within nnodes / this many syncs. */
#define APOWER_NODES_PER_SYNC 256
/* GPUs per node when NVML does not tell: the NVL72 tray (4); the controller ignores extras. */
#define APOWER_GPUS_DEFAULT 4

/* A rank the model counts as busy: its GPUs of one node. */
struct busy {
    int64_t job;
    uint32_t run, node;
    uint8_t mask;
};

struct apower {
    struct gpu_set *gpus;
    struct busy *busy;
    size_t nbusy, busy_cap;
    size_t nnodes;
    size_t cursor; /* the next node to read */
    size_t failed_logged;
    bool peer_knows; /* the controller sent "caps": it reads "power" in syncs too */
    bool peer_temp;  /* the controller sent "power_temp": it reads power[].t too (issue 14) */
};

struct apower *apower_new(size_t nnodes, bool emulate, uint64_t seed)
{
    struct apower *p = xcalloc(1, sizeof(*p));
    p->nnodes = nnodes;
    struct nl_err err;
    p->gpus = gpu_open((uint32_t)nnodes, APOWER_GPUS_DEFAULT, emulate, NULL, seed, &err);
    if (p->gpus == NULL) {
        log_warn("gpus: %s: no power telemetry", err.msg);
        return p;
    }
    if (gpu_real(p->gpus))
        log_info("gpus: %u read through NVML", gpu_per_node(p->gpus));
    else
        log_info("gpus: modelled (%s)", gpu_why_modelled(p->gpus));
    return p;
}

void apower_free(struct apower *p)
{
    if (p == NULL)
        return;
    if (p->gpus != NULL) {
        gpu_caps_restore_all(p->gpus);
        gpu_close(p->gpus);
    }
    free(p->busy);
    free(p);
}

void apower_work(struct apower *p, const struct proto_work *w, apower_index_fn idx,
                 const void *ctx, int64_t now_us)
{
    if (p->gpus == NULL)
        return;
    /* Caps first: a GPU freed by an ended job gets its limit back before a new job starts on it. */
    if (w->power_temp)
        p->peer_temp = true;
    if (w->has_caps) {
        p->peer_knows = true;
        struct gpu_cap *caps = xcalloc(w->ncaps ? w->ncaps : 1, sizeof(*caps));
        size_t n = 0;
        for (size_t i = 0; i < w->ncaps; i++) {
            uint32_t node = idx(ctx, w->caps[i].node);
            if (node >= p->nnodes)
                continue;
            caps[n++] = (struct gpu_cap){.node = node, .mask = w->caps[i].gpus,
                                         .job = w->caps[i].job, .cap_w = w->caps[i].cap_w};
        }
        size_t failed = 0, changed = gpu_caps_apply(p->gpus, caps, n, &failed);
        if (changed > 0)
            log_info("power caps: %zu GPUs changed, %zu caps in force", changed, n);
        if (failed > 0 && p->failed_logged++ < 5)
            log_warn("power caps: %zu GPUs refused their limit", failed);
        free(caps);
    }
    for (size_t i = 0; i < w->nlaunch; i++) {
        const struct proto_launch *l = &w->launch[i];
        uint32_t node = idx(ctx, l->node);
        if (node >= p->nnodes || l->gpus == 0)
            continue;
        if (p->nbusy == p->busy_cap) {
            p->busy_cap = xgrow(p->busy_cap, p->nbusy + 1);
            p->busy = xreallocarray(p->busy, p->busy_cap, sizeof(*p->busy));
        }
        p->busy[p->nbusy++] = (struct busy){.job = l->job, .run = l->run, .node = node,
                                            .mask = l->gpus};
        /* No expected draw sent (an older controller): the GPU's nameplate. */
        gpu_model_busy(p->gpus, node, l->gpus, l->power_w > 0 ? l->power_w : 1800, now_us);
    }
}

void apower_exits(struct apower *p, const struct proto_exit *e, size_t n, apower_index_fn idx,
                  const void *ctx, int64_t now_us)
{
    if (p->gpus == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        uint32_t node = idx(ctx, e[i].node);
        if (node >= p->nnodes)
            continue;
        for (size_t k = 0; k < p->nbusy; k++) {
            struct busy *b = &p->busy[k];
            if (b->job != e[i].job || b->run != e[i].run || b->node != node)
                continue;
            gpu_model_busy(p->gpus, node, b->mask, 0, now_us);
            *b = p->busy[--p->nbusy];
            break;
        }
    }
}

void apower_encode(struct apower *p, struct proto_buf *b, char *const *names, size_t nnodes,
                   int64_t now_us, size_t max_bytes)
{
    /* A controller from before issue 11 refuses unknown fields: readings only once it sent caps. */
    if (p->gpus == NULL || nnodes == 0 || !p->peer_knows)
        return;
    size_t n = nnodes < APOWER_NODES_PER_SYNC ? nnodes : APOWER_NODES_PER_SYNC;
    struct proto_power *pw = xcalloc(n, sizeof(*pw));
    uint32_t G = gpu_per_node(p->gpus);
    size_t got = 0;
    for (size_t k = 0; k < n; k++) {
        size_t node = (p->cursor + k) % nnodes;
        struct gpu_sample s[8];
        if (gpu_read(p->gpus, (uint32_t)node, now_us, s) < 0)
            continue;
        struct proto_power *o = &pw[got++];
        o->node = names[node];
        o->ngpus = G;
        for (uint32_t g = 0; g < G; g++) {
            o->w[g] = s[g].power_w;
            o->j[g] = s[g].energy_j;
            o->limit[g] = s[g].limit_w;
            o->temp[g] = s[g].temp_c;
        }
        o->has_temp = p->peer_temp;
    }
    size_t sent = proto_encode_power(b, pw, got, max_bytes);
    p->cursor = (p->cursor + (sent == got ? n : sent)) % nnodes;
    free(pw);
}
