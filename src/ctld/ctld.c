/* SPDX-License-Identifier: MIT */
/*
 * ctld.c - building the controller, the group commit, and timed work.
 *
 * ctld_create builds the subsystems in dependency order (facility,
 * tenants, scheduler, store, run and agent tables, reload, HTTP) and
 * ctld_destroy takes them down in reverse.
 */
#include "ctld.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "ctld/config.h"
#include "ctld/http.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "store/store.h"

/* A facility or tenants file larger than this is a wrong path, not a configuration. */
#define CONF_FILE_MAX (16u * 1024u * 1024u)
/* How often node timeouts and lost jobs are looked for, at most. */
#define CHECK_INTERVAL_US 250000
/* A pass runs at least this often with pending work, so ages and reservations move on. */
#define PASS_MAX_GAP_US 5000000

/* Bucket bounds (seconds). API and commit: 100 us to 10 s; waits: 1 s to a week. */
static const double api_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
static const double wait_bounds[] = {1,    5,    10,   30,    60,    300,   600,
                                     1800, 3600, 7200, 21600, 43200, 86400, 604800};
static const double cycle_bounds[] = {0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,    0.25,  0.5,    1,     2.5,  5};

#define NBOUNDS(a) (sizeof(a) / sizeof((a)[0]))

void ctld_fatal(const char *what, const struct nl_err *err)
{
    log_err("fatal: %s: %s; exiting so that a restart reloads the store", what,
            err ? err->msg : "");
    exit(1);
}

/*
 * The controller's clock is the monotonic clock, shifted once (at start)
 * to read as Unix time. Every timeout and liveness decision is a
 * difference of two readings of it, so a step of the wall clock (NTP, an
 * operator's date) neither marks live nodes down (+) nor freezes failure
 * detection (-). Timestamps people read are taken from it too: they are
 * wall-clock time as of the start, drifting only by steps made since.
 */
int64_t ctld_now(struct ctld *c)
{
    int64_t t = c->clock_base_us + nl_clock_monotonic_us();
    if (t > c->now_us)
        c->now_us = t;
    return c->now_us;
}

void ctld_clock_raise(struct ctld *c, int64_t t)
{
    ctld_now(c);
    if (t > c->now_us) {
        c->clock_base_us += t - c->now_us;
        c->now_us = t;
    }
}

const char *ctld_tier_name(const struct ctld *c, uint32_t tenant)
{
    const struct nl_tenant_spec *t = nl_tenants_get(c->tenants, tenant);
    const struct nl_tier_spec *tier = t ? nl_tenants_tier(c->tenants, t->tier) : NULL;
    return tier ? tier->name : "";
}

void ctld_txn(struct ctld *c)
{
    if (nl_store_in_txn(c->store))
        return;
    struct nl_err err = {0};
    if (nl_store_begin(c->store, &err) < 0)
        ctld_fatal("begin", &err);
}

void ctld_commit(struct ctld *c)
{
    if (nl_store_in_txn(c->store)) {
        if (nl_store_txn_writes(c->store) == 0) {
            nl_store_rollback(c->store);
        } else {
            int64_t t0 = nl_clock_monotonic_us();
            struct nl_err err = {0};
            if (nl_store_commit(c->store, &err) < 0)
                ctld_fatal("commit", &err);
            c->stats.commits++;
            histogram_observe(&c->stats.commit_s, (double)(nl_clock_monotonic_us() - t0) / 1e6);
        }
    }
    jobs_after_commit(c);
    if (c->http != NULL)
        http_release_held(c->http);
}

void ctld_timers(struct ctld *c)
{
    ctld_now(c);
    if (c->now_us >= c->next_check_us) {
        agents_check_timeouts(c);
        jobs_check_lost(c);
        c->next_check_us = c->now_us + CHECK_INTERVAL_US;
    }
    if (!c->sched_dirty && c->now_us - c->last_pass_us > PASS_MAX_GAP_US)
        c->sched_dirty = true;
    if (c->sched_dirty && c->now_us >= c->next_pass_us) {
        c->sched_dirty = false;
        jobs_pass(c);
        c->next_pass_us = c->now_us + (int64_t)c->cfg->sched_interval_ms * 1000;
    }
}

/* ---- building ---- */

static struct nl_facility *load_facility(const char *arg, struct nl_err *err)
{
    struct nl_facility_spec *spec = xcalloc(1, sizeof(*spec));
    struct nl_facility *fac = NULL;
    char *text = NULL;
    size_t len = 0;
    struct nl_err perr = {0};
    if (nl_facility_preset(arg, spec, &perr) < 0) {
        if (access(arg, F_OK) != 0) {
            nl_err_set(err, -ENOENT, "facility: %s", perr.msg);
            goto out;
        }
        if (nl_file_read(arg, CONF_FILE_MAX, &text, &len, err) < 0 ||
            nl_facility_parse(text, len, arg, spec, err) < 0)
            goto out;
    }
    fac = nl_facility_create(spec, err);
out:
    free(text);
    free(spec);
    return fac;
}

static struct nl_tenants *load_tenants(const char *path, uint64_t gpus, struct nl_err *err)
{
    if (path[0] == '\0')
        return nl_tenants_default(gpus);
    char *text = NULL;
    size_t len = 0;
    if (nl_file_read(path, CONF_FILE_MAX, &text, &len, err) < 0)
        return NULL;
    struct nl_tenants *t = nl_tenants_parse(text, len, path, err);
    free(text);
    return t;
}

static int make_dir(const char *path, struct nl_err *err)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return nl_err_set(err, -errno, "state-dir: %s: %s", path, strerror(errno));
    return 0;
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Write the bound port to STATE/ctld.port atomically (write, then rename). */
static int write_port_file(struct ctld *c, struct nl_err *err)
{
    char *tmp = path_join(c->cfg->state_dir, "ctld.port.tmp");
    FILE *f = fopen(tmp, "w");
    int rc = 0;
    if (f == NULL || fprintf(f, "%u\n", http_port(c->http)) < 0 || fclose(f) != 0 ||
        rename(tmp, c->port_file) < 0)
        rc = nl_err_set(err, -errno, "%s: %s", c->port_file, strerror(errno));
    free(tmp);
    return rc;
}

static void init_stats(struct ctld_stats *st)
{
    histogram_init(&st->queue_wait_s, wait_bounds, NBOUNDS(wait_bounds));
    histogram_init(&st->sched_cycle_s, cycle_bounds, NBOUNDS(cycle_bounds));
    histogram_init(&st->commit_s, api_bounds, NBOUNDS(api_bounds));
    for (size_t i = 0; i < CTLD_ROUTES_MAX; i++)
        histogram_init(&st->api_s[i], api_bounds, NBOUNDS(api_bounds));
}

static int open_store(struct ctld *c, struct nl_err *err)
{
    if (make_dir(c->cfg->state_dir, err) < 0)
        return err->code;
    c->jobs_dir = path_join(c->cfg->state_dir, "jobs");
    c->port_file = path_join(c->cfg->state_dir, "ctld.port");
    if (make_dir(c->jobs_dir, err) < 0)
        return err->code;
    char *db = path_join(c->cfg->state_dir, "nordlys.db");
    struct nl_store_opts opts = {.path = db,
                                 .sync_normal = strcmp(c->cfg->synchronous, "normal") == 0};
    c->store = nl_store_open(&opts, err);
    free(db);
    return c->store ? 0 : -EIO;
}

/*
 * A reloaded run is declared lost when no agent lists it within
 * node-timeout-ms; that time counts from when agents can reach us, not from
 * when reloading began (a large store takes a while to read).
 */
static void restart_lost_clocks(struct ctld *c)
{
    ctld_now(c);
    size_t cursor = 0;
    for (struct run *run; (run = runs_next(c->runs, &cursor)) != NULL;)
        run->last_seen_us = c->now_us;
}

/* Every node starts unusable: a node is up only once its agent has synced. */
static void all_nodes_down(struct ctld *c)
{
    for (uint32_t n = 0; n < nl_facility_nodes(c->fac); n++)
        nl_sched_node_set_down(c->sched, n, true, NULL);
}

struct ctld *ctld_create(const struct ctld_config *cfg, struct nl_err *err)
{
    struct ctld *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->clock_base_us = nl_clock_realtime_us() - nl_clock_monotonic_us();
    init_stats(&c->stats);
    ctld_now(c);
    if ((c->fac = load_facility(cfg->facility, err)) == NULL ||
        (c->tenants = load_tenants(cfg->tenants, nl_facility_gpus(c->fac), err)) == NULL ||
        (c->sched = nl_sched_create(c->fac, c->tenants, NULL, err)) == NULL ||
        open_store(c, err) < 0)
        goto fail;
    c->runs = runs_create();
    c->agents = agents_create(nl_facility_nodes(c->fac));
    if (jobs_reload(c, err) < 0 || agents_load(c, err) < 0)
        goto fail;
    all_nodes_down(c);
    ctld_commit(c);
    struct http_ops ops = {.body_limit = api_body_limit,
                           .dispatch = api_dispatch,
                           .answered = api_answered,
                           .arg = c};
    if ((c->http = http_open(cfg->listen, &ops, err)) == NULL || write_port_file(c, err) < 0)
        goto fail;
    restart_lost_clocks(c);
    log_info("listening on http://%.*s:%u facility=%s gpus=%llu nodes=%u state=%s",
             (int)(strrchr(cfg->listen, ':') - cfg->listen), cfg->listen, http_port(c->http),
             nl_facility_name(c->fac), (unsigned long long)nl_facility_gpus(c->fac),
             nl_facility_nodes(c->fac), cfg->state_dir);
    c->sched_dirty = true;
    return c;
fail:
    ctld_destroy(c);
    return NULL;
}

void ctld_destroy(struct ctld *c)
{
    if (c == NULL)
        return;
    if (c->store != NULL && nl_store_in_txn(c->store))
        ctld_commit(c);
    http_close(c->http);
    if (c->port_file != NULL && c->http != NULL)
        unlink(c->port_file);
    agents_destroy(c->agents);
    runs_destroy(c->runs);
    nl_store_close(c->store);
    nl_sched_destroy(c->sched);
    nl_tenants_destroy(c->tenants);
    nl_facility_destroy(c->fac);
    free(c->subs);
    free(c->jobs_dir);
    free(c->port_file);
    free(c);
}
