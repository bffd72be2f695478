/* SPDX-License-Identifier: MIT */
/*
 * bench_sync.c - the controller's cost of one agent sync: a full list
 * against a delta, with the real controller structures (ctld_create on
 * the narvik preset, a SQLite store in a temporary directory).
 *
 *   bench_sync [RUNNING] [REPS] [STRAYS]     (defaults: 10000 50 250000)
 *
 * One agent registers RUNNING nodes and RUNNING one-node jobs start on
 * them. Then, REPS times each, the controller's whole share of a sync is
 * timed: parsing the body text, agents_sync, and writing the answer:
 *   - full: "running" lists all RUNNING runs (the protocol before deltas);
 *   - delta: "full": false with 1 % of the runs listed (those started since
 *     the last sync), the rest vouched for by the agent's last full list.
 * Last, one forged full sync of STRAYS entries the controller does not run
 * (each becomes a kill): it cost 22 s for 250,000 entries while queueing a
 * kill searched the queue. It prints medians as one JSON line; the target
 * is delta <= 1 % of full.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_stat.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "ctld/agents.h"
#include "ctld/config.h"
#include "ctld/ctld.h"
#include "ctld/fault.h"
#include "ctld/life.h"
#include "ctld/now.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/tenant.h"
#include "store/store.h"

/* The bench speaks for its agent from loopback with a credential covering every node. */
static const struct agents_caller bench_caller = {.peer = "127.0.0.1"};

struct text {
    char *s;
    size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = xgrow(t->cap, t->len + (size_t)n + 1);
        t->s = xrealloc(t->s, t->cap);
    }
}

/* Seconds the controller spends on one sync whose body is text. */
static double one_sync(struct ctld *c, const char *text, size_t len)
{
    int64_t t0 = nl_clock_monotonic_us();
    json_error_t jerr;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *answer = NULL;
    struct fault f = {0};
    now_read(&c->clock);
    if (body == NULL || agents_sync(c->agents, body, &bench_caller, &answer, &f) < 0) {
        fprintf(stderr, "bench_sync: sync refused: %s\n", body ? f.msg : jerr.text);
        exit(1);
    }
    char *out = json_dumps(answer, JSON_COMPACT);
    free(out);
    json_decref(answer);
    json_decref(body);
    ctld_commit(c);
    return (double)(nl_clock_monotonic_us() - t0) / 1e6;
}

static double median_sync(struct ctld *c, const struct text *t, int reps)
{
    double *v = xcalloc((size_t)reps, sizeof(*v));
    for (int i = 0; i < reps; i++)
        v[i] = one_sync(c, t->s, t->len);
    qsort(v, (size_t)reps, sizeof(*v), bench_cmp_double);
    double m = v[reps / 2];
    free(v);
    return m;
}

static void register_agent(struct ctld *c, uint32_t nodes)
{
    struct text t = {0};
    char name[96];
    put(&t, "{\"agent\":\"bench\",\"instance\":\"be\",\"emulated\":true,\"nodes\":[");
    for (uint32_t i = 0; i < nodes; i++) {
        nl_facility_node_name(c->fac, i, name, sizeof(name));
        put(&t, "%s\"%s\"", i ? "," : "", name);
    }
    put(&t, "]}");
    json_t *body = json_loads(t.s, 0, NULL), *answer = NULL;
    struct fault f = {0};
    if (agents_register(c->agents, body, &bench_caller, &answer, &f) < 0) {
        fprintf(stderr, "bench_sync: register: %s\n", f.msg);
        exit(1);
    }
    json_decref(answer);
    json_decref(body);
    free(t.s);
    ctld_commit(c);
}

/* Submit n one-GPU jobs (within every tenant's quota) and start them. */
static void start_jobs(struct ctld *c, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        struct nl_store_job rec;
        nl_store_job_init(&rec);
        rec.spec.gpus = 1;
        rec.spec.tenant = i % nl_tenants_count(c->tenants);
        rec.spec.time_limit_us = 3600LL * 1000000;
        const struct nl_tenant_spec *t = nl_tenants_get(c->tenants, rec.spec.tenant);
        snprintf(rec.tenant, sizeof(rec.tenant), "%s", t->name);
        snprintf(rec.name, sizeof(rec.name), "bench");
        rec.command_json = xstrdup("[\"sleep\",\"3600\"]");
        rec.submit_us = now_read(&c->clock);
        struct nl_err err = {0};
        if (life_submit(c->life, &rec, &err) < 0) {
            fprintf(stderr, "bench_sync: submit: %s\n", err.msg);
            exit(1);
        }
        nl_store_job_release(&rec);
    }
    ctld_commit(c);
    /* A pass starts a bounded number of jobs: pass until all run or nothing more starts. */
    for (size_t before = SIZE_MAX;
         life_run_count(c->life) < n && life_run_count(c->life) != before;) {
        before = life_run_count(c->life);
        now_read(&c->clock);
        life_pass(c->life);
        ctld_commit(c);
    }
}

/* The running list of every run (full), of the last n/100 (delta), or of strays. */
static void running_body(struct ctld *c, struct text *t, const char *head, size_t skip,
                         uint64_t fake_base, size_t fakes, uint32_t nodes)
{
    char name[96];
    size_t cursor = 0, i = 0, k = 0;
    put(t, "{\"agent_id\":\"bench\",%s,\"running\":[", head);
    if (fakes == 0) {
        for (struct life_run_info ri, *run = &ri; life_run_next(c->life, &cursor, &ri); i++) {
            if (i < skip)
                continue;
            nl_facility_node_name(c->fac, run->first_node, name, sizeof(name));
            put(t, "%s{\"job\":%llu,\"run\":%u,\"node\":\"%s\"}", k++ ? "," : "",
                (unsigned long long)run->job, run->run, name);
        }
    }
    for (size_t f = 0; f < fakes; f++) {
        nl_facility_node_name(c->fac, (uint32_t)(f % nodes), name, sizeof(name));
        put(t, "%s{\"job\":%llu,\"run\":1,\"node\":\"%s\"}", f ? "," : "",
            (unsigned long long)(fake_base + f), name);
    }
    put(t, "]}");
}

int main(int argc, char **argv)
{
    uint32_t running = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 10000;
    int reps = argc > 2 ? atoi(argv[2]) : 50;
    size_t strays = argc > 3 ? strtoul(argv[3], NULL, 10) : 250000;
    if (running < 100 || reps < 1 || reps > 8999) {
        fprintf(stderr, "usage: bench_sync [RUNNING >= 100] [REPS 1..8999] [STRAYS]\n");
        return 2;
    }
    nl_log_init("bench_sync", NL_LOG_ERR, 0);
    char dir[] = "/tmp/nl-bench-sync-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    struct ctld_config cfg = {.facility = "narvik",
                              .tenants = "",
                              .state_dir = dir,
                              .listen = "127.0.0.1:0",
                              .sched_interval_ms = 100,
                              .node_timeout_ms = 60000,
                              .sync_interval_ms = 200,
                              .synchronous = "normal"};
    struct nl_err err = {0};
    struct ctld *c = ctld_create(&cfg, &err);
    if (c == NULL) {
        fprintf(stderr, "bench_sync: %s\n", err.msg);
        return 1;
    }
    register_agent(c, running);
    start_jobs(c, running);
    size_t n = life_run_count(c->life);
    if (n < running) {
        fprintf(stderr, "bench_sync: only %zu of %u jobs started\n", n, running);
        return 1;
    }
    struct text full = {0}, delta = {0}, forged = {0};
    running_body(c, &full, "\"seq\":1,\"full\":true", 0, 0, 0, running);
    running_body(c, &delta, "\"seq\":1000,\"full\":false", n - n / 100, 0, 0, running);
    one_sync(c, full.s, full.len); /* takes the launches, the first full list */
    double full_s = median_sync(c, &full, reps);
    /* Each delta moves seq on: rewrite it in place (same width) between repetitions. */
    double *v = xcalloc((size_t)reps, sizeof(*v));
    for (int i = 0; i < reps; i++) {
        char head[64];
        int w = snprintf(head, sizeof(head), "{\"agent_id\":\"bench\",\"seq\":%d", 1000 + i);
        memcpy(delta.s, head, (size_t)w);
        v[i] = one_sync(c, delta.s, delta.len);
    }
    qsort(v, (size_t)reps, sizeof(*v), bench_cmp_double);
    double delta_s = v[reps / 2];
    free(v);
    double strays_s = 0;
    if (strays > 0) {
        running_body(c, &forged, "\"seq\":9999999,\"full\":true", 0, 1000000000, strays, running);
        strays_s = one_sync(c, forged.s, forged.len);
    }
    printf("{\"running\":%zu,\"delta_entries\":%zu,\"full_ms\":%.3f,\"delta_ms\":%.4f,"
           "\"delta_over_full\":%.4f,\"full_body_bytes\":%zu,\"strays\":%zu,\"strays_ms\":%.1f}\n",
           n, n / 100, full_s * 1e3, delta_s * 1e3, delta_s / full_s, full.len, strays,
           strays_s * 1e3);
    free(full.s);
    free(delta.s);
    free(forged.s);
    ctld_destroy(c);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
