/* SPDX-License-Identifier: MIT */
/* test_containers.c - the treap against simple reference models. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/rng.h"
#include "core/tree.h"

#define N 4000

static void test_tree_order_matches_reference(void **state)
{
    (void)state;
    struct nl_rng r;
    nl_rng_seed(&r, 7);
    struct tree t;
    tree_init(&t);
    static int32_t handle[N];
    static double key[N];
    static bool live[N];
    for (int step = 0; step < 20000; step++) {
        uint32_t i = (uint32_t)nl_rng_range(&r, 0, N - 1);
        if (live[i]) {
            tree_remove(&t, handle[i]);
            live[i] = false;
        } else {
            key[i] = (double)nl_rng_range(&r, 0, 50); /* many equal keys: ties by id */
            handle[i] = tree_insert(&t, key[i], i + 1, i);
            live[i] = true;
        }
        if (step % 1000 != 0)
            continue;
        /* In-order walk is sorted by (key, id) and visits exactly the live entries. */
        size_t seen = 0, want = 0;
        double pk = -1;
        uint64_t pid = 0;
        for (int32_t h = tree_first(&t); h != TREE_NIL; h = tree_next(&t, h)) {
            const struct tree_node *n = tree_get(&t, h);
            assert_true(live[n->value]);
            assert_true(n->key > pk || (n->key == pk && n->id > pid));
            pk = n->key;
            pid = n->id;
            seen++;
        }
        for (int k = 0; k < N; k++)
            want += live[k];
        assert_int_equal(seen, want);
        assert_int_equal(t.count, want);
    }
    tree_release(&t);
}

/* tree_reach against a linear scan of the in-order weights. */
static void test_tree_reach_matches_prefix_sums(void **state)
{
    (void)state;
    struct nl_rng r;
    nl_rng_seed(&r, 3);
    struct tree t;
    tree_init(&t);
    static int32_t handle[N];
    static bool live[N];
    for (int step = 0; step < 20000; step++) {
        uint32_t i = (uint32_t)nl_rng_range(&r, 0, N - 1);
        if (live[i]) {
            tree_remove(&t, handle[i]);
        } else {
            handle[i] = tree_insert_w(&t, (double)nl_rng_range(&r, 0, 500), i + 1, i,
                                      (uint32_t)nl_rng_range(&r, 0, 72));
        }
        live[i] = !live[i];
        if (step % 500 != 0)
            continue;
        uint64_t total = tree_weight(&t);
        for (int q = 0; q < 20; q++) {
            uint64_t x = nl_rng_range(&r, 1, total + 10);
            uint64_t got_sum = 0, run = 0;
            int32_t want = TREE_NIL;
            for (int32_t h = tree_first(&t); h != TREE_NIL; h = tree_next(&t, h)) {
                run += tree_get(&t, h)->weight;
                if (run >= x) {
                    want = h;
                    break;
                }
            }
            assert_int_equal(tree_reach(&t, x, &got_sum), want);
            if (want != TREE_NIL)
                assert_int_equal(got_sum, run);
        }
    }
    tree_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_tree_order_matches_reference),
            cmocka_unit_test(test_tree_reach_matches_prefix_sums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
