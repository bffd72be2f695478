/* SPDX-License-Identifier: MIT */
/*
 * store_revoke.h - revoked tokens in the store (schema version 8): what
 * src/ctld/revoke.c reloads at start so that a revocation survives a
 * restart. Same rules as store.h: writes inside the caller's transaction,
 * errors as negative errno values with the reason in err, strings borrowed.
 */
#ifndef NL_STORE_STORE_REVOKE_H
#define NL_STORE_STORE_REVOKE_H

#include <stdint.h>

struct nl_err;
struct nl_store;

struct nl_store_revocation {
    const char *kind;   /* "jti" (one token) or "user" (every token of a user) */
    const char *value;  /* the jti, or the user (the tokens' sub) */
    int64_t before_s;   /* "user": tokens issued (iat) at or before this are revoked */
    int64_t at_us;      /* when it was revoked, Unix microseconds */
    const char *by;     /* the admin's token subject */
    const char *reason; /* for people; "" = none given */
};

/* Add r (a new row; rows are never changed or removed). */
int nl_store_revocation_add(struct nl_store *st, const struct nl_store_revocation *r,
                            struct nl_err *err);
typedef int (*nl_store_revocation_fn)(const struct nl_store_revocation *r, void *arg);
/* Every revocation, oldest first; non-zero from fn stops the walk and is returned. */
int nl_store_revocations_load(struct nl_store *st, nl_store_revocation_fn fn, void *arg,
                              struct nl_err *err);

#endif
