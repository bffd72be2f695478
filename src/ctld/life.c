/* SPDX-License-Identifier: MIT */
/*
 * life.c - a job's life in the controller (see life.h): between the
 * scheduler (what should happen), the store (what has happened, durably)
 * and the agents (who make it happen, through the node registry's
 * outboxes).
 *
 * Ordering rules that keep the promises of DESIGN.md section 4:
 * - A submission is inserted and committed before the scheduler sees it,
 *   so a job the scheduler could start is always a job that exists on disk.
 * - A START is written to the store (RUNNING plus its allocation) before
 *   the launch can reach an agent: launches are only handed out in sync
 *   answers, and every answer given while the iteration's transaction has
 *   writes waits for its COMMIT. After a crash the job is RUNNING on disk,
 *   so it is adopted or declared lost (NODE_FAIL), never started twice.
 * - An exit is committed before the sync that reported it is answered, so
 *   the agent keeps repeating it until it is durable.
 * - Every start of a job gets the next run number, stored with the job
 *   and carried by its launches, by the agents' running lists and exits,
 *   and by kills. A process of an older run (its node fell silent, the job
 *   was requeued and started again, maybe on that very node) is killed
 *   when its agent lists it, and its exit is ignored: a job never runs
 *   twice at once, and an old run's exit never ends the new one.
 * A store write that fails after the scheduler has changed is fatal (see
 * durable.h): memory and disk must not disagree.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "life.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/outpat.h"
#include "common/proto_limits.h"
#include "common/rng.h"
#include "common/xalloc.h"
#include "ctld/controls.h"
#include "ctld/durable.h"
#include "ctld/fault.h"
#include "ctld/nodes.h"
#include "ctld/now.h"
#include "ctld/runs.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "store/store.h"
#include "store/store_events.h"

/*
 * Rendezvous ports: MASTER_PORT = base + band x G + (job id + salt) mod
 * band, where G is the index of the first GPU the run holds on its first
 * node (rank 0's): the same for every rank and every launch of a run.
 * Runs whose rank 0 shares a node at once hold different GPUs there, so
 * their bands differ and one node never gives two of them one port, with
 * nothing to store (a restart computes the same port from the run's
 * allocation). The span lies below Linux's ephemeral range (32768-60999
 * by default), where any outgoing connection of the node may hold a port
 * and torch's bind would fail; the salt, from the state directory
 * (life_master_port_salt), keeps two controllers on one host (a laptop,
 * two test runs) from giving their job 1 one port.
 */
#define MASTER_PORT_BASE 20000
#define MASTER_PORT_SPAN 10000
#define MASTER_PORT_BAND (MASTER_PORT_SPAN / NL_GPUS_PER_NODE_MAX)

/* Bucket bounds (seconds): waits 1 s to a week; a pass 100 us to 5 s. */
static const double wait_bounds[] = {1,    5,    10,   30,    60,    300,   600,
                                     1800, 3600, 7200, 21600, 43200, 86400, 604800};
static const double cycle_bounds[] = {0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,    0.25,  0.5,    1,     2.5,  5};

/* A job inserted in this iteration's transaction, for the scheduler after COMMIT. */
struct submit {
    uint64_t id;
    struct nl_job_spec spec;
    int64_t submit_us;
};

struct life {
    struct life_deps d;
    struct runs *runs;
    struct submit *subs;
    size_t nsubs, subs_cap;
    struct life_end *ends; /* terminal ends since life_ends_clear, for the gate */
    size_t nends, ends_cap;
    size_t unconfirmed_runs; /* runs with unconfirmed ranks */
    bool dirty;              /* a pass should run */
    int64_t last_pass_us;
    struct life_stats stats;
    double *node_w;       /* per node: the GPUs' last reported draw (power section) */
    int64_t *node_w_us;   /* when; 0 = never */
    float *node_temp_c;   /* per node: its hottest GPU at that reading (0 = not sent) */
    uint32_t node_w_n;    /* nodes the three arrays cover (the facility may grow past it) */
};

struct life *life_create(const struct life_deps *deps)
{
    struct life *l = xcalloc(1, sizeof(*l));
    l->d = *deps;
    l->runs = runs_create();
    histogram_init(&l->stats.queue_wait_s, wait_bounds,
                   sizeof(wait_bounds) / sizeof(wait_bounds[0]));
    histogram_init(&l->stats.sched_cycle_s, cycle_bounds,
                   sizeof(cycle_bounds) / sizeof(cycle_bounds[0]));
    l->dirty = true;
    return l;
}

void life_destroy(struct life *l)
{
    if (l == NULL)
        return;
    runs_destroy(l->runs);
    free(l->subs);
    free(l->node_w);
    free(l->node_w_us);
    free(l->node_temp_c);
    free(l->ends);
    free(l);
}

const struct life_stats *life_stats(const struct life *l)
{
    return &l->stats;
}

void life_mark_dirty(struct life *l)
{
    l->dirty = true;
}

bool life_take_dirty(struct life *l)
{
    bool was = l->dirty;
    l->dirty = false;
    return was;
}

int64_t life_last_pass_us(const struct life *l)
{
    return l->last_pass_us;
}

bool life_has_unconfirmed(const struct life *l)
{
    return l->unconfirmed_runs > 0;
}

size_t life_run_count(const struct life *l)
{
    return runs_count(l->runs);
}

bool life_run_next(const struct life *l, size_t *cursor, struct life_run_info *out)
{
    const struct run *run = runs_next(l->runs, cursor);
    if (run == NULL)
        return false;
    *out = (struct life_run_info){.job = run->job,
                                  .run = run->number,
                                  .first_node = run->alloc[0].node,
                                  .start_us = run->start_us,
                                  .energy_start_wh = run->energy_start_wh};
    return true;
}

void life_restart_clocks(struct life *l)
{
    now_read(l->d.clock);
    size_t cursor = 0;
    for (struct run *run; (run = runs_next(l->runs, &cursor)) != NULL;)
        run->last_seen_us = l->d.clock->us;
}

/* Queue the launch of job's rank on node; a node without an agent waits for none. */
static void queue_launch(struct life *l, uint64_t job, uint32_t node)
{
    if (nodes_queue_launch(l->d.nodes, job, node) < 0)
        log_warn("job=%llu node %u has no agent: the launch waits for none",
                 (unsigned long long)job, node);
}

/* A job reached a terminal state: remembered for the gate (its dependents, its array). */
static void note_end(struct life *l, uint64_t id, enum nl_job_state state)
{
    if (l->nends == l->ends_cap) {
        l->ends_cap = xgrow(l->ends_cap, l->nends + 1);
        l->ends = xreallocarray(l->ends, l->ends_cap, sizeof(*l->ends));
    }
    l->ends[l->nends++] = (struct life_end){.job = id, .state = state};
}

const struct life_end *life_ends(const struct life *l, size_t *n)
{
    *n = l->nends;
    return l->ends;
}

void life_ends_clear(struct life *l)
{
    l->nends = 0;
}

/* ---- submission ---- */

void life_enqueue(struct life *l, uint64_t id, const struct nl_job_spec *spec, int64_t submit_us)
{
    if (l->nsubs == l->subs_cap) {
        l->subs_cap = xgrow(l->subs_cap, l->nsubs + 1);
        l->subs = xreallocarray(l->subs, l->subs_cap, sizeof(*l->subs));
    }
    l->subs[l->nsubs++] = (struct submit){.id = id, .spec = *spec, .submit_us = submit_us};
}

int life_submit(struct life *l, struct nl_store_job *rec, struct nl_err *err)
{
    int rc = life_insert(l, rec, err);
    if (rc < 0)
        return rc;
    life_enqueue(l, rec->id, &rec->spec, rec->submit_us);
    return 0;
}

static int insert(struct life *l, struct nl_store_job *rec, bool array, struct nl_err *err);

int life_insert(struct life *l, struct nl_store_job *rec, struct nl_err *err)
{
    return insert(l, rec, false, err);
}

int life_insert_array(struct life *l, struct nl_store_job *rec, struct nl_err *err)
{
    return insert(l, rec, true, err);
}

static int insert(struct life *l, struct nl_store_job *rec, bool array, struct nl_err *err)
{
    durable_txn(l->d.dur);
    /*
     * The paths name the id the insert will take, so one INSERT writes the
     * whole record. By default they are relative: each agent puts them
     * under its own --output-root, on the node, so that a chatty job can
     * never fill the controller's filesystem; --output-root DIR makes them
     * absolute, for a filesystem every node shares.
     */
    uint64_t id = nl_store_next_id(l->d.store);
    const char *root = l->d.output_root ? l->d.output_root : "";
    char out[NL_PROTO_PATH_MAX], errp[NL_PROTO_PATH_MAX];
    snprintf(out, sizeof(out), "%s%s%llu/stdout", root, root[0] ? "/" : "", (unsigned long long)id);
    snprintf(errp, sizeof(errp), "%s%s%llu/stderr", root, root[0] ? "/" : "",
             (unsigned long long)id);
    /*
     * Patterns the request gave (--output/--error) get their job id and name
     * now, and %A its own id: an array task's patterns are its array job's,
     * whose %A was expanded (to the array job's id) when it was submitted
     * and whose %j was kept, so that here it becomes the task's own id.
     */
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%llu", (unsigned long long)id);
    struct nl_outpat_vals pv = {
            .job = array ? NULL : idtext, .name = rec->name, .array_job = idtext, .task = -1};
    char *given[2] = {rec->stdout_path, rec->stderr_path};
    const char *dflt[2] = {out, errp};
    for (int i = 0; i < 2; i++) {
        char buf[NL_PROTO_PATH_MAX];
        if (given[i] == NULL || nl_outpat_expand(given[i], &pv, buf, sizeof(buf)) < 0)
            snprintf(buf, sizeof(buf), "%s", given[i] ? given[i] : dflt[i]);
        free(given[i]);
        given[i] = xstrdup(buf);
    }
    rec->stdout_path = given[0];
    rec->stderr_path = given[1];
    int rc = nl_store_job_insert(l->d.store, rec, &rec->id, err);
    if (rc < 0)
        return rc;
    l->stats.submitted++;
    return 0;
}

int life_withdraw(struct life *l, uint64_t id, struct nl_err *err)
{
    for (size_t i = 0; i < l->nsubs; i++)
        if (l->subs[i].id == id) {
            l->subs[i] = l->subs[--l->nsubs];
            return 0;
        }
    struct nl_job_info info;
    if (nl_sched_job_info(l->d.sched, id, &info) < 0)
        return nl_err_set(err, -ENOENT, "job %llu: not pending in the scheduler",
                          (unsigned long long)id);
    if (info.state != NL_JOB_PENDING)
        return nl_err_set(err, -EBUSY, "job %llu: %s, not pending", (unsigned long long)id,
                          nl_job_state_name(info.state));
    /* The scheduler forgets it; the store keeps it PENDING (the caller gates it). */
    int rc = nl_sched_cancel(l->d.sched, id, l->d.clock->us, NULL, err);
    l->dirty = true;
    return rc < 0 ? rc : 0;
}

/* A job the scheduler cannot take (facility or tenants changed under it) ends FAILED. */
static void fail_unschedulable(struct life *l, uint64_t id, const struct nl_err *why)
{
    log_warn("job=%llu cannot be scheduled: %s", (unsigned long long)id, why->msg);
    struct nl_err err = {0};
    struct nl_store_end e = {.state = NL_JOB_FAILED, .end_us = l->d.clock->us};
    durable_txn(l->d.dur);
    durable_check(nl_store_job_end(l->d.store, id, &e, &err), "end job", &err);
    note_end(l, id, NL_JOB_FAILED);
}

void life_forget_submits(struct life *l)
{
    l->nsubs = 0;
}

void life_after_commit(struct life *l)
{
    for (size_t i = 0; i < l->nsubs; i++) {
        struct nl_err err = {0};
        if (nl_sched_submit(l->d.sched, l->subs[i].id, &l->subs[i].spec, l->d.clock->us, &err) < 0)
            fail_unschedulable(l, l->subs[i].id, &err);
    }
    if (l->nsubs > 0)
        l->dirty = true;
    l->nsubs = 0;
}

/* ---- the end of a run ---- */

static void count_end(struct life *l, const struct nl_job_info *info)
{
    const struct nl_tenant_spec *t = nl_tenants_get(l->d.tenants, info->spec.tenant);
    uint32_t tier = t ? t->tier : 0;
    if (info->state < NL_JOB_STATE_COUNT && tier < NL_TIERS_MAX)
        l->stats.ended[info->state][tier]++;
}

/* Write a run's end (requeue or terminal) for info, the scheduler's record after the change. */
static void record_end(struct life *l, const struct nl_job_info *info, const struct run *run,
                       bool preempted)
{
    struct nl_err err = {0};
    int64_t run_us = run && run->start_us ? l->d.clock->us - run->start_us : 0;
    double energy_wh = run ? info->energy_wh - run->energy_start_wh : 0;
    if (energy_wh < 0)
        energy_wh = 0;
    double it_wh = run ? info->it_energy_wh - run->it_energy_start_wh : 0;
    durable_txn(l->d.dur);
    /* IT energy beside the facility's (docs/power.md, accounting). */
    if (it_wh > 0)
        durable_check(nl_store_job_add_it_energy(l->d.store, info->id, it_wh, &err), "it energy",
                      &err);
    if (info->state == NL_JOB_PENDING) {
        durable_check(
                nl_store_job_requeue(l->d.store, info->id, preempted, run_us, energy_wh, &err),
                "requeue", &err);
        log_info("job=%llu requeued (%s)", (unsigned long long)info->id,
                 preempted                   ? "preempted"
                 : run && run->requeue_asked ? "requeue asked"
                                             : "node failure");
    } else {
        struct nl_store_end e = {
                .state = info->state,
                .end_us = info->end_us ? info->end_us : l->d.clock->us,
                .has_exit = run && run->has_exit,
                .exit_code = run ? run->exit_code : 0,
                .exit_signal = run ? run->exit_signal : 0,
                .run_us = run_us,
                .energy_wh = energy_wh,
                .cpu_s = run ? run->cpu_s : 0,
                .max_rss_kb = run ? run->max_rss_kb : 0,
                .reason = run ? run->exit_reason : NULL,
        };
        durable_check(nl_store_job_end(l->d.store, info->id, &e, &err), "end job", &err);
        count_end(l, info);
        note_end(l, info->id, info->state);
        log_info("job=%llu ended %s", (unsigned long long)info->id, nl_job_state_name(info->state));
    }
    l->dirty = true;
}

/* An agent has mentioned rank of a reloaded run: it needs no relaunch. */
static void confirm_rank(struct life *l, struct run *run, int rank)
{
    if (run->nunconfirmed == 0 || !run->unconfirmed[rank])
        return;
    run->unconfirmed[rank] = 0;
    if (--run->nunconfirmed == 0) {
        free(run->unconfirmed);
        run->unconfirmed = NULL;
        l->unconfirmed_runs--;
    }
}

static void forget_run(struct life *l, struct run *run)
{
    if (run->nunconfirmed > 0)
        l->unconfirmed_runs--;
    runs_remove(l->runs, run->job);
}

/* Every rank has reported (or the job is lost): tell the scheduler and the store. */
static void finish_run(struct life *l, struct run *run, enum nl_exit how)
{
    uint64_t id = run->job;
    struct nl_job_info before, info;
    struct nl_err err = {0};
    if (nl_sched_job_info(l->d.sched, id, &before) < 0) {
        forget_run(l, run);
        return;
    }
    /* A job reloaded while being preempted is PREEMPTING again (reload_preempting). */
    bool preempted = before.state == NL_JOB_PREEMPTING && !run->requeue_asked;
    if (nl_sched_job_exit(l->d.sched, id, how, l->d.clock->us, &info, &err) < 0) {
        log_err("job=%llu exit refused by the scheduler: %s", (unsigned long long)id, err.msg);
        forget_run(l, run);
        return;
    }
    record_end(l, &info, run, preempted);
    forget_run(l, run);
}

static enum nl_exit classify(const struct life_exit *x)
{
    if (x->timeout)
        return NL_EXIT_TIMEOUT;
    return x->exit_code == 0 && x->signal == 0 ? NL_EXIT_OK : NL_EXIT_FAILED;
}

/*
 * The job's own grace between SIGTERM and SIGKILL (grace_s of its
 * request, whole seconds rounded up), used for every kill the controller
 * decides on its own: cancel, preemption, and the survivors of a gang whose
 * peer failed. A lost node's ranks get 0: they must not run on alone.
 */
static uint32_t job_grace_s(const struct life *l, uint64_t id)
{
    struct nl_job_info info;
    if (nl_sched_job_info(l->d.sched, id, &info) < 0 || info.spec.grace_us <= 0)
        return 0;
    return (uint32_t)((info.spec.grace_us + 999999) / 1000000);
}

/* Ask every agent still running a rank of run to kill it. */
static void kill_ranks(struct life *l, struct run *run, uint32_t grace_s, const char *reason)
{
    run->kill_requested = true;
    run->kill_sent_us = l->d.clock->us;
    run->kill_grace_s = grace_s;
    run->kill_reason = reason;
    for (uint32_t r = 0; r < run->nnodes; r++)
        if (!run->exited[r])
            nodes_queue_kill(l->d.nodes, run->job, run->number, run->alloc[r].node, grace_s,
                             reason);
}

void life_exit(struct life *l, const struct life_exit *x)
{
    struct run *run = runs_get(l->runs, x->job);
    int rank = run ? run_rank(run, x->node) : -1;
    if (run != NULL && x->run != run->number) {
        log_info("job=%llu run=%u exit on node %u ignored: the job is at run %u",
                 (unsigned long long)x->job, x->run, x->node, run->number);
        return;
    }
    if (rank < 0 || run->exited[rank]) {
        log_debug(NL_LOGC_AGENT, "job=%llu exit on node %u already handled",
                  (unsigned long long)x->job, x->node);
        return;
    }
    confirm_rank(l, run, rank);
    run->exited[rank] = 1;
    run->nexited++;
    run->cpu_s += x->cpu_s;
    if (x->max_rss_kb > run->max_rss_kb)
        run->max_rss_kb = x->max_rss_kb;
    run->last_seen_us = l->d.clock->us;
    enum nl_exit how = classify(x);
    /* The first bad exit decides how the whole gang ended. */
    if (run->how == NL_EXIT_NONE || (run->how == NL_EXIT_OK && how != NL_EXIT_OK)) {
        run->how = how;
        run->has_exit = true;
        run->exit_code = x->exit_code;
        run->exit_signal = x->signal;
        free(run->exit_reason);
        /* An agent's text: control characters escaped before anyone logs or shows it. */
        run->exit_reason = x->reason ? fault_escape_dup(x->reason) : NULL;
    }
    if (run->nexited == run->nnodes)
        finish_run(l, run, run->how);
    else if (how != NL_EXIT_OK && !run->kill_requested)
        kill_ranks(l, run, job_grace_s(l, run->job), "peer_failed");
}

bool life_exit_held(const struct life *l, const struct life_exit *x)
{
    const struct run *run = runs_get(l->runs, x->job);
    int rank = run && run->number == x->run ? run_rank(run, x->node) : -1;
    return rank >= 0 && run->exited[rank];
}

/* job's node (or its processes) were lost: NODE_FAIL, requeued when it asked. */
static void life_lost(struct life *l, uint64_t job, const char *why)
{
    struct run *run = runs_get(l->runs, job);
    if (run == NULL)
        return;
    log_warn("job=%llu run=%u lost: %s", (unsigned long long)job, run->number, why);
    if (run->exit_reason == NULL)
        run->exit_reason = xstrdup(why);
    /* Ranks on healthy nodes must not run on alone; a lost node's agent is told if it returns. */
    kill_ranks(l, run, 0, "node_fail");
    finish_run(l, run, NL_EXIT_NODE_FAIL);
}

/*
 * A kill answer may have been lost (a crash of either side, a dropped
 * connection): repeat it once its grace and a node timeout have passed
 * without the run ending. Driven by differences of now_us (monotonic), not
 * by the agent listing the run, so it also works for agents that send
 * deltas (which do not list old runs).
 */
static void resend_kill(struct life *l, struct run *run)
{
    int64_t resend_us = ((int64_t)run->kill_grace_s * 1000 + (int64_t)l->d.node_timeout_ms) * 1000;
    if (!run->kill_requested ||
        (run->kill_sent_us != 0 && l->d.clock->us - run->kill_sent_us <= resend_us))
        return;
    /* Sent only to agents that sync; kill_sent_us = 0 (a reloaded kill) waits for one. */
    for (uint32_t r = 0; r < run->nnodes; r++)
        if (!run->exited[r] && nodes_state(l->d.nodes, run->alloc[r].node) == NODE_UP) {
            nodes_queue_kill(l->d.nodes, run->job, run->number, run->alloc[r].node,
                             run->kill_grace_s, run->kill_reason);
            run->kill_sent_us = l->d.clock->us;
        }
}

bool life_seen(struct life *l, uint64_t job, uint32_t number, uint32_t node)
{
    struct run *run = runs_get(l->runs, job);
    int rank = run && run->number == number ? run_rank(run, node) : -1;
    if (rank < 0)
        return false;
    run->last_seen_us = l->d.clock->us;
    run->last_listed_us = l->d.clock->us;
    confirm_rank(l, run, rank);
    /* A reloaded kill goes out in the answer to the first sync that lists the run. */
    if (run->kill_requested && run->kill_sent_us == 0)
        resend_kill(l, run);
    return true;
}

static void kill_reloaded(struct life *l, struct run *run, const char *reason)
{
    run->kill_requested = true;
    run->kill_sent_us = 0;
    run->kill_grace_s = job_grace_s(l, run->job);
    run->kill_reason = reason;
}

/*
 * The latest clock at which an agent of run's ranks vouched for it
 * without listing it (a delta sync after a full list that had it), or 0.
 */
static int64_t run_vouched(const struct life *l, const struct run *run)
{
    int64_t best = 0;
    for (uint32_t r = 0; r < run->nnodes; r++) {
        if (run->exited[r])
            continue;
        int64_t v = nodes_vouched(l->d.nodes, run->alloc[r].node, run->last_listed_us);
        if (v > best)
            best = v;
    }
    return best;
}

void life_node_down(struct life *l, uint32_t node, const char *why)
{
    const uint64_t *jobs = NULL;
    size_t n = nl_sched_node_set_down(l->d.sched, node, true, &jobs);
    /* Copied: life_lost changes the scheduler, which ends the borrowed array's lifetime. */
    uint64_t *copy = n ? xmalloc(n * sizeof(*copy)) : NULL;
    if (n)
        memcpy(copy, jobs, n * sizeof(*copy));
    for (size_t i = 0; i < n; i++)
        life_lost(l, copy[i], why);
    free(copy);
}

void life_node_up(struct life *l, uint32_t node)
{
    nl_sched_node_set_down(l->d.sched, node, false, NULL);
    l->dirty = true;
}

void life_check_lost(struct life *l)
{
    int64_t limit_us = (int64_t)l->d.node_timeout_ms * 1000;
    uint64_t *lost = NULL;
    size_t n = 0, cap = 0, cursor = 0;
    for (struct run *run; (run = runs_next(l->runs, &cursor)) != NULL;) {
        resend_kill(l, run);
        if (l->d.clock->us - run->last_seen_us <= limit_us)
            continue;
        /* Agents that sync by deltas vouch for the runs they listed in their last full sync. */
        int64_t vouched = run_vouched(l, run);
        if (vouched > run->last_seen_us)
            run->last_seen_us = vouched;
        if (l->d.clock->us - run->last_seen_us <= limit_us)
            continue;
        if (n == cap)
            lost = xreallocarray(lost, cap = xgrow(cap, n + 1), sizeof(*lost));
        lost[n++] = run->job;
    }
    /* Collected first: life_lost removes runs, which must not happen mid-iteration. */
    for (size_t i = 0; i < n; i++)
        life_lost(l, lost[i], "no agent has reported it within node-timeout-ms");
    free(lost);
}

static void run_reloaded(struct life *l, struct run *run)
{
    run->unconfirmed = xmalloc(run->nnodes);
    memset(run->unconfirmed, 1, run->nnodes);
    run->nunconfirmed = run->nnodes;
    l->unconfirmed_runs++;
}

/*
 * Why this is safe: the restarted controller has handed out no launch, and
 * an agent applies every answer before it sends its next sync, so its first
 * sync here lists every process it has and every exit not acknowledged. An
 * exit is acknowledged only once it is durable: the end of the run is
 * committed, or for one rank of a gang that runs on, the answer holds it.
 * So a rank of a reloaded RUNNING run that the sync does not mention was
 * never launched: it is launched now, with the same run number, instead of
 * its run being declared lost node-timeout-ms later (NODE_FAIL, and a
 * second run only if it asked).
 */
void life_confirm_reloaded(struct life *l, int32_t idx)
{
    size_t cursor = 0, n = 0, cap = 0;
    struct life_exit *never = NULL;
    for (struct run *run; l->unconfirmed_runs > 0 && (run = runs_next(l->runs, &cursor)) != NULL;) {
        for (uint32_t r = 0; r < run->nnodes && run->nunconfirmed > 0; r++) {
            if (!run->unconfirmed[r] || nodes_owner_index(l->d.nodes, run->alloc[r].node) != idx)
                continue;
            if (run->kill_requested) {
                /* Being killed (cancel, preempt): a rank never launched has simply ended. */
                if (n == cap)
                    never = xreallocarray(never, cap = xgrow(cap, n + 1), sizeof(*never));
                never[n++] = (struct life_exit){.job = run->job,
                                                .run = run->number,
                                                .node = run->alloc[r].node,
                                                .signal = 15,
                                                .reason = "never launched (controller restart)"};
                continue;
            }
            log_info("job=%llu run=%u rank=%u: its agent does not have it after the restart; "
                     "launching it",
                     (unsigned long long)run->job, run->number, r);
            queue_launch(l, run->job, run->alloc[r].node);
            confirm_rank(l, run, (int)r);
        }
    }
    /* After the walk: an exit may end the run, which must not happen mid-iteration. */
    for (size_t i = 0; i < n; i++)
        life_exit(l, &never[i]);
    free(never);
}

/* ---- actions of a scheduling pass ---- */

static char *build_nodelist(const struct life *l, const struct nl_alloc_node *alloc, size_t n)
{
    size_t cap = n * 40 + 1, len = 0;
    char *list = xmalloc(cap), name[96];
    list[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        nl_facility_node_name(l->d.fac, alloc[i].node, name, sizeof(name));
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

static void start_job(struct life *l, uint64_t id)
{
    const struct nl_alloc_node *alloc = NULL;
    size_t n = nl_sched_job_alloc(l->d.sched, id, &alloc);
    struct nl_job_info info;
    struct nl_err err = {0};
    if (n == 0 || nl_sched_job_info(l->d.sched, id, &info) < 0) {
        log_err("job=%llu started without an allocation", (unsigned long long)id);
        return;
    }
    durable_txn(l->d.dur);
    uint32_t number = 0;
    durable_check(nl_store_job_start(l->d.store, id, info.start_us, alloc, n, &number, &err),
                  "start", &err);
    struct run *run = runs_add(l->runs, id, alloc, n);
    run->number = number;
    run->start_us = info.start_us;
    run->energy_start_wh = info.energy_wh;
    run->it_energy_start_wh = info.it_energy_wh;
    run->last_seen_us = l->d.clock->us;
    run->nodelist = build_nodelist(l, alloc, n);
    /*
     * No mkdir of the output directory here: the agent creates it where the
     * job runs (nl_file_mkdir_parents), and a mkdir per start was 3/4 of a
     * pass that starts 10,000 jobs (bench/RESULTS.md).
     */
    for (size_t r = 0; r < n; r++)
        queue_launch(l, id, alloc[r].node);
    histogram_observe(&l->stats.queue_wait_s, (double)(info.start_us - info.submit_us) / 1e6);
    log_debug(NL_LOGC_SCHED, "job=%llu run=%u started on %zu nodes", (unsigned long long)id, number,
              n);
}

static void preempt_job(struct life *l, uint64_t id)
{
    struct run *run = runs_get(l->runs, id);
    struct nl_job_info info;
    struct nl_err err = {0};
    if (run == NULL || nl_sched_job_info(l->d.sched, id, &info) < 0)
        return;
    durable_txn(l->d.dur);
    durable_check(nl_store_job_set_state(l->d.store, id, NL_JOB_PREEMPTING, 0, &err), "preempt",
                  &err);
    kill_ranks(l, run, job_grace_s(l, id), "preempt");
    log_info("job=%llu preempted", (unsigned long long)id);
}

static void kill_job(struct life *l, uint64_t id)
{
    struct run *run = runs_get(l->runs, id);
    if (run != NULL)
        kill_ranks(l, run, job_grace_s(l, id), "cancel");
}

/*
 * A job's power cap changed: its agents get it with their next sync. Its
 * state history (issue 14) records when a cap starts and when it is lifted,
 * not each change of the cap's value, which may move with every pass.
 */
static void cap_changed(struct life *l, uint64_t id)
{
    struct nl_job_info info;
    struct run *run = runs_get(l->runs, id);
    if (run == NULL || nl_sched_job_info(l->d.sched, id, &info) < 0)
        return;
    log_info("job=%llu power cap %s", (unsigned long long)id,
             "changed: its agents get it with their next sync");
    bool capped = info.power_cap_w > 0;
    if (capped == run->capped)
        return;
    run->capped = capped;
    char detail[64] = "";
    if (capped)
        snprintf(detail, sizeof(detail), "%.0f W per GPU (%.0f W uncapped)", info.power_cap_w,
                 info.power_want_w);
    struct nl_store_event e = {.job = id,
                               .at_us = l->d.clock->us,
                               .kind = capped ? "capped" : "cap_lifted",
                               .detail = detail};
    struct nl_err err = {0};
    durable_txn(l->d.dur);
    durable_check(nl_store_event_add(l->d.store, &e, &err), "job event", &err);
}

void life_pass(struct life *l)
{
    int64_t t0 = nl_clock_monotonic_us();
    const struct nl_action *acts = NULL;
    /* PUE follows the outside temperature of the facility's climate (docs/power.md). */
    nl_sched_set_pue(l->d.sched, nl_facility_pue_at(nl_facility_spec(l->d.fac), l->d.clock->us));
    size_t n = nl_sched_pass(l->d.sched, l->d.clock->us, &acts);
    /* Copied: carrying out an action may change the scheduler, which ends acts' lifetime. */
    struct nl_action *copy = n ? xmalloc(n * sizeof(*copy)) : NULL;
    if (n)
        memcpy(copy, acts, n * sizeof(*copy));
    for (size_t i = 0; i < n; i++) {
        if (copy[i].kind == NL_ACT_START)
            start_job(l, copy[i].job);
        else if (copy[i].kind == NL_ACT_PREEMPT)
            preempt_job(l, copy[i].job);
        else if (copy[i].kind == NL_ACT_KILL)
            kill_job(l, copy[i].job);
        else if (copy[i].kind == NL_ACT_CAP)
            cap_changed(l, copy[i].job);
    }
    free(copy);
    l->last_pass_us = l->d.clock->us;
    histogram_observe(&l->stats.sched_cycle_s, (double)(nl_clock_monotonic_us() - t0) / 1e6);
}

/* ---- cancel ---- */

int life_cancel(struct life *l, uint64_t id, struct nl_err *err)
{
    durable_txn(l->d.dur);
    /* Submitted in this iteration: not yet in the scheduler, so only the store knows it. */
    for (size_t i = 0; i < l->nsubs; i++)
        if (l->subs[i].id == id) {
            l->subs[i] = l->subs[--l->nsubs];
            durable_check(
                    nl_store_job_set_state(l->d.store, id, NL_JOB_CANCELLED, l->d.clock->us, err),
                    "cancel", err);
            note_end(l, id, NL_JOB_CANCELLED);
            return 0;
        }
    struct nl_job_info ended;
    int rc = nl_sched_cancel(l->d.sched, id, l->d.clock->us, &ended, err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        record_end(l, &ended, NULL, false);
        return 0;
    }
    /* The kill goes out with the next pass; remembering it makes it survive a restart. */
    durable_check(nl_store_job_kill_requested(l->d.store, id, err), "cancel", err);
    l->dirty = true;
    return 1;
}

/* ---- control: requeue, update, signal (issue 12) ---- */

int life_requeue(struct life *l, const struct nl_store_job *rec, struct nl_err *err)
{
    durable_txn(l->d.dur);
    if (nl_job_state_terminal(rec->state)) {
        /* A finished job waits again under its id, as if submitted now. */
        struct nl_job_spec spec = rec->spec;
        int tenant = nl_tenants_find(l->d.tenants, rec->tenant);
        if (tenant < 0)
            return nl_err_set(err, -EINVAL, "tenant: %s is no longer configured", rec->tenant);
        spec.tenant = (uint32_t)tenant;
        int rc = nl_sched_submit(l->d.sched, rec->id, &spec, l->d.clock->us, err);
        if (rc < 0)
            return rc;
        durable_check(nl_store_job_resubmit(l->d.store, rec->id, err), "requeue", err);
        l->dirty = true;
        log_info("job=%llu requeued from %s", (unsigned long long)rec->id,
                 nl_job_state_name(rec->state));
        return 0;
    }
    struct run *run = runs_get(l->runs, rec->id);
    if (run == NULL)
        return nl_err_set(err, -EALREADY, "state: job %llu is %s", (unsigned long long)rec->id,
                          nl_job_state_name(rec->state));
    int rc = nl_sched_requeue(l->d.sched, rec->id, l->d.clock->us, err);
    if (rc < 0)
        return rc;
    /* PREEMPTING on disk: a restart mid-way finishes it as a preemption would. */
    durable_check(nl_store_job_set_state(l->d.store, rec->id, NL_JOB_PREEMPTING, 0, err), "requeue",
                  err);
    run->requeue_asked = true;
    if (!run->kill_requested)
        kill_ranks(l, run, job_grace_s(l, rec->id), "requeue");
    log_info("job=%llu run=%u requeue asked", (unsigned long long)rec->id, run->number);
    return 1;
}

/*
 * Queue c for the agents of run's ranks that have not ended, durably
 * (controls.h): it reaches them even if an answer is lost or we restart.
 * Returns the number of those ranks.
 */
static size_t queue_control(struct life *l, const struct run *run, const struct nodes_control *c)
{
    uint32_t *live = xcalloc(run->nnodes ? run->nnodes : 1, sizeof(*live));
    size_t n = 0;
    for (uint32_t r = 0; r < run->nnodes; r++)
        if (!run->exited[r])
            live[n++] = run->alloc[r].node;
    controls_queue(l->d.nodes, l->d.store, l->d.dur, live, n, c);
    free(live);
    return n;
}

int life_update(struct life *l, const struct nl_store_job *rec, struct nl_err *err)
{
    durable_txn(l->d.dur);
    struct nl_job_spec spec = rec->spec;
    int tenant = nl_tenants_find(l->d.tenants, rec->tenant);
    if (tenant < 0)
        return nl_err_set(err, -EINVAL, "tenant: %s is no longer configured", rec->tenant);
    spec.tenant = (uint32_t)tenant;
    bool fresh = false;
    for (size_t i = 0; i < l->nsubs; i++)
        if (l->subs[i].id == rec->id) {
            /* Submitted in this iteration: the scheduler sees it, updated, after COMMIT. */
            int rc = nl_sched_validate(l->d.sched, &spec, err);
            if (rc < 0)
                return rc;
            l->subs[i].spec = spec;
            fresh = true;
        }
    struct nl_job_info before = {0};
    if (!fresh) {
        nl_sched_job_info(l->d.sched, rec->id, &before);
        int rc = nl_sched_update(l->d.sched, rec->id, &spec, err);
        if (rc < 0)
            return rc;
    }
    durable_check(nl_store_job_update(l->d.store, rec, err), "update", err);
    struct run *run = runs_get(l->runs, rec->id);
    if (run != NULL && before.spec.time_limit_us != spec.time_limit_us) {
        /* A running job's lower limit: its agents time it from the run's own start. */
        struct nodes_control c = {.job = rec->id,
                                  .run = run->number,
                                  .time_limit_s = (double)spec.time_limit_us / 1e6};
        queue_control(l, run, &c);
    }
    l->dirty = true;
    return 0;
}

int life_signal(struct life *l, uint64_t id, int sig, struct nl_err *err)
{
    struct run *run = runs_get(l->runs, id);
    if (run == NULL)
        return nl_err_set(err, -ENOENT, "job: %llu is not running", (unsigned long long)id);
    struct nodes_control c = {.job = id, .run = run->number, .signal = sig};
    int ranks = (int)queue_control(l, run, &c);
    log_info("job=%llu run=%u signal %d to %d ranks", (unsigned long long)id, run->number, sig,
             ranks);
    return ranks;
}

bool life_run_current(const struct life *l, uint64_t job, uint32_t number)
{
    const struct run *run = runs_get(l->runs, job);
    return run != NULL && run->number == number;
}

bool life_runs_on(const struct life *l, uint64_t job, uint32_t number, uint32_t node)
{
    const struct run *run = runs_get(l->runs, job);
    return run != NULL && run->number == number && run_rank(run, node) >= 0;
}

/* ---- reload after a restart ---- */

/* SPDX-License-Identifier: MIT */
/*
 * A restarted controller takes its live jobs back from the store.
 *
 * PENDING jobs are resubmitted with their ids and submit times (so their
 * age still counts). RUNNING and PREEMPTING jobs are adopted on exactly
 * the allocation the store recorded, and get a run record whose "last
 * seen" is now: if no agent lists them within node-timeout-ms they are
 * declared lost (NODE_FAIL, requeued when they asked) by life_check_lost.
 * A job that cannot come back (its tenant is gone, its allocation no
 * longer fits the facility) is ended or requeued here, in the start-up
 * transaction, and logged; nothing is silently dropped.
 *
 * The scheduler's clock must never go backwards, so jobs are fed in id
 * order with the running maximum of their times as "now"; the first of
 * them starts the scheduler's clock (sched.h).
 */

struct reload {
    struct life *l;
    int64_t t;
    size_t pending, running, failed;
};

static void end_failed(struct reload *r, const struct nl_store_job *rec, enum nl_job_state state,
                       const char *why)
{
    struct nl_err err = {0};
    log_warn("job=%llu tenant=%s cannot be reloaded (%s): now %s", (unsigned long long)rec->id,
             rec->tenant, why, nl_job_state_name(state));
    struct nl_store_end e = {.state = state, .end_us = r->l->d.clock->us};
    durable_txn(r->l->d.dur);
    durable_check(nl_store_job_end(r->l->d.store, rec->id, &e, &err), "reload", &err);
    note_end(r->l, rec->id, state);
    r->failed++;
}

static void reload_pending(struct reload *r, const struct nl_store_job *rec,
                           const struct nl_job_spec *spec)
{
    struct nl_err err = {0};
    if (rec->submit_us > r->t)
        r->t = rec->submit_us;
    if (nl_sched_submit(r->l->d.sched, rec->id, spec, r->t, &err) < 0)
        end_failed(r, rec, NL_JOB_FAILED, err.msg);
    else
        r->pending++;
}

/*
 * A job that was being preempted: PREEMPTING again in the scheduler, which
 * plans with the end of its grace (counted from now: the store does not
 * say when the preemption began, and a later end is the safe guess), and
 * its kill is sent again, since the old controller's may have been lost.
 */
static void reload_preempting(struct reload *r, const struct nl_store_job *rec, struct run *run)
{
    struct life *l = r->l;
    struct nl_err err = {0};
    int64_t now = l->d.clock->us > r->t ? l->d.clock->us : r->t;
    if (nl_sched_adopt_preempting(l->d.sched, rec->id, now + rec->spec.grace_us, &err) < 0) {
        log_warn("job=%llu stays RUNNING after reload: %s", (unsigned long long)rec->id, err.msg);
        return;
    }
    kill_reloaded(l, run, "preempt");
}

static void reload_running(struct reload *r, const struct nl_store_job *rec,
                           const struct nl_job_spec *spec)
{
    struct life *l = r->l;
    struct nl_err err = {0};
    if (rec->start_us > r->t)
        r->t = rec->start_us;
    if (rec->nalloc == 0 || nl_sched_adopt(l->d.sched, rec->id, spec, rec->submit_us, rec->start_us,
                                           rec->alloc, rec->nalloc, r->t, &err) < 0) {
        const char *why = rec->nalloc == 0 ? "no stored allocation" : err.msg;
        if (!spec->requeue) {
            end_failed(r, rec, NL_JOB_NODE_FAIL, why);
            return;
        }
        log_warn("job=%llu cannot be adopted (%s): requeued", (unsigned long long)rec->id, why);
        durable_txn(l->d.dur);
        durable_check(nl_store_job_requeue(l->d.store, rec->id, false, 0, 0, &err), "reload", &err);
        reload_pending(r, rec, spec);
        return;
    }
    struct run *run = runs_add(l->runs, rec->id, rec->alloc, rec->nalloc);
    run->number = rec->runs;
    run->start_us = rec->start_us;
    run->last_seen_us = l->d.clock->us;
    run_reloaded(l, run);
    r->running++;
    if (rec->state == NL_JOB_PREEMPTING)
        reload_preempting(r, rec, run);
    /* A cancel acknowledged before the crash still happens: the next pass issues the kill. */
    if (rec->kill_requested) {
        if (nl_sched_cancel(l->d.sched, rec->id, r->t, NULL, &err) < 0)
            log_warn("job=%llu cancel after reload: %s", (unsigned long long)rec->id, err.msg);
        kill_reloaded(l, run, "cancel");
    }
}

static int reload_one(const struct nl_store_job *rec, void *arg)
{
    struct reload *r = arg;
    int tenant = nl_tenants_find(r->l->d.tenants, rec->tenant);
    if (tenant < 0) {
        end_failed(r, rec, NL_JOB_FAILED, "its tenant is no longer configured");
        return 0;
    }
    struct nl_job_spec spec = rec->spec;
    spec.tenant = (uint32_t)tenant;
    if (rec->state == NL_JOB_PENDING)
        reload_pending(r, rec, &spec);
    else
        reload_running(r, rec, &spec);
    return 0;
}

int life_reload(struct life *l, struct nl_err *err)
{
    struct reload r = {.l = l};
    int rc = nl_store_jobs_live(l->d.store, reload_one, &r, err);
    if (rc < 0)
        return rc;
    now_raise(l->d.clock, r.t);
    /* Energy is accounted per run from the scheduler's figure at its start. */
    size_t cursor = 0;
    for (struct run *run; (run = runs_next(l->runs, &cursor)) != NULL;) {
        struct nl_job_info info;
        if (nl_sched_job_info(l->d.sched, run->job, &info) == 0) {
            run->energy_start_wh = info.energy_wh;
            run->it_energy_start_wh = info.it_energy_wh;
        }
    }
    log_info("reloaded %zu pending and %zu running jobs (%zu could not come back), last id %llu",
             r.pending, r.running, r.failed, (unsigned long long)nl_store_last_id(l->d.store));
    l->dirty = true;
    return 0;
}

/* ---- launches ---- */

/*
 * The job's record, read once per start, not once per rank (a 4,096-node
 * gang was 4,096 reads of one row). Kept until every rank's launch is
 * written out, or the run ends. NULL if the record cannot be read.
 */
static const struct nl_store_job *launch_record(struct life *l, struct run *run)
{
    if (run->base != NULL)
        return run->base;
    struct nl_store_job *rec = xmalloc(sizeof(*rec));
    nl_store_job_init(rec);
    struct nl_err err = {0};
    if (nl_store_job_get(l->d.store, run->job, rec, &err) < 0) {
        log_err("job=%llu launch: %s", (unsigned long long)run->job, err.msg);
        nl_store_job_release(rec);
        free(rec);
        return NULL;
    }
    run->base = rec;
    run->launches_left = run->nnodes;
    return rec;
}

int life_launch(struct life *l, uint64_t job, uint32_t node, struct life_launch *out)
{
    struct run *run = runs_get(l->runs, job);
    int rank = run ? run_rank(run, node) : -1;
    if (rank < 0 || run->kill_requested)
        return -ENOENT;
    const struct nl_store_job *rec = launch_record(l, run);
    if (rec == NULL)
        return -ENOENT;
    if (run->nodelist == NULL) /* a run reloaded after a restart */
        run->nodelist = build_nodelist(l, run->alloc, run->nnodes);
    /* Rank 0's agent's address: torch's rendezvous; a one-node job's world is this node. */
    const char *addr = run->nnodes > 1 ? nodes_node_addr(l->d.nodes, run->alloc[0].node) : NULL;
    *out = (struct life_launch){
            .job = job,
            .run = run->number,
            .node = node,
            .rank = (uint32_t)rank,
            .nnodes = run->nnodes,
            .gpu_mask = run->alloc[rank].mask,
            .nodelist = run->nodelist,
            .master_addr = addr ? addr : "127.0.0.1",
            .master_port = life_master_port(l->d.master_port_salt, job, run->alloc[0].mask),
            .rec = rec,
    };
    struct nl_job_info info;
    if (nl_sched_job_info(l->d.sched, job, &info) == 0)
        out->power_w = info.power_want_w;
    run->last_seen_us = l->d.clock->us;
    return 0;
}

unsigned life_master_port(uint32_t salt, uint64_t job, uint8_t first_mask)
{
    unsigned gpu = first_mask != 0 ? (unsigned)__builtin_ctz(first_mask) : 0;
    return (unsigned)(MASTER_PORT_BASE + MASTER_PORT_BAND * gpu +
                      (job % MASTER_PORT_BAND + salt % MASTER_PORT_BAND) % MASTER_PORT_BAND);
}

uint32_t life_master_port_salt(const char *state_dir)
{
    /* The real path: the same directory named another way is the same controller. */
    char *real = realpath(state_dir, NULL);
    const char *p = real ? real : state_dir;
    uint32_t salt = (uint32_t)(nl_hash64(p, strlen(p)) % MASTER_PORT_SPAN);
    free(real);
    return salt;
}

void life_launch_done(struct life *l, const struct life_launch *launch)
{
    struct run *run = runs_get(l->runs, launch->job);
    if (run == NULL || run->base == NULL || run->launches_left == 0 || --run->launches_left > 0)
        return;
    nl_store_job_release(run->base);
    free(run->base);
    run->base = NULL;
}

/* ---- power (docs/power.md) ---- */

void life_power_report(struct life *l, uint32_t node, const double *w, const double *temp_c,
                       uint32_t n)
{
    uint32_t nn = nl_facility_nodes(l->d.fac);
    if (node >= nn)
        return;
    if (l->node_w_n < nn) {
        /* First reading, or racks joined since (expansion online): the new nodes never reported. */
        l->node_w = xreallocarray(l->node_w, nn, sizeof(double));
        l->node_w_us = xreallocarray(l->node_w_us, nn, sizeof(int64_t));
        l->node_temp_c = xreallocarray(l->node_temp_c, nn, sizeof(float));
        memset(l->node_w + l->node_w_n, 0, (nn - l->node_w_n) * sizeof(double));
        memset(l->node_w_us + l->node_w_n, 0, (nn - l->node_w_n) * sizeof(int64_t));
        memset(l->node_temp_c + l->node_w_n, 0, (nn - l->node_w_n) * sizeof(float));
        l->node_w_n = nn;
    }
    uint32_t G = nl_facility_node_gpus(l->d.fac, node);
    n = n < G ? n : G;
    double total = 0;
    /* Per job on the node: the mean over its GPUs here (a gang's nodes draw alike). */
    uint64_t job[8] = {0};
    double sum[8] = {0};
    uint32_t cnt[8] = {0}, nj = 0;
    for (uint32_t g = 0; g < n; g++) {
        total += w[g];
        uint64_t o = nl_sched_gpu_owner(l->d.sched, node, g);
        /* Only once an agent has listed the run: before, the GPUs may not run it yet. */
        const struct run *run = o != 0 ? runs_get(l->runs, o) : NULL;
        if (run == NULL || run->last_listed_us == 0)
            continue;
        uint32_t k = 0;
        while (k < nj && job[k] != o)
            k++;
        if (k == nj)
            job[nj++] = o;
        sum[k] += w[g];
        cnt[k]++;
    }
    for (uint32_t k = 0; k < nj; k++)
        (void)nl_sched_job_measured(l->d.sched, job[k], sum[k] / cnt[k], l->d.clock->us);
    l->node_w[node] = total;
    l->node_w_us[node] = l->d.clock->us;
    double hot = 0;
    for (uint32_t g = 0; temp_c != NULL && g < n; g++)
        hot = temp_c[g] > hot ? temp_c[g] : hot;
    l->node_temp_c[node] = (float)hot;
}

bool life_node_reading(const struct life *l, uint32_t node, double *w, double *temp_c)
{
    int64_t fresh = l->d.clock->us - (int64_t)l->d.node_timeout_ms * 1000;
    if (node >= l->node_w_n || l->node_w_us[node] == 0 || l->node_w_us[node] < fresh)
        return false;
    *w = l->node_w[node];
    *temp_c = l->node_temp_c[node];
    return true;
}

double life_measured_it_w(const struct life *l, uint32_t *nodes_reported)
{
    const struct nl_facility_spec *spec = nl_facility_spec(l->d.fac);
    uint32_t nn = nl_facility_nodes(l->d.fac), seen = 0;
    double w = 0;
    /* A reading older than the node timeout is stale: that node counts as modelled idle. */
    int64_t fresh = l->d.clock->us - (int64_t)l->d.node_timeout_ms * 1000;
    for (uint32_t n = 0; n < nn; n++) {
        if (n < l->node_w_n && l->node_w_us[n] != 0 && l->node_w_us[n] >= fresh) {
            w += l->node_w[n];
            seen++;
        } else {
            w += nl_facility_node_gpus(l->d.fac, n) * spec->gpu_idle_w;
        }
    }
    if (nodes_reported != NULL)
        *nodes_reported = seen;
    return w;
}

size_t life_node_caps(const struct life *l, uint32_t node, struct life_cap *out)
{
    size_t n = 0;
    uint32_t G = nl_facility_node_gpus(l->d.fac, node);
    for (uint32_t g = 0; g < G; g++) {
        uint64_t o = nl_sched_gpu_owner(l->d.sched, node, g);
        if (o == 0)
            continue;
        size_t k = 0;
        while (k < n && out[k].job != o)
            k++;
        if (k < n) {
            out[k].mask |= (uint8_t)(1u << g);
            continue;
        }
        struct nl_job_info info;
        if (nl_sched_job_info(l->d.sched, o, &info) < 0 || info.power_cap_w <= 0 ||
            info.state != NL_JOB_RUNNING)
            continue;
        out[n++] = (struct life_cap){.job = o, .mask = (uint8_t)(1u << g), .cap_w = info.power_cap_w};
    }
    return n;
}

bool life_any_capped(const struct life *l)
{
    struct nl_sched_stats st;
    nl_sched_stats(l->d.sched, &st);
    return st.jobs_capped > 0;
}
