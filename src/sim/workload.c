/* SPDX-License-Identifier: MIT */
/*
 * workload.c - fit a trace (read by trace.c) or a synthetic workload to a
 * facility and its tenants. docs/workloads.md states every proportion used
 * here; keep the two in step.
 *
 * Everything is a pure function of (input, facility, tenants, opts):
 * random choices come from nl_rng seeded by opts->seed and from nl_hash64
 * of trace fields, never from the clock, so two runs give identical arrays.
 *
 * Tenants. A trace tenant that is named (msitp's "cluster07") keeps all its
 * jobs together: the named tenants are dealt to tiers largest first, each
 * to the tier furthest below its share of jobs, which lands within a few
 * percent of the shares even with ten tenants (a hash alone would not: one
 * msitp cluster holds 23% of the jobs). Within its tier a trace tenant
 * becomes one of the tier's tenants, chosen by hash weighted by fair-share
 * weight. Jobs of tenant "unknown" are mapped one by one, by hash of their
 * job_id, in the same way.
 *
 * Constraints. A residency is only assigned when some site of the facility
 * satisfies it; otherwise the job gets "any". So a replay never holds a job
 * that can never run because of what the workload generator made up.
 */
#include "workload.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/tenant.h"
#include "trace.h"

#define US_PER_S 1000000LL

/* Salts keep the hash streams for tiers, tenants and constraints independent. */
#define SALT_TIER        0x7469657200000001ULL
#define SALT_TENANT      0x74656e6e00000002ULL
#define SALT_CONSTRAINTS 0x636f6e7300000003ULL
#define SALT_SYNTH       0x73796e7400000004ULL
#define SALT_LIMIT       0x6c696d6900000005ULL
#define SALT_COPY        0x636f707900000006ULL

/* Bounds on options: beyond them a run is a typo, not an experiment. */
#define LOAD_MAX         10.0
#define LIMIT_FACTOR_MAX 100.0
#define SYNTH_DAYS_MAX   3660.0
/* Stretching a trace past a century (a tiny --load on a big facility) is refused. */
#define SCALED_SPAN_MAX_S (100.0 * 366 * 24 * 3600)
#define GRACE_US          (60 * US_PER_S)

/* --- tiers and their constraint rules ------------------------------------ */

enum tier_kind {
    KIND_SOVEREIGN,
    KIND_ANCHOR,
    KIND_REGIONAL
};

/*
 * Per kind of tier: the fraction of jobs pinned to the tenant's home
 * jurisdiction, the fraction pinned to the EEA (the rest may run anywhere),
 * the fraction that is sensitive (whole nodes), and whether its jobs may be
 * preempted inside quota. Sovereign research data often must stay in the
 * country; an anchor customer wants the EEA for GDPR; regional users take
 * what is free and are the first to yield.
 */
struct tier_rule {
    double home, eea, sensitive;
    bool preemptible;
};

static const struct tier_rule tier_rules[] = {
        [KIND_SOVEREIGN] = {.home = 0.40, .eea = 0.20, .sensitive = 0.05, .preemptible = false},
        [KIND_ANCHOR] = {.home = 0.00, .eea = 0.50, .sensitive = 0.00, .preemptible = false},
        [KIND_REGIONAL] = {.home = 0.00, .eea = 0.00, .sensitive = 0.00, .preemptible = true},
};

/* Share of jobs per tier when opts->tier_share is all zero: sovereign, anchor, regional. */
static const double default_share[] = {0.50, 0.20, 0.30};

/* Everything derived once from facility, tenants and opts. */
struct fit {
    const struct nl_tenants *tenants;
    uint64_t seed;
    double limit_factor;
    bool user_limits;
    uint32_t ntiers;
    double share[NL_TIERS_MAX]; /* of jobs, sums to 1; 0 for tiers without tenants */
    enum tier_kind kind[NL_TIERS_MAX];
    uint32_t first[NL_TIERS_MAX], count[NL_TIERS_MAX]; /* each tier's slice of order */
    uint32_t *order;                                   /* tenant indexes grouped by tier */
    double *cum;               /* cumulative weight within each slice; a slice ends at 1 */
    struct nl_residency *home; /* per tenant: home jurisdiction, or "any" if no site has it */
    struct nl_residency eea;   /* "EEA", or "any" if no site is in the EEA */
    uint32_t anchor_tier;      /* tier of the LLM jobs, or ntiers when none has tenants */
    uint64_t gpus;             /* facility total */
    uint64_t largest_site;     /* GPUs of the largest site */
};

static uint64_t mix(uint64_t a, uint64_t b)
{
    /* Bytes in a fixed order, so that the hash is the same on every machine. */
    unsigned char buf[16];
    for (int i = 0; i < 8; i++) {
        buf[i] = (unsigned char)(a >> (8 * i));
        buf[8 + i] = (unsigned char)(b >> (8 * i));
    }
    return nl_hash64(buf, sizeof(buf));
}

static double unit_of(uint64_t h)
{
    return (double)(h >> 11) * 0x1.0p-53;
}

static enum tier_kind tier_kind_of(const struct nl_tier_spec *t, uint32_t idx)
{
    if (strcmp(t->name, "sovereign") == 0)
        return KIND_SOVEREIGN;
    if (strcmp(t->name, "anchor") == 0)
        return KIND_ANCHOR;
    if (strcmp(t->name, "regional") == 0)
        return KIND_REGIONAL;
    return idx == 0 ? KIND_SOVEREIGN : idx == 1 ? KIND_ANCHOR : KIND_REGIONAL;
}

/* True when some site of fac satisfies r. */
static bool residency_satisfiable(const struct nl_facility *fac, const struct nl_residency *r)
{
    uint32_t ns = nl_facility_nsites(fac);
    for (uint32_t s = 0; s < ns; s++) {
        struct nl_site_info si;
        nl_facility_site(fac, s, &si);
        if (nl_residency_allows(r, si.jurisdiction, si.eea))
            return true;
    }
    return false;
}

static struct nl_residency residency_or_any(const struct nl_facility *fac, const char *code)
{
    struct nl_residency r;
    if (nl_residency_parse(code, &r, NULL) != 0 || !residency_satisfiable(fac, &r))
        snprintf(r.code, sizeof(r.code), "any");
    return r;
}

static int check_opts(const struct nl_workload_opts *o, struct nl_err *err)
{
    if (!(o->load >= 0 && o->load <= LOAD_MAX))
        return nl_err_set(err, -EINVAL, "load: %g is not in [0, %g]", o->load, LOAD_MAX);
    if (!(o->limit_factor >= 0 && o->limit_factor <= LIMIT_FACTOR_MAX))
        return nl_err_set(err, -EINVAL, "limit_factor: %g is not in (0, %g]", o->limit_factor,
                          LIMIT_FACTOR_MAX);
    if (o->copies > NL_WORKLOAD_COPIES_MAX)
        return nl_err_set(err, -EINVAL, "copies: %u is more than %u", o->copies,
                          NL_WORKLOAD_COPIES_MAX);
    for (int i = 0; i < NL_TIERS_MAX; i++)
        if (!(o->tier_share[i] >= 0 && o->tier_share[i] <= 1e9))
            return nl_err_set(err, -EINVAL, "tier_share[%d]: %g is not a non-negative share", i,
                              o->tier_share[i]);
    return 0;
}

/*
 * Job shares per tier: opts->tier_share, or the default 50/20/30. An
 * explicit share on a tier that does not exist or has no tenants is an
 * error; the default quietly skips such tiers and renormalises.
 */
static int fit_shares(struct fit *f, const struct nl_workload_opts *o, struct nl_err *err)
{
    bool given = false;
    for (int i = 0; i < NL_TIERS_MAX; i++)
        given = given || o->tier_share[i] > 0;
    double sum = 0;
    for (uint32_t t = 0; t < NL_TIERS_MAX; t++) {
        double s = given ? o->tier_share[t] : t < 3 ? default_share[t] : 0;
        if (given && s > 0 && t >= f->ntiers)
            return nl_err_set(err, -EINVAL, "tier_share[%u]: no such tier (%u tiers)", t,
                              f->ntiers);
        if (given && s > 0 && f->count[t] == 0)
            return nl_err_set(err, -EINVAL, "tier_share[%u]: tier '%s' has no tenants", t,
                              nl_tenants_tier(f->tenants, t)->name);
        f->share[t] = t < f->ntiers && f->count[t] > 0 ? s : 0;
        sum += f->share[t];
    }
    if (sum <= 0)
        return nl_err_set(err, -EINVAL, "tenants: no tier with tenants to map jobs onto");
    for (uint32_t t = 0; t < NL_TIERS_MAX; t++)
        f->share[t] /= sum;
    return 0;
}

/* Group the tenants by tier, with cumulative fair-share weights for picking within a tier. */
static void fit_tenants(struct fit *f, const struct nl_facility *fac)
{
    uint32_t nt = (uint32_t)nl_tenants_count(f->tenants);
    f->order = xcalloc(nt ? nt : 1, sizeof(*f->order));
    f->cum = xcalloc(nt ? nt : 1, sizeof(*f->cum));
    f->home = xcalloc(nt ? nt : 1, sizeof(*f->home));
    for (uint32_t i = 0; i < nt; i++)
        f->count[nl_tenants_get(f->tenants, i)->tier]++;
    for (uint32_t t = 1; t < f->ntiers; t++)
        f->first[t] = f->first[t - 1] + f->count[t - 1];
    uint32_t fill[NL_TIERS_MAX] = {0};
    for (uint32_t i = 0; i < nt; i++) {
        const struct nl_tenant_spec *ts = nl_tenants_get(f->tenants, i);
        f->order[f->first[ts->tier] + fill[ts->tier]++] = i;
        f->home[i] = residency_or_any(fac, ts->jurisdiction);
    }
    for (uint32_t t = 0; t < f->ntiers; t++) {
        double total = 0, run = 0;
        for (uint32_t k = 0; k < f->count[t]; k++)
            total += nl_tenants_get(f->tenants, f->order[f->first[t] + k])->weight;
        for (uint32_t k = 0; k < f->count[t]; k++) {
            run += nl_tenants_get(f->tenants, f->order[f->first[t] + k])->weight;
            f->cum[f->first[t] + k] = k + 1 == f->count[t] ? 1.0 : run / total;
        }
    }
}

static void fit_release(struct fit *f)
{
    free(f->order);
    free(f->cum);
    free(f->home);
}

static int fit_init(struct fit *f, const struct nl_facility *fac, const struct nl_tenants *tenants,
                    const struct nl_workload_opts *o, struct nl_err *err)
{
    memset(f, 0, sizeof(*f));
    int rc = check_opts(o, err);
    if (rc != 0)
        return rc;
    f->tenants = tenants;
    f->seed = o->seed;
    f->limit_factor = o->limit_factor > 0 ? o->limit_factor : 1.0;
    f->user_limits = o->user_limits;
    f->ntiers = (uint32_t)nl_tenants_tier_count(tenants);
    for (uint32_t t = 0; t < f->ntiers; t++)
        f->kind[t] = tier_kind_of(nl_tenants_tier(tenants, t), t);
    fit_tenants(f, fac);
    f->eea = residency_or_any(fac, "EEA");
    f->gpus = nl_facility_gpus(fac);
    for (uint32_t s = 0; s < nl_facility_nsites(fac); s++) {
        struct nl_site_info si;
        nl_facility_site(fac, s, &si);
        if (si.ngpus > f->largest_site)
            f->largest_site = si.ngpus;
    }
    f->anchor_tier = f->ntiers;
    for (uint32_t t = f->ntiers; t-- > 0;)
        if (f->kind[t] == KIND_ANCHOR && f->count[t] > 0)
            f->anchor_tier = t;
    rc = fit_shares(f, o, err);
    if (rc != 0)
        fit_release(f);
    return rc;
}

/* Tier whose cumulative share interval holds u in [0, 1). */
static uint32_t pick_tier(const struct fit *f, double u)
{
    double run = 0;
    uint32_t last = 0;
    for (uint32_t t = 0; t < f->ntiers; t++) {
        if (f->share[t] <= 0)
            continue;
        last = t;
        run += f->share[t];
        if (u < run)
            return t;
    }
    return last; /* u within rounding of 1 */
}

/* Tenant of tier t (which has tenants) whose cumulative weight interval holds u. */
static uint32_t pick_tenant(const struct fit *f, uint32_t t, double u)
{
    const double *cum = f->cum + f->first[t];
    uint32_t lo = 0, hi = f->count[t] - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (u < cum[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return f->order[f->first[t] + lo];
}

/*
 * Time limits as users give them. Studies of production logs (Tsafrir,
 * Etsion and Feitelson, "Modeling user runtime estimates", JSSPP 2005;
 * Tsafrir, "Using inaccurate estimates accurately", JSSPP 2010) find that
 * estimates are modal: about 90% of jobs use some 20 round values, the
 * largest allowed value is always among the most popular, and most jobs
 * ask for several times what they use. The model: a share of jobs asks
 * for the maximum; the others take the first popular value at or above
 * the run time times an over-estimate drawn log-uniformly from [1, 10]
 * (mean 3.9x). The draws come from a hash of the job's key, not from the
 * shared rng, so the exact-limit workloads stay as they were.
 */
#define USER_LIMIT_MAX_SHARE 0.10
#define USER_OVERESTIMATE_MAX 10.0

static const int64_t popular_limits_s[] = {
        5 * 60,     10 * 60,     15 * 60,    30 * 60,    3600,       2 * 3600,   3 * 3600,
        4 * 3600,   6 * 3600,    8 * 3600,   12 * 3600,  18 * 3600,  86400,      36 * 3600,
        2 * 86400,  3 * 86400,   4 * 86400,  5 * 86400,  7 * 86400,  14 * 86400,
};
#define POPULAR_LIMITS (sizeof(popular_limits_s) / sizeof(popular_limits_s[0]))

static double user_limit_s(int64_t duration_s, uint64_t key)
{
    int64_t top = popular_limits_s[POPULAR_LIMITS - 1];
    if (unit_of(mix(key, SALT_LIMIT)) < USER_LIMIT_MAX_SHARE)
        return (double)(duration_s > top ? duration_s : top);
    double over = exp(log(USER_OVERESTIMATE_MAX) * unit_of(mix(key, SALT_LIMIT + 1)));
    double want = (double)duration_s * over;
    for (size_t i = 0; i < POPULAR_LIMITS; i++)
        if ((double)popular_limits_s[i] >= want)
            return (double)popular_limits_s[i];
    /* Past the largest popular value: the run time rounded up to a whole day. */
    return ceil(want / 86400.0) * 86400.0;
}

/*
 * Fill a job request: tier rules for constraints, the time limit from the
 * duration (key, unique per job, seeds the user-limit draw). Always draws
 * the same two numbers from rng, so one job's choices never shift another's.
 */
static void fill_spec(const struct fit *f, struct nl_rng *rng, uint32_t tenant, uint32_t gpus,
                      int64_t duration_s, uint64_t key, struct nl_job_spec *spec)
{
    const struct tier_rule *rule = &tier_rules[f->kind[nl_tenants_get(f->tenants, tenant)->tier]];
    double u_res = nl_rng_unit(rng), u_sens = nl_rng_unit(rng);
    nl_job_spec_init(spec);
    spec->gpus = gpus;
    spec->tenant = tenant;
    /* Round the limit up to a whole minute, as a user asking for "2:15:00" would. */
    double minutes = f->user_limits ? user_limit_s(duration_s, mix(key, f->seed)) / 60.0
                                    : ceil((double)duration_s * f->limit_factor / 60.0);
    double limit_us = (minutes < 1 ? 1 : minutes) * 60.0 * (double)US_PER_S;
    spec->time_limit_us = limit_us > (double)NL_JOB_TIME_LIMIT_MAX_US ? NL_JOB_TIME_LIMIT_MAX_US
                                                                      : (int64_t)limit_us;
    if (u_res < rule->home)
        spec->residency = f->home[tenant];
    else if (u_res < rule->home + rule->eea)
        spec->residency = f->eea;
    else
        snprintf(spec->residency.code, sizeof(spec->residency.code), "any");
    spec->sensitive = u_sens < rule->sensitive;
    spec->preemptible = rule->preemptible;
    spec->requeue = true;
    spec->grace_us = GRACE_US;
}

static void set_name(struct nl_workload *w, const char *fname)
{
    const char *slash = strrchr(fname, '/');
    snprintf(w->name, sizeof(w->name), "%s", slash ? slash + 1 : fname);
}

/* A job's place in time order; sorting these instead of the 64-byte jobs is 3x faster. */
struct tkey {
    int64_t submit_us;
    uint64_t id;
};

static int by_time(const void *a, const void *b)
{
    const struct tkey *x = a, *y = b;
    if (x->submit_us != y->submit_us)
        return x->submit_us < y->submit_us ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Put w's jobs, whose ids are their indexes + 1, in (submit_us, id) order. */
static void sort_by_time(struct nl_workload *w)
{
    struct tkey *k = xcalloc(w->n ? w->n : 1, sizeof(*k));
    for (size_t i = 0; i < w->n; i++)
        k[i] = (struct tkey){.submit_us = w->jobs[i].submit_us, .id = w->jobs[i].id};
    qsort(k, w->n, sizeof(*k), by_time);
    struct nl_wjob *sorted = xcalloc(w->n ? w->n : 1, sizeof(*sorted));
    for (size_t i = 0; i < w->n; i++)
        sorted[i] = w->jobs[k[i].id - 1];
    free(w->jobs);
    w->jobs = sorted;
    free(k);
}

/* --- traces --------------------------------------------------------------- */

/* One named trace tenant: its key (hash of the name), job count and tenant. */
struct group {
    uint64_t key, jobs, tie;
    uint32_t tenant;
};

static int group_by_key(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

static int group_by_size(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    if (x->jobs != y->jobs)
        return x->jobs > y->jobs ? -1 : 1;
    return x->tie < y->tie ? -1 : x->tie > y->tie;
}

/*
 * Deal the named trace tenants to tiers: largest first, each to the tier
 * furthest below its target number of jobs (ties to the lower tier).
 * Returns a new array of *ng groups sorted by key (free with free()).
 */
static struct group *deal_groups(const struct fit *f, const struct trace_row *rows, size_t n,
                                 size_t *ng)
{
    struct group *g = xcalloc(n, sizeof(*g));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!rows[i].per_job)
            g[k++].key = rows[i].key;
    qsort(g, k, sizeof(*g), group_by_key);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && g[m - 1].key == g[i].key) {
            g[m - 1].jobs++;
            continue;
        }
        g[m] = (struct group){.key = g[i].key, .jobs = 1, .tie = mix(g[i].key, f->seed)};
        m++;
    }
    qsort(g, m, sizeof(*g), group_by_size);
    double assigned[NL_TIERS_MAX] = {0};
    for (size_t i = 0; i < m; i++) {
        uint32_t best = f->ntiers;
        double best_gap = 0;
        for (uint32_t t = 0; t < f->ntiers; t++) {
            double gap = f->share[t] * (double)k - assigned[t];
            if (f->share[t] > 0 && (best == f->ntiers || gap > best_gap)) {
                best = t;
                best_gap = gap;
            }
        }
        assigned[best] += (double)g[i].jobs;
        g[i].tenant = pick_tenant(f, best, unit_of(mix(g[i].key, f->seed ^ SALT_TENANT)));
    }
    qsort(g, m, sizeof(*g), group_by_key);
    *ng = m;
    return g;
}

static uint32_t row_tenant(const struct fit *f, const struct trace_row *r, const struct group *g,
                           size_t ng)
{
    if (r->per_job) {
        uint32_t t = pick_tier(f, unit_of(mix(r->key, f->seed ^ SALT_TIER)));
        return pick_tenant(f, t, unit_of(mix(r->key, f->seed ^ SALT_TENANT)));
    }
    struct group probe = {.key = r->key};
    const struct group *hit = bsearch(&probe, g, ng, sizeof(*g), group_by_key);
    return hit->tenant; /* every named key was dealt */
}

/* Factor for submit times: 1, or what makes the offered GPU-hours load x capacity. */
static int trace_scale(const struct fit *f, const struct nl_workload_opts *o,
                       const struct trace_row *rows, size_t n, double gpu_s, double *scale,
                       struct nl_err *err)
{
    *scale = 1.0;
    if (o->load <= 0)
        return 0;
    double span_s = (double)(rows[n - 1].submit_s - rows[0].submit_s);
    if (span_s <= 0)
        return nl_err_set(
                err, -EINVAL,
                "load: the trace's arrivals span 0 s, so they cannot be scaled to a load");
    *scale = gpu_s / (o->load * (double)f->gpus * span_s);
    if (span_s * *scale > SCALED_SPAN_MAX_S)
        return nl_err_set(err, -EINVAL,
                          "load: %g stretches the trace's arrivals over %.0f years (max 100)",
                          o->load, span_s * *scale / (366.0 * 24 * 3600));
    return 0;
}

int nl_workload_parse_trace(const char *text, size_t len, const char *fname,
                            const struct nl_facility *fac, const struct nl_tenants *tenants,
                            const struct nl_workload_opts *opts, struct nl_workload *out,
                            struct nl_err *err)
{
    struct trace_row *rows = NULL;
    struct group *groups = NULL;
    size_t n = 0, ng = 0;
    struct fit f;
    int rc = fit_init(&f, fac, tenants, opts, err);
    if (rc != 0)
        return rc;
    rc = trace_parse(text, len, fname, opts->max_jobs, &rows, &n, err);
    if (rc != 0)
        goto out;
    uint32_t copies = opts->copies > 0 ? opts->copies : 1;
    struct nl_workload w = {.n = n * copies};
    set_name(&w, fname);
    double gpu_s = 0;
    for (size_t i = 0; i < n; i++)
        gpu_s += (double)rows[i].gpus * (double)rows[i].duration_s;
    gpu_s *= copies;
    rc = trace_scale(&f, opts, rows, n, gpu_s, &w.time_scale, err);
    if (rc != 0)
        goto out;
    w.offered_gpu_h = gpu_s / 3600.0;
    w.jobs = xcalloc(w.n, sizeof(*w.jobs));
    struct nl_rng rng;
    nl_rng_seed(&rng, opts->seed ^ SALT_CONSTRAINTS);
    int64_t span_s = rows[n - 1].submit_s - rows[0].submit_s;
    for (uint32_t c = 0; c < copies; c++) {
        /*
         * Copy 0 is the trace itself; each further copy deals the trace's
         * tenants anew (its own seed) and moves its arrivals by its own
         * offset, wrapping within the span, so that copies overlap in time
         * without lining up their bursts.
         */
        f.seed = c == 0 ? opts->seed : mix(opts->seed, SALT_COPY + c);
        int64_t shift_s = c == 0 || span_s <= 0
                                  ? 0
                                  : (int64_t)(unit_of(mix(opts->seed ^ SALT_COPY, c)) *
                                              (double)span_s);
        free(groups);
        groups = deal_groups(&f, rows, n, &ng);
        for (size_t i = 0; i < n; i++) {
            const struct trace_row *r = &rows[i];
            size_t k = (size_t)c * n + i;
            struct nl_wjob *j = &w.jobs[k];
            int64_t at_s = r->submit_s - rows[0].submit_s + shift_s;
            if (span_s > 0 && at_s > span_s)
                at_s -= span_s;
            j->id = k + 1;
            j->submit_us = llround((double)at_s * w.time_scale * (double)US_PER_S);
            j->duration_us = r->duration_s * US_PER_S;
            fill_spec(&f, &rng, row_tenant(&f, r, groups, ng), r->gpus, r->duration_s, k,
                      &j->spec);
            if (r->gpus > w.max_gpus)
                w.max_gpus = r->gpus;
        }
    }
    f.seed = opts->seed;
    /* One copy is already in (submit, id) order: scaling is monotone. */
    if (copies > 1) {
        sort_by_time(&w);
        for (size_t i = 0; i < w.n; i++)
            w.jobs[i].id = i + 1;
    }
    *out = w;
out:
    free(groups);
    free(rows);
    fit_release(&f);
    return rc;
}

/* --- synthetic ------------------------------------------------------------ */

/*
 * Job classes of an AI gigafactory. Sizes and run times are log-uniform
 * between the bounds; half the sizes are rounded to a power of two, the
 * rest to a multiple of quantum. LLM gangs come in multiples of 64, as
 * data-parallel replicas of a model sharded over 64 GPUs do; medium jobs in
 * whole 8-GPU servers.
 */
enum {
    CLS_SMALL,
    CLS_MEDIUM,
    CLS_LLM,
    CLS_MAX = 4 /* classes of any mix */
};

struct jclass {
    double gpus_lo, gpus_hi, quantum;
    double dur_lo_s, dur_hi_s;
};

static const struct jclass classes[] = {
        [CLS_SMALL] = {1, 8, 1, 5 * 60, 4 * 3600},
        [CLS_MEDIUM] = {16, 512, 8, 30 * 60, 24 * 3600},
        [CLS_LLM] = {1024, 16384, 64, 6 * 3600, 10 * 86400},
};

/*
 * A mix: its classes, their shares of GPU-hours, and the class of gang
 * jobs that go to the anchor tier (ncls when none). The gigafactory mix
 * has the job budget of synth_shares; the LLM-era mix (docs/workloads.md
 * "LLM-era mix") has fixed shares and sizes scaled to the facility.
 */
struct synth_mix {
    struct jclass cls[CLS_MAX];
    double share[CLS_MAX];
    int ncls, gang;
    bool budget;
};

/*
 * The LLM-era mix, shaped by the Acme characterization (Hu et al.,
 * "Characterization of Large Language Model Development in the
 * Datacenter", NSDI 2024): a few pre-training gangs hold most GPU-time
 * and run for days to weeks, evaluation jobs are the most numerous and
 * short, fine-tuning sits between; plus interactive notebooks. Pre-training
 * gangs are 1,024-16,384 GPUs, but never less than 1/8 nor more than 1/2
 * of the largest site, so that a 1k-2k GPU cluster gets gangs of 128-1,024
 * (the held-out 2023 trace of issue 13 has gangs up to 744 on such
 * clusters). Shares of GPU-hours: 55% pre-training, 30% fine-tuning, 10%
 * evaluation, 5% notebooks (our choice, in the proportions Acme reports:
 * pre-training dominant, evaluation numerous but small).
 */
static void mix_llm(uint64_t largest_site, struct synth_mix *m)
{
    double site = (double)largest_site;
    double hi = fmax(64, fmin(16384, floor(site / 2 / 64) * 64));
    double lo = fmin(hi, fmax(64, fmin(1024, floor(site / 8 / 64) * 64)));
    *m = (struct synth_mix){
            .cls = {{lo, hi, 64, 86400, 14 * 86400},
                    {8, fmin(512, fmax(8, site / 4)), 8, 3600, 2 * 86400},
                    {1, 64, 1, 5 * 60, 2 * 3600},
                    {1, 8, 1, 30 * 60, 8 * 3600}},
            .share = {0.55, 0.30, 0.10, 0.05},
            .ncls = 4,
            .gang = 0,
            .budget = false,
    };
}

static void mix_gigafactory(struct synth_mix *m)
{
    *m = (struct synth_mix){.ncls = 3, .gang = CLS_LLM, .budget = true};
    for (int c = 0; c < 3; c++)
        m->cls[c] = classes[c];
}

/* Default shares of GPU-hours: small, medium, LLM. */
static const double class_share_default[3] = {0.05, 0.25, 0.70};

/*
 * The job budget. A one-year gw10 run must stay near a million jobs so
 * that it simulates in minutes; by default the small and medium classes
 * are each capped at 45% of it and the GPU-hours cut from them go to the
 * LLM class (arithmetic in synth_shares and docs/workloads.md).
 */
#define SYNTH_JOBS_BUDGET 1000000.0
#define SYNTH_CLASS_CAP   0.45

/* Round a drawn size to a power of two or to a multiple of the class's quantum. */
static double round_gpus(const struct jclass *k, double g, bool pow2)
{
    g = pow2 ? exp2(round(log2(g))) : round(g / k->quantum) * k->quantum;
    return fmax(k->gpus_lo, fmin(k->gpus_hi, g));
}

static double loguniform_mean(double lo, double hi)
{
    return hi > lo ? (hi - lo) / log(hi / lo) : lo;
}

/*
 * Mean GPU-seconds of one job of class c, ignoring the site cap. Rounding
 * moves the mean size (LLM jobs: 5,540 GPUs drawn, 5,650 after rounding),
 * so the size is averaged over a fine grid of the log-uniform draw.
 */
static double class_mean_gpu_s(const struct jclass *k)
{

    enum {
        GRID = 4096
    };

    double sum = 0;
    for (int i = 0; i < GRID; i++) {
        double g = k->gpus_lo * pow(k->gpus_hi / k->gpus_lo, (i + 0.5) / GRID);
        sum += 0.5 * round_gpus(k, g, true) + 0.5 * round_gpus(k, g, false);
    }
    return sum / GRID * loguniform_mean(k->dur_lo_s, k->dur_hi_s);
}

/*
 * Shares of GPU-hours per class, and the expected job count. Means per job
 * (sizes after rounding): small 3.4 GPUs x 1.01 h = 3.5 GPU-h, medium
 * 146 x 6.07 h = 886 GPU-h, LLM 5,650 x 63.4 h = 358,000 GPU-h. A year of
 * gw10 at load 0.9 offers 0.9 x 5,000,040 x 8,760 h = 3.94e10 GPU-h; at
 * 70/25/5 that would be 77k LLM + 11.1M medium + 569M small jobs. The caps
 * of 450k jobs each cut medium to 1.0% and small to 0.004% of the
 * GPU-hours, LLM gets 99.0% (108k jobs): about 1.01M jobs in all. A week of
 * narvik (15.1M GPU-h) stays at 70/25/5: 30 LLM, 4,300 medium and 218k
 * small jobs.
 */
static int synth_shares(const struct nl_synth_opts *so, const struct synth_mix *m,
                        double target_gpu_s, double share[CLS_MAX], double *jobs,
                        struct nl_err *err)
{
    if (!m->budget) {
        for (int c = 0; c < m->ncls; c++)
            share[c] = m->share[c];
    } else if (so->llm_share >= 0) {
        share[CLS_LLM] = so->llm_share;
        share[CLS_MEDIUM] = (1 - so->llm_share) * 5.0 / 6.0;
        share[CLS_SMALL] = (1 - so->llm_share) / 6.0;
    } else {
        share[CLS_LLM] = 1.0;
        for (int c = CLS_SMALL; c <= CLS_MEDIUM; c++) {
            double cap = SYNTH_CLASS_CAP * SYNTH_JOBS_BUDGET * class_mean_gpu_s(&m->cls[c]) /
                         target_gpu_s;
            share[c] = fmin(class_share_default[c], cap);
            share[CLS_LLM] -= share[c];
        }
    }
    *jobs = 0;
    for (int c = 0; c < m->ncls; c++)
        *jobs += share[c] * target_gpu_s / class_mean_gpu_s(&m->cls[c]);
    if (*jobs > NL_TRACE_JOBS_MAX)
        return nl_err_set(
                err, -EINVAL,
                "%s: the workload would need about %.0f jobs (max %u); raise llm_share or shorten days",
                so->llm_share >= 0 ? "llm_share" : "days", *jobs, NL_TRACE_JOBS_MAX);
    return 0;
}

static int check_synth(const struct nl_synth_opts *so, struct nl_err *err)
{
    if (!(so->days > 0 && so->days <= SYNTH_DAYS_MAX))
        return nl_err_set(err, -EINVAL, "days: %g is not in (0, %g]", so->days, SYNTH_DAYS_MAX);
    if (!(so->load >= 0 && so->load <= LOAD_MAX))
        return nl_err_set(err, -EINVAL, "load: %g is not in [0, %g]", so->load, LOAD_MAX);
    if (so->llm_era && so->llm_share >= 0)
        return nl_err_set(err, -EINVAL, "llm_share: the LLM-era mix has fixed shares");
    if (!(so->llm_share <= 1) || isnan(so->llm_share))
        return nl_err_set(err, -EINVAL, "llm_share: %g is not in [0, 1]", so->llm_share);
    return 0;
}

static uint32_t draw_gpus(struct nl_rng *rng, const struct jclass *k, uint64_t cap)
{
    double g = nl_rng_loguniform(rng, k->gpus_lo, k->gpus_hi);
    g = round_gpus(k, g, nl_rng_unit(rng) < 0.5);
    return (uint32_t)(g > (double)cap ? (double)cap : g);
}

/* Append one job to w (growing it) at a uniform time in [0, span_us), unless w is full. */
static int synth_push(struct nl_workload *w, size_t *cap, struct nl_rng *rng, double span_us,
                      uint32_t gpus, int64_t duration_s, uint32_t cls, struct nl_err *err)
{
    if (w->n >= NL_TRACE_JOBS_MAX)
        return nl_err_set(err, -EINVAL, "days: the workload needs more than %u jobs",
                          NL_TRACE_JOBS_MAX);
    if (w->n == *cap) {
        *cap = xgrow(*cap, w->n + 1);
        w->jobs = xreallocarray(w->jobs, *cap, sizeof(*w->jobs));
    }
    struct nl_wjob *j = &w->jobs[w->n++];
    memset(j, 0, sizeof(*j));
    j->id = w->n; /* draw order, the tie-break of the sort by time */
    j->submit_us = (int64_t)(nl_rng_unit(rng) * span_us);
    j->duration_us = duration_s * US_PER_S;
    j->spec.gpus = gpus;
    j->spec.tenant = cls; /* the class until synth_assign sets the tenant */
    return 0;
}

/*
 * Draw the jobs of each class until their GPU-seconds reach the class's
 * share of the target; the last one is shortened to land on it exactly.
 * Drawing per class keeps the shares exact and the job count steady (one
 * mixed stream would let 30 LLM jobs of a narvik week swing the count of
 * small jobs by 15% or more), and shortening keeps the load exact even where one
 * LLM job is a large part of the target.
 *
 * Arrivals: n jobs at independent uniform times in [0, span), sorted, are a
 * Poisson process conditioned on n arrivals, and the superposition of the
 * classes' processes is again Poisson.
 */
static int synth_draw(struct nl_rng *rng, const struct synth_mix *m, const double share[CLS_MAX],
                      double target_gpu_s, double span_us, uint64_t size_cap,
                      struct nl_workload *w, struct nl_err *err)
{
    size_t cap = 0;
    for (int c = 0; c < m->ncls; c++) {
        const struct jclass *k = &m->cls[c];
        double goal = share[c] * target_gpu_s, acc = 0;
        while (acc < goal) {
            uint32_t gpus = draw_gpus(rng, k, size_cap);
            double d = round(nl_rng_loguniform(rng, k->dur_lo_s, k->dur_hi_s));
            if (acc + gpus * d > goal)
                d = fmax(1, ceil((goal - acc) / gpus));
            int rc = synth_push(w, &cap, rng, span_us, gpus, (int64_t)d, (uint32_t)c, err);
            if (rc != 0)
                return rc;
            acc += gpus * d;
        }
    }
    return 0;
}

/* Tenants and constraints: gang jobs to the anchor tier, the rest by tier share. */
static void synth_assign(const struct fit *f, struct nl_rng *rng, int gang, struct nl_workload *w)
{
    w->offered_gpu_h = 0;
    for (size_t i = 0; i < w->n; i++) {
        struct nl_wjob *j = &w->jobs[i];
        uint32_t cls = j->spec.tenant, gpus = j->spec.gpus;
        double u_tier = nl_rng_unit(rng), u_tenant = nl_rng_unit(rng);
        uint32_t tier = cls == (uint32_t)gang && f->anchor_tier < f->ntiers ? f->anchor_tier
                                                                     : pick_tier(f, u_tier);
        fill_spec(f, rng, pick_tenant(f, tier, u_tenant), gpus, j->duration_us / US_PER_S,
                  (uint64_t)i, &j->spec);
        j->id = i + 1;
        w->offered_gpu_h += (double)gpus * (double)j->duration_us / US_PER_S / 3600.0;
        if (gpus > w->max_gpus)
            w->max_gpus = gpus;
    }
}

int nl_workload_synthetic(const struct nl_synth_opts *sopts, const struct nl_facility *fac,
                          const struct nl_tenants *tenants, const struct nl_workload_opts *opts,
                          struct nl_workload *out, struct nl_err *err)
{
    struct nl_workload w = {.time_scale = 1.0};
    snprintf(w.name, sizeof(w.name), "synthetic");
    struct fit f;
    int rc = check_synth(sopts, err);
    if (rc != 0)
        return rc;
    rc = fit_init(&f, fac, tenants, opts, err);
    if (rc != 0)
        return rc;
    double load = sopts->load > 0 ? sopts->load : 0.9;
    double span_s = sopts->days * 86400.0;
    double target_gpu_s = load * (double)f.gpus * span_s;
    struct synth_mix mix;
    if (sopts->llm_era)
        mix_llm(f.largest_site, &mix);
    else
        mix_gigafactory(&mix);
    double share[CLS_MAX], jobs;
    rc = synth_shares(sopts, &mix, target_gpu_s, share, &jobs, err);
    if (rc != 0)
        goto out;
    struct nl_rng rng;
    nl_rng_seed(&rng, sopts->seed ^ SALT_SYNTH);
    rc = synth_draw(&rng, &mix, share, target_gpu_s, span_s * (double)US_PER_S, f.largest_site,
                    &w, err);
    if (rc != 0)
        goto out;
    sort_by_time(&w);
    if (opts->max_jobs > 0 && w.n > opts->max_jobs)
        w.n = opts->max_jobs;
    synth_assign(&f, &rng, mix.gang, &w);
    *out = w;
    w.jobs = NULL;
out:
    free(w.jobs);
    fit_release(&f);
    return rc;
}

void nl_workload_release(struct nl_workload *w)
{
    if (w == NULL)
        return;
    free(w->jobs);
    memset(w, 0, sizeof(*w));
}
