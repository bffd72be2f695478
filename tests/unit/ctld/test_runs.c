/* SPDX-License-Identifier: MIT */
/* test_runs.c - the run table: add, find, remove with backward shift, growth, ranks. */
/* cmocka.h needs the standard headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
/* clang-format on */

#include "ctld/runs.h"

static void test_runs_add_get_remove_many(void **state)
{
    (void)state;
    struct runs *r = runs_create();
    struct nl_alloc_node a[2] = {{.node = 5, .mask = 1}, {.node = 9, .mask = 3}};
    /* Ids that collide in a small table, then enough to force growth. */
    for (uint64_t id = 1; id <= 5000; id++)
        assert_non_null(runs_add(r, id * 64, a, 2));
    assert_int_equal(runs_count(r), 5000);
    for (uint64_t id = 1; id <= 5000; id += 2)
        runs_remove(r, id * 64);
    assert_int_equal(runs_count(r), 2500);
    for (uint64_t id = 1; id <= 5000; id++) {
        struct run *run = runs_get(r, id * 64);
        if (id % 2)
            assert_null(run);
        else
            assert_true(run != NULL && run->job == id * 64);
    }
    size_t cursor = 0, seen = 0;
    while (runs_next(r, &cursor) != NULL)
        seen++;
    assert_int_equal(seen, 2500);
    struct run *run = runs_get(r, 128);
    assert_int_equal(run_rank(run, 9), 1);
    assert_int_equal(run_rank(run, 5), 0);
    assert_int_equal(run_rank(run, 6), -1);
    runs_destroy(r);
}

/* A big gang's ranks are found through the sorted index, whatever the allocation order. */
static void test_run_rank_big_gang(void **state)
{
    (void)state;
    struct runs *r = runs_create();

    enum {
        N = 4096
    };
    static struct nl_alloc_node a[N];
    for (uint32_t i = 0; i < N; i++)
        a[i] = (struct nl_alloc_node){.node = (i * 7919u) % 10007u, .mask = 1};
    struct run *run = runs_add(r, 7, a, N);
    assert_non_null(run->by_node);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(run_rank(run, a[i].node), (int)i);
    assert_int_equal(run_rank(run, 10008), -1);
    runs_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_runs_add_get_remove_many),
            cmocka_unit_test(test_run_rank_big_gang),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
