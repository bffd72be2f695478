/* SPDX-License-Identifier: MIT */
/*
 * test_power.c - the power model and the capping rule: PUE from the
 * climate, the hierarchy's limits at admission, cap.c's rule (weakest tier
 * first, a common fraction inside a tier, preemption only when capping
 * cannot close the gap, the strongest tier last) with a property test over
 * random cases (no limit exceeded after the response, parts add up to the
 * whole), and the scheduler's response to a budget that falls and rises.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cap.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"

#define SEC 1000000LL
#define DAY_US (86400LL * SEC)

/* --- climate and PUE ------------------------------------------------------------ */

static void test_pue_follows_narvik_months(void **state)
{
    (void)state;
    struct nl_facility_spec spec;
    assert_int_equal(nl_facility_preset("narvik", &spec, NULL), 0);
    assert_string_equal(spec.climate, "narvik");
    /* 2026-01-15 and 2026-07-15 (days since the epoch: 20468 and 20649). */
    double jan = nl_facility_pue_at(&spec, 20468 * DAY_US);
    double jul = nl_facility_pue_at(&spec, 20649 * DAY_US);
    assert_true(fabs(jan - 1.1) < 1e-12); /* -4 deg C: free cooling, the base PUE */
    assert_true(fabs(jul - (1.1 + 0.01 * (14.5 - 5))) < 1e-12);
    /* 2024-02-29 is a leap day, still February (-1.5 deg C). */
    assert_true(fabs(nl_facility_pue_at(&spec, 19782 * DAY_US) - 1.1) < 1e-12);
    /* 1969-12-31 is December. */
    assert_true(fabs(nl_facility_pue_at(&spec, -1) - 1.1) < 1e-12);
    assert_true(isnan(nl_climate_month_c("atlantis", 0)));
    /* No climate: the constant. */
    assert_int_equal(nl_facility_preset("loughton", &spec, NULL), 0);
    assert_true(nl_facility_pue_at(&spec, 20649 * DAY_US) == 1.2);
}

static void test_facility_file_power_keys(void **state)
{
    (void)state;
    const char *text = "name = f\nracks_per_row = 2\nrow_power_kw = 250\nracks_per_loop = 4\n"
                       "loop_power_kw = 400\ngpu_cap_min = 0.5\nclimate = narvik\n"
                       "[site a]\njurisdiction = NO\nracks = 8\n";
    struct nl_facility_spec spec;
    struct nl_err err;
    assert_int_equal(nl_facility_parse(text, strlen(text), "f.conf", &spec, &err), 0);
    assert_int_equal(spec.racks_per_row, 2);
    assert_true(spec.row_power_w == 250e3 && spec.loop_power_w == 400e3);
    assert_true(nl_facility_cap_min_w(&spec) == 900);
    const char *bad = "name = f\nclimate = atlantis\n[site a]\njurisdiction = NO\nracks = 1\n";
    assert_int_equal(nl_facility_parse(bad, strlen(bad), "f.conf", &spec, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "f.conf:2"));
    assert_non_null(strstr(err.msg, "climate"));
}

/* --- the capping rule ------------------------------------------------------------- */

static struct cap_limits one_site(double limit_w, double base_w)
{
    struct cap_limits lim = {.idle_w = 350, .min_w = 1080, .slack_w = 0, .nranks = 3,
                             .facility_w = limit_w, .base_w = base_w, .nsites = 1};
    lim.site_base_w[0] = base_w;
    return lim;
}

static void test_cap_weakest_tier_first(void **state)
{
    (void)state;
    /* Three jobs of 10 GPUs at 1800 W: ranks 0 (sovereign), 2, 2. Each can give 7,200 W. */
    struct cap_job j[3] = {{.rank = 0, .gpus = 10, .want_w = 1800},
                           {.rank = 2, .gpus = 10, .want_w = 1800},
                           {.rank = 2, .gpus = 10, .want_w = 1800, .key = 1}};
    double draw = 3 * 10 * (1800 - 350);
    struct cap_limits lim = one_site(draw - 7200, 0); /* over by one job's headroom */
    struct cap_result r;
    cap_solve(j, 3, &lim, &r);
    assert_true(r.ok);
    assert_int_equal(r.preempted, 0);
    assert_int_equal(r.capped, 2);
    assert_true(j[0].set_w == 1800);          /* sovereign untouched */
    assert_true(fabs(j[1].set_w - 1440) < 1e-9); /* the tier gives half its headroom, evenly */
    assert_true(fabs(j[2].set_w - 1440) < 1e-9);
    assert_true(r.it_w <= lim.facility_w + 1e-6);
    /* Over by more than the weak tier can give: it goes to the floor, sovereign gives the rest. */
    lim = one_site(draw - 3 * 7200, 0);
    cap_solve(j, 3, &lim, &r);
    assert_true(j[1].set_w == 1080 && j[2].set_w == 1080);
    assert_true(fabs(j[0].set_w - 1080) < 1e-9);
    assert_int_equal(r.preempted, 0);
    /* The budget comes back: the same call lifts every cap. */
    lim = one_site(draw, 0);
    cap_solve(j, 3, &lim, &r);
    assert_int_equal(r.capped, 0);
    for (int i = 0; i < 3; i++)
        assert_true(j[i].set_w == 1800);
}

static void test_cap_preempts_only_past_the_floor(void **state)
{
    (void)state;
    struct cap_job j[3] = {{.rank = 0, .gpus = 10, .want_w = 1800},
                           {.rank = 2, .gpus = 10, .want_w = 1800, .key = 5},
                           {.rank = 2, .gpus = 10, .want_w = 1800, .key = 9}};
    /* Everything at the floor draws 3 x 10 x 730 = 21,900 W; ask for 15,000 W. */
    struct cap_limits lim = one_site(15000, 0);
    struct cap_result r;
    cap_solve(j, 3, &lim, &r);
    assert_true(r.ok);
    assert_int_equal(r.preempted, 1);
    assert_true(j[2].preempt);  /* the weakest tier, newest run (largest key) first */
    assert_false(j[1].preempt);
    assert_false(j[0].preempt); /* sovereign last */
    assert_true(r.it_w <= 15000 + 1e-6);
    /* The base alone is over: not ok, everything preempted, sovereign included. */
    lim = one_site(1000, 2000);
    cap_solve(j, 3, &lim, &r);
    assert_false(r.ok);
    assert_int_equal(r.preempted, 3);
}

static void test_cap_site_then_facility(void **state)
{
    (void)state;
    /* Two sites, each limit fine for the facility but site 0 is over on its own. */
    struct cap_job j[2] = {{.site = 0, .rank = 1, .gpus = 10, .want_w = 1800},
                           {.site = 1, .rank = 1, .gpus = 10, .want_w = 1800}};
    struct cap_limits lim = {.idle_w = 350, .min_w = 1080, .nranks = 2, .nsites = 2};
    lim.site_w[0] = 10 * (1500 - 350);
    struct cap_result r;
    cap_solve(j, 2, &lim, &r);
    assert_true(fabs(j[0].set_w - 1500) < 1e-9);
    assert_true(j[1].set_w == 1800);
    assert_true(fabs(r.site_it_w[0] - lim.site_w[0]) < 1e-6);
}

/* Deterministic xorshift for the property test. */
static uint64_t rng_state = 88172645463325252ULL;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void test_cap_property(void **state)
{
    (void)state;
    enum { CASES = 3000, MAXJ = 60, MAXU = 8 };
    struct cap_job j[MAXJ];
    struct cap_part parts[MAXJ * 3];
    double unit_w[MAXU], unit_base[MAXU];
    size_t preempting_cases = 0, capping_cases = 0, unit_cases = 0;
    for (int c = 0; c < CASES; c++) {
        size_t n = 1 + (size_t)(urand() * MAXJ);
        struct cap_limits lim = {.idle_w = 350, .min_w = 1080, .slack_w = 1, .nranks = 4,
                                 .nsites = 1 + (uint32_t)(urand() * 3)};
        /* Half the cases add racks, rows or loops: up to MAXU units, each job under up to 3. */
        lim.nunits = urand() < 0.5 ? 0 : 1 + (uint32_t)(urand() * MAXU);
        lim.unit_w = unit_w;
        lim.unit_base_w = unit_base;
        lim.parts = parts;
        double unit_draw[MAXU] = {0};
        for (uint32_t u = 0; u < lim.nunits; u++)
            unit_draw[u] = unit_base[u] = urand() * 5000;
        size_t np = 0;
        double site_draw[NL_SITES_MAX] = {0}, total = 0;
        for (uint32_t s = 0; s < lim.nsites; s++) {
            lim.site_base_w[s] = 1000 + urand() * 20000;
            site_draw[s] = lim.site_base_w[s];
            lim.base_w += lim.site_base_w[s];
        }
        for (size_t i = 0; i < n; i++) {
            j[i] = (struct cap_job){.site = (uint32_t)(urand() * lim.nsites),
                                    .rank = (uint32_t)(urand() * 4),
                                    .gpus = 1 + (uint32_t)(urand() * 72),
                                    .want_w = 1080 + urand() * 720, .key = urand()};
            site_draw[j[i].site] += j[i].gpus * (j[i].want_w - 350);
            j[i].part0 = (uint32_t)np;
            uint32_t k = lim.nunits > 0 ? (uint32_t)(urand() * 4) : 0;
            for (uint32_t p = 0; p < k && p < lim.nunits; p++) {
                uint32_t u = (uint32_t)(urand() * lim.nunits);
                bool dup = false;
                for (uint32_t q = 0; q < j[i].nparts; q++)
                    dup |= parts[j[i].part0 + q].unit == u;
                if (dup)
                    continue;
                parts[np++] = (struct cap_part){u, 1 + (uint32_t)(urand() * j[i].gpus)};
                unit_draw[u] += parts[np - 1].gpus * (j[i].want_w - 350);
                j[i].nparts++;
            }
        }
        for (uint32_t u = 0; u < lim.nunits; u++)
            unit_w[u] = urand() < 0.3 ? 0 : unit_base[u] + (unit_draw[u] - unit_base[u]) * (0.2 + urand());
        for (uint32_t s = 0; s < lim.nsites; s++) {
            lim.site_w[s] = urand() < 0.5 ? 0 : site_draw[s] * (0.4 + urand() * 0.8);
            total += site_draw[s];
        }
        lim.facility_w = total * (0.4 + urand() * 0.8);
        struct cap_result r;
        cap_solve(j, n, &lim, &r);
        /* Parts add up to the whole: per site and for the facility. */
        double sum = 0, per_site[NL_SITES_MAX] = {0};
        double floor_site[NL_SITES_MAX] = {0}, floor_all = lim.base_w;
        double per_unit[MAXU], floor_unit[MAXU];
        for (uint32_t s = 0; s < lim.nsites; s++)
            per_site[s] = floor_site[s] = lim.site_base_w[s];
        for (uint32_t u = 0; u < lim.nunits; u++)
            per_unit[u] = floor_unit[u] = unit_base[u];
        for (size_t i = 0; i < n; i++) {
            double w = j[i].preempt ? 350 : j[i].set_w;
            for (uint32_t p = 0; p < j[i].nparts; p++) {
                const struct cap_part *pt = &parts[j[i].part0 + p];
                per_unit[pt->unit] += pt->gpus * (w - 350);
                floor_unit[pt->unit] += pt->gpus * (1080 - 350);
            }
            per_site[j[i].site] += j[i].gpus * (w - 350);
            floor_site[j[i].site] += j[i].gpus * (1080 - 350);
            floor_all += j[i].gpus * (1080 - 350);
            if (!j[i].preempt) {
                assert_true(j[i].set_w <= j[i].want_w + 1e-9);
                assert_true(j[i].set_w >= 1080 - 1e-9);
            }
        }
        for (uint32_t s = 0; s < lim.nsites; s++) {
            assert_true(fabs(per_site[s] - r.site_it_w[s]) < 1e-3);
            sum += per_site[s];
            /* No level over its limit after the response (when the base alone fits). */
            if (r.ok && lim.site_w[s] > 0)
                assert_true(per_site[s] <= lim.site_w[s] + 1e-3);
        }
        assert_true(fabs(sum - r.it_w) < 1e-3);
        if (r.ok)
            assert_true(r.it_w <= lim.facility_w + 1e-3);
        /* No rack, row or loop over its limit either. */
        for (uint32_t u = 0; u < lim.nunits; u++)
            if (r.ok && unit_w[u] > 0)
                assert_true(per_unit[u] <= unit_w[u] + 1e-3);
        unit_cases += r.units_over > 0;
        /* Preemption only where capping everything could not close the gap. */
        bool floor_fits = floor_all <= lim.facility_w - 1;
        for (uint32_t u = 0; u < lim.nunits; u++)
            floor_fits &= unit_w[u] == 0 || floor_unit[u] <= unit_w[u] - 1;
        for (uint32_t s = 0; s < lim.nsites; s++)
            floor_fits &= lim.site_w[s] == 0 || floor_site[s] <= lim.site_w[s] - 1;
        if (floor_fits)
            assert_int_equal(r.preempted, 0);
        /* A tier is capped only when every weaker tier of its group is at the floor or gone. */
        if (lim.nsites == 1 && lim.nunits == 0 && r.preempted == 0) {
            for (size_t a = 0; a < n; a++)
                for (size_t b = 0; b < n; b++)
                    if (j[a].rank < j[b].rank && j[a].set_w < j[a].want_w - 1e-6)
                        assert_true(j[b].set_w <= 1080 + 1e-6);
        }
        preempting_cases += r.preempted > 0;
        capping_cases += r.capped > 0;
    }
    /* The generator reaches both regimes. */
    assert_true(preempting_cases > 50);
    assert_true(capping_cases > 500);
    assert_true(unit_cases > 300);
}

/* --- the scheduler's response ------------------------------------------------------ */

struct fx {
    struct nl_facility *fac;
    struct nl_tenants *ten;
    struct nl_sched *s;
};

/* dev facility (16 GPUs); tenants sov (sovereign, rank 0) and reg (regional, rank 2). */
static void fx_init(struct fx *f, double budget_w)
{
    struct nl_facility_spec spec;
    nl_facility_preset("dev", &spec, NULL);
    spec.power_budget_w = budget_w;
    spec.sites[0].power_w = 0;
    f->fac = nl_facility_create(&spec, NULL);
    f->ten = nl_tenants_create();
    struct nl_tier_spec tiers[] = {{"sovereign", 0}, {"anchor", 1}, {"regional", 2}};
    for (int i = 0; i < 3; i++)
        nl_tenants_add_tier(f->ten, &tiers[i], NULL);
    struct nl_tenant_spec ts[] = {
            {.name = "sov", .tier = 0, .quota_gpus = 16, .borrow_gpus = 0, .weight = 1},
            {.name = "reg", .tier = 2, .quota_gpus = 16, .borrow_gpus = 0, .weight = 1},
    };
    for (int i = 0; i < 2; i++)
        assert_true(nl_tenants_add(f->ten, &ts[i], NULL) >= 0);
    f->s = nl_sched_create(f->fac, f->ten, NULL, NULL);
}

static void fx_fini(struct fx *f)
{
    nl_sched_destroy(f->s);
    nl_tenants_destroy(f->ten);
    nl_facility_destroy(f->fac);
}

static void submit(struct fx *f, uint64_t id, uint32_t tenant, uint32_t gpus, double power_w,
                   int64_t now_s)
{
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.tenant = tenant;
    spec.gpus = gpus;
    spec.power_w = power_w;
    spec.time_limit_us = 3600 * SEC;
    struct nl_err err;
    if (nl_sched_submit(f->s, id, &spec, now_s * SEC, &err) < 0)
        fail_msg("submit: %s", err.msg);
}

static struct nl_job_info info_of(struct fx *f, uint64_t id)
{
    struct nl_job_info info;
    assert_int_equal(nl_sched_job_info(f->s, id, &info), 0);
    return info;
}

static void assert_clean(struct fx *f)
{
    struct nl_sched_violations v = {0};
    assert_true(nl_sched_check(f->s, &v));
    nl_sched_violations(f->s, &v);
    assert_int_equal(v.power, 0);
}

static size_t count_kind(const struct nl_action *a, size_t n, enum nl_action_kind k)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += a[i].kind == k;
    return c;
}

static void test_sched_budget_cut_caps_weakest_first(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 0);
    const struct nl_action *act;
    submit(&f, 1, 0, 8, 0, 0); /* sovereign, 8 GPUs at nameplate */
    submit(&f, 2, 1, 8, 0, 0); /* regional */
    assert_int_equal(nl_sched_pass(f.s, 0, &act), 2);
    struct nl_sched_stats st;
    nl_sched_stats(f.s, &st);
    /* 16 x 1800 W x 1.1 = 31,680 W. Cut by the regional job's half headroom: 8 x 360 W x 1.1. */
    double budget = st.power_w - 8 * 360 * 1.1;
    nl_sched_set_power_budget(f.s, budget);
    size_t n = nl_sched_pass(f.s, 1 * SEC, &act);
    assert_int_equal(count_kind(act, n, NL_ACT_CAP), 1);
    assert_int_equal(count_kind(act, n, NL_ACT_PREEMPT), 0);
    assert_int_equal(act[0].job, 2);
    struct nl_job_info reg = info_of(&f, 2), sov = info_of(&f, 1);
    assert_true(reg.power_cap_w > 1080 && reg.power_cap_w < 1800);
    assert_true(sov.power_cap_w == 0);
    nl_sched_stats(f.s, &st);
    assert_true(st.power_w <= budget);
    assert_int_equal(st.jobs_capped, 1);
    assert_clean(&f);
    /* Cut so deep that capping everything cannot close it: the regional job is preempted, not the sovereign. */
    double floor_all = (16 * 350 + 16 * (1080 - 350)) * 1.1;
    nl_sched_set_power_budget(f.s, floor_all - 100);
    n = nl_sched_pass(f.s, 2 * SEC, &act);
    assert_int_equal(count_kind(act, n, NL_ACT_PREEMPT), 1);
    assert_int_equal(info_of(&f, 2).state, NL_JOB_PREEMPTING);
    assert_int_equal(info_of(&f, 1).state, NL_JOB_RUNNING);
    nl_sched_stats(f.s, &st);
    assert_true(st.power_w <= floor_all - 100);
    assert_clean(&f);
    assert_int_equal(nl_sched_job_exit(f.s, 2, NL_EXIT_FAILED, 3 * SEC, NULL, NULL), 0);
    /* The budget returns: caps lifted, the requeued job starts again. */
    nl_sched_set_power_budget(f.s, 0);
    n = nl_sched_pass(f.s, 4 * SEC, &act);
    assert_int_equal(info_of(&f, 1).power_cap_w, 0);
    assert_int_equal(count_kind(act, n, NL_ACT_CAP), 1); /* the sovereign job's cap lifted */
    assert_int_equal(count_kind(act, n, NL_ACT_START), 1);
    nl_sched_stats(f.s, &st);
    assert_int_equal(st.jobs_capped, 0);
    assert_clean(&f);
    fx_fini(&f);
}

static void test_sched_expected_power_admits_more(void **state)
{
    (void)state;
    struct fx f;
    /* Budget for 8 GPUs at nameplate: (16 x 350 + 8 x 1450) x 1.1. */
    fx_init(&f, (16 * 350 + 8 * 1450) * 1.1 + 1);
    const struct nl_action *act;
    submit(&f, 1, 1, 8, 0, 0);
    submit(&f, 2, 1, 4, 1200, 0); /* asks for 1,200 W per GPU: no room at nameplate */
    assert_int_equal(nl_sched_pass(f.s, 0, &act), 1);
    assert_int_equal(info_of(&f, 2).reason, NL_REASON_POWER);
    /* Job 1 measures 1,300 W per GPU: 8 x 500 W freed, enough for 4 x 850 W. */
    assert_int_equal(nl_sched_job_measured(f.s, 1, 1300, 1 * SEC), 0);
    assert_int_equal(nl_sched_pass(f.s, 1 * SEC, &act), 1);
    assert_int_equal(info_of(&f, 2).state, NL_JOB_RUNNING);
    assert_true(info_of(&f, 2).power_w == 1200);
    assert_clean(&f);
    /* A request outside the cap range is refused, naming the field. */
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.power_w = 5000;
    struct nl_err err;
    assert_int_equal(nl_sched_validate(f.s, &spec, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "power_w"));
    /* Energy: the job's own draw over its run. */
    nl_sched_advance(f.s, 3601 * SEC);
    struct nl_job_info i2 = info_of(&f, 2);
    (void)i2;
    struct nl_job_info end;
    assert_int_equal(nl_sched_job_exit(f.s, 2, NL_EXIT_OK, 3601 * SEC, &end, NULL), 0);
    assert_true(fabs(end.it_energy_wh - 4 * 1200.0) < 1e-6);
    assert_true(fabs(end.energy_wh - 4 * 1200.0 * 1.1) < 1e-6);
    fx_fini(&f);
}

static void test_sched_pue_rise_caps(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 0);
    const struct nl_action *act;
    submit(&f, 1, 1, 16, 0, 0);
    nl_sched_pass(f.s, 0, &act);
    struct nl_sched_stats st;
    nl_sched_stats(f.s, &st);
    nl_sched_set_power_budget(f.s, st.power_w + 1);
    assert_int_equal(nl_sched_pass(f.s, 1 * SEC, &act), 0);
    nl_sched_set_pue(f.s, 1.2); /* a warm month */
    size_t n = nl_sched_pass(f.s, 2 * SEC, &act);
    assert_int_equal(count_kind(act, n, NL_ACT_CAP), 1);
    nl_sched_stats(f.s, &st);
    assert_true(st.power_w <= st.power_budget_w);
    assert_true(st.pue == 1.2);
    assert_clean(&f);
    fx_fini(&f);
}

static void test_sched_margin_holds_back(void **state)
{
    (void)state;
    struct nl_facility_spec spec;
    nl_facility_preset("dev", &spec, NULL);
    spec.sites[0].power_w = 0;
    spec.power_budget_w = 0;
    struct nl_facility *fac = nl_facility_create(&spec, NULL);
    struct nl_tenants *ten = nl_tenants_default(16);
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
    struct nl_err err;
    assert_int_equal(nl_sched_config_set(&cfg, "power_margin=0.05", &err), 0);
    assert_int_equal(nl_sched_config_set(&cfg, "power_margin=0.5", &err), -EINVAL);
    struct nl_sched *s = nl_sched_create(fac, ten, &cfg, NULL);
    struct nl_job_spec js;
    nl_job_spec_init(&js);
    js.gpus = 16;
    js.tenant = 3; /* uk, regional */
    assert_int_equal(nl_sched_submit(s, 1, &js, 0, &err), 0);
    const struct nl_action *act;
    nl_sched_pass(s, 0, &act);
    struct nl_sched_stats st;
    nl_sched_stats(s, &st);
    double budget = st.power_w; /* exactly the draw: without a margin nothing would change */
    nl_sched_set_power_budget(s, budget);
    size_t n = nl_sched_pass(s, 1 * SEC, &act);
    assert_int_equal(n, 1);
    assert_int_equal(act[0].kind, NL_ACT_CAP);
    nl_sched_stats(s, &st);
    assert_true(st.power_w <= budget * 0.95 + 1e-3);
    struct nl_sched_violations v = {0};
    assert_true(nl_sched_check(s, &v));
    nl_sched_destroy(s);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
}

/*
 * A sovereign job waiting under a binding budget: with claims (the default)
 * it starts at once, taking the power from the regional job by the cheaper
 * answer: capping it from 1,600 to ~1,116 W per GPU for the hour both run
 * loses 12 x (0.934 - 0.716) = 2.6 GPU-hours by the curve, preempting it
 * 12 x 0.25 h of restart + 4 per preemption = 7 (docs/power.md), so it is
 * capped deeper; with
 * power_claim=no the sovereign job waits while the regional job is capped.
 */
static void test_sched_sovereign_claims_power(void **state)
{
    (void)state;
    for (int claim = 1; claim >= 0; claim--) {
        struct fx f;
        fx_init(&f, 0);
        struct nl_err err;
        struct nl_sched_config probe;
        nl_sched_config_init(&probe, NL_POLICY_NORDLYS);
        assert_int_equal(nl_sched_config_set(&probe, "power_claim=no", &err), 0);
        assert_false(probe.power_claim);
        if (!claim) {
            nl_sched_destroy(f.s);
            struct nl_sched_config cfg;
            nl_sched_config_init(&cfg, NL_POLICY_NORDLYS);
            cfg.power_claim = false;
            f.s = nl_sched_create(f.fac, f.ten, &cfg, NULL);
        }
        const struct nl_action *act;
        submit(&f, 1, 1, 12, 0, 0); /* regional, 12 GPUs at nameplate */
        nl_sched_pass(f.s, 0, &act);
        struct nl_sched_stats st;
        nl_sched_stats(f.s, &st);
        double budget = st.power_w - 12 * 200 * 1.1;
        nl_sched_set_power_budget(f.s, budget);
        submit(&f, 2, 0, 4, 0, 1); /* sovereign, 4 GPUs */
        nl_sched_pass(f.s, 1 * SEC, &act);
        assert_true(info_of(&f, 1).power_cap_w > 0 || info_of(&f, 1).state == NL_JOB_PREEMPTING);
        nl_sched_stats(f.s, &st);
        assert_true(st.power_w <= budget);
        assert_clean(&f);
        if (claim) {
            assert_int_equal(info_of(&f, 2).state, NL_JOB_RUNNING);
            assert_true(info_of(&f, 2).power_cap_w == 0);
            assert_int_equal(info_of(&f, 1).state, NL_JOB_RUNNING);
            assert_true(info_of(&f, 1).power_cap_w < 1200);
            assert_int_equal(st.power_claims_cap, 1);
            /* The next pass recomputes the caps from what each job wants: the same answer. */
            nl_sched_pass(f.s, 2 * SEC, &act);
            assert_int_equal(info_of(&f, 2).state, NL_JOB_RUNNING);
            assert_true(info_of(&f, 2).power_cap_w == 0);
            nl_sched_stats(f.s, &st);
            assert_true(st.power_w <= budget);
            assert_clean(&f);
        } else {
            assert_int_equal(info_of(&f, 2).state, NL_JOB_PENDING);
            assert_int_equal(info_of(&f, 2).reason, NL_REASON_POWER);
            assert_int_equal(st.power_claims_preempt + st.power_claims_cap, 0);
        }
        fx_fini(&f);
    }
}

/* The rack of job id's first node. */
static uint32_t rack_of(struct fx *f, uint64_t id)
{
    const struct nl_alloc_node *a;
    assert_true(nl_sched_job_alloc(f->s, id, &a) > 0);
    struct nl_node_pos pos;
    nl_facility_node_pos(f->fac, a[0].node, &pos);
    return pos.rack;
}

static void test_sched_rack_limit_caps_its_jobs(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 0);
    const struct nl_action *act;
    submit(&f, 1, 0, 4, 0, 0);  /* sovereign, one node */
    submit(&f, 2, 1, 12, 0, 0); /* regional, the other three: it shares the sovereign job's rack */
    assert_int_equal(nl_sched_pass(f.s, 0, &act), 2);
    uint32_t r = rack_of(&f, 1);
    double lim, draw;
    assert_int_equal(nl_sched_power_unit(f.s, NL_POWER_RACK, r, &lim, &draw), 0);
    assert_true(lim == 0 && draw == 8 * 1800);
    /* The rack loses half of the regional job's headroom there (4 GPUs x 360 W). */
    struct nl_err err;
    assert_int_equal(nl_sched_set_power_limit(f.s, NL_POWER_RACK, r, draw - 4 * 360, &err), 0);
    size_t n = nl_sched_pass(f.s, 1 * SEC, &act);
    assert_int_equal(count_kind(act, n, NL_ACT_CAP), 1);
    assert_int_equal(act[0].job, 2);
    assert_true(info_of(&f, 1).power_cap_w == 0);
    double cap = info_of(&f, 2).power_cap_w;
    assert_true(cap > 1080 && cap < 1800);
    assert_int_equal(nl_sched_power_unit(f.s, NL_POWER_RACK, r, &lim, &draw), 0);
    assert_true(draw <= lim);
    assert_clean(&f);
    /* Below what capping the rack can give: the regional job goes, the sovereign job stays. */
    assert_int_equal(nl_sched_set_power_limit(f.s, NL_POWER_RACK, r, 4 * 1800 + 4 * 350 + 10, &err), 0);
    n = nl_sched_pass(f.s, 2 * SEC, &act);
    assert_int_equal(count_kind(act, n, NL_ACT_PREEMPT), 1);
    assert_int_equal(info_of(&f, 2).state, NL_JOB_PREEMPTING);
    assert_int_equal(info_of(&f, 1).state, NL_JOB_RUNNING);
    assert_true(info_of(&f, 1).power_cap_w == 0);
    assert_clean(&f);
    assert_int_equal(nl_sched_job_exit(f.s, 2, NL_EXIT_FAILED, 3 * SEC, NULL, NULL), 0);
    /* Out of range, named; then the facility file's limit (none) again: everything runs uncapped. */
    assert_int_equal(nl_sched_set_power_limit(f.s, NL_POWER_LOOP, 99, 1e3, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "loop 99"));
    assert_int_equal(nl_sched_set_power_limit(f.s, NL_POWER_RACK, r, -1, &err), 0);
    nl_sched_pass(f.s, 4 * SEC, &act);
    assert_int_equal(info_of(&f, 2).state, NL_JOB_RUNNING);
    assert_true(info_of(&f, 2).power_cap_w == 0);
    assert_clean(&f);
    fx_fini(&f);
}

/*
 * Random limits at random levels (rack, row, loop, site, facility) over a
 * small hall with rows and loops, random jobs of three tiers and random
 * measured draws: after every pass no level is over its limit (the full
 * invariant check: sums from scratch, every rack, row, loop, site and the
 * facility within its limit), and the passes reach capping and preemption.
 */
static void test_sched_random_limits_property(void **state)
{
    (void)state;
    struct nl_facility_spec spec;
    nl_facility_preset("dev", &spec, NULL);
    spec.sites[0].racks = 8;
    spec.sites[0].racks_per_pod = 8;
    spec.racks_per_row = 2;
    spec.racks_per_loop = 4;
    spec.power_budget_w = 0;
    spec.sites[0].power_w = 0;
    struct nl_facility *fac = nl_facility_create(&spec, NULL);
    struct nl_tenants *ten = nl_tenants_create();
    struct nl_tier_spec tiers[] = {{"sovereign", 0}, {"anchor", 1}, {"regional", 2}};
    for (int i = 0; i < 3; i++)
        nl_tenants_add_tier(ten, &tiers[i], NULL);
    struct nl_tenant_spec ts[] = {
            {.name = "sov", .tier = 0, .quota_gpus = 64, .weight = 1},
            {.name = "anc", .tier = 1, .quota_gpus = 64, .weight = 1},
            {.name = "reg", .tier = 2, .quota_gpus = 64, .weight = 1},
    };
    for (int i = 0; i < 3; i++)
        assert_true(nl_tenants_add(ten, &ts[i], NULL) >= 0);
    struct nl_sched *s = nl_sched_create(fac, ten, NULL, NULL);
    struct nl_err err;
    const struct nl_action *act;
    uint64_t next = 1;
    size_t capped_passes = 0, preempt_passes = 0;
    const enum nl_power_level lvs[] = {NL_POWER_RACK, NL_POWER_ROW, NL_POWER_LOOP, NL_POWER_SITE};
    const uint32_t gpus_of[] = {8, 16, 32, 64}; /* rack, row, loop, site */
    for (int step = 1; step <= 400; step++) {
        int64_t now = step * 10 * SEC;
        for (int k = 0; k < 3; k++) {
            struct nl_job_spec js;
            nl_job_spec_init(&js);
            js.tenant = (uint32_t)(urand() * 3);
            js.gpus = 1 + (uint32_t)(urand() * 12);
            js.power_w = urand() < 0.5 ? 0 : 1080 + urand() * 720;
            js.time_limit_us = 3600 * SEC;
            js.preemptible = true;
            js.requeue = false;
            assert_int_equal(nl_sched_submit(s, next++, &js, now, &err), 0);
        }
        /* A new limit somewhere, between all-idle and nameplate x 1.1 (0: none, -1: back). */
        double x = urand();
        if (x < 0.8) {
            uint32_t l = (uint32_t)(urand() * 4);
            uint32_t idx = (uint32_t)(urand() * nl_sched_power_units(s, lvs[l]));
            double g = gpus_of[l], w = g * (350 + urand() * 1630);
            if (lvs[l] == NL_POWER_SITE)
                w *= 1.1;
            w = urand() < 0.15 ? -1 : urand() < 0.1 ? 0 : w;
            assert_int_equal(nl_sched_set_power_limit(s, lvs[l], idx, w, &err), 0);
        } else {
            nl_sched_set_power_budget(s, urand() < 0.3 ? 0 : 64 * (400 + urand() * 1500) * 1.1);
        }
        /* Some running jobs report a new draw; some end. */
        const uint64_t *ids;
        size_t nj = nl_sched_jobs(s, &ids);
        uint64_t done[8];
        size_t nd = 0;
        for (size_t i = 0; i < nj; i++) {
            struct nl_job_info in;
            nl_sched_job_info(s, ids[i], &in);
            if (in.state == NL_JOB_RUNNING && urand() < 0.2)
                nl_sched_job_measured(s, ids[i], 1080 + urand() * 720, now);
            if ((in.state == NL_JOB_RUNNING || in.state == NL_JOB_PREEMPTING) && urand() < 0.15 &&
                nd < 8)
                done[nd++] = ids[i];
        }
        for (size_t i = 0; i < nd; i++)
            nl_sched_job_exit(s, done[i], NL_EXIT_OK, now, NULL, NULL);
        size_t na = nl_sched_pass(s, now + SEC, &act);
        struct nl_sched_violations v = {0};
        if (!nl_sched_check(s, &v))
            fail_msg("step %d: invariant (power %llu, double %llu, quota %llu)", step,
                     (unsigned long long)v.power, (unsigned long long)v.double_alloc,
                     (unsigned long long)v.quota);
        nl_sched_violations(s, &v);
        assert_int_equal(v.power, 0);
        struct nl_sched_stats st;
        nl_sched_stats(s, &st);
        capped_passes += st.jobs_capped > 0;
        preempt_passes += count_kind(act, na, NL_ACT_PREEMPT) > 0;
    }
    /* The generator reaches capping and preemption. */
    assert_true(capped_passes > 50);
    assert_true(preempt_passes > 5);
    nl_sched_destroy(s);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pue_follows_narvik_months),
            cmocka_unit_test(test_facility_file_power_keys),
            cmocka_unit_test(test_cap_weakest_tier_first),
            cmocka_unit_test(test_cap_preempts_only_past_the_floor),
            cmocka_unit_test(test_cap_site_then_facility),
            cmocka_unit_test(test_cap_property),
            cmocka_unit_test(test_sched_budget_cut_caps_weakest_first),
            cmocka_unit_test(test_sched_expected_power_admits_more),
            cmocka_unit_test(test_sched_pue_rise_caps),
            cmocka_unit_test(test_sched_margin_holds_back),
            cmocka_unit_test(test_sched_rack_limit_caps_its_jobs),
            cmocka_unit_test(test_sched_sovereign_claims_power),
            cmocka_unit_test(test_sched_random_limits_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
