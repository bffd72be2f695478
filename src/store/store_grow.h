/* SPDX-License-Identifier: MIT */
/*
 * store_grow.h - racks added to the running facility (expansion online,
 * issue 11), kept in order so that a restart grows the facility from its
 * file the same way. Same rules as store.h: writes inside the caller's
 * transaction, errors as negative errno values with the reason in err,
 * strings borrowed.
 */
#ifndef NL_STORE_STORE_GROW_H
#define NL_STORE_STORE_GROW_H

#include <stdint.h>

#include "nordlys/facility.h"

struct nl_err;
struct nl_store;

struct nl_store_growth {
    struct nl_facility_growth g;
    const char *by; /* the token subject that added the racks */
    int64_t at_us;  /* Unix microseconds */
};

/* Append a growth after the earlier ones. */
int nl_store_growth_add(struct nl_store *st, const struct nl_store_growth *g, struct nl_err *err);
typedef int (*nl_store_growth_fn)(const struct nl_store_growth *g, void *arg);
/* Every growth, oldest first; non-zero from fn stops the walk and is returned. */
int nl_store_growths_load(struct nl_store *st, nl_store_growth_fn fn, void *arg,
                          struct nl_err *err);

#endif
