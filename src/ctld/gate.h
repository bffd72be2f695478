/* SPDX-License-Identifier: MIT */
/*
 * gate.h - what keeps a pending job out of the scheduler until it may run
 * (issue 12): holds (nordlys hold/release, --hold), dependencies
 * (--dependency afterok/afterany/afternotok/singleton) and job arrays
 * (--array 0-99%10).
 *
 * The scheduler core never sees a job the gate keeps: a held job, one
 * whose dependencies are not met, and an array job itself (its row is
 * the template of its tasks). The gate hands a job to the scheduler
 * (life_enqueue) when it becomes eligible, and makes an array's tasks
 * lazily: at most the array's %limit of them (or a window of
 * GATE_ARRAY_WINDOW) exist unfinished at a time, so that a 100,000-task
 * array costs two store rows until its tasks start, and a limit of N
 * means at most N tasks ever run at once.
 *
 * Durable: every change is written in the iteration's transaction (the
 * durability rule, durable.h): the gates and arrays tables of the store
 * say what is kept and how many tasks were made, and a task's row and the
 * array's count are written together, so that a restart neither loses nor
 * makes twice a task. Dependencies are evaluated from the stored states
 * of the jobs they name, so nothing about them can go stale.
 *
 * Driven by job ends: gate_settle, called once per loop iteration before
 * the COMMIT, reads life_ends() and acts on them: dependents become
 * eligible, or, when their dependency can never be met, stay pending with
 * reason DependencyNeverSatisfied (or are cancelled with that reason, with
 * kill_invalid_depend), an array makes its next tasks, and an array whose tasks
 * have all ended ends itself (COMPLETED when all did, else FAILED, or
 * CANCELLED), which dependents of the array wait for.
 *
 * Above life (it calls life_insert, life_enqueue, life_withdraw,
 * life_cancel), below the API. Loop thread only.
 */
#ifndef NL_CTLD_GATE_H
#define NL_CTLD_GATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct durable;
struct gate;
struct life;
struct nl_err;
struct nl_sched;
struct nl_store;
struct nl_store_job;
struct nl_tenants;
struct now;

/* Tasks of an array without a %limit that exist unfinished at once. */
#define GATE_ARRAY_WINDOW 1024
/*
 * Tasks made per loop iteration, over all arrays: a task is one INSERT
 * and a scheduler entry (about 20 us), so 512 keep an iteration within
 * about 10 ms; the rest are made at the next iterations (a tick is 100 ms).
 */
#define GATE_MAKE_BUDGET 512

/* The bounds of one --dependency: depspec.h (DEPSPEC_MAX, DEPSPEC_TEXT_MAX). */

/* All borrowed for the gate's life. */
struct gate_deps {
    const struct nl_tenants *tenants;
    struct nl_store *store;
    struct durable *dur;
    struct life *life;
    struct now *clock;
    /*
     * Read only: a tenant's pending jobs, so that an array makes no task
     * while its tenant has tenant_queue_max jobs pending (nordlysd
     * --tenant-queue-max bounds submissions; arrays must not get round it).
     */
    const struct nl_sched *sched;
    uint64_t tenant_queue_max;
    /*
     * A job whose dependency can never be met (afterok on a job that
     * failed): false keeps it pending with reason DependencyNeverSatisfied
     * until someone cancels it, as Slurm does by default (nordlysd
     * --keep-invalid-depend); true, the default, ends it CANCELLED with the
     * reason (Slurm's kill_invalid_depend).
     */
    bool kill_invalid_depend;
};

/* What a submission asks of the gate (strings borrowed). */
struct gate_req {
    bool held;              /* --hold */
    const char *dependency; /* --dependency, NULL for none */
    const char *array;      /* --array, NULL for none */
};

struct gate *gate_create(const struct gate_deps *deps);
void gate_destroy(struct gate *g);
/* Load what the store keeps gated (start and rebuild, after life_reload). */
int gate_reload(struct gate *g, struct nl_err *err);

/* Whether r asks anything of the gate. */
bool gate_req_any(const struct gate_req *r);
/*
 * Check r for the job rec would be (before anything is written): the
 * array spec, the dependency's syntax, that every job it names exists in
 * rec's tenant and that each condition can still be met. -EINVAL with
 * err starting with the field ("array: ...", "dependency: ...").
 */
int gate_check(struct gate *g, const struct gate_req *r, const struct nl_store_job *rec,
               struct nl_err *err);
/* Insert rec (checked by gate_check) as a gated job or array job; sets rec->id. */
int gate_submit(struct gate *g, const struct gate_req *r, struct nl_store_job *rec,
                struct nl_err *err);

/* Whether the gate keeps id (held, waiting, or a live array job). */
bool gate_has(const struct gate *g, uint64_t id);
/*
 * Cancel a job the gate keeps: 0 ended now, 1 an array whose running
 * tasks are being killed (it ends with its last task).
 */
int gate_cancel(struct gate *g, uint64_t id, struct nl_err *err);
/*
 * Update a job the gate keeps (nordlys update): rec holds its new fields,
 * checked against the facility as a submission; an array's tasks made from
 * now on take them. Errors as nl_sched_validate's; on error nothing changes.
 */
int gate_update(struct gate *g, const struct nl_store_job *rec, struct nl_err *err);
/* Hold a pending job (idempotent). -EBUSY when it is not pending. */
int gate_hold(struct gate *g, uint64_t id, struct nl_err *err);
/* Release a held job. -EBUSY when it is not held. */
int gate_release(struct gate *g, uint64_t id, struct nl_err *err);

/* Before the COMMIT: act on this iteration's job ends, fill arrays. */
void gate_settle(struct gate *g);

/*
 * Cancel task index of array id before the array has made it (gate_task_find
 * said 1): its row is made now, CANCELLED, and the array skips it; *task its
 * id. -ENOENT when there is no such task still to be made.
 */
int gate_cancel_unmade(struct gate *g, uint64_t id, uint32_t index, uint64_t *task,
                       struct nl_err *err);

/* What the gate keeps now, for /metrics. */
struct gate_counts {
    uint64_t held;       /* held (a held job waiting on a dependency too) */
    uint64_t dependency; /* waiting on a dependency, not held */
    uint64_t arrays;     /* live array jobs */
    uint64_t tasks;      /* their tasks made and not ended */
};

void gate_counts(const struct gate *g, struct gate_counts *out);

/*
 * Add to a JOB object (docs/api.md) what the gate knows of rec: held,
 * dependency, the array fields, and the reason of a job it keeps.
 */
void gate_job_json(struct gate *g, const struct nl_store_job *rec, json_t *o);
/*
 * The task of array id with index, for GET /v1/jobs/{id}/tasks?index=:
 * 0 and *task its job id when it has been made; 1 when it is still to be
 * made (pending in the array); -ENOENT when id is no array job or index
 * is not one of its indexes.
 */
int gate_task_find(struct gate *g, uint64_t id, uint32_t index, uint64_t *task, struct nl_err *err);

#endif
