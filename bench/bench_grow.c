/* SPDX-License-Identifier: MIT */
/*
 * bench_grow.c - expansion online at scale (issue 11): narvik (1,389 NVL72
 * racks, 100,008 GPUs) full with 100,008 one-GPU jobs, then
 *   - phase 2 in one step: 2,083 racks (149,976 GPUs) join as site
 *     narvik2, nl_facility_grow + nl_sched_grow (timed), against a
 *     rebuild: a scheduler over the grown facility that re-adopts every
 *     running job on its allocation (what a restart does);
 *   - the same racks one at a time (2,083 steps, timed in total): the
 *     arrays grow geometrically, so the total stays near the one step;
 *   - the first pass after the expansion (timed), which starts 8-GPU jobs
 *     on the new racks.
 * CPU time of this thread; medians over REPS, printed as one JSON line.
 *
 *   bench_grow [REPS]     (default 3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_stat.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"

#define SEC 1000000LL

/* narvik full of one-GPU jobs; returns the scheduler (the facility and tenants are the caller's).
 */
static struct nl_sched *full(struct nl_facility *fac, const struct nl_tenants *ten)
{
    struct nl_sched *s = nl_sched_create(fac, ten, NULL, NULL);
    uint64_t gpus = nl_facility_gpus(fac);
    for (uint64_t i = 0; i < gpus; i++) {
        struct nl_job_spec spec;
        nl_job_spec_init(&spec);
        spec.gpus = 1;
        spec.tenant = (uint32_t)(i % nl_tenants_count(ten));
        spec.time_limit_us = 3600 * SEC;
        nl_sched_submit(s, i + 1, &spec, 0, NULL);
    }
    const struct nl_action *act;
    /* A pass looks at `depth` jobs: pass until nothing more starts. */
    while (nl_sched_pass(s, 0, &act) > 0)
        ;
    return s;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 3;
    if (reps < 1 || reps > 50)
        reps = 3;
    double one[50], rebuild[50], steps[50], pass[50];
    size_t started = 0, running = 0;
    for (int r = 0; r < reps; r++) {
        struct nl_facility_spec spec;
        nl_facility_preset("narvik", &spec, NULL);
        struct nl_facility *fac = nl_facility_create(&spec, NULL);
        struct nl_tenants *ten = nl_tenants_default(4 * nl_facility_gpus(fac));
        struct nl_sched *s = full(fac, ten);
        struct nl_sched_stats st;
        nl_sched_stats(s, &st);
        running = st.jobs_running;
        struct nl_facility_growth g = {.racks = 2083};
        snprintf(g.site, sizeof(g.site), "narvik2");
        g.site_power_w = g.facility_power_w = 290e6;
        struct nl_err err;
        double t0 = bench_cpu_ms();
        if (nl_facility_grow(fac, &g, &err) < 0 || nl_sched_grow(s, &err) < 0) {
            fprintf(stderr, "bench_grow: %s\n", err.msg);
            return 1;
        }
        one[r] = bench_cpu_ms() - t0;
        t0 = bench_cpu_ms();
        struct nl_sched *fresh = nl_sched_create(fac, ten, NULL, NULL);
        const uint64_t *ids;
        size_t nj = nl_sched_jobs(s, &ids);
        for (size_t i = 0; i < nj; i++) {
            struct nl_job_info info;
            const struct nl_alloc_node *a;
            nl_sched_job_info(s, ids[i], &info);
            size_t na = nl_sched_job_alloc(s, ids[i], &a);
            if (info.state == NL_JOB_RUNNING &&
                nl_sched_adopt(fresh, ids[i], &info.spec, 0, 0, a, na, 0, &err) < 0) {
                fprintf(stderr, "bench_grow: adopt: %s\n", err.msg);
                return 1;
            }
        }
        rebuild[r] = bench_cpu_ms() - t0;
        nl_sched_destroy(fresh);
        /* The first pass after: 8-GPU jobs fill the new racks. */
        for (uint64_t i = 0; i < 1000; i++) {
            struct nl_job_spec js;
            nl_job_spec_init(&js);
            js.gpus = 8;
            js.tenant = (uint32_t)(i % nl_tenants_count(ten));
            js.time_limit_us = 3600 * SEC;
            nl_sched_submit(s, 1000000 + i, &js, SEC, NULL);
        }
        const struct nl_action *act;
        t0 = bench_cpu_ms();
        started = nl_sched_pass(s, SEC, &act);
        nl_sched_stats(s, &st);
        if (st.jobs_running != running + started) {
            fprintf(stderr, "bench_grow: %zu started, %llu running\n", started,
                    (unsigned long long)st.jobs_running);
            return 1;
        }
        pass[r] = bench_cpu_ms() - t0;
        nl_sched_destroy(s);
        nl_facility_destroy(fac);

        /* The same racks one at a time. */
        fac = nl_facility_create(&spec, NULL);
        s = full(fac, ten);
        g.racks = 1;
        g.site_power_w = g.facility_power_w = 290e6 / 2083;
        t0 = bench_cpu_ms();
        for (int k = 0; k < 2083; k++)
            if (nl_facility_grow(fac, &g, &err) < 0 || nl_sched_grow(s, &err) < 0) {
                fprintf(stderr, "bench_grow: %s\n", err.msg);
                return 1;
            }
        steps[r] = bench_cpu_ms() - t0;
        struct nl_sched_violations v = {0};
        if (!nl_sched_check(s, &v)) {
            fprintf(stderr, "bench_grow: invariants broken after 2,083 steps\n");
            return 1;
        }
        nl_sched_destroy(s);
        nl_facility_destroy(fac);
        nl_tenants_destroy(ten);
    }
    printf("{\"reps\": %d, \"running\": %zu, \"grow_2083_racks_ms\": %.3f, "
           "\"rebuild_and_adopt_ms\": %.3f, \"grow_1_rack_x2083_ms\": %.3f, "
           "\"first_pass_ms\": %.3f, \"first_pass_starts\": %zu}\n",
           reps, running, bench_median(one, reps), bench_median(rebuild, reps),
           bench_median(steps, reps), bench_median(pass, reps), started);
    return 0;
}
