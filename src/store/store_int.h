/* SPDX-License-Identifier: MIT */
/*
 * store_int.h - what store.c lends the store's other files (store_ops.c):
 * the connection, the transaction rule and the error mapping, so that
 * SQLite still stays inside src/store. Not part of the store's API.
 */
#ifndef NL_STORE_STORE_INT_H
#define NL_STORE_STORE_INT_H

#include <sqlite3.h>

struct nl_err;
struct nl_store;

/*
 * Statement slots for the other files, prepared on first use, finalized by
 * nl_store_close: store_ops.c's from 0, store_events.c's from
 * STORE_EXT_EVENTS_FIRST, store_grow.c's from STORE_EXT_GROW_FIRST,
 * store_revoke.c's from STORE_EXT_REVOKE_FIRST, store_controls.c's from
 * STORE_EXT_CONTROL_FIRST.
 */
#define STORE_EXT_STMTS 25
/* The first slot of store_events.c's; store_ops.c has those before it. */
#define STORE_EXT_EVENTS_FIRST 16
/* The first slot of store_grow.c's (facility growth), after store_events.c's. */
#define STORE_EXT_GROW_FIRST 18
/* The first slot of store_revoke.c's (STORE_REVOKE_STMTS), the last ones. */
#define STORE_EXT_REVOKE_FIRST 20
#define STORE_REVOKE_STMTS     2
/* The first slot of store_controls.c's (STORE_CONTROL_STMTS), after store_revoke.c's. */
#define STORE_EXT_CONTROL_FIRST 22
#define STORE_CONTROL_STMTS     3

sqlite3 *store_db(struct nl_store *st);
sqlite3_stmt **store_ext_stmts(struct nl_store *st);
/* -EPERM outside a transaction, the lost transaction's error after SQLite rolled it back. */
int store_need_txn(struct nl_store *st, const char *what, struct nl_err *err);
/* A SQLite result code as a negative errno, err saying "store: WHAT: message". */
int store_db_error(struct nl_store *st, int rc, const char *what, struct nl_err *err);
/* Step a write statement once and reset it; a failure that rolled the transaction back sticks. */
int store_exec(struct nl_store *st, sqlite3_stmt *s, const char *what, struct nl_err *err);
/* Count a write made by a statement stepped by hand (an INSERT ... RETURNING). */
void store_wrote(struct nl_store *st);

#endif
