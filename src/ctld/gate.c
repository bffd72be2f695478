/* SPDX-License-Identifier: MIT */
/*
 * gate.c - holds, dependencies and job arrays; see gate.h.
 *
 * In memory: the kept jobs (struct kept: held and/or waiting on a
 * dependency) and the live arrays (struct array), each in a vector with a
 * map from job id to its slot, and a map from every unfinished task to its
 * array. All of it is rebuilt from the store by gate_reload, so that a
 * failed COMMIT or a restart only has to read it back.
 *
 * Dependencies are re-evaluated from the store whenever some job has
 * ended in the iteration (one indexed read per job named). That is
 * O(waiting jobs x named jobs) per iteration with an end, which is small
 * next to a scheduling pass for the few hundred dependent jobs a facility
 * holds at once; an index from named job to dependents is the next step
 * if that ever changes.
 */
#include "gate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/idxset.h"
#include "common/log.h"
#include "common/u64map.h"
#include "common/xalloc.h"
#include "ctld/depspec.h"
#include "ctld/durable.h"
#include "ctld/life.h"
#include "ctld/now.h"
#include "nordlys/err.h"
#include "nordlys/job.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "store/store.h"
#include "store/store_events.h"

/* Rounds of settle: an end cancels a dependent, whose end cancels the next, ... */
#define SETTLE_ROUNDS_MAX 64

/* A job kept out of the scheduler by a hold or a dependency. */
struct kept {
    uint64_t id;
    bool held;
    char *dep;     /* owned: the dependency as submitted, "" for none */
    uint64_t *ids; /* owned: the jobs dep names (nids), to see which ends concern it */
    size_t nids;
    bool singleton; /* dep has singleton: any end may let it go */
    bool dirty;     /* to evaluate at the next settle */
    bool never;     /* its dependency can never be met: pending until cancelled */
    /*
     * An array job whose dependency has aftercorr, met as far as the array
     * goes: it makes tasks, each kept with the dependency, read for it.
     */
    bool tasks_only;
    int64_t recheck_us; /* after: evaluate again at this clock though nothing ended; 0 none */
    char why[300];      /* what it waits for now ("afterok:12 (job 12 is RUNNING)") */
};

/* A live array job. */
struct array {
    uint64_t id;
    struct nl_idxset set;
    char *spec;                /* owned: as stored */
    uint64_t next;             /* tasks made */
    uint64_t live;             /* made, not ended */
    uint64_t ok, failed, gone; /* ended tasks: COMPLETED, FAILED/TIMEOUT/NODE_FAIL, CANCELLED */
    uint64_t ahead;            /* tasks made out of order (cancelled before their turn) past next */
    bool cancelled;
    /*
     * Submitted in this iteration: its first tasks are made from the next
     * one, so that the submission's answer (held until the COMMIT) costs
     * one job's insert, not GATE_MAKE_BUDGET of them.
     */
    bool fresh;
    struct nl_store_job *tmpl; /* the array job's row, read when tasks are first made */
};

struct gate {
    struct gate_deps d;
    struct kept **kept;
    size_t nkept, kept_cap;
    struct nl_u64map kept_at; /* job id -> slot in kept */
    struct array **arrays;
    size_t narrays, arrays_cap;
    struct nl_u64map array_at; /* array job id -> slot in arrays */
    struct nl_u64map task_of;  /* unfinished task id -> its array job id */
    struct life_end *ends;     /* ends to act on: life's and the gate's own */
    size_t nends, ends_cap;
    bool deps_dirty;    /* a job ended or a dependency was added: evaluate */
    int64_t recheck_us; /* the earliest kept recheck_us; 0 none */
};

/* ---- the vectors ---- */

static struct kept *kept_get(const struct gate *g, uint64_t id)
{
    uint64_t slot;
    return nl_u64map_get(&g->kept_at, id, &slot) ? g->kept[slot] : NULL;
}

static void kept_targets(struct kept *k);

static struct kept *kept_add(struct gate *g, uint64_t id, bool held, const char *dep)
{
    if (g->nkept == g->kept_cap) {
        g->kept_cap = xgrow(g->kept_cap, g->nkept + 1);
        g->kept = xreallocarray(g->kept, g->kept_cap, sizeof(*g->kept));
    }
    struct kept *k = xcalloc(1, sizeof(*k));
    k->id = id;
    k->held = held;
    k->dep = xstrdup(dep ? dep : "");
    if (k->dep[0] != '\0') {
        kept_targets(k);
        k->dirty = true;
        g->deps_dirty = true;
    }
    nl_u64map_put(&g->kept_at, id, g->nkept);
    g->kept[g->nkept++] = k;
    return k;
}

static void kept_remove(struct gate *g, struct kept *k)
{
    uint64_t slot;
    if (!nl_u64map_del(&g->kept_at, k->id, &slot))
        return;
    struct kept *last = g->kept[--g->nkept];
    if (slot != g->nkept) {
        g->kept[slot] = last;
        nl_u64map_put(&g->kept_at, last->id, slot);
    }
    free(k->ids);
    free(k->dep);
    free(k);
}

static struct array *array_get(const struct gate *g, uint64_t id)
{
    uint64_t slot;
    return nl_u64map_get(&g->array_at, id, &slot) ? g->arrays[slot] : NULL;
}

/* A live array from its stored record; NULL (logged) when its spec no longer parses. */
static struct array *array_add(struct gate *g, const struct nl_store_array *rec)
{
    struct nl_err err = {0};
    struct array *a = xcalloc(1, sizeof(*a));
    if (nl_idxset_parse(rec->spec, &a->set, &err) < 0) {
        log_err("job=%llu array spec '%s' unreadable: %s", (unsigned long long)rec->job, rec->spec,
                err.msg);
        free(a);
        return NULL;
    }
    a->id = rec->job;
    a->spec = xstrdup(rec->spec);
    a->next = rec->next;
    a->cancelled = rec->cancelled;
    if (g->narrays == g->arrays_cap) {
        g->arrays_cap = xgrow(g->arrays_cap, g->narrays + 1);
        g->arrays = xreallocarray(g->arrays, g->arrays_cap, sizeof(*g->arrays));
    }
    nl_u64map_put(&g->array_at, a->id, g->narrays);
    g->arrays[g->narrays++] = a;
    return a;
}

static void array_free(struct array *a)
{
    nl_idxset_release(&a->set);
    free(a->spec);
    if (a->tmpl != NULL) {
        nl_store_job_release(a->tmpl);
        free(a->tmpl);
    }
    free(a);
}

static void array_remove(struct gate *g, struct array *a)
{
    uint64_t slot;
    if (!nl_u64map_del(&g->array_at, a->id, &slot))
        return;
    struct array *last = g->arrays[--g->narrays];
    if (slot != g->narrays) {
        g->arrays[slot] = last;
        nl_u64map_put(&g->array_at, last->id, slot);
    }
    array_free(a);
}

static void push_end(struct gate *g, uint64_t id, enum nl_job_state state)
{
    if (g->nends == g->ends_cap) {
        g->ends_cap = xgrow(g->ends_cap, g->nends + 1);
        g->ends = xreallocarray(g->ends, g->ends_cap, sizeof(*g->ends));
    }
    g->ends[g->nends++] = (struct life_end){.job = id, .state = state};
}

/* ---- life cycle ---- */

struct gate *gate_create(const struct gate_deps *deps)
{
    struct gate *g = xcalloc(1, sizeof(*g));
    g->d = *deps;
    return g;
}

void gate_destroy(struct gate *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->nkept; i++) {
        free(g->kept[i]->ids);
        free(g->kept[i]->dep);
        free(g->kept[i]);
    }
    for (size_t i = 0; i < g->narrays; i++)
        array_free(g->arrays[i]);
    free(g->kept);
    free(g->arrays);
    free(g->ends);
    nl_u64map_release(&g->kept_at);
    nl_u64map_release(&g->array_at);
    nl_u64map_release(&g->task_of);
    free(g);
}

static int load_gate(const struct nl_store_gate *sg, void *arg)
{
    kept_add(arg, sg->job, sg->held, sg->dependency);
    return 0;
}

struct load_tasks {
    struct gate *g;
    struct array *a;
};

static int load_task(uint64_t id, uint32_t index, enum nl_job_state state, void *arg)
{
    struct load_tasks *x = arg;
    if (nl_idxset_pos(&x->a->set, index) >= (int64_t)x->a->next)
        x->a->ahead++;
    if (!nl_job_state_terminal(state)) {
        x->a->live++;
        nl_u64map_put(&x->g->task_of, id, x->a->id);
    } else if (state == NL_JOB_COMPLETED) {
        x->a->ok++;
    } else if (state == NL_JOB_CANCELLED) {
        x->a->gone++;
    } else {
        x->a->failed++;
    }
    return 0;
}

static int load_array(const struct nl_store_array *sa, void *arg)
{
    struct gate *g = arg;
    struct array *a = array_add(g, sa);
    if (a == NULL)
        return 0;
    struct load_tasks x = {.g = g, .a = a};
    struct nl_err err = {0};
    if (nl_store_array_tasks(g->d.store, a->id, load_task, &x, &err) < 0)
        log_err("job=%llu array tasks: %s", (unsigned long long)a->id, err.msg);
    return 0;
}

int gate_reload(struct gate *g, struct nl_err *err)
{
    int rc = nl_store_gates_load(g->d.store, load_gate, g, err);
    if (rc == 0)
        rc = nl_store_arrays_live(g->d.store, load_array, g, err);
    if (rc < 0)
        return rc;
    /* Evaluated at the first settle (kept_add marked them): a job they wait for may have ended. */
    if (g->nkept > 0 || g->narrays > 0)
        log_info("gate: reloaded %zu held or waiting jobs and %zu live arrays", g->nkept,
                 g->narrays);
    return 0;
}

/* ---- dependencies (their text: depspec.h) ---- */

enum dep_verdict {
    DEP_MET,
    DEP_WAIT,
    DEP_NEVER,
};

/* Who a dependency is evaluated for: aftercorr and singleton read differently for each. */
enum dep_level {
    DEP_FOR_JOB,   /* a job outside any array */
    DEP_FOR_ARRAY, /* an array job: its aftercorr conditions are its tasks' */
    DEP_FOR_TASK,  /* a task of an array whose dependency has aftercorr */
};

/* How often a job that after:ID waits on is looked at until it starts (starts are not ends). */
#define GATE_AFTER_POLL_US 1000000

/* What one evaluation found: the verdict, and the words for it. */
struct dep_eval {
    struct gate *g;
    const struct nl_store_job *rec; /* the dependent job (tenant, user, name, id, index) */
    enum dep_level level;
    bool any; /* '?': the best condition decides; otherwise the worst */
    enum dep_verdict verdict;
    char why[300];
    int64_t now_us;
    int64_t recheck_us; /* after: when to look again though nothing ended; 0 none */
    struct nl_err err;  /* a store error, which makes the verdict WAIT */
};

static void eval_note(struct dep_eval *e, enum dep_verdict v, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * Every condition (','): the worst verdict wins (NEVER over WAIT over
 * MET). Any condition ('?'): the best wins. The first words for the
 * winning verdict are kept.
 */
static void eval_note(struct dep_eval *e, enum dep_verdict v, const char *fmt, ...)
{
    bool take = v == e->verdict ? e->why[0] == '\0' : e->any ? v < e->verdict : v > e->verdict;
    if (!take)
        return;
    e->verdict = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->why, sizeof(e->why), fmt, ap);
    va_end(ap);
}

static void recheck_at(struct dep_eval *e, int64_t when_us)
{
    if (e->recheck_us == 0 || when_us < e->recheck_us)
        e->recheck_us = when_us;
}

static void eval_singleton(struct dep_eval *e)
{
    uint64_t blocker = 0;
    /* A task's array got past its singleton, and is itself live under the same name. */
    if (e->level == DEP_FOR_TASK)
        eval_note(e, DEP_MET, "singleton");
    else if (nl_store_singleton_blocker(e->g->d.store, e->rec->tenant, e->rec->run_as, e->rec->name,
                                        e->rec->id ? e->rec->id : UINT64_MAX, &blocker,
                                        &e->err) < 0)
        eval_note(e, DEP_WAIT, "singleton (%s)", e->err.msg);
    else if (blocker != 0)
        eval_note(e, DEP_WAIT, "singleton (job %llu of the same name and user is live)",
                  (unsigned long long)blocker);
    else
        eval_note(e, DEP_MET, "singleton");
}

static int first_started(uint64_t id, uint32_t index, enum nl_job_state state, void *arg)
{
    (void)index;
    if (state == NL_JOB_PENDING || state == NL_JOB_NONE)
        return 0;
    *(uint64_t *)arg = id;
    return 1;
}

/*
 * after:ID[+MIN]: ID began (or ended without starting), MIN minutes ago.
 * A live array job began with the first of its tasks that did (the first
 * by index: its start counts for +MIN).
 */
static void eval_after(struct dep_eval *e, const struct depspec_cond *c, enum nl_job_state st)
{
    unsigned long long id = (unsigned long long)c->job;
    char plus[24] = "";
    if (c->minutes > 0)
        snprintf(plus, sizeof(plus), "+%u", c->minutes);
    uint64_t began_job = c->job, task = 0;
    struct nl_err terr = {0};
    if (st == NL_JOB_PENDING && array_get(e->g, c->job) != NULL &&
        nl_store_array_tasks(e->g->d.store, c->job, first_started, &task, &terr) == 1) {
        st = NL_JOB_RUNNING;
        began_job = task;
    }
    if (st == NL_JOB_PENDING) {
        eval_note(e, DEP_WAIT, "after:%llu%s (job %llu has not started)", id, plus, id);
        recheck_at(e, e->now_us + GATE_AFTER_POLL_US);
        return;
    }
    if (c->minutes == 0) {
        eval_note(e, DEP_MET, "after:%llu", id);
        return;
    }
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    if (nl_store_job_get(e->g->d.store, began_job, &rec, &err) < 0) {
        eval_note(e, DEP_WAIT, "after:%llu%s (%s)", id, plus, err.msg);
        recheck_at(e, e->now_us + GATE_AFTER_POLL_US);
        return;
    }
    int64_t began = rec.start_us ? rec.start_us : rec.end_us ? rec.end_us : e->now_us;
    nl_store_job_release(&rec);
    int64_t at = began + (int64_t)c->minutes * 60000000;
    if (e->now_us >= at) {
        eval_note(e, DEP_MET, "after:%llu%s", id, plus);
        return;
    }
    eval_note(e, DEP_WAIT, "after:%llu%s (job %llu began; %.0f s to go)", id, plus, id,
              (double)(at - e->now_us) / 1e6 + 0.5);
    recheck_at(e, at);
}

struct array_look {
    char spec[256];
    bool cancelled;
};

static int look_array(const struct nl_store_array *sa, void *arg)
{
    struct array_look *x = arg;
    snprintf(x->spec, sizeof(x->spec), "%s", sa->spec);
    x->cancelled = sa->cancelled;
    return 0;
}

/*
 * aftercorr:ID: task N of this array after task N of array ID completed.
 * For the array job itself it is met (its tasks wait, each for its own);
 * a task whose index array ID does not have waits for nothing from it.
 */
static void eval_corr(struct dep_eval *e, const struct depspec_cond *c)
{
    unsigned long long id = (unsigned long long)c->job;
    struct array_look look = {{0}, false};
    struct nl_err err = {0};
    int rc = nl_store_array_get(e->g->d.store, c->job, look_array, &look, &err);
    if (rc == -ENOENT) {
        eval_note(e, DEP_NEVER, "aftercorr:%llu: job %llu is not a job array", id, id);
        return;
    }
    if (rc < 0) {
        eval_note(e, DEP_WAIT, "aftercorr:%llu (%s)", id, err.msg);
        return;
    }
    if (e->level == DEP_FOR_JOB) {
        eval_note(e, DEP_NEVER, "aftercorr:%llu: only an array job (--array) can wait task by task",
                  id);
        return;
    }
    if (e->level == DEP_FOR_ARRAY) {
        eval_note(e, DEP_MET, "aftercorr:%llu (each task waits for its own)", id);
        return;
    }
    uint32_t index = e->rec->array_index;
    uint64_t task = 0;
    rc = nl_store_array_task_find(e->g->d.store, c->job, index, &task, &err);
    if (rc == 0) {
        enum nl_job_state st = NL_JOB_NONE;
        if (nl_store_job_state(e->g->d.store, task, &st, NULL, &err) < 0)
            eval_note(e, DEP_WAIT, "aftercorr:%llu (%s)", id, err.msg);
        else if (!nl_job_state_terminal(st))
            eval_note(e, DEP_WAIT, "aftercorr:%llu (task %llu_%u is %s)", id, id, index,
                      nl_job_state_name(st));
        else if (st != NL_JOB_COMPLETED)
            eval_note(e, DEP_NEVER, "aftercorr:%llu can never be met: task %llu_%u ended %s", id,
                      id, index, nl_job_state_name(st));
        else
            eval_note(e, DEP_MET, "aftercorr:%llu", id);
        return;
    }
    if (rc != -ENOENT) {
        eval_note(e, DEP_WAIT, "aftercorr:%llu (%s)", id, err.msg);
        return;
    }
    struct nl_idxset set;
    bool has = false;
    if (nl_idxset_parse(look.spec, &set, &err) == 0) {
        has = nl_idxset_pos(&set, index) >= 0;
        nl_idxset_release(&set);
    }
    const struct array *a = array_get(e->g, c->job);
    if (!has)
        eval_note(e, DEP_MET, "aftercorr:%llu (it has no task %u)", id, index);
    else if (a != NULL && !a->cancelled && !look.cancelled)
        eval_note(e, DEP_WAIT, "aftercorr:%llu (task %llu_%u has not been made yet)", id, id,
                  index);
    else
        eval_note(e, DEP_NEVER, "aftercorr:%llu can never be met: task %llu_%u was never made", id,
                  id, index);
}

static void eval_cond(struct dep_eval *e, const struct depspec_cond *c)
{
    const char *name = depspec_kind_name(c->kind);
    unsigned long long id = (unsigned long long)c->job;
    if (c->kind == DEPSPEC_SINGLETON) {
        eval_singleton(e);
        return;
    }
    enum nl_job_state st = NL_JOB_NONE;
    char tenant[NL_NAME_MAX];
    struct nl_err err = {0};
    int rc = nl_store_job_state(e->g->d.store, c->job, &st, tenant, &err);
    /* Another tenant's job is as unknown as a job that never was. */
    if (rc == -ENOENT || (rc == 0 && strcmp(tenant, e->rec->tenant) != 0)) {
        eval_note(e, DEP_NEVER, "%s:%llu: job %llu: no such job in tenant %s", name, id, id,
                  e->rec->tenant);
        return;
    }
    if (rc < 0) {
        eval_note(e, DEP_WAIT, "%s:%llu (%s)", name, id, err.msg);
        return;
    }
    if (c->kind == DEPSPEC_AFTER) {
        eval_after(e, c, st);
        return;
    }
    if (c->kind == DEPSPEC_AFTERCORR) {
        eval_corr(e, c);
        return;
    }
    bool ok = st == NL_JOB_COMPLETED;
    if (!nl_job_state_terminal(st))
        eval_note(e, DEP_WAIT, "%s:%llu (job %llu is %s)", name, id, id, nl_job_state_name(st));
    else if ((c->kind == DEPSPEC_AFTEROK && !ok) || (c->kind == DEPSPEC_AFTERNOTOK && ok))
        eval_note(e, DEP_NEVER, "%s:%llu can never be met: job %llu ended %s", name, id, id,
                  nl_job_state_name(st));
    else
        eval_note(e, DEP_MET, "%s:%llu", name, id);
}

/* Evaluate text for rec at level; -EINVAL only for text that does not parse. */
static int dep_evaluate(struct gate *g, const char *text, const struct nl_store_job *rec,
                        enum dep_level level, struct dep_eval *e, struct nl_err *err)
{
    struct depspec d;
    int rc = depspec_parse(text, &d, err);
    if (rc < 0)
        return rc;
    *e = (struct dep_eval){.g = g,
                           .rec = rec,
                           .level = level,
                           .any = d.any,
                           .verdict = d.any ? DEP_NEVER : DEP_MET,
                           .now_us = now_read(g->d.clock)};
    for (size_t i = 0; i < d.n; i++)
        eval_cond(e, &d.c[i]);
    return 0;
}

/*
 * The jobs k's dependency names (an end of one of them, or of a task of
 * one, concerns it). It parsed at submission; a stored one that no longer
 * does counts as singleton ("any end concerns it"), so that every settle
 * evaluates it and says why it cannot.
 */
static void kept_targets(struct kept *k)
{
    struct depspec d;
    struct nl_err err = {0};
    if (depspec_parse(k->dep, &d, &err) < 0) {
        k->singleton = true;
        return;
    }
    k->ids = xreallocarray(k->ids, d.n + 1, sizeof(*k->ids));
    k->nids = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (d.c[i].kind == DEPSPEC_SINGLETON)
            k->singleton = true;
        else
            k->ids[k->nids++] = d.c[i].job;
    }
}

/* The level at which k's dependency is read (the record: its array fields). */
static enum dep_level kept_level(const struct gate *g, const struct nl_store_job *rec)
{
    if (rec->array_job != 0)
        return DEP_FOR_TASK;
    return array_get(g, rec->id) != NULL ? DEP_FOR_ARRAY : DEP_FOR_JOB;
}

/* ---- checking and submitting ---- */

bool gate_req_any(const struct gate_req *r)
{
    return r->held || r->dependency != NULL || r->array != NULL;
}

int gate_check(struct gate *g, const struct gate_req *r, const struct nl_store_job *rec,
               struct nl_err *err)
{
    if (r->array != NULL) {
        struct nl_idxset set;
        if (nl_idxset_parse(r->array, &set, err) < 0)
            return err ? err->code : -EINVAL;
        nl_idxset_release(&set);
    }
    if (r->dependency != NULL) {
        struct dep_eval e;
        int rc = dep_evaluate(g, r->dependency, rec, r->array ? DEP_FOR_ARRAY : DEP_FOR_JOB, &e,
                              err);
        if (rc < 0)
            return rc;
        /* Refused now rather than accepted and cancelled at once: nothing is made of it. */
        if (e.verdict == DEP_NEVER)
            return nl_err_set(err, -EINVAL, "dependency: %s", e.why);
    }
    return 0;
}

/*
 * Record a gate change in the job's state history (issue 14), in this
 * iteration's transaction; the change is already made in memory, so a
 * failed write is fatal like the gate row's own.
 */
static void gate_event(struct gate *g, uint64_t id, const char *kind, const char *detail)
{
    struct nl_err err = {0};
    struct nl_store_event e = {
            .job = id, .at_us = now_read(g->d.clock), .kind = kind, .detail = detail};
    durable_txn(g->d.dur);
    durable_check(nl_store_event_add(g->d.store, &e, &err), "job event", &err);
}

int gate_submit(struct gate *g, const struct gate_req *r, struct nl_store_job *rec,
                struct nl_err *err)
{
    int rc = r->array != NULL ? life_insert_array(g->d.life, rec, err)
                              : life_insert(g->d.life, rec, err);
    if (rc < 0)
        return rc;
    if (r->array != NULL) {
        struct nl_store_array sa = {.job = rec->id, .spec = r->array};
        durable_check(nl_store_array_put(g->d.store, &sa, err), "array", err);
        struct array *a = array_add(g, &sa);
        if (a != NULL)
            a->fresh = true;
    }
    if (r->held || r->dependency != NULL) {
        struct nl_store_gate sg = {.job = rec->id, .held = r->held, .dependency = r->dependency};
        durable_check(nl_store_gate_put(g->d.store, &sg, err), "gate", err);
        struct kept *k = kept_add(g, rec->id, r->held, r->dependency);
        /* The words until the first evaluation, at this iteration's settle. */
        if (r->dependency != NULL)
            snprintf(k->why, sizeof(k->why), "%s", r->dependency);
        if (r->held)
            gate_event(g, rec->id, "held", "submitted held");
        if (r->dependency != NULL)
            gate_event(g, rec->id, "dependency", r->dependency);
    }
    log_info("job=%llu submitted%s%s%s%s%s", (unsigned long long)rec->id, r->array ? " array " : "",
             r->array ? r->array : "", r->held ? " held" : "", r->dependency ? " dependency " : "",
             r->dependency ? r->dependency : "");
    return 0;
}

/* ---- handing jobs on, ending them ---- */

static void end_kept(struct gate *g, uint64_t id, enum nl_job_state state, const char *reason);

/* A kept job may run: no longer gated; to the scheduler unless it is an array job. */
static void let_go(struct gate *g, struct kept *k)
{
    struct nl_err err = {0};
    uint64_t id = k->id;
    durable_txn(g->d.dur);
    durable_check(nl_store_gate_delete(g->d.store, id, &err), "gate", &err);
    kept_remove(g, k);
    if (array_get(g, id) != NULL)
        return; /* an array job: its tasks are made from now on */
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    int t = -1;
    if (nl_store_job_get(g->d.store, id, &rec, &err) < 0) {
        log_err("job=%llu released but unreadable: %s", (unsigned long long)id, err.msg);
    } else if ((t = nl_tenants_find(g->d.tenants, rec.tenant)) < 0) {
        /* As a reload does: a job of a tenant no longer configured cannot be scheduled. */
        end_kept(g, id, NL_JOB_FAILED, "its tenant is no longer configured");
    } else {
        rec.spec.tenant = (uint32_t)t;
        life_enqueue(g->d.life, id, &rec.spec, rec.submit_us);
        log_info("job=%llu eligible: to the scheduler", (unsigned long long)id);
    }
    nl_store_job_release(&rec);
}

/* End a job that never reached the scheduler; reason NULL for none. */
static void end_kept(struct gate *g, uint64_t id, enum nl_job_state state, const char *reason)
{
    struct nl_err err = {0};
    struct nl_store_end e = {.state = state, .end_us = now_read(g->d.clock), .reason = reason};
    durable_txn(g->d.dur);
    durable_check(nl_store_job_end(g->d.store, id, &e, &err), "gate end", &err);
    push_end(g, id, state);
    log_info("job=%llu ended %s%s%s", (unsigned long long)id, nl_job_state_name(state),
             reason ? ": " : "", reason ? reason : "");
}

static void array_cancel(struct gate *g, struct array *a);

/* A kept job's dependency can never be met: CANCELLED, saying which. */
static void never(struct gate *g, struct kept *k, const char *why)
{
    char reason[400];
    uint64_t id = k->id;
    snprintf(reason, sizeof(reason), "dependency never satisfied: %s", why);
    durable_txn(g->d.dur);
    struct nl_err err = {0};
    durable_check(nl_store_gate_delete(g->d.store, id, &err), "gate", &err);
    kept_remove(g, k);
    struct array *a = array_get(g, id);
    if (a != NULL && a->live > 0) {
        array_cancel(g, a); /* held after tasks were made: it ends with its last task */
        return;
    }
    if (a != NULL) {
        /* A kept array makes no task: none was made, and none will be. */
        struct nl_store_array sa = {.job = id, .spec = a->spec, .next = a->next, .cancelled = true};
        durable_check(nl_store_array_put(g->d.store, &sa, &err), "array", &err);
        array_remove(g, a);
    }
    end_kept(g, id, NL_JOB_CANCELLED, reason);
}

static void evaluate_all(struct gate *g)
{
    /* Backwards: let_go and never remove the entry at i (swapped with the last). */
    for (size_t i = g->nkept; i-- > 0;) {
        if (i >= g->nkept)
            continue;
        struct kept *k = g->kept[i];
        if (k->dep[0] == '\0' || !k->dirty)
            continue;
        k->dirty = false;
        struct nl_store_job rec;
        nl_store_job_init(&rec);
        struct nl_err err = {0};
        struct dep_eval e;
        enum dep_level level = DEP_FOR_JOB;
        if (nl_store_job_get(g->d.store, k->id, &rec, &err) < 0 ||
            dep_evaluate(g, k->dep, &rec, level = kept_level(g, &rec), &e, &err) < 0) {
            snprintf(k->why, sizeof(k->why), "%s", err.msg);
            nl_store_job_release(&rec);
            continue;
        }
        nl_store_job_release(&rec);
        k->recheck_us = e.verdict == DEP_WAIT ? e.recheck_us : 0;
        if (k->recheck_us != 0 && (g->recheck_us == 0 || k->recheck_us < g->recheck_us))
            g->recheck_us = k->recheck_us;
        if (e.verdict == DEP_MET && level == DEP_FOR_ARRAY && strstr(k->dep, "aftercorr") != NULL) {
            /* Its tasks wait, each for its own: the array makes them (unless held). */
            if (!k->tasks_only)
                gate_event(g, k->id, "dependency_met",
                           "the array's part; each task waits for its own");
            k->tasks_only = true;
            k->why[0] = '\0';
        } else if (e.verdict == DEP_NEVER && g->d.kill_invalid_depend) {
            never(g, k, e.why);
        } else if (e.verdict == DEP_NEVER) {
            /* Slurm's default: it waits, saying why, until someone cancels it. */
            if (!k->never)
                log_info("job=%llu dependency never satisfied: %s (pending until cancelled)",
                         (unsigned long long)k->id, e.why);
            k->never = true;
            snprintf(k->why, sizeof(k->why), "%s", e.why);
        } else if (e.verdict == DEP_MET) {
            gate_event(g, k->id, "dependency_met", k->dep);
            free(k->dep);
            k->dep = xstrdup("");
            k->why[0] = '\0';
            free(k->ids);
            k->ids = NULL;
            k->nids = 0;
            if (!k->held) {
                let_go(g, k);
            } else {
                /* Met, still held: the gate row keeps only the hold. */
                struct nl_store_gate sg = {.job = k->id, .held = true, .dependency = ""};
                durable_txn(g->d.dur);
                durable_check(nl_store_gate_put(g->d.store, &sg, &err), "gate", &err);
            }
        } else {
            snprintf(k->why, sizeof(k->why), "%s", e.why);
        }
    }
}

/* ---- arrays ---- */

/* The array job's own row, the template of its tasks; NULL when unreadable (logged). */
static const struct nl_store_job *array_tmpl(struct gate *g, struct array *a)
{
    if (a->tmpl != NULL)
        return a->tmpl;
    struct nl_store_job *rec = xmalloc(sizeof(*rec));
    nl_store_job_init(rec);
    struct nl_err err = {0};
    if (nl_store_job_get(g->d.store, a->id, rec, &err) < 0) {
        log_err("job=%llu array template: %s", (unsigned long long)a->id, err.msg);
        nl_store_job_release(rec);
        free(rec);
        return NULL;
    }
    a->tmpl = rec;
    return rec;
}

/*
 * The task's environment: the array job's, plus what a task reads to know
 * which one it is. Slurm's names too, so that a script moved from sbatch
 * runs unchanged (docs/users.md, "Job arrays").
 */
static char *task_env(const struct nl_store_job *tmpl, const struct array *a, uint32_t index)
{
    json_t *env = tmpl->env_json ? json_loads(tmpl->env_json, 0, NULL) : NULL;
    if (!json_is_object(env)) {
        json_decref(env);
        env = json_object();
    }
    char v[32];

    const struct {
        const char *suffix;
        uint64_t value;
    } vars[] = {
            {"ARRAY_JOB_ID", a->id},
            {"ARRAY_TASK_ID", index},
            {"ARRAY_TASK_COUNT", a->set.count},
            {"ARRAY_TASK_MIN", nl_idxset_nth(&a->set, 0)},
            {"ARRAY_TASK_MAX", nl_idxset_nth(&a->set, a->set.count - 1)},
    };

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        char name[48];
        snprintf(v, sizeof(v), "%llu", (unsigned long long)vars[i].value);
        snprintf(name, sizeof(name), "NORDLYS_%s", vars[i].suffix);
        json_object_set_new(env, name, json_string(v));
        snprintf(name, sizeof(name), "SLURM_%s", vars[i].suffix);
        json_object_set_new(env, name, json_string(v));
    }
    char *text = json_dumps(env, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(env);
    return text;
}

/* Whether an array job's output pattern gives each task a file of its own (%a or %j). */
static bool names_task(const char *pat)
{
    for (const char *p = pat; p != NULL && *p != '\0'; p++)
        if (p[0] == '%' && p[1] != '\0') {
            if (p[1] == 'a' || p[1] == 'j')
                return true;
            p++; /* "%%j" is a literal "%j" */
        }
    return false;
}

/* Insert task index of a (a copy of the template tmpl, of tenant) in the transaction; its id. */
static uint64_t insert_task(struct gate *g, struct array *a, const struct nl_store_job *tmpl,
                            int tenant, uint32_t index, struct nl_store_job *t)
{
    nl_store_job_init(t);
    memcpy(t->name, tmpl->name, sizeof(t->name));
    memcpy(t->tenant, tmpl->tenant, sizeof(t->tenant));
    memcpy(t->run_as, tmpl->run_as, sizeof(t->run_as));
    t->spec = tmpl->spec;
    t->spec.tenant = (uint32_t)tenant;
    t->submit_us = tmpl->submit_us; /* a task has waited since its array was submitted */
    t->command_json = xstrdup(tmpl->command_json);
    t->env_json = task_env(tmpl, a, index);
    t->cwd = tmpl->cwd ? xstrdup(tmpl->cwd) : NULL;
    t->memory_max_bytes = tmpl->memory_max_bytes;
    t->pids_max = tmpl->pids_max;
    /*
     * What a task runs with is its array's: tasks per node, stdin, the
     * warning signal, and output patterns that name the task (%a, filled
     * at launch, or %j, the task's own id, filled by its insert). Any other
     * path is the array job's own file (its default, or a pattern without
     * either): tasks sharing it would interleave, so each task gets its own
     * default instead.
     */
    if (names_task(tmpl->stdout_path))
        t->stdout_path = xstrdup(tmpl->stdout_path);
    if (names_task(tmpl->stderr_path))
        t->stderr_path = xstrdup(tmpl->stderr_path);
    t->tasks_per_node = tmpl->tasks_per_node;
    t->input_path = tmpl->input_path ? xstrdup(tmpl->input_path) : NULL;
    t->warn_signal = tmpl->warn_signal;
    t->warn_before_s = tmpl->warn_before_s;
    struct nl_err err = {0};
    durable_txn(g->d.dur);
    durable_check(life_insert(g->d.life, t, &err), "array task", &err);
    durable_check(nl_store_job_set_array(g->d.store, t->id, a->id, index, &err), "array task",
                  &err);
    return t->id;
}

/*
 * Make the array's next task and hand it to the scheduler; false when no
 * index is left (the last ones were made already, cancelled ahead of
 * their turn: counted then, skipped now).
 */
static bool make_task(struct gate *g, struct array *a, const struct nl_store_job *tmpl, int tenant)
{
    uint64_t made = 0;
    struct nl_err err = {0};
    while (a->ahead > 0 && a->next < a->set.count &&
           nl_store_array_task_find(g->d.store, a->id, nl_idxset_nth(&a->set, a->next), &made,
                                    &err) == 0) {
        a->next++;
        a->ahead--;
    }
    if (a->next >= a->set.count)
        return false;
    struct nl_store_job t;
    insert_task(g, a, tmpl, tenant, nl_idxset_nth(&a->set, a->next), &t);
    a->next++;
    a->live++;
    nl_u64map_put(&g->task_of, t.id, a->id);
    const struct kept *k = kept_get(g, a->id);
    if (k != NULL && k->tasks_only) {
        /* aftercorr: the task waits for its own counterpart, kept like any dependent job. */
        struct nl_store_gate sg = {.job = t.id, .held = false, .dependency = k->dep};
        durable_check(nl_store_gate_put(g->d.store, &sg, &err), "gate", &err);
        kept_add(g, t.id, false, k->dep);
    } else {
        life_enqueue(g->d.life, t.id, &t.spec, t.submit_us);
    }
    nl_store_job_release(&t);
    return true;
}

/* The array's aggregate end, once every task it will have has ended. */
static void array_end(struct gate *g, struct array *a)
{
    enum nl_job_state state = NL_JOB_COMPLETED;
    if (a->failed > 0)
        state = NL_JOB_FAILED;
    else if (a->gone > 0 || a->cancelled || a->ok < a->set.count)
        state = NL_JOB_CANCELLED;
    char reason[160];
    snprintf(reason, sizeof(reason),
             "array: %llu completed, %llu failed, %llu cancelled, %llu "
             "never made",
             (unsigned long long)a->ok, (unsigned long long)a->failed, (unsigned long long)a->gone,
             (unsigned long long)(a->set.count - a->next - a->ahead));
    struct kept *k = kept_get(g, a->id);
    if (k != NULL) { /* tasks_only: its dependency went with its tasks */
        struct nl_err err = {0};
        durable_txn(g->d.dur);
        durable_check(nl_store_gate_delete(g->d.store, a->id, &err), "gate", &err);
        kept_remove(g, k);
    }
    end_kept(g, a->id, state, reason);
    array_remove(g, a);
}

static void array_cancel(struct gate *g, struct array *a)
{
    struct nl_err err = {0};
    if (!a->cancelled) {
        a->cancelled = true;
        struct nl_store_array sa = {
                .job = a->id, .spec = a->spec, .next = a->next, .cancelled = true};
        durable_txn(g->d.dur);
        durable_check(nl_store_array_put(g->d.store, &sa, &err), "array", &err);
    }
    /* Its unfinished tasks: collected first, since cancelling one changes the map. */
    uint64_t *tasks = xcalloc(a->live ? a->live : 1, sizeof(*tasks));
    size_t n = 0;
    for (size_t i = 0; i < g->task_of.cap && n < a->live; i++)
        if (g->task_of.keys[i] != 0 && g->task_of.vals[i] == a->id)
            tasks[n++] = g->task_of.keys[i];
    for (size_t i = 0; i < n; i++) {
        struct kept *k = kept_get(g, tasks[i]);
        if (k != NULL) {
            durable_check(nl_store_gate_delete(g->d.store, k->id, &err), "gate", &err);
            kept_remove(g, k);
            end_kept(g, tasks[i], NL_JOB_CANCELLED, "its array was cancelled");
        } else if (life_cancel(g->d.life, tasks[i], &err) < 0) {
            log_warn("job=%llu array task cancel: %s", (unsigned long long)tasks[i], err.msg);
        }
    }
    free(tasks);
}

/* Make what the array's limit or window and the budget allow; end it when it is done. */
static void array_fill(struct gate *g, struct array *a, size_t *budget)
{
    const struct kept *k = kept_get(g, a->id);
    if (k != NULL && (k->held || !k->tasks_only))
        return; /* held or waiting itself: no task is made */
    if (a->fresh)
        return;
    if (a->next >= a->set.count || a->cancelled) {
        if (a->live == 0)
            array_end(g, a);
        return;
    }
    uint64_t cap = a->set.max_running ? a->set.max_running : GATE_ARRAY_WINDOW;
    if (a->live >= cap)
        return;
    uint64_t want = cap - a->live;
    if (want > a->set.count - a->next)
        want = a->set.count - a->next;
    if (want > *budget)
        want = *budget; /* the rest at the next iterations */
    if (want == 0)
        return;
    const struct nl_store_job *tmpl = array_tmpl(g, a);
    int tenant = tmpl ? nl_tenants_find(g->d.tenants, tmpl->tenant) : -1;
    if (tenant < 0) {
        log_warn("job=%llu array: its tenant is gone or its row unreadable: cancelled",
                 (unsigned long long)a->id);
        array_cancel(g, a);
        return;
    }
    /*
     * The tenant's queue bound holds for tasks as for submissions (the
     * scheduler's count lags this iteration's tasks by at most the budget).
     */
    struct nl_tenant_usage use = {0};
    nl_sched_tenant_usage(g->d.sched, (uint32_t)tenant, &use);
    if (g->d.tenant_queue_max > 0 && use.jobs_pending >= g->d.tenant_queue_max)
        return; /* made once some of the tenant's pending jobs have started or ended */
    if (g->d.tenant_queue_max > 0 && want > g->d.tenant_queue_max - use.jobs_pending)
        want = g->d.tenant_queue_max - use.jobs_pending;
    uint64_t n = 0;
    while (n < want && make_task(g, a, tmpl, tenant))
        n++;
    *budget -= n;
    struct nl_err err = {0};
    struct nl_store_array sa = {.job = a->id, .spec = a->spec, .next = a->next};
    durable_check(nl_store_array_put(g->d.store, &sa, &err), "array", &err);
}

/* A task ended: its array counts it (and may make the next, or end). */
static void task_ended(struct gate *g, const struct life_end *e)
{
    uint64_t aid;
    if (!nl_u64map_del(&g->task_of, e->job, &aid))
        return;
    struct array *a = array_get(g, aid);
    if (a == NULL)
        return;
    a->live--;
    if (e->state == NL_JOB_COMPLETED)
        a->ok++;
    else if (e->state == NL_JOB_CANCELLED)
        a->gone++;
    else
        a->failed++;
}

/*
 * The kept jobs this round's ends concern: those that name an ended job,
 * and every singleton (the ended job may have been the one it waited for).
 * In memory, so that an iteration with ends reads the store only for
 * them, however many jobs wait.
 */
static void mark_concerned(struct gate *g)
{
    if (g->nends == 0)
        return;
    struct nl_u64map ended = {0};
    for (size_t i = 0; i < g->nends; i++) {
        nl_u64map_put(&ended, g->ends[i].job, 1);
        /* A task's end concerns who waits on its array (aftercorr): before task_ended forgets it.
         */
        uint64_t aid;
        if (nl_u64map_get(&g->task_of, g->ends[i].job, &aid))
            nl_u64map_put(&ended, aid, 1);
    }
    for (size_t i = 0; i < g->nkept; i++) {
        struct kept *k = g->kept[i];
        for (size_t j = 0; j < k->nids && !k->dirty; j++)
            k->dirty = nl_u64map_get(&ended, k->ids[j], NULL);
        if (k->singleton && k->dep[0] != '\0')
            k->dirty = true;
        g->deps_dirty |= k->dirty;
    }
    nl_u64map_release(&ended);
}

/* ---- the iteration ---- */

/* Dependencies with after:ID wait for a start or a time: look again at those due. */
static void recheck_due(struct gate *g)
{
    int64_t now = now_read(g->d.clock);
    if (g->recheck_us == 0 || now < g->recheck_us)
        return;
    g->recheck_us = 0;
    for (size_t i = 0; i < g->nkept; i++) {
        struct kept *k = g->kept[i];
        if (k->recheck_us == 0)
            continue;
        if (k->recheck_us <= now) {
            k->recheck_us = 0;
            k->dirty = true;
            g->deps_dirty = true;
        } else if (g->recheck_us == 0 || k->recheck_us < g->recheck_us) {
            g->recheck_us = k->recheck_us;
        }
    }
}

void gate_settle(struct gate *g)
{
    if (!durable_available(g->d.dur))
        return;
    size_t budget = GATE_MAKE_BUDGET;
    recheck_due(g);
    for (int round = 0; round < SETTLE_ROUNDS_MAX; round++) {
        size_t n = 0;
        const struct life_end *le = life_ends(g->d.life, &n);
        for (size_t i = 0; i < n; i++)
            push_end(g, le[i].job, le[i].state);
        life_ends_clear(g->d.life);
        if (g->nends == 0 && !g->deps_dirty && (round > 0 || g->narrays == 0))
            break;
        mark_concerned(g);
        for (size_t i = 0; i < g->nends; i++)
            task_ended(g, &g->ends[i]);
        g->nends = 0;
        if (g->deps_dirty) {
            g->deps_dirty = false;
            evaluate_all(g);
        }
        for (size_t i = g->narrays; i-- > 0;)
            if (i < g->narrays)
                array_fill(g, g->arrays[i], &budget);
    }
    for (size_t i = 0; i < g->narrays; i++)
        g->arrays[i]->fresh = false;
}

/* ---- cancel, hold, release ---- */

bool gate_has(const struct gate *g, uint64_t id)
{
    return kept_get(g, id) != NULL || array_get(g, id) != NULL;
}

int gate_cancel(struct gate *g, uint64_t id, struct nl_err *err)
{
    struct kept *k = kept_get(g, id);
    struct array *a = array_get(g, id);
    if (k == NULL && a == NULL)
        return nl_err_set(err, -ENOENT, "job %llu: not kept by the gate", (unsigned long long)id);
    durable_txn(g->d.dur);
    if (k != NULL) {
        durable_check(nl_store_gate_delete(g->d.store, id, err), "gate", err);
        kept_remove(g, k);
    }
    if (a == NULL) {
        /* A held task of an array is counted by its array at settle, through its end. */
        end_kept(g, id, NL_JOB_CANCELLED, NULL);
        return 0;
    }
    array_cancel(g, a);
    /* Its pending tasks have ended now: settle counts them and ends the array if it is done. */
    gate_settle(g);
    return array_get(g, id) != NULL ? 1 : 0;
}

int gate_update(struct gate *g, const struct nl_store_job *rec, struct nl_err *err)
{
    struct nl_job_spec spec = rec->spec;
    int t = nl_tenants_find(g->d.tenants, rec->tenant);
    if (t < 0)
        return nl_err_set(err, -EINVAL, "tenant: %s is no longer configured", rec->tenant);
    spec.tenant = (uint32_t)t;
    int rc = nl_sched_validate(g->d.sched, &spec, err);
    if (rc < 0)
        return rc;
    durable_txn(g->d.dur);
    durable_check(nl_store_job_update(g->d.store, rec, err), "update", err);
    struct array *a = array_get(g, rec->id);
    if (a != NULL && a->tmpl != NULL) {
        /* Read again at the next task made, so that it carries the update. */
        nl_store_job_release(a->tmpl);
        free(a->tmpl);
        a->tmpl = NULL;
    }
    return 0;
}

int gate_hold(struct gate *g, uint64_t id, struct nl_err *err)
{
    enum nl_job_state st = NL_JOB_NONE;
    int rc = nl_store_job_state(g->d.store, id, &st, NULL, err);
    if (rc < 0)
        return rc;
    if (st != NL_JOB_PENDING)
        return nl_err_set(err, -EBUSY, "job %llu: %s; only a pending job can be held",
                          (unsigned long long)id, nl_job_state_name(st));
    struct kept *k = kept_get(g, id);
    if (k != NULL && k->held)
        return 0;
    /* Not kept yet and no array job: it is in the scheduler, which must let it go first. */
    if (k == NULL && array_get(g, id) == NULL && (rc = life_withdraw(g->d.life, id, err)) < 0)
        return rc;
    durable_txn(g->d.dur);
    if (k == NULL)
        k = kept_add(g, id, true, "");
    k->held = true;
    struct nl_store_gate sg = {.job = id, .held = true, .dependency = k->dep};
    durable_check(nl_store_gate_put(g->d.store, &sg, err), "hold", err);
    gate_event(g, id, "held", "");
    log_info("job=%llu held", (unsigned long long)id);
    return 0;
}

int gate_release(struct gate *g, uint64_t id, struct nl_err *err)
{
    struct kept *k = kept_get(g, id);
    if (k == NULL || !k->held)
        return nl_err_set(err, -EBUSY, "job %llu: not held", (unsigned long long)id);
    k->held = false;
    gate_event(g, id, "released", "");
    log_info("job=%llu released", (unsigned long long)id);
    if (k->dep[0] == '\0') {
        let_go(g, k);
        return 0;
    }
    durable_txn(g->d.dur);
    struct nl_store_gate sg = {.job = id, .held = false, .dependency = k->dep};
    durable_check(nl_store_gate_put(g->d.store, &sg, err), "release", err);
    k->dirty = true;
    g->deps_dirty = true;
    return 0;
}

/* ---- reading ---- */

void gate_counts(const struct gate *g, struct gate_counts *out)
{
    *out = (struct gate_counts){.arrays = g->narrays, .tasks = g->task_of.n};
    for (size_t i = 0; i < g->nkept; i++) {
        if (g->kept[i]->held)
            out->held++;
        else if (g->kept[i]->dep[0] != '\0')
            out->dependency++;
    }
}

int gate_task_find(struct gate *g, uint64_t id, uint32_t index, uint64_t *task, struct nl_err *err)
{
    int rc = nl_store_array_task_find(g->d.store, id, index, task, err);
    if (rc != -ENOENT)
        return rc;
    struct array *a = array_get(g, id);
    if (a != NULL) {
        int64_t pos = nl_idxset_pos(&a->set, index);
        if (pos >= (int64_t)a->next && !a->cancelled)
            return 1;
        if (pos >= 0)
            return nl_err_set(err, -ENOENT, "job %llu_%u: never made (the array was cancelled)",
                              (unsigned long long)id, index);
    }
    return nl_err_set(err, -ENOENT, "job %llu_%u: no such array task", (unsigned long long)id,
                      index);
}

int gate_cancel_unmade(struct gate *g, uint64_t id, uint32_t index, uint64_t *task,
                       struct nl_err *err)
{
    struct array *a = array_get(g, id);
    int64_t pos = a ? nl_idxset_pos(&a->set, index) : -1;
    uint64_t made = 0;
    if (pos < (int64_t)(a ? a->next : 0) || a->cancelled ||
        nl_store_array_task_find(g->d.store, id, index, &made, NULL) == 0)
        return nl_err_set(err, -ENOENT, "job %llu_%u: no task still to be made",
                          (unsigned long long)id, index);
    const struct nl_store_job *tmpl = array_tmpl(g, a);
    int tenant = tmpl ? nl_tenants_find(g->d.tenants, tmpl->tenant) : -1;
    if (tenant < 0)
        return nl_err_set(err, -EIO, "job %llu: its template or tenant is gone",
                          (unsigned long long)id);
    /* Made now, out of turn, and ended at once: the array skips it when its turn comes. */
    struct nl_store_job t;
    *task = insert_task(g, a, tmpl, tenant, index, &t);
    nl_store_job_release(&t);
    end_kept(g, *task, NL_JOB_CANCELLED, "cancelled before its array made it");
    a->gone++;
    a->ahead++;
    return 0;
}

/* The "array" object of an array job (a live one from memory, an ended one from the store). */
static json_t *array_json(const struct array *a, const char *spec, uint64_t next, bool cancelled)
{
    struct nl_idxset set;
    struct nl_err err = {0};
    if (a == NULL && nl_idxset_parse(spec, &set, &err) < 0)
        return json_null();
    const struct nl_idxset *s = a ? &a->set : &set;
    char pending[256];
    nl_idxset_format(s, cancelled ? s->count : next, 0, pending, sizeof(pending));
    json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:b}", "spec", spec, "count", (json_int_t)s->count,
                          "made", (json_int_t)next, "pending", pending, "cancelled", cancelled);
    json_object_set_new(o, "max_running",
                        s->max_running ? json_integer(s->max_running) : json_null());
    if (a != NULL) {
        json_object_set_new(o, "live", json_integer((json_int_t)a->live));
        json_object_set_new(o, "completed", json_integer((json_int_t)a->ok));
        json_object_set_new(o, "failed", json_integer((json_int_t)a->failed));
        json_object_set_new(o, "cancelled_tasks", json_integer((json_int_t)a->gone));
    }
    if (a == NULL)
        nl_idxset_release(&set);
    return o;
}

static int ended_array_json(const struct nl_store_array *sa, void *arg)
{
    *(json_t **)arg = array_json(NULL, sa->spec, sa->next, sa->cancelled);
    return 0;
}

static void set_reason(json_t *o, const char *reason, const char *text)
{
    json_object_set_new(o, "reason", json_string(reason));
    json_object_set_new(o, "reason_text", json_string(text));
    json_object_set_new(o, "est_start_time", json_null());
}

void gate_job_json(struct gate *g, const struct nl_store_job *rec, json_t *o)
{
    const struct kept *k = kept_get(g, rec->id);
    const struct array *a = array_get(g, rec->id);
    json_t *arr = json_null();
    if (a != NULL) {
        arr = array_json(a, a->spec, a->next, a->cancelled);
    } else if (nl_job_state_terminal(rec->state) && rec->array_job == 0) {
        struct nl_err err = {0};
        json_t *ended = NULL;
        if (nl_store_array_get(g->d.store, rec->id, ended_array_json, &ended, &err) == 0 && ended)
            arr = ended;
    }
    bool is_array = !json_is_null(arr);
    json_object_set_new(o, "array", arr);
    if (is_array) {
        /* An array job runs nothing itself: its tasks have the output files. */
        json_object_set_new(o, "stdout", json_null());
        json_object_set_new(o, "stderr", json_null());
    }
    json_object_set_new(o, "array_job_id",
                        rec->array_job ? json_integer((json_int_t)rec->array_job)
                        : is_array     ? json_integer((json_int_t)rec->id)
                                       : json_null());
    json_object_set_new(o, "array_task_id",
                        rec->array_job ? json_integer(rec->array_index) : json_null());
    json_object_set_new(o, "held", json_boolean(k != NULL && k->held));
    json_object_set_new(o, "dependency",
                        k != NULL && k->dep[0] ? json_string(k->dep) : json_null());
    if (rec->state != NL_JOB_PENDING)
        return;
    char text[400];
    if (k != NULL && k->held) {
        snprintf(text, sizeof(text), "held: nordlys release %llu lets it run",
                 (unsigned long long)rec->id);
        set_reason(o, "Held", text);
    } else if (k != NULL && k->dep[0] && k->never) {
        snprintf(text, sizeof(text),
                 "dependency never satisfied: %s; it stays pending until cancelled (nordlys "
                 "cancel %llu)",
                 k->why, (unsigned long long)rec->id);
        set_reason(o, "DependencyNeverSatisfied", text);
    } else if (k != NULL && k->dep[0] && !k->tasks_only) {
        snprintf(text, sizeof(text), "waiting for its dependency: %s", k->why);
        set_reason(o, "Dependency", text);
    } else if (a != NULL && a->next < a->set.count && !a->cancelled) {
        uint64_t cap = a->set.max_running ? a->set.max_running : GATE_ARRAY_WINDOW;
        snprintf(text, sizeof(text),
                 "%llu of %llu tasks made, %llu unfinished; the next are made as they end (at "
                 "most %llu at once%s)",
                 (unsigned long long)a->next, (unsigned long long)a->set.count,
                 (unsigned long long)a->live, (unsigned long long)cap,
                 a->set.max_running ? ", its %limit" : "");
        set_reason(o, a->live >= cap && a->set.max_running ? "ArrayTaskLimit" : "ArrayTasks", text);
    } else if (a != NULL) {
        snprintf(text, sizeof(text), "every task has been made; %llu unfinished",
                 (unsigned long long)a->live);
        set_reason(o, "ArrayTasks", text);
    }
}
