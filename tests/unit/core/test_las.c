/* SPDX-License-Identifier: MIT */
/*
 * test_las.c - the two scheduler settings of issue 13's third round on the
 * 16-GPU dev facility: least-attained-service (las, Tiresias-style) and
 * planning with run times learned from a tenant's history (predict), and
 * the history's quantile itself (predict.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* cmocka.h needs the headers above first (clang-format would sort it among them). */
// clang-format off
#include <cmocka.h>
// clang-format on

#include "core/predict.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"

#define SEC  1000000LL
#define HOUR (3600 * SEC)

struct fx {
    struct nl_facility *fac;
    struct nl_tenants *ten;
    struct nl_sched *s;
    uint64_t next_id;
};

/* sov (sovereign, quota 8, borrow 8), reg (regional, quota 0, borrow 16), reg2 (regional, same). */
static void fx_init(struct fx *f, const struct nl_sched_config *cfg)
{
    struct nl_facility_spec spec;
    nl_facility_preset("dev", &spec, NULL);
    spec.power_budget_w = 0;
    spec.sites[0].power_w = 0;
    f->fac = nl_facility_create(&spec, NULL);
    f->ten = nl_tenants_create();
    struct nl_tier_spec tiers[] = {{"sovereign", 0}, {"anchor", 1}, {"regional", 2}};
    for (int i = 0; i < 3; i++)
        nl_tenants_add_tier(f->ten, &tiers[i], NULL);
    struct nl_tenant_spec ts[] = {
            {.name = "sov", .tier = 0, .quota_gpus = 8, .borrow_gpus = 8, .weight = 1},
            {.name = "reg", .tier = 2, .quota_gpus = 0, .borrow_gpus = 16, .weight = 1},
            {.name = "reg2", .tier = 2, .quota_gpus = 0, .borrow_gpus = 16, .weight = 1},
    };
    for (int i = 0; i < 3; i++)
        assert_true(nl_tenants_add(f->ten, &ts[i], NULL) >= 0);
    f->s = nl_sched_create(f->fac, f->ten, cfg, NULL);
    assert_non_null(f->s);
    f->next_id = 1;
}

static void fx_free(struct fx *f)
{
    struct nl_sched_violations v = {0};
    assert_true(nl_sched_check(f->s, &v));
    nl_sched_destroy(f->s);
    nl_tenants_destroy(f->ten);
    nl_facility_destroy(f->fac);
}

static uint64_t submit(struct fx *f, uint32_t tenant, uint32_t gpus, int64_t limit_us,
                       bool preemptible, int64_t now_us)
{
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.tenant = tenant;
    spec.gpus = gpus;
    spec.time_limit_us = limit_us;
    spec.grace_us = 10 * SEC;
    spec.preemptible = preemptible;
    uint64_t id = f->next_id++;
    struct nl_err err;
    if (nl_sched_submit(f->s, id, &spec, now_us, &err) < 0)
        fail_msg("submit: %s", err.msg);
    return id;
}

static struct nl_job_info info_of(struct fx *f, uint64_t id)
{
    struct nl_job_info info;
    assert_int_equal(nl_sched_job_info(f->s, id, &info), 0);
    return info;
}

static void config(struct nl_sched_config *cfg, const char *kv)
{
    struct nl_err err;
    nl_sched_config_init(cfg, NL_POLICY_NORDLYS);
    if (kv != NULL)
        assert_int_equal(nl_sched_config_set(cfg, kv, &err), 0);
}

/*
 * las=1: a preemptible job that attained 16 GPU-hours makes way for a new
 * one (same tier, queue 0), then ranks behind newer work when requeued. Off:
 * the new job waits.
 */
static void test_las_preempts_longest(void **state)
{
    (void)state;
    for (int on = 0; on < 2; on++) {
        struct nl_sched_config cfg;
        config(&cfg, on ? "las=1" : NULL);
        struct fx f;
        fx_init(&f, &cfg);
        const struct nl_action *act;
        uint64_t big = submit(&f, 1, 16, 100 * HOUR, true, 0);
        assert_int_equal(nl_sched_pass(f.s, 0, &act), 1);
        uint64_t small = submit(&f, 2, 4, HOUR, true, HOUR);
        size_t n = nl_sched_pass(f.s, HOUR, &act);
        if (!on) {
            assert_int_equal(n, 0);
            assert_int_equal(info_of(&f, small).state, NL_JOB_PENDING);
            fx_free(&f);
            continue;
        }
        assert_int_equal(n, 1);
        assert_int_equal(act[0].kind, NL_ACT_PREEMPT);
        assert_int_equal(act[0].job, big);
        assert_int_equal(info_of(&f, small).reason, NL_REASON_RECLAIM);
        struct nl_job_info ended;
        assert_int_equal(nl_sched_job_exit(f.s, big, NL_EXIT_FAILED, HOUR + 10 * SEC, &ended, NULL),
                         0);
        assert_int_equal(ended.state, NL_JOB_PENDING);
        /* A job submitted after the requeue still ranks ahead of the job that ran 16 GPU-hours. */
        uint64_t later = submit(&f, 1, 16, 100 * HOUR, true, HOUR + 20 * SEC);
        n = nl_sched_pass(f.s, HOUR + 20 * SEC, &act);
        assert_int_equal(n, 1);
        assert_int_equal(act[0].job, small);
        assert_true(info_of(&f, later).priority > info_of(&f, big).priority);
        fx_free(&f);
    }
}

/* LAS never preempts a job of a stronger tier, nor one not marked preemptible. */
static void test_las_keeps_guarantees(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++) {
        struct nl_sched_config cfg;
        config(&cfg, "las=1");
        struct fx f;
        fx_init(&f, &cfg);
        const struct nl_action *act;
        /* c = 0: a sovereign preemptible job; c = 1: a regional one not marked preemptible. */
        uint64_t big = c == 0 ? submit(&f, 0, 16, 100 * HOUR, true, 0)
                              : submit(&f, 1, 16, 100 * HOUR, false, 0);
        assert_int_equal(nl_sched_pass(f.s, 0, &act), 1);
        uint64_t small = submit(&f, 2, 4, HOUR, true, HOUR);
        assert_int_equal(nl_sched_pass(f.s, HOUR, &act), 0);
        assert_int_equal(info_of(&f, big).state, NL_JOB_RUNNING);
        assert_int_equal(info_of(&f, small).state, NL_JOB_PENDING);
        fx_free(&f);
    }
}

/*
 * predict=2: once jobs of a tenant used a tenth of their limits, its next
 * job is planned to end at a tenth of its limit; past that, at its limit
 * again. A job of another tenant (no history) is planned at its limit.
 */
static void test_predict_plans_and_corrects(void **state)
{
    (void)state;
    struct nl_sched_config cfg;
    config(&cfg, "predict=2");
    struct fx f;
    fx_init(&f, &cfg);
    const struct nl_action *act;
    int64_t now = 0;
    for (int k = 0; k < 2; k++) {
        uint64_t id = submit(&f, 1, 4, 1000 * SEC, false, now);
        assert_int_equal(nl_sched_pass(f.s, now, &act), 1);
        /* The first has no history; the second has the first's (a tenth). */
        assert_int_equal(info_of(&f, id).expect_end_us, now + (k == 0 ? 1000 : 100) * SEC);
        now += 100 * SEC;
        assert_int_equal(nl_sched_job_exit(f.s, id, NL_EXIT_OK, now, NULL, NULL), 0);
    }
    uint64_t j = submit(&f, 1, 4, 1000 * SEC, false, now);
    uint64_t other = submit(&f, 2, 4, 1000 * SEC, false, now);
    assert_int_equal(nl_sched_pass(f.s, now, &act), 2);
    int64_t start = now;
    assert_int_equal(info_of(&f, j).expect_end_us, start + 100 * SEC);
    assert_int_equal(info_of(&f, other).expect_end_us, start + 1000 * SEC);
    /* Still running past its prediction: planned at its limit from the next pass. */
    nl_sched_pass(f.s, start + 150 * SEC, &act);
    assert_int_equal(info_of(&f, j).expect_end_us, start + 1000 * SEC);
    assert_int_equal(info_of(&f, j).state, NL_JOB_RUNNING);
    fx_free(&f);
}

/*
 * With predict, a job whose predicted run ends before the reservation's
 * (predicted) shadow time backfills; with limits alone it would not fit
 * before the shadow time and waits.
 */
static void test_predict_backfills(void **state)
{
    (void)state;
    for (int on = 0; on < 2; on++) {
        struct nl_sched_config cfg;
        config(&cfg, on ? "predict=2" : NULL);
        struct fx f;
        fx_init(&f, &cfg);
        const struct nl_action *act;
        int64_t now = 0;
        for (int k = 0; k < 2; k++) { /* history: reg's jobs use a tenth of their limits */
            uint64_t id = submit(&f, 1, 4, 1000 * SEC, false, now);
            nl_sched_pass(f.s, now, &act);
            now += 100 * SEC;
            nl_sched_job_exit(f.s, id, NL_EXIT_OK, now, NULL, NULL);
        }
        /* 12 GPUs busy until (predicted) now + 100 s, limit now + 1000 s. */
        uint64_t run = submit(&f, 1, 12, 1000 * SEC, false, now);
        assert_int_equal(nl_sched_pass(f.s, now, &act), 1);
        /* A sovereign 16-GPU job must wait for them: it gets the reservation. */
        uint64_t gang = submit(&f, 0, 16, 1000 * SEC, false, now + SEC);
        /* reg2 (no history): 4 GPUs for 500 s, planned at its limit. */
        uint64_t fill = submit(&f, 2, 4, 500 * SEC, false, now + SEC);
        nl_sched_pass(f.s, now + SEC, &act);
        assert_int_equal(info_of(&f, gang).state, NL_JOB_PENDING);
        /* Limits: the shadow is at now + 1000 s and 500 s fits before it. Predictions: the
         * shadow is at now + 100 s and 500 s does not. */
        assert_int_equal(info_of(&f, fill).state, on ? NL_JOB_PENDING : NL_JOB_RUNNING);
        assert_int_equal(info_of(&f, run).state, NL_JOB_RUNNING);
        fx_free(&f);
    }
}

static void test_predict_quantile(void **state)
{
    (void)state;
    struct predict p;
    predict_init(&p, 2, 4, 0.5);
    assert_int_equal(predict_len(&p, 0, 1000), 1000); /* no history: the limit */
    const int64_t runs[] = {100, 500, 200, 1000};
    for (size_t i = 0; i < 4; i++)
        predict_record(&p, 0, runs[i], 1000);
    /* Sorted ratios 0.1, 0.2, 0.5, 1: the median (the 2nd of 4) is 0.2. */
    assert_int_equal(predict_len(&p, 0, 10 * SEC), 2 * SEC);
    /* The ring keeps the last 4: 0.1 goes, the new 0.9 comes (0.2, 0.5, 0.9, 1). */
    predict_record(&p, 0, 900, 1000);
    assert_int_equal(predict_len(&p, 0, 10 * SEC), 5 * SEC);
    /* Never below a second, never above the limit; another tenant is untouched. */
    predict_record(&p, 1, 1, 1000000);
    assert_int_equal(predict_len(&p, 1, 100 * SEC), SEC);
    predict_record(&p, 1, 5000, 1000); /* a run past its limit counts as 1 */
    assert_true(predict_len(&p, 1, 100 * SEC) <= 100 * SEC);
    predict_release(&p);
    predict_init(&p, 2, 0, 1); /* off */
    predict_record(&p, 0, 1, 1000);
    assert_int_equal(predict_len(&p, 0, 1000), 1000);
    predict_release(&p);
}

static void test_las_predict_config(void **state)
{
    (void)state;
    struct nl_sched_config cfg, before;
    struct nl_err err;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    assert_true(cfg.las_gpuh == 0 && cfg.predict == 0); /* off by default */
    assert_int_equal(nl_sched_config_set(&cfg, "las=10", &err), 0);
    assert_true(cfg.las_gpuh == 10);
    assert_int_equal(nl_sched_config_set(&cfg, "las_queues=3", &err), 0);
    assert_int_equal(cfg.las_queues, 3);
    assert_int_equal(nl_sched_config_set(&cfg, "w_las=500", &err), 0);
    assert_int_equal(nl_sched_config_set(&cfg, "predict=8", &err), 0);
    assert_int_equal(cfg.predict, 8);
    assert_int_equal(nl_sched_config_set(&cfg, "predict_q=0.9", &err), 0);
    before = cfg;
    const char *bad[] = {"las=-1",      "las_queues=1",  "las_queues=9", "predict=65",
                         "predict_q=0", "predict_q=1.5", "w_las=x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        assert_int_equal(nl_sched_config_set(&cfg, bad[i], &err), -EINVAL);
        size_t klen = (size_t)(strchr(bad[i], '=') - bad[i]);
        assert_true(strncmp(err.msg, bad[i], klen) == 0 || strstr(err.msg, "las") ||
                    strstr(err.msg, "predict"));
        assert_memory_equal(&cfg, &before, sizeof(cfg));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_las_preempts_longest),
            cmocka_unit_test(test_las_keeps_guarantees),
            cmocka_unit_test(test_predict_plans_and_corrects),
            cmocka_unit_test(test_predict_backfills),
            cmocka_unit_test(test_predict_quantile),
            cmocka_unit_test(test_las_predict_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
