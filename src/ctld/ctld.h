/* SPDX-License-Identifier: MIT */
/*
 * ctld.h - the controller's state and the functions its modules share
 * (internal to src/ctld; the modules are the files named below).
 *
 * One struct ctld owns everything: facility, tenants, scheduler, store,
 * HTTP server, agents and node table, run tracking, metrics. It lives on
 * the loop thread; nothing here is thread-safe and nothing needs to be.
 *
 * The durability rule (DESIGN.md section 4): every change to the store in
 * one loop iteration goes into one transaction (ctld_txn opens it on the
 * first write), and every HTTP answer given while that transaction has
 * writes is held until ctld_commit has made it durable. A failed COMMIT
 * turns those answers into 503s and rebuilds the live state from the store
 * (struct ctld_durable), so that memory and disk never disagree; a write
 * that fails inside an iteration (rare: SQLite writes only at COMMIT) is
 * still fatal, and the restart reloads the store.
 */
#ifndef NL_CTLD_CTLD_H
#define NL_CTLD_CTLD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto_limits.h"
#include "ctld/metrics.h"
#include "nordlys/job.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"

struct ctld_config;
struct http;
struct http_req;
struct nl_err;
struct nl_store;
struct nl_store_job;
struct agents;
struct run;
struct runs;

/*
 * Named limits on what clients may send (STYLE rule 22). A job request is
 * a few hundred bytes; 64 KiB leaves room for a long command line and
 * environment. An agent's body is bounded by the protocol's table
 * (common/proto_limits.h), which the agent uses too.
 */
#define CTLD_JOB_BODY_MAX       (64u * 1024u)
#define CTLD_AGENT_BODY_MAX     NL_PROTO_BODY_MAX
#define CTLD_LIST_LIMIT_DEFAULT 1000
#define CTLD_LIST_LIMIT_MAX     100000

#define CTLD_ROUTES_MAX 16

struct ctld_stats {
    struct histogram queue_wait_s;           /* submit to start */
    struct histogram sched_cycle_s;          /* one nl_sched_pass plus applying its actions */
    struct histogram commit_s;               /* one group COMMIT */
    struct histogram api_s[CTLD_ROUTES_MAX]; /* by route; the last slot for unrouted */
    uint64_t ended[NL_JOB_STATE_COUNT][NL_TIERS_MAX]; /* jobs that reached a terminal state */
    uint64_t submitted, commits, requests;
};

/* A job inserted in this iteration's transaction, for the scheduler after COMMIT. */
struct ctld_submit {
    uint64_t id;
    struct nl_job_spec spec;
    int64_t submit_us;
};

struct ctld {
    const struct ctld_config *cfg; /* borrowed from main */
    struct nl_facility *fac;
    struct nl_tenants *tenants;
    struct nl_sched *sched;
    struct nl_store *store;
    struct http *http;
    struct agents *agents;
    struct runs *runs;
    char *jobs_dir; /* STATE/jobs */
    char *port_file;
    int64_t now_us;        /* the scheduler's clock: see ctld_now */
    int64_t clock_base_us; /* realtime minus monotonic at start (raised by reload) */
    bool sched_dirty;
    int64_t next_pass_us;
    int64_t next_check_us;
    int64_t last_pass_us;
    struct ctld_submit *subs;
    size_t nsubs, subs_cap;
    size_t unconfirmed_runs; /* runs with unconfirmed ranks */
    struct ctld_stats stats;
    struct ctld_durable *dur; /* ctld.c: the state-directory lock, store availability */
    volatile bool stop;
};

/* ---- ctld.c: life cycle and the durability rule ---- */

/*
 * What keeps the store the truth: the state directory's lock, whether the
 * store can commit, and the answers held for this iteration's COMMIT.
 * When a COMMIT fails (disk full, I/O error) the transaction is rolled
 * back, every held answer becomes a 503 "store_unavailable", and the live
 * state (scheduler, runs, agents) is rebuilt from the store the way a
 * restart builds it. Until a probe (about every second) commits again,
 * every request that would write is answered 503, and nothing runs that
 * writes (scheduling passes, timeouts); reads are served. Recovery
 * rebuilds the live state once more and carries on.
 */
struct ctld_durable {
    int lock_fd; /* STATE/ctld.lock, flock()ed for the daemon's life */
    bool unavailable;
    char reason[320];       /* why the store cannot commit, for 503 answers */
    int64_t next_probe_us;  /* while unavailable */
    int64_t next_expire_us; /* next deletion of expired idempotency keys */
    bool port_file_pending; /* ctld.port could not be written yet (full disk) */
    struct http_req **held; /* answers held for this iteration's COMMIT (api_reply) */
    size_t nheld, held_cap;
};

/* False while the store cannot commit: writes are answered 503 (c->dur->reason). */
bool ctld_store_available(const struct ctld *c);

/* Build every subsystem in dependency order; NULL with err set. */
struct ctld *ctld_create(const struct ctld_config *cfg, struct nl_err *err);
void ctld_destroy(struct ctld *c);
/* Advance and return c->now_us: monotonic time read as Unix time (never backwards). */
int64_t ctld_now(struct ctld *c);
/* Move the clock forward to t if it is behind (a store written with a later clock). */
void ctld_clock_raise(struct ctld *c, int64_t t);
/* Open this iteration's transaction if none is open. Fatal if BEGIN fails. */
void ctld_txn(struct ctld *c);
/* COMMIT (if anything was written), run after-commit work, release held answers. */
void ctld_commit(struct ctld *c);
/* Timed work: node timeouts, lost jobs, the scheduling pass when due. */
void ctld_timers(struct ctld *c);
/* Log and exit; for store failures that leave memory and disk apart. */
void ctld_fatal(const char *what, const struct nl_err *err) __attribute__((noreturn));
/* Tier name of a tenant index. */
const char *ctld_tier_name(const struct ctld *c, uint32_t tenant);

/* ---- loop.c ---- */

/* Run until SIGINT/SIGTERM; 0, or a negative code with err set when the loop cannot start. */
int ctld_loop_run(struct ctld *c, struct nl_err *err);

/* ---- jobs.c: job life cycle between scheduler, store and agents ---- */

/*
 * Insert a validated request in this iteration's transaction; sets
 * rec->id and its output paths. The scheduler sees it after COMMIT.
 */
int jobs_submit(struct ctld *c, struct nl_store_job *rec, struct nl_err *err);
/* After COMMIT: hand this iteration's submissions to the scheduler. */
void jobs_after_commit(struct ctld *c);
/* Run a scheduling pass and carry out its actions. */
void jobs_pass(struct ctld *c);
/* Cancel: 0 ended now, 1 being killed, -ENOENT not live. */
int jobs_cancel(struct ctld *c, uint64_t id, struct nl_err *err);

/* What an agent reported about one job process on one node. */
struct jobs_exit {
    uint64_t job;
    uint32_t run; /* the run number of the launch it came from */
    uint32_t node;
    int exit_code, signal;
    bool timeout;
    double cpu_s;
    int64_t max_rss_kb;
    const char *reason; /* why a launch failed, or NULL; borrowed for the call */
};

/*
 * An exit from an agent; repeated reports, and reports of an older run of
 * the job (it was requeued and started again since), are ignored.
 */
void jobs_exit(struct ctld *c, const struct jobs_exit *x);
/*
 * After jobs_exit: true when x is a rank's exit of a gang that runs on, so
 * that nothing durable records it yet. The agent must keep reporting it
 * (the sync answer holds it), or a controller restart would forget it.
 */
bool jobs_exit_held(const struct ctld *c, const struct jobs_exit *x);
/*
 * An agent lists run of job as running on node: true if that is the run
 * the controller runs there (and it is marked seen), false for a stray or
 * stale process that must be killed.
 */
bool jobs_seen(struct ctld *c, uint64_t job, uint32_t run, uint32_t node);
/* job's node (or its processes) were lost: NODE_FAIL, requeued when it asked. */
void jobs_lost(struct ctld *c, uint64_t job, const char *why);
/* Running jobs no agent has listed for node_timeout become NODE_FAIL. */
void jobs_check_lost(struct ctld *c);
/* Reloaded: every rank of run waits for its agent's first report (jobs_confirm_reloaded). */
void jobs_reloaded(struct ctld *c, struct run *run);
/*
 * Reloaded run was being killed (reason static: "cancel", "preempt"): its
 * kill goes out again, with the job's grace, once its nodes' agents sync.
 */
void jobs_kill_reloaded(struct ctld *c, struct run *run, const char *reason);
/*
 * After a restart: the agent with index idx has synced, and the ranks of
 * reloaded runs on its nodes that it did not mention were never launched
 * (the launch was lost with the old controller): launch them.
 */
void jobs_confirm_reloaded(struct ctld *c, int32_t idx);
/* Reload live jobs from the store into the scheduler (restart). */
int jobs_reload(struct ctld *c, struct nl_err *err);
/* The launch object for job's rank on node (for a sync answer); NULL if it no longer runs. */
json_t *jobs_launch_json(struct ctld *c, uint64_t job, uint32_t node);

/* ---- job_json.c: the JOB object and the job request ---- */

/* A fault in a request: the API error code, the field at fault, the message. */
struct api_fault {
    const char *code; /* "invalid_field", "unknown_field", ... */
    char field[64];
    char msg[256];
};

/*
 * Parse and check a job request object (borrowed) into rec (initialised
 * by the caller, owns its strings afterwards). Returns 0, or -EINVAL with
 * *fault filled; tenants borrowed for the tenant name.
 */
int job_request_parse(const json_t *body, const struct nl_tenants *tenants,
                      struct nl_store_job *rec, struct api_fault *fault);
/* The JOB object of docs/api.md for a stored record, with live details from the scheduler. */
json_t *job_json(struct ctld *c, const struct nl_store_job *rec);
/*
 * Copy at most max bytes of s (text from outside) into out (size bytes),
 * control characters (below 0x20, and 0x7f) written as \xNN, so that it can be
 * logged and shown safely; always NUL-terminated. Returns out.
 */
char *text_escape(const char *s, size_t max, char *out, size_t size);
/* text_escape of all of s into a new string (free()). */
char *text_escape_dup(const char *s);

/* ---- api.c: routes, the auth point, errors ---- */

/* Body limit of the route for method and path (http_ops.body_limit). */
size_t api_body_limit(void *arg, const char *method, const char *path);
/* Route, authenticate, authorise and call the handler (http_ops.dispatch). */
void api_dispatch(void *arg, struct http_req *req);
/* Record the answer's latency by route (http_ops.answered). */
void api_answered(void *arg, const struct http_req *req, double seconds);
/* Answer with a JSON body (takes ownership of body); held if the iteration has writes. */
void api_reply(struct ctld *c, struct http_req *req, unsigned status, json_t *body);
/* Answer with the error object of docs/api.md; field may be NULL. */
void api_error(struct ctld *c, struct http_req *req, unsigned status, const char *code,
               const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void api_fault_reply(struct ctld *c, struct http_req *req, const struct api_fault *f);
/* Replace every answer held for this iteration's COMMIT with 503 store_unavailable (reason). */
void api_fail_held(struct ctld *c, const char *reason);
/* The held answers have gone out with their own bodies (after a COMMIT). */
void api_held_clear(struct ctld *c);
/* Map err's code through the one status table; field may be NULL. */
void api_err_reply(struct ctld *c, struct http_req *req, const struct nl_err *err,
                   const char *field);
/* Parse the body as a JSON object; on failure answers 400/413 and returns NULL. */
json_t *api_body_object(struct ctld *c, struct http_req *req);
/*
 * Refuse keys of obj not in allowed (NULL-terminated): 0, or -EINVAL with
 * f naming the first unknown key (prefix borrowed, e.g. "exits[2].").
 */
int api_check_keys(const json_t *obj, const char *const *allowed, const char *prefix,
                   struct api_fault *f);
/* Seconds (double) from Unix microseconds, or JSON null for 0. */
json_t *api_time(int64_t us);

/* ---- api_info.c: read-only endpoints ---- */

struct route_params;
void api_facility(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_nodes(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_tenants(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_usage(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_health(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_metrics(struct ctld *c, struct http_req *req, const struct route_params *p);

/* ---- api_jobs.c ---- */

void api_job_submit(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_jobs_list(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_job_show(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_job_cancel(struct ctld *c, struct http_req *req, const struct route_params *p);

/* ---- agents.c: the agent protocol and the node table ---- */

enum node_state {
    NODE_UNREGISTERED = 0,
    NODE_UP,
    NODE_DOWN,
};

struct agents *agents_create(uint32_t nnodes);
void agents_destroy(struct agents *a);
/* Reload agents and their nodes from the store (restart); nodes stay down until a sync. */
int agents_load(struct ctld *c, struct nl_err *err);
enum node_state agents_node_state(const struct agents *a, uint32_t node);
/* Agent id owning node, or NULL; borrowed until the agent re-registers. */
const char *agents_node_agent(const struct agents *a, uint32_t node);
/* Last sync of node's agent (Unix us), 0 if never. */
int64_t agents_node_heartbeat(const struct agents *a, uint32_t node);
/* Index of the agent owning node, or -1. */
int32_t agents_node_index(const struct agents *a, uint32_t node);
/* Address the node's agent last connected from ("127.0.0.1"), for MASTER_ADDR. */
const char *agents_node_addr(const struct agents *a, uint32_t node);
/*
 * The absolute directory under which node's agent puts relative output
 * paths, or NULL if it did not say; borrowed until the agent re-registers.
 */
const char *agents_node_output_root(const struct agents *a, uint32_t node);
/* Queue a launch of job on node for that node's agent's next sync. */
void agents_queue_launch(struct ctld *c, uint64_t job, uint32_t node);
/* Queue a kill of run of job on node's agent (reason a static string). */
void agents_queue_kill(struct ctld *c, uint64_t job, uint32_t run, uint32_t node, uint32_t grace_s,
                       const char *reason);
/* Agents whose last sync is older than node_timeout: their nodes go down. */
void agents_check_timeouts(struct ctld *c);
/*
 * The latest c->now_us at which an agent of run's ranks vouched for it
 * without listing it (a delta sync after a full list that had it), or 0.
 */
int64_t agents_run_vouched(const struct ctld *c, const struct run *run);
/*
 * Apply one registration body (borrowed; docs/agent.md) from peer. 0 with
 * *answer set (a new reference); -EINVAL (bad body, 400) or -EBUSY (a
 * live agent holds the name or a node, 409: f->code is "agent_name_in_use"
 * or "node_owned") with *f filled and nothing changed.
 */
int agents_register(struct ctld *c, const json_t *body, const char *peer, json_t **answer,
                    struct api_fault *f);
/*
 * Apply one sync body (borrowed; the protocol of docs/agent.md) from peer.
 * 0 with *answer set (a new reference); -EINVAL (bad body) or -ENOENT
 * (unknown agent) with *f filled and nothing changed.
 */
int agents_sync(struct ctld *c, const json_t *body, const char *peer, json_t **answer,
                struct api_fault *f);
void api_agent_register(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_agent_sync(struct ctld *c, struct http_req *req, const struct route_params *p);

/* ---- runs.c: what the controller tracks per running job ---- */

struct run {
    uint64_t job;
    uint32_t number; /* the job's run number (1 = first start), stored with the job */
    uint32_t nnodes;
    struct nl_alloc_node *alloc; /* rank order: rank r runs on alloc[r] */
    uint64_t *by_node;           /* node << 32 | rank, sorted, for run_rank on big gangs, or NULL */
    uint8_t *exited;             /* per rank: its exit has been reported */
    uint32_t nexited;
    enum nl_exit how; /* the worst exit reported so far */
    bool has_exit;
    int exit_code, exit_signal;
    double cpu_s;
    int64_t max_rss_kb;
    int64_t start_us;
    double energy_start_wh; /* the scheduler's energy figure for the job at start */
    int64_t last_seen_us;   /* launch handed out or listed by an agent */
    int64_t last_listed_us; /* an agent last listed it (a launch handed out does not count) */
    bool kill_requested;
    int64_t kill_sent_us;
    uint32_t kill_grace_s;
    const char *kill_reason;
    uint8_t *unconfirmed;   /* reloaded: per rank, its node's agent has not mentioned it since */
    uint32_t nunconfirmed;  /* ranks set in unconfirmed (then it is freed) */
    char *nodelist;         /* NORDLYS_NODELIST, built once per start */
    char *exit_reason;      /* why the deciding exit happened (agent's text), or NULL */
    json_t *launch_base;    /* the launch's part all ranks share, while launches are built */
    uint32_t launches_left; /* launches still to build from launch_base */
};

struct runs *runs_create(void);
void runs_destroy(struct runs *r);
/* Returns a new run for job on alloc (n entries, copied); borrowed until runs_remove. */
struct run *runs_add(struct runs *r, uint64_t job, const struct nl_alloc_node *alloc, size_t n);
struct run *runs_get(const struct runs *r, uint64_t job);
void runs_remove(struct runs *r, uint64_t job);
size_t runs_count(const struct runs *r);
/* Iterate: start with *cursor = 0; NULL at the end. Do not add or remove while iterating. */
struct run *runs_next(const struct runs *r, size_t *cursor);
/* Rank of node in run, or -1. */
int run_rank(const struct run *run, uint32_t node);

/* ---- routes.c: the route table ---- */

enum api_role {
    ROLE_PUBLIC = 0, /* health and metrics */
    ROLE_USER,
    ROLE_AGENT,
    ROLE_ADMIN,
};

struct route_params {
    uint64_t id;  /* the {id} segment, when the pattern has one */
    char bad[48]; /* ROUTE_BAD_ID: the segment that is not an id (cut to fit), for the 400 */
};

typedef void (*route_fn)(struct ctld *c, struct http_req *req, const struct route_params *p);

struct route {
    const char *method;
    const char *pattern; /* "/v1/jobs/{id}": {id} matches a decimal job id */
    route_fn fn;
    enum api_role role;
    size_t body_max; /* 0: no body expected (anything sent is refused as too large) */
};

/* The route table; *n gets its length. Borrowed, static. */
const struct route *routes_table(size_t *n);

enum route_result {
    ROUTE_FOUND = 0,
    ROUTE_NO_PATH,   /* 404 */
    ROUTE_NO_METHOD, /* 405: the path exists with other methods */
    ROUTE_BAD_ID,    /* 400: {id} is not a canonical id ("099", "99abc"); p->bad names it */
};

/* Match method and path against table (n entries); *index and *p set when found, p->bad on
 * ROUTE_BAD_ID. */
enum route_result routes_match(const struct route *table, size_t n, const char *method,
                               const char *path, size_t *index, struct route_params *p);

/* ---- auth.c: the one authentication and authorisation point ---- */

struct auth_identity {
    enum api_role role;
    char tenant[NL_NAME_MAX]; /* "" = every tenant (admin) */
};

/*
 * Decide whether the caller of req may use a route needing role. 0 and
 * *who filled, or -EACCES (403) / -EPERM (401) with err saying why.
 * Loopback callers are trusted as admin until tokens arrive (a later issue
 * adds them here, without touching any handler).
 */
int auth_check(const struct http_req *req, enum api_role role, struct auth_identity *who,
               struct nl_err *err);

#endif
