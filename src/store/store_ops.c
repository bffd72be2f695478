/* SPDX-License-Identifier: MIT */
/*
 * store_ops.c - drained nodes, reservations and run history in the store
 * (see store_ops.h); the tables are schema version 5 in store.c. Its
 * statements are prepared on first use into store.c's extra slots.
 */
#include "store_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "nordlys/err.h"
#include "store_int.h"

enum ops_stmt {
    OP_DRAIN_SET,
    OP_DRAIN_CLEAR,
    OP_DRAINS,
    OP_RESV_INSERT,
    OP_RESV_DELETE,
    OP_RESVS,
    OP_HISTORY,
    OP_JOB_RUNS,
    OP_COUNT
};

_Static_assert(OP_COUNT <= STORE_EXT_EVENTS_FIRST, "store_int.h: the ops' slots are too few");

static const char *const op_sql[OP_COUNT] = {
        [OP_DRAIN_SET] = "INSERT OR REPLACE INTO node_drain (node, reason, by, at_us)"
                         " VALUES (?1, ?2, ?3, ?4)",
        [OP_DRAIN_CLEAR] = "DELETE FROM node_drain WHERE node = ?1",
        [OP_DRAINS] = "SELECT node, reason, by, at_us FROM node_drain ORDER BY node",
        [OP_RESV_INSERT] = "INSERT INTO reservations (name, tenant, start_us, end_us, nodes, by,"
                           " created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        [OP_RESV_DELETE] = "DELETE FROM reservations WHERE id = ?1",
        [OP_RESVS] = "SELECT id, name, tenant, start_us, end_us, nodes, by, created_us"
                     " FROM reservations ORDER BY id",
        /* The window bounds end_us, so the index job_runs_end reads only the window's rows. */
        [OP_HISTORY] = "SELECT job, run, name, tenant, user, gpus, state, submit_us, start_us,"
                       " end_us, exit_code, exit_signal, nodes, reason FROM job_runs"
                       " WHERE end_us >= ?1 AND end_us < ?2"
                       " AND (?3 IS NULL OR instr(?3, ',' || tenant || ',') > 0)"
                       " AND (?4 IS NULL OR user = ?4)"
                       " AND (?5 IS NULL OR instr(?5, ',' || state || ',') > 0)"
                       " AND (?6 IS NULL OR end_us < ?6 OR (end_us = ?6 AND (job < ?7"
                       " OR (job = ?7 AND run < ?8))))"
                       " ORDER BY end_us DESC, job DESC, run DESC LIMIT ?9",
        /* One job's ended runs: the primary key (job, run) reads only its rows. */
        [OP_JOB_RUNS] = "SELECT job, run, name, tenant, user, gpus, state, submit_us, start_us,"
                        " end_us, exit_code, exit_signal, nodes, reason FROM job_runs"
                        " WHERE job = ?1 ORDER BY run",
};

static sqlite3_stmt *stmt(struct nl_store *st, enum ops_stmt id, struct nl_err *err)
{
    sqlite3_stmt **slot = &store_ext_stmts(st)[id];
    if (*slot == NULL) {
        int rc = sqlite3_prepare_v3(store_db(st), op_sql[id], -1, SQLITE_PREPARE_PERSISTENT, slot,
                                    NULL);
        if (rc != SQLITE_OK) {
            store_db_error(st, rc, "prepare", err);
            *slot = NULL;
        }
    }
    return *slot;
}

static void done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* ---- drained nodes ---- */

int nl_store_drain_set(struct nl_store *st, const struct nl_store_drain *d, struct nl_err *err)
{
    int rc = store_need_txn(st, "drain", err);
    sqlite3_stmt *s;
    if (rc < 0 || (s = stmt(st, OP_DRAIN_SET, err)) == NULL)
        return rc < 0 ? rc : err->code;
    sqlite3_bind_int64(s, 1, d->node);
    sqlite3_bind_text(s, 2, d->reason ? d->reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, d->by ? d->by : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, d->at_us);
    return store_exec(st, s, "drain", err);
}

int nl_store_drain_clear(struct nl_store *st, uint32_t node, struct nl_err *err)
{
    int rc = store_need_txn(st, "resume", err);
    sqlite3_stmt *s;
    if (rc < 0 || (s = stmt(st, OP_DRAIN_CLEAR, err)) == NULL)
        return rc < 0 ? rc : err->code;
    sqlite3_bind_int64(s, 1, node);
    return store_exec(st, s, "resume", err);
}

/* Step a read statement to its end, handing each row to row(); its return stops the walk. */
static int walk(struct nl_store *st, sqlite3_stmt *s, const char *what,
                int (*row)(sqlite3_stmt *s, void *ctx), void *ctx, struct nl_err *err)
{
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if ((ret = row(s, ctx)) != 0)
            break;
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store_db_error(st, rc, what, err);
    done(s);
    return ret;
}

struct drain_ctx {
    nl_store_drain_fn fn;
    void *arg;
};

static int drain_row(sqlite3_stmt *s, void *ctx)
{
    struct drain_ctx *x = ctx;
    struct nl_store_drain d = {.node = (uint32_t)sqlite3_column_int64(s, 0),
                               .reason = col_text(s, 1),
                               .by = col_text(s, 2),
                               .at_us = sqlite3_column_int64(s, 3)};
    return x->fn(&d, x->arg);
}

int nl_store_drains_load(struct nl_store *st, nl_store_drain_fn fn, void *arg, struct nl_err *err)
{
    sqlite3_stmt *s = stmt(st, OP_DRAINS, err);
    if (s == NULL)
        return err->code;
    struct drain_ctx x = {fn, arg};
    return walk(st, s, "drains", drain_row, &x, err);
}

/* ---- reservations ---- */

/* "0,1,5" from nodes (malloc'd). */
static char *nodes_text(const uint32_t *nodes, size_t n)
{
    char *t = xmalloc(n * 11 + 1);
    size_t k = 0;
    t[0] = '\0';
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(t + k, 12, "%s%u", i ? "," : "", nodes[i]);
    return t;
}

int nl_store_resv_insert(struct nl_store *st, const struct nl_store_resv *r, uint64_t *id,
                         struct nl_err *err)
{
    int rc = store_need_txn(st, "reservation", err);
    sqlite3_stmt *s;
    if (rc < 0 || (s = stmt(st, OP_RESV_INSERT, err)) == NULL)
        return rc < 0 ? rc : err->code;
    char *nodes = nodes_text(r->nodes, r->nnodes);
    sqlite3_bind_text(s, 1, r->name ? r->name : "", -1, SQLITE_STATIC);
    if (r->tenant != NULL)
        sqlite3_bind_text(s, 2, r->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, r->start_us);
    sqlite3_bind_int64(s, 4, r->end_us);
    sqlite3_bind_text(s, 5, nodes, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, r->by ? r->by : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, r->created_us);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *id = (uint64_t)sqlite3_column_int64(s, 0);
        done(s);
        free(nodes);
        store_wrote(st); /* RETURNING made its change in that first step */
        return 0;
    }
    done(s);
    free(nodes);
    return store_db_error(st, rc, "reservation", err);
}

int nl_store_resv_delete(struct nl_store *st, uint64_t id, struct nl_err *err)
{
    int rc = store_need_txn(st, "reservation delete", err);
    sqlite3_stmt *s;
    if (rc < 0 || (s = stmt(st, OP_RESV_DELETE, err)) == NULL)
        return rc < 0 ? rc : err->code;
    sqlite3_bind_int64(s, 1, (int64_t)id);
    if ((rc = store_exec(st, s, "reservation delete", err)) < 0)
        return rc;
    if (sqlite3_changes(store_db(st)) == 0)
        return nl_err_set(err, -ENOENT, "reservation %llu: no such reservation",
                          (unsigned long long)id);
    return 0;
}

struct resv_ctx {
    nl_store_resv_fn fn;
    void *arg;
};

static int resv_row(sqlite3_stmt *s, void *ctx)
{
    struct resv_ctx *x = ctx;
    const char *text = col_text(s, 5);
    size_t cap = 1;
    for (const char *p = text; p && *p; p++)
        cap += *p == ',';
    uint32_t *nodes = xmalloc(cap * sizeof(uint32_t));
    size_t n = 0;
    for (const char *p = text; p && *p && n < cap;) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p)
            break; /* not written by nl_store_resv_insert: the rest is unreadable */
        nodes[n++] = (uint32_t)v;
        p = *end == ',' ? end + 1 : end;
    }
    struct nl_store_resv r = {.id = (uint64_t)sqlite3_column_int64(s, 0),
                              .name = col_text(s, 1),
                              .tenant = col_text(s, 2),
                              .start_us = sqlite3_column_int64(s, 3),
                              .end_us = sqlite3_column_int64(s, 4),
                              .nodes = nodes,
                              .nnodes = n,
                              .by = col_text(s, 6),
                              .created_us = sqlite3_column_int64(s, 7)};
    int rc = x->fn(&r, x->arg);
    free(nodes);
    return rc;
}

int nl_store_resvs_load(struct nl_store *st, nl_store_resv_fn fn, void *arg, struct nl_err *err)
{
    sqlite3_stmt *s = stmt(st, OP_RESVS, err);
    if (s == NULL)
        return err->code;
    struct resv_ctx x = {fn, arg};
    return walk(st, s, "reservations", resv_row, &x, err);
}

/* ---- history ---- */

struct run_ctx {
    nl_store_run_fn fn;
    void *arg;
};

static int run_row(sqlite3_stmt *s, void *ctx)
{
    struct run_ctx *x = ctx;
    struct nl_store_run r = {.job = (uint64_t)sqlite3_column_int64(s, 0),
                             .run = (uint32_t)sqlite3_column_int64(s, 1),
                             .name = col_text(s, 2),
                             .tenant = col_text(s, 3),
                             .user = col_text(s, 4),
                             .gpus = (uint32_t)sqlite3_column_int64(s, 5),
                             .state = col_text(s, 6),
                             .submit_us = sqlite3_column_int64(s, 7),
                             .start_us = sqlite3_column_int64(s, 8),
                             .end_us = sqlite3_column_int64(s, 9),
                             .has_exit = sqlite3_column_type(s, 10) != SQLITE_NULL,
                             .exit_code = sqlite3_column_int(s, 10),
                             .exit_signal = sqlite3_column_int(s, 11),
                             .nodes = col_text(s, 12),
                             .reason = col_text(s, 13)};
    return x->fn(&r, x->arg);
}

int nl_store_history(struct nl_store *st, const struct nl_store_history_filter *f,
                     nl_store_run_fn fn, void *arg, struct nl_err *err)
{
    if (f->limit == 0)
        return nl_err_set(err, -EINVAL, "store: history: a limit is required");
    sqlite3_stmt *s = stmt(st, OP_HISTORY, err);
    if (s == NULL)
        return err->code;
    sqlite3_bind_int64(s, 1, f->since_us);
    sqlite3_bind_int64(s, 2, f->until_us);
    if (f->tenants != NULL)
        sqlite3_bind_text(s, 3, f->tenants, -1, SQLITE_STATIC);
    if (f->user != NULL)
        sqlite3_bind_text(s, 4, f->user, -1, SQLITE_STATIC);
    if (f->states != NULL)
        sqlite3_bind_text(s, 5, f->states, -1, SQLITE_STATIC);
    if (f->has_after) {
        sqlite3_bind_int64(s, 6, f->after_end_us);
        sqlite3_bind_int64(s, 7, (int64_t)f->after_job);
        sqlite3_bind_int64(s, 8, f->after_run);
    }
    sqlite3_bind_int64(s, 9, (int64_t)f->limit);
    struct run_ctx x = {fn, arg};
    return walk(st, s, "history", run_row, &x, err);
}

int nl_store_job_runs(struct nl_store *st, uint64_t job, nl_store_run_fn fn, void *arg,
                      struct nl_err *err)
{
    sqlite3_stmt *s = stmt(st, OP_JOB_RUNS, err);
    if (s == NULL)
        return err->code;
    sqlite3_bind_int64(s, 1, (int64_t)job);
    struct run_ctx x = {fn, arg};
    return walk(st, s, "job runs", run_row, &x, err);
}
