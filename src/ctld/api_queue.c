/* SPDX-License-Identifier: MIT */
/*
 * api_queue.c - GET /v1/queue: the queue by tier now (issue 14): how many
 * jobs the scheduler has waiting in each tier and how long they have
 * waited since submission (median, 90th percentile, longest), for the
 * dashboard's facility view. Held jobs and jobs waiting on a dependency
 * are not in the scheduler's queue and not counted (GET /v1/jobs lists
 * them). The controller keeps no history of these numbers: a client that
 * wants one polls (the dashboard does). Aggregates by tier only, so any
 * valid token may read it, like GET /v1/facility.
 */
#include <stdlib.h>

#include "api.h"
#include "common/xalloc.h"
#include "ctld/ctld.h"
#include "ctld/job_json.h"
#include "nordlys/job.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank p-quantile of the n sorted values v, in seconds. */
static double quantile_s(const int64_t *v, size_t n, double p)
{
    size_t k = (size_t)(p * (double)n + 0.999999);
    return (double)v[k > 0 ? k - 1 : 0] / 1e6;
}

void api_queue(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    size_t ntiers = nl_tenants_tier_count(c->tenants);
    const uint64_t *ids;
    size_t njobs = nl_sched_jobs(c->sched, &ids);
    /* Waits of pending jobs, grouped by tier: one array, filled tier after tier. */
    size_t *count = xcalloc(ntiers + 1, sizeof(size_t));
    uint32_t *tier_of = xcalloc(njobs ? njobs : 1, sizeof(uint32_t));
    int64_t *wait = xcalloc(njobs ? njobs : 1, sizeof(int64_t));
    for (size_t i = 0; i < njobs; i++) {
        struct nl_job_info info;
        const struct nl_tenant_spec *t;
        tier_of[i] = (uint32_t)ntiers; /* not pending */
        if (nl_sched_job_info(c->sched, ids[i], &info) < 0 || info.state != NL_JOB_PENDING ||
            (t = nl_tenants_get(c->tenants, info.spec.tenant)) == NULL || t->tier >= ntiers)
            continue;
        tier_of[i] = t->tier;
        wait[i] = c->clock.us > info.submit_us ? c->clock.us - info.submit_us : 0;
        count[t->tier]++;
    }
    size_t *at = xcalloc(ntiers + 1, sizeof(size_t));
    for (size_t t = 1; t <= ntiers; t++)
        at[t] = at[t - 1] + count[t - 1];
    int64_t *sorted = xcalloc(njobs ? njobs : 1, sizeof(int64_t));
    size_t *fill = xcalloc(ntiers + 1, sizeof(size_t));
    for (size_t i = 0; i < njobs; i++)
        if (tier_of[i] < ntiers)
            sorted[at[tier_of[i]] + fill[tier_of[i]]++] = wait[i];
    json_t *tiers = json_array();
    for (size_t t = 0; t < ntiers; t++) {
        int64_t *v = sorted + at[t];
        size_t n = count[t];
        json_t *o = json_pack("{s:s, s:I}", "tier", nl_tenants_tier(c->tenants, (uint32_t)t)->name,
                              "pending", (json_int_t)n);
        if (n > 0) {
            qsort(v, n, sizeof(*v), cmp_i64);
            json_object_set_new(o, "wait_p50_s", json_real(quantile_s(v, n, 0.5)));
            json_object_set_new(o, "wait_p90_s", json_real(quantile_s(v, n, 0.9)));
            json_object_set_new(o, "wait_max_s", json_real((double)v[n - 1] / 1e6));
        } else {
            json_object_set_new(o, "wait_p50_s", json_null());
            json_object_set_new(o, "wait_p90_s", json_null());
            json_object_set_new(o, "wait_max_s", json_null());
        }
        json_array_append_new(tiers, o);
    }
    free(count);
    free(tier_of);
    free(wait);
    free(at);
    free(sorted);
    free(fill);
    api_reply(c, req, 200,
              json_pack("{s:o, s:o}", "time", job_json_time(c->clock.us), "tiers", tiers));
}
