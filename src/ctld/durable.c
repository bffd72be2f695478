/* SPDX-License-Identifier: MIT */
/* durable.c - the durability rule (see durable.h). */
#include "durable.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "ctld/http.h"
#include "ctld/now.h"
#include "nordlys/err.h"
#include "store/store.h"

/* While the store cannot commit, how often to try again. */
#define STORE_PROBE_INTERVAL_US 1000000

struct durable {
    struct nl_store *store; /* borrowed */
    struct now *clock;      /* borrowed */
    bool unavailable;
    char reason[320];       /* why the store cannot commit, for 503 answers */
    int64_t next_probe_us;  /* while unavailable */
    struct http_req **held; /* answers held for this iteration's COMMIT */
    size_t nheld, held_cap;
    struct durable_log log; /* the audit log; pending NULL when none */
};

struct durable *durable_create(struct nl_store *st, struct now *clock)
{
    struct durable *d = xcalloc(1, sizeof(*d));
    d->store = st;
    d->clock = clock;
    return d;
}

void durable_attach_log(struct durable *d, const struct durable_log *log)
{
    d->log = *log;
}

static bool log_pending(const struct durable *d)
{
    return d->log.pending != NULL && d->log.pending(d->log.arg);
}

void durable_destroy(struct durable *d)
{
    if (d == NULL)
        return;
    free(d->held);
    free(d);
}

void durable_fatal(const char *what, const struct nl_err *err)
{
    log_err("fatal: %s: %s; exiting so that a restart reloads the store", what,
            err ? err->msg : "");
    exit(1);
}

void durable_check(int rc, const char *what, const struct nl_err *err)
{
    if (rc < 0)
        durable_fatal(what, err);
}

void durable_txn(struct durable *d)
{
    if (nl_store_in_txn(d->store))
        return;
    struct nl_err err = {0};
    if (nl_store_begin(d->store, &err) < 0)
        durable_fatal("begin", &err);
}

bool durable_available(const struct durable *d)
{
    return !d->unavailable;
}

const char *durable_reason(const struct durable *d)
{
    return d->reason;
}

void durable_hold(struct durable *d, struct http_req *req)
{
    /* The durability rule: nothing is answered before this iteration's writes are on disk. */
    if ((!nl_store_in_txn(d->store) || nl_store_txn_writes(d->store) == 0) && !log_pending(d))
        return;
    /*
     * Unless nothing can be written: writes are refused before they run,
     * and what this iteration logged (the audit records of those refusals)
     * is dropped. Holding a read's answer then would only turn it into a
     * 503 when the commit is skipped (seen: a GET answered in the same
     * iteration as a refused POST).
     */
    if (d->unavailable)
        return;
    http_req_hold(req);
    /* Kept so that a failed COMMIT can replace the answer (the connection waits meanwhile). */
    if (d->nheld == d->held_cap) {
        d->held_cap = xgrow(d->held_cap, d->nheld + 1);
        d->held = xreallocarray(d->held, d->held_cap, sizeof(*d->held));
    }
    d->held[d->nheld++] = req;
}

/* The reason of a store message ("store: commit: database or disk is full" -> its last part). */
static const char *reason_of(const char *msg)
{
    const char *r = msg, *p;
    while ((p = strstr(r, ": ")) != NULL)
        r = p + 2;
    return r;
}

/* Replace every held answer with 503 store_unavailable (the error object of docs/api.md). */
static void fail_held(struct durable *d)
{
    for (size_t i = 0; i < d->nheld; i++) {
        json_t *o = json_pack("{s:{s:i, s:s, s:s}}", "error", "status", 503, "code",
                              "store_unavailable", "message", d->reason);
        http_reply(d->held[i], 503, "application/json", json_dumps(o, JSON_COMPACT));
        json_decref(o);
    }
    d->nheld = 0;
}

int durable_commit(struct durable *d, double *commit_s, struct nl_err *err)
{
    int rc = 0;
    *commit_s = 0;
    bool logged = log_pending(d);
    if (logged && d->unavailable) {
        /* The records cannot be made durable: neither are their answers given. */
        nl_store_rollback(d->store);
        d->log.settle(d->log.arg, false);
        fail_held(d);
        return 0;
    }
    if (logged) {
        durable_txn(d);
        rc = d->log.write(d->log.arg, err);
    }
    if (rc < 0) {
        nl_store_rollback(d->store);
    } else if (nl_store_in_txn(d->store)) {
        if (nl_store_txn_writes(d->store) == 0 || d->unavailable) {
            nl_store_rollback(d->store);
        } else {
            int64_t t0 = nl_clock_monotonic_us();
            rc = nl_store_commit(d->store, err);
            if (rc == 0)
                *commit_s = (double)(nl_clock_monotonic_us() - t0) / 1e6;
        }
    }
    if (logged)
        d->log.settle(d->log.arg, rc == 0);
    if (rc == 0) {
        d->nheld = 0; /* they go out with their own bodies */
        return 0;
    }
    if (!d->unavailable)
        log_err("store: cannot commit (%s): writes are answered 503 until it can", err->msg);
    d->unavailable = true;
    snprintf(d->reason, sizeof(d->reason), "the database cannot be written: %s",
             reason_of(err->msg));
    d->next_probe_us = now_read(d->clock) + STORE_PROBE_INTERVAL_US;
    fail_held(d);
    return rc;
}

void durable_rollback(struct durable *d)
{
    nl_store_rollback(d->store);
}

bool durable_probe(struct durable *d)
{
    if (!d->unavailable || d->clock->us < d->next_probe_us)
        return false;
    d->next_probe_us = d->clock->us + STORE_PROBE_INTERVAL_US;
    struct nl_err err = {0};
    if (nl_store_probe(d->store, &err) < 0) {
        snprintf(d->reason, sizeof(d->reason), "the database cannot be written: %s",
                 reason_of(err.msg));
        return false;
    }
    log_info("store: commits again: writes accepted");
    d->unavailable = false;
    return true;
}
