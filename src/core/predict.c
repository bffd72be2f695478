/* SPDX-License-Identifier: MIT */
/* predict.c - per-tenant run-time / limit history; see predict.h. */
#include "predict.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

void predict_init(struct predict *p, size_t ntenants, uint32_t keep, double q)
{
    memset(p, 0, sizeof(*p));
    if (keep == 0 || ntenants == 0)
        return;
    p->keep = keep > PREDICT_HISTORY_MAX ? PREDICT_HISTORY_MAX : keep;
    p->q = q > 0 && q <= 1 ? q : 1;
    p->ntenants = ntenants;
    p->t = xcalloc(ntenants, sizeof(*p->t));
    for (size_t i = 0; i < ntenants; i++)
        p->t[i].plan = 1;
}

void predict_release(struct predict *p)
{
    free(p->t);
    p->t = NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void predict_record(struct predict *p, uint32_t tenant, int64_t run_us, int64_t limit_us)
{
    if (p->t == NULL || tenant >= p->ntenants || limit_us <= 0 || run_us <= 0)
        return;
    struct predict_tenant *t = &p->t[tenant];
    double r = (double)run_us / (double)limit_us;
    t->ratio[t->next] = r > 1 ? 1 : r;
    t->next = (t->next + 1) % p->keep;
    if (t->n < p->keep)
        t->n++;
    /* A copy sorted: at most 64 values, once per finished job. */
    double sorted[PREDICT_HISTORY_MAX];
    memcpy(sorted, t->ratio, t->n * sizeof(double));
    qsort(sorted, t->n, sizeof(double), cmp_double);
    /* The smallest ratio with at least q of the history at or below it. */
    uint32_t k = (uint32_t)(p->q * (double)t->n + 0.999999);
    k = k == 0 ? 1 : k > t->n ? t->n : k;
    t->plan = sorted[k - 1];
}

int64_t predict_len(const struct predict *p, uint32_t tenant, int64_t limit_us)
{
    if (p->t == NULL || tenant >= p->ntenants)
        return limit_us;
    int64_t len = (int64_t)((double)limit_us * p->t[tenant].plan);
    int64_t floor = 1000000 < limit_us ? 1000000 : limit_us;
    return len < floor ? floor : len > limit_us ? limit_us : len;
}

size_t predict_memory_bytes(const struct predict *p)
{
    return p->t != NULL ? p->ntenants * sizeof(*p->t) : 0;
}
