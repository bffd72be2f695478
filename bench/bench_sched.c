/* SPDX-License-Identifier: MIT */
/*
 * bench_sched.c - scheduling decisions per second, pass latency and bytes
 * of scheduler state per GPU on a facility preset with N pending jobs.
 *
 *   bench_sched [FACILITY] [PENDING] [REPS]     (defaults: narvik 100000 5)
 *   NL_BENCH_SHAPED=F bench_sched ...          (a share F of multi-node jobs shaped)
 *
 * Each repetition builds a fresh scheduler, submits PENDING jobs of a
 * gigafactory-like mix (mostly 1-8 GPUs, some rack-sized and multi-rack
 * gangs), then measures:
 *   - the cold pass: an empty facility meets the whole queue; every job it
 *     looks at is one placement decision;
 *   - steady passes: 1% of the running jobs end, as many new jobs arrive,
 *     and a pass runs, 50 times, with the queue still PENDING deep;
 *   - bytes of scheduler state per GPU with the facility full.
 * It prints the median of the repetitions as one JSON line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stat.h"
#include "common/clock.h"
#include "common/rng.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"

#define SEC 1000000LL

struct rep {
    double cold_s, cold_decisions, cold_starts;
    double steady_pass_s, steady_decisions, steady_max_s;
    double bytes_per_gpu, job_bytes_per_job, util;
};

static uint32_t job_size(struct nl_rng *r)
{
    double u = nl_rng_unit(r);
    if (u < 0.60)
        return (uint32_t)nl_rng_range(r, 1, 4);
    if (u < 0.85)
        return 8;
    if (u < 0.95)
        return (uint32_t)nl_rng_range(r, 16, 72);
    if (u < 0.99)
        return (uint32_t)(72 * nl_rng_range(r, 2, 8));
    return (uint32_t)(1024 << nl_rng_range(r, 0, 3));
}

static uint64_t next_id = 1;
/*
 * Share of the multi-node jobs (more GPUs than a 4-GPU node) that ask for
 * a shape (NL_BENCH_SHAPED, 0 to 1; default 0, the mix above unchanged):
 * their GPUs rounded up to whole nodes of 4, as --nodes N --gpus-per-node 4.
 */
static double shaped_share;

static void submit_one(struct nl_sched *s, struct nl_rng *r, size_t ntenants, int64_t now)
{
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.gpus = job_size(r);
    spec.tenant = (uint32_t)nl_rng_range(r, 0, ntenants - 1);
    spec.time_limit_us = (int64_t)nl_rng_range(r, 600, 48 * 3600) * SEC;
    if (shaped_share > 0 && spec.gpus > 4 && nl_rng_unit(r) < shaped_share) {
        spec.nodes = (spec.gpus + 3) / 4;
        spec.gpus_per_node = 4;
        spec.gpus = spec.nodes * 4;
    }
    nl_sched_submit(s, next_id++, &spec, now, NULL);
}

static void run_rep(const struct nl_facility *fac, const struct nl_tenants *ten,
                    const struct nl_sched_config *cfg, size_t pending, uint64_t seed,
                    struct rep *out)
{
    struct nl_rng r;
    nl_rng_seed(&r, seed);
    struct nl_sched *s = nl_sched_create(fac, ten, cfg, NULL);
    size_t nt = nl_tenants_count(ten);
    for (size_t i = 0; i < pending; i++)
        submit_one(s, &r, nt, 0);
    struct nl_sched_stats st0, st1;
    nl_sched_stats(s, &st0);
    const struct nl_action *act;
    int64_t t0 = nl_clock_monotonic_us();
    size_t n = nl_sched_pass(s, SEC, &act);
    int64_t t1 = nl_clock_monotonic_us();
    nl_sched_stats(s, &st1);
    out->cold_s = (double)(t1 - t0) / 1e6;
    out->cold_decisions = (double)(st1.decisions - st0.decisions);
    out->cold_starts = (double)n;
    out->util = (double)st1.gpus_alloc / (double)st1.gpus_total;
    out->bytes_per_gpu = (double)nl_sched_gpu_state_bytes(s) / (double)nl_facility_gpus(fac);
    out->job_bytes_per_job =
            (double)(nl_sched_memory_bytes(s) - nl_sched_gpu_state_bytes(s)) / (double)pending;

    /* Steady state: churn 1% of the running jobs per pass, keep the queue as deep. */
    double total_s = 0, total_dec = 0, max_s = 0;
    int64_t now = 2 * SEC;
    for (int k = 0; k < 50; k++, now += 10 * SEC) {
        const uint64_t *ids;
        size_t nj = nl_sched_jobs(s, &ids);
        uint64_t *run = xmalloc((nj ? nj : 1) * sizeof(uint64_t));
        size_t nr = 0;
        for (size_t i = 0; i < nj; i++) {
            struct nl_job_info info;
            if (nl_sched_job_info(s, ids[i], &info) == 0 && info.state == NL_JOB_RUNNING)
                run[nr++] = ids[i];
        }
        size_t ends = nr / 100 + 1;
        for (size_t e = 0; e < ends && nr > 0; e++) {
            size_t pick = (size_t)nl_rng_range(&r, 0, nr - 1);
            nl_sched_job_exit(s, run[pick], NL_EXIT_OK, now, NULL, NULL);
            run[pick] = run[--nr];
            submit_one(s, &r, nt, now);
        }
        free(run);
        nl_sched_stats(s, &st0);
        t0 = nl_clock_monotonic_us();
        n = nl_sched_pass(s, now, &act);
        t1 = nl_clock_monotonic_us();
        nl_sched_stats(s, &st1);
        /* Preempted jobs would exit after their grace; end them now so GPUs keep flowing. */
        for (size_t i = 0; i < n; i++)
            if (act[i].kind == NL_ACT_PREEMPT)
                nl_sched_job_exit(s, act[i].job, NL_EXIT_FAILED, now, NULL, NULL);
        double dt = (double)(t1 - t0) / 1e6;
        total_s += dt;
        total_dec += (double)(st1.decisions - st0.decisions);
        if (dt > max_s)
            max_s = dt;
    }
    out->steady_pass_s = total_s / 50;
    out->steady_decisions = total_dec / 50;
    out->steady_max_s = max_s;
    nl_sched_destroy(s);
}

#define MEDIAN(field)                                          \
    do {                                                       \
        for (int i = 0; i < reps; i++)                         \
            v[i] = rs[i].field;                                \
        qsort(v, (size_t)reps, sizeof(double), bench_cmp_double);    \
        med.field = v[reps / 2];                               \
    } while (0)

int main(int argc, char **argv)
{
    const char *preset = argc > 1 ? argv[1] : "narvik";
    size_t pending = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    if (reps < 1 || reps > 64)
        reps = 5;
    const char *sh = getenv("NL_BENCH_SHAPED");
    shaped_share = sh != NULL ? atof(sh) : 0;
    struct nl_facility_spec spec;
    struct nl_err err;
    if (nl_facility_preset(preset, &spec, &err) < 0) {
        fprintf(stderr, "bench_sched: %s\n", err.msg);
        return 2;
    }
    struct nl_facility *fac = nl_facility_create(&spec, &err);
    /* Arguments after REPS are scheduler settings (key=value), as nordlys sim --set. */
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    for (int i = 4; i < argc; i++) {
        if (nl_sched_config_set(&cfg, argv[i], &err) < 0) {
            fprintf(stderr, "bench_sched: %s\n", err.msg);
            return 2;
        }
    }
    struct nl_tenants *ten = nl_tenants_default(nl_facility_gpus(fac));
    struct rep rs[64], med;
    double v[64];
    for (int i = 0; i < reps; i++)
        run_rep(fac, ten, &cfg, pending, 1000 + (uint64_t)i, &rs[i]);
    MEDIAN(cold_s);
    MEDIAN(cold_decisions);
    MEDIAN(cold_starts);
    MEDIAN(steady_pass_s);
    MEDIAN(steady_decisions);
    MEDIAN(steady_max_s);
    MEDIAN(bytes_per_gpu);
    MEDIAN(util);
    MEDIAN(job_bytes_per_job);
    printf("{\"facility\": \"%s\", \"gpus\": %llu, \"pending\": %zu, \"reps\": %d, "
           "\"cold_pass_s\": %.4f, \"cold_decisions\": %.0f, \"cold_starts\": %.0f, "
           "\"cold_decisions_per_s\": %.0f, \"cold_us_per_decision\": %.3f, "
           "\"util_after_cold\": %.3f, \"steady_pass_ms\": %.3f, \"steady_max_pass_ms\": %.3f, "
           "\"steady_decisions_per_pass\": %.0f, \"gpu_state_bytes_per_gpu\": %.1f, \"bytes_per_live_job\": %.0f}\n",
           preset, (unsigned long long)nl_facility_gpus(fac), pending, reps, med.cold_s,
           med.cold_decisions, med.cold_starts, med.cold_decisions / med.cold_s,
           1e6 * med.cold_s / med.cold_decisions, med.util, 1e3 * med.steady_pass_s,
           1e3 * med.steady_max_s, med.steady_decisions, med.bytes_per_gpu, med.job_bytes_per_job);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
    return 0;
}
