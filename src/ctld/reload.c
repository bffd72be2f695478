/* SPDX-License-Identifier: MIT */
/*
 * reload.c - a restarted controller takes its live jobs back from the store.
 *
 * PENDING jobs are resubmitted with their ids and submit times (so their
 * age still counts). RUNNING and PREEMPTING jobs are adopted on exactly
 * the allocation the store recorded, and get a run record whose "last
 * seen" is now: if no agent lists them within node-timeout-ms they are
 * declared lost (NODE_FAIL, requeued when they asked) by jobs_check_lost.
 * A job that cannot come back (its tenant is gone, its allocation no
 * longer fits the facility) is ended or requeued here, in the start-up
 * transaction, and logged; nothing is silently dropped.
 *
 * The scheduler's clock must never go backwards, so jobs are fed in id
 * order with the running maximum of their times as "now"; the first of
 * them starts the scheduler's clock (sched.h).
 */
#include <errno.h>
#include <stdio.h>

#include "common/log.h"
#include "ctld.h"
#include "nordlys/err.h"
#include "store/store.h"

struct reload {
    struct ctld *c;
    int64_t t;
    size_t pending, running, failed;
};

static void die_if(int rc, const char *what, const struct nl_err *err)
{
    if (rc < 0)
        ctld_fatal(what, err);
}

static void end_failed(struct reload *r, const struct nl_store_job *rec, enum nl_job_state state,
                       const char *why)
{
    struct nl_err err = {0};
    log_warn("job=%llu tenant=%s cannot be reloaded (%s): now %s", (unsigned long long)rec->id,
             rec->tenant, why, nl_job_state_name(state));
    struct nl_store_end e = {.state = state, .end_us = r->c->now_us};
    ctld_txn(r->c);
    die_if(nl_store_job_end(r->c->store, rec->id, &e, &err), "reload", &err);
    r->failed++;
}

static void reload_pending(struct reload *r, const struct nl_store_job *rec,
                           const struct nl_job_spec *spec)
{
    struct nl_err err = {0};
    if (rec->submit_us > r->t)
        r->t = rec->submit_us;
    if (nl_sched_submit(r->c->sched, rec->id, spec, r->t, &err) < 0)
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
    struct ctld *c = r->c;
    struct nl_err err = {0};
    int64_t now = c->now_us > r->t ? c->now_us : r->t;
    if (nl_sched_adopt_preempting(c->sched, rec->id, now + rec->spec.grace_us, &err) < 0) {
        log_warn("job=%llu stays RUNNING after reload: %s", (unsigned long long)rec->id, err.msg);
        return;
    }
    jobs_kill_reloaded(c, run, "preempt");
}

static void reload_running(struct reload *r, const struct nl_store_job *rec,
                           const struct nl_job_spec *spec)
{
    struct ctld *c = r->c;
    struct nl_err err = {0};
    if (rec->start_us > r->t)
        r->t = rec->start_us;
    if (rec->nalloc == 0 || nl_sched_adopt(c->sched, rec->id, spec, rec->submit_us, rec->start_us,
                                           rec->alloc, rec->nalloc, r->t, &err) < 0) {
        const char *why = rec->nalloc == 0 ? "no stored allocation" : err.msg;
        if (!spec->requeue) {
            end_failed(r, rec, NL_JOB_NODE_FAIL, why);
            return;
        }
        log_warn("job=%llu cannot be adopted (%s): requeued", (unsigned long long)rec->id, why);
        ctld_txn(c);
        die_if(nl_store_job_requeue(c->store, rec->id, false, 0, 0, &err), "reload", &err);
        reload_pending(r, rec, spec);
        return;
    }
    struct run *run = runs_add(c->runs, rec->id, rec->alloc, rec->nalloc);
    run->number = rec->runs;
    run->start_us = rec->start_us;
    run->last_seen_us = c->now_us;
    jobs_reloaded(c, run);
    r->running++;
    if (rec->state == NL_JOB_PREEMPTING)
        reload_preempting(r, rec, run);
    /* A cancel acknowledged before the crash still happens: the next pass issues the kill. */
    if (rec->kill_requested) {
        if (nl_sched_cancel(c->sched, rec->id, r->t, NULL, &err) < 0)
            log_warn("job=%llu cancel after reload: %s", (unsigned long long)rec->id, err.msg);
        jobs_kill_reloaded(c, run, "cancel");
    }
}

static int reload_one(const struct nl_store_job *rec, void *arg)
{
    struct reload *r = arg;
    int tenant = nl_tenants_find(r->c->tenants, rec->tenant);
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

int jobs_reload(struct ctld *c, struct nl_err *err)
{
    struct reload r = {.c = c};
    int rc = nl_store_jobs_live(c->store, reload_one, &r, err);
    if (rc < 0)
        return rc;
    ctld_clock_raise(c, r.t);
    /* Energy is accounted per run from the scheduler's figure at its start. */
    size_t cursor = 0;
    for (struct run *run; (run = runs_next(c->runs, &cursor)) != NULL;) {
        struct nl_job_info info;
        if (nl_sched_job_info(c->sched, run->job, &info) == 0)
            run->energy_start_wh = info.energy_wh;
    }
    log_info("reloaded %zu pending and %zu running jobs (%zu could not come back), last id %llu",
             r.pending, r.running, r.failed, (unsigned long long)nl_store_last_id(c->store));
    c->sched_dirty = true;
    return 0;
}
