/* SPDX-License-Identifier: MIT */
/* test_u64map.c - the hash map against a plain array, through many inserts and deletes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/rng.h"
#include "common/u64map.h"

#define N 4000

static void test_u64map_empty(void **state)
{
    (void)state;
    struct nl_u64map m = {0};
    uint64_t v = 7;
    assert_false(nl_u64map_get(&m, 1, &v));
    assert_false(nl_u64map_del(&m, 1, &v));
    assert_int_equal(v, 7);
    assert_false(nl_u64map_get(&m, 0, NULL)); /* 0 is never a key */
    nl_u64map_put(&m, 5, 0);                  /* a zero value is a value */
    assert_true(nl_u64map_get(&m, 5, &v));
    assert_int_equal(v, 0);
    assert_true(nl_u64map_del(&m, 5, &v));
    assert_int_equal(m.n, 0);
    nl_u64map_release(&m);
    assert_null(m.keys);
}

/* Sequential and scattered keys alike: slots are reused, probe runs stay unbroken. */
static void test_u64map_matches_reference(void **state)
{
    (void)state;
    struct nl_rng r;
    nl_rng_seed(&r, 11);
    struct nl_u64map m = {0};
    static int64_t ref[N];
    for (int i = 0; i < N; i++)
        ref[i] = -1;
    for (int step = 0; step < 200000; step++) {
        uint64_t id = nl_rng_range(&r, 1, N - 1);
        if (ref[id] >= 0 && nl_rng_unit(&r) < 0.5) {
            uint64_t was;
            assert_true(nl_u64map_del(&m, id, &was));
            assert_int_equal(was, ref[id]);
            ref[id] = -1;
        } else {
            uint64_t v = nl_rng_range(&r, 0, 1000000);
            nl_u64map_put(&m, id, v);
            ref[id] = (int64_t)v;
        }
        uint64_t probe = nl_rng_range(&r, 1, N - 1), got;
        bool found = nl_u64map_get(&m, probe, &got);
        assert_int_equal(found, ref[probe] >= 0);
        if (found)
            assert_int_equal(got, ref[probe]);
    }
    size_t live = 0;
    for (int i = 1; i < N; i++) {
        uint64_t got;
        bool found = nl_u64map_get(&m, (uint64_t)i, &got);
        assert_int_equal(found, ref[i] >= 0);
        if (found)
            assert_int_equal(got, ref[i]);
        live += ref[i] >= 0;
    }
    assert_int_equal(m.n, live);
    assert_true(m.cap >= 2 * m.n);
    assert_int_equal(nl_u64map_memory_bytes(&m), m.cap * 16);
    nl_u64map_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_u64map_empty),
            cmocka_unit_test(test_u64map_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
