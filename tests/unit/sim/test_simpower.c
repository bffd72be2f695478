/* SPDX-License-Identifier: MIT */
/*
 * test_simpower.c - the simulator's power model: the power-performance
 * curve, real draw and reading noise within their stated ranges, and
 * budget schedule files with their errors (file, line and field named);
 * then a small narvik-shaped run where a budget cut caps jobs, they run
 * slower, and no invariant breaks.
 */
#include <errno.h>
#include <math.h>
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
#include "sim/sim.h"
#include "sim/simpower.h"
#include "sim/workload.h"

static void test_speed_curve(void **state)
{
    (void)state;
    assert_true(simpower_speed(0, 1500) == 1);    /* no cap */
    assert_true(simpower_speed(1600, 1500) == 1); /* a cap above the demand costs nothing */
    /* 86 % of the demand (600 of 700 W): about 9 % slower. */
    double v = simpower_speed(600, 700);
    assert_true(v > 0.90 && v < 0.92);
    /* Monotone and concave down to the floor. */
    double prev = 1;
    for (double c = 0.99; c > 0.45; c -= 0.01) {
        double s = simpower_speed(c * 1000, 1000);
        assert_true(s <= prev && s > 0);
        prev = s;
    }
    assert_true(simpower_speed(600, 1000) > 0.69 && simpower_speed(600, 1000) < 0.70);
}

static void test_demand_and_noise(void **state)
{
    (void)state;
    for (uint64_t i = 0; i < 10000; i++) {
        double d = simpower_demand(7, i, 1800);
        assert_true(d >= 1260 && d <= 1710);
        double r = simpower_noise(7, i, 3, d);
        assert_true(r >= d * 0.97 - 1e-9 && r <= d * 1.03 + 1e-9);
    }
    assert_true(simpower_demand(7, 5, 1800) == simpower_demand(7, 5, 1800)); /* reproducible */
}

static void test_schedule_parse(void **state)
{
    (void)state;
    struct simpower_schedule s;
    struct nl_err err;
    const char *ok = "# a grid event\n0 230MW\n1d12h 170 MW\n2d 1.2GW # expansion\n3d none\n";
    /* "170 MW" has a space: TIME POWER and nothing more is refused, naming line 3. */
    assert_int_equal(simpower_schedule_parse(ok, strlen(ok), "b.txt", &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "b.txt:3:"));
    const char *good = "# a grid event\n0 230MW\n1d12h 170MW\n2d 1.2GW # expansion\n3d none\n";
    assert_int_equal(simpower_schedule_parse(good, strlen(good), "b.txt", &s, &err), 0);
    assert_int_equal(s.n, 4);
    assert_true(s.t_us[1] == 36LL * 3600 * 1000000 && s.budget_w[1] == 170e6);
    assert_true(s.budget_w[2] == 1.2e9 && s.budget_w[3] == 0);
    simpower_schedule_release(&s);
    const char *back = "1h 200MW\n30m 100MW\n";
    assert_int_equal(simpower_schedule_parse(back, strlen(back), "b.txt", &s, &err), -EINVAL);
    assert_string_equal(err.msg, "b.txt:2: time: not after the line before");
    const char *bad = "0 lots\n";
    assert_int_equal(simpower_schedule_parse(bad, strlen(bad), "b.txt", &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "b.txt:1: budget:"));
    assert_int_equal(simpower_schedule_parse("", 0, "b.txt", &s, &err), -EINVAL);
}

/* A small NVL72 facility under a schedule that cuts the budget for a day: caps, slower jobs, no violation. */
static void test_sim_budget_cut_caps(void **state)
{
    (void)state;
    struct nl_facility_spec spec;
    struct nl_err err;
    assert_int_equal(nl_facility_preset("narvik", &spec, &err), 0);
    spec.sites[0].racks = 40; /* 2,880 GPUs */
    spec.sites[0].power_w = 0;
    spec.power_budget_w = 0;
    struct nl_facility *fac = nl_facility_create(&spec, &err);
    assert_non_null(fac);
    struct nl_tenants *ten = nl_tenants_default(nl_facility_gpus(fac));
    struct nl_workload w = {0};
    struct nl_synth_opts so = {.days = 3, .load = 1.2, .seed = 3, .llm_share = -1};
    struct nl_workload_opts wo = {.seed = 3, .limit_factor = 1, .load = 1.2};
    assert_int_equal(nl_workload_synthetic(&so, fac, ten, &wo, &w, &err), 0);
    /* 2,880 GPUs at nameplate: 2880 x 1.8 kW x 1.1 = 5.7 MW; cut to 3.8 MW on day 1. */
    int64_t t[] = {0, 86400LL * 1000000, 2 * 86400LL * 1000000};
    double b[] = {0, 3.8e6, 0};
    struct nl_sim_opts opts = {.power = true, .budget_t_us = t, .budget_w = b, .nbudget = 3,
                               .seed = 3, .full_checks = true, .sample_us = 3600LL * 1000000};
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    struct nl_sim_result capping, preempting, claiming;
    /* Capping with claims (the default): stronger tiers start under the cut, no violation. */
    assert_int_equal(nl_sim_run(fac, ten, &cfg, &w, &opts, &claiming, &err), 0);
    assert_int_equal(nl_sim_violations_total(&claiming), 0);
    assert_true(claiming.power_caps > 0);
    assert_true(claiming.power_claims_preempt + claiming.power_claims_cap > 0);
    /* Capping alone: nothing starts while a job is capped, and nothing is preempted for a start. */
    cfg.power_claim = false;
    assert_int_equal(nl_sim_run(fac, ten, &cfg, &w, &opts, &capping, &err), 0);
    assert_int_equal(capping.power_claims_preempt + capping.power_claims_cap, 0);
    assert_int_equal(nl_sim_violations_total(&capping), 0);
    assert_true(capping.power_caps > 0);
    assert_true(capping.capped_gpu_hours > 0 && capping.work_lost_gpu_hours > 0);
    assert_true(capping.work_lost_gpu_hours < capping.capped_gpu_hours);
    /* The same without capping: the gap is closed by preemption alone. */
    cfg.power_capping = false;
    assert_int_equal(nl_sim_run(fac, ten, &cfg, &w, &opts, &preempting, &err), 0);
    assert_int_equal(nl_sim_violations_total(&preempting), 0);
    assert_int_equal(preempting.power_caps, 0);
    assert_true(preempting.power_preemptions > capping.power_preemptions);
    nl_sim_result_release(&capping);
    nl_sim_result_release(&preempting);
    nl_sim_result_release(&claiming);
    nl_workload_release(&w);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_speed_curve),
            cmocka_unit_test(test_demand_and_noise),
            cmocka_unit_test(test_schedule_parse),
            cmocka_unit_test(test_sim_budget_cut_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
