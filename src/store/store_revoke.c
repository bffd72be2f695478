/* SPDX-License-Identifier: MIT */
/*
 * store_revoke.c - revoked tokens in the store (see store_revoke.h); the
 * table is schema version 8 in store.c. Its two statements are prepared on
 * first use into the last of store.c's extra slots.
 */
#include "store_revoke.h"

#include <stddef.h>

#include "nordlys/err.h"
#include "store_int.h"

enum revoke_stmt {
    RV_INSERT,
    RV_ALL,
    RV_COUNT
};

_Static_assert(RV_COUNT == STORE_REVOKE_STMTS &&
                       STORE_EXT_REVOKE_FIRST + STORE_REVOKE_STMTS <= STORE_EXT_STMTS,
               "store_int.h: STORE_REVOKE_STMTS, STORE_EXT_REVOKE_FIRST");

static const char *const rv_sql[RV_COUNT] = {
        [RV_INSERT] = "INSERT INTO token_revocations (kind, value, before_s, at_us, by, reason)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [RV_ALL] = "SELECT kind, value, before_s, at_us, by, reason FROM token_revocations"
                   " ORDER BY id",
};

static sqlite3_stmt *stmt(struct nl_store *st, enum revoke_stmt id, struct nl_err *err)
{
    sqlite3_stmt **slot = &store_ext_stmts(st)[STORE_EXT_REVOKE_FIRST + id];
    if (*slot == NULL) {
        int rc = sqlite3_prepare_v3(store_db(st), rv_sql[id], -1, SQLITE_PREPARE_PERSISTENT, slot,
                                    NULL);
        if (rc != SQLITE_OK) {
            store_db_error(st, rc, "prepare", err);
            *slot = NULL;
        }
    }
    return *slot;
}

int nl_store_revocation_add(struct nl_store *st, const struct nl_store_revocation *r,
                            struct nl_err *err)
{
    int rc = store_need_txn(st, "token revocation", err);
    sqlite3_stmt *s;
    if (rc < 0 || (s = stmt(st, RV_INSERT, err)) == NULL)
        return rc < 0 ? rc : err->code;
    sqlite3_bind_text(s, 1, r->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, r->before_s);
    sqlite3_bind_int64(s, 4, r->at_us);
    sqlite3_bind_text(s, 5, r->by ? r->by : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, r->reason ? r->reason : "", -1, SQLITE_STATIC);
    rc = store_exec(st, s, "token revocation", err);
    sqlite3_clear_bindings(s);
    return rc;
}

int nl_store_revocations_load(struct nl_store *st, nl_store_revocation_fn fn, void *arg,
                              struct nl_err *err)
{
    sqlite3_stmt *s = stmt(st, RV_ALL, err);
    if (s == NULL)
        return err->code;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct nl_store_revocation r = {
                .kind = (const char *)sqlite3_column_text(s, 0),
                .value = (const char *)sqlite3_column_text(s, 1),
                .before_s = sqlite3_column_int64(s, 2),
                .at_us = sqlite3_column_int64(s, 3),
                .by = (const char *)sqlite3_column_text(s, 4),
                .reason = (const char *)sqlite3_column_text(s, 5),
        };
        if ((ret = fn(&r, arg)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = store_db_error(st, rc, "token revocations", err);
    sqlite3_reset(s);
    return ret;
}
