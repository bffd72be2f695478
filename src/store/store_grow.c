/* SPDX-License-Identifier: MIT */
/*
 * store_grow.c - the facility_growth table (see store_grow.h; schema in
 * store.c). Its statements live in store.c's extra slots from
 * STORE_EXT_GROW_FIRST on (store_int.h).
 */
#include "store_grow.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nordlys/err.h"
#include "store_int.h"

enum grow_stmt { GR_INSERT, GR_ALL, GR_COUNT };

#define GROW_SLOT0 STORE_EXT_GROW_FIRST
_Static_assert(STORE_EXT_GROW_FIRST + GR_COUNT <= STORE_EXT_REVOKE_FIRST,
               "store_int.h: STORE_EXT_STMTS is too small");

static const char *const grow_sql[GR_COUNT] = {
        [GR_INSERT] = "INSERT INTO facility_growth (site, jurisdiction, racks, racks_per_pod,"
                      " nodes_per_rack, gpus_per_node, site_power_w, facility_power_w, by, at_us)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        [GR_ALL] = "SELECT site, jurisdiction, racks, racks_per_pod, nodes_per_rack, gpus_per_node,"
                   " site_power_w, facility_power_w, by, at_us FROM facility_growth ORDER BY seq",
};

static sqlite3_stmt *stmt(struct nl_store *st, enum grow_stmt id, struct nl_err *err)
{
    sqlite3_stmt **slot = &store_ext_stmts(st)[GROW_SLOT0 + id];
    if (*slot == NULL) {
        int rc = sqlite3_prepare_v3(store_db(st), grow_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    slot, NULL);
        if (rc != SQLITE_OK) {
            store_db_error(st, rc, "prepare", err);
            *slot = NULL;
        }
    }
    return *slot;
}

int nl_store_growth_add(struct nl_store *st, const struct nl_store_growth *g, struct nl_err *err)
{
    int rc = store_need_txn(st, "facility growth", err);
    sqlite3_stmt *s;
    if (rc < 0 || (s = stmt(st, GR_INSERT, err)) == NULL)
        return rc < 0 ? rc : err->code;
    sqlite3_bind_text(s, 1, g->g.site, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, g->g.jurisdiction, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, g->g.racks);
    sqlite3_bind_int64(s, 4, g->g.racks_per_pod);
    sqlite3_bind_int64(s, 5, g->g.nodes_per_rack);
    sqlite3_bind_int64(s, 6, g->g.gpus_per_node);
    sqlite3_bind_double(s, 7, g->g.site_power_w);
    sqlite3_bind_double(s, 8, g->g.facility_power_w);
    sqlite3_bind_text(s, 9, g->by ? g->by : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 10, g->at_us);
    return store_exec(st, s, "facility growth", err);
}

static uint32_t col_u32(sqlite3_stmt *s, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(s, i);
    return v < 0 || v > UINT32_MAX ? 0 : (uint32_t)v;
}

int nl_store_growths_load(struct nl_store *st, nl_store_growth_fn fn, void *arg,
                          struct nl_err *err)
{
    sqlite3_stmt *s = stmt(st, GR_ALL, err);
    if (s == NULL)
        return err->code;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct nl_store_growth g = {0};
        snprintf(g.g.site, sizeof(g.g.site), "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(g.g.jurisdiction, sizeof(g.g.jurisdiction), "%s",
                 (const char *)sqlite3_column_text(s, 1));
        g.g.racks = col_u32(s, 2);
        g.g.racks_per_pod = col_u32(s, 3);
        g.g.nodes_per_rack = col_u32(s, 4);
        g.g.gpus_per_node = col_u32(s, 5);
        g.g.site_power_w = sqlite3_column_double(s, 6);
        g.g.facility_power_w = sqlite3_column_double(s, 7);
        g.by = (const char *)sqlite3_column_text(s, 8);
        g.at_us = sqlite3_column_int64(s, 9);
        if ((ret = fn(&g, arg)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store_db_error(st, rc, "facility growth", err);
    sqlite3_reset(s);
    return ret;
}
