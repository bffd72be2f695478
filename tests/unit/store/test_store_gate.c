/* SPDX-License-Identifier: MIT */
/*
 * test_store_gate.c - the store's part of the gate (issue 12) on a real
 * file: gates and arrays rows, the live-job reload leaving them out, array
 * tasks (one row per index, a second refused), job states and singleton.
 */
/* cmocka.h needs the standard headers before it. */
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

static int setup(void **state)
{
    struct fixture *f = fixture_open("nl-gate");
    assert_int_equal(nl_store_begin(f->st, NULL), 0);
    *state = f;
    return 0;
}

static uint64_t insert(struct nl_store *st, const char *name, const char *run_as)
{
    struct nl_store_job j;
    nl_store_job_init(&j);
    snprintf(j.name, sizeof(j.name), "%s", name);
    snprintf(j.tenant, sizeof(j.tenant), "t");
    snprintf(j.run_as, sizeof(j.run_as), "%s", run_as);
    j.spec.gpus = 1;
    j.spec.time_limit_us = 1000000;
    j.command_json = "[\"true\"]";
    j.state = NL_JOB_PENDING;
    j.submit_us = 1;
    uint64_t id = 0;
    assert_int_equal(nl_store_job_insert(st, &j, &id, NULL), 0);
    return id;
}

static int collect_live(const struct nl_store_job *job, void *arg)
{
    uint64_t *ids = arg;
    ids[ids[0]++ + 1] = job->id;
    return 0;
}

static int collect_gate(const struct nl_store_gate *g, void *arg)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%llu:%d:%s;", (unsigned long long)g->job, g->held, g->dependency);
    return 0;
}

static int collect_array(const struct nl_store_array *a, void *arg)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%llu:%s:%llu:%d;", (unsigned long long)a->job, a->spec,
             (unsigned long long)a->next, a->cancelled);
    return 0;
}

static void end(struct nl_store *st, uint64_t id, enum nl_job_state state)
{
    struct nl_store_end e = {.state = state, .end_us = 2};
    assert_int_equal(nl_store_job_end(st, id, &e, NULL), 0);
}

static void test_gates_and_arrays_kept_from_the_reload(void **state)
{
    struct fixture *f = *state;
    uint64_t plain = insert(f->st, "a", "u"), held = insert(f->st, "b", "u");
    uint64_t dep = insert(f->st, "c", "u"), arr = insert(f->st, "d", "u");
    uint64_t gone = insert(f->st, "e", "u");
    struct nl_store_gate g1 = {.job = held, .held = true, .dependency = ""};
    struct nl_store_gate g2 = {.job = dep, .dependency = "afterok:1"};
    struct nl_store_gate g3 = {.job = gone, .held = true};
    assert_int_equal(nl_store_gate_put(f->st, &g1, NULL), 0);
    assert_int_equal(nl_store_gate_put(f->st, &g2, NULL), 0);
    assert_int_equal(nl_store_gate_put(f->st, &g3, NULL), 0);
    struct nl_store_array a = {.job = arr, .spec = "0-99%10"};
    assert_int_equal(nl_store_array_put(f->st, &a, NULL), 0);
    end(f->st, gone, NL_JOB_CANCELLED);
    assert_int_equal(nl_store_commit(f->st, NULL), 0);

    /* The reload of live jobs sees only the plain one: the gate keeps the rest. */
    uint64_t ids[8] = {0};
    assert_int_equal(nl_store_jobs_live(f->st, collect_live, ids, NULL), 0);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], plain);
    /* The gate's own load: pending jobs only (the ended one's row is history). */
    char text[256] = "";
    assert_int_equal(nl_store_gates_load(f->st, collect_gate, text, NULL), 0);
    char want[256];
    snprintf(want, sizeof(want), "%llu:1:;%llu:0:afterok:1;", (unsigned long long)held,
             (unsigned long long)dep);
    assert_string_equal(text, want);
    text[0] = '\0';
    assert_int_equal(nl_store_arrays_live(f->st, collect_array, text, NULL), 0);
    snprintf(want, sizeof(want), "%llu:0-99%%10:0:0;", (unsigned long long)arr);
    assert_string_equal(text, want);

    /* Released: the job is the scheduler's again at the next reload. */
    assert_int_equal(nl_store_begin(f->st, NULL), 0);
    assert_int_equal(nl_store_gate_delete(f->st, held, NULL), 0);
    assert_int_equal(nl_store_commit(f->st, NULL), 0);
    memset(ids, 0, sizeof(ids));
    assert_int_equal(nl_store_jobs_live(f->st, collect_live, ids, NULL), 0);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[2], held);
    assert_int_equal(nl_store_begin(f->st, NULL), 0);
}

struct tasks {
    size_t n;
    uint32_t index[8];
    enum nl_job_state state[8];
};

static int collect_task(uint64_t id, uint32_t index, enum nl_job_state state, void *arg)
{
    struct tasks *t = arg;
    (void)id;
    t->index[t->n] = index;
    t->state[t->n++] = state;
    return 0;
}

static void test_array_tasks_one_row_per_index(void **state)
{
    struct fixture *f = *state;
    uint64_t arr = insert(f->st, "arr", "u");
    struct nl_store_array a = {.job = arr, .spec = "0-9", .next = 0};
    assert_int_equal(nl_store_array_put(f->st, &a, NULL), 0);
    uint64_t t0 = insert(f->st, "arr", "u"), t1 = insert(f->st, "arr", "u");
    assert_int_equal(nl_store_job_set_array(f->st, t0, arr, 0, NULL), 0);
    assert_int_equal(nl_store_job_set_array(f->st, t1, arr, 5, NULL), 0);
    a.next = 2;
    assert_int_equal(nl_store_array_put(f->st, &a, NULL), 0);
    /* A second row for index 5 is refused, and the transaction goes on. */
    uint64_t dup = insert(f->st, "arr", "u");
    struct nl_err err = {0};
    assert_int_equal(nl_store_job_set_array(f->st, dup, arr, 5, &err), -EINVAL);
    end(f->st, t0, NL_JOB_COMPLETED);
    assert_int_equal(nl_store_commit(f->st, NULL), 0);

    struct tasks t = {0};
    assert_int_equal(nl_store_array_tasks(f->st, arr, collect_task, &t, NULL), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.index[0], 0);
    assert_int_equal(t.state[0], NL_JOB_COMPLETED);
    assert_int_equal(t.index[1], 5);
    assert_int_equal(t.state[1], NL_JOB_PENDING);
    uint64_t id = 0;
    assert_int_equal(nl_store_array_task_find(f->st, arr, 5, &id, NULL), 0);
    assert_int_equal(id, t1);
    assert_int_equal(nl_store_array_task_find(f->st, arr, 6, &id, &err), -ENOENT);
    /* The task's record names its array and index. */
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    assert_int_equal(nl_store_job_get(f->st, t1, &rec, NULL), 0);
    assert_int_equal(rec.array_job, arr);
    assert_int_equal(rec.array_index, 5);
    assert_int_equal(nl_store_job_get(f->st, arr, &rec, NULL), 0);
    assert_int_equal(rec.array_job, 0);
    nl_store_job_release(&rec);
    char text[256] = "";
    assert_int_equal(nl_store_array_get(f->st, arr, collect_array, text, NULL), 0);
    char want[64];
    snprintf(want, sizeof(want), "%llu:0-9:2:0;", (unsigned long long)arr);
    assert_string_equal(text, want);
    assert_int_equal(nl_store_array_get(f->st, t1, collect_array, text, &err), -ENOENT);
    assert_int_equal(nl_store_begin(f->st, NULL), 0);
}

static void test_job_state_and_singleton(void **state)
{
    struct fixture *f = *state;
    uint64_t a = insert(f->st, "s", "alice"), b = insert(f->st, "s", "bob");
    uint64_t c = insert(f->st, "s", "alice");
    enum nl_job_state st = NL_JOB_NONE;
    char tenant[NL_NAME_MAX];
    assert_int_equal(nl_store_job_state(f->st, a, &st, tenant, NULL), 0);
    assert_int_equal(st, NL_JOB_PENDING);
    assert_string_equal(tenant, "t");
    assert_int_equal(nl_store_job_state(f->st, 999, &st, NULL, NULL), -ENOENT);
    uint64_t blocker = 7;
    /* c waits for a (same name, tenant, user, smaller id), not for bob's b. */
    assert_int_equal(nl_store_singleton_blocker(f->st, "t", "alice", "s", c, &blocker, NULL), 0);
    assert_int_equal(blocker, a);
    assert_int_equal(nl_store_singleton_blocker(f->st, "t", "bob", "s", b, &blocker, NULL), 0);
    assert_int_equal(blocker, 0);
    assert_int_equal(nl_store_singleton_blocker(f->st, "t", "alice", "s", a, &blocker, NULL), 0);
    assert_int_equal(blocker, 0);
    end(f->st, a, NL_JOB_FAILED);
    assert_int_equal(nl_store_singleton_blocker(f->st, "t", "alice", "s", c, &blocker, NULL), 0);
    assert_int_equal(blocker, 0);
    assert_int_equal(nl_store_job_state(f->st, a, &st, NULL, NULL), 0);
    assert_int_equal(st, NL_JOB_FAILED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_gates_and_arrays_kept_from_the_reload, setup,
                                            fixture_teardown),
            cmocka_unit_test_setup_teardown(test_array_tasks_one_row_per_index, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_job_state_and_singleton, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
