/* SPDX-License-Identifier: MIT */
/*
 * sched_check.c - every scheduler invariant, checked from scratch.
 *
 * Used by tests after every event and by the simulator at sample points;
 * the incremental checks in sched.c cover each event as it happens.
 */
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "sched_int.h"

static void check_job(const struct nl_sched *s, const struct job *j, uint8_t *seen,
                      uint64_t *tenant_alloc, uint64_t *site_busy, struct nl_sched_violations *v)
{
    uint32_t held = 0;
    for (uint32_t i = 0; i < j->nalloc; i++) {
        const struct nl_alloc_node *a = &j->alloc[i];
        if (nl_facility_node_site(s->fac, a->node) != j->site)
            v->gang++;
        for (uint32_t b = 0; b < NL_GPUS_PER_NODE_MAX; b++) {
            if (!(a->mask & (1u << b)))
                continue;
            uint64_t g = sched_gpu_index(s, a->node, b);
            if (seen[g]++ || s->gpu_owner[g] != (uint32_t)(j - s->jobs) + 1)
                v->double_alloc++;
            held++;
        }
        if ((place_node_alloc(s->pl, a->node) & a->mask) != a->mask)
            v->double_alloc++;
    }
    if (held != j->held || held != place_gpus_held(s->pl, j->site, &j->spec))
        v->gang++;
    /* A shaped job holds exactly its nodes x gpus_per_node, no node twice. */
    if (!place_shape_ok(s->pl, &j->spec, j->alloc, j->nalloc))
        v->gang++;
    const struct nl_site_info *si = &s->site[j->site];
    const struct nl_tenant_spec *t = nl_tenants_get(s->tenants, j->spec.tenant);
    if (!nl_residency_allows(&j->spec.residency, si->jurisdiction, si->eea) || t == NULL ||
        !nl_tenant_allows(t, si->jurisdiction, si->eea))
        v->residency++;
    /* Each clash is seen from both jobs' sides: counted twice, which is still nonzero. */
    v->isolation += sched_isolation_clashes(s, j, j->alloc, j->nalloc);
    tenant_alloc[j->spec.tenant] += held;
    site_busy[j->site] += held;
}

uint64_t sched_isolation_clashes(const struct nl_sched *s, const struct job *j,
                                 const struct nl_alloc_node *a, size_t n)
{
    uint32_t self = (uint32_t)(j - s->jobs) + 1;
    uint64_t clashes = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t G = nl_facility_node_gpus(s->fac, a[i].node);
        for (uint32_t b = 0; b < G; b++) {
            uint32_t owner = s->gpu_owner[sched_gpu_index(s, a[i].node, b)];
            if (owner == 0 || owner == self || owner > s->jobs_used)
                continue;
            const struct job *o = &s->jobs[owner - 1];
            if (o->spec.tenant != j->spec.tenant && (o->spec.sensitive || j->spec.sensitive))
                clashes++;
        }
    }
    return clashes;
}

/*
 * Power from scratch: every site's IT draw is its idle draw plus each job's
 * GPUs x (its counted draw - idle), exactly (integer milliwatts); every
 * level (facility, sites, rows, racks, loops) is within its limit; the
 * capped-job count matches; a cap never exceeds what the job wants nor
 * falls below the GPU's floor. Counts what is wrong.
 */
static uint64_t check_power(const struct nl_sched *s)
{
    uint64_t bad = 0, capped = 0;
    int64_t site_mw[NL_SITES_MAX] = {0};
    int64_t it = 0;
    for (uint32_t i = 0; i < s->nsites; i++)
        site_mw[i] = (int64_t)s->site[i].ngpus * s->pw.idle_mw;
    for (size_t i = 0; i < s->jobs_used; i++) {
        const struct job *j = &s->jobs[i];
        if (j->id == 0 || (j->state != NL_JOB_RUNNING && j->state != NL_JOB_PREEMPTING))
            continue;
        site_mw[j->site] += (int64_t)j->held * (j->draw_mw - s->pw.idle_mw);
        if (j->cap_w > 0) {
            capped++;
            if (j->cap_w > j->want_w + 1e-6 || j->cap_w < s->pw.cap_min_w - 1e-6)
                bad++;
        }
    }
    for (uint32_t i = 0; i < s->nsites; i++) {
        bad += site_mw[i] != s->pw.site_mw[i];
        it += site_mw[i];
    }
    bad += it != s->pw.it_mw;
    bad += capped != s->ncapped;
    bad += !power_within(&s->pw);
    return bad;
}

bool nl_sched_check(const struct nl_sched *s, struct nl_sched_violations *v)
{
    struct nl_sched_violations found = {0};
    uint8_t *seen = xcalloc(s->gpus_total, 1);
    uint64_t *tenant_alloc = xcalloc(s->q.n, sizeof(uint64_t));
    uint64_t site_busy[NL_SITES_MAX] = {0};
    uint64_t owed[NL_SITES_MAX] = {0};
    for (size_t i = 0; i < s->jobs_used; i++) {
        const struct job *j = &s->jobs[i];
        if (j->id != 0 && (j->state == NL_JOB_RUNNING || j->state == NL_JOB_PREEMPTING))
            check_job(s, j, seen, tenant_alloc, site_busy, &found);
        /* Only pending jobs hold promises of reclaimed GPUs (counted as quota accounting). */
        if (j->id != 0 && j->owed > 0) {
            if (j->state != NL_JOB_PENDING || j->owed_site >= s->nsites)
                found.quota++;
            else
                owed[j->owed_site] += j->owed;
        }
    }
    for (uint32_t i = 0; i < s->nsites; i++)
        if (owed[i] != s->owed[i])
            found.quota++;
    /* Every owned GPU belongs to a running job's allocation, and nothing else is allocated. */
    for (uint64_t g = 0; g < s->gpus_total; g++)
        if ((s->gpu_owner[g] != 0) != (seen[g] != 0))
            found.double_alloc++;
    for (uint32_t n = 0; n < nl_facility_nodes(s->fac); n++) {
        uint32_t G = nl_facility_node_gpus(s->fac, n);
        for (uint32_t b = 0; b < G; b++)
            if (((place_node_alloc(s->pl, n) >> b) & 1) != (seen[sched_gpu_index(s, n, b)] != 0))
                found.double_alloc++;
    }
    if (!place_check(s->pl))
        found.double_alloc++;
    for (size_t t = 0; t < s->q.n; t++) {
        if (tenant_alloc[t] != s->q.t[t].alloc)
            found.quota++;
        if (s->cfg.quotas && tenant_alloc[t] > s->q.t[t].limit)
            found.quota++;
    }
    for (uint32_t i = 0; i < s->nsites; i++)
        if (site_busy[i] != s->pw.site_busy[i])
            found.power++;
    found.power += check_power(s);
    free(seen);
    free(tenant_alloc);
    v->residency += found.residency;
    v->power += found.power;
    v->quota += found.quota;
    v->double_alloc += found.double_alloc;
    v->gang += found.gang;
    v->isolation += found.isolation;
    return memcmp(&found, &(struct nl_sched_violations){0}, sizeof(found)) == 0;
}
