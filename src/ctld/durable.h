/* SPDX-License-Identifier: MIT */
/*
 * durable.h - the durability rule (DESIGN.md section 4), in one place.
 *
 * Every change to the store in one loop iteration goes into one
 * transaction (durable_txn opens it on the first write), and every HTTP
 * answer given while that transaction has writes is held until
 * durable_commit has made it durable. A failed COMMIT rolls the
 * transaction back and turns the held answers into 503
 * "store_unavailable"; the store is then unavailable (writes are refused,
 * nothing runs that writes) until durable_probe commits again, about
 * every second. The caller rebuilds its live state from the store after
 * either event, so that memory and disk never disagree. A write that fails
 * inside an iteration (rare: SQLite writes only at COMMIT) is fatal
 * (durable_fatal): the restart reloads the store.
 *
 * Used by every module that writes; calls only the store and http.
 */
#ifndef NL_CTLD_DURABLE_H
#define NL_CTLD_DURABLE_H

#include <stdbool.h>

struct durable;
struct http_req;
struct nl_err;
struct nl_store;
struct now;

/*
 * A log made durable in the store's transaction (the audit log): while
 * pending() it holds answers as the store's writes do, and opens the
 * iteration's transaction if nothing else did (a refusal that changes
 * nothing else is still made durable before its answer). write() inserts
 * its records into the transaction just before COMMIT, so that one COMMIT
 * makes an action and its record durable together; settle() says whether
 * they were committed or rolled back. A failed write() is a failed COMMIT.
 */
struct durable_log {
    bool (*pending)(void *arg);
    int (*write)(void *arg, struct nl_err *err);
    void (*settle)(void *arg, bool committed);
    void *arg;
};

/* A new rule over st and clock (both borrowed for its life); destroy with durable_destroy. */
struct durable *durable_create(struct nl_store *st, struct now *clock);
void durable_destroy(struct durable *d);
/* Make log (copied; its arg borrowed for the rule's life) durable with every COMMIT. */
void durable_attach_log(struct durable *d, const struct durable_log *log);

/* Log and exit; for store failures that leave memory and disk apart. */
void durable_fatal(const char *what, const struct nl_err *err) __attribute__((noreturn));
/* Open this iteration's transaction if none is open. Fatal if BEGIN fails. */
void durable_txn(struct durable *d);
/* Store write rc (< 0: fatal with what and err), for writes that follow a change in memory. */
void durable_check(int rc, const char *what, const struct nl_err *err);

/* False while the store cannot commit: writes are answered 503 with durable_reason. */
bool durable_available(const struct durable *d);
/* Why the store cannot commit; borrowed, valid until the next call. */
const char *durable_reason(const struct durable *d);

/*
 * req's answer has been queued: hold it until this iteration's COMMIT if
 * the transaction has writes (the connection waits meanwhile).
 */
void durable_hold(struct durable *d, struct http_req *req);

/*
 * COMMIT this iteration's writes, if any (while unavailable, or with no
 * writes, the transaction is rolled back). 0, with *commit_s the COMMIT's
 * time (0 when nothing was committed) and the held answers released; or a
 * negative code with err set: the transaction was rolled back, every held
 * answer became a 503, and the store is unavailable until durable_probe.
 */
int durable_commit(struct durable *d, double *commit_s, struct nl_err *err);
/* Roll back whatever the open transaction holds (a rebuild's corrections while unavailable). */
void durable_rollback(struct durable *d);
/* While unavailable: try a small write when due. True when the store commits again. */
bool durable_probe(struct durable *d);

#endif
