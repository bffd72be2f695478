/* SPDX-License-Identifier: MIT */
/*
 * store_ops.h - what operators change and what `nordlys history` reads:
 * drained nodes, reservations, and the runs that ended (issue 12). Same
 * rules as store.h: writes inside the caller's transaction, errors as
 * negative errno values with the reason in err, strings borrowed.
 */
#ifndef NL_STORE_STORE_OPS_H
#define NL_STORE_STORE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_err;
struct nl_store;

/* ---- drained nodes ---- */

struct nl_store_drain {
    uint32_t node;
    const char *reason; /* why, for people */
    const char *by;     /* the token subject that drained it */
    int64_t at_us;      /* Unix microseconds */
};

/* Drain d->node (replacing an earlier drain's reason, who and when). */
int nl_store_drain_set(struct nl_store *st, const struct nl_store_drain *d, struct nl_err *err);
/* Undrain node; 0 whether or not it was drained. */
int nl_store_drain_clear(struct nl_store *st, uint32_t node, struct nl_err *err);
typedef int (*nl_store_drain_fn)(const struct nl_store_drain *d, void *arg);
/* Every drained node, by node; non-zero from fn stops the walk and is returned. */
int nl_store_drains_load(struct nl_store *st, nl_store_drain_fn fn, void *arg, struct nl_err *err);

/* ---- reservations ---- */

struct nl_store_resv {
    uint64_t id;            /* assigned by nl_store_resv_insert */
    const char *name;
    const char *tenant;     /* NULL: maintenance (nobody runs on its nodes while it lasts) */
    int64_t start_us, end_us;
    const uint32_t *nodes;  /* node indexes */
    size_t nnodes;
    const char *by;         /* the token subject that created it */
    int64_t created_us;
};

/* Insert r (its id ignored) and set *id to its new id (never reused). */
int nl_store_resv_insert(struct nl_store *st, const struct nl_store_resv *r, uint64_t *id,
                         struct nl_err *err);
/* -ENOENT when there is no such reservation. */
int nl_store_resv_delete(struct nl_store *st, uint64_t id, struct nl_err *err);
typedef int (*nl_store_resv_fn)(const struct nl_store_resv *r, void *arg);
/* Every stored reservation in id order (ended ones too, until deleted). */
int nl_store_resvs_load(struct nl_store *st, nl_store_resv_fn fn, void *arg, struct nl_err *err);

/* ---- history: one row per run that ended ---- */

struct nl_store_run {
    uint64_t job;
    uint32_t run;       /* 1 for a job's first start; 0 for a job cancelled before it ran */
    const char *name, *tenant, *user;
    uint32_t gpus;
    const char *state;  /* the job's end state, or PREEMPTED / REQUEUED (node failure,
                         * asked) for a run after which the job waited again */
    int64_t submit_us;
    int64_t start_us;   /* 0 when it never started */
    int64_t end_us;
    bool has_exit;
    int exit_code, exit_signal;
    const char *nodes;  /* node indexes "0,1,5", or NULL */
    const char *reason; /* NULL if none */
};

/* Filters of nl_store_history: runs that ended in [since_us, until_us), newest end first. */
struct nl_store_history_filter {
    int64_t since_us, until_us;
    const char *tenants; /* ",a,b," (one or more tenants), or NULL = all */
    const char *user;    /* NULL = all */
    const char *states; /* ",COMPLETED,FAILED," or NULL = all */
    size_t limit;       /* most rows; required (> 0) */
    /* Paging: only runs before (end_us, job, run) in the order, when has_after. */
    bool has_after;
    int64_t after_end_us;
    uint64_t after_job;
    uint32_t after_run;
};

typedef int (*nl_store_run_fn)(const struct nl_store_run *r, void *arg);
int nl_store_history(struct nl_store *st, const struct nl_store_history_filter *f,
                     nl_store_run_fn fn, void *arg, struct nl_err *err);
/* The ended runs of one job, first run first (its state history, issue 14). */
int nl_store_job_runs(struct nl_store *st, uint64_t job, nl_store_run_fn fn, void *arg,
                      struct nl_err *err);

#endif
