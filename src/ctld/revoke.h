/* SPDX-License-Identifier: MIT */
/*
 * revoke.h - revoked tokens: one token by its jti, or every token of a
 * user (the tokens' sub) issued at or before a time. The auth point asks
 * revoke_check on every request after the token verified (a cached
 * verification too), so a revoked token gets 401 from the next request on.
 *
 * The per-request cost is what matters (it is on the path of every
 * submission): with nothing revoked the check is one comparison; else two
 * lookups in an open-addressing table keyed by a hash of (kind, value).
 *
 * The list is the store's table token_revocations (store_revoke.h),
 * reloaded by revoke_load at start; an entry added by the API is inserted
 * into the iteration's transaction by the handler and added here at once
 * (a COMMIT that then fails leaves it here until the next start: failing
 * closed). Entries are never removed: a revoked jti stays refused until
 * the key changes, and the list grows by one entry a revocation.
 *
 * A module of the lowest layer: it calls nothing of src/ctld but token.h's
 * claims (and the store).
 */
#ifndef NL_CTLD_REVOKE_H
#define NL_CTLD_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctld/token.h"

struct nl_err;
struct nl_store;
struct revoke;

enum revoke_kind {
    REVOKE_JTI,
    REVOKE_USER
};

struct revoke_entry {
    enum revoke_kind kind;
    char value[TOKEN_NAME_MAX]; /* the jti, or the user */
    int64_t before_s;           /* REVOKE_USER: tokens with iat <= before_s are revoked */
    int64_t at_us;              /* when */
    char by[TOKEN_NAME_MAX];    /* the admin who revoked */
    char reason[200];
};

struct revoke *revoke_create(void);
void revoke_destroy(struct revoke *r);

/* "jti" or "user"; revoke_kind_parse: -1 for anything else. */
const char *revoke_kind_name(enum revoke_kind k);
int revoke_kind_parse(const char *name);

/*
 * Add e (copied). -EINVAL with err naming the field when its value is
 * empty or too long (jti: 1..39 bytes, user: 1..63) or holds a control
 * character. A user revoked again keeps the latest before_s.
 */
int revoke_add(struct revoke *r, const struct revoke_entry *e, struct nl_err *err);

/*
 * Whether the token of claims c is revoked; if so, why[0..n) says so
 * for the 401 ("token: revoked (jti J) at 2026-11-29T18:00:00Z by root:
 * REASON").
 */
bool revoke_check(const struct revoke *r, const struct token_claims *c, char *why, size_t n);

/* The cut-off of user's revocation (tokens with iat <= it are revoked); INT64_MIN if none. */
int64_t revoke_user_before(const struct revoke *r, const char *user);

/* The entries, oldest first (for GET /v1/tokens/revocations). */
size_t revoke_count(const struct revoke *r);
const struct revoke_entry *revoke_get(const struct revoke *r, size_t i);

/* Add every stored revocation of st (at start). -EIO etc. with err. */
int revoke_load(struct revoke *r, struct nl_store *st, struct nl_err *err);
/* Insert e into st's open transaction (the handler's write; then revoke_add). */
int revoke_store(struct nl_store *st, const struct revoke_entry *e, struct nl_err *err);

#endif
