/* SPDX-License-Identifier: MIT */
/*
 * store_controls.c - controls waiting for an agent (see store_controls.h);
 * the table is schema version 12 in store.c. Its statements are prepared
 * on first use into store.c's extra slots from STORE_EXT_CONTROL_FIRST.
 */
#include "store_controls.h"

#include <stddef.h>

#include "nordlys/err.h"
#include "store_int.h"

enum control_stmt {
    CT_INSERT,
    CT_DELETE,
    CT_ALL,
    CT_COUNT
};

_Static_assert(CT_COUNT == STORE_CONTROL_STMTS &&
                       STORE_EXT_CONTROL_FIRST + STORE_CONTROL_STMTS <= STORE_EXT_STMTS,
               "store_int.h: STORE_CONTROL_STMTS, STORE_EXT_CONTROL_FIRST");

static const char *const ct_sql[CT_COUNT] = {
        [CT_INSERT] = "INSERT INTO run_controls (agent, job, run, signal, time_limit_s)"
                      " VALUES (?1, ?2, ?3, ?4, ?5)",
        [CT_DELETE] = "DELETE FROM run_controls WHERE seq = ?1",
        [CT_ALL] = "SELECT seq, agent, job, run, signal, time_limit_s FROM run_controls"
                   " ORDER BY seq",
};

static sqlite3_stmt *stmt(struct nl_store *st, enum control_stmt id, struct nl_err *err)
{
    sqlite3_stmt **slot = &store_ext_stmts(st)[STORE_EXT_CONTROL_FIRST + id];
    if (*slot == NULL) {
        int rc = sqlite3_prepare_v3(store_db(st), ct_sql[id], -1, SQLITE_PREPARE_PERSISTENT, slot,
                                    NULL);
        if (rc != SQLITE_OK) {
            store_db_error(st, rc, "prepare", err);
            *slot = NULL;
        }
    }
    return *slot;
}

int nl_store_control_add(struct nl_store *st, const struct nl_store_control *c, uint64_t *seq,
                         struct nl_err *err)
{
    int rc = store_need_txn(st, "run control", err);
    sqlite3_stmt *s;
    if (rc < 0 || (s = stmt(st, CT_INSERT, err)) == NULL)
        return rc < 0 ? rc : err->code;
    sqlite3_bind_text(s, 1, c->agent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)c->job);
    sqlite3_bind_int64(s, 3, c->run);
    sqlite3_bind_int(s, 4, c->signal);
    sqlite3_bind_double(s, 5, c->time_limit_s);
    rc = store_exec(st, s, "run control", err);
    sqlite3_clear_bindings(s);
    if (rc == 0)
        *seq = (uint64_t)sqlite3_last_insert_rowid(store_db(st));
    return rc;
}

int nl_store_control_delete(struct nl_store *st, uint64_t seq, struct nl_err *err)
{
    int rc = store_need_txn(st, "run control", err);
    sqlite3_stmt *s;
    if (rc < 0 || (s = stmt(st, CT_DELETE, err)) == NULL)
        return rc < 0 ? rc : err->code;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
    rc = store_exec(st, s, "run control", err);
    sqlite3_clear_bindings(s);
    return rc;
}

int nl_store_controls_load(struct nl_store *st, nl_store_control_fn fn, void *arg,
                           struct nl_err *err)
{
    sqlite3_stmt *s = stmt(st, CT_ALL, err);
    if (s == NULL)
        return err->code;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct nl_store_control c = {
                .seq = (uint64_t)sqlite3_column_int64(s, 0),
                .agent = (const char *)sqlite3_column_text(s, 1),
                .job = (uint64_t)sqlite3_column_int64(s, 2),
                .run = (uint32_t)sqlite3_column_int64(s, 3),
                .signal = sqlite3_column_int(s, 4),
                .time_limit_s = sqlite3_column_double(s, 5),
        };
        if ((ret = fn(&c, arg)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = store_db_error(st, rc, "run controls", err);
    sqlite3_reset(s);
    return ret;
}
