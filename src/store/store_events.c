/* SPDX-License-Identifier: MIT */
/*
 * store_events.c - a job's recorded events in the store (see
 * store_events.h); the table is schema version 8 in store.c. Statements
 * are prepared on first use into store.c's extra slots, from
 * STORE_EXT_EVENTS_FIRST on.
 */
#include "store_events.h"

#include <stddef.h>

#include "nordlys/err.h"
#include "store_int.h"

enum ev_stmt {
    EV_ADD,
    EV_LOAD,
    EV_COUNT
};

_Static_assert(STORE_EXT_EVENTS_FIRST + EV_COUNT <= STORE_EXT_STMTS,
               "store_int.h: STORE_EXT_STMTS is too small");

static const char *const ev_sql[EV_COUNT] = {
        /* The next seq of the job: a read of the primary key's last entry for it. */
        [EV_ADD] = "INSERT INTO job_events (job, seq, at_us, kind, detail) VALUES (?1,"
                   " (SELECT IFNULL(MAX(seq) + 1, 0) FROM job_events WHERE job = ?1), ?2, ?3, ?4)",
        [EV_LOAD] = "SELECT at_us, kind, detail FROM job_events WHERE job = ?1 ORDER BY seq",
};

static sqlite3_stmt *stmt(struct nl_store *st, enum ev_stmt id, struct nl_err *err)
{
    sqlite3_stmt **slot = &store_ext_stmts(st)[STORE_EXT_EVENTS_FIRST + id];
    if (*slot == NULL) {
        int rc = sqlite3_prepare_v3(store_db(st), ev_sql[id], -1, SQLITE_PREPARE_PERSISTENT, slot,
                                    NULL);
        if (rc != SQLITE_OK) {
            store_db_error(st, rc, "prepare", err);
            *slot = NULL;
        }
    }
    return *slot;
}

int nl_store_event_add(struct nl_store *st, const struct nl_store_event *e, struct nl_err *err)
{
    int rc = store_need_txn(st, "job event", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, EV_ADD, err);
    if (s == NULL)
        return err->code;
    sqlite3_bind_int64(s, 1, (int64_t)e->job);
    sqlite3_bind_int64(s, 2, e->at_us);
    sqlite3_bind_text(s, 3, e->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, e->detail != NULL ? e->detail : "", -1, SQLITE_STATIC);
    return store_exec(st, s, "job event", err);
}

int nl_store_events_load(struct nl_store *st, uint64_t job, nl_store_event_fn fn, void *arg,
                         struct nl_err *err)
{
    sqlite3_stmt *s = stmt(st, EV_LOAD, err);
    if (s == NULL)
        return err->code;
    sqlite3_bind_int64(s, 1, (int64_t)job);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct nl_store_event e = {.job = job,
                                   .at_us = sqlite3_column_int64(s, 0),
                                   .kind = (const char *)sqlite3_column_text(s, 1),
                                   .detail = (const char *)sqlite3_column_text(s, 2)};
        if ((ret = fn(&e, arg)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store_db_error(st, rc, "job events", err);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}
