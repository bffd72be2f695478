/* SPDX-License-Identifier: MIT */
/*
 * bench_cap.c - the capping decision at scale (issue 11): narvik's 100,008
 * GPUs full with 100,008 one-GPU jobs of the reference tenants, then
 *   - cap_solve alone (the rule, src/core/cap.c) on those 100k jobs;
 *   - the scheduler's whole response: the budget drops 10 % below the
 *     draw, one pass caps (timed), the budget returns, one pass lifts the
 *     caps (timed); and a cut below the floor, which preempts (timed).
 *
 *   bench_cap [REPS]     (default 5; medians printed as one JSON line)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_stat.h"
#include "common/clock.h"
#include "common/rng.h"
#include "common/xalloc.h"
#include "core/cap.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"

#define SEC 1000000LL

static size_t count_kind(const struct nl_action *a, size_t n, enum nl_action_kind k)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += a[i].kind == k;
    return c;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1 || reps > 100)
        reps = 5;
    struct nl_facility_spec spec;
    struct nl_err err;
    nl_facility_preset("narvik", &spec, &err);
    struct nl_facility *fac = nl_facility_create(&spec, &err);
    uint64_t G = nl_facility_gpus(fac);
    struct nl_tenants *ten = nl_tenants_default(G);
    size_t nt = nl_tenants_count(ten);
    double *solve = xcalloc((size_t)reps, sizeof(double));
    double *cap = xcalloc((size_t)reps, sizeof(double));
    double *lift = xcalloc((size_t)reps, sizeof(double));
    double *pre = xcalloc((size_t)reps, sizeof(double));
    double *cap_cpu = xcalloc((size_t)reps, sizeof(double));
    double *solve_cpu = xcalloc((size_t)reps, sizeof(double));
    double *rows_cpu = xcalloc((size_t)reps, sizeof(double));
    double *racks_cpu = xcalloc((size_t)reps, sizeof(double));
    size_t ncapped = 0, npre = 0, running = 0, nrows_capped = 0, nracks_capped = 0;
    for (int r = 0; r < reps; r++) {
        struct nl_rng rng;
        nl_rng_seed(&rng, (uint64_t)r + 1);
        struct nl_sched_config cfg;
        nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
        cfg.depth = 0;
        struct nl_sched *s = nl_sched_create(fac, ten, &cfg, &err);
        nl_sched_set_power_budget(s, 0);
        for (uint64_t id = 1; id <= G; id++) {
            struct nl_job_spec js;
            nl_job_spec_init(&js);
            js.tenant = (uint32_t)nl_rng_range(&rng, 0, nt - 1);
            js.time_limit_us = 48 * 3600 * SEC;
            js.power_w = 1200 + 600 * nl_rng_unit(&rng);
            nl_sched_submit(s, id, &js, 0, &err);
        }
        const struct nl_action *act;
        nl_sched_pass(s, 1 * SEC, &act);
        struct nl_sched_stats st;
        nl_sched_stats(s, &st);
        running = st.jobs_running;

        /* The rule alone on the same jobs. */
        struct cap_job *cj = xcalloc(running, sizeof(*cj));
        const uint64_t *ids;
        size_t n = nl_sched_jobs(s, &ids), k = 0;
        for (size_t i = 0; i < n && k < running; i++) {
            struct nl_job_info info;
            nl_sched_job_info(s, ids[i], &info);
            if (info.state != NL_JOB_RUNNING)
                continue;
            const struct nl_tenant_spec *t = nl_tenants_get(ten, info.spec.tenant);
            cj[k++] = (struct cap_job){.site = 0,
                                       .gpus = info.spec.gpus,
                                       .rank = nl_tenants_tier(ten, t->tier)->rank,
                                       .want_w = info.power_want_w,
                                       .key = (double)info.start_us};
        }
        struct cap_limits lim = {.idle_w = spec.gpu_idle_w,
                                 .min_w = nl_facility_cap_min_w(&spec),
                                 .slack_w = 1,
                                 .nranks = 3,
                                 .nsites = 1};
        lim.base_w = (double)G * spec.gpu_idle_w; /* the jobs' own draw the rule adds */
        lim.site_base_w[0] = lim.base_w;
        lim.facility_w = st.power_it_w * 0.9;
        struct cap_result res;
        double c0 = bench_cpu_ms();
        int64_t t0 = nl_clock_monotonic_us();
        cap_solve(cj, k, &lim, &res);
        solve[r] = (double)(nl_clock_monotonic_us() - t0) / 1e3;
        solve_cpu[r] = bench_cpu_ms() - c0;
        free(cj);

        /* The scheduler's response: cut 10 %, capped in one pass. */
        nl_sched_set_power_budget(s, st.power_w * 0.9);
        c0 = bench_cpu_ms();
        t0 = nl_clock_monotonic_us();
        size_t na = nl_sched_pass(s, 2 * SEC, &act);
        cap[r] = (double)(nl_clock_monotonic_us() - t0) / 1e3;
        cap_cpu[r] = bench_cpu_ms() - c0;
        ncapped = count_kind(act, na, NL_ACT_CAP);
        /* Back: lifted in one pass. */
        nl_sched_set_power_budget(s, 0);
        t0 = nl_clock_monotonic_us();
        nl_sched_pass(s, 3 * SEC, &act);
        lift[r] = (double)(nl_clock_monotonic_us() - t0) / 1e3;
        /* Every row, then every rack, cut 10 % below its draw: one pass caps under each unit. */
        for (int lvl = 0; lvl < 2; lvl++) {
            enum nl_power_level lv = lvl == 0 ? NL_POWER_ROW : NL_POWER_RACK;
            uint32_t nu = nl_sched_power_units(s, lv);
            for (uint32_t u = 0; u < nu; u++) {
                double ulim, draw;
                nl_sched_power_unit(s, lv, u, &ulim, &draw);
                nl_sched_set_power_limit(s, lv, u, draw * 0.9, NULL);
            }
            c0 = bench_cpu_ms();
            na = nl_sched_pass(s, (5 + 2 * lvl) * SEC, &act);
            (lvl == 0 ? rows_cpu : racks_cpu)[r] = bench_cpu_ms() - c0;
            *(lvl == 0 ? &nrows_capped : &nracks_capped) = count_kind(act, na, NL_ACT_CAP);
            struct nl_sched_violations uv = {0};
            if (!nl_sched_check(s, &uv)) {
                fprintf(stderr, "bench_cap: invariant violated under unit limits (power %llu)\n",
                        (unsigned long long)uv.power);
                return 1;
            }
            for (uint32_t u = 0; u < nu; u++)
                nl_sched_set_power_limit(s, lv, u, -1, NULL);
            nl_sched_pass(s, (6 + 2 * lvl) * SEC, &act);
        }
        /* Below the floor: capping everything is not enough, some are preempted. */
        double floor_w = ((double)G * spec.gpu_idle_w +
                          (double)running * (nl_facility_cap_min_w(&spec) - spec.gpu_idle_w)) *
                         st.pue;
        nl_sched_set_power_budget(s, floor_w * 0.95);
        t0 = nl_clock_monotonic_us();
        na = nl_sched_pass(s, 10 * SEC, &act);
        pre[r] = (double)(nl_clock_monotonic_us() - t0) / 1e3;
        npre = count_kind(act, na, NL_ACT_PREEMPT);
        struct nl_sched_violations v = {0};
        if (!nl_sched_check(s, &v)) {
            fprintf(stderr, "bench_cap: invariant violated (power %llu)\n",
                    (unsigned long long)v.power);
            return 1;
        }
        nl_sched_destroy(s);
    }
    printf("{\"gpus\":%llu,\"running_jobs\":%zu,\"reps\":%d,\"cap_solve_ms\":%.2f,"
           "\"cap_solve_cpu_ms\":%.2f,\"pass_capping_ms\":%.2f,\"pass_capping_cpu_ms\":%.2f,"
           "\"jobs_capped\":%zu,\"pass_lifting_ms\":%.2f,"
           "\"pass_preempting_ms\":%.2f,\"jobs_preempted\":%zu,"
           "\"pass_rows_cpu_ms\":%.2f,\"jobs_capped_rows\":%zu,"
           "\"pass_racks_cpu_ms\":%.2f,\"jobs_capped_racks\":%zu}\n",
           (unsigned long long)G, running, reps, bench_median(solve, reps),
           bench_median(solve_cpu, reps), bench_median(cap, reps), bench_median(cap_cpu, reps),
           ncapped, bench_median(lift, reps), bench_median(pre, reps), npre,
           bench_median(rows_cpu, reps), nrows_capped, bench_median(racks_cpu, reps),
           nracks_capped);
    free(rows_cpu);
    free(racks_cpu);
    free(cap_cpu);
    free(solve_cpu);
    free(solve);
    free(cap);
    free(lift);
    free(pre);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
    return 0;
}
