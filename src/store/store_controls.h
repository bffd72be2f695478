/* SPDX-License-Identifier: MIT */
/*
 * store_controls.h - signals and time limits for running jobs that an
 * agent has not yet acknowledged (schema version 12): what src/ctld/
 * controls.c reloads at start, so that a control acknowledged to the user
 * reaches the job even when the controller restarts before the agent
 * applied it. Same rules as store.h: writes inside the caller's
 * transaction, errors as negative errno values with the reason in err,
 * strings borrowed.
 */
#ifndef NL_STORE_STORE_CONTROLS_H
#define NL_STORE_STORE_CONTROLS_H

#include <stdint.h>

struct nl_err;
struct nl_store;

struct nl_store_control {
    uint64_t seq;      /* never given twice; set by nl_store_control_add */
    const char *agent; /* the agent it is for */
    uint64_t job;
    uint32_t run;
    int signal;          /* 1..64, or 0 for a time limit */
    double time_limit_s; /* > 0 for a time limit, from the run's start */
};

/* Add c (its seq ignored): *seq gets the new row's, greater than any given before. */
int nl_store_control_add(struct nl_store *st, const struct nl_store_control *c, uint64_t *seq,
                         struct nl_err *err);
/* Forget control seq (acknowledged, replaced, or its run ended); no row is not an error. */
int nl_store_control_delete(struct nl_store *st, uint64_t seq, struct nl_err *err);
typedef int (*nl_store_control_fn)(const struct nl_store_control *c, void *arg);
/* Every control, oldest first; non-zero from fn stops the walk and is returned. */
int nl_store_controls_load(struct nl_store *st, nl_store_control_fn fn, void *arg,
                           struct nl_err *err);

#endif
