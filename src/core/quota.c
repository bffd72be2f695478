/* SPDX-License-Identifier: MIT */
/* quota.c - see quota.h. */
#include "quota.h"

#include <math.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "nordlys/tenant.h"

void quota_init(struct quota *q, const struct nl_tenants *tenants, int64_t halflife_us,
                double pue_busy_w)
{
    q->n = nl_tenants_count(tenants);
    q->t = xcalloc(q->n ? q->n : 1, sizeof(*q->t));
    q->weight_total = 0;
    for (size_t i = 0; i < q->n; i++) {
        const struct nl_tenant_spec *sp = nl_tenants_get(tenants, (uint32_t)i);
        q->t[i].quota = sp->quota_gpus;
        q->t[i].limit = sp->quota_gpus + sp->borrow_gpus;
        q->t[i].tier = sp->tier;
        q->t[i].weight = sp->weight;
        q->weight_total += sp->weight;
    }
    q->halflife_us = halflife_us;
    q->last_us = 0;
    q->pue_busy_w = pue_busy_w;
}

void quota_release(struct quota *q)
{
    free(q->t);
    q->t = NULL;
    q->n = 0;
}

void quota_advance(struct quota *q, int64_t now_us)
{
    if (now_us <= q->last_us)
        return;
    double dt_s = (double)(now_us - q->last_us) / 1e6;
    double decay = exp2(-(double)(now_us - q->last_us) / (double)q->halflife_us);
    for (size_t i = 0; i < q->n; i++) {
        struct quota_tenant *t = &q->t[i];
        double held = (double)t->alloc * dt_s;
        t->usage = t->usage * decay + held;
        t->gpu_s += held;
        t->energy_wh += held * q->pue_busy_w / 3600.0;
    }
    q->last_us = now_us;
}

bool quota_fits(const struct quota *q, uint32_t tenant, uint64_t gpus)
{
    return q->t[tenant].alloc + gpus <= q->t[tenant].limit;
}

bool quota_guaranteed(const struct quota *q, uint32_t tenant, uint64_t gpus)
{
    return q->t[tenant].alloc + gpus <= q->t[tenant].quota;
}

uint64_t quota_over(const struct quota *q, uint32_t tenant)
{
    const struct quota_tenant *t = &q->t[tenant];
    return t->alloc > t->quota ? t->alloc - t->quota : 0;
}

double quota_fair(const struct quota *q, uint32_t tenant)
{
    double total = 0;
    for (size_t i = 0; i < q->n; i++)
        total += q->t[i].usage;
    if (total <= 0 || q->weight_total <= 0)
        return 1.0;
    double usage_share = q->t[tenant].usage / total;
    double weight_share = q->t[tenant].weight / q->weight_total;
    return exp2(-usage_share / weight_share);
}
