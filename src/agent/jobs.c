/* SPDX-License-Identifier: MIT */
/*
 * jobs.c - the agent's job table; see jobs.h.
 *
 * Containers: `bytag` holds every entry under a tag unique to it (the
 * heap and the keeper sockets name entries by tag), `bykey` finds the
 * entry of a job's newest run on a node: a 63-bit job id and a node index
 * do not pack into one 64-bit key, so the map is keyed by a hash of the
 * pair and holds the head of a chain (key_next) of the entries that share
 * the hash, each checked for its own id and node index,
 * `exited` lists entries waiting for an acknowledgement, and `heap`
 * orders deadlines. Two runs of one job on one
 * node exist together only briefly: the node's agent was cut off, the
 * controller requeued the job and started it again there; the older run is
 * killed as soon as the newer one is launched. Heap entries are never
 * removed early: each carries the generation of its job's deadline, and a
 * popped entry whose job is gone or whose generation moved on is skipped.
 * That keeps a kill or an exit O(1) instead of a heap search.
 *
 * `fresh` lists the tags of runs started since the last answered sync, so
 * that a delta sync costs what changed, not what runs. A real run's end
 * comes from its keeper (launch.h) on the keeper's socket, watched in the
 * table's epoll set under the run's tag; SIGCHLD only reaps keepers.
 *
 * A RUNNING real run goes through two quiet steps first: queued (`pend`
 * set: resolved, waiting in `queue` for the launch budget) and starting
 * (keeper forked, its STARTED not read yet); both count as live and are
 * listed as running. A kill of a queued run ends it at once (it has no
 * process); a kill of a starting run goes to its keeper, which applies it
 * once the job exists. The run record is written by the keeper itself
 * before it starts the job, and again with the job's pid (runrec.h): the
 * agent only names it (rec_name) and removes it once the run's end is
 * acknowledged.
 */
#define _GNU_SOURCE /* wait4 */
#include "jobs.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/outpat.h"
#include "common/u64map.h"
#include "common/xalloc.h"
#include "ident.h"
#include "launch.h"
#include "nordlys/err.h"
#include "outship.h"
#include "procs.h"
#include "runrec.h"
#include "scratch.h"

enum job_state {
    JOB_RUNNING,
    JOB_KILLING,
    JOB_EXITED
};

enum deadline_kind {
    DL_NONE,
    DL_NOOP_END,
    DL_TIME_LIMIT,
    DL_KILL,
    DL_WARN /* --signal SIG@SECONDS: SIG is due; the time limit follows */
};

/*
 * A real launch checked and resolved but not yet spawned: what the fork
 * needs, copied out of the sync answer (which is freed after it is applied).
 */
struct pending {
    char **argv;
    char *cwd, *out, *err;
    /* Its tasks: an environment each, and their own files when the pattern holds %t. */
    size_t ntasks;
    char ***task_envp;
    char **task_out, **task_err; /* ntasks paths, or NULL: out / err for every task */
    int64_t task_base;
    bool label;
    char *input; /* task 0's stdin, absolute; NULL: /dev/null */
    /* The run's key (RUNREC_ENV in every task's environment), or "". */
    char key[RUNREC_KEY_LEN];
    struct ident id;
    int64_t memory_max, pids_max;
    double time_limit_s;
};

/* Output shipping and timing of a run (issue 12; outship.h, jobs_control). */
struct job_ctl {
    bool ship;               /* its output goes to the controller (every rank's) */
    bool shipping;           /* its keeper was forked with readers: counted in nship */
    struct outship out, err; /* its two streams */
    int warn_signal;         /* --signal: sent warn_before_us before the limit; 0 none */
    int64_t warn_before_us;
    int64_t started_us;  /* monotonic: its keeper was forked (limits count from it) */
    int64_t limit_at_us; /* monotonic time of its time limit, 0 none */
    int64_t noop_end_us; /* a no-op's natural end (monotonic) */
    /* The highest control seq applied to the run, per kind: a resend is not applied again. */
    uint64_t sig_seq, limit_seq;
};

struct job {
    uint64_t key;         /* hash of (job, node index): shared by the runs of a job on a node */
    uint32_t node_idx;    /* the agent's index of node */
    bool keyed;           /* in bykey's chain: the newest run of the job on the node */
    struct job *key_next; /* the next entry in bykey's chain of key */
    uint64_t tag;         /* unique to this entry, never 0 */
    int64_t id;
    uint32_t run;
    char *node;
    enum job_state state;
    bool noop;
    bool spawned;             /* a keeper was forked (counted in nreal) */
    bool starting;            /* its keeper's STARTED has not arrived yet */
    struct pending *pend;     /* a launch queued for the launch budget, not yet spawned */
    struct launch_proc proc;  /* real jobs: pid (= process group), keeper and its socket */
    struct launch_report rep; /* exec failure reported by the child, stage 0 if none */
    int64_t output_limit;     /* bytes per output file, 0 = none */
    char rec_name[64];        /* the run record's file name, "" when none can exist */
    char *argv0, *cwd;        /* for exec failure messages */
    char *user;               /* the account the job runs as, for failure messages */
    char *tenant;             /* from the launch, NULL when it names none */
    bool sensitive;
    bool scratch_held;        /* counted by scratch_acquire: release at the end */
    char cg_leaf[48];         /* "" when the job has no cgroup */
    double grace_s;           /* for the time limit */
    enum deadline_kind dl;
    uint32_t dl_gen;
    int64_t kill_at_us; /* monotonic time SIGKILL is due while KILLING */
    double start_time;
    bool timeout;
    char *reason;
    uint64_t sent_seq; /* the last sync that carried this exit */
    struct proto_exit exit;
    struct job_ctl ctl;
};

struct deadline {
    int64_t when_us; /* CLOCK_MONOTONIC */
    uint64_t tag;
    uint32_t gen;
};

struct agent_jobs {
    struct jobs_conf conf;
    int epfd, tfd;
    int64_t armed_us;              /* what tfd is set to, 0 when disarmed */
    struct nl_u64map bytag, bykey; /* values: struct job * */
    uint64_t last_tag;
    size_t live;
    struct job **exited;
    size_t nexited, cap_exited;
    struct deadline *heap;
    size_t nheap, cap_heap;
    struct proto_running *run_out; /* reused between syncs */
    size_t cap_run, run_listed;    /* run_listed: entries of the last jobs_running */
    struct proto_exit *exit_out;
    size_t cap_exit;
    uint64_t *fresh; /* tags of runs started since the last answered sync */
    size_t nfresh, cap_fresh, fresh_sent;
    size_t nreal;         /* live real runs (output limit checks) */
    bool root;            /* the agent runs as root: jobs run as their users */
    struct ident self;    /* the agent's own account */
    size_t nship;         /* entries shipping output (ctl.ship), live or waiting for their ack */
    struct proto_output *ship_list; /* the last jobs_output list, and its bytes */
    size_t cap_ship_list;
    uint8_t *ship_buf;
    size_t ship_next;     /* the slot the next jobs_output starts at (round robin) */
    bool warned_no_user;  /* a launch without "user" was logged */
    int64_t out_check_us; /* next output-size check, 0 when none is due */
    /*
     * Launches waiting for the launch budget (tags, FIFO from qhead), the
     * eventfd that makes the table readable while some wait or the budget
     * must be renewed, and the time spent spawning since it was renewed.
     */
    uint64_t *queue;
    size_t qhead, nqueue, cap_queue;
    int evfd;
    int64_t spent_us, budget_us;
    /*
     * Controls applied (or with no run here) whose seqs the controller has
     * not yet been told: sent in every sync until one is answered. The
     * first applied_sent went in the sync in flight.
     */
    uint64_t *applied;
    size_t napplied, cap_applied, applied_sent;
};

/* The job tables hold struct job pointers in the maps' integer values. */
static void job_index(struct nl_u64map *m, uint64_t key, struct job *j)
{
    nl_u64map_put(m, key, (uint64_t)(uintptr_t)j);
}

static struct job *job_lookup(const struct nl_u64map *m, uint64_t key)
{
    uint64_t v;
    return nl_u64map_get(m, key, &v) ? (struct job *)(uintptr_t)v : NULL;
}

/* The job in slot i of a table's arrays (walking every job), or NULL for an empty slot. */
static struct job *job_in_slot(const struct nl_u64map *m, size_t i)
{
    return m->keys[i] != 0 ? (struct job *)(uintptr_t)m->vals[i] : NULL;
}

/* epoll tags of the timerfd and the queue's eventfd; keeper sockets carry their entry's tag. */
#define TAG_TIMER 0
#define TAG_QUEUE UINT64_MAX

/* A hash of (job, node index) for bykey; never 0, which the map reserves. */
static uint64_t job_key(int64_t id, uint32_t node_idx)
{
    uint64_t x = (uint64_t)id * UINT64_C(0x9e3779b97f4a7c15) ^ node_idx;
    x ^= x >> 31; /* splitmix64's finaliser: spread both inputs over every bit */
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    return x != 0 ? x : 1;
}

/* The entry of the newest run of job id on node node_idx, or NULL. */
static struct job *job_find(const struct agent_jobs *t, int64_t id, uint32_t node_idx)
{
    for (struct job *j = job_lookup(&t->bykey, job_key(id, node_idx)); j != NULL; j = j->key_next)
        if (j->id == id && j->node_idx == node_idx)
            return j;
    return NULL;
}

/* Take j out of bykey's chain (it is no longer the newest run there, or it is freed). */
static void job_unkey(struct agent_jobs *t, struct job *j)
{
    if (!j->keyed)
        return;
    struct job *head = job_lookup(&t->bykey, j->key);
    if (head == j) {
        if (j->key_next != NULL)
            job_index(&t->bykey, j->key, j->key_next);
        else
            nl_u64map_del(&t->bykey, j->key, NULL);
    } else {
        struct job *p = head;
        while (p != NULL && p->key_next != j)
            p = p->key_next;
        if (p != NULL)
            p->key_next = j->key_next;
    }
    j->key_next = NULL;
    j->keyed = false;
}

/* Make j the entry bykey finds for its (job, node), in place of an older run's. */
static void job_rekey(struct agent_jobs *t, struct job *j)
{
    struct job *old = job_find(t, j->id, j->node_idx);
    if (old != NULL)
        job_unkey(t, old);
    j->key_next = job_lookup(&t->bykey, j->key);
    j->keyed = true;
    job_index(&t->bykey, j->key, j);
}

static int64_t seconds_us(double s)
{
    return (int64_t)(s * 1e6);
}

static double realtime_s(void)
{
    return (double)nl_clock_realtime_us() / 1e6;
}

/* ---- the deadline heap ------------------------------------------------- */

static bool dl_before(const struct deadline *a, const struct deadline *b)
{
    return a->when_us < b->when_us;
}

static void heap_push(struct agent_jobs *t, struct deadline d)
{
    if (t->nheap == t->cap_heap) {
        t->cap_heap = xgrow(t->cap_heap, t->nheap + 1);
        t->heap = xreallocarray(t->heap, t->cap_heap, sizeof(*t->heap));
    }
    size_t i = t->nheap++;
    while (i > 0 && dl_before(&d, &t->heap[(i - 1) / 2])) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = d;
}

static void heap_pop(struct agent_jobs *t)
{
    struct deadline last = t->heap[--t->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->nheap)
            break;
        if (c + 1 < t->nheap && dl_before(&t->heap[c + 1], &t->heap[c]))
            c++;
        if (!dl_before(&t->heap[c], &last))
            break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (t->nheap > 0)
        t->heap[i] = last;
}

/* Point tfd at the earliest deadline; a stale one just costs a wake-up. */
static void rearm(struct agent_jobs *t)
{
    int64_t when = t->nheap ? t->heap[0].when_us : 0;
    if (when == t->armed_us)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    /* it_value 0 would disarm; a deadline already past is set 1 ns into the epoch instead. */
    if (when > 0) {
        its.it_value.tv_sec = when / 1000000;
        its.it_value.tv_nsec = (long)(when % 1000000) * 1000 + 1;
    }
    timerfd_settime(t->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    t->armed_us = when;
}

static void set_deadline(struct agent_jobs *t, struct job *j, enum deadline_kind kind,
                         int64_t when_us)
{
    j->dl = kind;
    j->dl_gen++;
    heap_push(t, (struct deadline){when_us, j->tag, j->dl_gen});
}

/* ---- table ------------------------------------------------------------- */

struct agent_jobs *jobs_new(const struct jobs_conf *conf, struct nl_err *err)
{
    struct agent_jobs *t = xcalloc(1, sizeof(*t));
    t->conf = *conf;
    t->root = geteuid() == 0;
    t->epfd = t->tfd = t->evfd = -1;
    t->budget_us = conf->launch_budget_us > 0 ? conf->launch_budget_us : JOBS_LAUNCH_BUDGET_US;
    if (ident_self(&t->self, err) < 0) {
        jobs_destroy(t);
        return NULL;
    }
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_TIMER};
    struct epoll_event qev = {.events = EPOLLIN, .data.u64 = TAG_QUEUE};
    if (t->epfd < 0 || t->tfd < 0 || t->evfd < 0 ||
        epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->tfd, &ev) < 0 ||
        epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->evfd, &qev) < 0) {
        nl_err_set(err, -errno, "jobs: epoll/timerfd/eventfd: %s", strerror(errno));
        jobs_destroy(t);
        return NULL;
    }
    return t;
}

static char **strv_dup(char *const *v)
{
    size_t n = 0;
    while (v != NULL && v[n] != NULL)
        n++;
    char **c = xcalloc(n + 1, sizeof(*c));
    for (size_t i = 0; i < n; i++)
        c[i] = xstrdup(v[i]);
    return c;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static void pending_free(struct pending *p)
{
    if (p == NULL)
        return;
    strv_free(p->argv);
    for (size_t i = 0; p->task_envp != NULL && i < p->ntasks; i++)
        launch_env_free(p->task_envp[i]);
    free(p->task_envp);
    for (size_t i = 0; p->task_out != NULL && i < p->ntasks; i++)
        free(p->task_out[i]);
    for (size_t i = 0; p->task_err != NULL && i < p->ntasks; i++)
        free(p->task_err[i]);
    free(p->task_out);
    free(p->task_err);
    free(p->input);
    free(p->cwd);
    free(p->out);
    free(p->err);
    ident_release(&p->id);
    free(p);
}

static void job_free(struct job *j)
{
    pending_free(j->pend);
    launch_close(&j->proc);
    free(j->node);
    free(j->argv0);
    free(j->cwd);
    free(j->user);
    free(j->tenant);
    free(j->reason);
    free(j);
}

void jobs_destroy(struct agent_jobs *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->bytag.cap; i++) {
        struct job *j = job_in_slot(&t->bytag, i);
        if (j != NULL)
            job_free(j);
    }
    nl_u64map_release(&t->bytag);
    nl_u64map_release(&t->bykey);
    ident_release(&t->self);
    free(t->exited);
    free(t->heap);
    free(t->run_out);
    free(t->exit_out);
    free(t->fresh);
    free(t->applied);
    free(t->queue);
    free(t->ship_list);
    free(t->ship_buf);
    if (t->evfd >= 0)
        close(t->evfd);
    if (t->tfd >= 0)
        close(t->tfd);
    if (t->epfd >= 0)
        close(t->epfd);
    free(t);
}

int jobs_fd(const struct agent_jobs *t)
{
    return t->epfd;
}

size_t jobs_live(const struct agent_jobs *t)
{
    return t->live;
}

size_t jobs_unacked(const struct agent_jobs *t)
{
    return t->nexited;
}

static struct job *job_add(struct agent_jobs *t, int64_t id, uint32_t node_idx, uint32_t run,
                           const char *node)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->key = job_key(id, node_idx);
    j->node_idx = node_idx;
    j->tag = ++t->last_tag;
    j->id = id;
    j->run = run;
    j->node = xstrdup(node);
    j->proc.pid = -1;
    j->proc.fd = j->proc.out_fd = j->proc.err_fd = j->proc.out_rfd = j->proc.err_rfd = -1;
    j->start_time = realtime_s();
    j->state = JOB_RUNNING;
    job_index(&t->bytag, j->tag, j);
    job_rekey(t, j);
    t->live++;
    if (t->nfresh == t->cap_fresh) {
        t->cap_fresh = xgrow(t->cap_fresh, t->nfresh + 1);
        t->fresh = xreallocarray(t->fresh, t->cap_fresh, sizeof(*t->fresh));
    }
    t->fresh[t->nfresh++] = j->tag;
    return j;
}

/* The job has ended: fill its exit record and queue it for the next syncs. */
static void job_finish(struct agent_jobs *t, struct job *j, int code, int sig, double cpu_s,
                       long rss_kb)
{
    assert(j->state != JOB_EXITED);
    j->state = JOB_EXITED;
    j->dl = DL_NONE;
    j->dl_gen++;
    t->live--;
    if (j->spawned)
        t->nreal--;
    pending_free(j->pend);
    j->pend = NULL;
    j->starting = false;
    if (j->scratch_held) {
        j->scratch_held = false;
        scratch_release(t->conf.scratch, j->node_idx, j->node, j->tenant, j->sensitive, j->id);
    }
    j->exit = (struct proto_exit){.job = j->id,
                                  .run = j->run,
                                  .node = j->node,
                                  .exit_code = code,
                                  .signal = sig,
                                  .timeout = j->timeout,
                                  .cpu_s = cpu_s,
                                  .max_rss_kb = rss_kb,
                                  .start_time = j->start_time,
                                  .end_time = realtime_s(),
                                  .reason = j->reason};
    if (t->nexited == t->cap_exited) {
        t->cap_exited = xgrow(t->cap_exited, t->nexited + 1);
        t->exited = xreallocarray(t->exited, t->cap_exited, sizeof(*t->exited));
    }
    t->exited[t->nexited++] = j;
    if (!j->noop || code != 0 || sig != 0 || nl_log_cat_enabled(NL_LOGC_AGENT))
        log_info("job=%" PRId64 " run=%" PRIu32 " node=%s ended: exit_code=%d signal=%d "
                 "timeout=%d%s%s",
                 j->id, j->run, j->node, code, sig, (int)j->timeout, j->reason ? " reason=" : "",
                 j->reason ? j->reason : "");
}

static void job_set_reason(struct job *j, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void job_set_reason(struct job *j, const char *fmt, ...)
{
    char buf[NL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /*
     * Cut short, the reason must not end inside a UTF-8 sequence: the
     * controller refuses a sync that is not valid UTF-8, and the agent
     * would send that sync again for ever.
     */
    if (n >= (int)sizeof(buf)) {
        size_t len = strlen(buf), lead = len;
        while (lead > 0 && ((unsigned char)buf[lead - 1] & 0xC0) == 0x80)
            lead--;
        if (lead > 0 && (unsigned char)buf[lead - 1] >= 0xC0) {
            unsigned char c = (unsigned char)buf[lead - 1];
            size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (len - (lead - 1) < want)
                buf[lead - 1] = '\0'; /* drop the sequence the cut left incomplete */
        }
    }
    free(j->reason);
    j->reason = xstrdup(buf);
}

/* A reason always fits the protocol's bound: job_set_reason's buffer is smaller. */
_Static_assert(NL_ERR_MSG_MAX <= NL_PROTO_EXIT_REASON_MAX, "exit reasons must fit the protocol");

/* ---- launch ------------------------------------------------------------ */

static void start_kill(struct agent_jobs *t, struct job *j, double grace_s, const char *reason);

/* ["sleep", "S"] with S a plain non-negative number of seconds: a timed no-op. */
static bool noop_seconds(const struct proto_launch *l, double *secs)
{
    if (l->argc != 2 || strcmp(l->argv[0], "sleep") != 0)
        return false;
    char *end;
    double s = strtod(l->argv[1], &end);
    if (end == l->argv[1] || *end != '\0' || !isfinite(s) || s < 0 || s > 315360000.0)
        return false;
    *secs = s;
    return true;
}

static void start_noop(struct agent_jobs *t, struct job *j, const struct proto_launch *l,
                       double secs)
{
    j->noop = true;
    int64_t now = nl_clock_monotonic_us();
    j->ctl.started_us = now;
    j->ctl.noop_end_us = now + (int64_t)(secs * 1e6);
    if (l->time_limit_s > 0 && l->time_limit_s < secs)
        set_deadline(t, j, DL_TIME_LIMIT, now + seconds_us(l->time_limit_s));
    else
        set_deadline(t, j, DL_NOOP_END, now + (int64_t)(secs * 1e6));
}

int jobs_output_path(const char *root, int64_t job, const char *node, const char *given,
                     const char *ext, char *buf, size_t size)
{
    int n;
    if (given != NULL && given[0] == '/')
        n = snprintf(buf, size, "%s", given);
    else if (given != NULL && given[0] != '\0')
        n = snprintf(buf, size, "%s/%s", root, given);
    else
        n = snprintf(buf, size, "%s/jobs/%" PRId64 "/%s.%s", root, job, node, ext);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    /* A relative path must stay below the root: no ".." component. */
    if (given != NULL && given[0] != '/' && given[0] != '\0') {
        for (const char *p = given; *p != '\0'; p = strchr(p, '/') ? strchr(p, '/') + 1 : "") {
            if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
                return -EINVAL;
        }
    }
    return 0;
}

/* Resolve one output path; a path that cannot be used ends the job with a reason naming it. */
static bool output_ok(struct agent_jobs *t, struct job *j, const char *what, const char *given,
                      const char *ext, char *buf, size_t size)
{
    int rc = jobs_output_path(t->conf.output_root, j->id, j->node, given, ext, buf, size);
    if (rc == 0)
        return true;
    if (rc == -EINVAL)
        job_set_reason(j,
                       "launch: %s %s: a relative output path must stay below the output root %s",
                       what, given, t->conf.output_root);
    else
        job_set_reason(j, "launch: %s %s: path too long", what, given ? given : "(default)");
    job_finish(t, j, 127, 0, 0, 0);
    return false;
}

/*
 * The run's record as its keeper is to write it (runrec.h): all but the
 * keeper's and the job's pids, which the keeper fills in. Sets rec_name.
 * The controller may hear of the run from when its keeper is forked: the
 * keeper fences it meanwhile (it sees the agent's end of its socket close
 * and kills the job), and the record exists before any of its processes.
 */
static void record_template(struct agent_jobs *t, struct job *j, const char *key, struct runrec *r)
{
    memset(r, 0, sizeof(*r));
    r->job = j->id;
    r->run = j->run;
    snprintf(r->node, sizeof(r->node), "%s", j->node);
    procs_boot_id(r->boot_id, sizeof(r->boot_id));
    if (j->cg_leaf[0] != '\0')
        snprintf(r->cgroup, sizeof(r->cgroup), "%s/%s", agent_cg_path(t->conf.cg), j->cg_leaf);
    snprintf(r->key, sizeof(r->key), "%s", key);
    snprintf(j->rec_name, sizeof(j->rec_name), "%" PRId64 ".%" PRIu32 ".%" PRIu32, j->id, j->run,
             j->node_idx);
}

static int64_t file_size(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 ? (int64_t)st.st_size : 0;
}

static void schedule_output_check(struct agent_jobs *t)
{
    if (t->out_check_us == 0) {
        t->out_check_us = nl_clock_monotonic_us() + JOBS_OUTPUT_CHECK_US;
        heap_push(t, (struct deadline){t->out_check_us, 0, 0});
    }
}

/*
 * The account l runs as (ident.h): its "user" when the agent is root (root
 * only with allow_root); the agent's own user when it is not root and the
 * launch names that user, or --run-as-self; the agent's own user when the
 * launch names none (a controller before issue 10, logged once).
 */
static int job_ident(struct agent_jobs *t, const struct proto_launch *l, struct ident *id,
                     struct nl_err *err)
{
    if (l->user == NULL) {
        if (!t->warned_no_user)
            log_warn("launches name no user (a controller before accounts): such jobs run as "
                     "the agent's user '%s'",
                     t->self.name);
        t->warned_no_user = true;
        ident_copy(id, &t->self);
        return 0;
    }
    if (t->root)
        return ident_resolve(l->user, l->allow_root, id, err);
    if (strcmp(l->user, t->self.name) == 0 || t->conf.run_as_self) {
        ident_copy(id, &t->self);
        return 0;
    }
    return nl_err_set(err, -EPERM,
                      "user '%s': this agent is not root and runs jobs only as its own user '%s' "
                      "(start it as root, or with --run-as-self)",
                      l->user, t->self.name);
}

/* Room for "NORDLYS_SCRATCH=" or "TMPDIR=" and a path. */
#define SCRATCH_VAR_MAX (PATH_MAX + 32)

/*
 * The launch's environment with NORDLYS_SCRATCH and TMPDIR set to dir
 * after it (so they win over submitted ones), or the launch's own when dir
 * is NULL. A new array of borrowed strings (the two added live in ns and
 * td); free the array only.
 */
static char **scratch_env(char *const *env, const char *dir, char ns[SCRATCH_VAR_MAX],
                          char td[SCRATCH_VAR_MAX])
{
    size_t n = 0;
    while (env != NULL && env[n] != NULL)
        n++;
    char **out = xcalloc(n + 3, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = env[i];
    if (dir != NULL) {
        snprintf(ns, SCRATCH_VAR_MAX, "NORDLYS_SCRATCH=%s", dir);
        snprintf(td, SCRATCH_VAR_MAX, "TMPDIR=%s", dir);
        out[n++] = ns;
        out[n++] = td;
    }
    return out;
}

static void strv_free_n(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

/*
 * The paths of one stream of a launch's tasks: its pattern's %t and %%
 * expanded (common/outpat.h), then resolved as any output path
 * (output_ok). A pattern with %t gives each task its own file (*per_task,
 * ntasks new strings); otherwise every task shares buf.
 */
static bool stream_paths(struct agent_jobs *t, struct job *j, const char *what, const char *given,
                         const char *ext, int64_t base, size_t ntasks, char *buf, size_t size,
                         char ***per_task)
{
    *per_task = NULL;
    char pat[PATH_MAX];
    bool each = given != NULL && nl_outpat_has_task(given);
    for (size_t i = 0; i < (each ? ntasks : 1); i++) {
        struct nl_outpat_vals pv = {.task = each ? base + (int64_t)i : -1, .final = true};
        if (given != NULL && nl_outpat_expand(given, &pv, pat, sizeof(pat)) < 0) {
            job_set_reason(j, "launch: %s %s: path too long", what, given);
            job_finish(t, j, 127, 0, 0, 0);
            strv_free_n(*per_task, i);
            *per_task = NULL;
            return false;
        }
        if (!output_ok(t, j, what, given ? pat : NULL, ext, buf, size)) {
            strv_free_n(*per_task, i);
            *per_task = NULL;
            return false;
        }
        if (each) {
            if (*per_task == NULL)
                *per_task = xcalloc(ntasks, sizeof(char *));
            (*per_task)[i] = xstrdup(buf);
        }
    }
    return true;
}

/* env with add's entries after it (a later name wins in launch_env_build); borrowed strings. */
static char **with_task_env(char **env, char **add)
{
    size_t n = 0, m = 0;
    while (env != NULL && env[n] != NULL)
        n++;
    while (add != NULL && add[m] != NULL)
        m++;
    char **out = xcalloc(n + m + 1, sizeof(*out));
    memcpy(out, env, n * sizeof(*out));
    if (m > 0)
        memcpy(out + n, add, m * sizeof(*out));
    return out;
}

/*
 * Check and resolve a real launch into j->pend (the account, the output
 * paths, the environment); a launch that cannot run ends here with its
 * reason. Cheap: no process and no file is made yet.
 */
static bool prepare_real(struct agent_jobs *t, struct job *j, const struct proto_launch *l)
{
    const char *cwd = l->cwd != NULL && l->cwd[0] == '/' ? l->cwd : "/";
    struct ident id;
    struct nl_err ierr = {0};
    if (job_ident(t, l, &id, &ierr) < 0) {
        /* 126 as a shell says "found but cannot run": the command is not at fault. */
        job_set_reason(j, "launch: %s", ierr.msg);
        job_finish(t, j, 126, 0, 0, 0);
        return false;
    }
    j->user = xstrdup(id.name);
    j->tenant = l->tenant != NULL ? xstrdup(l->tenant) : NULL;
    j->sensitive = l->sensitive;
    char out[PATH_MAX], err_path[PATH_MAX];
    size_t ntasks = l->ntasks > 0 ? l->ntasks : 1;
    char **task_out = NULL, **task_err = NULL;
    if (!stream_paths(t, j, "stdout", l->stdout_path, "out", l->task_base, ntasks, out, sizeof(out),
                      &task_out) ||
        !stream_paths(t, j, "stderr", l->stderr_path, "err", l->task_base, ntasks, err_path,
                      sizeof(err_path), &task_err)) {
        strv_free_n(task_out, ntasks);
        ident_release(&id);
        return false;
    }
    j->output_limit = l->output_limit_bytes > 0 ? l->output_limit_bytes : t->conf.output_limit;
    j->argv0 = xstrdup(l->argv[0]);
    j->cwd = xstrdup(cwd);
    struct pending *p = xcalloc(1, sizeof(*p));
    p->argv = strv_dup(l->argv);
    /* The node's scratch (scratch_acquire hands out the same DIR/NODE at the spawn). */
    char dir[PATH_MAX], ns[SCRATCH_VAR_MAX], td[SCRATCH_VAR_MAX];
    if (t->conf.scratch != NULL)
        snprintf(dir, sizeof(dir), "%s/%s", scratch_root(t->conf.scratch), j->node);
    char **lenv = scratch_env(l->env, t->conf.scratch != NULL ? dir : NULL, ns, td);
    /* The run's key goes last, so that no submitted variable can replace it. */
    char keyvar[sizeof(RUNREC_ENV) + RUNREC_KEY_LEN];
    char *keyenv[] = {keyvar, NULL};
    if (t->conf.runs_dir != NULL) {
        runrec_key_new(p->key);
        snprintf(keyvar, sizeof(keyvar), "%s=%s", RUNREC_ENV, p->key);
    }
    p->ntasks = ntasks;
    p->task_envp = xcalloc(ntasks, sizeof(*p->task_envp));
    for (size_t i = 0; i < ntasks; i++) {
        char **tenv = with_task_env(lenv, l->task_env ? l->task_env[i] : NULL);
        char **kenv = with_task_env(tenv, t->conf.runs_dir != NULL ? keyenv : NULL);
        p->task_envp[i] =
                launch_env_build(&id, t->conf.agent_env, t->conf.exports, t->conf.nexports, kenv);
        free(kenv);
        free(tenv);
    }
    free(lenv);
    p->task_out = task_out;
    p->task_err = task_err;
    p->task_base = l->task_base;
    p->label = l->label;
    if (l->input_path != NULL && l->input_path[0] != '\0') {
        /* A relative input is the job's: below its working directory. */
        size_t size = strlen(cwd) + strlen(l->input_path) + 2;
        p->input = xmalloc(size);
        snprintf(p->input, size, "%s%s%s", l->input_path[0] == '/' ? "" : cwd,
                 l->input_path[0] == '/' ? "" : "/", l->input_path);
    }
    p->cwd = xstrdup(cwd);
    p->out = xstrdup(out);
    p->err = xstrdup(err_path);
    p->id = id; /* moved */
    p->memory_max = l->memory_max_bytes;
    p->pids_max = l->pids_max;
    p->time_limit_s = l->time_limit_s;
    j->pend = p;
    j->ctl.ship = l->ship_output;
    j->ctl.warn_signal = l->warn_signal;
    j->ctl.warn_before_us = l->warn_before_s * 1000000;
    return true;
}

/*
 * Arm j's time limit (ctl.limit_at_us), or first its warning signal when
 * it asked for one (--signal SIG@SECONDS): SIG that long before the limit,
 * at once when the limit is nearer than that.
 */
static void arm_limit(struct agent_jobs *t, struct job *j)
{
    int64_t warn_at = j->ctl.limit_at_us - j->ctl.warn_before_us, now = nl_clock_monotonic_us();
    if (j->ctl.warn_signal > 0)
        set_deadline(t, j, DL_WARN, warn_at > now ? warn_at : now);
    else
        set_deadline(t, j, DL_TIME_LIMIT, j->ctl.limit_at_us);
}

/*
 * Fork j's keeper (launch_spawn) and return: the run counts as running
 * from here (its keeper fences it), its STARTED arrives later on the
 * keeper's socket (read_keeper).
 */
static void spawn_real(struct agent_jobs *t, struct job *j)
{
    struct pending *p = j->pend;
    if (t->conf.scratch != NULL) {
        /* Wiped here, at the start, when the node passes to another tenant (scratch.h). */
        char scratch[PATH_MAX];
        struct nl_err serr = {0};
        if (scratch_acquire(t->conf.scratch, j->node_idx, j->node, j->tenant, j->sensitive, j->id,
                            scratch, sizeof(scratch), &serr) < 0) {
            job_set_reason(j, "launch: %s", serr.msg);
            job_finish(t, j, 126, 0, 0, 0);
            return;
        }
        j->scratch_held = true;
    }
    int procs_fd = -1;
    char cg_dir[PATH_MAX] = "";
    if (t->conf.cg != NULL) {
        snprintf(j->cg_leaf, sizeof(j->cg_leaf), "j%" PRId64 ".r%" PRIu32 ".n%" PRIu32, j->id,
                 j->run, j->node_idx);
        struct agent_cg_limits lim = {.memory_max = p->memory_max, .pids_max = p->pids_max};
        int rc = agent_cg_job_create(t->conf.cg, j->cg_leaf, &lim, &procs_fd);
        if (rc == 0)
            snprintf(cg_dir, sizeof(cg_dir), "%s/%s", agent_cg_path(t->conf.cg), j->cg_leaf);
        if (rc < 0) {
            log_warn("job=%" PRId64 " node=%s runs without a cgroup: %s", j->id, j->node,
                     strerror(-rc));
            j->cg_leaf[0] = '\0';
        }
    }
    struct launch_spec spec = {.argv = p->argv,
                               .envp = p->task_envp[0],
                               .ntasks = p->ntasks,
                               .task_envp = (char *const *const *)p->task_envp,
                               .task_stdout = (const char *const *)p->task_out,
                               .task_stderr = (const char *const *)p->task_err,
                               .task_base = p->task_base,
                               .label = p->label,
                               .input_path = p->input,
                               .cwd = p->cwd,
                               .id = &p->id,
                               .output_root = t->conf.output_root,
                               .stdout_path = p->out,
                               .stderr_path = p->err,
                               .cgroup_procs_fd = procs_fd,
                               .cgroup_dir = cg_dir[0] ? cg_dir : NULL,
                               .read_output = j->ctl.ship,
                               .lock_fd = t->conf.lock_fd};
    struct runrec rec;
    if (t->conf.runs_dir != NULL) {
        record_template(t, j, p->key, &rec);
        spec.record = &rec;
        spec.record_dir = t->conf.runs_dir;
        spec.record_name = j->rec_name;
    }
    struct nl_err err = {0};
    int rc = launch_spawn(&spec, &j->proc, &err);
    double time_limit_s = p->time_limit_s;
    pending_free(p);
    j->pend = NULL;
    if (procs_fd >= 0)
        close(procs_fd);
    if (rc < 0) {
        if (j->cg_leaf[0] != '\0')
            agent_cg_job_remove(t->conf.cg, j->cg_leaf);
        j->rec_name[0] = '\0'; /* no keeper: no record */
        job_set_reason(j, "launch: %s", err.msg);
        job_finish(t, j, 127, 0, 0, 0);
        return;
    }
    t->nreal++;
    j->spawned = true;
    j->starting = true;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = j->tag};
    epoll_ctl(t->epfd, EPOLL_CTL_ADD, j->proc.fd, &ev);
    if (j->output_limit > 0) {
        schedule_output_check(t);
    } else {
        /* Nothing to measure: do not hold two descriptors per job for nothing. */
        close(j->proc.out_fd);
        if (j->proc.err_fd >= 0)
            close(j->proc.err_fd);
        j->proc.out_fd = j->proc.err_fd = -1;
        launch_close_outputs(&j->proc);
    }
    j->ctl.started_us = nl_clock_monotonic_us();
    if (j->ctl.ship) {
        outship_init(&j->ctl.out, j->proc.out_rbase, j->proc.lines);
        outship_init(&j->ctl.err, j->proc.err_rbase, j->proc.lines);
        j->ctl.shipping = true;
        t->nship++;
    }
    if (time_limit_s > 0) {
        j->ctl.limit_at_us = j->ctl.started_us + seconds_us(time_limit_s);
        arm_limit(t, j);
    }
}

/* The keeper's STARTED arrived: the job exists (or its exec failed, and EXITED follows); its
 * keeper has written the record again with its pid. */
static void on_started(struct job *j)
{
    j->starting = false;
    if (j->rep.stage == LAUNCH_STAGE_NONE)
        log_info("job=%" PRId64 " run=%" PRIu32 " node=%s started: pid=%d %s", j->id, j->run,
                 j->node, (int)j->proc.pid, j->argv0);
}

/* Make the table readable, so that the loop comes back to jobs_dispatch. */
static void queue_kick(struct agent_jobs *t)
{
    uint64_t one = 1;
    ssize_t n = write(t->evfd, &one, sizeof(one));
    (void)n;
}

static void queue_push(struct agent_jobs *t, uint64_t tag)
{
    if (t->qhead > 0 && t->qhead == t->nqueue)
        t->qhead = t->nqueue = 0;
    if (t->nqueue == t->cap_queue) {
        if (t->qhead > 0) {
            memmove(t->queue, t->queue + t->qhead, (t->nqueue - t->qhead) * sizeof(*t->queue));
            t->nqueue -= t->qhead;
            t->qhead = 0;
        }
        if (t->nqueue == t->cap_queue) {
            t->cap_queue = xgrow(t->cap_queue, t->nqueue + 1);
            t->queue = xreallocarray(t->queue, t->cap_queue, sizeof(*t->queue));
        }
    }
    t->queue[t->nqueue++] = tag;
}

/* Spawn j now, counting the time against the launch budget. */
static void spawn_timed(struct agent_jobs *t, struct job *j)
{
    int64_t t0 = nl_clock_monotonic_us();
    spawn_real(t, j);
    t->spent_us += nl_clock_monotonic_us() - t0;
}

size_t jobs_start_queued(struct agent_jobs *t)
{
    uint64_t v;
    ssize_t n = read(t->evfd, &v, sizeof(v));
    (void)n;
    t->spent_us = 0;
    size_t started = 0;
    while (t->qhead < t->nqueue && t->spent_us < t->budget_us) {
        struct job *j = job_lookup(&t->bytag, t->queue[t->qhead++]);
        /* A queued launch killed meanwhile has ended without a process. */
        if (j == NULL || j->pend == NULL || j->state == JOB_EXITED)
            continue;
        spawn_timed(t, j);
        started++;
    }
    if (t->qhead == t->nqueue)
        t->qhead = t->nqueue = 0;
    /* More wait, or the budget was used: the loop comes back after its other events. */
    if (t->nqueue > 0 || started > 0)
        queue_kick(t);
    if (started > 0)
        rearm(t);
    return started;
}

size_t jobs_queued(const struct agent_jobs *t)
{
    size_t n = 0;
    for (size_t i = t->qhead; i < t->nqueue; i++) {
        const struct job *j = job_lookup(&t->bytag, t->queue[i]);
        n += j != NULL && j->pend != NULL && j->state != JOB_EXITED;
    }
    return n;
}

/*
 * A real launch is spawned at once while the launch budget lasts, else
 * queued: the loop must come back to its timer and its syncs, whatever
 * the number of launches in one answer and the speed of a fork.
 */
static void start_real(struct agent_jobs *t, struct job *j, const struct proto_launch *l)
{
    if (!prepare_real(t, j, l))
        return;
    if (t->qhead == t->nqueue && t->spent_us < t->budget_us)
        spawn_timed(t, j);
    else
        queue_push(t, j->tag);
    /* Either way jobs_dispatch must run: to renew the budget, or to spawn the queue. */
    queue_kick(t);
}

void jobs_launch(struct agent_jobs *t, const struct proto_launch *l, uint32_t node_idx)
{
    struct job *old = job_find(t, l->job, node_idx);
    if (old != NULL && old->run >= l->run) {
        log_debug(NL_LOGC_AGENT,
                  "job=%" PRId64 " run=%" PRIu32 " node=%s: launched again (run %" PRIu32
                  " is known), ignored",
                  l->job, l->run, l->node, old->run);
        return;
    }
    /*
     * The controller starts a newer run here only once it has given the old
     * one up (its node fell silent): the old one must not run on beside it.
     */
    if (old != NULL && old->state != JOB_EXITED) {
        log_warn("job=%" PRId64 " node=%s: run %" PRIu32 " launched while run %" PRIu32
                 " still runs; killing run %" PRIu32,
                 l->job, l->node, l->run, old->run, old->run);
        start_kill(t, old, 0, "stale run");
    }
    struct job *j = job_add(t, l->job, node_idx, l->run, l->node);
    /* The controller fills grace_s in every launch; an older one may not. */
    j->grace_s = l->grace_s >= 0 ? l->grace_s : NL_PROTO_GRACE_DEFAULT_S;
    double secs;
    if (node_idx == JOBS_NODE_IDX_MAX) {
        job_set_reason(j, "node %s is not served by this agent", l->node);
        job_finish(t, j, 127, 0, 0, 0);
    } else if (t->conf.noop && noop_seconds(l, &secs)) {
        start_noop(t, j, l, secs);
    } else {
        start_real(t, j, l);
    }
    rearm(t);
}

/* ---- kill -------------------------------------------------------------- */

/* Through the keeper, which alone knows whether the group id is still the job's. */
static void signal_job(struct agent_jobs *t, struct job *j, int sig)
{
    (void)t;
    launch_signal(&j->proc, sig);
}

/* SIGTERM now, SIGKILL at now + grace (or at once for grace 0). */
static void start_kill(struct agent_jobs *t, struct job *j, double grace_s, const char *reason)
{
    /*
     * The kill reason is the controller's own word and is only logged, not
     * echoed back: an exit's reason is for what the controller cannot know
     * (why a launch failed).
     */
    (void)reason;
    if (j->state == JOB_EXITED)
        return;
    if (j->noop || j->pend != NULL) {
        /*
         * sleep dies of SIGTERM at once; so does its stand-in, and so does
         * a launch still queued (it never had a process).
         */
        job_finish(t, j, 128 + SIGTERM, SIGTERM, 0, 0);
        return;
    }
    int64_t at = nl_clock_monotonic_us() + seconds_us(grace_s);
    if (j->state == JOB_KILLING && at >= j->kill_at_us)
        return; /* an earlier SIGKILL is already due */
    if (j->state == JOB_RUNNING)
        signal_job(t, j, SIGTERM);
    j->state = JOB_KILLING;
    j->kill_at_us = at;
    if (grace_s > 0) {
        set_deadline(t, j, DL_KILL, at);
        return;
    }
    j->dl = DL_NONE;
    j->dl_gen++; /* a pending time limit must not fire on a job already killed */
    signal_job(t, j, SIGKILL);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*
 * One pass over the table for all kill entries: a kill names a job, not a
 * node, and a preemption storm may name hundreds of jobs in one answer.
 */
void jobs_kill(struct agent_jobs *t, const struct proto_kill *k, size_t n)
{
    if (n == 0)
        return;
    int64_t *ids = xcalloc(n, sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        ids[i] = k[i].job;
    qsort(ids, n, sizeof(*ids), cmp_i64);
    for (size_t s = 0; s < t->bytag.cap; s++) {
        struct job *j = job_in_slot(&t->bytag, s);
        if (j == NULL || j->state == JOB_EXITED ||
            bsearch(&j->id, ids, n, sizeof(*ids), cmp_i64) == NULL)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (k[i].job == j->id && (k[i].run == 0 || k[i].run == j->run)) {
                log_info("job=%" PRId64 " run=%" PRIu32 " node=%s: kill (grace %g s, %s)", j->id,
                         j->run, j->node, k[i].grace_s, k[i].reason ? k[i].reason : "no reason");
                start_kill(t, j, k[i].grace_s, k[i].reason);
                break;
            }
        }
    }
    free(ids);
    rearm(t);
}

void jobs_kill_all(struct agent_jobs *t, double grace_s, const char *reason)
{
    for (size_t s = 0; s < t->bytag.cap; s++) {
        struct job *j = job_in_slot(&t->bytag, s);
        if (j != NULL)
            start_kill(t, j, grace_s, reason);
    }
    rearm(t);
}

/* ---- deadlines, keeper sockets, reaping ------------------------------- */

static void on_deadline(struct agent_jobs *t, struct job *j)
{
    switch (j->dl) {
    case DL_NOOP_END:
        job_finish(t, j, 0, 0, 0, 0);
        break;
    case DL_TIME_LIMIT:
        j->timeout = true;
        log_info("job=%" PRId64 " run=%" PRIu32 " node=%s: time limit reached", j->id, j->run,
                 j->node);
        start_kill(t, j, j->grace_s, "time limit");
        break;
    case DL_WARN:
        log_info("job=%" PRId64 " run=%" PRIu32 " node=%s: signal %d, %" PRId64
                 " s before its time limit",
                 j->id, j->run, j->node, j->ctl.warn_signal, j->ctl.warn_before_us / 1000000);
        if (j->state == JOB_RUNNING)
            signal_job(t, j, j->ctl.warn_signal);
        j->ctl.warn_signal = 0; /* once */
        set_deadline(t, j, DL_TIME_LIMIT, j->ctl.limit_at_us);
        break;
    case DL_KILL:
        log_info("job=%" PRId64 " run=%" PRIu32 " node=%s: grace over, SIGKILL", j->id, j->run,
                 j->node);
        j->dl = DL_NONE;
        signal_job(t, j, SIGKILL);
        break;
    case DL_NONE:
        break;
    }
}

static void check_output(struct agent_jobs *t)
{
    t->out_check_us = 0;
    if (t->nreal == 0)
        return;
    for (size_t s = 0; s < t->bytag.cap; s++) {
        struct job *j = job_in_slot(&t->bytag, s);
        if (j == NULL || j->state != JOB_RUNNING || j->output_limit <= 0)
            continue;
        /* The limit is on what this run writes, not on what earlier runs left in the file. */
        int64_t size = file_size(j->proc.out_fd) - j->proc.out_base;
        int64_t err_size = file_size(j->proc.err_fd) - j->proc.err_base;
        if (err_size > size)
            size = err_size;
        for (size_t i = 0; i < j->proc.nmore; i++) {
            int64_t more = file_size(j->proc.more_fd[i]) - j->proc.more_base[i];
            if (more > size)
                size = more;
        }
        if (size > j->output_limit) {
            log_warn("job=%" PRId64 " run=%" PRIu32 " node=%s: output of %" PRId64
                     " bytes is over its limit of %" PRId64 "; killing it",
                     j->id, j->run, j->node, size, j->output_limit);
            job_set_reason(j, "output limit of %" PRId64 " bytes exceeded", j->output_limit);
            start_kill(t, j, 0, "output limit");
        }
    }
    schedule_output_check(t);
}

static void run_deadlines(struct agent_jobs *t)
{
    uint64_t ticks;
    ssize_t n = read(t->tfd, &ticks, sizeof(ticks));
    (void)n;
    t->armed_us = 0;
    int64_t now = nl_clock_monotonic_us();
    while (t->nheap > 0 && t->heap[0].when_us <= now) {
        struct deadline d = t->heap[0];
        heap_pop(t);
        if (d.tag == 0) {
            check_output(t);
            continue;
        }
        struct job *j = job_lookup(&t->bytag, d.tag);
        if (j != NULL && j->dl_gen == d.gen && j->state != JOB_EXITED)
            on_deadline(t, j);
    }
    rearm(t);
}

static void on_run_end(struct agent_jobs *t, struct job *j, const struct launch_exit *ex);

/*
 * j's keeper died without reporting the run's end: the job's first process
 * died with it (PDEATHSIG), but what that started may live on, even out of
 * its group, and the keeper may have died before it could say the job's
 * pid. Kill what its record finds (runrec_kill: the group, the cgroup, the
 * run's key), as the start-up sweep would.
 */
static void kill_orphans(struct agent_jobs *t, struct job *j)
{
    if (j->rec_name[0] == '\0')
        return;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", t->conf.runs_dir, j->rec_name);
    struct runrec r;
    struct nl_err err = {0};
    if (runrec_read(path, &r, &err) < 0)
        return; /* never written: the keeper died before it started anything */
    size_t n = runrec_kill(&r);
    if (n > 0)
        log_warn("job=%" PRId64 " run=%" PRIu32 " node=%s: its keeper died; killed %zu processes "
                 "it left",
                 j->id, j->run, j->node, n);
}

static void read_keeper(struct agent_jobs *t, struct job *j)
{
    int fd = j->proc.fd;
    if (fd < 0 || j->state == JOB_EXITED)
        return;
    if (j->starting) {
        struct nl_err err = {0};
        int rc = launch_read_start(&j->proc, &j->rep, &err);
        if (rc == -EAGAIN)
            return;
        if (rc < 0) {
            /* The keeper could not start the job: as a launch that failed before the fork. */
            epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
            j->starting = false;
            kill_orphans(t, j); /* it may have died just after the job's exec */
            if (j->cg_leaf[0] != '\0')
                agent_cg_job_remove(t->conf.cg, j->cg_leaf);
            job_set_reason(j, "launch: %s", err.msg);
            job_finish(t, j, 127, 0, 0, 0);
            return;
        }
        on_started(j);
        /* The end may already wait behind it; epoll is level-triggered, so this is only early. */
    }
    struct launch_exit ex;
    int rc = launch_read(&j->proc, &ex);
    if (rc == -EAGAIN)
        return;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
    if (rc == 0) {
        /* The keeper was killed: its job died with it (PDEATHSIG); make sure of the rest. */
        launch_signal(&j->proc, SIGKILL);
        kill_orphans(t, j);
        if (j->reason == NULL)
            job_set_reason(j, "the run's keeper process died");
        ex = (struct launch_exit){.status = SIGKILL};
    }
    on_run_end(t, j, &ex);
}

void jobs_dispatch(struct agent_jobs *t)
{
    struct epoll_event ev[64];
    int n = epoll_wait(t->epfd, ev, 64, 0);
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 == TAG_TIMER) {
            run_deadlines(t);
            continue;
        }
        if (ev[i].data.u64 == TAG_QUEUE) {
            jobs_start_queued(t);
            continue;
        }
        struct job *j = job_lookup(&t->bytag, ev[i].data.u64);
        if (j != NULL)
            read_keeper(t, j);
    }
}

static const char *stage_name(int stage)
{
    return stage == LAUNCH_STAGE_CHDIR  ? "chdir"
           : stage == LAUNCH_STAGE_EXEC ? "exec"
           : stage == LAUNCH_STAGE_IDS  ? "run as user"
                                        : "setup";
}

/*
 * The keeper has reaped the job and killed what it left in its group, its
 * cgroup and its subtree, so the cgroup is empty and can go.
 */
static void on_run_end(struct agent_jobs *t, struct job *j, const struct launch_exit *ex)
{
    if (j->cg_leaf[0] != '\0')
        agent_cg_job_remove(t->conf.cg, j->cg_leaf);
    if (j->rep.stage != LAUNCH_STAGE_NONE)
        job_set_reason(j, "%s %s: %s", stage_name(j->rep.stage),
                       j->rep.stage == LAUNCH_STAGE_CHDIR ? j->cwd
                       : j->rep.stage == LAUNCH_STAGE_IDS ? j->user
                                                          : j->argv0,
                       strerror(j->rep.err));
    int status = ex->status;
    /* A signal death is reported as the shell would: exit_code 128 + signal. */
    if (WIFSIGNALED(status))
        job_finish(t, j, 128 + WTERMSIG(status), WTERMSIG(status), ex->cpu_s, ex->max_rss_kb);
    else
        job_finish(t, j, WEXITSTATUS(status), 0, ex->cpu_s, ex->max_rss_kb);
}

/* The agent's children are keepers; their runs' ends come through their sockets. */
void jobs_reap(struct agent_jobs *t)
{
    (void)t;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/* ---- sync lists -------------------------------------------------------- */

size_t jobs_running(struct agent_jobs *t, bool full, const struct proto_running **out)
{
    size_t need = full ? t->live : t->nfresh;
    if (t->cap_run < need) {
        t->cap_run = xgrow(t->cap_run, need);
        t->run_out = xreallocarray(t->run_out, t->cap_run, sizeof(*t->run_out));
    }
    size_t n = 0;
    if (full) {
        for (size_t s = 0; s < t->bytag.cap; s++) {
            const struct job *j = job_in_slot(&t->bytag, s);
            if (j != NULL && j->state != JOB_EXITED)
                t->run_out[n++] = (struct proto_running){j->id, j->run, j->node};
        }
        assert(n == t->live);
    } else {
        for (size_t i = 0; i < t->nfresh; i++) {
            const struct job *j = job_lookup(&t->bytag, t->fresh[i]);
            if (j != NULL && j->state != JOB_EXITED)
                t->run_out[n++] = (struct proto_running){j->id, j->run, j->node};
        }
    }
    t->fresh_sent = t->nfresh;
    t->run_listed = n;
    *out = t->run_out;
    return n;
}

void jobs_running_sent(struct agent_jobs *t, size_t n)
{
    if (n >= t->run_listed)
        return;
    /* Walk fresh as jobs_running did: the first n live entries went out. */
    size_t listed = 0, i = 0;
    for (; i < t->fresh_sent && listed < n; i++) {
        const struct job *j = job_lookup(&t->bytag, t->fresh[i]);
        listed += j != NULL && j->state != JOB_EXITED;
    }
    t->fresh_sent = i;
    t->run_listed = n;
}

size_t jobs_exits(struct agent_jobs *t, uint64_t seq, const struct proto_exit **out)
{
    if (t->cap_exit < t->nexited) {
        t->cap_exit = xgrow(t->cap_exit, t->nexited);
        t->exit_out = xreallocarray(t->exit_out, t->cap_exit, sizeof(*t->exit_out));
    }
    size_t n = 0;
    for (size_t i = 0; i < t->nexited; i++) {
        struct job *j = t->exited[i];
        /* Its last bytes go first: a job that has ended has all its output at the controller. */
        if (j->ctl.shipping && (outship_pending(&j->ctl.out, j->proc.out_rfd) ||
                                outship_pending(&j->ctl.err, j->proc.err_rfd)))
            continue;
        j->sent_seq = seq;
        t->exit_out[n++] = j->exit;
    }
    *out = t->exit_out;
    return n;
}

void jobs_exits_sent(struct agent_jobs *t, uint64_t seq, size_t n)
{
    size_t listed = 0;
    for (size_t i = 0; i < t->nexited; i++)
        if (t->exited[i]->sent_seq == seq && listed++ >= n)
            t->exited[i]->sent_seq = 0; /* syncs count from 1 */
}

static bool held(const struct job *j, const struct proto_hold *hold, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hold[i].job == j->id && hold[i].run == j->run && strcmp(hold[i].node, j->node) == 0)
            return true;
    return false;
}

void jobs_ack(struct agent_jobs *t, uint64_t seq, const struct proto_hold *hold, size_t n)
{
    /* Runs started after the sync was built are still new; they sit after fresh_sent. */
    if (t->fresh_sent > 0 && t->nfresh > t->fresh_sent)
        memmove(t->fresh, t->fresh + t->fresh_sent,
                (t->nfresh - t->fresh_sent) * sizeof(*t->fresh));
    t->nfresh -= t->fresh_sent;
    t->fresh_sent = 0;
    /* The controller has the acknowledgements of controls that sync carried. */
    if (t->applied_sent > 0)
        memmove(t->applied, t->applied + t->applied_sent,
                (t->napplied - t->applied_sent) * sizeof(*t->applied));
    t->napplied -= t->applied_sent;
    t->applied_sent = 0;
    for (size_t i = 0; t->nship > 0 && i < t->bytag.cap; i++) {
        struct job *j = job_in_slot(&t->bytag, i);
        if (j != NULL && j->ctl.shipping) {
            outship_ack(&j->ctl.out, seq);
            outship_ack(&j->ctl.err, seq);
            outship_trim(&j->ctl.out, j->proc.out_rfd);
            outship_trim(&j->ctl.err, j->proc.err_rfd);
        }
    }
    size_t keep = 0;
    for (size_t i = 0; i < t->nexited; i++) {
        struct job *j = t->exited[i];
        if (j->sent_seq == seq && !held(j, hold, n)) {
            nl_u64map_del(&t->bytag, j->tag, NULL);
            /* bykey may already name a newer run of the job on that node. */
            job_unkey(t, j);
            if (j->rec_name[0] != '\0')
                runrec_remove(t->conf.runs_dir, j->rec_name);
            if (j->ctl.shipping)
                t->nship--;
            job_free(j);
        } else {
            t->exited[keep++] = j;
        }
    }
    t->nexited = keep;
}

/* ---- controls and output (issue 12) ------------------------------------ */

/* A signal to every live real process of c's run of its job, on every node. */
static void control_signal(struct agent_jobs *t, const struct proto_control *c)
{
    for (size_t s = 0; s < t->bytag.cap; s++) {
        struct job *j = job_in_slot(&t->bytag, s);
        if (j == NULL || j->id != c->job || j->run != c->run || j->state != JOB_RUNNING ||
            j->noop || j->pend != NULL)
            continue;
        log_info("job=%" PRId64 " run=%" PRIu32 " node=%s: signal %d", j->id, j->run, j->node,
                 c->signal);
        signal_job(t, j, c->signal);
    }
}

/* A new time limit for c's run, counted from its start; a limit already past fires now. */
static void control_limit(struct agent_jobs *t, const struct proto_control *c)
{
    for (size_t s = 0; s < t->bytag.cap; s++) {
        struct job *j = job_in_slot(&t->bytag, s);
        if (j == NULL || j->id != c->job || j->run != c->run || j->state != JOB_RUNNING ||
            j->pend != NULL)
            continue;
        j->ctl.limit_at_us = j->ctl.started_us + seconds_us(c->time_limit_s);
        log_info("job=%" PRId64 " run=%" PRIu32 " node=%s: time limit now %g s", j->id, j->run,
                 j->node, c->time_limit_s);
        if (!j->noop)
            arm_limit(t, j);
        else if (j->ctl.limit_at_us < j->ctl.noop_end_us)
            set_deadline(t, j, DL_TIME_LIMIT, j->ctl.limit_at_us);
    }
}

static void applied_add(struct agent_jobs *t, uint64_t seq)
{
    for (size_t i = 0; i < t->napplied; i++)
        if (t->applied[i] == seq)
            return; /* a resend, acknowledged already */
    if (t->napplied == t->cap_applied) {
        t->cap_applied = xgrow(t->cap_applied, t->napplied + 1);
        t->applied = xreallocarray(t->applied, t->cap_applied, sizeof(*t->applied));
    }
    t->applied[t->napplied++] = seq;
}

/*
 * Apply control c once (controls are resent until acknowledged, and a
 * resend may come after we applied it: its acknowledgement was in flight
 * or lost). A run that waits here for the launch budget has nothing to
 * signal yet: the control is left unacknowledged, so it comes again. A run
 * not here at all (ended, or never launched) needs nothing: acknowledged.
 * A control without seq (a controller before acknowledgements) is applied
 * as it comes.
 */
static void control_once(struct agent_jobs *t, const struct proto_control *c)
{
    bool here = false, waiting = false;
    uint64_t done = 0;
    for (size_t s = 0; s < t->bytag.cap; s++) {
        struct job *j = job_in_slot(&t->bytag, s);
        if (j == NULL || j->id != c->job || j->run != c->run)
            continue;
        here = true;
        waiting |= j->pend != NULL;
        uint64_t k = c->signal > 0 ? j->ctl.sig_seq : j->ctl.limit_seq;
        done = k > done ? k : done;
    }
    if (c->seq != 0 && waiting)
        return;
    if (c->seq != 0 && here && c->seq <= done) {
        log_info("job=%" PRId64 " run=%" PRIu32 ": control %" PRIu64 " applied before; not again",
                 c->job, c->run, c->seq);
    } else if (c->signal > 0) {
        control_signal(t, c);
    } else {
        control_limit(t, c);
    }
    if (c->seq == 0)
        return;
    for (size_t s = 0; here && s < t->bytag.cap; s++) {
        struct job *j = job_in_slot(&t->bytag, s);
        if (j != NULL && j->id == c->job && j->run == c->run) {
            uint64_t *k = c->signal > 0 ? &j->ctl.sig_seq : &j->ctl.limit_seq;
            *k = c->seq > *k ? c->seq : *k;
        }
    }
    applied_add(t, c->seq);
}

void jobs_control(struct agent_jobs *t, const struct proto_control *signals, size_t nsignals,
                  const struct proto_control *limits, size_t nlimits)
{
    for (size_t i = 0; i < nlimits; i++)
        control_once(t, &limits[i]);
    for (size_t i = 0; i < nsignals; i++)
        control_once(t, &signals[i]);
    if (nlimits > 0 || nsignals > 0)
        rearm(t);
}

size_t jobs_applied(struct agent_jobs *t, size_t max, const uint64_t **out)
{
    t->applied_sent = t->napplied < max ? t->napplied : max;
    *out = t->applied;
    return t->applied_sent;
}

/* Append entries for one stream of j: one chunk while it runs, as many as fit once it ended. */
static size_t ship_stream(struct agent_jobs *t, struct job *j, int stream, uint64_t seq, size_t *n,
                          size_t used)
{
    struct outship *os = stream ? &j->ctl.err : &j->ctl.out;
    int fd = stream ? j->proc.err_rfd : j->proc.out_rfd;
    size_t taken = 0;
    if (j->state == JOB_EXITED)
        outship_final(os);
    while (fd >= 0 && used + taken < NL_PROTO_OUTPUT_SYNC_MAX && *n < NL_PROTO_OUTPUT_ENTRIES_MAX) {
        size_t room = NL_PROTO_OUTPUT_SYNC_MAX - used - taken;
        uint64_t off = 0;
        size_t got = outship_take(
                os, fd, seq, t->ship_buf + used + taken,
                room < NL_PROTO_OUTPUT_CHUNK_MAX ? room : NL_PROTO_OUTPUT_CHUNK_MAX, &off);
        if (got == 0)
            break;
        if (*n == t->cap_ship_list) {
            t->cap_ship_list = xgrow(t->cap_ship_list, *n + 1);
            t->ship_list = xreallocarray(t->ship_list, t->cap_ship_list, sizeof(*t->ship_list));
        }
        t->ship_list[(*n)++] = (struct proto_output){.job = j->id,
                                                     .run = j->run,
                                                     .node = j->node,
                                                     .stream = stream,
                                                     .offset = off,
                                                     .data = t->ship_buf + used + taken,
                                                     .len = got};
        taken += got;
        if (j->state != JOB_EXITED)
            break;
    }
    return taken;
}

size_t jobs_output(struct agent_jobs *t, uint64_t seq, const struct proto_output **out)
{
    size_t n = 0, used = 0;
    *out = NULL;
    if (t->nship == 0)
        return 0;
    if (t->ship_buf == NULL)
        t->ship_buf = xmalloc(NL_PROTO_OUTPUT_SYNC_MAX);
    /*
     * Round robin: a sync whose budget ran out stops at a slot, and the next
     * starts there, so that a few chatty runs never starve the others (nor
     * hold the exits of runs waiting for their last bytes).
     */
    size_t cap = t->bytag.cap, start = cap ? t->ship_next % cap : 0, k = 0;
    for (; k < cap && used < NL_PROTO_OUTPUT_SYNC_MAX && n < NL_PROTO_OUTPUT_ENTRIES_MAX; k++) {
        struct job *j = job_in_slot(&t->bytag, (start + k) % cap);
        if (j == NULL || !j->ctl.shipping)
            continue;
        used += ship_stream(t, j, 0, seq, &n, used);
        used += ship_stream(t, j, 1, seq, &n, used);
    }
    t->ship_next = k < cap ? start + k : 0;
    *out = t->ship_list;
    return n;
}
