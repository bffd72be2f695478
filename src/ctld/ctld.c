/* SPDX-License-Identifier: MIT */
/*
 * ctld.c - building the controller, the group commit, and timed work.
 *
 * ctld_create builds the subsystems in dependency order (facility,
 * tenants, the state directory's lock, store, the durability rule, then
 * the live state: scheduler, node registry, job life cycle, agent
 * protocol, reload; then HTTP) and ctld_destroy takes them down in
 * reverse. The live state is built again from the store when a COMMIT
 * fails and when the store commits again (see durable.h): every module
 * that holds live state is created in live_build and destroyed in
 * live_destroy.
 */
#include "ctld.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "ctld/agents.h"
#include "ctld/api.h"
#include "ctld/audit.h"
#include "ctld/auth.h"
#include "ctld/config.h"
#include "ctld/durable.h"
#include "ctld/gate.h"
#include "ctld/http.h"
#include "ctld/life.h"
#include "ctld/nodes.h"
#include "ctld/outtail.h"
#include "ctld/revoke.h"
#include "ctld/token.h"
#include "ctld/ui.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "store/store.h"
#include "store/store_grow.h"

/* A facility or tenants file larger than this is a wrong path, not a configuration. */
#define CONF_FILE_MAX (16u * 1024u * 1024u)
/* How often node timeouts and lost jobs are looked for, at most. */
#define CHECK_INTERVAL_US 250000
/* A pass runs at least this often with pending work, so ages and reservations move on. */
#define PASS_MAX_GAP_US 5000000
/*
 * Expired idempotency keys: looked for every 10 s, at most 1,000 deleted
 * per iteration (a few milliseconds), so a backlog never stalls the loop.
 */
#define IDEM_EXPIRE_INTERVAL_US 10000000
#define IDEM_EXPIRE_BATCH       1000

/* Bucket bounds (seconds). API and commit: 100 us to 10 s. */
static const double api_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

#define NBOUNDS(a) (sizeof(a) / sizeof((a)[0]))

static void live_destroy(struct ctld *c);
static int live_build(struct ctld *c, struct nl_err *err);

/*
 * Memory back in line with the store: the live state is built again from
 * it, the way a restart builds it. Nothing of it has been answered to
 * anyone (every answer that depended on the lost writes became a 503).
 */
static void rebuild(struct ctld *c, const char *why)
{
    struct nl_err err = {0};
    log_warn("rebuilding the live state from the store (%s)", why);
    live_destroy(c);
    if (live_build(c, &err) < 0)
        durable_fatal("rebuild from the store", &err);
}

static int write_port_file(struct ctld *c, struct nl_err *err);

void ctld_commit(struct ctld *c)
{
    struct nl_err err = {0};
    double commit_s = 0;
    /* Job ends of this iteration release or cancel dependents and fill arrays, in its COMMIT. */
    if (c->gate != NULL)
        gate_settle(c->gate);
    if (durable_commit(c->dur, &commit_s, &err) < 0) {
        /* Rolled back, every held answer became a 503: memory goes back to the store. */
        life_forget_submits(c->life); /* their inserts were rolled back */
        rebuild(c, "a commit failed");
        /* The rebuild's own corrections (jobs that cannot come back) are made again on recovery. */
        durable_rollback(c->dur);
    } else {
        if (commit_s > 0) {
            c->stats.commits++;
            histogram_observe(&c->stats.commit_s, commit_s);
        }
        life_after_commit(c->life);
    }
    if (c->http != NULL)
        http_release_held(c->http);
    if (c->port_file_pending && c->http != NULL && write_port_file(c, &err) == 0)
        c->port_file_pending = false;
}

/* Delete expired idempotency keys, a bounded batch at a time. */
static void expire_keys(struct ctld *c)
{
    if (c->clock.us < c->next_expire_us)
        return;
    int64_t window_us = (int64_t)c->cfg->idempotency_window_s * 1000000;
    size_t n = 0;
    struct nl_err err = {0};
    durable_txn(c->dur);
    if (nl_store_idem_expire(c->store, c->clock.us - window_us, IDEM_EXPIRE_BATCH, &n, &err) < 0)
        log_warn("expiring idempotency keys: %s", err.msg);
    /* A full batch may have left more: come back at the next tick. */
    c->next_expire_us = c->clock.us + (n == IDEM_EXPIRE_BATCH ? 0 : IDEM_EXPIRE_INTERVAL_US);
}

void ctld_timers(struct ctld *c)
{
    int64_t now = now_read(&c->clock);
    if (!durable_available(c->dur)) {
        /* Nothing that writes: a timeout's NODE_FAIL could not be stored either. */
        if (durable_probe(c->dur))
            /* Agents were refused meanwhile: their heartbeats and reports are stale, as after a
             * restart. */
            rebuild(c, "the store commits again");
        return;
    }
    if (now >= c->next_check_us) {
        agents_check_timeouts(c->agents);
        life_check_lost(c->life);
        c->next_check_us = now + CHECK_INTERVAL_US;
    }
    expire_keys(c);
    if (now - life_last_pass_us(c->life) > PASS_MAX_GAP_US)
        life_mark_dirty(c->life);
    if (now >= c->next_pass_us && life_take_dirty(c->life)) {
        life_pass(c->life);
        c->next_pass_us = now + (int64_t)c->cfg->sched_interval_ms * 1000;
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

/*
 * The state directory and those below it are the controller's alone
 * (0700): the database holds every job's environment, secrets included,
 * and jobs run as other users on the same host. One made more open by
 * hand is closed again, and said so.
 */
static int make_dir(const char *path, struct nl_err *err)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return nl_err_set(err, -errno, "state-dir: %s: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
        if (chmod(path, st.st_mode & 07700) < 0)
            return nl_err_set(err, -errno, "state-dir: %s: chmod 0700: %s", path, strerror(errno));
        log_warn("state-dir: %s was mode %04o: now %04o (jobs must not read the controller's "
                 "state)",
                 path, (unsigned)(st.st_mode & 07777), (unsigned)(st.st_mode & 07700));
    }
    return 0;
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Write text to STATE/name atomically (write, then rename). */
static int write_state_file(struct ctld *c, const char *name, const char *text, struct nl_err *err)
{
    char *path = path_join(c->cfg->state_dir, name);
    size_t n = strlen(path) + 5;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int rc = 0;
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) < 0) {
        rc = nl_err_set(err, -errno, "%s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    free(path);
    return rc;
}

/*
 * The bound port, in STATE/ctld.port (there while this controller runs)
 * and STATE/ctld.last-port (kept after it stops): a controller restarted
 * with port 0 asks for that port first, so that agents configured with
 * the old URL find it.
 */
static int write_port_file(struct ctld *c, struct nl_err *err)
{
    char text[16];
    snprintf(text, sizeof(text), "%u\n", http_port(c->http));
    if (write_state_file(c, "ctld.port", text, err) < 0)
        return err->code;
    return write_state_file(c, "ctld.last-port", text, err);
}

static void init_stats(struct ctld_stats *st)
{
    histogram_init(&st->commit_s, api_bounds, NBOUNDS(api_bounds));
    for (size_t i = 0; i < CTLD_ROUTES_MAX; i++)
        histogram_init(&st->api_s[i], api_bounds, NBOUNDS(api_bounds));
}

/*
 * One controller per state directory: an exclusive flock on STATE/ctld.lock
 * for the daemon's life (the kernel drops it when the process dies, kill -9
 * included), with the holder's pid written in it for the message a second
 * controller gives.
 */
static int lock_state_dir(struct ctld *c, struct nl_err *err)
{
    char *path = path_join(c->cfg->state_dir, "ctld.lock");
    char holder[32];
    int pid_err, rc = nl_file_lock_pid(path, &c->lock_fd, holder, &pid_err);
    if (rc == -EBUSY)
        nl_err_set(err, rc,
                   "state-dir: %s is locked by nordlysd pid %s: another controller "
                   "uses this state directory (stop it, or give another --state-dir)",
                   path, holder[0] ? holder : "(not yet written)");
    else if (rc < 0)
        nl_err_set(err, rc, "state-dir: %s: %s", path, strerror(-rc));
    else if (pid_err != 0)
        /* The lock holds without the pid (a full disk): the pid is for the message only. */
        log_warn("state-dir: %s: cannot write our pid: %s", path, strerror(pid_err));
    free(path);
    return rc;
}

/* Highest job id that names a directory in dir (STATE/jobs, the output root; 0 if none). */
static uint64_t highest_job_dir(const char *dir)
{
    DIR *d = opendir(dir);
    uint64_t max = 0;
    if (d == NULL)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *n = e->d_name;
        if (n[0] < '1' || n[0] > '9' || strspn(n, "0123456789") != strlen(n) || strlen(n) > 19)
            continue;
        uint64_t v = strtoull(n, NULL, 10);
        if (v > max)
            max = v;
    }
    closedir(d);
    return max;
}

static int open_store(struct ctld *c, struct nl_err *err)
{
    if (make_dir(c->cfg->state_dir, err) < 0 || lock_state_dir(c, err) < 0)
        return err->code;
    c->jobs_dir = path_join(c->cfg->state_dir, "jobs");
    c->port_file = path_join(c->cfg->state_dir, "ctld.port");
    if (make_dir(c->jobs_dir, err) < 0)
        return err->code;
    char *db = path_join(c->cfg->state_dir, "nordlys.db");
    struct nl_store_opts opts = {.path = db,
                                 .sync_normal = strcmp(c->cfg->synchronous, "normal") == 0,
                                 .init = c->cfg->init};
    c->store = nl_store_open(&opts, err);
    free(db);
    if (c->store == NULL) {
        if (err->code == -EMEDIUMTYPE) {
            struct nl_err why = *err;
            nl_err_set(err, why.code,
                       "%s; nordlysd --init would move it aside and start a new facility there",
                       why.msg);
        }
        return err->code ? err->code : -EIO;
    }
    /*
     * Ids are never reused, even when the database was lost or replaced:
     * a job's directory keeps its id (and output paths) taken.
     */
    /* STATE/jobs held output before --output-root; an output root may be shared, or absent. */
    const char *dirs[] = {c->jobs_dir, c->cfg->output_root};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        uint64_t used = dirs[i] && dirs[i][0] ? highest_job_dir(dirs[i]) : 0;
        if (used <= nl_store_last_id(c->store))
            continue;
        log_warn("%s holds job %llu, above the database's last id %llu: new ids start after it",
                 dirs[i], (unsigned long long)used, (unsigned long long)nl_store_last_id(c->store));
        nl_store_ids_reserve(c->store, used);
    }
    return 0;
}

static bool audit_pending_cb(void *arg)
{
    return audit_pending(arg);
}

static int audit_write_cb(void *arg, struct nl_err *err)
{
    return audit_write(arg, err);
}

static void audit_settle_cb(void *arg, bool committed)
{
    audit_settle(arg, committed);
}

/*
 * The signing key (created at the first start), the audit log (in the
 * store, written in each COMMIT; STATE/audit.log is its copy) and the
 * auth point. The key is read once:
 * replacing it means a restart, which is what invalidates every token.
 */
static int security_open(struct ctld *c, struct nl_err *err)
{
    c->key = xcalloc(1, sizeof(*c->key));
    int rc = token_key_load(c->cfg->state_dir, true, c->key, err);
    if (rc < 0)
        return rc;
    c->old_key = xcalloc(1, sizeof(*c->old_key));
    if ((rc = token_old_key_load(c->cfg->state_dir, c->old_key, err)) == -ENOENT) {
        free(c->old_key);
        c->old_key = NULL;
        *err = (struct nl_err){0};
    } else if (rc < 0) {
        return rc;
    } else {
        log_info("jwt.key.old: tokens of the previous key verify until it is retired "
                 "(nordlysd token retire-key)");
    }
    char *path = path_join(c->cfg->state_dir, "audit.log");
    c->audit = audit_open(c->store, path, err);
    free(path);
    if (c->audit == NULL)
        return err->code ? err->code : -EIO;
    const struct durable_log log = {
            .pending = audit_pending_cb,
            .write = audit_write_cb,
            .settle = audit_settle_cb,
            .arg = c->audit};
    durable_attach_log(c->dur, &log);
    c->revoked = revoke_create();
    if ((rc = revoke_load(c->revoked, c->store, err)) < 0)
        return rc;
    const struct auth_opts ao = {.key = c->key,
                                 .old_key = c->old_key,
                                 .revoked = c->revoked,
                                 .trusted_origins = c->cfg->trusted_origin,
                                 .rate_limit = c->cfg->rate_limit};
    c->auth = auth_create(&ao);
    if (c->cfg->allow_root_jobs)
        log_warn("--allow-root-jobs: jobs of tokens whose unix_user is root run as root");
    return 0;
}

/* Every node starts unusable: a node is up only once its agent has synced. */
static void all_nodes_down(struct ctld *c)
{
    for (uint32_t n = 0; n < nl_facility_nodes(c->fac); n++)
        nl_sched_node_set_down(c->sched, n, true, NULL);
}

static struct nl_facility_spec *base_spec(const struct nl_facility *fac)
{
    struct nl_facility_spec *spec = xmalloc(sizeof(*spec));
    *spec = *nl_facility_spec(fac);
    return spec;
}

static int regrow_row(const struct nl_store_growth *g, void *arg)
{
    struct nl_err err = {0};
    /* A facility file edited since (a site added after the grown one) can refuse a row. */
    if (nl_facility_grow(arg, &g->g, &err) < 0)
        log_warn("facility: the %u racks %s added to site %s are not applied: %s", g->g.racks,
                 g->by, g->g.site, err.msg);
    return 0;
}

/*
 * The facility: its file or preset, grown by the racks added while it ran
 * (expansion online, api_grow.c), in order. Built again with the live
 * state, so that a growth whose COMMIT failed is gone from memory too.
 */
static int facility_build(struct ctld *c, struct nl_err *err)
{
    struct nl_facility *fac = nl_facility_create(c->fac_base, err);
    if (fac == NULL)
        return err->code ? err->code : -EINVAL;
    int rc = nl_store_growths_load(c->store, regrow_row, fac, err);
    if (rc < 0) {
        nl_facility_destroy(fac);
        return rc;
    }
    nl_facility_destroy(c->fac);
    c->fac = fac;
    return 0;
}

/*
 * The live state: scheduler, node registry, job life cycle and agent
 * protocol, reloaded from the store (start and rebuild).
 */
static int live_build(struct ctld *c, struct nl_err *err)
{
    int frc = facility_build(c, err);
    if (frc < 0)
        return frc;
    struct nl_sched_config sc;
    nl_sched_config_init(&sc, NL_POLICY_NORDLYS);
    sc.estimates = NL_SCHED_ESTIMATES_DEFAULT; /* `nordlys queue --start`, est_start_time */
    if ((c->sched = nl_sched_create(c->fac, c->tenants, &sc, err)) == NULL)
        return err->code ? err->code : -ENOMEM;
    /* A budget set through the API (docs/power.md) outlives restarts and rebuilds. */
    int64_t budget_w;
    int brc = nl_store_meta_get(c->store, "power_budget_w", &budget_w, err);
    if (brc < 0)
        return brc;
    if (brc == 1)
        nl_sched_set_power_budget(c->sched, (double)budget_w);
    if ((brc = api_power_restore(c, err)) < 0) /* rack, row, loop and site limits likewise */
        return brc;
    c->nodes = nodes_create(nl_facility_nodes(c->fac), (int64_t)c->cfg->node_timeout_ms * 1000);
    const struct life_deps ld = {.fac = c->fac,
                                 .tenants = c->tenants,
                                 .sched = c->sched,
                                 .store = c->store,
                                 .nodes = c->nodes,
                                 .dur = c->dur,
                                 .clock = &c->clock,
                                 .output_root = c->cfg->output_root,
                                 .node_timeout_ms = (uint32_t)c->cfg->node_timeout_ms,
                                 .master_port_salt = life_master_port_salt(c->cfg->state_dir)};
    c->life = life_create(&ld);
    if (c->out == NULL)
        c->out = outtail_create(NL_PROTO_OUTPUT_TAIL_MAX, CTLD_OUTPUT_TOTAL_MAX);
    const struct agents_deps ad = {.fac = c->fac,
                                   .out = c->out,
                                   .store = c->store,
                                   .nodes = c->nodes,
                                   .life = c->life,
                                   .dur = c->dur,
                                   .clock = &c->clock,
                                   .sync_interval_ms = c->cfg->sync_interval_ms,
                                   .node_timeout_ms = c->cfg->node_timeout_ms,
                                   .allow_root_jobs = c->cfg->allow_root_jobs};
    c->agents = agents_create(&ad);
    const struct gate_deps gd = {.tenants = c->tenants,
                                 .store = c->store,
                                 .dur = c->dur,
                                 .life = c->life,
                                 .clock = &c->clock,
                                 .sched = c->sched,
                                 .tenant_queue_max = c->cfg->tenant_queue_max,
                                 .kill_invalid_depend = !c->cfg->keep_invalid_depend};
    c->gate = gate_create(&gd);
    int rc = life_reload(c->life, err);
    if (rc == 0)
        rc = gate_reload(c->gate, err);
    if (rc == 0)
        rc = agents_load(c->agents, err);
    if (rc < 0)
        return rc;
    all_nodes_down(c);
    if ((rc = api_ops_load(c, err)) < 0)
        return rc;
    life_restart_clocks(c->life);
    return 0;
}

static void live_destroy(struct ctld *c)
{
    api_ops_free(c);
    agents_destroy(c->agents);
    gate_destroy(c->gate);
    life_destroy(c->life);
    nodes_destroy(c->nodes);
    nl_sched_destroy(c->sched);
    c->agents = NULL;
    c->gate = NULL;
    c->life = NULL;
    c->nodes = NULL;
    c->sched = NULL;
}

/* Port of an earlier run (STATE/ctld.port after a crash, else STATE/ctld.last-port), or 0. */
static unsigned earlier_port(const struct ctld *c)
{
    const char *names[] = {"ctld.port", "ctld.last-port"};
    for (size_t i = 0; i < 2; i++) {
        char *path = path_join(c->cfg->state_dir, names[i]);
        char *text = NULL;
        size_t len = 0;
        struct nl_err err = {0};
        unsigned port = 0;
        if (nl_file_read(path, 64, &text, &len, &err) == 0)
            port = (unsigned)strtoul(text, NULL, 10);
        free(text);
        free(path);
        if (port > 0 && port <= 65535)
            return port;
    }
    return 0;
}

/*
 * Nothing listens on host:port. The check binds without SO_REUSEPORT:
 * the HTTP server sets it, and would otherwise share a port that another
 * process (another controller's old port, reused since) listens on.
 */
static bool port_free(const char *host, unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1; /* connections of the old run in TIME_WAIT do not count */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/*
 * Listen where asked; with port 0, on the earlier run's port when it is
 * free, so that a restarted controller keeps its URL.
 */
static int open_http(struct ctld *c, struct nl_err *err)
{
    struct http_ops ops = {.body_limit = api_body_limit,
                           .dispatch = api_dispatch,
                           .answered = api_answered,
                           .arg = c,
                           .tls_cert_file = c->cfg->tls_cert,
                           .tls_key_file = c->cfg->tls_key,
                           .allow_insecure = c->cfg->allow_insecure};
    const char *listen = c->cfg->listen, *colon = strrchr(listen, ':');
    unsigned port = colon && strcmp(colon, ":0") == 0 ? earlier_port(c) : 0;
    if (port != 0 && (size_t)(colon - listen) < 64) {
        char host[64], addr[96];
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        snprintf(addr, sizeof(addr), "%s:%u", host, port);
        if (port_free(host, port) && (c->http = http_open(addr, &ops, err)) != NULL)
            return 0;
        /* A refused certificate or address is not cured by another port. */
        if (err->code != 0 && err->code != -EADDRINUSE)
            return err->code;
        log_info("listen: the earlier port %u is taken: picking a free one", port);
    }
    c->http = http_open(listen, &ops, err);
    return c->http ? 0 : err->code;
}

struct ctld *ctld_create(const struct ctld_config *cfg, struct nl_err *err)
{
    struct ctld *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->lock_fd = -1;
    now_init(&c->clock);
    init_stats(&c->stats);
    if ((c->fac = load_facility(cfg->facility, err)) == NULL ||
        (c->fac_base = base_spec(c->fac)) == NULL ||
        (c->tenants = load_tenants(cfg->tenants, nl_facility_gpus(c->fac), err)) == NULL ||
        open_store(c, err) < 0)
        goto fail;
    c->dur = durable_create(c->store, &c->clock);
    if (security_open(c, err) < 0 || live_build(c, err) < 0)
        goto fail;
    /* A full disk here is not fatal either: the controller starts with writes refused. */
    ctld_commit(c);
    c->ui = ui_open(cfg->ui_dir);
    if (ui_error(c->ui) != NULL)
        log_warn("no dashboard under /ui/: %s", ui_error(c->ui));
    if (open_http(c, err) < 0)
        goto fail;
    struct nl_err perr = {0};
    if (write_port_file(c, &perr) < 0) {
        log_warn("cannot write the port file yet (retried after every commit): %s", perr.msg);
        c->port_file_pending = true;
    }
    life_restart_clocks(c->life);
    log_info("listening on %s://%.*s:%u facility=%s gpus=%llu nodes=%u state=%s%s",
             http_tls(c->http) ? "https" : "http", (int)(strrchr(cfg->listen, ':') - cfg->listen),
             cfg->listen, http_port(c->http), nl_facility_name(c->fac),
             (unsigned long long)nl_facility_gpus(c->fac), nl_facility_nodes(c->fac),
             cfg->state_dir,
             durable_available(c->dur) ? "" : " (store unavailable: writes refused)");
    life_mark_dirty(c->life);
    return c;
fail:
    ctld_destroy(c);
    return NULL;
}

void ctld_destroy(struct ctld *c)
{
    if (c == NULL)
        return;
    if (c->store != NULL && nl_store_in_txn(c->store) && c->life != NULL)
        ctld_commit(c);
    http_close(c->http);
    if (c->port_file != NULL && c->http != NULL)
        unlink(c->port_file);
    live_destroy(c);
    outtail_destroy(c->out);
    nl_store_close(c->store);
    nl_tenants_destroy(c->tenants);
    nl_facility_destroy(c->fac);
    free(c->fac_base);
    durable_destroy(c->dur);
    auth_destroy(c->auth);
    revoke_destroy(c->revoked);
    audit_close(c->audit);
    ui_destroy(c->ui);
    free(c->key);
    free(c->old_key);
    if (c->lock_fd >= 0)
        close(c->lock_fd); /* releases the lock; the file stays (unlinking it would race) */
    free(c->jobs_dir);
    free(c->port_file);
    free(c);
}
