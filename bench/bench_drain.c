/* SPDX-License-Identifier: MIT */
/*
 * bench_drain.c - the scale benchmark's drain (bench/run-live.sh, part
 * scale) without HTTP or agents: the scheduler and the store doing what
 * the controller does when 1,389 rack-sized fill jobs end under 100,000
 * queued jobs of 1-8 GPUs on narvik.
 *
 *   bench_drain DB_PATH [QUEUE] [WAVES]        (defaults: 100000 6)
 *
 * Setup (not measured): the fill jobs and the queue are inserted the way
 * the controller submits them (one INSERT per job, commits of 128, the
 * scheduler told after the commit) and the fill jobs started. Then the
 * fill jobs end in WAVES batches (nl_store_job_end, one commit each) and
 * after each batch one scheduling pass runs: nl_sched_pass, then for each
 * start nl_store_job_start and the node list, all in one transaction, then
 * COMMIT. The three parts are separate functions (drain_sched,
 * drain_starts, drain_commit) so that callgrind can count each:
 *
 *   valgrind --tool=callgrind --instr-atstart=no bench_drain DB
 *
 * (instrumentation starts with the first wave). Uses only the store and
 * scheduler interfaces that the controller before issue 9 (c98b1f6) had
 * as well, so the same file builds against both (bench/drain-compare.sh).
 * Prints the wall time of each part, the starts and the CPU time of the
 * whole drain (drain_cpu_ms: ends, passes, commits), one JSON line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else /* no valgrind headers: wall times only */
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "common/clock.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "store/store.h"

#define SEC       1000000LL
#define FILL_JOBS 1389

static struct nl_store *st;
static struct nl_sched *sched;
static const struct nl_facility *fac;
static const char *tenant_name;
static int64_t now_us = SEC;

/* CPU time (user + system) of this process so far, in microseconds: robust to a busy machine. */
static int64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

static void die(const char *what, const struct nl_err *err)
{
    fprintf(stderr, "bench_drain: %s: %s\n", what, err->msg);
    exit(1);
}

static void begin(void)
{
    struct nl_err err = {0};
    if (nl_store_begin(st, &err) < 0)
        die("begin", &err);
}

static void commit(void)
{
    struct nl_err err = {0};
    if (nl_store_commit(st, &err) < 0)
        die("commit", &err);
}

/* One job as the controller stores a submission (relative output paths, as nordlysd now). */
static uint64_t insert(uint32_t gpus, const char *name, const char *cmd, int64_t limit_s)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    snprintf(rec.name, sizeof(rec.name), "%s", name);
    snprintf(rec.tenant, sizeof(rec.tenant), "%s", tenant_name);
    rec.spec.gpus = gpus;
    rec.spec.tenant = 0;
    rec.spec.time_limit_us = limit_s * SEC;
    rec.state = NL_JOB_PENDING;
    rec.submit_us = now_us;
    rec.command_json = xstrdup(cmd);
    char path[64];
    snprintf(path, sizeof(path), "%" PRIu64 "/stdout", nl_store_next_id(st));
    rec.stdout_path = xstrdup(path);
    snprintf(path, sizeof(path), "%" PRIu64 "/stderr", nl_store_next_id(st));
    rec.stderr_path = xstrdup(path);
    struct nl_err err = {0};
    uint64_t id = 0;
    if (nl_store_job_insert(st, &rec, &id, &err) < 0)
        die("insert", &err);
    rec.id = id;
    nl_sched_submit(sched, id, &rec.spec, now_us, NULL);
    nl_store_job_release(&rec);
    return id;
}

/* The node list the controller builds once per start (life.c build_nodelist). */
static char *nodelist(const struct nl_alloc_node *alloc, size_t n)
{
    size_t cap = n * 40 + 1, len = 0;
    char *list = xmalloc(cap), name[96];
    list[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        nl_facility_node_name(fac, alloc[i].node, name, sizeof(name));
        size_t nl = strlen(name);
        if (len + nl + 2 > cap)
            list = xrealloc(list, cap = xgrow(cap, len + nl + 2));
        if (i > 0)
            list[len++] = ',';
        memcpy(list + len, name, nl + 1);
        len += nl;
    }
    return list;
}

static void start_one(uint64_t id)
{
    const struct nl_alloc_node *alloc = NULL;
    size_t n = nl_sched_job_alloc(sched, id, &alloc);
    struct nl_job_info info;
    struct nl_err err = {0};
    if (n == 0 || nl_sched_job_info(sched, id, &info) < 0) {
        fprintf(stderr, "bench_drain: job %" PRIu64 " started without an allocation\n", id);
        exit(1);
    }
    uint32_t number = 0;
    if (nl_store_job_start(st, id, info.start_us, alloc, n, &number, &err) < 0)
        die("start", &err);
    free(nodelist(alloc, n));
}

/* The parts of one drain pass, kept out of line so that callgrind names each. */
__attribute__((noinline)) static size_t drain_sched(struct nl_action **acts)
{
    const struct nl_action *a = NULL;
    size_t n = nl_sched_pass(sched, now_us, &a);
    *acts = n ? xmalloc(n * sizeof(**acts)) : NULL;
    if (n)
        memcpy(*acts, a, n * sizeof(**acts));
    return n;
}

__attribute__((noinline)) static size_t drain_starts(const struct nl_action *acts, size_t n)
{
    size_t starts = 0;
    begin();
    for (size_t i = 0; i < n; i++)
        if (acts[i].kind == NL_ACT_START) {
            start_one(acts[i].job);
            starts++;
        }
    return starts;
}

__attribute__((noinline)) static void drain_commit(void)
{
    commit();
}

static size_t pass_setup(void)
{
    struct nl_action *acts = NULL;
    size_t n = drain_sched(&acts);
    size_t starts = drain_starts(acts, n);
    drain_commit();
    free(acts);
    return starts;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_drain DB_PATH [QUEUE] [WAVES]\n");
        return 2;
    }
    size_t queue = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    int waves = argc > 3 ? atoi(argv[3]) : 6;
    if (waves < 1)
        waves = 1;
    struct nl_err err = {0};
    unlink(argv[1]);
    struct nl_store_opts opts = {.path = argv[1]};
    if ((st = nl_store_open(&opts, &err)) == NULL)
        die("open", &err);
    struct nl_facility_spec fspec;
    if (nl_facility_preset("narvik", &fspec, &err) < 0)
        die("facility", &err);
    struct nl_facility *f = nl_facility_create(&fspec, &err);
    if (f == NULL)
        die("facility", &err);
    fac = f;
    struct nl_tenants *ten = nl_tenants_default(nl_facility_gpus(fac));
    tenant_name = nl_tenants_get(ten, 0)->name;
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    if ((sched = nl_sched_create(fac, ten, &cfg, &err)) == NULL)
        die("scheduler", &err);

    /* The facility filled with rack-sized jobs, then the queue behind them. */
    uint64_t fill[FILL_JOBS];
    begin();
    for (size_t i = 0; i < FILL_JOBS; i++)
        fill[i] = insert(72, "fill", "[\"sleep\",\"45\"]", 3600);
    commit();
    size_t filled = pass_setup();
    static const uint32_t sizes[] = {1, 2, 4, 8};
    for (size_t i = 0; i < queue; i++) {
        if (i % 128 == 0)
            begin();
        char name[8];
        uint32_t g = sizes[i / ((queue + 3) / 4)];
        snprintf(name, sizeof(name), "q%u", g);
        now_us += 10;
        insert(g, name, "[\"sleep\",\"3600\"]", 7200);
        if (i % 128 == 127 || i + 1 == queue)
            commit();
    }
    now_us += SEC;
    pass_setup();

    /* The drain: the fill jobs end in waves, a pass after each. */
    int64_t t_sched = 0, t_starts = 0, t_commit = 0, t_ends = 0;
    size_t starts = 0;
    int64_t cpu0 = cpu_us();
    CALLGRIND_START_INSTRUMENTATION;
    for (int w = 0; w < waves; w++) {
        now_us += SEC;
        int64_t t0 = nl_clock_monotonic_us();
        begin();
        for (size_t i = (size_t)w * FILL_JOBS / (size_t)waves;
             i < (size_t)(w + 1) * FILL_JOBS / (size_t)waves; i++) {
            struct nl_store_end e = {.state = NL_JOB_COMPLETED, .end_us = now_us, .has_exit = true};
            nl_sched_job_exit(sched, fill[i], NL_EXIT_OK, now_us, NULL, NULL);
            if (nl_store_job_end(st, fill[i], &e, &err) < 0)
                die("end", &err);
        }
        commit();
        int64_t t1 = nl_clock_monotonic_us();
        struct nl_action *acts = NULL;
        size_t n = drain_sched(&acts);
        int64_t t2 = nl_clock_monotonic_us();
        starts += drain_starts(acts, n);
        int64_t t3 = nl_clock_monotonic_us();
        drain_commit();
        int64_t t4 = nl_clock_monotonic_us();
        free(acts);
        t_ends += t1 - t0;
        t_sched += t2 - t1;
        t_starts += t3 - t2;
        t_commit += t4 - t3;
    }
    CALLGRIND_STOP_INSTRUMENTATION;
    int64_t cpu = cpu_us() - cpu0;
    printf("{\"queue\": %zu, \"fill_started\": %zu, \"waves\": %d, \"starts\": %zu, "
           "\"ends_ms\": %.1f, \"sched_ms\": %.1f, \"starts_ms\": %.1f, \"commit_ms\": %.1f, "
           "\"us_per_start\": %.2f, \"drain_cpu_ms\": %.1f}\n",
           queue, filled, waves, starts, t_ends / 1e3, t_sched / 1e3, t_starts / 1e3,
           t_commit / 1e3, starts ? (double)t_starts / (double)starts : 0.0, cpu / 1e3);
    nl_sched_destroy(sched);
    nl_tenants_destroy(ten);
    nl_facility_destroy(f);
    nl_store_close(st);
    return 0;
}
