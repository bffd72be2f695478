/* SPDX-License-Identifier: MIT */
/*
 * store_events.h - a job's recorded events (issue 14): what its state
 * history needs that neither its jobs row nor its runs (store_ops.h,
 * job_runs) keep, such as a hold, a release or a dependency met. Same
 * rules as store.h: writes inside the caller's transaction, errors as
 * negative errno values with the reason in err, strings borrowed.
 */
#ifndef NL_STORE_STORE_EVENTS_H
#define NL_STORE_STORE_EVENTS_H

#include <stdint.h>

struct nl_err;
struct nl_store;

struct nl_store_event {
    uint64_t job;
    int64_t at_us;      /* Unix microseconds */
    const char *kind;   /* a word: "held", "released", "dependency_met", ... */
    const char *detail; /* for people; "" when there is nothing more to say */
};

/* Append e to its job's events (after the job's last one). */
int nl_store_event_add(struct nl_store *st, const struct nl_store_event *e, struct nl_err *err);
typedef int (*nl_store_event_fn)(const struct nl_store_event *e, void *arg);
/* job's events in the order they were added; non-zero from fn stops the walk and is returned. */
int nl_store_events_load(struct nl_store *st, uint64_t job, nl_store_event_fn fn, void *arg,
                         struct nl_err *err);

#endif
