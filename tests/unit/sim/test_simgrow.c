/* SPDX-License-Identifier: MIT */
/*
 * test_simgrow.c - expansion online in the simulator: budget schedule
 * lines "TIME +N racks [SITE] [POWER]" (and their errors, file and line
 * named), and a run where racks come online mid-way: work starts on them
 * after the event and never before, every invariant holds (checked from
 * scratch at every sample), the caller's facility is left as it was, and
 * the backlog drains faster than without them.
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
#include "sim/sim.h"
#include "sim/simpower.h"
#include "sim/workload.h"

#define DAY_US (86400LL * 1000000)

static void test_schedule_growth_lines(void **state)
{
    (void)state;
    struct simpower_schedule s;
    struct nl_err err;
    const char *good = "0 230MW\n1d +20 racks b 3MW # phase 2\n2d +5 racks\n3d 200MW\n"
                       "4d +1 rack 1MW\n";
    assert_int_equal(simpower_schedule_parse(good, strlen(good), "g.txt", &s, &err), 0);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.growth[0].racks, 0);
    assert_int_equal(s.growth[1].racks, 20);
    assert_string_equal(s.growth[1].site, "b");
    assert_true(s.growth[1].site_power_w == 3e6 && s.growth[1].facility_power_w == 3e6);
    assert_int_equal(s.growth[2].racks, 5);
    assert_string_equal(s.growth[2].site, "");
    assert_true(s.growth[2].site_power_w == 0);
    assert_int_equal(s.growth[3].racks, 0);
    assert_true(s.budget_w[3] == 200e6);
    assert_string_equal(s.growth[4].site, "");
    assert_true(s.growth[4].site_power_w == 1e6);
    simpower_schedule_release(&s);
    static const struct {
        const char *text, *msg;
    } bad[] = {
            {"0 230MW\n1d +x racks\n", "g.txt:2: racks:"},
            {"1d +0 racks\n", "g.txt:1: racks:"},
            {"1d +3 boxes\n", "g.txt:1: expected TIME +N racks"},
            {"1d +3 racks b 1MW extra\n", "g.txt:1: expected TIME +N racks [SITE] [POWER] and nothing more"},
            {"2d +3 racks\n1d +3 racks\n", "g.txt:2: time: not after"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(simpower_schedule_parse(bad[i].text, strlen(bad[i].text), "g.txt", &s, &err),
                         -EINVAL);
        if (strstr(err.msg, bad[i].msg) == NULL) {
            print_error("%s: got '%s'\n", bad[i].text, err.msg);
            fail();
        }
    }
}

/* 40 NVL72 racks at 5.7 MW, loaded past capacity; day 1: 40 racks and 5.7 MW more come online. */
static void test_sim_expansion(void **state)
{
    (void)state;
    struct nl_facility_spec spec;
    struct nl_err err;
    assert_int_equal(nl_facility_preset("narvik", &spec, &err), 0);
    spec.sites[0].racks = 40; /* 2,880 GPUs */
    spec.sites[0].power_w = 5.7e6;
    spec.power_budget_w = 5.7e6;
    struct nl_facility *fac = nl_facility_create(&spec, &err);
    assert_non_null(fac);
    struct nl_tenants *ten = nl_tenants_default(2 * nl_facility_gpus(fac));
    struct nl_workload w = {0};
    struct nl_synth_opts so = {.days = 3, .load = 1.6, .seed = 5, .llm_share = -1};
    struct nl_workload_opts wo = {.seed = 5, .limit_factor = 1, .load = 1.6};
    assert_int_equal(nl_workload_synthetic(&so, fac, ten, &wo, &w, &err), 0);
    int64_t t[] = {0, DAY_US};
    double b[] = {5.7e6, 0};
    struct nl_facility_growth g[2];
    memset(g, 0, sizeof(g));
    snprintf(g[1].site, sizeof(g[1].site), "no2");
    g[1].racks = 40;
    g[1].site_power_w = g[1].facility_power_w = 5.7e6;
    struct nl_sim_opts opts = {.power = true, .budget_t_us = t, .budget_w = b, .growth = g,
                               .nbudget = 2, .seed = 5, .full_checks = true,
                               .sample_us = 3600LL * 1000000};
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    struct nl_sim_result grown, flat;
    assert_int_equal(nl_sim_run(fac, ten, &cfg, &w, &opts, &grown, &err), 0);
    print_message("expansion: %llu starts on the new racks, the first at %.0f s; util %.3f\n",
                  (unsigned long long)grown.starts_added, grown.first_added_start_s,
                  grown.utilization);
    assert_int_equal(nl_sim_violations_total(&grown), 0);
    assert_int_equal(grown.racks_added, 40);
    assert_int_equal(grown.gpus_added, 2880);
    assert_true(grown.starts_added > 0);
    assert_true(grown.first_added_start_s >= 86400);
    /* More GPUs busy after the event than the facility had before it. */
    double most = 0;
    for (size_t i = 0; i < grown.nsamples; i++) {
        double busy = grown.samples[i].util * 5760; /* util is over the GPUs of the moment */
        if (grown.samples[i].t_s >= 86400 && busy > most)
            most = busy;
    }
    print_message("most GPUs busy after the event: %.0f of 5760\n", most);
    assert_true(most > 2880 * 1.2);
    assert_true(grown.power_budget_w == 11.4e6);
    /* The caller's facility did not grow: the run grew its own copy. */
    assert_int_equal(nl_facility_gpus(fac), 2880);
    assert_int_equal(nl_facility_nsites(fac), 1);
    /* Without the expansion the same work waits longer. */
    opts.growth = NULL;
    opts.nbudget = 1;
    assert_int_equal(nl_sim_run(fac, ten, &cfg, &w, &opts, &flat, &err), 0);
    assert_int_equal(nl_sim_violations_total(&flat), 0);
    assert_int_equal(flat.racks_added, 0);
    print_message("wait mean %.0f s grown, %.0f s without\n", grown.wait_s.mean, flat.wait_s.mean);
    assert_true(grown.wait_s.mean < flat.wait_s.mean);
    nl_sim_result_release(&grown);
    nl_sim_result_release(&flat);
    nl_workload_release(&w);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_schedule_growth_lines),
            cmocka_unit_test(test_sim_expansion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
