/* SPDX-License-Identifier: MIT */
/*
 * sched_las.c - least-attained-service, as Tiresias does it for deep
 * learning clusters without run-time knowledge (Gu et al., NSDI 2019:
 * discretized two-dimensional LAS). A job's attained service is its GPUs x
 * the time it has run; jobs that attained less come first, so short jobs
 * finish before long ones without anyone knowing which is which. The
 * service is discretized into a few queues (thresholds las_gpuh x 10^k GPU-
 * hours) so that jobs of one queue keep their order and are not preempted
 * by each other at every small difference.
 *
 * Within nordlys's guarantees: a blocked job may preempt only running jobs
 * marked preemptible (they checkpoint in their grace and requeue) of its
 * own or a weaker tier that sit in a later queue than its own, never a gang
 * many times larger than what it misses (reclaim_ratio), and only when
 * placement shows it then fits. A requeued job ranks w_las lower per queue
 * level; that penalty is bounded, so the age term brings the job back ahead
 * of newer work after w_las / w_age x age_ref of waiting (Tiresias's
 * starvation guard, promoting jobs that waited long, in the static key that
 * the pending order keeps).
 */
#include <stdlib.h>

#include "common/xalloc.h"
#include "nordlys/tenant.h"
#include "sched_int.h"

#define SEC 1000000.0
/* Pending jobs a sweep of a full facility looks at (sched_las_sweep). */
#define LAS_SWEEP_MAX 4

struct las_cand {
    double attained; /* GPU-hours */
    uint32_t slot;
};

/* Queue of a job that attained gpuh GPU-hours: 0 below las_gpuh, then one per decade. */
static uint32_t las_queue(const struct nl_sched *s, double gpuh)
{
    uint32_t q = 0;
    for (double t = s->cfg.las_gpuh; q + 1 < s->cfg.las_queues && gpuh >= t; t *= 10)
        q++;
    return q;
}

/*
 * GPU-hours j attained: the GPUs it asks for x the time it ran over all its
 * starts (run_us), and the current run's (whole nodes of a sensitive job are
 * not counted: the attained service is the work's, not its placement's).
 */
static double attained_now(const struct job *j, int64_t now_us)
{
    int64_t run = j->run_us;
    if (j->state == NL_JOB_RUNNING && now_us > j->start_us)
        run += now_us - j->start_us;
    return (double)run / SEC * (double)j->spec.gpus / 3600.0;
}

double sched_las_penalty(const struct nl_sched *s, const struct job *j)
{
    return s->cfg.w_las * (double)las_queue(s, attained_now(j, 0));
}

static uint32_t tier_rank(const struct nl_sched *s, uint32_t tenant)
{
    return nl_tenants_tier(s->tenants, nl_tenants_get(s->tenants, tenant)->tier)->rank;
}

/* Most attained service first; then the later start (less work lost), then the slot. */
static int cand_cmp(const void *a, const void *b)
{
    const struct las_cand *x = a, *y = b;
    if (x->attained != y->attained)
        return x->attained < y->attained ? 1 : -1;
    return (x->slot > y->slot) - (x->slot < y->slot);
}

bool sched_las_preempt(struct nl_sched *s, struct job *j, int64_t now_us)
{
    if (s->las_fail_pass != s->pass_id) {
        s->las_fail_pass = s->pass_id;
        for (uint32_t i = 0; i < NL_SITES_MAX; i++)
            s->las_fail[i] = UINT64_MAX;
    }
    uint32_t jq = las_queue(s, attained_now(j, now_us));
    if (jq + 1 >= s->cfg.las_queues)
        return false; /* in the last queue: nobody is behind it */
    uint32_t jrank = tier_rank(s, j->spec.tenant);
    for (uint32_t site = 0; site < s->nsites; site++) {
        if (!(j->site_mask & (1u << site)))
            continue;
        uint64_t need = place_gpus_held(s->pl, site, &j->spec);
        uint64_t free = place_site_free(s->pl, site);
        if (free >= need || need >= s->las_fail[site])
            continue; /* it waits for shape or power here; or larger needs failed this pass */
        uint64_t back = free + s->reclaim_inflight[site];
        uint64_t have = back > s->owed[site] ? back - s->owed[site] : 0;
        if (have >= need) {
            sched_promise(s, j, site, need);
            return true;
        }
        /* Candidates: preemptible, own or weaker tier, a later queue, not a much larger gang. */
        size_t nc = 0;
        const struct tree *tr = &s->running[site];
        for (int32_t h = tree_first(tr); h != TREE_NIL; h = tree_next(tr, h)) {
            uint32_t slot = tree_get(tr, h)->value;
            const struct job *v = &s->jobs[slot];
            if (v->state != NL_JOB_RUNNING || !v->spec.preemptible ||
                tier_rank(s, v->spec.tenant) < jrank ||
                now_us - v->start_us < s->cfg.las_min_run_us)
                continue;
            if (s->cfg.reclaim_ratio > 0 &&
                (double)v->held > s->cfg.reclaim_ratio * (double)(need - have))
                continue;
            double a = attained_now(v, now_us);
            if (las_queue(s, a) <= jq)
                continue;
            if (nc == s->las_cap) {
                s->las_cap = xgrow(s->las_cap, nc + 1);
                s->las_buf = xreallocarray(s->las_buf, s->las_cap, sizeof(*s->las_buf));
            }
            s->las_buf[nc++] = (struct las_cand){a, slot};
        }
        if (nc == 0) {
            s->las_fail[site] = need;
            continue;
        }
        qsort(s->las_buf, nc, sizeof(*s->las_buf), cand_cmp);
        s->nvictims = 0;
        for (size_t i = 0; i < nc && have < need; i++) {
            have += s->jobs[s->las_buf[i].slot].held;
            sched_victims_push(s, s->las_buf[i].slot);
        }
        if (have < need || !sched_placeable_without(s, j, site, now_us)) {
            s->las_fail[site] = need;
            continue;
        }
        for (size_t i = 0; i < s->nvictims; i++)
            sched_preempt(s, &s->jobs[s->victims[i]], now_us);
        sched_promise(s, j, site, need);
        return true;
    }
    return false;
}

/*
 * A pass stops looking at pending jobs when no GPU is free, so in a full
 * facility no new job would ever be blocked in the walk and preempt. After
 * such a pass, the first pending jobs in priority order that the pass did
 * not look at (a few: each may walk the running jobs of a site) are
 * treated as blocked for GPUs, as Tiresias lets a job of a higher queue
 * take a lower one's GPUs whenever it arrives.
 */
void sched_las_sweep(struct nl_sched *s, int64_t now_us)
{
    if (s->cfg.las_gpuh <= 0 || !s->cfg.preempt)
        return;
    uint32_t slot, looked = 0;
    double key;
    order_begin(&s->ord, s->offset);
    while (looked < LAS_SWEEP_MAX && order_next(&s->ord, &slot, &key)) {
        struct job *j = &s->jobs[slot];
        if (j->pass_seen == s->pass_id)
            continue;
        looked++;
        if (j->owed > 0)
            continue; /* already waiting for GPUs promised to it */
        if (!sched_las_preempt(s, j, now_us))
            break; /* the jobs behind it rank lower: they would take the same victims */
        j->pass_seen = s->pass_id;
        j->reason = NL_REASON_RECLAIM;
    }
    order_end(&s->ord);
}
