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

/* In-order walk of the tree's shape (left, node, right), iterative; returns the count. */
static size_t shape_order(const struct tree *t, int32_t *out, size_t cap)
{
    static int32_t stack[N];
    size_t sp = 0, n = 0;
    int32_t h = t->root;
    while (h != TREE_NIL || sp > 0) {
        while (h != TREE_NIL) {
            assert_true(sp < N);
            stack[sp++] = h;
            h = tree_get(t, h)->left;
        }
        h = stack[--sp];
        assert_true(n < cap);
        out[n++] = h;
        h = tree_get(t, h)->right;
    }
    return n;
}

/* The threaded links (tree_first, then next) list exactly the shape's in-order sequence. */
static void check_threads(const struct tree *t)
{
    static int32_t order[N];
    size_t n = shape_order(t, order, N);
    assert_int_equal(n, t->count);
    int32_t h = tree_first(t);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(h, order[k]);
        h = tree_next(t, h);
    }
    assert_int_equal(h, TREE_NIL);
}

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
        if (step % 97 == 0)
            check_threads(&t);
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
        check_threads(&t);
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
