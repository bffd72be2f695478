/* SPDX-License-Identifier: MIT */
/*
 * agent.c - the agent's loop and its conversation with nordlysd; see
 * agent.h.
 *
 * Phases: NAMES (emulation only: ask for N unregistered node names) ->
 * REGISTER -> SYNC, for ever. At most one request is in flight, so the
 * sync sequence number identifies the sync an answer belongs to and exits
 * can be acknowledged exactly (jobs_ack). A sync answered with 404 means
 * the controller no longer knows this agent (it lost its state, or an
 * operator removed it): the agent registers again and carries on, with its
 * jobs still running, and reports them in the next sync. Any other 4xx is
 * logged as an error and retried with backoff.
 *
 * When the controller cannot be reached, requests are retried with
 * exponential backoff from 500 ms up to 30 s, or up to half the node
 * timeout once the controller has told us it: a restarted controller gives
 * our running jobs node-timeout-ms to be listed again before it declares
 * them lost and requeues them, so a retry later than that would make them
 * run twice. One log line per failure for the first few, then at most one
 * every 30 s, and one line when it answers again. Jobs keep running
 * meanwhile; their exits wait in the table.
 *
 * Before the first request the agent makes its state directory its own
 * (statedir.h: an exclusive lock, the instance key) and sweeps the run
 * records a previous agent left there (runrec.h), so nothing a dead agent
 * started can still run when the controller hands this one work.
 *
 * Syncs are full (every live run) or deltas (only runs started since the
 * last answered sync; docs/api.md). A sync is full when it is the first
 * after registering, when the last one got no answer or an error, when the
 * controller's answer asked for it (full_next), and at least every
 * FULL_SYNC_EVERY_US, so a controller that lost track re-learns everything.
 * A controller older than deltas reads every running list as complete and
 * would declare unlisted runs lost, so deltas are sent only to a controller
 * whose last answer carried full_next (true or false).
 */
#define _GNU_SOURCE /* realpath */
#include "agent.h"
#include "apower.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cgroup.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cred.h"
#include "http.h"
#include "ident.h"
#include "jobs.h"
#include "launch.h"
#include "nordlys/err.h"
#include "opt.h"
#include "proto.h"
#include "runrec.h"
#include "scratch.h"
#include "statedir.h"

enum phase {
    PH_NAMES,
    PH_REGISTER,
    PH_SYNC
};

enum tag {
    TAG_SIGNAL = 1,
    TAG_TIMER,
    TAG_JOBS,
    TAG_HTTP
};

/*
 * Request time limits. A sync must finish well within the node timeout
 * (5 s in the reference) or the controller marks our nodes down anyway;
 * 10 s also covers a multi-megabyte emulation sync on a busy machine.
 * Fetching names and registering 25,000+ nodes is one-off and may take
 * the controller a while, so they get a minute.
 */
#define SYNC_TIMEOUT_MS  10000L
#define SETUP_TIMEOUT_MS 60000L
#define BACKOFF_MIN_MS   500u
#define BACKOFF_MAX_MS   30000u
/* Failures logged one by one before the log goes quiet to one line per FAIL_LOG_EVERY_US. */
#define FAIL_LOG_FIRST    5u
#define FAIL_LOG_EVERY_US (30 * INT64_C(1000000))
/* On SIGTERM jobs get this long between SIGTERM and SIGKILL. */
#define SHUTDOWN_GRACE_S 10
/* A full running list at least this often, whatever the controller says. */
#define FULL_SYNC_EVERY_US (30 * INT64_C(1000000))
/*
 * How long a dead agent's keepers may keep the state directory's lock:
 * each holds it only while it writes its run's record (statedir.h).
 */
#define LOCK_WAIT_S 30.0
/* How long the start-up sweep may wait for a previous agent's runs to die. */
#define SWEEP_DEADLINE_S 20.0
/* One status line per minute: enough to see the agent is alive, not enough to flood. */
#define STATUS_EVERY_US (60 * INT64_C(1000000))

/*
 * A register body always fits NL_PROTO_BODY_MAX: at most NL_PROTO_NODES_MAX
 * names (opt.h), each of the safe alphabet (no escapes) and at most
 * NL_PROTO_NODE_NAME_MAX bytes plus quotes and a comma, the output root
 * (PATH_MAX, six bytes a byte at worst escaped), the name and instance.
 */
_Static_assert((NL_PROTO_NODE_NAME_MAX + 3) * (uint64_t)NL_PROTO_NODES_MAX + 6 * PATH_MAX +
                               6 * (NL_PROTO_AGENT_ID_MAX + NL_PROTO_INSTANCE_MAX) + 256 <=
                       NL_PROTO_BODY_MAX,
               "a register body must fit NL_PROTO_BODY_MAX");

struct agent {
    const struct agent_conf *conf;
    char **nodes; /* the names this agent stands for (owned) */
    size_t nnodes;
    uint32_t *by_name; /* node indices sorted by name, for launch lookups */
    struct agent_cg *cg;
    struct agent_jobs *jobs;
    struct agent_http *http;
    int epfd, sigfd, tfd;
    enum phase phase;
    char *agent_id;
    uint32_t interval_ms;
    uint32_t node_timeout_ms; /* from the register answer; 0 until then */
    uint64_t seq;             /* number of the last sync sent */
    bool in_flight;
    int64_t sync_started_us;
    uint32_t failures; /* consecutive failed requests */
    int64_t failing_since_us;
    int64_t fail_logged_us; /* when the last failure was logged */
    bool stopping, killed_hard;
    int exit_code;
    int64_t last_status_us;
    uint64_t syncs_ok, sync_bytes;
    int lock_fd; /* the state directory's lock, held for the agent's life */
    char instance[STATEDIR_INSTANCE_LEN];
    char *runs_dir;    /* STATE_DIR/runs: run records */
    char *output_root; /* --output-root made absolute (the register names it) */
    struct agent_scratch *scratch; /* --scratch-dir, or NULL */
    char *name;        /* --agent-name, or HOSTNAME-INSTANCE8 by default */
    bool full_next;    /* the next sync lists every live run */
    bool deltas;       /* the controller has shown it reads delta syncs (full_next) */
    int64_t last_full_us;
    int64_t too_big_logged_us; /* a full running list too big for a sync was last logged */
    struct apower *power; /* GPUs: telemetry and caps (apower.h); opened at the first sync */
};

/* ---- setup ------------------------------------------------------------- */

static int watch(struct agent *a, int fd, enum tag tag, struct nl_err *err)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return nl_err_set(err, -errno, "epoll_ctl: %s", strerror(errno));
    return 0;
}

static int setup_signals(struct agent *a, struct nl_err *err)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return nl_err_set(err, -errno, "sigprocmask: %s", strerror(errno));
    /* A controller that closes the connection mid-request must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (a->sigfd < 0)
        return nl_err_set(err, -errno, "signalfd: %s", strerror(errno));
    return 0;
}

static void set_nodes(struct agent *a, char **names, size_t n);

/* Say once, at start, whose identity jobs take (issue 10: a non-root agent says so). */
static void log_identity(const struct agent_conf *conf)
{
    struct ident self;
    struct nl_err err = {0};
    if (ident_self(&self, &err) < 0)
        return;
    if (geteuid() == 0)
        log_info("running as root: each job runs as the account its launch names (root only "
                 "where the controller allows it)");
    else if (conf->run_as_self)
        log_info("not root: every job runs as this agent's user '%s' (uid %ld), whatever user "
                 "its launch names (--run-as-self)",
                 self.name, (long)self.uid);
    else
        log_info("not root: jobs run as this agent's user '%s' (uid %ld); a launch naming "
                 "another user fails (exit 126)",
                 self.name, (long)self.uid);
    ident_release(&self);
}

/*
 * Create the output root (0755: the agent's; each job's directory below it
 * is its user's alone, jobs.h) and keep its absolute path. The default
 * derives from --state-dir, which may be relative, and the controller
 * shows whole output paths with the root the register names, so a
 * relative root would show paths that lead nowhere from anywhere else.
 */
static int output_root_open(struct agent *a, struct nl_err *err)
{
    const char *root = a->conf->output_root;
    char probe[PATH_MAX];
    if (snprintf(probe, sizeof(probe), "%s/.", root) >= (int)sizeof(probe))
        return nl_err_set(err, -ENAMETOOLONG, "--output-root %s: path too long", root);
    /* 0755 whatever the agent's umask: jobs of other users must get through it. */
    int rc = nl_file_mkdir_parents_mode(probe, 0755);
    if (rc < 0)
        return nl_err_set(err, rc, "--output-root %s: %s", root, strerror(-rc));
    char *abs = realpath(root, NULL);
    if (abs == NULL)
        return nl_err_set(err, -errno, "--output-root %s: %s", root, strerror(errno));
    a->output_root = abs;
    return 0;
}

struct agent *agent_new(const struct agent_conf *conf, char *const *environ, struct nl_err *err)
{
    struct agent *a = xcalloc(1, sizeof(*a));
    a->conf = conf;
    a->epfd = a->sigfd = a->tfd = a->lock_fd = -1;
    a->phase = conf->emulate > 0 ? PH_NAMES : PH_REGISTER;
    a->interval_ms = conf->sync_interval_ms;
    a->full_next = true;
    char probe[4096];
    snprintf(probe, sizeof(probe), "%s/runs/.", conf->state_dir);
    int rc = nl_file_mkdir_parents(probe);
    if (rc < 0) {
        nl_err_set(err, rc, "--state-dir %s: %s", conf->state_dir, strerror(-rc));
        goto fail;
    }
    /* The lock first: the records and instance key below are the holder's alone. */
    if (statedir_lock(conf->state_dir, LOCK_WAIT_S, &a->lock_fd, err) < 0 ||
        statedir_instance(conf->state_dir, a->instance, err) < 0)
        goto fail;
    /*
     * The default name is stable across restarts on one state directory and
     * unique between directories (one agent each), so a restarted agent
     * comes back under its own name and instance.
     */
    if (conf->agent_name_default) {
        size_t nl = strlen(conf->agent_name) + 10;
        a->name = xmalloc(nl);
        snprintf(a->name, nl, "%.55s-%.8s", conf->agent_name, a->instance);
    } else {
        a->name = xstrdup(conf->agent_name);
    }
    if (output_root_open(a, err) < 0)
        goto fail;
    size_t rl = strlen(conf->state_dir) + sizeof("/runs");
    a->runs_dir = xmalloc(rl);
    snprintf(a->runs_dir, rl, "%s/runs", conf->state_dir);
    rc = runrec_sweep(a->runs_dir, SWEEP_DEADLINE_S, err);
    if (rc < 0)
        goto fail;
    if (rc > 0)
        log_info("swept %d runs left by a previous agent in %s", rc, a->runs_dir);
    if (conf->nnodes > 0) {
        char **names = xcalloc(conf->nnodes, sizeof(*names));
        for (size_t i = 0; i < conf->nnodes; i++)
            names[i] = xstrdup(conf->nodes[i]);
        set_nodes(a, names, conf->nnodes);
    }
    a->cg = agent_cg_open(conf->cgroup_root, a->name);
    if (conf->scratch_dir != NULL) {
        a->scratch = scratch_new(conf->scratch_dir, err);
        if (a->scratch == NULL)
            goto fail;
        log_info("scratch: %s/NODE per node, wiped between tenants and after sensitive jobs",
                 scratch_root(a->scratch));
    }
    struct jobs_conf jc = {.noop = conf->noop,
                           .output_root = a->output_root,
                           .runs_dir = a->runs_dir,
                           .lock_fd = a->lock_fd,
                           .output_limit = (int64_t)conf->output_limit_mb * 1024 * 1024,
                           .cg = a->cg,
                           .agent_env = environ,
                           .exports = conf->export_env,
                           .nexports = conf->nexport_env,
                           .run_as_self = conf->run_as_self,
                           .scratch = a->scratch};
    a->jobs = jobs_new(&jc, err);
    if (a->jobs == NULL)
        goto fail;
    char *token = NULL;
    if (cred_token_load(conf->token_file, conf->token_env, &token, err) < 0)
        goto fail;
    if (token == NULL)
        log_warn("no token (--token-file or NORDLYS_TOKEN): a controller that checks tokens "
                 "will refuse the register");
    if (conf->ca_file != NULL && access(conf->ca_file, R_OK) < 0) {
        nl_err_set(err, -errno, "--ca-file %s: %s", conf->ca_file, strerror(errno));
        free(token);
        goto fail;
    }
    struct agent_http_conf hc = {.token = token, .ca_file = conf->ca_file};
    a->http = agent_http_new(&hc, strncmp(conf->controller, "https://", 8) == 0, err);
    if (token != NULL)
        explicit_bzero(token, strlen(token));
    free(token);
    if (a->http == NULL)
        goto fail;
    log_identity(conf);
    a->epfd = epoll_create1(EPOLL_CLOEXEC);
    a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (a->epfd < 0 || a->tfd < 0) {
        nl_err_set(err, -errno, "epoll/timerfd: %s", strerror(errno));
        goto fail;
    }
    if (setup_signals(a, err) < 0 || watch(a, a->sigfd, TAG_SIGNAL, err) < 0 ||
        watch(a, a->tfd, TAG_TIMER, err) < 0 || watch(a, jobs_fd(a->jobs), TAG_JOBS, err) < 0 ||
        watch(a, agent_http_fd(a->http), TAG_HTTP, err) < 0)
        goto fail;
    return a;
fail:
    agent_destroy(a);
    return NULL;
}

void agent_destroy(struct agent *a)
{
    if (a == NULL)
        return;
    agent_http_destroy(a->http);
    apower_free(a->power); /* every limit it changed goes back first */
    jobs_destroy(a->jobs);
    scratch_destroy(a->scratch);
    agent_cg_close(a->cg);
    for (size_t i = 0; i < a->nnodes; i++)
        free(a->nodes[i]);
    free(a->nodes);
    free(a->by_name);
    free(a->agent_id);
    free(a->runs_dir);
    free(a->output_root);
    free(a->name);
    if (a->lock_fd >= 0)
        close(a->lock_fd);
    if (a->tfd >= 0)
        close(a->tfd);
    if (a->sigfd >= 0)
        close(a->sigfd);
    if (a->epfd >= 0)
        close(a->epfd);
    free(a);
}

/* ---- nodes ------------------------------------------------------------- */

static char **sort_names; /* qsort has no context argument; set only around the call */

static int cmp_idx(const void *x, const void *y)
{
    return strcmp(sort_names[*(const uint32_t *)x], sort_names[*(const uint32_t *)y]);
}

static void set_nodes(struct agent *a, char **names, size_t n)
{
    a->nodes = names;
    a->nnodes = n;
    a->by_name = xcalloc(n, sizeof(*a->by_name));
    for (size_t i = 0; i < n; i++)
        a->by_name[i] = (uint32_t)i;
    sort_names = names;
    qsort(a->by_name, n, sizeof(*a->by_name), cmp_idx);
    sort_names = NULL;
}

/* The index of node, or JOBS_NODE_IDX_MAX when this agent does not stand for it. */
static uint32_t node_index(const struct agent *a, const char *node)
{
    size_t lo = 0, hi = a->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->nodes[a->by_name[mid]], node);
        if (c == 0)
            return a->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return JOBS_NODE_IDX_MAX;
}

static uint32_t node_index_cb(const void *ctx, const char *node)
{
    return node_index(ctx, node);
}

/* ---- scheduling the next request --------------------------------------- */

static void arm_at(struct agent *a, int64_t when_us)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    if (when_us <= 0)
        when_us = 1;
    its.it_value.tv_sec = when_us / 1000000;
    its.it_value.tv_nsec = (long)(when_us % 1000000) * 1000 + 1;
    timerfd_settime(a->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static const char *phase_name(enum phase p)
{
    return p == PH_NAMES ? "node list" : p == PH_REGISTER ? "register" : "sync";
}

/* A request got no usable answer: retry with backoff, saying so. */
static void request_failed(struct agent *a, const char *why)
{
    int64_t now = nl_clock_monotonic_us();
    if (a->failures++ == 0)
        a->failing_since_us = now;
    uint32_t max = BACKOFF_MAX_MS;
    if (a->node_timeout_ms > 0 && a->node_timeout_ms / 2 < max)
        max = a->node_timeout_ms / 2 > BACKOFF_MIN_MS ? a->node_timeout_ms / 2 : BACKOFF_MIN_MS;
    uint32_t backoff = BACKOFF_MIN_MS;
    for (uint32_t i = 1; i < a->failures && backoff < max; i++)
        backoff *= 2;
    if (backoff > max)
        backoff = max;
    if (a->failures <= FAIL_LOG_FIRST || now - a->fail_logged_us >= FAIL_LOG_EVERY_US) {
        log_warn("controller %s: %s failed (attempt %" PRIu32 ", %zu jobs running): %s; retry in "
                 "%" PRIu32 " ms",
                 a->conf->controller, phase_name(a->phase), a->failures, jobs_live(a->jobs), why,
                 backoff);
        a->fail_logged_us = now;
    }
    arm_at(a, now + (int64_t)backoff * 1000);
}

static void request_ok(struct agent *a)
{
    if (a->failures > 0)
        log_info("controller %s answers again after %" PRIu32 " failed attempts (%.1f s)",
                 a->conf->controller, a->failures,
                 (double)(nl_clock_monotonic_us() - a->failing_since_us) / 1e6);
    a->failures = 0;
}

/* status: the HTTP status that refused, 0 when the refusal is the agent's own reading. */
static void fatal(struct agent *a, const char *what, long status, const char *msg)
{
    /* 401/403: a token that is missing, expired, or does not cover these nodes. */
    if (status > 0)
        log_err("%s refused by the controller: %s (HTTP %ld%s); stopping", what, msg, status,
                status == 401 || status == 403 ? ", the agent's token" : "");
    else
        log_err("%s refused by the controller: %s; stopping", what, msg);
    a->exit_code = 1;
    a->stopping = true;
    jobs_kill_all(a->jobs, SHUTDOWN_GRACE_S, "agent stopping");
}

/* ---- the three requests ------------------------------------------------ */

static void send_request(struct agent *a, const char *path, struct proto_buf *body, long timeout_ms,
                         agent_http_done_fn done)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", a->conf->controller, path);
    struct nl_err err = {0};
    size_t len = body ? body->len : 0;
    if (agent_http_request(a->http, url, body ? body->data : NULL, len, timeout_ms, done, a, &err) <
        0) {
        request_failed(a, err.msg);
        return;
    }
    a->in_flight = true;
}

/*
 * The answer to one of the two setup requests (what: its name in the log)
 * has come: true if it is a 200. Otherwise a 4xx means the controller
 * refuses what we are, and asking again would get the same answer, so the
 * agent stops; anything else (no answer, 5xx) is retried.
 */
static bool setup_answered(struct agent *a, const char *what, long status, const char *body,
                           size_t len, const char *cerr)
{
    a->in_flight = false;
    if (status == 200)
        return true;
    char msg[NL_ERR_MSG_MAX];
    proto_error_message(body, len, msg, sizeof(msg));
    if (status >= 400 && status < 500)
        fatal(a, what, status, msg);
    else
        request_failed(a, cerr ? cerr : msg);
    return false;
}

static void on_names(void *ctx, long status, const char *body, size_t len, const char *cerr)
{
    struct agent *a = ctx;
    if (!setup_answered(a, "GET /v1/nodes", status, body, len, cerr))
        return;
    request_ok(a);
    char **names;
    size_t n;
    struct nl_err err = {0};
    if (proto_decode_node_names(body, len, a->conf->emulate, &names, &n, &err) < 0)
        return request_failed(a, err.msg);
    if (n == 0) {
        free(names);
        return fatal(a, "--emulate", 0, "the controller has no unregistered nodes");
    }
    if (n < a->conf->emulate)
        log_warn("--emulate %" PRIu32 ": the controller has only %zu unregistered nodes; "
                 "standing for those",
                 a->conf->emulate, n);
    set_nodes(a, names, n);
    a->phase = PH_REGISTER;
    arm_at(a, 0);
}

static void on_register(void *ctx, long status, const char *body, size_t len, const char *cerr)
{
    struct agent *a = ctx;
    if (!setup_answered(a, "register", status, body, len, cerr))
        return;
    struct proto_reg_answer ans;
    struct nl_err err = {0};
    if (proto_decode_register(body, len, &ans, &err) < 0)
        return request_failed(a, err.msg);
    request_ok(a);
    free(a->agent_id);
    a->agent_id = ans.agent_id;
    a->interval_ms = a->conf->sync_interval_ms ? a->conf->sync_interval_ms : ans.sync_interval_ms;
    a->node_timeout_ms = ans.node_timeout_ms;
    a->full_next = true;
    a->deltas = false; /* until this controller's answers show it knows them */
    log_info("registered %zu nodes as agent %s (%s); sync every %" PRIu32
             " ms, node timeout %" PRIu32 " ms",
             a->nnodes, a->agent_id, a->conf->emulate ? "emulated" : "real", a->interval_ms,
             ans.node_timeout_ms);
    if (ans.node_timeout_ms > 0 && a->interval_ms * 2 > ans.node_timeout_ms)
        log_warn("sync interval %" PRIu32 " ms is over half the node timeout %" PRIu32
                 " ms: one slow sync will mark nodes down",
                 a->interval_ms, ans.node_timeout_ms);
    a->phase = PH_SYNC;
    arm_at(a, 0);
}

/*
 * Launches past the launch budget wait in the job table (jobs.h), so this
 * returns to the loop quickly however many an answer carries; its time is
 * logged so that a loop held too long, which would starve the heartbeat,
 * shows.
 */
static void apply_work(struct agent *a, const struct proto_work *w)
{
    int64_t t0 = nl_clock_monotonic_us();
    if (a->power != NULL)
        apower_work(a->power, w, node_index_cb, a, t0);
    for (size_t i = 0; i < w->nlaunch; i++)
        jobs_launch(a->jobs, &w->launch[i], node_index(a, w->launch[i].node));
    jobs_kill(a->jobs, w->kill, w->nkill);
    jobs_control(a->jobs, w->signal, w->nsignal, w->limit, w->nlimit);
    if (w->nlaunch == 0 && w->nkill == 0)
        return;
    double ms = (double)(nl_clock_monotonic_us() - t0) / 1e3;
    if (a->node_timeout_ms > 0 && ms > (double)a->node_timeout_ms / 10)
        log_warn("sync answer: %zu launches and %zu kills took %.1f ms (%zu launches queued)",
                 w->nlaunch, w->nkill, ms, jobs_queued(a->jobs));
    else
        log_debug(NL_LOGC_AGENT,
                  "sync answer: %zu launches and %zu kills took %.1f ms (%zu queued)", w->nlaunch,
                  w->nkill, ms, jobs_queued(a->jobs));
}

static void on_sync(void *ctx, long status, const char *body, size_t len, const char *cerr)
{
    struct agent *a = ctx;
    a->in_flight = false;
    char msg[NL_ERR_MSG_MAX];
    if (status == 404) {
        proto_error_message(body, len, msg, sizeof(msg));
        log_warn("sync: the controller does not know this agent (%s); registering again", msg);
        a->phase = PH_REGISTER;
        return request_failed(a, msg);
    }
    if (status >= 400 && status < 500) {
        /* Our request is at fault: retrying is all we can do, and it must be loud. */
        proto_error_message(body, len, msg, sizeof(msg));
        log_err("sync refused with HTTP %ld%s: %s", status,
                status == 401 || status == 403 ? " (the agent's token: renew --token-file)" : "",
                msg);
        return request_failed(a, msg);
    }
    if (status != 200) {
        proto_error_message(body, len, msg, sizeof(msg));
        return request_failed(a, cerr ? cerr : msg);
    }
    request_ok(a);
    a->syncs_ok++;
    struct proto_work w;
    struct nl_err err = {0};
    /*
     * The controller has answered this sync: the exits it carried are
     * handled, except those it holds (a rank of a gang that runs on).
     */
    if (proto_decode_sync(body, len, &w, &err) < 0) {
        log_err("sync answer ignored: %s", err.msg);
        jobs_ack(a->jobs, a->seq, NULL, 0);
    } else {
        jobs_ack(a->jobs, a->seq, w.hold, w.nhold);
        /* Answered without an error: a delta is enough next, unless the controller asks. */
        a->full_next = w.full_next;
        a->deltas = w.knows_full;
        apply_work(a, &w);
    }
    proto_work_release(&w);
    if (!a->stopping)
        arm_at(a, a->sync_started_us + (int64_t)a->interval_ms * 1000);
}

static void send_sync(struct agent *a)
{
    const struct proto_running *run;
    const struct proto_exit *ex;
    int64_t now = nl_clock_monotonic_us();
    bool full = a->full_next || !a->deltas || now - a->last_full_us >= FULL_SYNC_EVERY_US;
    if (full)
        a->last_full_us = now;
    /* Until an answer without error says otherwise, the next sync is full too. */
    a->full_next = true;
    size_t nr = jobs_running(a->jobs, full, &run);
    a->seq++;
    size_t ne = jobs_exits(a->jobs, a->seq, &ex);
    struct proto_buf b = {0};
    size_t nr_sent, ne_sent;
    proto_encode_sync(&b, a->agent_id, a->seq, full, run, nr, ex, ne, NL_PROTO_BODY_MAX, &nr_sent,
                      &ne_sent);
    if (full && nr_sent < nr) {
        /*
         * A full list is complete or it is not one (the controller would
         * take the runs left out for lost), and the protocol has no full
         * list in parts: send a delta now, and keep asking for a full one.
         */
        if (now - a->too_big_logged_us >= FAIL_LOG_EVERY_US || a->too_big_logged_us == 0) {
            log_err("%zu running jobs do not fit one sync body of %u bytes: sending deltas; a "
                    "controller that lost track of them will not re-learn them",
                    nr, NL_PROTO_BODY_MAX);
            a->too_big_logged_us = now;
        }
        full = false;
        a->last_full_us = 0;
        b.len = 0;
        nr = jobs_running(a->jobs, false, &run);
        proto_encode_sync(&b, a->agent_id, a->seq, false, run, nr, ex, ne, NL_PROTO_BODY_MAX,
                          &nr_sent, &ne_sent);
    }
    /* GPUs: exits go idle in the model, and this sync carries readings of a few nodes. */
    if (a->power == NULL)
        a->power = apower_new(a->nnodes, a->conf->emulate > 0, (uint64_t)now);
    apower_exits(a->power, ex, ne_sent, node_index_cb, a, now);
    apower_encode(a->power, &b, a->nodes, a->nnodes, now, NL_PROTO_BODY_MAX);
    if (!full)
        jobs_running_sent(a->jobs, nr_sent);
    jobs_exits_sent(a->jobs, a->seq, ne_sent);
    /* The controls applied since the last answered sync (jobs_applied): a few bytes each. */
    const uint64_t *applied;
    size_t na = jobs_applied(a->jobs, NL_PROTO_SYNC_ENTRIES_MAX, &applied);
    proto_append_applied(&b, applied, na);
    /* Output last: the lists above never wait for it (outship.h bounds what it adds). */
    if (b.len + NL_PROTO_OUTPUT_BODY_ROOM <= NL_PROTO_BODY_MAX) {
        const struct proto_output *out;
        size_t no = jobs_output(a->jobs, a->seq, &out);
        proto_append_output(&b, out, no);
    }
    if (nr_sent < nr || ne_sent < ne)
        log_debug(NL_LOGC_AGENT,
                  "sync %" PRIu64 ": %zu of %zu running and %zu of %zu exits fit; "
                  "the rest go next",
                  a->seq, nr_sent, nr, ne_sent, ne);
    a->sync_bytes += b.len;
    a->sync_started_us = now;
    log_debug(NL_LOGC_AGENT, "sync %" PRIu64 " (%s): %zu running, %zu exits, %zu bytes", a->seq,
              full ? "full" : "delta", nr, ne, b.len);
    send_request(a, "/v1/agent/sync", &b, SYNC_TIMEOUT_MS, on_sync);
}

static void on_timer(struct agent *a)
{
    uint64_t ticks;
    ssize_t n = read(a->tfd, &ticks, sizeof(ticks));
    (void)n;
    if (a->in_flight || a->stopping)
        return;
    struct proto_buf b = {0};
    char path[64];
    switch (a->phase) {
    case PH_NAMES:
        snprintf(path, sizeof(path), "/v1/nodes?state=unregistered&limit=%" PRIu32,
                 a->conf->emulate);
        send_request(a, path, NULL, SETUP_TIMEOUT_MS, on_names);
        break;
    case PH_REGISTER:
        proto_encode_register(&b, a->name, a->instance, a->nodes, a->nnodes, a->conf->emulate > 0,
                              a->output_root);
        send_request(a, "/v1/agent/register", &b, SETUP_TIMEOUT_MS, on_register);
        break;
    case PH_SYNC:
        send_sync(a);
        break;
    }
}

/* ---- signals and the loop ---------------------------------------------- */

static void on_signal(struct agent *a)
{
    struct signalfd_siginfo si;
    bool child = false;
    while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            child = true;
            continue;
        }
        if (!a->stopping) {
            log_info("signal %s: stopping; %zu jobs get SIGTERM, SIGKILL after %d s",
                     strsignal((int)si.ssi_signo), jobs_live(a->jobs), SHUTDOWN_GRACE_S);
            a->stopping = true;
            jobs_kill_all(a->jobs, SHUTDOWN_GRACE_S, "agent stopping");
        } else if (!a->killed_hard) {
            log_info("second signal: SIGKILL to %zu jobs", jobs_live(a->jobs));
            a->killed_hard = true;
            jobs_kill_all(a->jobs, 0, "agent stopping");
        }
    }
    /* Signals coalesce: one SIGCHLD may stand for many exits, so reap them all. */
    if (child)
        jobs_reap(a->jobs);
}

static void status_line(struct agent *a)
{
    int64_t now = nl_clock_monotonic_us();
    if (now - a->last_status_us < STATUS_EVERY_US)
        return;
    if (a->last_status_us != 0)
        log_info("status: nodes=%zu jobs_running=%zu exits_unacked=%zu syncs=%" PRIu64
                 " sync_mb=%.1f",
                 a->nnodes, jobs_live(a->jobs), jobs_unacked(a->jobs), a->syncs_ok,
                 (double)a->sync_bytes / 1e6);
    a->last_status_us = now;
}

int agent_run(struct agent *a)
{
    log_info("agent %s starting: controller %s, %s %" PRIu32 " nodes%s", a->name,
             a->conf->controller, a->conf->emulate ? "emulating" : "running",
             a->conf->emulate ? a->conf->emulate : (uint32_t)a->nnodes,
             a->conf->noop ? ", sleep jobs as no-ops" : "");
    arm_at(a, 0);
    while (!a->stopping || jobs_live(a->jobs) > 0) {
        struct epoll_event ev[8];
        int n = epoll_wait(a->epfd, ev, 8, -1);
        if (n < 0 && errno != EINTR) {
            log_err("epoll_wait: %s", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            switch ((enum tag)ev[i].data.u64) {
            case TAG_SIGNAL:
                on_signal(a);
                break;
            case TAG_TIMER:
                on_timer(a);
                break;
            case TAG_JOBS:
                jobs_dispatch(a->jobs);
                break;
            case TAG_HTTP:
                agent_http_dispatch(a->http);
                break;
            }
        }
        status_line(a);
    }
    log_info("agent %s stopped after %" PRIu64 " syncs", a->name, a->syncs_ok);
    return a->exit_code;
}
