/* SPDX-License-Identifier: MIT */
/*
 * test_workload.c - traces and synthetic workloads fitted to real
 * facilities and tenants (no stand-ins): strict CSV errors with their line
 * and field, load scaling, tier shares, determinism, residency limited to
 * the facility's jurisdictions, the synthetic gw10 year, and the shared
 * traces when ../shared/traces holds them.
 *
 * Traces are generated in memory; the seed is printed and can be replayed
 * with NL_TEST_SEED=<seed>.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* cmocka.h needs setjmp.h, stdarg.h, stddef.h and stdint.h included first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "common/clock.h"
#include "common/file.h"
#include "common/rng.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/tenant.h"
#include "sim/workload.h"

#ifndef NL_TRACES_DIR
#define NL_TRACES_DIR "/work/shared/traces"
#endif

#define SEC      1000000LL
#define HEADER   "job_id,submit_s,duration_s,gpus,tenant,status\n"
#define YEAR_S   (365.0 * 86400)
#define TIER_SOV 0
#define TIER_ANC 1
#define TIER_REG 2

static uint64_t test_seed(void)
{
    const char *env = getenv("NL_TEST_SEED");
    return env ? strtoull(env, NULL, 10) : 20261124;
}

struct env {
    struct nl_facility *fac;
    struct nl_tenants *ten;
};

static void env_open(struct env *e, const char *preset)
{
    struct nl_facility_spec spec;
    struct nl_err err;
    assert_int_equal(nl_facility_preset(preset, &spec, &err), 0);
    e->fac = nl_facility_create(&spec, &err);
    assert_non_null(e->fac);
    e->ten = nl_tenants_default(nl_facility_gpus(e->fac));
    assert_non_null(e->ten);
}

static void env_close(struct env *e)
{
    nl_tenants_destroy(e->ten);
    nl_facility_destroy(e->fac);
}

static uint32_t tier_of(const struct env *e, const struct nl_wjob *j)
{
    return nl_tenants_get(e->ten, j->spec.tenant)->tier;
}

/* A growing text buffer for generated traces. */
struct buf {
    char *s;
    size_t n, cap;
};

static void buf_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_add(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->n + (size_t)k + 1 > b->cap) {
        b->cap = xgrow(b->cap, b->n + (size_t)k + 1);
        b->s = xrealloc(b->s, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

/*
 * n rows with random gaps, durations and sizes; tenant "unknown", or one of
 * ntenants named ones with a skewed count (tenant k gets weight k + 1).
 */
static void gen_trace(struct buf *b, size_t n, uint64_t seed, int ntenants)
{
    struct nl_rng rng;
    nl_rng_seed(&rng, seed);
    buf_add(b, HEADER);
    int64_t t = 17;
    for (size_t i = 0; i < n; i++) {
        t += (int64_t)nl_rng_range(&rng, 0, 600);
        uint64_t dur = (uint64_t)nl_rng_loguniform(&rng, 10, 200000);
        uint32_t gpus = 1u << nl_rng_range(&rng, 0, 4);
        if (ntenants == 0) {
            buf_add(b, "job%zu,%lld,%llu,%u,unknown,completed\n", i, (long long)t,
                    (unsigned long long)dur, gpus);
        } else {
            /* Triangular: tenant k is drawn with weight k + 1. */
            uint64_t w = nl_rng_range(&rng, 0, (uint64_t)(ntenants * (ntenants + 1) / 2 - 1));
            int k = 0;
            while (w >= (uint64_t)(k + 1)) {
                w -= (uint64_t)(k + 1);
                k++;
            }
            buf_add(b, "job%zu,%lld,%llu,%u,vc%02d,unknown\n", i, (long long)t,
                    (unsigned long long)dur, gpus, k);
        }
    }
}

static int parse(const struct env *e, const char *text, const struct nl_workload_opts *o,
                 struct nl_workload *w, struct nl_err *err)
{
    return nl_workload_parse_trace(text, strlen(text), "dir/t.csv", e->fac, e->ten, o, w, err);
}

/* --- parsing -------------------------------------------------------------- */

static void test_parse_trace_good(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, "narvik");
    const char *text = HEADER "a,100,61,1,unknown,completed\n"
                              "b,100,3600,8,alice,failed\r\n"
                              "c,160,100,72,bob,killed\n"
                              "d,700,1,4,alice,unknown";
    struct nl_workload_opts o = {.seed = 1, .limit_factor = 1.5};
    struct nl_workload w;
    struct nl_err err = {0};
    assert_int_equal(parse(&e, text, &o, &w, &err), 0);
    assert_int_equal(w.n, 4);
    assert_string_equal(w.name, "t.csv");
    assert_true(w.time_scale == 1.0);
    assert_int_equal(w.max_gpus, 72);
    double gpu_h = (61.0 + 8 * 3600 + 72 * 100 + 4) / 3600.0;
    assert_true(w.offered_gpu_h > gpu_h - 1e-9 && w.offered_gpu_h < gpu_h + 1e-9);
    static const int64_t submit[] = {0, 0, 60, 600}, dur[] = {61, 3600, 100, 1};
    /* limit = duration x 1.5 rounded up to a minute: 91.5 s -> 2 min, 5400 s, 150 s -> 3 min. */
    static const int64_t limit[] = {120, 5400, 180, 60};
    static const uint32_t gpus[] = {1, 8, 72, 4};
    for (size_t i = 0; i < w.n; i++) {
        const struct nl_wjob *j = &w.jobs[i];
        assert_int_equal(j->id, i + 1);
        assert_int_equal(j->submit_us, submit[i] * SEC);
        assert_int_equal(j->duration_us, dur[i] * SEC);
        assert_int_equal(j->spec.time_limit_us, limit[i] * SEC);
        assert_int_equal(j->spec.gpus, gpus[i]);
        assert_true(j->spec.tenant < nl_tenants_count(e.ten));
        assert_true(j->spec.requeue);
        assert_int_equal(j->spec.grace_us, 60 * SEC);
    }
    /* The same trace tenant stays one tenant. */
    assert_int_equal(w.jobs[1].spec.tenant, w.jobs[3].spec.tenant);
    nl_workload_release(&w);
    assert_null(w.jobs);
    nl_workload_release(NULL);
    env_close(&e);
}

static void test_parse_trace_max_jobs(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, "dev");
    /* Line 4 is broken, but max_jobs = 2 stops before it. */
    const char *text = HEADER "a,1,10,1,unknown,unknown\nb,2,10,1,unknown,unknown\nbroken\n";
    struct nl_workload_opts o = {.max_jobs = 2};
    struct nl_workload w;
    assert_int_equal(parse(&e, text, &o, &w, NULL), 0);
    assert_int_equal(w.n, 2);
    nl_workload_release(&w);
    env_close(&e);
}

struct bad_case {
    const char *text;
    const char *prefix; /* err must start with it */
    const char *rest;   /* and contain this */
};

static void test_parse_trace_malformed(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
            {"", "dir/t.csv:1: header: ", "expected"},
            {"job_id,submit,duration_s,gpus,tenant,status\na,1,1,1,x,unknown\n",
             "dir/t.csv:1: header: ", "expected"},
            {HEADER, "dir/t.csv:2: job_id: ", "missing"},
            {HEADER "a,1,10,1,x,unknown\nb,2,10,1,x\n", "dir/t.csv:3: status: ", "missing"},
            {HEADER "a,1,10,1,x,unknown\nb,2,10\n", "dir/t.csv:3: gpus: ", "missing"},
            {HEADER "a,1,10,1,x,unknown\nb,2,10,1,x,unknown,extra\n",
             "dir/t.csv:3: status: ", "followed by more fields"},
            {HEADER "a,1,10,1,x,unknown\nb,2x,10,1,x,unknown\n",
             "dir/t.csv:3: submit_s: ", "'2x' is not an integer"},
            {HEADER "a,1,10,1,x,unknown\nb,-5,10,1,x,unknown\n",
             "dir/t.csv:3: submit_s: ", "'-5' is negative"},
            {HEADER "a,1,10,1,x,unknown\nb,,10,1,x,unknown\n", "dir/t.csv:3: submit_s: ", "empty"},
            {HEADER "a,1,10,1,x,unknown\nb,2,10,0,x,unknown\n",
             "dir/t.csv:3: gpus: ", "'0' is not positive"},
            {HEADER "a,1,10,1,x,unknown\nb,2,10,-1,x,unknown\n",
             "dir/t.csv:3: gpus: ", "'-1' is not positive"},
            {HEADER "a,1,10,1,x,unknown\nb,2,10,99999999999999999999999,x,unknown\n",
             "dir/t.csv:3: gpus: ", "is too large"},
            {HEADER "a,1,10,1,x,unknown\nb,2,0,1,x,unknown\n",
             "dir/t.csv:3: duration_s: ", "'0' is not positive"},
            {HEADER "a,1,10,1,x,unknown\nb,2,30.5,1,x,unknown\n",
             "dir/t.csv:3: duration_s: ", "'30.5' is not an integer"},
            {HEADER "a,1,10,1,x,unknown\nb,2,99999999,1,x,unknown\n",
             "dir/t.csv:3: duration_s: ", "is too large"},
            {HEADER "a,20,10,1,x,unknown\nb,21,10,1,x,unknown\nc,5,10,1,x,unknown\n",
             "dir/t.csv:4: submit_s: ", "'5' is before the previous row's 21"},
            {HEADER "a,1,10,1,x,unknown\n"
                    "b01234567890123456789012345678901234567890123456789012345678901234,2,10,1,"
                    "x,unknown\n",
             "dir/t.csv:3: job_id: ", "is longer than 64 bytes"},
            {HEADER "a,1,10,1,x,unknown\n,2,10,1,x,unknown\n", "dir/t.csv:3: job_id: ", "empty"},
            {HEADER "a,1,10,1,x,unknown\n\nb,2,10,1,x,unknown\n",
             "dir/t.csv:3: job_id: ", "blank line"},
            {HEADER "a,1,10,1,x,unknown\nb,2,10,1,x\ty,unknown\n",
             "dir/t.csv:3: tenant: ", "control character"},
            {HEADER "a,1,10,1,x,unknown\nb,2,10,1,x,done\n",
             "dir/t.csv:3: status: ", "'done' is not completed, failed, killed or unknown"},
    };
    struct env e;
    env_open(&e, "narvik");
    struct nl_workload_opts o = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct nl_workload w;
        memset(&w, 0xa5, sizeof(w));
        struct nl_workload before = w;
        struct nl_err err = {0};
        int rc = parse(&e, cases[i].text, &o, &w, &err);
        if (rc != -EINVAL || strncmp(err.msg, cases[i].prefix, strlen(cases[i].prefix)) != 0 ||
            strstr(err.msg, cases[i].rest) == NULL)
            fail_msg("case %zu: rc %d, err '%s', want '%s...%s'", i, rc, err.msg, cases[i].prefix,
                     cases[i].rest);
        assert_int_equal(err.code, -EINVAL);
        assert_memory_equal(&w, &before, sizeof(w)); /* out untouched */
    }
    env_close(&e);
}

static void test_parse_trace_bad_opts(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, "narvik");
    const char *text = HEADER "a,1,10,1,x,unknown\nb,5,10,1,x,unknown\n";
    struct nl_workload w;
    struct nl_err err;
    struct nl_workload_opts o = {.load = -1};
    assert_int_equal(parse(&e, text, &o, &w, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "load: "));
    o = (struct nl_workload_opts){.limit_factor = -2};
    assert_int_equal(parse(&e, text, &o, &w, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "limit_factor: "));
    o = (struct nl_workload_opts){.tier_share = {[5] = 1}};
    assert_int_equal(parse(&e, text, &o, &w, &err), -EINVAL);
    assert_string_equal(err.msg, "tier_share[5]: no such tier (3 tiers)");
    /* Arrivals all at one second cannot be scaled to a load. */
    o = (struct nl_workload_opts){.load = 0.5};
    const char *flat = HEADER "a,3,10,1,x,unknown\nb,3,10,1,x,unknown\n";
    assert_int_equal(parse(&e, flat, &o, &w, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "load: "));
    env_close(&e);
}

/* --- fitting -------------------------------------------------------------- */

static void check_load(const char *preset, double load, uint64_t seed)
{
    struct env e;
    env_open(&e, preset);
    struct buf b = {0};
    gen_trace(&b, 3000, seed, 0);
    struct nl_workload_opts o = {.load = load, .seed = seed};
    struct nl_workload w;
    struct nl_err err;
    assert_int_equal(parse(&e, b.s, &o, &w, &err), 0);
    double span_h = (double)(w.jobs[w.n - 1].submit_us - w.jobs[0].submit_us) / SEC / 3600.0;
    double got = w.offered_gpu_h / ((double)nl_facility_gpus(e.fac) * span_h);
    if (got < load * 0.99 || got > load * 1.01)
        fail_msg("%s: load %g gave %g (seed %llu)", preset, load, got, (unsigned long long)seed);
    for (size_t i = 1; i < w.n; i++)
        assert_true(w.jobs[i].submit_us >= w.jobs[i - 1].submit_us);
    nl_workload_release(&w);
    free(b.s);
    env_close(&e);
}

static void test_load_scaling(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    check_load("narvik", 0.9, seed);
    check_load("loughton", 0.5, seed + 1);
    check_load("dev", 1.2, seed + 2);
}

/* Job shares per tier of a workload, in tier order. */
static void tier_counts(const struct env *e, const struct nl_workload *w, double frac[3])
{
    size_t c[3] = {0};
    for (size_t i = 0; i < w->n; i++)
        c[tier_of(e, &w->jobs[i])]++;
    for (int t = 0; t < 3; t++)
        frac[t] = (double)c[t] / (double)w->n;
}

static void expect_shares(const double got[3], const double want[3], double tol)
{
    for (int t = 0; t < 3; t++)
        if (got[t] < want[t] - tol || got[t] > want[t] + tol)
            fail_msg("tier %d: share %.3f, want %.3f +- %.3f", t, got[t], want[t], tol);
}

static void test_tier_shares(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    printf("seed %llu\n", (unsigned long long)seed);
    struct env e;
    env_open(&e, "narvik");
    static const double want[3] = {0.50, 0.20, 0.30};
    double got[3];
    struct nl_workload w;
    struct nl_workload_opts o = {.seed = seed};
    /* Tenant "unknown": every job on its own, by hash. */
    struct buf b = {0};
    gen_trace(&b, 5000, seed, 0);
    assert_int_equal(parse(&e, b.s, &o, &w, NULL), 0);
    tier_counts(&e, &w, got);
    expect_shares(got, want, 0.03);
    nl_workload_release(&w);
    free(b.s);
    /* Ten named tenants of skewed sizes, dealt whole. */
    b = (struct buf){0};
    gen_trace(&b, 5000, seed, 10);
    assert_int_equal(parse(&e, b.s, &o, &w, NULL), 0);
    tier_counts(&e, &w, got);
    expect_shares(got, want, 0.05);
    /* Explicit shares: everything to the regional tier. */
    nl_workload_release(&w);
    o.tier_share[TIER_REG] = 1;
    assert_int_equal(parse(&e, b.s, &o, &w, NULL), 0);
    tier_counts(&e, &w, got);
    expect_shares(got, (const double[3]){0, 0, 1}, 0);
    for (size_t i = 0; i < w.n; i++)
        assert_true(w.jobs[i].spec.preemptible);
    nl_workload_release(&w);
    free(b.s);
    env_close(&e);
}

static void test_determinism(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    struct env e;
    env_open(&e, "narvik");
    struct buf b = {0};
    gen_trace(&b, 2000, seed, 0);
    struct nl_workload_opts o = {.seed = seed, .load = 0.9};
    struct nl_workload w1, w2, w3;
    assert_int_equal(parse(&e, b.s, &o, &w1, NULL), 0);
    assert_int_equal(parse(&e, b.s, &o, &w2, NULL), 0);
    assert_int_equal(w1.n, w2.n);
    assert_memory_equal(w1.jobs, w2.jobs, w1.n * sizeof(*w1.jobs));
    o.seed = seed + 1; /* another seed maps tenants differently */
    assert_int_equal(parse(&e, b.s, &o, &w3, NULL), 0);
    assert_int_equal(w3.n, w1.n);
    assert_true(memcmp(w1.jobs, w3.jobs, w1.n * sizeof(*w1.jobs)) != 0);
    nl_workload_release(&w1);
    nl_workload_release(&w2);
    nl_workload_release(&w3);
    free(b.s);

    struct nl_synth_opts so = {.days = 2, .load = 0.8, .seed = seed, .llm_share = -1};
    struct nl_workload_opts wo = {.seed = seed};
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &wo, &w1, NULL), 0);
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &wo, &w2, NULL), 0);
    assert_int_equal(w1.n, w2.n);
    assert_memory_equal(w1.jobs, w2.jobs, w1.n * sizeof(*w1.jobs));
    nl_workload_release(&w1);
    nl_workload_release(&w2);
    env_close(&e);
}

/*
 * Every residency is satisfied by some site, and only codes in allowed
 * (NULL-terminated) appear; each code in must_see appears at least once.
 */
static void check_residency(const struct env *e, const struct nl_workload *w,
                            const char *const *allowed, const char *const *must_see)
{
    uint32_t ns = nl_facility_nsites(e->fac);
    for (size_t i = 0; i < w->n; i++) {
        const struct nl_residency *r = &w->jobs[i].spec.residency;
        bool ok = false, listed = false;
        for (uint32_t s = 0; s < ns && !ok; s++) {
            struct nl_site_info si;
            nl_facility_site(e->fac, s, &si);
            ok = nl_residency_allows(r, si.jurisdiction, si.eea);
        }
        for (const char *const *a = allowed; *a != NULL; a++)
            listed = listed || strcmp(r->code, *a) == 0;
        if (!ok || !listed)
            fail_msg("job %zu: residency '%s' on %s", i, r->code, nl_facility_name(e->fac));
    }
    for (const char *const *m = must_see; *m != NULL; m++) {
        size_t k = 0;
        for (size_t i = 0; i < w->n; i++)
            k += strcmp(w->jobs[i].spec.residency.code, *m) == 0;
        if (k == 0)
            fail_msg("no job with residency '%s' on %s", *m, nl_facility_name(e->fac));
    }
}

/* Trace and synthetic workloads on e's facility; closes e. */
static void residency_case(struct env *e, const char *const *allowed, const char *const *seen)
{
    struct buf b = {0};
    gen_trace(&b, 3000, test_seed(), 0);
    struct nl_workload_opts o = {.seed = test_seed(), .load = 0.9};
    struct nl_workload w;
    assert_int_equal(parse(e, b.s, &o, &w, NULL), 0);
    check_residency(e, &w, allowed, seen);
    nl_workload_release(&w);
    struct nl_synth_opts so = {.days = 1, .seed = test_seed(), .llm_share = -1};
    assert_int_equal(nl_workload_synthetic(&so, e->fac, e->ten, &o, &w, NULL), 0);
    check_residency(e, &w, allowed, (const char *const[]){NULL});
    nl_workload_release(&w);
    free(b.s);
    env_close(e);
}

static void test_residency_facility(void **state)
{
    (void)state;
    struct env e;
    /* loughton is UK only, outside the EEA: the sovereign "NO" and anchor "EEA" become "any". */
    env_open(&e, "loughton");
    residency_case(&e, (const char *const[]){"any", "UK", NULL}, (const char *const[]){NULL});
    /* narvik is NO only, in the EEA: both stay. */
    env_open(&e, "narvik");
    residency_case(&e, (const char *const[]){"any", "NO", "EEA", NULL},
                   (const char *const[]){"any", "NO", "EEA", NULL});
    /* A cluster moved to SE and UK by hand: "NO" is unsatisfiable, "EEA" is kept (SE). */
    struct nl_facility_spec spec;
    assert_int_equal(nl_facility_spec_cluster(16, 8, 4, &spec, NULL), 0);
    snprintf(spec.sites[0].jurisdiction, sizeof(spec.sites[0].jurisdiction), "SE");
    spec.sites[1] = spec.sites[0];
    snprintf(spec.sites[1].name, sizeof(spec.sites[1].name), "lon");
    snprintf(spec.sites[1].jurisdiction, sizeof(spec.sites[1].jurisdiction), "UK");
    spec.nsites = 2;
    e.fac = nl_facility_create(&spec, NULL);
    assert_non_null(e.fac);
    e.ten = nl_tenants_default(nl_facility_gpus(e.fac));
    residency_case(&e, (const char *const[]){"any", "EEA", NULL},
                   (const char *const[]){"any", "EEA", NULL});
}

/* Tier rules: sovereign ~5% sensitive, regional preemptible, others not. */
static void test_tier_rules(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, "narvik");
    struct buf b = {0};
    gen_trace(&b, 6000, test_seed(), 0);
    struct nl_workload_opts o = {.seed = test_seed()};
    struct nl_workload w;
    assert_int_equal(parse(&e, b.s, &o, &w, NULL), 0);
    size_t sov = 0, sens = 0, home = 0;
    for (size_t i = 0; i < w.n; i++) {
        const struct nl_job_spec *s = &w.jobs[i].spec;
        uint32_t t = tier_of(&e, &w.jobs[i]);
        assert_int_equal(s->preemptible, t == TIER_REG);
        if (t == TIER_REG)
            assert_string_equal(s->residency.code, "any");
        if (t != TIER_SOV) {
            assert_false(s->sensitive);
            continue;
        }
        sov++;
        sens += s->sensitive;
        home += strcmp(s->residency.code, "NO") == 0;
    }
    double fs = (double)sens / (double)sov, fh = (double)home / (double)sov;
    if (fs < 0.03 || fs > 0.07 || fh < 0.36 || fh > 0.44)
        fail_msg("sovereign: %.3f sensitive (want 0.05), %.3f NO (want 0.40)", fs, fh);
    nl_workload_release(&w);
    free(b.s);
    env_close(&e);
}

/* --- synthetic ------------------------------------------------------------ */

static void test_synthetic_gw10_year(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, "gw10");
    struct nl_synth_opts so = {.days = 365, .load = 0.9, .seed = test_seed(), .llm_share = -1};
    struct nl_workload_opts o = {.seed = test_seed()};
    struct nl_workload w;
    struct nl_err err;
    int64_t t0 = nl_clock_monotonic_us();
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &o, &w, &err), 0);
    double gen_s = (double)(nl_clock_monotonic_us() - t0) / 1e6;
    double gpus = (double)nl_facility_gpus(e.fac);
    double want_h = 0.9 * gpus * YEAR_S / 3600.0;
    assert_true(w.offered_gpu_h > want_h * 0.999 && w.offered_gpu_h < want_h * 1.001);
    size_t n[3] = {0};
    double h[3] = {0};
    for (size_t i = 0; i < w.n; i++) {
        const struct nl_wjob *j = &w.jobs[i];
        int c = j->spec.gpus <= 8 ? 0 : j->spec.gpus <= 512 ? 1 : 2;
        n[c]++;
        h[c] += (double)j->spec.gpus * (double)j->duration_us / SEC / 3600.0;
        assert_true(j->submit_us >= 0 && j->submit_us < (int64_t)(YEAR_S * SEC));
        assert_true(i == 0 || j->submit_us >= w.jobs[i - 1].submit_us);
        assert_int_equal(j->id, i + 1);
        if (c == 2) {
            assert_true(j->spec.gpus >= 1024 && j->spec.gpus <= 16384);
            assert_true(j->spec.gpus % 64 == 0);
            assert_int_equal(tier_of(&e, j), TIER_ANC);
        }
    }
    printf("gw10 year: %zu jobs (%zu small, %zu medium, %zu llm), GPU-h shares %.5f %.4f %.4f, "
           "%.2f s\n",
           w.n, n[0], n[1], n[2], h[0] / w.offered_gpu_h, h[1] / w.offered_gpu_h,
           h[2] / w.offered_gpu_h, gen_s);
    /* docs/workloads.md: ~450k small, ~450k medium, ~111k LLM; 99.0% of GPU-hours in LLM. */
    assert_true(w.n > 900000 && w.n < 1100000);
    assert_true(n[0] > 420000 && n[0] < 480000);
    assert_true(n[1] > 420000 && n[1] < 480000);
    assert_true(n[2] > 100000 && n[2] < 125000);
    assert_true(h[2] / w.offered_gpu_h > 0.985 && h[2] / w.offered_gpu_h < 0.995);
    assert_true(w.max_gpus <= 16384);
    nl_workload_release(&w);

    /* The uncapped 70/25/5 would need ~6e8 jobs: refused, naming the field. */
    so.llm_share = 0.7;
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &o, &w, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "llm_share: "));
    env_close(&e);
}

static void test_synthetic_small_facility(void **state)
{
    (void)state;
    struct env e;
    /* dev has 16 GPUs in one site: every job is capped to 16, and the load is still exact. */
    env_open(&e, "dev");
    struct nl_synth_opts so = {.days = 3, .seed = test_seed(), .llm_share = -1};
    struct nl_workload_opts o = {.seed = test_seed()};
    struct nl_workload w;
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &o, &w, NULL), 0);
    assert_true(w.n > 0);
    assert_true(w.max_gpus <= 16);
    double want_h = 0.9 * 16 * 3 * 24; /* default load 0.9 */
    assert_true(w.offered_gpu_h > want_h * 0.99 && w.offered_gpu_h < want_h * 1.01);
    assert_string_equal(w.name, "synthetic");
    nl_workload_release(&w);
    env_close(&e);

    /* A week of narvik is under the budget: 70/25/5 by GPU-hours, ~226k jobs. */
    env_open(&e, "narvik");
    so = (struct nl_synth_opts){.days = 7, .load = 0.9, .seed = test_seed(), .llm_share = -1};
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &o, &w, NULL), 0);
    size_t small = 0;
    double h[3] = {0};
    for (size_t i = 0; i < w.n; i++) {
        uint32_t g = w.jobs[i].spec.gpus;
        small += g <= 8;
        h[g <= 8 ? 0 : g <= 512 ? 1 : 2] += (double)g * (double)w.jobs[i].duration_us / SEC / 3600;
    }
    printf("narvik week: %zu jobs, %zu small\n", w.n, small);
    assert_true(w.n > 200000 && w.n < 250000);
    assert_true((double)small / (double)w.n > 0.97);
    expect_shares((const double[3]){h[0] / w.offered_gpu_h, h[1] / w.offered_gpu_h,
                                    h[2] / w.offered_gpu_h},
                  (const double[3]){0.05, 0.25, 0.70}, 0.001);
    nl_workload_release(&w);
    o.max_jobs = 100;
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &o, &w, NULL), 0);
    assert_int_equal(w.n, 100);
    nl_workload_release(&w);

    struct nl_err err;
    so.days = 0;
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &o, &w, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "days: "));
    so.days = 1;
    so.llm_share = 1.5;
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &o, &w, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "llm_share: "));
    env_close(&e);
}

/* --- issue 13: user time limits, trace copies, the LLM-era mix ------------ */

/* The popular values of workload.c's user-limit model, in seconds. */
static bool popular_limit(int64_t s)
{
    static const int64_t v[] = {300,    600,    900,    1800,   3600,   7200,    10800,
                                14400,  21600,  28800,  43200,  64800,  86400,   129600,
                                172800, 259200, 345600, 432000, 604800, 1209600};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (v[i] == s)
            return true;
    return false;
}

static void test_user_limits(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, "dev");
    struct buf b = {0};
    gen_trace(&b, 4000, test_seed(), 5);
    struct nl_workload_opts o = {.seed = test_seed(), .user_limits = true};
    struct nl_workload w;
    assert_int_equal(parse(&e, b.s, &o, &w, NULL), 0);
    size_t popular = 0, at_max = 0;
    double over = 0;
    for (size_t i = 0; i < w.n; i++) {
        int64_t lim_s = w.jobs[i].spec.time_limit_us / SEC;
        int64_t dur_s = w.jobs[i].duration_us / SEC;
        assert_true(lim_s >= dur_s); /* a user limit never cuts the job */
        popular += popular_limit(lim_s);
        at_max += lim_s == 1209600;
        over += (double)lim_s / (double)(dur_s > 0 ? dur_s : 1);
    }
    printf("user limits: %zu jobs, %.1f%% at a popular value, %.1f%% at the max\n", w.n,
           100.0 * (double)popular / (double)w.n, 100.0 * (double)at_max / (double)w.n);
    /* Modal: at least 90% at the 20 popular values (only runs past 14 days are not). */
    assert_true((double)popular / (double)w.n >= 0.9);
    assert_true((double)at_max / (double)w.n > 0.07 && (double)at_max / (double)w.n < 0.3);
    assert_true(over / (double)w.n > 2); /* most jobs ask for several times their run */
    nl_workload_release(&w);

    /* The draws hash the job, not the shared rng: everything else is as with exact limits. */
    struct nl_workload x;
    struct nl_workload_opts ox = {.seed = test_seed()};
    assert_int_equal(parse(&e, b.s, &o, &w, NULL), 0);
    assert_int_equal(parse(&e, b.s, &ox, &x, NULL), 0);
    assert_int_equal(w.n, x.n);
    for (size_t i = 0; i < w.n; i++) {
        assert_int_equal(w.jobs[i].submit_us, x.jobs[i].submit_us);
        assert_int_equal(w.jobs[i].spec.tenant, x.jobs[i].spec.tenant);
        assert_int_equal(w.jobs[i].spec.sensitive, x.jobs[i].spec.sensitive);
    }
    nl_workload_release(&w);
    nl_workload_release(&x);
    free(b.s);
    env_close(&e);
}

static void test_trace_copies(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, "narvik");
    struct buf b = {0};
    gen_trace(&b, 500, test_seed(), 8);
    struct nl_workload one, three;
    struct nl_workload_opts o = {.seed = test_seed()};
    assert_int_equal(parse(&e, b.s, &o, &one, NULL), 0);
    o.copies = 3;
    assert_int_equal(parse(&e, b.s, &o, &three, NULL), 0);
    assert_int_equal(three.n, 3 * one.n);
    assert_true(fabs(three.offered_gpu_h - 3 * one.offered_gpu_h) < 1e-6 * three.offered_gpu_h);
    /* In time order, ids 1..n, arrivals within the one copy's span. */
    int64_t span = one.jobs[one.n - 1].submit_us;
    for (size_t i = 0; i < three.n; i++) {
        assert_int_equal(three.jobs[i].id, i + 1);
        assert_true(three.jobs[i].submit_us >= 0 && three.jobs[i].submit_us <= span);
        if (i > 0)
            assert_true(three.jobs[i].submit_us >= three.jobs[i - 1].submit_us);
    }
    /* Copies are remapped: some trace tenant lands on another tenant in a copy. */
    size_t moved = 0;
    for (size_t i = 0; i < three.n; i++)
        for (size_t k = 0; k < one.n; k++)
            if (one.jobs[k].duration_us == three.jobs[i].duration_us &&
                one.jobs[k].spec.gpus == three.jobs[i].spec.gpus &&
                one.jobs[k].spec.tenant != three.jobs[i].spec.tenant) {
                moved++;
                break;
            }
    assert_true(moved > 0);
    /* With a load, three copies compress no more than one copy would need to: the load holds. */
    o.load = 0.5;
    struct nl_workload l3;
    assert_int_equal(parse(&e, b.s, &o, &l3, NULL), 0);
    assert_true(l3.time_scale > 0);
    nl_workload_release(&l3);
    struct nl_err err;
    o.copies = NL_WORKLOAD_COPIES_MAX + 1;
    assert_int_equal(parse(&e, b.s, &o, &l3, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "copies: "));
    nl_workload_release(&one);
    nl_workload_release(&three);
    free(b.s);
    env_close(&e);
}

static void test_synthetic_llm_era(void **state)
{
    (void)state;
    struct env e;
    /* A 1,024-GPU cluster: gangs of 128-512 GPUs, a few of them hold most GPU-hours. */
    struct nl_facility_spec spec;
    assert_int_equal(nl_facility_spec_cluster(128, 8, 4, &spec, NULL), 0);
    e.fac = nl_facility_create(&spec, NULL);
    assert_non_null(e.fac);
    e.ten = nl_tenants_default(nl_facility_gpus(e.fac));
    struct nl_synth_opts so = {.days = 14, .load = 0.9, .seed = test_seed(), .llm_share = -1,
                               .llm_era = true};
    struct nl_workload_opts o = {.seed = test_seed()};
    struct nl_workload w;
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &o, &w, NULL), 0);
    /* Pre-training gangs (128-512) go to the anchor tier; fine-tuning stops at 256 GPUs. */
    double anchor_h = 0;
    size_t gangs = 0, small = 0;
    for (size_t i = 0; i < w.n; i++) {
        uint32_t g = w.jobs[i].spec.gpus;
        assert_true(g <= 512);
        if (g > 256) {
            gangs++;
            assert_int_equal(tier_of(&e, &w.jobs[i]), TIER_ANC);
        }
        if (tier_of(&e, &w.jobs[i]) == TIER_ANC)
            anchor_h += (double)g * (double)w.jobs[i].duration_us / SEC / 3600;
        small += g <= 8;
    }
    printf("llm-era on 1,024 GPUs: %zu jobs, %zu gangs over 256 GPUs, anchor tier %.0f%% of "
           "GPU-h, %zu of <= 8 GPUs\n",
           w.n, gangs, 100 * anchor_h / w.offered_gpu_h, small);
    assert_true(gangs >= 1 && gangs * 20 < w.n);
    assert_true(anchor_h / w.offered_gpu_h > 0.55); /* all pre-training, some of the rest */
    assert_true((double)small / (double)w.n > 0.5); /* evaluation and notebooks are most jobs */
    double want_h = 0.9 * 1024 * 14 * 24;
    assert_true(w.offered_gpu_h > want_h * 0.99 && w.offered_gpu_h < want_h * 1.01);
    nl_workload_release(&w);
    struct nl_err err;
    so.llm_share = 0.5;
    assert_int_equal(nl_workload_synthetic(&so, e.fac, e.ten, &o, &w, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "llm_share: "));
    env_close(&e);
}

/* --- the shared traces ---------------------------------------------------- */

struct real_trace {
    const char *file;
    size_t jobs;
    double gpu_h; /* from ../shared/traces/README.md */
};

static void test_real_traces(void **state)
{
    (void)state;
    static const struct real_trace traces[] = {
            {"philly.csv", 111539, 3622168.8},
            {"msitp.csv", 69351, 1632719.7},
            {"alibaba-openb2023.csv", 6203, 59612.2},
    };
    const char *dir = getenv("NL_TRACES_DIR") ? getenv("NL_TRACES_DIR") : NL_TRACES_DIR;
    struct env e;
    env_open(&e, "narvik");
    size_t found = 0;
    for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, traces[i].file);
        struct stat st;
        if (stat(path, &st) != 0) {
            printf("SKIP: %s not found\n", path);
            continue;
        }
        char *text = NULL;
        size_t len = 0;
        struct nl_err err = {0};
        assert_int_equal(nl_file_read(path, NL_TRACE_BYTES_MAX, &text, &len, &err), 0);
        struct nl_workload_opts o = {.load = 0.9, .seed = 7};
        struct nl_workload w;
        int64_t t0 = nl_clock_monotonic_us();
        int rc = nl_workload_parse_trace(text, len, path, e.fac, e.ten, &o, &w, &err);
        double ms = (double)(nl_clock_monotonic_us() - t0) / 1000.0;
        if (rc != 0)
            fail_msg("%s: %s", path, err.msg);
        double tiers[3];
        tier_counts(&e, &w, tiers);
        printf("%s: %zu jobs, %.1f GPU-h, scale %.5f, tiers %.3f/%.3f/%.3f, parsed and fitted in "
               "%.1f ms\n",
               traces[i].file, w.n, w.offered_gpu_h, w.time_scale, tiers[0], tiers[1], tiers[2],
               ms);
        expect_shares(tiers, (const double[3]){0.50, 0.20, 0.30}, 0.02);
        assert_int_equal(w.n, traces[i].jobs);
        assert_true(w.offered_gpu_h > traces[i].gpu_h - 1 && w.offered_gpu_h < traces[i].gpu_h + 1);
        nl_workload_release(&w);
        free(text);
        found++;
    }
    env_close(&e);
    if (found == 0)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_trace_good),
            cmocka_unit_test(test_parse_trace_max_jobs),
            cmocka_unit_test(test_parse_trace_malformed),
            cmocka_unit_test(test_parse_trace_bad_opts),
            cmocka_unit_test(test_load_scaling),
            cmocka_unit_test(test_tier_shares),
            cmocka_unit_test(test_determinism),
            cmocka_unit_test(test_residency_facility),
            cmocka_unit_test(test_tier_rules),
            cmocka_unit_test(test_synthetic_gw10_year),
            cmocka_unit_test(test_synthetic_small_facility),
            cmocka_unit_test(test_user_limits),
            cmocka_unit_test(test_trace_copies),
            cmocka_unit_test(test_synthetic_llm_era),
            cmocka_unit_test(test_real_traces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
