/* SPDX-License-Identifier: MIT */
/*
 * bench_history.c - fills a store with finished jobs for the history and
 * queue benchmarks (bench/history.sh), through the store's own API:
 *
 *   bench_history DB FINISHED PENDING DAYS
 *
 * FINISHED jobs of 1-4 GPUs on the dev facility's nodes, of six tenants and
 * 50 users, each inserted, started and ended (COMPLETED, FAILED, TIMEOUT or
 * CANCELLED) with end times spread evenly over the last DAYS days, 10,000
 * to a transaction; then PENDING live jobs. Every end writes its run's
 * history row (job_runs) as the controller's would. Prints the insert rate
 * and, on the filled store, the time of one history window query (an hour,
 * the default 1,000 rows) and of a live-job count, without HTTP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "nordlys/err.h"
#include "store/store.h"
#include "store/store_ops.h"

#define BATCH 10000

static const char *const tenants[] = {"nor-research", "nor-startups", "anchor",
                                      "uk",           "nordics",      "ne-europe"};

static void die(const char *what, const struct nl_err *err)
{
    fprintf(stderr, "bench_history: %s: %s\n", what, err->msg);
    exit(1);
}

static int count_run(const struct nl_store_run *r, void *arg)
{
    (void)r;
    (*(size_t *)arg)++;
    return 0;
}

static int count_job(const struct nl_store_job *j, void *arg)
{
    (void)j;
    (*(size_t *)arg)++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_history DB FINISHED PENDING DAYS\n");
        return 2;
    }
    long long finished = atoll(argv[2]), pending = atoll(argv[3]), days = atoll(argv[4]);
    struct nl_err err = {0};
    struct nl_store_opts opts = {.path = argv[1], .sync_normal = true};
    struct nl_store *st = nl_store_open(&opts, &err);
    if (st == NULL)
        die("open", &err);
    int64_t now = (int64_t)time(NULL) * 1000000;
    int64_t span = days * 86400LL * 1000000;
    int64_t t0 = nl_clock_monotonic_us();
    static const enum nl_job_state ends[] = {NL_JOB_COMPLETED, NL_JOB_COMPLETED, NL_JOB_COMPLETED,
                                             NL_JOB_FAILED, NL_JOB_TIMEOUT, NL_JOB_CANCELLED};
    for (long long i = 0; i < finished + pending; i++) {
        if (i % BATCH == 0 && nl_store_begin(st, &err) < 0)
            die("begin", &err);
        struct nl_store_job job;
        nl_store_job_init(&job);
        snprintf(job.name, sizeof(job.name), "job-%lld", i);
        snprintf(job.tenant, sizeof(job.tenant), "%s", tenants[i % 6]);
        snprintf(job.run_as, sizeof(job.run_as), "user%lld", i % 50);
        job.spec.gpus = 1 + (uint32_t)(i % 4);
        job.spec.time_limit_us = 3600LL * 1000000;
        job.command_json = (char *)"[\"true\"]";
        bool live = i >= finished;
        int64_t end = now - span + (span / (finished ? finished : 1)) * i;
        int64_t start = end - 60LL * 1000000 * (1 + i % 30);
        job.submit_us = live ? now : start - 1000000;
        uint64_t id = 0;
        if (nl_store_job_insert(st, &job, &id, &err) < 0)
            die("insert", &err);
        if (!live) {
            struct nl_alloc_node a = {.node = (uint32_t)(i % 4),
                                      .mask = (uint8_t)((1u << job.spec.gpus) - 1)};
            struct nl_store_end e = {.state = ends[i % 6], .end_us = end, .has_exit = true,
                                     .exit_code = ends[i % 6] == NL_JOB_FAILED ? 1 : 0,
                                     .run_us = end - start};
            if (nl_store_job_start(st, id, start, &a, 1, NULL, &err) < 0 ||
                nl_store_job_end(st, id, &e, &err) < 0)
                die("start/end", &err);
        }
        if ((i + 1) % BATCH == 0 || i + 1 == finished + pending)
            if (nl_store_commit(st, &err) < 0)
                die("commit", &err);
    }
    double fill_s = (double)(nl_clock_monotonic_us() - t0) / 1e6;
    printf("filled %lld finished + %lld pending jobs in %.1f s (%.0f jobs/s)\n", finished, pending,
           fill_s, (double)(finished + pending) / fill_s);
    /* One hour, a day before now: the store's side of `nordlys history --since --until`. */
    struct nl_store_history_filter f = {.since_us = now - 86400LL * 1000000,
                                        .until_us = now - 82800LL * 1000000,
                                        .limit = 1000};
    size_t n = 0;
    t0 = nl_clock_monotonic_us();
    if (nl_store_history(st, &f, count_run, &n, &err) < 0)
        die("history", &err);
    printf("store: history of one hour: %zu runs in %.2f ms\n", n,
           (double)(nl_clock_monotonic_us() - t0) / 1e3);
    struct nl_store_filter lf = {.states = (1u << NL_JOB_PENDING) | (1u << NL_JOB_RUNNING) |
                                           (1u << NL_JOB_PREEMPTING),
                                 .limit = 1000};
    uint64_t total = 0;
    for (int rep = 0; rep < 2; rep++) {
    n = 0;
    t0 = nl_clock_monotonic_us();
    if (nl_store_jobs_list(st, &lf, count_job, &n, &err) < 0)
        die("list", &err);
    int64_t t1 = nl_clock_monotonic_us();
    if (nl_store_jobs_count(st, &lf, &total, &err) < 0)
        die("count", &err);
    printf("store: live jobs list %zu in %.2f ms, count %llu in %.2f ms\n", n,
           (double)(t1 - t0) / 1e3, (unsigned long long)total,
           (double)(nl_clock_monotonic_us() - t1) / 1e3);
    }
    nl_store_close(st);
    return 0;
}
