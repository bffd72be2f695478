/* SPDX-License-Identifier: MIT */
/*
 * jobs.c - a job's life in the controller: between the scheduler (what
 * should happen), the store (what has happened, durably) and the agents
 * (who makes it happen).
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
 * ctld.h): memory and disk must not disagree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/proto_limits.h"
#include "common/xalloc.h"
#include "ctld.h"
#include "ctld/config.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "store/store.h"

/* Rendezvous ports: MASTER_PORT = base + job id mod span (job 42 -> 29542). */
#define MASTER_PORT_BASE 29500
#define MASTER_PORT_SPAN 10000

static void store_or_die(int rc, const char *what, const struct nl_err *err)
{
    if (rc < 0)
        ctld_fatal(what, err);
}

/* ---- submission ---- */

int jobs_submit(struct ctld *c, struct nl_store_job *rec, struct nl_err *err)
{
    ctld_txn(c);
    /*
     * The paths name the id the insert will take, so one INSERT writes the
     * whole record. By default they are relative: each agent puts them
     * under its own --output-root, on the node, so that a chatty job can
     * never fill the controller's filesystem; --output-root DIR makes them
     * absolute, for a filesystem every node shares.
     */
    uint64_t id = nl_store_next_id(c->store);
    const char *root = c->cfg->output_root ? c->cfg->output_root : "";
    char out[NL_PROTO_PATH_MAX], errp[NL_PROTO_PATH_MAX];
    snprintf(out, sizeof(out), "%s%s%llu/stdout", root, root[0] ? "/" : "",
             (unsigned long long)id);
    snprintf(errp, sizeof(errp), "%s%s%llu/stderr", root, root[0] ? "/" : "",
             (unsigned long long)id);
    free(rec->stdout_path);
    free(rec->stderr_path);
    rec->stdout_path = xstrdup(out);
    rec->stderr_path = xstrdup(errp);
    int rc = nl_store_job_insert(c->store, rec, &rec->id, err);
    if (rc < 0)
        return rc;
    if (c->nsubs == c->subs_cap) {
        c->subs_cap = xgrow(c->subs_cap, c->nsubs + 1);
        c->subs = xreallocarray(c->subs, c->subs_cap, sizeof(*c->subs));
    }
    c->subs[c->nsubs++] =
            (struct ctld_submit){.id = rec->id, .spec = rec->spec, .submit_us = rec->submit_us};
    c->stats.submitted++;
    return 0;
}

/* A job the scheduler cannot take (facility or tenants changed under it) ends FAILED. */
static void fail_unschedulable(struct ctld *c, uint64_t id, const struct nl_err *why)
{
    log_warn("job=%llu cannot be scheduled: %s", (unsigned long long)id, why->msg);
    struct nl_err err = {0};
    struct nl_store_end e = {.state = NL_JOB_FAILED, .end_us = c->now_us};
    ctld_txn(c);
    store_or_die(nl_store_job_end(c->store, id, &e, &err), "end job", &err);
}

void jobs_after_commit(struct ctld *c)
{
    for (size_t i = 0; i < c->nsubs; i++) {
        struct nl_err err = {0};
        if (nl_sched_submit(c->sched, c->subs[i].id, &c->subs[i].spec, c->now_us, &err) < 0)
            fail_unschedulable(c, c->subs[i].id, &err);
    }
    if (c->nsubs > 0)
        c->sched_dirty = true;
    c->nsubs = 0;
}

/* ---- the end of a run ---- */

static void count_end(struct ctld *c, const struct nl_job_info *info)
{
    const struct nl_tenant_spec *t = nl_tenants_get(c->tenants, info->spec.tenant);
    uint32_t tier = t ? t->tier : 0;
    if (info->state < NL_JOB_STATE_COUNT && tier < NL_TIERS_MAX)
        c->stats.ended[info->state][tier]++;
}

/* Write a run's end (requeue or terminal) for info, the scheduler's record after the change. */
static void record_end(struct ctld *c, const struct nl_job_info *info, const struct run *run,
                       bool preempted)
{
    struct nl_err err = {0};
    int64_t run_us = run && run->start_us ? c->now_us - run->start_us : 0;
    double energy_wh = run ? info->energy_wh - run->energy_start_wh : 0;
    if (energy_wh < 0)
        energy_wh = 0;
    ctld_txn(c);
    if (info->state == NL_JOB_PENDING) {
        store_or_die(nl_store_job_requeue(c->store, info->id, preempted, run_us, energy_wh, &err),
                     "requeue", &err);
        log_info("job=%llu requeued (%s)", (unsigned long long)info->id,
                 preempted ? "preempted" : "node failure");
    } else {
        struct nl_store_end e = {
                .state = info->state,
                .end_us = info->end_us ? info->end_us : c->now_us,
                .has_exit = run && run->has_exit,
                .exit_code = run ? run->exit_code : 0,
                .exit_signal = run ? run->exit_signal : 0,
                .run_us = run_us,
                .energy_wh = energy_wh,
                .cpu_s = run ? run->cpu_s : 0,
                .max_rss_kb = run ? run->max_rss_kb : 0,
                .reason = run ? run->exit_reason : NULL,
        };
        store_or_die(nl_store_job_end(c->store, info->id, &e, &err), "end job", &err);
        count_end(c, info);
        log_info("job=%llu ended %s", (unsigned long long)info->id, nl_job_state_name(info->state));
    }
    c->sched_dirty = true;
}

/* An agent has mentioned rank of a reloaded run: it needs no relaunch. */
static void confirm_rank(struct ctld *c, struct run *run, int rank)
{
    if (run->nunconfirmed == 0 || !run->unconfirmed[rank])
        return;
    run->unconfirmed[rank] = 0;
    if (--run->nunconfirmed == 0) {
        free(run->unconfirmed);
        run->unconfirmed = NULL;
        c->unconfirmed_runs--;
    }
}

static void forget_run(struct ctld *c, struct run *run)
{
    if (run->nunconfirmed > 0)
        c->unconfirmed_runs--;
    runs_remove(c->runs, run->job);
}

/* Every rank has reported (or the job is lost): tell the scheduler and the store. */
static void finish_run(struct ctld *c, struct run *run, enum nl_exit how)
{
    uint64_t id = run->job;
    struct nl_job_info before, info;
    struct nl_err err = {0};
    if (nl_sched_job_info(c->sched, id, &before) < 0) {
        forget_run(c, run);
        return;
    }
    /* A job reloaded while being preempted is PREEMPTING again (reload.c). */
    bool preempted = before.state == NL_JOB_PREEMPTING;
    if (nl_sched_job_exit(c->sched, id, how, c->now_us, &info, &err) < 0) {
        log_err("job=%llu exit refused by the scheduler: %s", (unsigned long long)id, err.msg);
        forget_run(c, run);
        return;
    }
    record_end(c, &info, run, preempted);
    forget_run(c, run);
}

static enum nl_exit classify(const struct jobs_exit *x)
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
static uint32_t job_grace_s(const struct ctld *c, uint64_t id)
{
    struct nl_job_info info;
    if (nl_sched_job_info(c->sched, id, &info) < 0 || info.spec.grace_us <= 0)
        return 0;
    return (uint32_t)((info.spec.grace_us + 999999) / 1000000);
}

/* Ask every agent still running a rank of run to kill it. */
static void kill_ranks(struct ctld *c, struct run *run, uint32_t grace_s, const char *reason)
{
    run->kill_requested = true;
    run->kill_sent_us = c->now_us;
    run->kill_grace_s = grace_s;
    run->kill_reason = reason;
    for (uint32_t r = 0; r < run->nnodes; r++)
        if (!run->exited[r])
            agents_queue_kill(c, run->job, run->number, run->alloc[r].node, grace_s, reason);
}

void jobs_exit(struct ctld *c, const struct jobs_exit *x)
{
    struct run *run = runs_get(c->runs, x->job);
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
    confirm_rank(c, run, rank);
    run->exited[rank] = 1;
    run->nexited++;
    run->cpu_s += x->cpu_s;
    if (x->max_rss_kb > run->max_rss_kb)
        run->max_rss_kb = x->max_rss_kb;
    run->last_seen_us = c->now_us;
    enum nl_exit how = classify(x);
    /* The first bad exit decides how the whole gang ended. */
    if (run->how == NL_EXIT_NONE || (run->how == NL_EXIT_OK && how != NL_EXIT_OK)) {
        run->how = how;
        run->has_exit = true;
        run->exit_code = x->exit_code;
        run->exit_signal = x->signal;
        free(run->exit_reason);
        /* An agent's text: control characters escaped before anyone logs or shows it. */
        run->exit_reason = x->reason ? text_escape_dup(x->reason) : NULL;
    }
    if (run->nexited == run->nnodes)
        finish_run(c, run, run->how);
    else if (how != NL_EXIT_OK && !run->kill_requested)
        kill_ranks(c, run, job_grace_s(c, run->job), "peer_failed");
}

bool jobs_exit_held(const struct ctld *c, const struct jobs_exit *x)
{
    const struct run *run = runs_get(c->runs, x->job);
    int rank = run && run->number == x->run ? run_rank(run, x->node) : -1;
    return rank >= 0 && run->exited[rank];
}

void jobs_lost(struct ctld *c, uint64_t job, const char *why)
{
    struct run *run = runs_get(c->runs, job);
    if (run == NULL)
        return;
    log_warn("job=%llu run=%u lost: %s", (unsigned long long)job, run->number, why);
    if (run->exit_reason == NULL)
        run->exit_reason = xstrdup(why);
    /* Ranks on healthy nodes must not run on alone; a lost node's agent is told if it returns. */
    kill_ranks(c, run, 0, "node_fail");
    finish_run(c, run, NL_EXIT_NODE_FAIL);
}

/*
 * A kill answer may have been lost (a crash of either side, a dropped
 * connection): repeat it once its grace and a node timeout have passed
 * without the run ending. Driven by differences of now_us (monotonic), not
 * by the agent listing the run, so it also works for agents that send
 * deltas (which do not list old runs).
 */
static void resend_kill(struct ctld *c, struct run *run)
{
    int64_t resend_us =
            ((int64_t)run->kill_grace_s * 1000 + (int64_t)c->cfg->node_timeout_ms) * 1000;
    if (!run->kill_requested ||
        (run->kill_sent_us != 0 && c->now_us - run->kill_sent_us <= resend_us))
        return;
    /* Sent only to agents that sync; kill_sent_us = 0 (a reloaded kill) waits for one. */
    for (uint32_t r = 0; r < run->nnodes; r++)
        if (!run->exited[r] && agents_node_state(c->agents, run->alloc[r].node) == NODE_UP) {
            agents_queue_kill(c, run->job, run->number, run->alloc[r].node, run->kill_grace_s,
                              run->kill_reason);
            run->kill_sent_us = c->now_us;
        }
}

bool jobs_seen(struct ctld *c, uint64_t job, uint32_t number, uint32_t node)
{
    struct run *run = runs_get(c->runs, job);
    int rank = run && run->number == number ? run_rank(run, node) : -1;
    if (rank < 0)
        return false;
    run->last_seen_us = c->now_us;
    run->last_listed_us = c->now_us;
    confirm_rank(c, run, rank);
    /* A reloaded kill goes out in the answer to the first sync that lists the run. */
    if (run->kill_requested && run->kill_sent_us == 0)
        resend_kill(c, run);
    return true;
}

void jobs_kill_reloaded(struct ctld *c, struct run *run, const char *reason)
{
    run->kill_requested = true;
    run->kill_sent_us = 0;
    run->kill_grace_s = job_grace_s(c, run->job);
    run->kill_reason = reason;
}

void jobs_check_lost(struct ctld *c)
{
    int64_t limit_us = (int64_t)c->cfg->node_timeout_ms * 1000;
    uint64_t *lost = NULL;
    size_t n = 0, cap = 0, cursor = 0;
    for (struct run *run; (run = runs_next(c->runs, &cursor)) != NULL;) {
        resend_kill(c, run);
        if (c->now_us - run->last_seen_us <= limit_us)
            continue;
        /* Agents that sync by deltas vouch for the runs they listed in their last full sync. */
        int64_t vouched = agents_run_vouched(c, run);
        if (vouched > run->last_seen_us)
            run->last_seen_us = vouched;
        if (c->now_us - run->last_seen_us <= limit_us)
            continue;
        if (n == cap)
            lost = xreallocarray(lost, cap = xgrow(cap, n + 1), sizeof(*lost));
        lost[n++] = run->job;
    }
    /* Collected first: jobs_lost removes runs, which must not happen mid-iteration. */
    for (size_t i = 0; i < n; i++)
        jobs_lost(c, lost[i], "no agent has reported it within node-timeout-ms");
    free(lost);
}

void jobs_reloaded(struct ctld *c, struct run *run)
{
    run->unconfirmed = xmalloc(run->nnodes);
    memset(run->unconfirmed, 1, run->nnodes);
    run->nunconfirmed = run->nnodes;
    c->unconfirmed_runs++;
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
void jobs_confirm_reloaded(struct ctld *c, int32_t idx)
{
    size_t cursor = 0, n = 0, cap = 0;
    struct jobs_exit *never = NULL;
    for (struct run *run; c->unconfirmed_runs > 0 && (run = runs_next(c->runs, &cursor)) != NULL;) {
        for (uint32_t r = 0; r < run->nnodes && run->nunconfirmed > 0; r++) {
            if (!run->unconfirmed[r] || agents_node_index(c->agents, run->alloc[r].node) != idx)
                continue;
            if (run->kill_requested) {
                /* Being killed (cancel, preempt): a rank never launched has simply ended. */
                if (n == cap)
                    never = xreallocarray(never, cap = xgrow(cap, n + 1), sizeof(*never));
                never[n++] = (struct jobs_exit){.job = run->job,
                                                .run = run->number,
                                                .node = run->alloc[r].node,
                                                .signal = 15,
                                                .reason = "never launched (controller restart)"};
                continue;
            }
            log_info("job=%llu run=%u rank=%u: its agent does not have it after the restart; "
                     "launching it",
                     (unsigned long long)run->job, run->number, r);
            agents_queue_launch(c, run->job, run->alloc[r].node);
            confirm_rank(c, run, (int)r);
        }
    }
    /* After the walk: an exit may end the run, which must not happen mid-iteration. */
    for (size_t i = 0; i < n; i++)
        jobs_exit(c, &never[i]);
    free(never);
}

/* ---- actions of a scheduling pass ---- */

static char *build_nodelist(const struct ctld *c, const struct nl_alloc_node *alloc, size_t n)
{
    size_t cap = n * 40 + 1, len = 0;
    char *list = xmalloc(cap), name[96];
    list[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        nl_facility_node_name(c->fac, alloc[i].node, name, sizeof(name));
        size_t l = strlen(name);
        if (len + l + 2 > cap)
            list = xrealloc(list, cap = xgrow(cap, len + l + 2));
        if (i > 0)
            list[len++] = ',';
        memcpy(list + len, name, l + 1);
        len += l;
    }
    return list;
}

static void start_job(struct ctld *c, uint64_t id)
{
    const struct nl_alloc_node *alloc = NULL;
    size_t n = nl_sched_job_alloc(c->sched, id, &alloc);
    struct nl_job_info info;
    struct nl_err err = {0};
    if (n == 0 || nl_sched_job_info(c->sched, id, &info) < 0) {
        log_err("job=%llu started without an allocation", (unsigned long long)id);
        return;
    }
    ctld_txn(c);
    uint32_t number = 0;
    store_or_die(nl_store_job_start(c->store, id, info.start_us, alloc, n, &number, &err), "start",
                 &err);
    struct run *run = runs_add(c->runs, id, alloc, n);
    run->number = number;
    run->start_us = info.start_us;
    run->energy_start_wh = info.energy_wh;
    run->last_seen_us = c->now_us;
    run->nodelist = build_nodelist(c, alloc, n);
    /*
     * No mkdir of the output directory here: the agent creates it where the
     * job runs (nl_file_mkdir_parents), and a mkdir per start was 3/4 of a
     * pass that starts 10,000 jobs (bench/RESULTS.md).
     */
    for (size_t r = 0; r < n; r++)
        agents_queue_launch(c, id, alloc[r].node);
    histogram_observe(&c->stats.queue_wait_s, (double)(info.start_us - info.submit_us) / 1e6);
    log_debug(NL_LOGC_SCHED, "job=%llu run=%u started on %zu nodes", (unsigned long long)id, number,
              n);
}

static void preempt_job(struct ctld *c, uint64_t id)
{
    struct run *run = runs_get(c->runs, id);
    struct nl_job_info info;
    struct nl_err err = {0};
    if (run == NULL || nl_sched_job_info(c->sched, id, &info) < 0)
        return;
    ctld_txn(c);
    store_or_die(nl_store_job_set_state(c->store, id, NL_JOB_PREEMPTING, 0, &err), "preempt", &err);
    kill_ranks(c, run, job_grace_s(c, id), "preempt");
    log_info("job=%llu preempted", (unsigned long long)id);
}

static void kill_job(struct ctld *c, uint64_t id)
{
    struct run *run = runs_get(c->runs, id);
    if (run != NULL)
        kill_ranks(c, run, job_grace_s(c, id), "cancel");
}

void jobs_pass(struct ctld *c)
{
    int64_t t0 = nl_clock_monotonic_us();
    const struct nl_action *acts = NULL;
    size_t n = nl_sched_pass(c->sched, c->now_us, &acts);
    /* Copied: carrying out an action may change the scheduler, which ends acts' lifetime. */
    struct nl_action *copy = n ? xmalloc(n * sizeof(*copy)) : NULL;
    if (n)
        memcpy(copy, acts, n * sizeof(*copy));
    for (size_t i = 0; i < n; i++) {
        if (copy[i].kind == NL_ACT_START)
            start_job(c, copy[i].job);
        else if (copy[i].kind == NL_ACT_PREEMPT)
            preempt_job(c, copy[i].job);
        else if (copy[i].kind == NL_ACT_KILL)
            kill_job(c, copy[i].job);
    }
    free(copy);
    c->last_pass_us = c->now_us;
    histogram_observe(&c->stats.sched_cycle_s, (double)(nl_clock_monotonic_us() - t0) / 1e6);
}

/* ---- cancel ---- */

int jobs_cancel(struct ctld *c, uint64_t id, struct nl_err *err)
{
    ctld_txn(c);
    /* Submitted in this iteration: not yet in the scheduler, so only the store knows it. */
    for (size_t i = 0; i < c->nsubs; i++)
        if (c->subs[i].id == id) {
            c->subs[i] = c->subs[--c->nsubs];
            store_or_die(nl_store_job_set_state(c->store, id, NL_JOB_CANCELLED, c->now_us, err),
                         "cancel", err);
            return 0;
        }
    struct nl_job_info ended;
    int rc = nl_sched_cancel(c->sched, id, c->now_us, &ended, err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        record_end(c, &ended, NULL, false);
        return 0;
    }
    /* The kill goes out with the next pass; remembering it makes it survive a restart. */
    store_or_die(nl_store_job_kill_requested(c->store, id, err), "cancel", err);
    c->sched_dirty = true;
    return 1;
}

/* ---- launches ---- */

static json_t *gpu_list(uint8_t mask, char *cvd, size_t size)
{
    json_t *a = json_array();
    size_t n = 0;
    cvd[0] = '\0';
    for (int g = 0; g < 8; g++)
        if (mask & (1u << g)) {
            json_array_append_new(a, json_integer(g));
            n += (size_t)snprintf(cvd + n, size - n, "%s%d", n ? "," : "", g);
        }
    return a;
}

/* The environment of rank: the request's (user_env, borrowed) and ours over it. */
static json_t *launch_env(struct ctld *c, const json_t *user_env, const struct run *run, int rank,
                          const char *cvd)
{
    json_t *env = json_is_object(user_env) ? json_deep_copy(user_env) : json_object();
    char buf[32];
    json_object_set_new(env, "CUDA_VISIBLE_DEVICES", json_string(cvd));
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)run->job);
    json_object_set_new(env, "NORDLYS_JOB_ID", json_string(buf));
    snprintf(buf, sizeof(buf), "%u", run->number);
    json_object_set_new(env, "NORDLYS_RUN", json_string(buf));
    json_object_set_new(env, "NORDLYS_NODELIST", json_string(run->nodelist ? run->nodelist : ""));
    /*
     * torch.distributed's env:// rendezvous, for every job (a one-node job
     * too): one task per node today, so a task's global rank is its node's
     * rank, its local rank 0 of 1. The NORDLYS_* names say the same for
     * programs that must not confuse them with a launcher's own variables.
     */
    const char *addr = run->nnodes > 1 ? agents_node_addr(c->agents, run->alloc[0].node) : NULL;
    json_object_set_new(env, "MASTER_ADDR", json_string(addr ? addr : "127.0.0.1"));
    snprintf(buf, sizeof(buf), "%llu",
             (unsigned long long)(MASTER_PORT_BASE + run->job % MASTER_PORT_SPAN));
    json_object_set_new(env, "MASTER_PORT", json_string(buf));
    char world[16], rk[16];
    snprintf(world, sizeof(world), "%u", run->nnodes);
    snprintf(rk, sizeof(rk), "%d", rank);
    static const char *const rank_vars[] = {"RANK", "NODE_RANK", "GROUP_RANK", "NORDLYS_RANK",
                                            "NORDLYS_NODE_RANK"};
    for (size_t i = 0; i < sizeof(rank_vars) / sizeof(rank_vars[0]); i++)
        json_object_set_new(env, rank_vars[i], json_string(rk));
    json_object_set_new(env, "WORLD_SIZE", json_string(world));
    json_object_set_new(env, "NORDLYS_WORLD_SIZE", json_string(world));
    json_object_set_new(env, "LOCAL_RANK", json_string("0"));
    json_object_set_new(env, "NORDLYS_LOCAL_RANK", json_string("0"));
    json_object_set_new(env, "LOCAL_WORLD_SIZE", json_string("1"));
    return env;
}

/*
 * The part of a launch every rank of a run shares, from the job's stored
 * record: read once per start, not once per rank (a 4,096-node gang was
 * 4,096 reads of one row). Kept until every rank's launch is built, or the
 * run ends. NULL if the record cannot be read.
 */
static json_t *launch_base(struct ctld *c, struct run *run)
{
    if (run->launch_base != NULL)
        return run->launch_base;
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    if (nl_store_job_get(c->store, run->job, &rec, &err) < 0) {
        log_err("job=%llu launch: %s", (unsigned long long)run->job, err.msg);
        nl_store_job_release(&rec);
        return NULL;
    }
    json_t *cmd = json_loads(rec.command_json, 0, NULL);
    json_t *env = rec.env_json ? json_loads(rec.env_json, 0, NULL) : NULL;
    json_t *o = json_pack(
            "{s:o, s:o, s:s, s:s, s:s, s:f, s:f}", "command", cmd ? cmd : json_array(), "env",
            env ? env : json_object(), "cwd", rec.cwd ? rec.cwd : "/", "stdout",
            rec.stdout_path ? rec.stdout_path : "/dev/null", "stderr",
            rec.stderr_path ? rec.stderr_path : "/dev/null", "time_limit_s",
            (double)rec.spec.time_limit_us / 1e6, "grace_s", (double)rec.spec.grace_us / 1e6);
    /* The job's cgroup limits on each node; absent = no limit. */
    if (o != NULL && rec.memory_max_bytes > 0)
        json_object_set_new(o, "memory_max_bytes", json_integer((json_int_t)rec.memory_max_bytes));
    if (o != NULL && rec.pids_max > 0)
        json_object_set_new(o, "pids_max", json_integer((json_int_t)rec.pids_max));
    nl_store_job_release(&rec);
    run->launch_base = o;
    run->launches_left = run->nnodes;
    return o;
}

json_t *jobs_launch_json(struct ctld *c, uint64_t job, uint32_t node)
{
    struct run *run = runs_get(c->runs, job);
    int rank = run ? run_rank(run, node) : -1;
    if (rank < 0 || run->kill_requested)
        return NULL;
    const json_t *base = launch_base(c, run);
    if (base == NULL)
        return NULL;
    char name[96], cvd[32];
    nl_facility_node_name(c->fac, node, name, sizeof(name));
    if (run->nodelist == NULL) /* a run reloaded after a restart */
        run->nodelist = build_nodelist(c, run->alloc, run->nnodes);
    json_t *o = json_copy((json_t *)base); /* shallow: only env is replaced below */
    json_object_set_new(o, "job", json_integer((json_int_t)job));
    json_object_set_new(o, "run", json_integer((json_int_t)run->number));
    json_object_set_new(o, "node", json_string(name));
    json_object_set_new(o, "gpus", gpu_list(run->alloc[rank].mask, cvd, sizeof(cvd)));
    json_object_set_new(o, "env", launch_env(c, json_object_get(base, "env"), run, rank, cvd));
    run->last_seen_us = c->now_us;
    if (run->launches_left > 0 && --run->launches_left == 0) {
        json_decref(run->launch_base);
        run->launch_base = NULL;
    }
    return o;
}
