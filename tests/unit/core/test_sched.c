/* SPDX-License-Identifier: MIT */
/*
 * test_sched.c - scheduler behaviour on the 16-GPU dev facility (2 racks of
 * 2 nodes of 4 GPUs): validation, quota admission, reclaim by preemption,
 * backfill and its reservations, fifo, power, cancel, tier order, node
 * failure, adopt after a restart, and why-pending reasons.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

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

/* Tenants: sov (sovereign, quota 8, borrow 8), reg (regional, quota 0, borrow 16), cap (regional, quota 4, no borrowing). */
static struct nl_tenants *small_tenants(void)
{
    struct nl_tenants *t = nl_tenants_create();
    struct nl_tier_spec tiers[] = {{"sovereign", 0}, {"anchor", 1}, {"regional", 2}};
    for (int i = 0; i < 3; i++)
        nl_tenants_add_tier(t, &tiers[i], NULL);
    struct nl_tenant_spec ts[] = {
            {.name = "sov", .tier = 0, .quota_gpus = 8, .borrow_gpus = 8, .weight = 1},
            {.name = "reg", .tier = 2, .quota_gpus = 0, .borrow_gpus = 16, .weight = 1},
            {.name = "cap", .tier = 2, .quota_gpus = 4, .borrow_gpus = 0, .weight = 1},
    };
    for (int i = 0; i < 3; i++)
        assert_true(nl_tenants_add(t, &ts[i], NULL) >= 0);
    return t;
}

static struct fx *fx_new_cfg(const struct nl_sched_config *cfg, double budget_w)
{
    static struct fx f;
    struct nl_facility_spec spec;
    nl_facility_preset("dev", &spec, NULL);
    spec.power_budget_w = budget_w;
    spec.sites[0].power_w = 0;
    f.fac = nl_facility_create(&spec, NULL);
    f.ten = small_tenants();
    f.s = nl_sched_create(f.fac, f.ten, cfg, NULL);
    f.next_id = 1;
    return &f;
}

static struct fx *fx_new(enum nl_policy policy, double budget_w)
{
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, policy);
    return fx_new_cfg(&cfg, budget_w);
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
    spec.grace_us = 10 * SEC;
    uint64_t id = f->next_id++;
    struct nl_err err;
    if (nl_sched_submit(f->s, id, &spec, now_s * SEC, &err) < 0)
        fail_msg("submit: %s", err.msg);
    return id;
}

static size_t pass(struct fx *f, int64_t now_s, const struct nl_action **act)
{
    return nl_sched_pass(f->s, now_s * SEC, act);
}

static enum nl_job_state state_of(struct fx *f, uint64_t id)
{
    struct nl_job_info info;
    return nl_sched_job_info(f->s, id, &info) == 0 ? info.state : NL_JOB_NONE;
}

static enum nl_reason reason_of(struct fx *f, uint64_t id)
{
    struct nl_job_info info;
    assert_int_equal(nl_sched_job_info(f->s, id, &info), 0);
    return info.reason;
}

static void assert_clean(struct fx *f)
{
    struct nl_sched_violations v = {0};
    assert_true(nl_sched_check(f->s, &v));
}

static void test_sched_validate_names_the_field(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, 0);
    struct nl_job_spec spec;
    struct nl_err err;
    nl_job_spec_init(&spec);
    spec.gpus = 0;
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), -EINVAL);
    assert_string_equal(err.msg, "gpus: must be at least 1");
    spec.gpus = 17;
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), -EINVAL);
    assert_string_equal(err.msg, "gpus: 17 exceeds the largest site eligible for residency any");
    spec.gpus = 1;
    nl_residency_parse("UK", &spec.residency, NULL);
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), -EINVAL);
    assert_string_equal(err.msg, "residency: no site satisfies residency UK and tenant sov's "
                                 "jurisdictions (any); facility dev's sites: dev (NO)");
    nl_residency_parse("NO", &spec.residency, NULL);
    spec.tenant = 2;
    spec.gpus = 5;
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), -EINVAL);
    assert_string_equal(err.msg, "gpus: 5 exceeds tenant cap's quota plus borrowing limit (4)");
    /* Shapes the facility cannot hold (dev: 4 nodes of 4 GPUs). */
    spec.tenant = 0;
    spec.nodes = 1;
    spec.gpus_per_node = 5;
    spec.gpus = 5;
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), -EINVAL);
    assert_string_equal(err.msg, "gpus_per_node: 5 exceeds the GPUs of a node at every site "
                                 "eligible for residency NO (at most 4)");
    spec.nodes = 5;
    spec.gpus_per_node = 1;
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), -EINVAL);
    assert_string_equal(err.msg, "nodes: 5 exceeds the nodes of the largest eligible site with 1 "
                                 "GPUs per node (4)");
    spec.nodes = 2;
    spec.gpus_per_node = 2;
    spec.gpus = 5;
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), -EINVAL);
    assert_string_equal(err.msg, "gpus: 5 is not nodes x gpus_per_node (2 x 2)");
    /* nl_job_shape_resolve completes a request's shape, or names what disagrees. */
    struct nl_job_spec sh;
    nl_job_spec_init(&sh);
    sh.nodes = 2;
    sh.gpus = 6;
    assert_int_equal(nl_job_shape_resolve(&sh, true, &err), 0);
    assert_int_equal(sh.gpus_per_node, 3);
    sh = (struct nl_job_spec){.gpus = 1, .gpus_per_node = 4};
    assert_int_equal(nl_job_shape_resolve(&sh, false, &err), 0);
    assert_true(sh.nodes == 1 && sh.gpus == 4);
    sh = (struct nl_job_spec){.gpus = 7, .nodes = 2};
    assert_int_equal(nl_job_shape_resolve(&sh, true, &err), -EINVAL);
    assert_string_equal(err.msg, "gpus: 7 is not a multiple of nodes (2)");
    spec.nodes = spec.gpus_per_node = 0;
    spec.gpus = 1;
    spec.tenant = 9;
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), -ENOENT);
    spec.tenant = 0;
    spec.time_limit_us = 0;
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "time_limit"));
    /* Nothing changed. */
    struct nl_sched_stats st;
    nl_sched_stats(f->s, &st);
    assert_int_equal(st.jobs_pending, 0);
    spec.time_limit_us = SEC;
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), 0);
    assert_int_equal(nl_sched_submit(f->s, 1, &spec, 0, &err), -EEXIST);
    fx_free(f);
}

static void test_sched_quota_admission(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, 0);
    const struct nl_action *act;
    uint64_t a = submit(f, 2, 4, 100, 0);
    uint64_t b = submit(f, 2, 1, 100, 0);
    assert_int_equal(pass(f, 0, &act), 1);
    assert_int_equal(act[0].kind, NL_ACT_START);
    assert_int_equal(act[0].job, a);
    assert_int_equal(state_of(f, b), NL_JOB_PENDING);
    assert_int_equal(reason_of(f, b), NL_REASON_QUOTA);
    assert_int_equal(nl_sched_job_exit(f->s, a, NL_EXIT_OK, 5 * SEC, NULL, NULL), 0);
    assert_int_equal(pass(f, 5, &act), 1);
    assert_int_equal(act[0].job, b);
    assert_clean(f);
    fx_free(f);
}

static void test_sched_reclaim_preempts_borrowed(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, 0);
    const struct nl_action *act;
    uint64_t r[4];
    for (int i = 0; i < 4; i++)
        r[i] = submit(f, 1, 4, 1000, 0); /* reg borrows all 16 GPUs */
    assert_int_equal(pass(f, 0, &act), 4);
    struct nl_job_info info;
    nl_sched_job_info(f->s, r[0], &info);
    assert_true(info.borrowed);
    uint64_t s = submit(f, 0, 8, 100, 10); /* sov: inside its quota of 8 */
    size_t n = pass(f, 10, &act);
    assert_int_equal(n, 2); /* exactly enough: two 4-GPU jobs, the newest first */
    assert_int_equal(act[0].kind, NL_ACT_PREEMPT);
    assert_int_equal(act[1].kind, NL_ACT_PREEMPT);
    assert_int_equal(reason_of(f, s), NL_REASON_RECLAIM);
    assert_int_equal(pass(f, 11, &act), 0); /* no second round while GPUs are coming back */
    for (size_t i = 0; i < 2; i++) {
        uint64_t v = i == 0 ? r[3] : r[2];
        assert_int_equal(state_of(f, v), NL_JOB_PREEMPTING);
        assert_int_equal(nl_sched_job_exit(f->s, v, NL_EXIT_FAILED, 20 * SEC, &info, NULL), 0);
        assert_int_equal(info.state, NL_JOB_PENDING); /* requeued */
        assert_int_equal(info.preemptions, 1);
    }
    n = pass(f, 20, &act);
    assert_int_equal(n, 1);
    assert_int_equal(act[0].job, s);
    assert_clean(f);
    fx_free(f);
}

static void test_sched_backfill_respects_reservation(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_BACKFILL, 0);
    const struct nl_action *act;
    uint64_t a = submit(f, 1, 8, 100, 0);
    assert_int_equal(pass(f, 0, &act), 1);
    uint64_t big = submit(f, 1, 16, 100, 1);   /* blocked: reservation at t = 100 */
    uint64_t shortj = submit(f, 1, 4, 50, 2);  /* ends by t = 52: may backfill */
    uint64_t longj = submit(f, 1, 4, 500, 3);  /* would delay big */
    size_t n = pass(f, 3, &act);
    assert_int_equal(n, 1);
    assert_int_equal(act[0].job, shortj);
    assert_int_equal(state_of(f, a), NL_JOB_RUNNING);
    assert_int_equal(reason_of(f, big), NL_REASON_RESOURCES);
    struct nl_job_info info;
    nl_sched_job_info(f->s, big, &info);
    assert_int_equal(info.est_start_us, 100 * SEC);
    assert_int_equal(reason_of(f, longj), NL_REASON_RESERVATION);
    assert_clean(f);
    fx_free(f);
}

static void test_sched_fifo_stops_at_first_blocked(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_FIFO, 0);
    const struct nl_action *act;
    submit(f, 1, 12, 100, 0);
    assert_int_equal(pass(f, 0, &act), 1);
    uint64_t big = submit(f, 1, 16, 100, 1);
    uint64_t small = submit(f, 1, 1, 10, 2);
    assert_int_equal(pass(f, 3, &act), 0);
    assert_int_equal(reason_of(f, big), NL_REASON_RESOURCES);
    assert_int_equal(reason_of(f, small), NL_REASON_PRIORITY);
    fx_free(f);
}

static void test_sched_power_budget_blocks(void **state)
{
    (void)state;
    /* Idle: 16 x 350 W = 5.6 kW; each busy GPU adds 1,450 W; x 1.1 PUE. Budget for 4 busy GPUs. */
    double budget = (16 * 350 + 4 * 1450) * 1.1 + 1;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, budget);
    const struct nl_action *act;
    uint64_t a = submit(f, 0, 4, 100, 0);
    uint64_t b = submit(f, 0, 1, 100, 0);
    assert_int_equal(pass(f, 0, &act), 1);
    assert_int_equal(act[0].job, a);
    assert_int_equal(reason_of(f, b), NL_REASON_POWER);
    struct nl_sched_stats st;
    nl_sched_stats(f->s, &st);
    assert_true(st.power_w <= budget);
    nl_sched_set_power_budget(f->s, 0); /* the grid event is over */
    assert_int_equal(pass(f, 1, &act), 1);
    assert_clean(f);
    fx_free(f);
}

static void test_sched_cancel(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, 0);
    const struct nl_action *act;
    uint64_t a = submit(f, 0, 4, 100, 0);
    pass(f, 0, &act);
    uint64_t b = submit(f, 0, 16, 100, 0);
    pass(f, 0, &act);
    struct nl_job_info info;
    assert_int_equal(nl_sched_cancel(f->s, b, SEC, &info, NULL), 0);
    assert_int_equal(info.state, NL_JOB_CANCELLED);
    assert_int_equal(state_of(f, b), NL_JOB_NONE);
    assert_int_equal(nl_sched_cancel(f->s, a, SEC, NULL, NULL), 1);
    assert_int_equal(pass(f, 2, &act), 1);
    assert_int_equal(act[0].kind, NL_ACT_KILL);
    assert_int_equal(nl_sched_job_exit(f->s, a, NL_EXIT_FAILED, 3 * SEC, &info, NULL), 0);
    assert_int_equal(info.state, NL_JOB_CANCELLED);
    assert_int_equal(nl_sched_cancel(f->s, a, 4 * SEC, NULL, NULL), -ENOENT);
    assert_clean(f);
    fx_free(f);
}

/* Requeue (issue 12): a running job goes back to PENDING at its exit, even with requeue off. */
static void test_sched_requeue_and_update(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, 0);
    const struct nl_action *act;
    struct nl_job_info info;
    struct nl_err err = {0};
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.gpus = 4;
    spec.time_limit_us = 100 * SEC;
    spec.requeue = false; /* a requeue asked brings it back all the same */
    uint64_t a = f->next_id++;
    assert_int_equal(nl_sched_submit(f->s, a, &spec, 0, &err), 0);
    pass(f, 0, &act);
    assert_int_equal(state_of(f, a), NL_JOB_RUNNING);
    assert_int_equal(nl_sched_requeue(f->s, a, SEC, &err), 0);
    assert_int_equal(state_of(f, a), NL_JOB_PREEMPTING);
    assert_int_equal(nl_sched_job_exit(f->s, a, NL_EXIT_FAILED, 2 * SEC, &info, NULL), 0);
    assert_int_equal(info.state, NL_JOB_PENDING);
    assert_int_equal(info.preemptions, 0);
    assert_int_equal(nl_sched_requeue(f->s, a, 2 * SEC, &err), -EALREADY);
    /* A pending job takes a new spec; a bad one is refused naming the field. */
    spec.gpus = 8;
    spec.time_limit_us = 50 * SEC;
    assert_int_equal(nl_sched_update(f->s, a, &spec, &err), 0);
    assert_int_equal(nl_sched_job_info(f->s, a, &info), 0);
    assert_int_equal(info.spec.gpus, 8);
    spec.gpus = 1000000;
    assert_int_equal(nl_sched_update(f->s, a, &spec, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "gpus"));
    spec.gpus = 8;
    pass(f, 3, &act);
    assert_int_equal(state_of(f, a), NL_JOB_RUNNING);
    /* Running: a lower time limit only. */
    spec.time_limit_us = 80 * SEC;
    assert_int_equal(nl_sched_update(f->s, a, &spec, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "time_limit"));
    spec.time_limit_us = 20 * SEC;
    spec.gpus = 4;
    assert_int_equal(nl_sched_update(f->s, a, &spec, &err), -EBUSY);
    spec.gpus = 8;
    assert_int_equal(nl_sched_update(f->s, a, &spec, &err), 0);
    assert_int_equal(nl_sched_job_info(f->s, a, &info), 0);
    assert_int_equal(info.expect_end_us, info.start_us + 20 * SEC);
    assert_clean(f);
    fx_free(f);
}

static void test_sched_tier_order(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, 0);
    const struct nl_action *act;
    uint64_t hog = submit(f, 0, 16, 100, 0);
    pass(f, 0, &act);
    uint64_t reg = submit(f, 1, 16, 100, 1);   /* earlier, weaker tier */
    uint64_t sov = submit(f, 0, 16, 100, 50); /* later, sovereign */
    pass(f, 51, &act);
    struct nl_job_info ri, si;
    nl_sched_job_info(f->s, reg, &ri);
    nl_sched_job_info(f->s, sov, &si);
    assert_true(si.priority > ri.priority);
    nl_sched_job_exit(f->s, hog, NL_EXIT_OK, 100 * SEC, NULL, NULL);
    assert_int_equal(pass(f, 100, &act), 1);
    assert_int_equal(act[0].job, sov);
    fx_free(f);
}

static void test_sched_node_failure_requeues(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, 0);
    const struct nl_action *act;
    uint64_t a = submit(f, 0, 8, 100, 0);
    pass(f, 0, &act);
    const struct nl_alloc_node *al;
    size_t n = nl_sched_job_alloc(f->s, a, &al);
    assert_int_equal(n, 2);
    uint32_t node = al[0].node;
    const uint64_t *hit;
    assert_int_equal(nl_sched_node_set_down(f->s, node, true, &hit), 1);
    assert_int_equal(hit[0], a);
    struct nl_job_info info;
    assert_int_equal(nl_sched_job_exit(f->s, a, NL_EXIT_NODE_FAIL, SEC, &info, NULL), 0);
    assert_int_equal(info.state, NL_JOB_PENDING);
    pass(f, 2, &act);
    n = nl_sched_job_alloc(f->s, a, &al);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(al[i].node, node); /* not on the down node */
    assert_clean(f);
    fx_free(f);
}

static void test_sched_adopt_after_restart(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, 0);
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.gpus = 6;
    struct nl_alloc_node nodes[] = {{0, 0xf}, {1, 0x3}};
    struct nl_err err;
    assert_int_equal(nl_sched_adopt(f->s, 77, &spec, 0, 5 * SEC, nodes, 2, 10 * SEC, &err), 0);
    assert_int_equal(state_of(f, 77), NL_JOB_RUNNING);
    assert_int_equal(nl_sched_gpu_owner(f->s, 1, 1), 77);
    assert_int_equal(nl_sched_gpu_owner(f->s, 1, 2), 0);
    struct nl_alloc_node clash[] = {{1, 0x1}};
    spec.gpus = 1;
    assert_int_equal(nl_sched_adopt(f->s, 78, &spec, 0, 5 * SEC, clash, 1, 10 * SEC, &err), -EBUSY);
    assert_clean(f);
    fx_free(f);
}

/* A job stored PREEMPTING comes back PREEMPTING, expected to end at its grace's end. */
static void test_sched_adopt_preempting(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, 0);
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.gpus = 4;
    spec.requeue = true;
    spec.time_limit_us = 3600 * SEC;
    spec.grace_us = 30 * SEC;
    struct nl_alloc_node nodes[] = {{0, 0xf}};
    struct nl_err err;
    assert_int_equal(nl_sched_adopt(f->s, 77, &spec, 0, 5 * SEC, nodes, 1, 10 * SEC, &err), 0);
    assert_int_equal(nl_sched_adopt_preempting(f->s, 77, 40 * SEC, &err), 0);
    struct nl_job_info info;
    assert_int_equal(nl_sched_job_info(f->s, 77, &info), 0);
    assert_int_equal(info.state, NL_JOB_PREEMPTING);
    assert_int_equal(info.expect_end_us, 40 * SEC);
    assert_int_equal(nl_sched_adopt_preempting(f->s, 77, 40 * SEC, &err), -EINVAL);
    assert_int_equal(nl_sched_adopt_preempting(f->s, 78, 40 * SEC, &err), -ENOENT);
    assert_clean(f);
    /* Its exit is a preemption: requeued, as it asked. */
    assert_int_equal(nl_sched_job_exit(f->s, 77, NL_EXIT_FAILED, 41 * SEC, &info, &err), 0);
    assert_int_equal(info.state, NL_JOB_PENDING);
    assert_clean(f);
    fx_free(f);
}

/*
 * A preempted borrower that comes first in the order must not restart on
 * the GPUs it gave back: they are promised to the job that reclaimed them.
 * Before promises, this looped (preempt, requeue, restart) at one instant.
 */
static void test_sched_promised_gpus_stop_thrash(void **state)
{
    (void)state;
    struct fx *f = fx_new(NL_POLICY_NORDLYS, 0);
    const struct nl_action *act;
    uint64_t sv[4];
    for (int i = 0; i < 4; i++)
        sv[i] = submit(f, 0, 4, 1000, 0); /* sov: 8 of its quota, 8 borrowed */
    assert_int_equal(pass(f, 0, &act), 4);
    uint64_t c = submit(f, 2, 4, 100, 10); /* cap: inside its quota of 4 */
    assert_int_equal(pass(f, 10, &act), 1);
    assert_int_equal(act[0].kind, NL_ACT_PREEMPT);
    assert_int_equal(act[0].job, sv[3]);
    struct nl_job_info info;
    assert_int_equal(nl_sched_job_exit(f->s, sv[3], NL_EXIT_FAILED, 10 * SEC, &info, NULL), 0);
    assert_int_equal(info.state, NL_JOB_PENDING);
    /* sov's job is first in tier order, but would borrow the promised GPUs. */
    assert_int_equal(pass(f, 10, &act), 1);
    assert_int_equal(act[0].kind, NL_ACT_START);
    assert_int_equal(act[0].job, c);
    assert_int_equal(state_of(f, sv[3]), NL_JOB_PENDING);
    assert_int_not_equal(reason_of(f, sv[3]), NL_REASON_NONE);
    /* Nothing more moves: no second preemption of the same job. */
    assert_int_equal(pass(f, 10, &act), 0);
    assert_int_equal(pass(f, 20, &act), 0);
    struct nl_sched_stats st;
    nl_sched_stats(f->s, &st);
    assert_int_equal(st.preemptions, 1);
    assert_clean(f);
    fx_free(f);
}

/* Before its topology wait a gang waits for its compact shape; after it, it spreads. */
static void fragment(struct fx *f)
{
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.gpus = 2;
    spec.time_limit_us = 100000 * SEC;
    for (uint32_t n = 0; n < 4; n++) { /* 2 GPUs busy on each node: no free node or rack */
        struct nl_alloc_node a[] = {{n, 0x3}};
        struct nl_err err;
        if (nl_sched_adopt(f->s, 100 + n, &spec, 0, 0, a, 1, 0, &err) < 0)
            fail_msg("adopt: %s", err.msg);
    }
}

static void test_sched_topology_wait(void **state)
{
    (void)state;
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    struct nl_err err;
    assert_int_equal(nl_sched_config_set(&cfg, "topology_wait=100", &err), 0);
    struct fx *f = fx_new_cfg(&cfg, 0);
    const struct nl_action *act;
    fragment(f);
    uint64_t g = submit(f, 1, 6, 1000, 0); /* 6 GPUs: one rack, when compact */
    assert_int_equal(pass(f, 0, &act), 0);
    assert_int_equal(reason_of(f, g), NL_REASON_TOPOLOGY);
    assert_int_equal(pass(f, 99, &act), 0);
    assert_int_equal(pass(f, 100, &act), 1);
    assert_int_equal(act[0].job, g);
    const struct nl_alloc_node *nodes;
    assert_true(nl_sched_job_alloc(f->s, g, &nodes) >= 3); /* spread over nodes of both racks */
    assert_clean(f);
    fx_free(f);

    assert_int_equal(nl_sched_config_set(&cfg, "topology_wait=never", &err), 0);
    f = fx_new_cfg(&cfg, 0);
    fragment(f);
    g = submit(f, 1, 6, 1000, 0);
    assert_int_equal(pass(f, 100000, &act), 0);
    assert_int_equal(reason_of(f, g), NL_REASON_TOPOLOGY);
    assert_clean(f);
    fx_free(f);
}

/*
 * Shaped reservations: four nodes, three with 1 GPU free (long jobs) and
 * one with 2 free whose job ends at t = 100. A 4-GPU job has the count
 * now (5 free) but not the shape. EASY's count reserves "now" with 1 GPU
 * spare, so one 1-GPU long job may backfill; a shaped reservation waits
 * for the node that frees at t = 100 and leaves the other three holes to
 * backfill. Either way the 4-GPU job starts at t = 100.
 */
static void shaped_case(bool shaped, int want_started, int64_t want_est_s)
{
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    cfg.shaped = shaped;
    struct fx *f = fx_new_cfg(&cfg, 0);
    const struct nl_action *act;
    for (int i = 0; i < 3; i++)
        submit(f, 1, 3, 10000, 0);
    uint64_t a = submit(f, 1, 2, 100, 0);
    assert_int_equal(pass(f, 0, &act), 4);
    uint64_t w = submit(f, 1, 4, 100, 1);
    uint64_t l[4];
    for (int i = 0; i < 4; i++)
        l[i] = submit(f, 1, 1, 5000, 1);
    assert_int_equal(pass(f, 1, &act), (size_t)want_started);
    assert_int_equal(reason_of(f, w), NL_REASON_TOPOLOGY);
    struct nl_job_info info;
    nl_sched_job_info(f->s, w, &info);
    assert_int_equal(info.est_start_us, want_est_s * SEC);
    assert_int_equal(reason_of(f, l[3]), NL_REASON_RESERVATION);
    assert_clean(f);
    assert_int_equal(nl_sched_job_exit(f->s, a, NL_EXIT_OK, 100 * SEC, NULL, NULL), 0);
    pass(f, 100, &act);
    assert_int_equal(state_of(f, w), NL_JOB_RUNNING);
    assert_clean(f);
    fx_free(f);
}

static void test_sched_shaped_reservation(void **state)
{
    (void)state;
    shaped_case(false, 1, 1);  /* counted: shadow "now", one hole lent */
    shaped_case(true, 3, 100); /* shaped: the node freeing at 100, three holes lent */
}

/*
 * A sensitive job counts only wholly free nodes. Every node has 2 GPUs
 * busy and 2 free; the jobs on rack 1 (nodes 2, 3) end at t = 100. A
 * sensitive 8-GPU job sees 8 free GPUs but no free node: its reservation
 * is at t = 100, not "now" (a count of GPUs says now with none to spare,
 * and refuses every other job while the 8 scattered GPUs sit idle). The
 * counted reservation (backfill) lends 4 GPUs to long jobs; the shaped
 * one (nordlys) keeps them off rack 1, where the sensitive job starts.
 */
static void sensitive_case(enum nl_policy policy)
{
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, policy);
    cfg.preempt = false; /* the long jobs borrow; keep reclaim out of this */
    struct fx *f = fx_new_cfg(&cfg, 0);
    const struct nl_action *act;
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.gpus = 2;
    for (uint32_t n = 0; n < 4; n++) {
        struct nl_alloc_node a[] = {{n, 0x3}};
        spec.time_limit_us = (n < 2 ? 10000 : 100) * SEC;
        struct nl_err err;
        if (nl_sched_adopt(f->s, 100 + n, &spec, 0, 0, a, 1, 0, &err) < 0)
            fail_msg("adopt: %s", err.msg);
    }
    spec.gpus = 8;
    spec.sensitive = true;
    spec.time_limit_us = 1000 * SEC;
    uint64_t w = f->next_id++;
    assert_int_equal(nl_sched_submit(f->s, w, &spec, 1 * SEC, NULL), 0);
    uint64_t l[5];
    for (int i = 0; i < 5; i++)
        l[i] = submit(f, 1, 1, 5000, 1);
    size_t started = pass(f, 1, &act);
    struct nl_job_info info;
    nl_sched_job_info(f->s, w, &info);
    assert_int_equal(info.state, NL_JOB_PENDING);
    assert_int_equal(info.est_start_us, 100 * SEC);
    if (policy == NL_POLICY_BACKFILL) {
        assert_int_equal(started, 4);
        assert_int_equal(reason_of(f, l[4]), NL_REASON_RESERVATION);
    } else {
        for (size_t i = 0; i < started; i++) {
            const struct nl_alloc_node *nodes;
            assert_int_equal(nl_sched_job_alloc(f->s, act[i].job, &nodes), 1);
            assert_true(nodes[0].node < 2);
        }
        for (uint32_t n = 2; n < 4; n++)
            assert_int_equal(nl_sched_job_exit(f->s, 100 + n, NL_EXIT_OK, 100 * SEC, NULL, NULL), 0);
        pass(f, 100, &act);
        assert_int_equal(state_of(f, w), NL_JOB_RUNNING);
        const struct nl_alloc_node *nodes;
        assert_int_equal(nl_sched_job_alloc(f->s, w, &nodes), 2);
        assert_int_equal(nodes[0].node + nodes[1].node, 2 + 3);
    }
    assert_clean(f);
    fx_free(f);
}

static void test_sched_sensitive_counts_whole_nodes(void **state)
{
    (void)state;
    sensitive_case(NL_POLICY_BACKFILL);
    sensitive_case(NL_POLICY_NORDLYS);
}

/*
 * Sovereignty: two sites, osl (NO) and lon (UK), 8 GPUs each (2 nodes of 4),
 * and tenants whose allowed jurisdictions differ.
 */
struct sov_fx {
    struct nl_facility *fac;
    struct nl_tenants *ten;
    struct nl_sched *s;
};

static void sov_fx_new(struct sov_fx *f)
{
    struct nl_facility_spec spec;
    nl_facility_preset("dev", &spec, NULL);
    spec.sites[0].racks = 1;
    spec.sites[0].racks_per_pod = 1;
    snprintf(spec.sites[0].name, sizeof(spec.sites[0].name), "osl");
    spec.sites[1] = spec.sites[0];
    snprintf(spec.sites[1].name, sizeof(spec.sites[1].name), "lon");
    snprintf(spec.sites[1].jurisdiction, sizeof(spec.sites[1].jurisdiction), "UK");
    spec.nsites = 2;
    struct nl_err err;
    f->fac = nl_facility_create(&spec, &err);
    if (f->fac == NULL)
        fail_msg("facility: %s", err.msg);
    f->ten = nl_tenants_create();
    struct nl_tier_spec tier = {"regional", 0};
    nl_tenants_add_tier(f->ten, &tier, NULL);
    static const char *const names[] = {"no-only", "uk-only", "eea", "free", "no-uk"};
    static const char *const jur[] = {"NO", "uk", "EEA", "any", "NO, UK"};
    for (int i = 0; i < 5; i++) {
        struct nl_tenant_spec ts = {.tier = 0, .quota_gpus = 16, .weight = 1};
        snprintf(ts.name, sizeof(ts.name), "%s", names[i]);
        assert_int_equal(nl_tenant_jurisdictions_parse(jur[i], &ts, &err), 0);
        assert_true(nl_tenants_add(f->ten, &ts, &err) >= 0);
    }
    f->s = nl_sched_create(f->fac, f->ten, NULL, &err);
    assert_non_null(f->s);
}

static void sov_fx_free(struct sov_fx *f)
{
    nl_sched_destroy(f->s);
    nl_tenants_destroy(f->ten);
    nl_facility_destroy(f->fac);
}

static int sov_submit(struct sov_fx *f, uint64_t id, uint32_t tenant, const char *residency,
                      uint32_t gpus, bool sensitive, struct nl_err *err)
{
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.tenant = tenant;
    spec.gpus = gpus;
    spec.sensitive = sensitive;
    nl_residency_parse(residency, &spec.residency, NULL);
    return nl_sched_submit(f->s, id, &spec, 0, err);
}

static uint32_t site_of(struct sov_fx *f, uint64_t id)
{
    const struct nl_alloc_node *a;
    assert_true(nl_sched_job_alloc(f->s, id, &a) >= 1);
    return nl_facility_node_site(f->fac, a[0].node);
}

static void test_sched_tenant_jurisdictions(void **state)
{
    (void)state;
    struct sov_fx f;
    sov_fx_new(&f);
    struct nl_err err;
    /* Residency and tenant jurisdictions with no common site: refused, naming all three. */
    assert_int_equal(sov_submit(&f, 1, 0, "UK", 1, false, &err), -EINVAL);
    assert_string_equal(err.msg, "residency: no site satisfies residency UK and tenant no-only's "
                                 "jurisdictions (NO); facility dev's sites: osl (NO), lon (UK)");
    assert_int_equal(sov_submit(&f, 1, 1, "EEA", 1, false, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "residency EEA and tenant uk-only's jurisdictions (UK)"));
    assert_int_equal(sov_submit(&f, 1, 2, "UK", 1, false, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "tenant eea's jurisdictions (EEA)"));
    /* Too big for the one site the tenant may use, though the facility has room. */
    assert_int_equal(sov_submit(&f, 1, 0, "any", 12, false, &err), -EINVAL);
    assert_string_equal(err.msg,
                        "gpus: 12 exceeds the largest site eligible for residency any and tenant "
                        "no-only");
    /* Allowed: each lands only where both bounds hold. */
    assert_int_equal(sov_submit(&f, 10, 2, "NO", 1, false, &err), 0);
    assert_int_equal(sov_submit(&f, 11, 1, "any", 1, false, &err), 0);
    assert_int_equal(sov_submit(&f, 12, 4, "UK", 1, false, &err), 0);
    /* no-only asks for any residency: 8 GPUs of jobs fill osl; the 9th waits, lon idle. */
    for (uint64_t id = 20; id < 29; id++)
        assert_int_equal(sov_submit(&f, id, 0, "any", 1, false, &err), 0);
    const struct nl_action *act;
    nl_sched_pass(f.s, 1 * SEC, &act);
    assert_int_equal(site_of(&f, 10), 0);
    assert_int_equal(site_of(&f, 11), 1);
    assert_int_equal(site_of(&f, 12), 1);
    uint32_t running = 0, pending = 0;
    for (uint64_t id = 20; id < 29; id++) {
        struct nl_job_info info;
        assert_int_equal(nl_sched_job_info(f.s, id, &info), 0);
        if (info.state == NL_JOB_RUNNING) {
            running++;
            assert_int_equal(site_of(&f, id), 0);
        } else {
            pending++;
        }
    }
    /* osl holds job 10 too: 7 of no-only's jobs fit there, 2 wait though lon has 6 free. */
    assert_int_equal(running, 7);
    assert_int_equal(pending, 2);
    struct nl_sched_violations v = {0};
    assert_true(nl_sched_check(f.s, &v));
    sov_fx_free(&f);
}

static void test_sched_sensitive_isolation(void **state)
{
    (void)state;
    struct sov_fx f;
    sov_fx_new(&f);
    struct nl_err err;
    /* A 1-GPU sensitive job of tenant free takes a whole node; other tenants' jobs never join it. */
    assert_int_equal(sov_submit(&f, 1, 3, "NO", 1, true, &err), 0);
    for (uint64_t id = 2; id < 12; id++)
        assert_int_equal(sov_submit(&f, id, 2, "NO", 1, false, &err), 0);
    const struct nl_action *act;
    nl_sched_pass(f.s, 1 * SEC, &act);
    const struct nl_alloc_node *a;
    assert_int_equal(nl_sched_job_alloc(f.s, 1, &a), 1);
    uint32_t node = a[0].node;
    assert_int_equal(nl_sched_node_free(f.s, node), 0);
    uint32_t beside = 0;
    for (uint64_t id = 2; id < 12; id++) {
        const struct nl_alloc_node *b;
        if (nl_sched_job_alloc(f.s, id, &b) == 1) {
            assert_int_not_equal(b[0].node, node);
            beside++;
        }
    }
    assert_int_equal(beside, 4); /* the other osl node only */
    struct nl_sched_violations v = {0}, inc;
    assert_true(nl_sched_check(f.s, &v));
    nl_sched_violations(f.s, &inc);
    assert_int_equal(inc.isolation, 0);
    sov_fx_free(&f);

    /*
     * The check sees a clash when one exists: adoption after a restart
     * trusts the recorded allocation, so a sensitive job recorded on half
     * a node beside another tenant's job is the way to build one.
     */
    sov_fx_new(&f);
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.tenant = 3;
    spec.gpus = 2;
    spec.sensitive = true;
    struct nl_alloc_node half0[] = {{0, 0x3}}, half1[] = {{0, 0xc}};
    assert_int_equal(nl_sched_adopt(f.s, 1, &spec, 0, 0, half0, 1, 0, &err), 0);
    spec.tenant = 2;
    spec.sensitive = false;
    assert_int_equal(nl_sched_adopt(f.s, 2, &spec, 0, 0, half1, 1, 0, &err), 0);
    memset(&v, 0, sizeof(v));
    assert_false(nl_sched_check(f.s, &v));
    assert_true(v.isolation > 0);
    nl_sched_violations(f.s, &inc);
    assert_true(inc.isolation > 0);
    sov_fx_free(&f);

    /* Same tenant beside its own sensitive job is not a clash (only the gang count is off). */
    sov_fx_new(&f);
    spec.tenant = 3;
    spec.sensitive = true;
    assert_int_equal(nl_sched_adopt(f.s, 1, &spec, 0, 0, half0, 1, 0, &err), 0);
    spec.sensitive = false;
    assert_int_equal(nl_sched_adopt(f.s, 2, &spec, 0, 0, half1, 1, 0, &err), 0);
    memset(&v, 0, sizeof(v));
    nl_sched_check(f.s, &v);
    assert_int_equal(v.isolation, 0);
    sov_fx_free(&f);
}

/*
 * w_limit: within a tier, a shorter time limit comes first (issue 13: mean
 * JCT without run-time knowledge); across tiers it never reorders, because
 * its whole range (a minute to a year) is below one tier step.
 */
static void test_sched_shorter_limit_first(void **state)
{
    (void)state;
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    cfg.w_limit = 3000;
    struct fx *f = fx_new_cfg(&cfg, 0);
    const struct nl_action *act;
    uint64_t hog = submit(f, 0, 16, 100, 0);
    assert_int_equal(pass(f, 0, &act), 1);
    uint64_t longer = submit(f, 0, 16, 36000, 1); /* 10 h, submitted first */
    uint64_t shorter = submit(f, 0, 16, 600, 2);  /* 10 min */
    uint64_t reg = submit(f, 1, 16, 60, 3);        /* weaker tier, the shortest */
    pass(f, 4, &act);
    struct nl_job_info li, si, ri;
    nl_sched_job_info(f->s, longer, &li);
    nl_sched_job_info(f->s, shorter, &si);
    nl_sched_job_info(f->s, reg, &ri);
    assert_true(si.priority > li.priority);
    assert_true(li.priority > ri.priority); /* tier order holds */
    nl_sched_job_exit(f->s, hog, NL_EXIT_OK, 100 * SEC, NULL, NULL);
    assert_int_equal(pass(f, 100, &act), 1);
    assert_int_equal(act[0].job, shorter);
    nl_sched_job_exit(f->s, shorter, NL_EXIT_OK, 200 * SEC, NULL, NULL);
    assert_int_equal(pass(f, 200, &act), 1);
    assert_int_equal(act[0].job, longer);
    assert_clean(f);
    fx_free(f);
    /* With w_limit 0 submit order rules within the tier. */
    cfg.w_limit = 0;
    f = fx_new_cfg(&cfg, 0);
    hog = submit(f, 0, 16, 100, 0);
    pass(f, 0, &act);
    longer = submit(f, 0, 16, 36000, 1);
    shorter = submit(f, 0, 16, 600, 2);
    nl_sched_job_exit(f->s, hog, NL_EXIT_OK, 100 * SEC, NULL, NULL);
    assert_int_equal(pass(f, 100, &act), 1);
    assert_int_equal(act[0].job, longer);
    fx_free(f);
}

/*
 * reclaim_ratio: a borrowed 16-GPU gang is not torn down to give a
 * tenant 2 guaranteed GPUs (16 > 4 x 2), but is for 4 (16 <= 4 x 4).
 */
static void test_sched_reclaim_ratio(void **state)
{
    (void)state;
    for (int need = 2; need <= 4; need += 2) {
        struct nl_sched_config cfg;
        nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
        cfg.reclaim_ratio = 4;
        struct fx *f = fx_new_cfg(&cfg, 0);
        const struct nl_action *act;
        uint64_t gang = submit(f, 1, 16, 1000, 0); /* reg borrows the whole facility */
        assert_int_equal(pass(f, 0, &act), 1);
        uint64_t s = submit(f, 0, (uint32_t)need, 100, 10);
        size_t n = pass(f, 10, &act);
        if (need == 2) {
            assert_int_equal(n, 0);
            assert_int_equal(state_of(f, gang), NL_JOB_RUNNING);
            assert_int_equal(reason_of(f, s), NL_REASON_RESOURCES);
        } else {
            assert_int_equal(n, 1);
            assert_int_equal(act[0].kind, NL_ACT_PREEMPT);
            assert_int_equal(act[0].job, gang);
        }
        assert_clean(f);
        fx_free(f);
    }
}

/*
 * drain_preempt: a job short of GPUs that already finds the given fraction of
 * them free preempts preemptible work of a weaker tier for the rest, even
 * outside its quota (sov asks 12 of 16 GPUs, its quota is 8). Off, or with
 * too few GPUs free, it waits for the running jobs to end.
 */
static void test_sched_drain_preempt(void **state)
{
    (void)state;
    const double fraction[] = {0, 0.5, 0.9};
    for (size_t c = 0; c < 3; c++) {
        struct nl_sched_config cfg;
        nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
        cfg.drain_preempt = fraction[c];
        cfg.drain_preempt_gpus = 8;
        struct fx *f = fx_new_cfg(&cfg, 0);
        const struct nl_action *act;
        uint64_t keep = submit(f, 2, 4, 1000, 0); /* cap: inside its quota, not preemptible */
        struct nl_job_spec spec;
        nl_job_spec_init(&spec);
        spec.tenant = 1;
        spec.gpus = 4;
        spec.time_limit_us = 1000 * SEC;
        spec.grace_us = 10 * SEC;
        spec.preemptible = true;
        uint64_t victim = f->next_id++;
        assert_int_equal(nl_sched_submit(f->s, victim, &spec, 0, NULL), 0);
        assert_int_equal(pass(f, 0, &act), 2);
        uint64_t gang = submit(f, 0, 12, 100, 10);
        size_t n = pass(f, 10, &act);
        assert_int_equal(state_of(f, keep), NL_JOB_RUNNING);
        if (c == 1) {
            assert_int_equal(n, 1);
            assert_int_equal(act[0].kind, NL_ACT_PREEMPT);
            assert_int_equal(act[0].job, victim);
            assert_int_equal(reason_of(f, gang), NL_REASON_RECLAIM);
            struct nl_job_info info;
            assert_int_equal(nl_sched_job_exit(f->s, victim, NL_EXIT_FAILED, 20 * SEC, &info, NULL), 0);
            assert_int_equal(info.state, NL_JOB_PENDING); /* requeued */
            assert_int_equal(pass(f, 20, &act), 1);
            assert_int_equal(act[0].kind, NL_ACT_START);
            assert_int_equal(act[0].job, gang);
        } else {
            assert_int_equal(n, 0);
            assert_int_equal(state_of(f, victim), NL_JOB_RUNNING);
            assert_int_equal(state_of(f, gang), NL_JOB_PENDING);
        }
        assert_clean(f);
        fx_free(f);
    }
}

static void test_sched_config_set(void **state)
{
    (void)state;
    struct nl_sched_config cfg, before;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    struct nl_err err;
    assert_int_equal(nl_sched_config_set(&cfg, "reservations=2", &err), 0);
    assert_int_equal(cfg.reservations, 2);
    assert_int_equal(nl_sched_config_set(&cfg, "preempt=no", &err), 0);
    assert_false(cfg.preempt);
    assert_int_equal(nl_sched_config_set(&cfg, "age_ref=60", &err), 0);
    assert_int_equal(cfg.age_ref_us, 60 * SEC);
    assert_int_equal(nl_sched_config_set(&cfg, "shaped=no", &err), 0);
    assert_false(cfg.shaped);
    assert_int_equal(cfg.shaped_max, 32);
    assert_int_equal(nl_sched_config_set(&cfg, "shaped_max=8", &err), 0);
    assert_int_equal(cfg.shaped_max, 8);
    assert_int_equal(nl_sched_config_set(&cfg, "drain_preempt=0.5", &err), 0);
    assert_true(cfg.drain_preempt == 0.5);
    assert_int_equal(nl_sched_config_set(&cfg, "drain_preempt_gpus=64", &err), 0);
    assert_int_equal(cfg.drain_preempt_gpus, 64);
    assert_int_equal(nl_sched_config_set(&cfg, "w_tier=1.5", &err), 0);
    assert_true(cfg.w_tier == 1.5);
    before = cfg;
    const char *bad[] = {"depth", "=3", "nosuch=1", "depth=-1", "depth=x", "reservations=2000",
                         "topology=maybe", "w_age=-1", "drain_preempt=2", "topology_wait=soon", "shaped_max=100000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        assert_int_equal(nl_sched_config_set(&cfg, bad[i], &err), -EINVAL);
        assert_true(err.msg[0] != '\0');
        assert_memory_equal(&cfg, &before, sizeof(cfg)); /* unchanged */
    }
    assert_non_null(strstr((nl_sched_config_set(&cfg, "nosuch=1", &err), err.msg), "nosuch"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sched_validate_names_the_field),
            cmocka_unit_test(test_sched_quota_admission),
            cmocka_unit_test(test_sched_reclaim_preempts_borrowed),
            cmocka_unit_test(test_sched_shorter_limit_first),
            cmocka_unit_test(test_sched_reclaim_ratio),
            cmocka_unit_test(test_sched_drain_preempt),
            cmocka_unit_test(test_sched_backfill_respects_reservation),
            cmocka_unit_test(test_sched_fifo_stops_at_first_blocked),
            cmocka_unit_test(test_sched_power_budget_blocks),
            cmocka_unit_test(test_sched_cancel),
            cmocka_unit_test(test_sched_requeue_and_update),
            cmocka_unit_test(test_sched_tier_order),
            cmocka_unit_test(test_sched_node_failure_requeues),
            cmocka_unit_test(test_sched_adopt_after_restart),
            cmocka_unit_test(test_sched_adopt_preempting),
            cmocka_unit_test(test_sched_promised_gpus_stop_thrash),
            cmocka_unit_test(test_sched_topology_wait),
            cmocka_unit_test(test_sched_config_set),
            cmocka_unit_test(test_sched_shaped_reservation),
            cmocka_unit_test(test_sched_sensitive_counts_whole_nodes),
            cmocka_unit_test(test_sched_tenant_jurisdictions),
            cmocka_unit_test(test_sched_sensitive_isolation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
