/* SPDX-License-Identifier: MIT */
/*
 * test_place.c - gang placement on an NVL72-shaped facility: best-fit
 * nodes for small jobs, one rack for jobs up to 72 GPUs, whole racks in
 * one pod for larger ones, whole nodes for sensitive jobs, residency via
 * the site mask, down nodes, and the baselines' topology-blind placement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/place.h"
#include "nordlys/facility.h"

struct fixture {
    struct nl_facility *fac;
    struct place *p;
};

/* One site: 16 racks of 18 x 4 GPUs in pods of 4 racks; a UK site of 2 racks. */
static int setup(void **state)
{
    struct nl_facility_spec spec;
    nl_facility_preset("narvik", &spec, NULL);
    spec.sites[0].racks = 16;
    spec.sites[0].racks_per_pod = 4;
    spec.nsites = 2;
    spec.sites[1] = spec.sites[0];
    snprintf(spec.sites[1].name, sizeof(spec.sites[1].name), "lon");
    snprintf(spec.sites[1].jurisdiction, sizeof(spec.sites[1].jurisdiction), "UK");
    spec.sites[1].racks = 2;
    static struct fixture fx;
    fx.fac = nl_facility_create(&spec, NULL);
    fx.p = place_create(fx.fac, 0, 1800, 350);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    place_destroy(fx->p);
    nl_facility_destroy(fx->fac);
    return 0;
}

static size_t place(struct fixture *fx, uint32_t gpus, uint32_t mask, bool sensitive, bool topo,
                    uint32_t *site)
{
    struct place_req req = {.gpus = gpus, .site_mask = mask, .sensitive = sensitive, .topology = topo};
    const struct nl_alloc_node *a;
    enum nl_reason why;
    size_t n = place_find(fx->p, &req, &a, site, &why);
    if (n > 0)
        assert_int_equal(place_take(fx->p, a, n), 0);
    assert_true(place_check(fx->p));
    return n;
}

static uint32_t racks_of(struct fixture *fx, const struct nl_alloc_node *a, size_t n, uint32_t *pods)
{
    uint32_t racks[64] = {0}, nr = 0, pl[64] = {0}, np = 0;
    for (size_t i = 0; i < n; i++) {
        struct nl_node_pos pos;
        nl_facility_node_pos(fx->fac, a[i].node, &pos);
        bool seen = false;
        for (uint32_t k = 0; k < nr; k++)
            seen |= racks[k] == pos.rack;
        if (!seen)
            racks[nr++] = pos.rack;
        seen = false;
        for (uint32_t k = 0; k < np; k++)
            seen |= pl[k] == pos.pod;
        if (!seen)
            pl[np++] = pos.pod;
    }
    *pods = np;
    return nr;
}

static void test_place_small_best_fit(void **state)
{
    struct fixture *fx = *state;
    uint32_t site;
    /* A 3-GPU job leaves a node with 1 free; a 1-GPU job must go there, not to a fresh node. */
    struct place_req req = {.gpus = 3, .site_mask = 1, .topology = true};
    const struct nl_alloc_node *a;
    enum nl_reason why;
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 1);
    uint32_t node3 = a[0].node;
    place_take(fx->p, a, 1);
    req.gpus = 1;
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 1);
    assert_int_equal(a[0].node, node3);
    place_take(fx->p, a, 1);
    /* A whole-node job goes to the fullest rack that has a free node: the same rack. */
    req.gpus = 4;
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 1);
    struct nl_node_pos p1, p2;
    nl_facility_node_pos(fx->fac, node3, &p1);
    nl_facility_node_pos(fx->fac, a[0].node, &p2);
    assert_int_equal(p1.rack, p2.rack);
    assert_true(place_check(fx->p));
}

static void test_place_rack_and_pod_gangs(void **state)
{
    struct fixture *fx = *state;
    uint32_t site, pods;
    place(fx, 1, 1, false, true, &site); /* break one rack */
    size_t n = place(fx, 72, 1, false, true, &site);
    assert_true(n == 18);
    const struct nl_alloc_node *a;
    enum nl_reason why;
    struct place_req req = {.gpus = 40, .site_mask = 1, .topology = true};
    n = place_find(fx->p, &req, &a, &site, &why);
    assert_true(n > 0);
    assert_int_equal(racks_of(fx, a, n, &pods), 1); /* <= 72 GPUs: one NVL72 rack */
    place_take(fx->p, a, n);
    req.gpus = 200; /* 2 whole racks + 56: three racks of one pod */
    n = place_find(fx->p, &req, &a, &site, &why);
    assert_true(n > 0);
    assert_int_equal(racks_of(fx, a, n, &pods), 3);
    assert_int_equal(pods, 1);
    uint32_t held = 0;
    for (size_t i = 0; i < n; i++)
        held += (uint32_t)__builtin_popcount(a[i].mask);
    assert_int_equal(held, 200);
    place_take(fx->p, a, n);
    assert_true(place_check(fx->p));
    /* Too big for the site: resources. */
    req.gpus = 16 * 72;
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 0);
    assert_int_equal(why, NL_REASON_RESOURCES);
}

static void test_place_topology_reason(void **state)
{
    struct fixture *fx = *state;
    uint32_t site;
    /* Take 3 GPUs of every node of site 0: 1 free GPU per node, 288 free in all. */
    for (uint32_t i = 0; i < 16 * 18; i++)
        assert_int_equal(place(fx, 3, 1, false, true, &site), 1);
    const struct nl_alloc_node *a;
    enum nl_reason why;
    struct place_req req = {.gpus = 2, .site_mask = 1, .topology = true};
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 0);
    assert_int_equal(why, NL_REASON_TOPOLOGY);
    /* 18 single free GPUs in one NVL72 rack still make a rack-level job of 18. */
    req.gpus = 18;
    assert_true(place_find(fx->p, &req, &a, &site, &why) == 18);
    /* The baseline takes fragments across racks for a 100-GPU job. */
    req.gpus = 100;
    req.topology = false;
    assert_true(place_find(fx->p, &req, &a, &site, &why) == 100);
    req.topology = true;
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 0);
}

static void test_place_sensitive_and_residency(void **state)
{
    struct fixture *fx = *state;
    uint32_t site;
    const struct nl_alloc_node *a;
    enum nl_reason why;
    struct place_req req = {.gpus = 2, .site_mask = 2, .sensitive = true, .topology = true};
    size_t n = place_find(fx->p, &req, &a, &site, &why);
    assert_int_equal(n, 1);
    assert_int_equal(site, 1); /* UK only */
    assert_int_equal(a[0].mask, 0xf); /* a whole node, no co-tenant */
    struct nl_job_spec js = {.gpus = 2, .sensitive = true};
    assert_int_equal(place_gpus_held(fx->p, site, &js), 4);
    req.gpus = 6; /* two whole nodes */
    n = place_find(fx->p, &req, &a, &site, &why);
    assert_int_equal(n, 2);
    assert_int_equal(a[0].mask & a[1].mask, 0xf);
}

static void test_place_down_nodes(void **state)
{
    struct fixture *fx = *state;
    uint32_t site;
    uint32_t first_uk = 16 * 18;
    for (uint32_t n = first_uk; n < first_uk + 36; n++)
        place_set_down(fx->p, n, true);
    assert_true(place_check(fx->p));
    assert_int_equal(place_site_free(fx->p, 1), 0);
    assert_int_equal(place(fx, 1, 2, false, true, &site), 0);
    place_set_down(fx->p, first_uk + 5, false);
    assert_int_equal(place(fx, 4, 2, false, true, &site), 1);
    assert_int_equal(place_site_free(fx->p, 1), 0);
    place_set_down(fx->p, first_uk + 5, true); /* down while allocated: the GPUs stay held */
    assert_int_equal(place_node_alloc(fx->p, first_uk + 5), 0xf);
    assert_true(place_check(fx->p));
}

static void test_place_holds_drain_racks(void **state)
{
    struct fixture *fx = *state;
    uint32_t site;
    /* 34 whole-node jobs in the UK site: best fit fills rack 0, rack 1 keeps 2 free nodes. */
    for (int i = 0; i < 34; i++)
        assert_int_equal(place(fx, 4, 2, false, true, &site), 1);
    place_hold_clear(fx->p);
    place_hold_racks(fx->p, 1, 1, 1000); /* the emptiest rack drains until t = 1000 */
    const struct nl_alloc_node *a;
    enum nl_reason why;
    struct place_req req = {.gpus = 4, .site_mask = 2, .topology = true, .end_us = 5000};
    /* A job that would outlast the hold may not use the held rack... */
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 0);
    /* ...one that ends before it may, */
    req.end_us = 900;
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 1);
    struct nl_node_pos pos;
    nl_facility_node_pos(fx->fac, a[0].node, &pos);
    assert_int_equal(pos.rack, 16 + 1);
    /* and a new pass drops every hold. */
    place_hold_clear(fx->p);
    req.end_us = 5000;
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 1);
    assert_true(place_check(fx->p));
}

/*
 * Shapes: N nodes of exactly g GPUs. The scheduler's free split (--gpus 6
 * on 4-GPU nodes: 4 + 2) becomes 2 x 3 with a shape; a rack holds a shape
 * when it can, else one pod; nodes too small are skipped, not split.
 */
static void test_place_shapes(void **state)
{
    struct fixture *fx = *state;
    uint32_t site;
    const struct nl_alloc_node *a;
    enum nl_reason why;
    struct place_req req = {.gpus = 6, .site_mask = 1, .topology = true, .nodes = 2, .gpn = 3};
    size_t n = place_find(fx->p, &req, &a, &site, &why);
    assert_int_equal(n, 2);
    assert_true(a[0].node != a[1].node);
    assert_int_equal(place_gpus_in(a[0].mask), 3);
    assert_int_equal(place_gpus_in(a[1].mask), 3);
    struct nl_job_spec js = {.gpus = 6, .nodes = 2, .gpus_per_node = 3};
    assert_true(place_shape_ok(fx->p, &js, a, n));
    place_take(fx->p, a, n);
    /* Two nodes now have 1 free GPU: a 2 x 2 shape must not use them. */
    req = (struct place_req){.gpus = 4, .site_mask = 1, .topology = true, .nodes = 2, .gpn = 2};
    n = place_find(fx->p, &req, &a, &site, &why);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(place_gpus_in(a[i].mask), 2);
        assert_int_equal(place_node_alloc(fx->p, a[i].node), 0);
    }
    place_take(fx->p, a, n);
    /* 1-GPU nodes are the best fit for 3 x 1: the two holes, then one more node. */
    req = (struct place_req){.gpus = 3, .site_mask = 1, .topology = true, .nodes = 3, .gpn = 1};
    n = place_find(fx->p, &req, &a, &site, &why);
    assert_int_equal(n, 3);
    place_take(fx->p, a, n);
    assert_true(place_check(fx->p));
    /* 30 nodes of 4 are more than a rack (18 nodes): one pod, two racks. */
    req = (struct place_req){.gpus = 120, .site_mask = 1, .topology = true, .nodes = 30, .gpn = 4};
    n = place_find(fx->p, &req, &a, &site, &why);
    assert_int_equal(n, 30);
    uint32_t pods, racks = racks_of(fx, a, n, &pods);
    assert_int_equal(pods, 1);
    assert_true(racks <= 3);
    place_take(fx->p, a, n);
    assert_true(place_check(fx->p));
    /* A sensitive 2 x 1 takes two whole nodes. */
    req = (struct place_req){
            .gpus = 2, .site_mask = 2, .sensitive = true, .topology = true, .nodes = 2, .gpn = 1};
    n = place_find(fx->p, &req, &a, &site, &why);
    assert_int_equal(n, 2);
    assert_int_equal(a[0].mask, 0xf);
    assert_int_equal(a[1].mask, 0xf);
    js = (struct nl_job_spec){.gpus = 2, .nodes = 2, .gpus_per_node = 1, .sensitive = true};
    assert_int_equal(place_gpus_held(fx->p, site, &js), 8);
    assert_true(place_shape_ok(fx->p, &js, a, n));
    /* 5 GPUs per node exist nowhere: nothing, never a split. */
    req = (struct place_req){.gpus = 10, .site_mask = 3, .topology = true, .nodes = 2, .gpn = 5};
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 0);
    assert_int_equal(why, NL_REASON_TOPOLOGY);
}

/* A shape no pod holds waits (topology) with topology on, and spreads over pods without. */
static void test_place_shape_spread(void **state)
{
    struct fixture *fx = *state;
    uint32_t site;
    const struct nl_alloc_node *a;
    enum nl_reason why;
    /* Fill half of every rack of site 0 (9 of 18 nodes): each pod keeps 36 free nodes. */
    for (uint32_t r = 0; r < 16; r++)
        for (uint32_t k = 0; k < 9; k++) {
            struct nl_alloc_node x = {r * 18 + k, 0xf};
            place_take(fx->p, &x, 1);
        }
    struct place_req req = {.gpus = 160, .site_mask = 1, .topology = true, .nodes = 40, .gpn = 4};
    assert_int_equal(place_find(fx->p, &req, &a, &site, &why), 0);
    assert_int_equal(why, NL_REASON_TOPOLOGY);
    req.topology = false;
    size_t n = place_find(fx->p, &req, &a, &site, &why);
    assert_int_equal(n, 40);
    uint32_t pods;
    racks_of(fx, a, n, &pods);
    assert_int_equal(pods, 2);
    place_take(fx->p, a, n);
    assert_true(place_check(fx->p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_place_small_best_fit, setup, teardown),
            cmocka_unit_test_setup_teardown(test_place_rack_and_pod_gangs, setup, teardown),
            cmocka_unit_test_setup_teardown(test_place_topology_reason, setup, teardown),
            cmocka_unit_test_setup_teardown(test_place_sensitive_and_residency, setup, teardown),
            cmocka_unit_test_setup_teardown(test_place_down_nodes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_place_holds_drain_racks, setup, teardown),
            cmocka_unit_test_setup_teardown(test_place_shapes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_place_shape_spread, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
