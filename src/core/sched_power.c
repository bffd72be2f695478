/* SPDX-License-Identifier: MIT */
/*
 * sched_power.c - the scheduler under power: what a job is expected to
 * draw, its energy, and the response of each pass to a budget or PUE that
 * no longer covers the draw (capping by cap.h's rule, preemption where
 * capping cannot close the gap) or that covers it again (caps lifted).
 *
 * Kept apart from sched.c, which only calls in at a job's start and stop
 * and at the top of a pass.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "nordlys/err.h"
#include "nordlys/tenant.h"
#include "sched_int.h"

/* Weight of a new measurement in a tenant's moving average of per-GPU draw. */
#define TENANT_ALPHA 0.2

static double clamp_w(const struct nl_sched *s, double w)
{
    if (w < s->pw.cap_min_w)
        return s->pw.cap_min_w;
    return w > s->pw.busy_w ? s->pw.busy_w : w;
}

double sched_power_want(const struct nl_sched *s, const struct job *j)
{
    if (j->spec.power_w > 0)
        return clamp_w(s, j->spec.power_w);
    if (s->t_power_w[j->spec.tenant] > 0)
        return clamp_w(s, s->t_power_w[j->spec.tenant]);
    return s->pw.busy_w;
}

/* Energy of j's run from draw_since_us to now at its current draw. */
static double pending_it_wh(const struct nl_sched *s, const struct job *j, int64_t now_us)
{
    if (now_us <= j->draw_since_us)
        return 0;
    (void)s;
    return (double)j->held * (double)j->draw_mw / 1000.0 * (double)(now_us - j->draw_since_us) /
           3.6e9;
}

void sched_power_account(struct nl_sched *s, struct job *j, int64_t now_us)
{
    double it = pending_it_wh(s, j, now_us);
    j->it_energy_wh += it;
    j->energy_wh += it * s->pw.pue;
    s->q.t[j->spec.tenant].energy_wh += it * s->pw.pue;
    if (now_us > j->draw_since_us)
        j->draw_since_us = now_us;
}

double sched_power_unaccounted_wh(const struct nl_sched *s, uint32_t tenant)
{
    double wh = 0;
    for (uint32_t i = s->t_head[tenant]; i != NIL_SLOT; i = s->jobs[i].t_next)
        wh += pending_it_wh(s, &s->jobs[i], s->now_us) * s->pw.pue;
    return wh;
}

double sched_power_tenant_w(const struct nl_sched *s, uint32_t tenant)
{
    double w = 0;
    for (uint32_t i = s->t_head[tenant]; i != NIL_SLOT; i = s->jobs[i].t_next)
        w += (double)s->jobs[i].held * (double)s->jobs[i].draw_mw / 1000.0;
    return w * s->pw.pue;
}

void nl_sched_site_power(const struct nl_sched *s, uint32_t site, double *power_w,
                         double *energy_wh)
{
    *power_w = site < s->nsites ? power_site_w(&s->pw, site) : 0;
    *energy_wh = site < s->nsites ? s->pw.site_energy_wh[site] : 0;
}

/* Change j's counted per-GPU draw, accounting its energy up to now first. */
static void set_draw(struct nl_sched *s, struct job *j, int64_t mw, int64_t now_us)
{
    sched_power_account(s, j, now_us);
    power_job_change(&s->pw, j->site, j->alloc, j->nalloc, j->draw_mw, mw);
    j->draw_mw = mw;
}

void nl_sched_set_pue(struct nl_sched *s, double pue)
{
    if (!(pue >= 1.0 && pue <= 3.0) || pue == s->pw.pue)
        return;
    /* Energy so far was at the old PUE. */
    for (size_t i = 0; i < s->jobs_used; i++) {
        struct job *j = &s->jobs[i];
        if (j->id != 0 && (j->state == NL_JOB_RUNNING || j->state == NL_JOB_PREEMPTING))
            sched_power_account(s, j, s->now_us);
    }
    power_advance(&s->pw, s->now_us);
    s->pw.pue = pue;
}

int nl_sched_job_measured(struct nl_sched *s, uint64_t id, double w_per_gpu, int64_t now_us)
{
    uint64_t slot;
    if (id == 0 || !nl_u64map_get(&s->ids, id, &slot))
        return -ENOENT;
    struct job *j = &s->jobs[slot];
    if (j->state != NL_JOB_RUNNING || !(w_per_gpu >= 0))
        return -EINVAL;
    nl_sched_advance(s, now_us);
    double w = clamp_w(s, w_per_gpu);
    double *t = &s->t_power_w[j->spec.tenant];
    *t = *t > 0 ? *t + TENANT_ALPHA * (w - *t) : w;
    /* Under a cap the reading says what the cap allows, not what the job wants. */
    if (j->cap_w == 0) {
        j->want_w = w;
        set_draw(s, j, power_mw(w), s->now_us);
    }
    return 0;
}

static const char *const level_names[] = {"rack", "row", "loop", "site"};

int nl_power_level_parse(const char *name, enum nl_power_level *lv)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0) {
            *lv = (enum nl_power_level)i;
            return 0;
        }
    return -EINVAL;
}

const char *nl_power_level_name(enum nl_power_level lv)
{
    return (unsigned)lv < 4 ? level_names[lv] : "?";
}

/* power.h's levels are the API's, in the same order. */
static enum power_level level_of(enum nl_power_level lv)
{
    return (enum power_level)lv;
}

uint32_t nl_sched_power_units(const struct nl_sched *s, enum nl_power_level lv)
{
    return (unsigned)lv < 4 ? power_level_units(&s->pw, level_of(lv)) : 0;
}

int nl_sched_set_power_limit(struct nl_sched *s, enum nl_power_level lv, uint32_t idx,
                             double limit_w, struct nl_err *err)
{
    uint32_t n = nl_sched_power_units(s, lv);
    if (idx >= n)
        return nl_err_set(err, -EINVAL, "index: %s %u does not exist (the facility has %u)",
                          nl_power_level_name(lv), idx, n);
    if (!(limit_w == limit_w))
        return nl_err_set(err, -EINVAL, "limit: not a number");
    power_set_limit(&s->pw, level_of(lv), idx, limit_w < 0 ? -1 : limit_w);
    return 0;
}

int nl_sched_power_unit(const struct nl_sched *s, enum nl_power_level lv, uint32_t idx,
                        double *limit_w, double *draw_w)
{
    if (idx >= nl_sched_power_units(s, lv))
        return -ENOENT;
    *limit_w = power_limit(&s->pw, level_of(lv), idx);
    double it = power_unit_w(&s->pw, level_of(lv), idx);
    *draw_w = lv == NL_POWER_SITE ? it * s->pw.pue : it;
    return 0;
}

static uint32_t max_rank(const struct nl_sched *s)
{
    uint32_t m = 0;
    for (size_t i = 0; i < nl_tenants_tier_count(s->tenants); i++) {
        uint32_t r = nl_tenants_tier(s->tenants, (uint32_t)i)->rank;
        m = r > m ? r : m;
    }
    return m;
}

/* Add j's GPUs under unit u to its parts (merged with a part of the same unit). */
static void add_part(struct nl_sched *s, struct cap_job *c, size_t *np, uint32_t u, uint32_t g)
{
    for (uint32_t k = 0; k < c->nparts; k++)
        if (s->capparts[c->part0 + k].unit == u) {
            s->capparts[c->part0 + k].gpus += g;
            return;
        }
    if (*np == s->capparts_cap) {
        s->capparts_cap = xgrow(s->capparts_cap, *np + 1);
        s->capparts = xreallocarray(s->capparts, s->capparts_cap, sizeof(*s->capparts));
    }
    s->capparts[(*np)++] = (struct cap_part){u, g};
    c->nparts++;
}

/*
 * The racks, rows and loops that can bind (power_unit_binds): each one's
 * limit and draw but the running jobs', and every running job's GPUs under
 * them, for cap_solve. Nothing when no unit can bind (every preset).
 */
static void unit_parts(struct nl_sched *s, size_t n, struct cap_limits *lim)
{
    const struct power *pw = &s->pw;
    uint32_t U = pw->nracks + pw->nrows + pw->nloops;
    if (pw->nbind == 0 || U == 0)
        return;
    if (s->unit_buf == NULL)
        s->unit_buf = xcalloc(2 * (size_t)U, sizeof(double));
    double *lw = s->unit_buf, *base = s->unit_buf + U;
    for (uint32_t u = 0; u < U; u++) {
        lw[u] = power_unit_binds(pw, u) ? pw->unit_lim_w[u] : 0;
        base[u] = (double)power_unit_mw(pw, u) / 1000.0;
    }
    size_t np = 0;
    for (size_t k = 0; k < n; k++) {
        struct cap_job *c = &s->capbuf[k];
        const struct job *j = &s->jobs[s->capslot[k]];
        double cur = (double)j->draw_mw / 1000.0 - pw->idle_w;
        c->part0 = (uint32_t)np;
        c->nparts = 0;
        for (uint32_t a = 0; a < j->nalloc; a++) {
            struct nl_node_pos pos;
            nl_facility_node_pos(s->fac, j->alloc[a].node, &pos);
            uint32_t g = place_gpus_in(j->alloc[a].mask);
            uint32_t us[3] = {pos.rack, pw->nracks + pw->rack_row[pos.rack],
                              pw->nracks + pw->nrows + pw->rack_loop[pos.rack]};
            for (int l = 0; l < 3; l++)
                if (lw[us[l]] > 0) {
                    add_part(s, c, &np, us[l], g);
                    base[us[l]] -= (double)g * cur;
                }
        }
    }
    lim->nunits = U;
    lim->unit_w = lw;
    lim->unit_base_w = base;
    lim->parts = s->capparts;
}

void sched_power_respond(struct nl_sched *s, int64_t now_us)
{
    /* Nothing capped and every limit kept: nothing to do (the common case, O(sites + binding units)). */
    if (s->ncapped == 0 && power_within(&s->pw))
        return;
    if (s->capbuf_cap < s->nrunning) {
        s->capbuf_cap = xgrow(s->capbuf_cap, s->nrunning);
        s->capbuf = xreallocarray(s->capbuf, s->capbuf_cap, sizeof(*s->capbuf));
        s->capslot = xreallocarray(s->capslot, s->capbuf_cap, sizeof(*s->capslot));
    }
    /* Without capping no job has headroom: a gap is closed by preemption alone. */
    double floor_w = s->cfg.power_capping ? s->pw.cap_min_w : s->pw.busy_w;
    struct cap_limits lim = {.idle_w = s->pw.idle_w, .min_w = floor_w, .slack_w = 1.0,
                             .nranks = max_rank(s) + 1, .nsites = s->nsites};
    double pue = s->pw.pue;
    lim.facility_w = s->pw.budget_w * (1 - s->pw.margin) / pue;
    lim.base_w = power_it_w(&s->pw);
    for (uint32_t i = 0; i < s->nsites; i++) {
        lim.site_w[i] = s->pw.site_limit_w[i] * (1 - s->pw.margin) / pue;
        lim.site_base_w[i] = (double)s->pw.site_mw[i] / 1000.0;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->jobs_used; i++) {
        struct job *j = &s->jobs[i];
        if (j->id == 0 || j->state != NL_JOB_RUNNING)
            continue;
        double cur = (double)j->held * ((double)j->draw_mw / 1000.0 - s->pw.idle_w);
        lim.base_w -= cur;
        lim.site_base_w[j->site] -= cur;
        const struct nl_tenant_spec *t = nl_tenants_get(s->tenants, j->spec.tenant);
        s->capbuf[n] = (struct cap_job){.site = j->site, .gpus = j->held, .want_w = j->want_w,
                                        .rank = nl_tenants_tier(s->tenants, t->tier)->rank,
                                        .key = (double)j->start_us};
        s->capslot[n++] = (uint32_t)i;
    }
    unit_parts(s, n, &lim);
    struct cap_result res;
    cap_solve(s->capbuf, n, &lim, &res);
    /* Lower draws first, so that no level passes its limit on the way. */
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < n; k++) {
            const struct cap_job *c = &s->capbuf[k];
            struct job *j = &s->jobs[s->capslot[k]];
            int64_t mw = c->preempt ? power_mw(s->pw.idle_w) : power_mw(c->set_w);
            bool lower = mw < j->draw_mw;
            if (round == 0 ? !lower : (lower || c->preempt || j->state != NL_JOB_RUNNING))
                continue; /* round 1 sees round 0's jobs again at their new draw: a no-op */
            double cap = !c->preempt && c->set_w < c->want_w ? c->set_w : 0;
            if (c->preempt) {
                sched_preempt(s, j, now_us);
                j->power_victim = true;
                s->power_preemptions++;
            }
            set_draw(s, j, mw, now_us);
            s->ncapped += (cap > 0) - (j->cap_w > 0);
            bool changed = cap != j->cap_w;
            j->cap_w = cap;
            if (changed && !c->preempt)
                sched_act(s, NL_ACT_CAP, j->id);
        }
    }
    /* The invariant: after the response, every level is within its limit. */
    if (!power_within(&s->pw))
        s->viol.power++;
}

/* --- starting under a binding limit: claims ------------------------------------------------- */

/* Claims tried per pass, and jobs looked at per pass once no power is left: each claim is O(running). */
#define CLAIM_MAX 16
#define CLAIM_SCAN 256
/* Share of a limit a claim by capping leaves free with every busy GPU at the floor: the readings' noise. */
#define CLAIM_FLOOR_RESERVE 0.03

static uint32_t rank_of(const struct nl_sched *s, const struct job *j)
{
    const struct nl_tenant_spec *t = nl_tenants_get(s->tenants, j->spec.tenant);
    return nl_tenants_tier(s->tenants, t->tier)->rank;
}

bool sched_power_dry(struct nl_sched *s)
{
    s->power_dry = true;
    return s->cfg.power_claim && s->cfg.power_capping && s->claims < CLAIM_MAX &&
           s->dry_scanned++ < CLAIM_SCAN;
}

bool sched_power_may_claim(const struct nl_sched *s, const struct job *j, uint64_t held)
{
    if (!s->cfg.power_claim || !s->cfg.power_capping || s->claims >= CLAIM_MAX)
        return false;
    return rank_of(s, j) == 0 || quota_guaranteed(&s->q, j->spec.tenant, held);
}

static const struct nl_sched *claim_s;
static int64_t claim_now;

/*
 * What restarting a preempted run costs on top of its lost work, in hours
 * of its GPUs: the grace period, requeue, loading the container and the
 * model again (an assumption of the rule, not a measurement).
 */
#define RESTART_H 0.25
/*
 * And what every preemption costs whatever its size, in GPU-hours: a job
 * stopped is a user's job stopped, so one large victim is preferred to many
 * small ones that free the same power (an assumption of the rule).
 */
#define PREEMPT_GPU_H 4.0

/* Work a preemption loses: GPU-hours of the run so far (no checkpoint assumed) and its restart. */
static double lost_gpu_h(const struct job *j, int64_t now_us)
{
    return (double)j->held * ((double)(now_us - j->start_us) / 3.6e9 + RESTART_H);
}

/* GPU-hours a preemption costs per watt it frees: the runs that lose least for the power go first. */
static double lost_per_w(const struct job *j, int64_t now_us)
{
    double freed = (double)j->held * ((double)j->draw_mw / 1000.0 - claim_s->pw.idle_w);
    return freed > 0 ? (lost_gpu_h(j, now_us) + PREEMPT_GPU_H) / freed : INFINITY;
}

static int lost_cmp(const void *a, const void *b)
{
    const struct job *x = &claim_s->jobs[*(const uint32_t *)a], *y = &claim_s->jobs[*(const uint32_t *)b];
    double lx = lost_per_w(x, claim_now), ly = lost_per_w(y, claim_now);
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Apply per-GPU draw w to running job j as a cap (w >= its want: none). */
static void claim_cap(struct nl_sched *s, struct job *j, double w, int64_t now_us)
{
    double cap = w < j->want_w ? w : 0;
    set_draw(s, j, power_mw(w), now_us);
    s->ncapped += (cap > 0) - (j->cap_w > 0);
    if (cap != j->cap_w) {
        j->cap_w = cap;
        sched_act(s, NL_ACT_CAP, j->id);
    }
}

bool sched_power_claim(struct nl_sched *s, struct job *j, uint32_t site,
                       const struct nl_alloc_node *a, size_t n, uint64_t held, int64_t now_us)
{
    struct power *pw = &s->pw;
    int64_t want_mw = power_mw(sched_power_want(s, j));
    if (!sched_power_may_claim(s, j, held) || !power_fits_units(pw, a, n, want_mw))
        return false; /* a rack, row or loop refuses it: claims free facility and site power only */
    s->claims++;
    const double slack = 1.0;
    double add = (double)held * ((double)want_mw / 1000.0 - pw->idle_w);
    double e_fac = pw->budget_w > 0
                           ? power_it_w(pw) + add - (pw->budget_w * (1 - pw->margin) / pw->pue - slack)
                           : 0;
    double e_site = pw->site_limit_w[site] > 0
                            ? (double)pw->site_mw[site] / 1000.0 + add -
                                      (pw->site_limit_w[site] * (1 - pw->margin) / pw->pue - slack)
                            : 0;
    double need = e_fac > e_site ? e_fac : e_site;
    if (need <= 0)
        return false;
    bool site_only = e_site > 0;
    uint32_t r0 = rank_of(s, j), R = max_rank(s) + 1;
    /* Candidates: running jobs of weaker tiers (in j's site when the site's limit binds). */
    if (s->capbuf_cap < s->nrunning + 1) {
        s->capbuf_cap = xgrow(s->capbuf_cap, s->nrunning + 1);
        s->capbuf = xreallocarray(s->capbuf, s->capbuf_cap, sizeof(*s->capbuf));
        s->capslot = xreallocarray(s->capslot, s->capbuf_cap, sizeof(*s->capslot));
    }
    double *hr = xcalloc(R, sizeof(double));
    size_t m = 0;
    double free_pre = 0, hsum = 0;
    for (size_t i = 0; i < s->jobs_used; i++) {
        const struct job *v = &s->jobs[i];
        if (v->id == 0 || v->state != NL_JOB_RUNNING || (site_only && v->site != site))
            continue;
        uint32_t r = rank_of(s, v);
        if (r <= r0)
            continue;
        double cur = (double)v->draw_mw / 1000.0;
        s->capslot[m++] = (uint32_t)i;
        free_pre += (double)v->held * (cur - pw->idle_w);
        if (cur > pw->cap_min_w) {
            hr[r] += (double)v->held * (cur - pw->cap_min_w);
            hsum += (double)v->held * (cur - pw->cap_min_w);
        }
    }
    /*
     * Capping: weaker tiers to the floor, weakest first, the cut tier by a
     * common fraction; only while every busy GPU at the floor, j's too,
     * would still fit with CLAIM_FLOOR_RESERVE to spare. Past that, a start
     * paid for by caps leaves the next reading nothing to cap, and the
     * response preempts the newest weak runs after all (at 170 MW with 30 %
     * oversubscription, tens of thousands of them in three days).
     */
    double busy = (double)(pw->busy_total + held) * (pw->cap_min_w - pw->idle_w);
    bool floor_ok = true;
    if (pw->budget_w > 0) {
        double all_idle = 0;
        for (uint32_t i = 0; i < s->nsites; i++)
            all_idle += (double)s->site[i].ngpus * pw->idle_w;
        floor_ok &= all_idle + busy <= pw->budget_w * (1 - pw->margin) / pw->pue * (1 - CLAIM_FLOOR_RESERVE);
    }
    if (pw->site_limit_w[site] > 0) {
        double sb = (double)(pw->site_busy[site] + held) * (pw->cap_min_w - pw->idle_w);
        floor_ok &= (double)s->site[site].ngpus * pw->idle_w + sb <=
                    pw->site_limit_w[site] * (1 - pw->margin) / pw->pue * (1 - CLAIM_FLOOR_RESERVE);
    }
    double cost_cap = INFINITY, frac = 0;
    uint32_t cut = R;
    if (floor_ok && hsum >= need) {
        double left = need;
        for (uint32_t r = R; r-- > r0 + 1 && left > 0;) {
            cut = r;
            if (left <= hr[r]) {
                frac = hr[r] > 0 ? left / hr[r] : 0;
                left = 0;
            } else {
                frac = 1;
                left -= hr[r];
            }
        }
        /* GPU-hours lost: each capped job's slowdown for as long as both it and j run. */
        double tj = (double)j->spec.time_limit_us / 3.6e9;
        cost_cap = 0;
        for (size_t k = 0; k < m; k++) {
            const struct job *v = &s->jobs[s->capslot[k]];
            uint32_t r = rank_of(s, v);
            double cur = (double)v->draw_mw / 1000.0;
            if (r < cut || cur <= pw->cap_min_w)
                continue;
            double nw = r > cut ? pw->cap_min_w : cur - frac * (cur - pw->cap_min_w);
            double left_h = (double)(v->expect_end_us - now_us) / 3.6e9;
            double t = left_h < tj ? left_h : tj;
            if (t > 0)
                cost_cap += (double)v->held * (cap_speed(cur, v->want_w) - cap_speed(nw, v->want_w)) * t;
        }
    }
    /* Preemption: the runs that lose least first, until they free what j needs. */
    double cost_pre = INFINITY;
    size_t npre = 0;
    if (free_pre >= need) {
        claim_s = s;
        claim_now = now_us;
        qsort(s->capslot, m, sizeof(uint32_t), lost_cmp);
        double got = 0;
        cost_pre = 0;
        while (got < need && npre < m) {
            const struct job *v = &s->jobs[s->capslot[npre++]];
            got += (double)v->held * ((double)v->draw_mw / 1000.0 - pw->idle_w);
            cost_pre += lost_gpu_h(v, now_us) + PREEMPT_GPU_H;
        }
    }
    free(hr);
    if (isinf(cost_pre) && isinf(cost_cap))
        return false;
    if (cost_pre <= cost_cap) {
        for (size_t k = 0; k < npre; k++) {
            struct job *v = &s->jobs[s->capslot[k]];
            sched_preempt(s, v, now_us);
            v->power_victim = true;
            s->power_preemptions++;
            set_draw(s, v, pw->idle_mw, now_us); /* counted at idle until it exits, as in the response */
            s->ncapped -= v->cap_w > 0;
            v->cap_w = 0;
        }
        s->claims_preempt++;
    } else {
        for (size_t k = 0; k < m; k++) {
            struct job *v = &s->jobs[s->capslot[k]];
            uint32_t r = rank_of(s, v);
            double cur = (double)v->draw_mw / 1000.0;
            if (r < cut || cur <= pw->cap_min_w)
                continue;
            claim_cap(s, v, r > cut ? pw->cap_min_w : cur - frac * (cur - pw->cap_min_w), now_us);
        }
        s->claims_cap++;
    }
    return power_fits(pw, site, a, n, want_mw);
}
