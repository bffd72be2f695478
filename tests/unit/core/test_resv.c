/* SPDX-License-Identifier: MIT */
/*
 * test_resv.c - node drain, operators' reservations and estimated starts in
 * the scheduler core: cases for each rule, then a property test that
 * drives random jobs, drains and reservations and checks, at every start,
 * that the job's nodes admitted it (not drained, every reservation holding
 * them admits it) and that every invariant holds from scratch.
 *
 * The seed is printed; replay a failure with NL_TEST_SEED=<seed>.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/rng.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"

#define SEC 1000000LL

struct fx {
    struct nl_facility *fac;
    struct nl_tenants *ten;
    struct nl_sched *s;
    uint64_t next_id;
};

/* "dev": 2 racks of 2 nodes of 4 GPUs (nodes 0..3); tenants a and b, no quota limits to speak of. */
static void fx_init(struct fx *f)
{
    struct nl_facility_spec spec;
    nl_facility_preset("dev", &spec, NULL);
    spec.power_budget_w = 0;
    spec.sites[0].power_w = 0;
    f->fac = nl_facility_create(&spec, NULL);
    assert_non_null(f->fac);
    f->ten = nl_tenants_create();
    struct nl_tier_spec tier = {"regional", 0};
    nl_tenants_add_tier(f->ten, &tier, NULL);
    struct nl_tenant_spec a = {.name = "a", .tier = 0, .quota_gpus = 16, .weight = 1};
    struct nl_tenant_spec b = {.name = "b", .tier = 0, .quota_gpus = 16, .weight = 1};
    assert_true(nl_tenants_add(f->ten, &a, NULL) >= 0);
    assert_true(nl_tenants_add(f->ten, &b, NULL) >= 0);
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    cfg.estimates = NL_SCHED_ESTIMATES_DEFAULT;
    f->s = nl_sched_create(f->fac, f->ten, &cfg, NULL);
    assert_non_null(f->s);
    f->next_id = 1;
}

static void fx_free(struct fx *f)
{
    nl_sched_destroy(f->s);
    nl_tenants_destroy(f->ten);
    nl_facility_destroy(f->fac);
}

static uint64_t submit(struct fx *f, uint32_t tenant, uint32_t gpus, int64_t limit_s, int64_t now_s)
{
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.tenant = tenant;
    spec.gpus = gpus;
    spec.time_limit_us = limit_s * SEC;
    uint64_t id = f->next_id++;
    struct nl_err err;
    if (nl_sched_submit(f->s, id, &spec, now_s * SEC, &err) < 0)
        fail_msg("submit: %s", err.msg);
    return id;
}

static void pass(struct fx *f, int64_t now_s)
{
    const struct nl_action *act;
    nl_sched_pass(f->s, now_s * SEC, &act);
}

static enum nl_job_state state_of(struct fx *f, uint64_t id)
{
    struct nl_job_info info;
    return nl_sched_job_info(f->s, id, &info) == 0 ? info.state : NL_JOB_NONE;
}

/* Does job id hold a GPU of node? */
static bool on_node(struct fx *f, uint64_t id, uint32_t node)
{
    const struct nl_alloc_node *a;
    size_t n = nl_sched_job_alloc(f->s, id, &a);
    for (size_t i = 0; i < n; i++)
        if (a[i].node == node)
            return true;
    return false;
}

static void assert_clean(struct fx *f)
{
    struct nl_sched_violations v = {0}, inc;
    assert_true(nl_sched_check(f->s, &v));
    nl_sched_violations(f->s, &inc);
    assert_int_equal(inc.reservation, 0);
    assert_int_equal(inc.double_alloc + inc.gang + inc.quota + inc.power, 0);
}

static void add_resv(struct fx *f, uint64_t id, const uint32_t *nodes, size_t n, int64_t start_s,
                     int64_t end_s, uint32_t tenant)
{
    struct nl_resv_spec r = {.id = id, .start_us = start_s * SEC, .end_us = end_s * SEC,
                             .tenant = tenant, .nodes = nodes, .nnodes = n};
    struct nl_err err;
    if (nl_sched_resv_add(f->s, &r, &err) < 0)
        fail_msg("resv_add: %s", err.msg);
}

/* A drained node keeps its job and gets no new one; undrained, it takes work again. */
static void test_drain(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    for (uint32_t n = 1; n < 4; n++)
        assert_int_equal(nl_sched_node_set_drain(f.s, n, true), 0);
    uint64_t j1 = submit(&f, 0, 2, 100, 1);
    pass(&f, 1);
    assert_int_equal(state_of(&f, j1), NL_JOB_RUNNING);
    assert_true(on_node(&f, j1, 0));
    assert_int_equal(nl_sched_node_set_drain(f.s, 0, true), 0);
    assert_true(nl_sched_node_drained(f.s, 0));
    uint64_t j2 = submit(&f, 0, 1, 100, 2);
    pass(&f, 2);
    assert_int_equal(state_of(&f, j1), NL_JOB_RUNNING); /* kept */
    assert_int_equal(state_of(&f, j2), NL_JOB_PENDING); /* two free GPUs on node 0, closed */
    struct nl_sched_stats st;
    nl_sched_stats(f.s, &st);
    assert_int_equal(st.gpus_down, 0); /* drained is not down */
    assert_clean(&f);
    assert_int_equal(nl_sched_node_set_drain(f.s, 2, false), 0);
    pass(&f, 3);
    assert_int_equal(state_of(&f, j2), NL_JOB_RUNNING);
    assert_true(on_node(&f, j2, 2));
    assert_int_equal(nl_sched_node_set_drain(f.s, 99, true), -EINVAL);
    assert_clean(&f);
    fx_free(&f);
}

/*
 * Backfill before a maintenance reservation: with the open nodes full, a
 * job whose limit ends after the start waits, one that ends before runs
 * on the reserved node; during the window nobody runs there; after it,
 * the node is open again.
 */
static void test_maintenance(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    uint32_t node3 = 3;
    add_resv(&f, 1, &node3, 1, 100, 200, NL_RESV_NO_TENANT);
    uint64_t fill = submit(&f, 0, 12, 1000, 0);
    pass(&f, 0);
    assert_int_equal(state_of(&f, fill), NL_JOB_RUNNING);
    assert_false(on_node(&f, fill, 3));
    uint64_t lng = submit(&f, 1, 4, 150, 1);  /* ends at 151 > 100 */
    uint64_t shrt = submit(&f, 1, 4, 50, 1);  /* ends at 51 <= 100 */
    pass(&f, 1);
    assert_int_equal(state_of(&f, lng), NL_JOB_PENDING);
    assert_int_equal(state_of(&f, shrt), NL_JOB_RUNNING);
    assert_true(on_node(&f, shrt, 3));
    struct nl_job_info info;
    assert_int_equal(nl_sched_job_exit(f.s, shrt, NL_EXIT_OK, 60 * SEC, &info, NULL), 0);
    uint64_t tiny = submit(&f, 1, 1, 10, 120);
    pass(&f, 120); /* during maintenance: nobody */
    assert_int_equal(state_of(&f, tiny), NL_JOB_PENDING);
    assert_int_equal(state_of(&f, lng), NL_JOB_PENDING);
    assert_clean(&f);
    /* Out of the way: shorter limits go first (w_limit), and it would take a GPU of node 3. */
    assert_int_equal(nl_sched_cancel(f.s, tiny, 130 * SEC, NULL, NULL), 0);
    pass(&f, 200); /* ended: open to all */
    assert_int_equal(nl_sched_resv_count(f.s), 0);
    assert_int_equal(state_of(&f, lng), NL_JOB_RUNNING);
    assert_true(on_node(&f, lng, 3));
    assert_clean(&f);
    fx_free(&f);
}

/* A tenant's reservation: during it, only that tenant's jobs use its nodes. */
static void test_tenant(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    uint32_t nodes[] = {2, 3};
    add_resv(&f, 7, nodes, 2, 10, 1000, 1);
    pass(&f, 10);
    uint64_t a = submit(&f, 0, 8, 500, 11);
    uint64_t a2 = submit(&f, 0, 4, 500, 11);
    uint64_t b = submit(&f, 1, 8, 500, 11);
    pass(&f, 11);
    assert_int_equal(state_of(&f, a), NL_JOB_RUNNING);
    assert_false(on_node(&f, a, 2) || on_node(&f, a, 3));
    assert_int_equal(state_of(&f, a2), NL_JOB_PENDING);
    assert_int_equal(state_of(&f, b), NL_JOB_RUNNING);
    assert_true(on_node(&f, b, 2) && on_node(&f, b, 3));
    assert_clean(&f);
    assert_int_equal(nl_sched_resv_del(f.s, 7), 0);
    assert_int_equal(nl_sched_resv_del(f.s, 7), -ENOENT);
    fx_free(&f);
}

static void test_errors_and_pick(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    uint32_t n01[] = {0, 1}, n1 = 1, bad = 9, twice[] = {2, 2};
    add_resv(&f, 1, n01, 2, 100, 200, NL_RESV_NO_TENANT);
    struct nl_err err;
    struct nl_resv_spec r = {.id = 2, .start_us = 150 * SEC, .end_us = 300 * SEC,
                             .tenant = NL_RESV_NO_TENANT, .nodes = &n1, .nnodes = 1};
    assert_int_equal(nl_sched_resv_add(f.s, &r, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "node 1"));
    r.start_us = 200 * SEC; /* back to back: fine */
    assert_int_equal(nl_sched_resv_add(f.s, &r, &err), 0);
    r.id = 1;
    assert_int_equal(nl_sched_resv_add(f.s, &r, &err), -EEXIST);
    r.id = 3;
    r.nodes = &bad;
    assert_int_equal(nl_sched_resv_add(f.s, &r, &err), -EINVAL);
    r.nodes = twice;
    r.nnodes = 2;
    assert_int_equal(nl_sched_resv_add(f.s, &r, &err), -EINVAL);
    r.nodes = &n1;
    r.nnodes = 1;
    r.end_us = r.start_us;
    assert_int_equal(nl_sched_resv_add(f.s, &r, &err), -EINVAL);
    /* Pick: node 3 is busy until 500, node 2 idle; nodes 0 and 1 reserved for [100, 200). */
    uint64_t busy = submit(&f, 0, 4, 500, 0);
    assert_int_equal(nl_sched_node_set_drain(f.s, 2, true), 0);
    pass(&f, 0);
    assert_true(on_node(&f, busy, 3));
    assert_int_equal(nl_sched_node_set_drain(f.s, 2, false), 0);
    uint32_t out[4];
    assert_int_equal(nl_sched_resv_pick(f.s, 4, 150 * SEC, 160 * SEC, 1, out, 4, &err), 1);
    assert_int_equal(out[0], 2); /* idle beats busy */
    assert_int_equal(nl_sched_resv_pick(f.s, 5, 150 * SEC, 160 * SEC, 1, out, 4, &err), 2);
    assert_true(out[0] == 2 && out[1] == 3);
    assert_int_equal(nl_sched_resv_pick(f.s, 9, 150 * SEC, 160 * SEC, 1, out, 4, &err), 0);
    assert_int_equal(err.code, -ENOSPC);
    /* After the window of 1 (and before 2's start), all four nodes qualify. */
    assert_int_equal(nl_sched_resv_pick(f.s, 16, 0, 100 * SEC, 1, out, 4, &err), 4);
    fx_free(&f);
}

/* Estimated starts exist for the top pending jobs while everything is full, in order. */
static void test_estimates(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    uint64_t r1 = submit(&f, 0, 8, 100, 0);
    uint64_t r2 = submit(&f, 0, 8, 300, 0);
    pass(&f, 0);
    assert_int_equal(state_of(&f, r1), NL_JOB_RUNNING);
    assert_int_equal(state_of(&f, r2), NL_JOB_RUNNING);
    uint64_t p1 = submit(&f, 0, 8, 50, 1);
    uint64_t p2 = submit(&f, 0, 8, 50, 2);
    uint64_t p3 = submit(&f, 0, 16, 50, 3);
    pass(&f, 5);
    struct nl_job_info i1, i2, i3;
    assert_int_equal(nl_sched_job_info(f.s, p1, &i1), 0);
    assert_int_equal(nl_sched_job_info(f.s, p2, &i2), 0);
    assert_int_equal(nl_sched_job_info(f.s, p3, &i3), 0);
    /*
     * The size factor puts p3 (16 GPUs) first: it needs every GPU, free at
     * 300 (r2's limit). p1 fits in r1's 8 at 100, before p3 starts; p2
     * then has r1's 8 back when p1 ends at 150, still before 300.
     */
    assert_int_equal(i3.est_start_us, 300 * SEC);
    assert_int_equal(i1.est_start_us, 100 * SEC);
    assert_int_equal(i2.est_start_us, 150 * SEC);
    /* A job no site could ever hold has none. */
    nl_sched_node_set_down(f.s, 0, true, NULL);
    uint64_t p4 = submit(&f, 1, 16, 50, 6);
    pass(&f, 6);
    struct nl_job_info i4;
    assert_int_equal(nl_sched_job_info(f.s, p4, &i4), 0);
    assert_int_equal(i4.est_start_us, 0);
    fx_free(&f);
}

/* Random jobs, drains and reservations; every start checked against the rules. */
static void test_property(void **state)
{
    (void)state;
    uint64_t seed = getenv("NL_TEST_SEED") ? strtoull(getenv("NL_TEST_SEED"), NULL, 10) : 2026;
    printf("seed %llu\n", (unsigned long long)seed);
    struct nl_rng rng;
    nl_rng_seed(&rng, seed);
    struct fx f;
    fx_init(&f);
    bool drained[4] = {false};
    struct {
        bool live;
        int64_t start, end;
        uint32_t tenant;
        uint32_t nodes[4];
        size_t n;
    } rv[8] = {{0}};
    uint64_t running[256];
    size_t nrun = 0;
    for (int64_t t = 1; t < 4000; t++) {
        uint32_t op = (uint32_t)nl_rng_range(&rng, 0, (10) - 1);
        if (op < 4) {
            submit(&f, (uint32_t)nl_rng_range(&rng, 0, (2) - 1), 1 + (uint32_t)nl_rng_range(&rng, 0, (8) - 1),
                   1 + (int64_t)nl_rng_range(&rng, 0, (200) - 1), t);
        } else if (op == 4) {
            uint32_t n = (uint32_t)nl_rng_range(&rng, 0, (4) - 1);
            drained[n] = !drained[n];
            nl_sched_node_set_drain(f.s, n, drained[n]);
        } else if (op == 5) {
            size_t k = nl_rng_range(&rng, 0, (8) - 1);
            if (rv[k].live) {
                nl_sched_resv_del(f.s, k + 1);
                rv[k].live = false;
            } else {
                rv[k].start = t + (int64_t)nl_rng_range(&rng, 0, (300) - 1);
                rv[k].end = rv[k].start + 1 + (int64_t)nl_rng_range(&rng, 0, (300) - 1);
                rv[k].tenant = nl_rng_range(&rng, 0, (3) - 1) == 2 ? NL_RESV_NO_TENANT
                                                          : (uint32_t)nl_rng_range(&rng, 0, (2) - 1);
                rv[k].n = 1 + nl_rng_range(&rng, 0, (2) - 1);
                rv[k].nodes[0] = (uint32_t)nl_rng_range(&rng, 0, (4) - 1);
                rv[k].nodes[1] = (rv[k].nodes[0] + 1) % 4;
                struct nl_resv_spec r = {.id = k + 1, .start_us = rv[k].start * SEC,
                                         .end_us = rv[k].end * SEC, .tenant = rv[k].tenant,
                                         .nodes = rv[k].nodes, .nnodes = rv[k].n};
                rv[k].live = nl_sched_resv_add(f.s, &r, NULL) == 0;
            }
        } else if (op >= 6 && nrun > 0) {
            size_t k = nl_rng_range(&rng, 0, (nrun) - 1);
            nl_sched_job_exit(f.s, running[k], NL_EXIT_OK, t * SEC, NULL, NULL);
            running[k] = running[--nrun];
        }
        for (size_t k = 0; k < 8; k++)
            if (rv[k].live && rv[k].end <= t)
                rv[k].live = false; /* the pass drops it */
        const struct nl_action *act;
        size_t na = nl_sched_pass(f.s, t * SEC, &act);
        for (size_t i = 0; i < na; i++) {
            if (act[i].kind != NL_ACT_START)
                continue;
            struct nl_job_info info;
            assert_int_equal(nl_sched_job_info(f.s, act[i].job, &info), 0);
            int64_t end = t + info.spec.time_limit_us / SEC;
            const struct nl_alloc_node *a;
            size_t n = nl_sched_job_alloc(f.s, act[i].job, &a);
            for (size_t e = 0; e < n; e++) {
                if (drained[a[e].node])
                    fail_msg("t=%lld job %llu started on drained node %u", (long long)t,
                             (unsigned long long)act[i].job, a[e].node);
                for (size_t k = 0; k < 8; k++) {
                    bool holds = rv[k].live && (rv[k].nodes[0] == a[e].node ||
                                                (rv[k].n > 1 && rv[k].nodes[1] == a[e].node));
                    bool ok = t < rv[k].start ? end <= rv[k].start
                                              : rv[k].tenant == info.spec.tenant;
                    if (holds && !ok)
                        fail_msg("t=%lld job %llu (tenant %u, ends %lld) on node %u of"
                                 " reservation [%lld, %lld) tenant %u",
                                 (long long)t, (unsigned long long)act[i].job, info.spec.tenant,
                                 (long long)end, a[e].node, (long long)rv[k].start,
                                 (long long)rv[k].end, rv[k].tenant);
                }
            }
            if (nrun < 256)
                running[nrun++] = act[i].job;
            else
                nl_sched_job_exit(f.s, act[i].job, NL_EXIT_OK, t * SEC, NULL, NULL);
        }
        if (t % 50 == 0)
            assert_clean(&f);
    }
    assert_clean(&f);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_drain),          cmocka_unit_test(test_maintenance),
            cmocka_unit_test(test_tenant),         cmocka_unit_test(test_errors_and_pick),
            cmocka_unit_test(test_estimates),      cmocka_unit_test(test_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
