/* SPDX-License-Identifier: MIT */
/*
 * test_store_ops.c - the store's drains, reservations and run history
 * (store_ops.h): each survives a reopen; every way a run ends writes one
 * history row (end, cancel before start, preemption and node-failure
 * requeues); the history window, filters and paging return exactly the
 * rows they should, newest end first.
 */
/* clang-format off */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
/* clang-format on */

#include "nordlys/err.h"
#include "store/store.h"
#include "fixture.h"
#include "store/store_events.h"
#include "store/store_ops.h"

#define SEC 1000000LL

static int setup(void **state)
{
    struct fixture *f = fixture_open("nl-store-ops");
    *state = f;
    return 0;
}

static void reopen(struct fixture *f)
{
    nl_store_close(f->st);
    f->st = open_store(f->path);
}

static void begin(struct nl_store *st)
{
    struct nl_err err = {0};
    assert_int_equal(nl_store_begin(st, &err), 0);
}

static void commit(struct nl_store *st)
{
    struct nl_err err = {0};
    assert_int_equal(nl_store_commit(st, &err), 0);
}

static uint64_t insert(struct nl_store *st, const char *tenant, const char *user, int64_t t)
{
    struct nl_store_job j;
    nl_store_job_init(&j);
    snprintf(j.name, sizeof(j.name), "n-%s", user);
    snprintf(j.tenant, sizeof(j.tenant), "%s", tenant);
    snprintf(j.run_as, sizeof(j.run_as), "%s", user);
    j.spec.gpus = 2;
    j.spec.time_limit_us = 3600 * SEC;
    j.command_json = "[\"true\"]";
    j.submit_us = t;
    uint64_t id = 0;
    struct nl_err err = {0};
    assert_int_equal(nl_store_job_insert(st, &j, &id, &err), 0);
    return id;
}

static void start(struct nl_store *st, uint64_t id, int64_t t, uint32_t node)
{
    struct nl_alloc_node a[2] = {{node, 0x3}, {node + 1, 0x1}};
    struct nl_err err = {0};
    assert_int_equal(nl_store_job_start(st, id, t, a, 2, NULL, &err), 0);
}

static void end(struct nl_store *st, uint64_t id, enum nl_job_state s, int64_t t, int code)
{
    struct nl_store_end e = {.state = s, .end_us = t, .has_exit = true, .exit_code = code};
    struct nl_err err = {0};
    assert_int_equal(nl_store_job_end(st, id, &e, &err), 0);
}

struct rows {
    struct {
        uint64_t job;
        uint32_t run;
        char state[16], nodes[32];
        int64_t start, end;
        bool has_exit;
    } r[32];
    size_t n;
};

static int collect(const struct nl_store_run *r, void *arg)
{
    struct rows *x = arg;
    assert_true(x->n < 32);
    x->r[x->n].job = r->job;
    x->r[x->n].run = r->run;
    snprintf(x->r[x->n].state, sizeof(x->r[x->n].state), "%s", r->state);
    snprintf(x->r[x->n].nodes, sizeof(x->r[x->n].nodes), "%s", r->nodes ? r->nodes : "");
    x->r[x->n].start = r->start_us;
    x->r[x->n].end = r->end_us;
    x->r[x->n].has_exit = r->has_exit;
    x->n++;
    return 0;
}

static struct rows history(struct nl_store *st, struct nl_store_history_filter f)
{
    struct rows x = {0};
    struct nl_err err = {0};
    if (f.limit == 0)
        f.limit = 100;
    if (f.until_us == 0)
        f.until_us = INT64_MAX;
    assert_int_equal(nl_store_history(st, &f, collect, &x, &err), 0);
    return x;
}

/* Every way a run ends writes its row; the window, filters and paging select exactly. */
static void test_runs(void **state)
{
    struct fixture *f = *state;
    struct nl_store *st = f->st;
    struct nl_err err = {0};
    begin(st);
    uint64_t a = insert(st, "anchor", "alice", 100 * SEC);
    uint64_t b = insert(st, "uk", "bob", 100 * SEC);
    uint64_t c = insert(st, "anchor", "carol", 100 * SEC);
    start(st, a, 110 * SEC, 0);
    end(st, a, NL_JOB_COMPLETED, 200 * SEC, 0);
    start(st, b, 120 * SEC, 2);
    assert_int_equal(nl_store_job_requeue(st, b, true, 30 * SEC, 0, &err), 0); /* ends at 150 */
    start(st, b, 160 * SEC, 1);
    assert_int_equal(nl_store_job_requeue(st, b, false, 10 * SEC, 0, &err), 0); /* 170 */
    start(st, b, 180 * SEC, 0);
    end(st, b, NL_JOB_FAILED, 300 * SEC, 3);
    assert_int_equal(nl_store_job_set_state(st, c, NL_JOB_CANCELLED, 250 * SEC, &err), 0);
    uint64_t d = insert(st, "anchor", "alice", 100 * SEC); /* still pending: no row */
    (void)d;
    commit(st);
    reopen(f);
    st = f->st;
    struct rows x = history(st, (struct nl_store_history_filter){0});
    assert_int_equal(x.n, 5);
    /* Newest end first: b run 3 (300), c (250), a (200), b run 2 (170), b run 1 (150). */
    assert_int_equal(x.r[0].job, b);
    assert_int_equal(x.r[0].run, 3);
    assert_string_equal(x.r[0].state, "FAILED");
    assert_string_equal(x.r[0].nodes, "0,1");
    assert_int_equal(x.r[1].job, c);
    assert_int_equal(x.r[1].run, 0);
    assert_int_equal(x.r[1].start, 0);
    assert_string_equal(x.r[1].state, "CANCELLED");
    assert_int_equal(x.r[2].job, a);
    assert_true(x.r[2].has_exit);
    assert_int_equal(x.r[3].run, 2);
    assert_string_equal(x.r[3].state, "REQUEUED");
    assert_int_equal(x.r[3].end, 170 * SEC);
    assert_string_equal(x.r[3].nodes, "1,2");
    assert_false(x.r[3].has_exit);
    assert_int_equal(x.r[4].run, 1);
    assert_string_equal(x.r[4].state, "PREEMPTED");
    assert_int_equal(x.r[4].end, 150 * SEC);
    /* Window [170, 250): a and b's second run. */
    x = history(st, (struct nl_store_history_filter){.since_us = 170 * SEC, .until_us = 250 * SEC});
    assert_int_equal(x.n, 2);
    assert_int_equal(x.r[0].job, a);
    assert_int_equal(x.r[1].end, 170 * SEC);
    x = history(st, (struct nl_store_history_filter){.user = "alice"});
    assert_int_equal(x.n, 1);
    x = history(st, (struct nl_store_history_filter){.tenants = ",uk,nordics,"});
    assert_int_equal(x.n, 3);
    x = history(st, (struct nl_store_history_filter){.states = ",PREEMPTED,CANCELLED,"});
    assert_int_equal(x.n, 2);
    /* Paging: two at a time, continuing after the last row, sees all five once. */
    struct nl_store_history_filter pf = {.limit = 2};
    size_t seen = 0;
    for (int page = 0; page < 4; page++) {
        x = history(st, pf);
        seen += x.n;
        if (x.n < 2)
            break;
        pf.has_after = true;
        pf.after_end_us = x.r[x.n - 1].end;
        pf.after_job = x.r[x.n - 1].job;
        pf.after_run = x.r[x.n - 1].run;
    }
    assert_int_equal(seen, 5);
    struct nl_store_history_filter bad = {.limit = 0};
    assert_int_equal(nl_store_history(st, &bad, collect, &x, &err), -EINVAL);
}

static int count_drain(const struct nl_store_drain *d, void *arg)
{
    struct rows *x = arg;
    x->r[x->n].job = d->node;
    snprintf(x->r[x->n].state, sizeof(x->r[x->n].state), "%s", d->reason);
    snprintf(x->r[x->n].nodes, sizeof(x->r[x->n].nodes), "%s", d->by);
    x->r[x->n].start = d->at_us;
    x->n++;
    return 0;
}

static int count_resv(const struct nl_store_resv *r, void *arg)
{
    struct rows *x = arg;
    x->r[x->n].job = r->id;
    x->r[x->n].run = (uint32_t)r->nnodes;
    snprintf(x->r[x->n].state, sizeof(x->r[x->n].state), "%s", r->tenant ? r->tenant : "-");
    snprintf(x->r[x->n].nodes, sizeof(x->r[x->n].nodes), "%u,%u", r->nodes[0],
             r->nnodes > 1 ? r->nodes[r->nnodes - 1] : 0);
    x->r[x->n].start = r->start_us;
    x->r[x->n].end = r->end_us;
    x->n++;
    return 0;
}

static void test_drains_and_resvs(void **state)
{
    struct fixture *f = *state;
    struct nl_err err = {0};
    struct nl_store_drain d = {.node = 7, .reason = "psu", .by = "olga", .at_us = 5 * SEC};
    assert_int_equal(nl_store_drain_set(f->st, &d, &err), -EPERM); /* outside a transaction */
    begin(f->st);
    assert_int_equal(nl_store_drain_set(f->st, &d, &err), 0);
    d.node = 3;
    assert_int_equal(nl_store_drain_set(f->st, &d, &err), 0);
    d.reason = "fans";
    assert_int_equal(nl_store_drain_set(f->st, &d, &err), 0); /* replaces */
    uint32_t nodes[] = {4, 5, 900};
    struct nl_store_resv r = {.name = "m", .tenant = NULL, .start_us = 10 * SEC,
                              .end_us = 20 * SEC, .nodes = nodes, .nnodes = 3, .by = "olga"};
    uint64_t id1 = 0, id2 = 0;
    assert_int_equal(nl_store_resv_insert(f->st, &r, &id1, &err), 0);
    r.tenant = "anchor";
    r.nnodes = 1;
    assert_int_equal(nl_store_resv_insert(f->st, &r, &id2, &err), 0);
    assert_true(id2 > id1);
    assert_true(nl_store_txn_writes(f->st) >= 5);
    commit(f->st);
    reopen(f);
    struct rows x = {0};
    assert_int_equal(nl_store_drains_load(f->st, count_drain, &x, &err), 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.r[0].job, 3);
    assert_string_equal(x.r[0].state, "fans");
    assert_string_equal(x.r[1].state, "psu");
    x.n = 0;
    assert_int_equal(nl_store_resvs_load(f->st, count_resv, &x, &err), 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.r[0].run, 3);
    assert_string_equal(x.r[0].nodes, "4,900");
    assert_string_equal(x.r[0].state, "-");
    assert_string_equal(x.r[1].state, "anchor");
    begin(f->st);
    assert_int_equal(nl_store_drain_clear(f->st, 3, &err), 0);
    assert_int_equal(nl_store_resv_delete(f->st, id1, &err), 0);
    assert_int_equal(nl_store_resv_delete(f->st, id1, &err), -ENOENT);
    commit(f->st);
    reopen(f);
    x.n = 0;
    assert_int_equal(nl_store_drains_load(f->st, count_drain, &x, &err), 0);
    assert_int_equal(x.n, 1);
    x.n = 0;
    assert_int_equal(nl_store_resvs_load(f->st, count_resv, &x, &err), 0);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.r[0].job, id2);
}

struct evs {
    char line[8][64];
    size_t n;
};

static int collect_event(const struct nl_store_event *e, void *arg)
{
    struct evs *x = arg;
    assert_true(x->n < 8);
    snprintf(x->line[x->n++], sizeof(x->line[0]), "%lld %s %s", (long long)(e->at_us / SEC), e->kind,
             e->detail);
    return 0;
}

/*
 * A job's state history (issue 14): its ended runs in run order, and its
 * recorded events in the order added, another job's apart; both survive a
 * reopen, and an event outside a transaction is refused.
 */
static void test_job_history(void **state)
{
    struct fixture *f = *state;
    struct nl_err err = {0};
    begin(f->st);
    uint64_t a = insert(f->st, "anchor", "alice", 100 * SEC);
    uint64_t b = insert(f->st, "uk", "bob", 100 * SEC);
    struct nl_store_event e = {.job = a, .at_us = 101 * SEC, .kind = "held", .detail = "submitted held"};
    assert_int_equal(nl_store_event_add(f->st, &e, &err), 0);
    e = (struct nl_store_event){.job = b, .at_us = 102 * SEC, .kind = "held", .detail = ""};
    assert_int_equal(nl_store_event_add(f->st, &e, &err), 0);
    e = (struct nl_store_event){.job = a, .at_us = 103 * SEC, .kind = "released", .detail = NULL};
    assert_int_equal(nl_store_event_add(f->st, &e, &err), 0);
    start(f->st, a, 110 * SEC, 2);
    assert_int_equal(nl_store_job_requeue(f->st, a, true, 20 * SEC, 0, &err), 0);
    start(f->st, a, 140 * SEC, 0);
    end(f->st, a, NL_JOB_FAILED, 150 * SEC, 3);
    commit(f->st);
    reopen(f);
    struct evs ev = {0};
    assert_int_equal(nl_store_events_load(f->st, a, collect_event, &ev, &err), 0);
    assert_int_equal(ev.n, 2);
    assert_string_equal(ev.line[0], "101 held submitted held");
    assert_string_equal(ev.line[1], "103 released ");
    struct rows r = {0};
    assert_int_equal(nl_store_job_runs(f->st, a, collect, &r, &err), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.r[0].run, 1);
    assert_string_equal(r.r[0].state, "PREEMPTED");
    assert_string_equal(r.r[0].nodes, "2,3");
    assert_int_equal(r.r[0].start, 110 * SEC);
    assert_int_equal(r.r[0].end, 130 * SEC);
    assert_int_equal(r.r[1].run, 2);
    assert_string_equal(r.r[1].state, "FAILED");
    assert_true(r.r[1].has_exit);
    struct rows none = {0};
    assert_int_equal(nl_store_job_runs(f->st, b, collect, &none, &err), 0);
    assert_int_equal(none.n, 0);
    e = (struct nl_store_event){.job = a, .at_us = 200 * SEC, .kind = "held", .detail = ""};
    assert_int_equal(nl_store_event_add(f->st, &e, &err), -EPERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_runs, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_drains_and_resvs, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_job_history, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
