/* SPDX-License-Identifier: MIT */
/* cap.c - see cap.h. */
#include "cap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

/* One level: either every site (groups = sites) or the facility (one group). */
struct level {
    uint32_t ngroups;
    bool by_site;
    const double *limit, *base;
};

static uint32_t group_of(const struct level *lv, const struct cap_job *j)
{
    return lv->by_site ? j->site : 0;
}

static double head(const struct cap_job *j, double min_w)
{
    return j->set_w > min_w ? (double)j->gpus * (j->set_w - min_w) : 0;
}

static const struct cap_job *sort_base;

/* Weakest tier first (highest rank), then the largest key. */
static int victim_cmp(const void *a, const void *b)
{
    const struct cap_job *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static const size_t *sort_m;

/* Members of a unit (indexes into sort_m) by victim_cmp's order. */
static int member_cmp(const void *a, const void *b)
{
    size_t x = sort_m[*(const size_t *)a], y = sort_m[*(const size_t *)b];
    return victim_cmp(&x, &y);
}

/* Preempt in group g until its headroom covers its excess *e (*h is the headroom). */
static bool preempt_group(struct cap_job *jobs, size_t n, const struct cap_limits *lim,
                          const struct level *lv, uint32_t g, double *e, double *h,
                          size_t *npre)
{
    size_t *idx = xmalloc((n > 0 ? n : 1) * sizeof(size_t));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!jobs[i].preempt && group_of(lv, &jobs[i]) == g)
            idx[m++] = i;
    sort_base = jobs;
    qsort(idx, m, sizeof(size_t), victim_cmp);
    size_t k = 0;
    while (*e > *h && k < m) {
        struct cap_job *j = &jobs[idx[k++]];
        *e -= (double)j->gpus * (j->set_w - lim->idle_w);
        *h -= head(j, lim->min_w);
        j->preempt = true;
        (*npre)++;
    }
    free(idx);
    return *e <= *h + 1e-6;
}

/*
 * One rack, row or loop over its limit: the same rule among its members
 * m[0..k) (job indexes; mg their GPUs under it). Lowering a job's draw for
 * this unit lowers it in every other unit it spans, never raises one.
 */
static bool solve_unit(struct cap_job *jobs, const struct cap_limits *lim, uint32_t u,
                       size_t *m, const uint32_t *mg, size_t k, double *hr, size_t *npre)
{
    uint32_t R = lim->nranks > 0 ? lim->nranks : 1;
    double e = lim->unit_base_w[u], hsum = 0;
    for (size_t i = 0; i < k; i++) {
        const struct cap_job *j = &jobs[m[i]];
        if (!j->preempt)
            e += (double)mg[i] * (j->set_w - lim->idle_w);
    }
    e -= lim->unit_w[u] - lim->slack_w;
    if (e <= 0)
        return true;
    memset(hr, 0, R * sizeof(double));
    for (size_t i = 0; i < k; i++) {
        const struct cap_job *j = &jobs[m[i]];
        if (!j->preempt && j->set_w > lim->min_w) {
            double h = (double)mg[i] * (j->set_w - lim->min_w);
            hr[j->rank < R ? j->rank : R - 1] += h;
            hsum += h;
        }
    }
    if (e > hsum) {
        /* Weakest tier first, the largest key first; mg follows m through the sort. */
        size_t *idx = xmalloc((k > 0 ? k : 1) * sizeof(size_t));
        for (size_t i = 0; i < k; i++)
            idx[i] = i;
        sort_base = jobs;
        sort_m = m;
        qsort(idx, k, sizeof(size_t), member_cmp);
        for (size_t q = 0; q < k && e > hsum; q++) {
            struct cap_job *j = &jobs[m[idx[q]]];
            if (j->preempt)
                continue;
            double g = (double)mg[idx[q]];
            double h = j->set_w > lim->min_w ? g * (j->set_w - lim->min_w) : 0;
            e -= g * (j->set_w - lim->idle_w);
            hsum -= h;
            hr[j->rank < R ? j->rank : R - 1] -= h;
            j->preempt = true;
            (*npre)++;
        }
        free(idx);
        if (e > hsum + 1e-6)
            return false;
    }
    uint32_t cut = R;
    double frac = 0, left = e;
    for (uint32_t r = R; r-- > 0 && left > 0;) {
        cut = r;
        if (left <= hr[r]) {
            frac = hr[r] > 0 ? left / hr[r] : 0;
            left = 0;
        } else {
            frac = 1;
            left -= hr[r];
        }
    }
    for (size_t i = 0; i < k; i++) {
        struct cap_job *j = &jobs[m[i]];
        uint32_t r = j->rank < R ? j->rank : R - 1;
        if (j->preempt || j->set_w <= lim->min_w)
            continue;
        if (r > cut)
            j->set_w = lim->min_w;
        else if (r == cut)
            j->set_w -= frac * (j->set_w - lim->min_w);
    }
    return true;
}

/*
 * Every rack, row and loop over its limit, in index order. Only the units
 * over their limits at the jobs' current draws get a member list (a
 * counting sort of the parts), so a facility whose units all fit pays one
 * pass over the parts.
 */
static bool solve_units(struct cap_job *jobs, size_t n, const struct cap_limits *lim,
                        size_t *nover, size_t *npre)
{
    uint32_t U = lim->nunits;
    if (U == 0)
        return true;
    double *draw = xmalloc(U * sizeof(double));
    memcpy(draw, lim->unit_base_w, U * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (uint32_t p = 0; p < jobs[i].nparts; p++) {
            const struct cap_part *pt = &lim->parts[jobs[i].part0 + p];
            draw[pt->unit] += (double)pt->gpus * (jobs[i].set_w - lim->idle_w);
        }
    /* slot[u]: 1 + the over unit's number; start[] the member lists' bounds. */
    uint32_t *slot = xcalloc(U, sizeof(uint32_t));
    uint32_t nov = 0;
    for (uint32_t u = 0; u < U; u++)
        if (lim->unit_w[u] > 0 && draw[u] > lim->unit_w[u] - lim->slack_w)
            slot[u] = ++nov;
    free(draw);
    *nover = nov;
    bool ok = true;
    if (nov > 0) {
        size_t *start = xcalloc((size_t)nov + 1, sizeof(size_t));
        for (size_t i = 0; i < n; i++)
            for (uint32_t p = 0; p < jobs[i].nparts; p++) {
                uint32_t sl = slot[lim->parts[jobs[i].part0 + p].unit];
                if (sl > 0)
                    start[sl]++;
            }
        for (uint32_t q = 1; q <= nov; q++)
            start[q] += start[q - 1];
        size_t total = start[nov];
        size_t *m = xmalloc((total > 0 ? total : 1) * sizeof(size_t));
        uint32_t *mg = xmalloc((total > 0 ? total : 1) * sizeof(uint32_t));
        size_t *fill = xmalloc((size_t)nov * sizeof(size_t));
        memcpy(fill, start, (size_t)nov * sizeof(size_t));
        for (size_t i = 0; i < n; i++)
            for (uint32_t p = 0; p < jobs[i].nparts; p++) {
                const struct cap_part *pt = &lim->parts[jobs[i].part0 + p];
                uint32_t sl = slot[pt->unit];
                if (sl > 0) {
                    m[fill[sl - 1]] = i;
                    mg[fill[sl - 1]++] = pt->gpus;
                }
            }
        double *hr = xmalloc((lim->nranks > 0 ? lim->nranks : 1) * sizeof(double));
        for (uint32_t u = 0; u < U; u++) {
            uint32_t sl = slot[u];
            if (sl > 0)
                ok &= solve_unit(jobs, lim, u, m + start[sl - 1], mg + start[sl - 1],
                                 start[sl] - start[sl - 1], hr, npre);
        }
        free(hr);
        free(fill);
        free(mg);
        free(m);
        free(start);
    }
    free(slot);
    return ok;
}

static bool solve_level(struct cap_job *jobs, size_t n, const struct cap_limits *lim,
                        const struct level *lv, size_t *npre)
{
    uint32_t G = lv->ngroups, R = lim->nranks > 0 ? lim->nranks : 1;
    double *e = xcalloc(G, sizeof(double));
    double *hsum = xcalloc(G, sizeof(double));
    double *h = xcalloc((size_t)G * R, sizeof(double));
    double *frac = xcalloc(G, sizeof(double));
    uint32_t *cut = xcalloc(G, sizeof(uint32_t));
    bool ok = true, any = false;
    for (uint32_t g = 0; g < G; g++)
        e[g] = lv->base[g];
    for (size_t i = 0; i < n; i++) {
        const struct cap_job *j = &jobs[i];
        if (!j->preempt) {
            uint32_t g = group_of(lv, j);
            e[g] += (double)j->gpus * (j->set_w - lim->idle_w);
            hsum[g] += head(j, lim->min_w);
        }
    }
    for (uint32_t g = 0; g < G; g++) {
        e[g] = lv->limit[g] > 0 ? e[g] - (lv->limit[g] - lim->slack_w) : 0;
        cut[g] = R; /* no tier touched */
        if (e[g] <= 0)
            continue;
        any = true;
        if (e[g] > hsum[g] && !preempt_group(jobs, n, lim, lv, g, &e[g], &hsum[g], npre))
            ok = false;
    }
    if (!any)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct cap_job *j = &jobs[i];
        if (!j->preempt) {
            uint32_t r = j->rank < R ? j->rank : R - 1;
            h[(size_t)group_of(lv, j) * R + r] += head(j, lim->min_w);
        }
    }
    /* Weakest tier first: whole tiers to the floor, then a common fraction of one. */
    for (uint32_t g = 0; g < G; g++) {
        double left = e[g];
        for (uint32_t r = R; r-- > 0 && left > 0;) {
            double hr = h[(size_t)g * R + r];
            cut[g] = r;
            if (left <= hr) {
                frac[g] = hr > 0 ? left / hr : 0;
                left = 0;
            } else {
                frac[g] = 1;
                left -= hr;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct cap_job *j = &jobs[i];
        if (j->preempt || j->set_w <= lim->min_w)
            continue;
        uint32_t g = group_of(lv, j), r = j->rank < R ? j->rank : R - 1;
        if (r > cut[g])
            j->set_w = lim->min_w;
        else if (r == cut[g])
            j->set_w -= frac[g] * (j->set_w - lim->min_w);
    }
out:
    free(e);
    free(hsum);
    free(h);
    free(frac);
    free(cut);
    return ok;
}

void cap_solve(struct cap_job *jobs, size_t n, const struct cap_limits *lim,
               struct cap_result *res)
{
    memset(res, 0, sizeof(*res));
    for (size_t i = 0; i < n; i++) {
        jobs[i].set_w = jobs[i].want_w;
        jobs[i].preempt = false;
    }
    size_t npre = 0;
    struct level sites = {.ngroups = lim->nsites > 0 ? lim->nsites : 1, .by_site = true,
                          .limit = lim->site_w, .base = lim->site_base_w};
    struct level fac = {.ngroups = 1, .by_site = false, .limit = &lim->facility_w,
                        .base = &lim->base_w};
    bool ok = solve_units(jobs, n, lim, &res->units_over, &npre);
    if (lim->nsites > 0)
        ok &= solve_level(jobs, n, lim, &sites, &npre);
    ok &= solve_level(jobs, n, lim, &fac, &npre);
    res->ok = ok;
    res->preempted = npre;
    res->it_w = lim->base_w;
    for (uint32_t s = 0; s < lim->nsites; s++)
        res->site_it_w[s] = lim->site_base_w[s];
    for (size_t i = 0; i < n; i++) {
        const struct cap_job *j = &jobs[i];
        double w = j->preempt ? lim->idle_w : j->set_w;
        double add = (double)j->gpus * (w - lim->idle_w);
        res->it_w += add;
        if (j->site < NL_SITES_MAX)
            res->site_it_w[j->site] += add;
        res->capped += !j->preempt && j->set_w < j->want_w;
    }
}

double cap_speed(double cap_w, double want_w)
{
    if (cap_w <= 0 || want_w <= 0 || cap_w >= want_w)
        return 1.0;
    double c = cap_w / want_w, st = 0.4;
    return c <= st ? 0.05 : fmax(0.05, cbrt((c - st) / (1 - st)));
}
