/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the discrete-event loop: virtual clock, virtual agents, and the
 * scheduler core; see sim.h. Metrics are gathered here; report.c formats.
 */
#include "sim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/tenant.h"
#include "simpower.h"
#include "workload.h"

enum ev_kind { EV_ARRIVE = 1, EV_FINISH, EV_KILL, EV_SAMPLE, EV_PASS, EV_MEASURE, EV_BUDGET };

struct event {
    int64_t t_us;
    uint64_t seq;
    uint32_t kind;
    uint32_t job; /* workload index */
    uint32_t gen; /* FINISH/KILL are stale when the job's gen moved on */
};

/* Per workload job: what the virtual agent knows. */
struct vjob {
    int64_t left_us;     /* work still to do */
    int64_t start_us;    /* current run's start */
    int64_t first_start_us;
    int64_t end_us;
    uint32_t gen;
    bool done, started, timed_out;
    /* The power model: real per-GPU demand, the cap in force, and this run's speed. */
    double demand_w, cap_w, speed;
    int64_t seg_us;  /* progress is counted at speed since here */
    uint32_t held;   /* GPUs held (whole nodes for a sensitive job) */
    uint32_t nmeas;
    bool draws;      /* counted in the real draw */
};

struct sim {
    const struct nl_workload *w;
    struct nl_sched *s;
    struct vjob *vj;
    struct event *heap;
    size_t hn, hcap;
    uint64_t seq;
    struct nl_sim_result *res;
    int64_t win_lo, win_hi, last_t;
    double alloc_all; /* GPU-microseconds held over the whole run */
    double alloc_integral, frag_integral, power_integral;
    uint64_t gpus;
    int64_t sample_us;
    int64_t pass_interval_us, last_pass_us;
    bool dirty, pass_queued;
    size_t sample_cap;
    bool full_checks;
    uint32_t *tier_of_tenant;
    const struct nl_sim_opts *opts;
    const struct nl_facility_spec *spec;
    double true_it_w;  /* modelled real IT draw */
    int64_t start_us;  /* calendar time of t = 0, for the climate */
};


static bool ev_before(const struct event *a, const struct event *b)
{
    return a->t_us < b->t_us || (a->t_us == b->t_us && a->seq < b->seq);
}

static void push(struct sim *m, int64_t t, uint32_t kind, uint32_t job, uint32_t gen)
{
    if (m->hn == m->hcap) {
        m->hcap = xgrow(m->hcap, m->hn + 1);
        m->heap = xreallocarray(m->heap, m->hcap, sizeof(*m->heap));
    }
    size_t i = m->hn++;
    m->heap[i] = (struct event){t, m->seq++, kind, job, gen};
    while (i > 0 && ev_before(&m->heap[i], &m->heap[(i - 1) / 2])) {
        struct event tmp = m->heap[i];
        m->heap[i] = m->heap[(i - 1) / 2];
        m->heap[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

static struct event pop(struct sim *m)
{
    struct event top = m->heap[0];
    m->heap[0] = m->heap[--m->hn];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->hn && ev_before(&m->heap[l], &m->heap[s]))
            s = l;
        if (r < m->hn && ev_before(&m->heap[r], &m->heap[s]))
            s = r;
        if (s == i)
            break;
        struct event tmp = m->heap[i];
        m->heap[i] = m->heap[s];
        m->heap[s] = tmp;
        i = s;
    }
    return top;
}

/*
 * Integrate allocation, fragmentation and power over the arrival window up
 * to t, and allocation over the whole run (GPU-hours held, rework included).
 */
static void integrate(struct sim *m, int64_t t)
{
    int64_t a = m->last_t > m->win_lo ? m->last_t : m->win_lo;
    int64_t b = t < m->win_hi ? t : m->win_hi;
    struct nl_sched_stats st;
    nl_sched_stats(m->s, &st);
    if (t > m->last_t)
        m->alloc_all += (double)st.gpus_alloc * (double)(t - m->last_t);
    if (b > a) {
        double dt = (double)(b - a);
        m->alloc_integral += (double)st.gpus_alloc * dt;
        m->frag_integral += st.fragmentation * dt;
        m->power_integral += st.power_w * dt;
    }
    /* The risk of relying on measured draw: time the modelled real draw spent over the budget. */
    if (m->opts != NULL && m->opts->power && t > m->last_t) {
        double real = m->true_it_w * st.pue;
        if (real > m->res->true_peak_w)
            m->res->true_peak_w = real;
        if (st.power_budget_w > 0 && real > st.power_budget_w) {
            m->res->true_over_s += (double)(t - m->last_t) / 1e6;
            if (real - st.power_budget_w > m->res->true_over_max_w)
                m->res->true_over_max_w = real - st.power_budget_w;
        }
    }
    m->last_t = t;
}

static void sample(struct sim *m, int64_t t)
{
    struct nl_sim_result *res = m->res;
    if (res->nsamples == m->sample_cap) {
        m->sample_cap = xgrow(m->sample_cap, res->nsamples + 1);
        res->samples = xreallocarray(res->samples, m->sample_cap, sizeof(*res->samples));
    }
    struct nl_sim_sample *sm = &res->samples[res->nsamples++];
    memset(sm, 0, sizeof(*sm));
    struct nl_sched_stats st;
    nl_sched_stats(m->s, &st);
    sm->t_s = (double)t / 1e6;
    sm->util = m->gpus ? (double)st.gpus_alloc / (double)m->gpus : 0;
    sm->power_w = st.power_w;
    sm->running = (uint32_t)st.jobs_running;
    const struct nl_tenants *ten = nl_sched_tenants(m->s);
    for (uint32_t t_i = 0; t_i < nl_tenants_count(ten); t_i++) {
        struct nl_tenant_usage u;
        nl_sched_tenant_usage(m->s, t_i, &u);
        uint32_t tier = m->tier_of_tenant[t_i];
        if (tier < NL_SIM_TIERS_MAX)
            sm->pending[tier] += (uint32_t)u.jobs_pending;
    }
    if (m->full_checks)
        nl_sched_check(m->s, &res->violations);
}

/* --- the power model (docs/power.md) ------------------------------------------ */

#define MEASURE_FIRST_US (60LL * 1000000)   /* a job's first reading: after a minute */
#define MEASURE_EVERY_US (3600LL * 1000000) /* then hourly */

/* Work done (full-speed microseconds) since the segment began; capped time accounted. */
static int64_t progress(struct sim *m, struct vjob *v, int64_t now)
{
    int64_t dt = now - v->seg_us;
    if (dt <= 0)
        return 0;
    if (v->cap_w > 0) {
        m->res->capped_gpu_hours += (double)v->held * (double)dt / 3.6e9;
        m->res->work_lost_gpu_hours += (double)v->held * (double)dt * (1 - v->speed) / 3.6e9;
    }
    v->seg_us = now;
    return v->speed >= 1 ? dt : (int64_t)((double)dt * v->speed);
}

/* Its finish at its speed, or its time limit's end, whichever is first. */
static void push_finish(struct sim *m, uint32_t idx, int64_t now)
{
    struct vjob *v = &m->vj[idx];
    int64_t wall = v->speed >= 1 ? v->left_us : (int64_t)ceil((double)v->left_us / v->speed);
    int64_t limit_end = v->start_us + m->w->jobs[idx].spec.time_limit_us;
    push(m, now + wall < limit_end ? now + wall : limit_end, EV_FINISH, idx, v->gen);
}

/* Its real per-GPU draw now: the demand, held under the cap. */
static double real_w(const struct vjob *v)
{
    return v->cap_w > 0 && v->cap_w < v->demand_w ? v->cap_w : v->demand_w;
}

static void power_start(struct sim *m, uint32_t idx, int64_t now)
{
    struct vjob *v = &m->vj[idx];
    const struct nl_alloc_node *a;
    size_t n = nl_sched_job_alloc(m->s, idx + 1, &a);
    v->held = 0;
    for (size_t i = 0; i < n; i++)
        v->held += (uint32_t)__builtin_popcount(a[i].mask);
    v->demand_w = simpower_demand(m->opts->seed, idx, m->spec->gpu_busy_w);
    v->cap_w = 0;
    v->draws = true;
    m->true_it_w += (double)v->held * (real_w(v) - m->spec->gpu_idle_w);
    push(m, now + MEASURE_FIRST_US, EV_MEASURE, idx, v->gen);
}

static void power_stop(struct sim *m, struct vjob *v)
{
    if (!v->draws)
        return;
    m->true_it_w -= (double)v->held * (real_w(v) - m->spec->gpu_idle_w);
    v->draws = false;
    v->cap_w = 0;
}

/* NL_ACT_CAP: the job's GPUs get a new limit; it runs at the speed the curve gives. */
static void power_cap(struct sim *m, uint32_t idx, int64_t now)
{
    struct vjob *v = &m->vj[idx];
    struct nl_job_info info;
    if (nl_sched_job_info(m->s, idx + 1, &info) < 0 || info.state != NL_JOB_RUNNING || !v->draws)
        return;
    m->res->power_caps++;
    v->left_us -= progress(m, v, now);
    if (v->left_us < 1)
        v->left_us = 1;
    m->true_it_w -= (double)v->held * (real_w(v) - m->spec->gpu_idle_w);
    v->cap_w = info.power_cap_w;
    m->true_it_w += (double)v->held * (real_w(v) - m->spec->gpu_idle_w);
    v->speed = simpower_speed(v->cap_w, v->demand_w);
    v->gen++; /* its finish moves; the next reading is scheduled again */
    push_finish(m, idx, now);
    push(m, now + MEASURE_FIRST_US, EV_MEASURE, idx, v->gen);
}

/* Scheduler said START: the virtual agent runs the job until done or its limit. */
static void on_start(struct sim *m, uint32_t idx, int64_t now)
{
    struct vjob *v = &m->vj[idx];
    v->start_us = now;
    v->seg_us = now;
    v->speed = 1;
    if (!v->started) {
        v->started = true;
        v->first_start_us = now;
    }
    if (m->opts != NULL && m->opts->power)
        power_start(m, idx, now);
    push_finish(m, idx, now);
}

static void handle_actions(struct sim *m, int64_t now)
{
    const struct nl_action *act;
    if (m->opts != NULL && m->opts->power)
        nl_sched_set_pue(m->s, nl_facility_pue_at(m->spec, m->start_us + now));
    size_t n = nl_sched_pass(m->s, now, &act);
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = (uint32_t)(act[i].job - 1);
        if (act[i].kind == NL_ACT_START)
            on_start(m, idx, now);
        else if (act[i].kind == NL_ACT_PREEMPT)
            push(m, now + m->w->jobs[idx].spec.grace_us, EV_KILL, idx, m->vj[idx].gen);
        else if (act[i].kind == NL_ACT_CAP && m->opts != NULL && m->opts->power)
            power_cap(m, idx, now);
    }
    /* The invariant after every response: the scheduler's draw within the budget. */
    struct nl_sched_stats st;
    nl_sched_stats(m->s, &st);
    if (st.power_budget_w > 0 && st.power_w > st.power_budget_w + 1e-3)
        m->res->violations.power++;
}

/* Run a pass now if something changed and the interval allows, else make sure one is queued. */
static void maybe_pass(struct sim *m, int64_t now)
{
    if (!m->dirty)
        return;
    if (m->pass_interval_us < 0 || now - m->last_pass_us >= m->pass_interval_us) {
        m->dirty = false;
        m->last_pass_us = now;
        handle_actions(m, now);
    } else if (!m->pass_queued) {
        m->pass_queued = true;
        push(m, m->last_pass_us + m->pass_interval_us, EV_PASS, 0, 0);
    }
}

static void job_exit(struct sim *m, uint32_t idx, enum nl_exit how, int64_t now)
{
    struct nl_job_info info;
    struct vjob *v = &m->vj[idx];
    v->gen++;
    power_stop(m, v);
    if (nl_sched_job_exit(m->s, idx + 1, how, now, &info, NULL) < 0)
        return;
    if (info.state != NL_JOB_PENDING) {
        v->done = true;
        v->end_us = now;
        v->timed_out = info.state == NL_JOB_TIMEOUT;
    }
}

static void handle(struct sim *m, const struct event *e)
{
    struct vjob *v = &m->vj[e->job];
    const struct nl_wjob *wj = &m->w->jobs[e->job];
    if (e->kind != EV_SAMPLE && e->kind != EV_PASS)
        m->dirty = true;
    switch (e->kind) {
    case EV_ARRIVE:
        if (nl_sched_submit(m->s, wj->id, &wj->spec, e->t_us, NULL) < 0) {
            m->res->rejected++;
            v->done = true;
            v->end_us = -1;
        }
        break;
    case EV_FINISH: {
        if (e->gen != v->gen)
            break;
        v->left_us -= progress(m, v, e->t_us);
        job_exit(m, e->job, v->left_us <= 0 ? NL_EXIT_OK : NL_EXIT_TIMEOUT, e->t_us);
        break;
    }
    case EV_KILL: {
        if (e->gen != v->gen)
            break;
        /* A job with a grace period checkpoints in it and keeps its work; one without starts over. */
        if (wj->spec.grace_us > 0)
            v->left_us -= progress(m, v, e->t_us);
        else
            v->left_us = wj->duration_us;
        if (v->left_us <= 0)
            v->left_us = 1;
        job_exit(m, e->job, NL_EXIT_FAILED, e->t_us);
        break;
    }
    case EV_PASS:
        m->pass_queued = false;
        break;
    case EV_MEASURE: {
        /* An agent's reading: the real draw with noise; hourly while it runs. */
        if (e->gen != v->gen || !v->draws)
            break;
        double w = simpower_noise(m->opts->seed, e->job, v->nmeas++, real_w(v));
        nl_sched_job_measured(m->s, e->job + 1, w, e->t_us);
        push(m, e->t_us + MEASURE_EVERY_US, EV_MEASURE, e->job, v->gen);
        break;
    }
    case EV_BUDGET:
        nl_sched_set_power_budget(m->s, m->opts->budget_w[e->job]);
        break;
    case EV_SAMPLE:
        sample(m, e->t_us);
        if (m->hn > 0)
            push(m, e->t_us + m->sample_us, EV_SAMPLE, 0, 0);
        break;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void dist_of(double *v, size_t n, struct nl_dist *d)
{
    memset(d, 0, sizeof(*d));
    if (n == 0)
        return;
    qsort(v, n, sizeof(double), cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    d->mean = sum / (double)n;
    /* Nearest-rank percentiles. */
    d->p50 = v[(size_t)ceil(0.50 * (double)n) - 1];
    d->p95 = v[(size_t)ceil(0.95 * (double)n) - 1];
    d->p99 = v[(size_t)ceil(0.99 * (double)n) - 1];
}

/* Waits, JCTs and slowdowns of finished jobs, overall (tier < 0) or for one tier. */
static void job_stats(struct sim *m, int tier, struct nl_dist *wait, struct nl_dist *jct,
                      double *slowdown, uint64_t *jobs, uint64_t *completed, double *gpu_h)
{
    size_t n = m->w->n, k = 0;
    double *wv = xmalloc((n ? n : 1) * sizeof(double));
    double *jv = xmalloc((n ? n : 1) * sizeof(double));
    double sd = 0;
    *jobs = *completed = 0;
    *gpu_h = 0;
    for (size_t i = 0; i < n; i++) {
        const struct nl_wjob *wj = &m->w->jobs[i];
        if (tier >= 0 && m->tier_of_tenant[wj->spec.tenant] != (uint32_t)tier)
            continue;
        (*jobs)++;
        const struct vjob *v = &m->vj[i];
        if (!v->done || v->end_us < 0 || !v->started)
            continue;
        (*completed)++;
        wv[k] = (double)(v->first_start_us - wj->submit_us) / 1e6;
        jv[k] = (double)(v->end_us - wj->submit_us) / 1e6;
        double run = (double)wj->duration_us / 1e6;
        double b = jv[k] / (run > 10 ? run : 10);
        sd += b > 1 ? b : 1;
        *gpu_h += (double)wj->spec.gpus * run / 3600.0;
        k++;
    }
    *slowdown = k ? sd / (double)k : 0;
    dist_of(wv, k, wait);
    dist_of(jv, k, jct);
    free(wv);
    free(jv);
}

static void finish_result(struct sim *m, int64_t end_us, double wall_s)
{
    struct nl_sim_result *res = m->res;
    double win = (double)(m->win_hi - m->win_lo);
    res->utilization = win > 0 ? m->alloc_integral / (win * (double)m->gpus) : 0;
    res->fragmentation = win > 0 ? m->frag_integral / win : 0;
    res->power_mean_w = win > 0 ? m->power_integral / win : 0;
    job_stats(m, -1, &res->wait_s, &res->jct_s, &res->slowdown, &res->jobs, &res->completed,
              &res->gpu_hours_work);
    const struct nl_tenants *ten = nl_sched_tenants(m->s);
    res->ntiers = nl_tenants_tier_count(ten);
    if (res->ntiers > NL_SIM_TIERS_MAX)
        res->ntiers = NL_SIM_TIERS_MAX;
    for (size_t t = 0; t < res->ntiers; t++) {
        struct nl_sim_tier *tr = &res->tier[t];
        snprintf(tr->name, sizeof(tr->name), "%s", nl_tenants_tier(ten, (uint32_t)t)->name);
        job_stats(m, (int)t, &tr->wait_s, &tr->jct_s, &tr->slowdown, &tr->jobs, &tr->completed,
                  &tr->gpu_hours);
    }
    for (size_t i = 0; i < m->w->n; i++)
        res->timeouts += m->vj[i].timed_out;
    struct nl_sched_stats st;
    nl_sched_stats(m->s, &st);
    res->preemptions = st.preemptions;
    res->passes = st.passes;
    res->decisions = st.decisions;
    res->energy_mwh = st.energy_wh / 1e6;
    res->gpu_hours_alloc = m->alloc_all / 3.6e9;
    res->power_budget_w = st.power_budget_w;
    res->power_preemptions = st.power_preemptions;
    res->power_claims_preempt = st.power_claims_preempt;
    res->power_claims_cap = st.power_claims_cap;
    res->makespan_s = (double)end_us / 1e6;
    res->wall_s = wall_s;
    res->events_per_s = wall_s > 0 ? (double)res->events / wall_s : 0;
    res->sched_bytes = nl_sched_memory_bytes(m->s);
    struct nl_sched_violations inc;
    nl_sched_violations(m->s, &inc);
    res->violations.residency += inc.residency;
    res->violations.power += inc.power;
    res->violations.quota += inc.quota;
    res->violations.double_alloc += inc.double_alloc;
    res->violations.gang += inc.gang;
    res->violations.isolation += inc.isolation;
    res->violations.reservation += inc.reservation;
    /* One last full check of the final state, whatever the options. */
    nl_sched_check(m->s, &res->violations);
}

static void sim_init(struct sim *m, const struct nl_workload *w, const struct nl_sim_opts *opts)
{
    m->vj = xcalloc(w->n ? w->n : 1, sizeof(*m->vj));
    for (size_t i = 0; i < w->n; i++) {
        m->vj[i].left_us = w->jobs[i].duration_us;
        push(m, w->jobs[i].submit_us, EV_ARRIVE, (uint32_t)i, 0);
    }
    m->win_lo = w->n ? w->jobs[0].submit_us : 0;
    m->win_hi = w->n ? w->jobs[w->n - 1].submit_us : 0;
    if (m->win_hi <= m->win_lo)
        m->win_hi = m->win_lo + 1;
    m->last_t = 0;
    /*
     * Default period: 500 samples over the arrival window, but no more than
     * ~2,000 over the whole run, whose end is known from the workload (a
     * trace whose jobs outlive a short compressed window by months would
     * otherwise sample millions of times).
     */
    int64_t last_end = m->win_hi;
    for (size_t i = 0; i < w->n; i++)
        if (w->jobs[i].submit_us + w->jobs[i].duration_us > last_end)
            last_end = w->jobs[i].submit_us + w->jobs[i].duration_us;
    int64_t by_run = (last_end - m->win_lo) / 2000;
    m->sample_us = opts && opts->sample_us > 0 ? opts->sample_us : (m->win_hi - m->win_lo) / 500;
    if (!(opts && opts->sample_us > 0) && by_run > m->sample_us)
        m->sample_us = by_run;
    if (m->sample_us < 1000000)
        m->sample_us = 1000000;
    m->full_checks = opts && opts->full_checks;
    for (size_t i = 0; opts != NULL && i < opts->nbudget; i++)
        push(m, m->win_lo + opts->budget_t_us[i], EV_BUDGET, (uint32_t)i, 0);
    m->pass_interval_us = opts && opts->pass_interval_us != 0 ? opts->pass_interval_us : 10000000;
    m->last_pass_us = INT64_MIN / 2;
    push(m, m->win_lo, EV_SAMPLE, 0, 0);
}

int nl_sim_run(const struct nl_facility *fac, const struct nl_tenants *tenants,
               const struct nl_sched_config *cfg, const struct nl_workload *w,
               const struct nl_sim_opts *opts, struct nl_sim_result *res, struct nl_err *err)
{
    memset(res, 0, sizeof(*res));
    struct nl_sched *s = nl_sched_create(fac, tenants, cfg, err);
    if (s == NULL)
        return err ? err->code : -EINVAL;
    struct sim m = {.w = w, .s = s, .res = res, .gpus = nl_facility_gpus(fac), .opts = opts,
                    .spec = nl_facility_spec(fac)};
    /* 2026-01-01T00:00:00Z unless told: the climate's months count from there. */
    m.start_us = (opts && opts->start_unix_s ? opts->start_unix_s : 1767225600LL) * 1000000LL;
    m.true_it_w = (double)m.gpus * m.spec->gpu_idle_w; /* every GPU idles until a job runs */
    m.tier_of_tenant = xcalloc(nl_tenants_count(tenants), sizeof(uint32_t));
    for (uint32_t t = 0; t < nl_tenants_count(tenants); t++)
        m.tier_of_tenant[t] = nl_tenants_get(tenants, t)->tier;
    snprintf(res->policy, sizeof(res->policy), "%s", nl_policy_name(nl_sched_config(s)->policy));
    snprintf(res->facility, sizeof(res->facility), "%s", nl_facility_name(fac));
    snprintf(res->workload, sizeof(res->workload), "%s", w->name);
    res->gpus = m.gpus;
    sim_init(&m, w, opts);
    int64_t t0 = nl_clock_monotonic_us();
    int64_t now = 0;
    while (m.hn > 0) {
        now = m.heap[0].t_us;
        integrate(&m, now);
        /* Every event at this instant, then one pass: passes see whole instants. */
        while (m.hn > 0 && m.heap[0].t_us == now) {
            struct event e = pop(&m);
            handle(&m, &e);
            res->events++;
        }
        maybe_pass(&m, now);
        struct nl_sched_stats st;
        nl_sched_stats(s, &st);
        if (st.power_w > res->power_peak_w)
            res->power_peak_w = st.power_w;
    }
    integrate(&m, now);
    finish_result(&m, now, (double)(nl_clock_monotonic_us() - t0) / 1e6);
    nl_sched_destroy(s);
    free(m.vj);
    free(m.heap);
    free(m.tier_of_tenant);
    return 0;
}

void nl_sim_result_release(struct nl_sim_result *res)
{
    free(res->samples);
    res->samples = NULL;
    res->nsamples = 0;
}

uint64_t nl_sim_violations_total(const struct nl_sim_result *res)
{
    const struct nl_sched_violations *v = &res->violations;
    return v->residency + v->power + v->quota + v->double_alloc + v->gang + v->isolation +
           v->reservation;
}
