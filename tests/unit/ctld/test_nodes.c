/* SPDX-License-Identifier: MIT */
/*
 * test_nodes.c - the node registry alone (it calls no other module):
 * ownership moves, liveness and the name rule, vouching, and outboxes
 * that merge kills to one per run with the shortest grace.
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

#include <cmocka.h>
/* clang-format on */

#include "ctld/nodes.h"

#define SEC 1000000LL

static void test_assign_moves_nodes(void **state)
{
    (void)state;
    struct nodes *n = nodes_create(6, 5 * SEC);
    struct agent *a = nodes_agent_get_or_add(n, "a", false);
    struct agent *b = nodes_agent_get_or_add(n, "b", true);
    assert_ptr_equal(nodes_agent_find(n, "a"), a);
    assert_null(nodes_agent_find(n, "c"));
    int32_t ia = nodes_agent_index(n, "a"), ib = nodes_agent_index(n, "b");
    const uint32_t a_nodes[] = {0, 1, 2}, b_nodes[] = {2, 3};
    uint32_t *dropped = NULL;
    size_t nd = 0;
    nodes_assign(n, ia, a_nodes, 3, &dropped, &nd);
    assert_int_equal(nd, 0);
    free(dropped);
    nodes_assign(n, ib, b_nodes, 2, &dropped, &nd);
    free(dropped);
    assert_int_equal(a->nnodes, 2); /* node 2 went to b */
    assert_int_equal(b->nnodes, 2);
    assert_string_equal(nodes_node_agent(n, 2), "b");
    assert_int_equal(nodes_owner_index(n, 5), -1);
    /* a names only node 1 now: node 0 is dropped (unowned). */
    const uint32_t a_again[] = {1};
    nodes_assign(n, ia, a_again, 1, &dropped, &nd);
    assert_int_equal(nd, 1);
    assert_int_equal(dropped[0], 0);
    free(dropped);
    assert_null(nodes_node_agent(n, 0));
    /* Many agents: the index grows and every name is still found. */
    char name[16];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "x%d", i);
        nodes_agent_get_or_add(n, name, false);
    }
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "x%d", i);
        assert_non_null(nodes_agent_find(n, name));
    }
    assert_ptr_equal(nodes_agent_find(n, "a"), a);
    nodes_destroy(n);
}

static void test_liveness_and_names(void **state)
{
    (void)state;
    struct nodes *n = nodes_create(2, 5 * SEC);
    struct agent *a = nodes_agent_get_or_add(n, "a", false);
    a->up = true;
    a->last_sync_us = 100 * SEC;
    assert_true(nodes_agent_live(n, a, 104 * SEC));
    assert_false(nodes_agent_live(n, a, 106 * SEC));
    /* Reloaded (not heard from since a restart): nodes held for the timeout; the name too
     * when an instance is known, never for a legacy agent. */
    a->up = false;
    a->reloaded = true;
    assert_true(nodes_agent_holds_nodes(n, a, 104 * SEC));
    assert_false(nodes_agent_holds_name(n, a, 104 * SEC));
    strcpy(a->instance, "aa01");
    assert_true(nodes_agent_holds_name(n, a, 104 * SEC));
    assert_false(nodes_agent_holds_name(n, a, 106 * SEC));
    nodes_destroy(n);
}

static void test_outbox_merges_kills(void **state)
{
    (void)state;
    struct nodes *n = nodes_create(2, 5 * SEC);
    nodes_agent_get_or_add(n, "a", false);
    int32_t ia = nodes_agent_index(n, "a");
    const uint32_t all[] = {0, 1};
    uint32_t *dropped = NULL;
    size_t nd = 0;
    nodes_assign(n, ia, all, 2, &dropped, &nd);
    free(dropped);
    assert_int_equal(nodes_queue_launch(n, 7, 0), 0);
    assert_int_equal(nodes_queue_launch(n, 7, 1), 0);
    nodes_queue_kill(n, 9, 1, 0, 60, "cancel");
    nodes_queue_kill(n, 9, 1, 1, 0, "node_fail"); /* same run: the shortest grace wins */
    nodes_queue_kill(n, 9, 2, 1, 60, "cancel");   /* another run: its own kill */
    const struct nodes_launch *l;
    const struct nodes_kill *k;
    size_t nl, nk;
    nodes_outbox(n, ia, &l, &nl, &k, &nk);
    assert_int_equal(nl, 2);
    assert_int_equal(nk, 2);
    assert_int_equal(k[0].run, 1);
    assert_int_equal(k[0].grace_s, 0);
    assert_string_equal(k[0].reason, "node_fail");
    assert_int_equal(k[1].run, 2);
    nodes_outbox_clear(n, ia);
    nodes_outbox(n, ia, &l, &nl, &k, &nk);
    assert_int_equal(nl + nk, 0);
    /* A node nobody owns takes no launch. */
    struct nodes *m = nodes_create(1, SEC);
    assert_int_equal(nodes_queue_launch(m, 1, 0), -ENOENT);
    nodes_destroy(m);
    nodes_destroy(n);
}

/*
 * Controls (issue 12): one per job, run and kind, kept in seq order (a
 * replaced one goes to the end with its new seq), until removed by seq;
 * an answered outbox keeps them (they go when acknowledged).
 */
static void test_controls_until_removed(void **state)
{
    (void)state;
    struct nodes *n = nodes_create(1, 5 * SEC);
    nodes_agent_get_or_add(n, "a", false);
    int32_t ia = nodes_agent_index(n, "a");
    const struct nodes_control usr1 = {.seq = 1, .job = 7, .run = 1, .signal = 10};
    const struct nodes_control lim = {.seq = 2, .job = 7, .run = 1, .time_limit_s = 60};
    const struct nodes_control usr2 = {.seq = 3, .job = 7, .run = 1, .signal = 12};
    assert_int_equal(nodes_push_control(n, ia, &usr1), 0);
    assert_int_equal(nodes_push_control(n, ia, &lim), 0);
    assert_int_equal(nodes_push_control(n, ia, &usr2), 0);
    struct nodes_control lim2 = lim;
    lim2.seq = 4;
    lim2.time_limit_s = 30;
    assert_int_equal(nodes_push_control(n, ia, &lim2), 2); /* the limit it replaced */
    const struct nodes_control *c;
    size_t nc;
    nodes_controls(n, ia, &c, &nc);
    assert_int_equal(nc, 3);
    assert_int_equal(c[0].seq, 1);
    assert_int_equal(c[1].seq, 3);
    assert_int_equal(c[2].seq, 4);
    assert_true(c[2].time_limit_s == 30);
    nodes_outbox_clear(n, ia);
    nodes_controls(n, ia, &c, &nc);
    assert_int_equal(nc, 3);
    assert_true(nodes_control_remove(n, ia, 3));
    assert_false(nodes_control_remove(n, ia, 3)); /* acknowledged twice */
    nodes_controls(n, ia, &c, &nc);
    assert_int_equal(nc, 2);
    assert_int_equal(c[0].seq, 1);
    assert_int_equal(c[1].seq, 4);
    nodes_destroy(n);
}

static void test_vouching(void **state)
{
    (void)state;
    struct nodes *n = nodes_create(1, 5 * SEC);
    struct agent *a = nodes_agent_get_or_add(n, "a", false);
    const uint32_t one[] = {0};
    uint32_t *dropped = NULL;
    size_t nd = 0;
    nodes_assign(n, nodes_agent_index(n, "a"), one, 1, &dropped, &nd);
    free(dropped);
    a->up = true;
    a->last_full_us = 10 * SEC;
    a->vouch_us = 20 * SEC;
    assert_int_equal(nodes_vouched(n, 0, 15 * SEC), 20 * SEC); /* listed since the full list */
    assert_int_equal(nodes_vouched(n, 0, 5 * SEC), 0);         /* listed before: not vouched */
    a->need_full = true;
    assert_int_equal(nodes_vouched(n, 0, 15 * SEC), 0);
    nodes_destroy(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_assign_moves_nodes),
            cmocka_unit_test(test_liveness_and_names),
            cmocka_unit_test(test_outbox_merges_kills),
            cmocka_unit_test(test_controls_until_removed),
            cmocka_unit_test(test_vouching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
