/* SPDX-License-Identifier: MIT */
/*
 * predict.h - run times learned from each tenant's history (internal).
 *
 * Users ask for time limits several times what their jobs use (Tsafrir,
 * Etsion and Feitelson, "Backfilling using system-generated predictions
 * rather than user runtime estimates", IEEE TPDS 2007), and a scheduler that
 * plans with those limits sees free windows too late. A tenant's jobs tend
 * to use a similar share of what they ask for, so each tenant keeps the
 * ratio run time / time limit of its last n finished jobs, and a job is
 * planned to run for its limit times the q-quantile of those ratios (q = 1:
 * the largest). Without history the plan is the limit. A plan never
 * exceeds the limit, and it is only a plan: limits are enforced as before.
 */
#ifndef NL_CORE_PREDICT_H
#define NL_CORE_PREDICT_H

#include <stddef.h>
#include <stdint.h>

/* Most finished jobs a tenant's history keeps (cfg.predict's bound). */
#define PREDICT_HISTORY_MAX 64

struct predict_tenant {
    double ratio[PREDICT_HISTORY_MAX]; /* a ring of run / limit, in (0, 1] */
    uint32_t n, next;                  /* entries held; where the next goes */
    double plan;                       /* the q-quantile of ratio[0..n), 1 while n == 0 */
};

struct predict {
    struct predict_tenant *t; /* NULL when off */
    size_t ntenants;
    uint32_t keep; /* history length; 0: off */
    double q;
};

/* keep = 0 turns prediction off (no memory); q in (0, 1]. */
void predict_init(struct predict *p, size_t ntenants, uint32_t keep, double q);
void predict_release(struct predict *p);
/* A job of tenant ran run_us of its limit_us and finished (or timed out). */
void predict_record(struct predict *p, uint32_t tenant, int64_t run_us, int64_t limit_us);
/* Planned run time of a job of tenant with limit_us: in [1 s, limit_us] (limit_us when off). */
int64_t predict_len(const struct predict *p, uint32_t tenant, int64_t limit_us);
size_t predict_memory_bytes(const struct predict *p);

#endif
