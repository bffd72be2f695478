/* SPDX-License-Identifier: MIT */
/*
 * test_grow.c - expansion online (nl_facility_grow, nl_sched_grow): racks
 * join a facility while jobs run. Unit tests of the facility's arithmetic
 * and refusals, a waiting job starting on new racks, the budget rising, and
 * a property test that interleaves random growth with random scheduling and
 * checks every invariant from scratch after each step.
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

static uint64_t test_seed(void)
{
    const char *env = getenv("NL_TEST_SEED");
    return env ? strtoull(env, NULL, 10) : 20261129;
}

/* One NVL72-shaped site "no" of `racks` racks, 4 to a pod, with budgets. */
static struct nl_facility *small(uint32_t racks, double budget_w)
{
    struct nl_facility_spec spec;
    assert_int_equal(nl_facility_preset("narvik", &spec, NULL), 0);
    snprintf(spec.sites[0].name, sizeof(spec.sites[0].name), "no");
    spec.sites[0].racks = racks;
    spec.sites[0].racks_per_pod = 4;
    spec.sites[0].power_w = budget_w;
    spec.power_budget_w = budget_w;
    spec.racks_per_row = 3;
    spec.racks_per_loop = 5;
    struct nl_err err;
    struct nl_facility *fac = nl_facility_create(&spec, &err);
    assert_non_null(fac);
    return fac;
}

static struct nl_facility_growth growth(const char *site, uint32_t racks, double power_w)
{
    struct nl_facility_growth g = {0};
    snprintf(g.site, sizeof(g.site), "%s", site);
    g.racks = racks;
    g.site_power_w = power_w;
    g.facility_power_w = power_w;
    return g;
}

static void test_facility_grow(void **state)
{
    (void)state;
    struct nl_facility *fac = small(5, 2e6);
    char before[64], after[64];
    uint32_t last = nl_facility_nodes(fac) - 1;
    nl_facility_node_name(fac, last, before, sizeof(before));
    /* The last site grows in place: its partial pod (1 rack) fills first. */
    struct nl_facility_growth g = growth("no", 6, 1e6);
    struct nl_err err;
    assert_int_equal(nl_facility_grow(fac, &g, &err), 0);
    struct nl_site_info si;
    nl_facility_site(fac, 0, &si);
    assert_int_equal(si.nracks, 11);
    assert_int_equal(si.npods, 3);
    assert_int_equal(nl_facility_racks(fac), 11);
    assert_int_equal(nl_facility_gpus(fac), 11 * 72);
    assert_true(si.power_w == 3e6);
    assert_true(nl_facility_spec(fac)->power_budget_w == 3e6);
    nl_facility_node_name(fac, last, after, sizeof(after));
    assert_string_equal(before, after);
    assert_int_equal(nl_facility_node_find(fac, after), last);
    /* A new site after it, from the last one's shape, in another jurisdiction. */
    g = growth("lon", 2, 0.5e6);
    snprintf(g.jurisdiction, sizeof(g.jurisdiction), "UK");
    assert_int_equal(nl_facility_grow(fac, &g, &err), 0);
    assert_int_equal(nl_facility_nsites(fac), 2);
    nl_facility_site(fac, 1, &si);
    assert_int_equal(si.first_rack, 11);
    assert_int_equal(si.first_pod, 3);
    assert_string_equal(si.jurisdiction, "UK");
    assert_true(si.power_w == 0.5e6);
    char name[64];
    nl_facility_node_name(fac, si.first_node, name, sizeof(name));
    assert_string_equal(name, "lon-p000-r000-n00");
    assert_int_equal(nl_facility_node_site(fac, si.first_node), 1);
    /* A created copy of the grown spec is the same facility. */
    struct nl_facility *copy = nl_facility_create(nl_facility_spec(fac), &err);
    assert_non_null(copy);
    assert_int_equal(nl_facility_gpus(copy), nl_facility_gpus(fac));
    nl_facility_destroy(copy);

    /* Refusals name the field and change nothing. */
    uint64_t gpus = nl_facility_gpus(fac);
    g = growth("no", 1, 0);
    assert_int_equal(nl_facility_grow(fac, &g, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "site: no is not the last site"));
    g = growth("lon", 0, 0);
    assert_int_equal(nl_facility_grow(fac, &g, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "racks:"));
    g = growth("lon", 1, 0);
    g.nodes_per_rack = 2;
    assert_int_equal(nl_facility_grow(fac, &g, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "nodes_per_rack: 2 differs"));
    g = growth("Bad-Name", 1, 0);
    assert_int_equal(nl_facility_grow(fac, &g, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "name"));
    g = growth("hgx", 1, -1);
    assert_int_equal(nl_facility_grow(fac, &g, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "power"));
    assert_int_equal(nl_facility_gpus(fac), gpus);
    assert_int_equal(nl_facility_nsites(fac), 2);
    /* A new site of another shape: 8-GPU nodes, 4 to a rack. */
    g = growth("hgx", 3, 0);
    g.gpus_per_node = 8;
    g.nodes_per_rack = 4;
    assert_int_equal(nl_facility_grow(fac, &g, &err), 0);
    assert_int_equal(nl_facility_gpus(fac), gpus + 3 * 32);
    nl_facility_destroy(fac);
}

static struct nl_job_spec job(uint32_t gpus, uint32_t tenant)
{
    struct nl_job_spec spec;
    nl_job_spec_init(&spec);
    spec.gpus = gpus;
    spec.tenant = tenant;
    spec.time_limit_us = 3600 * SEC;
    return spec;
}

static void assert_clean(struct nl_sched *s, uint64_t seed, int step)
{
    struct nl_sched_violations v = {0}, inc;
    bool ok = nl_sched_check(s, &v);
    nl_sched_violations(s, &inc);
    if (!ok || inc.residency || inc.power || inc.quota || inc.double_alloc || inc.gang ||
        inc.isolation) {
        print_error("seed %llu step %d: check res=%llu pow=%llu quota=%llu dbl=%llu gang=%llu "
                    "iso=%llu; incremental res=%llu pow=%llu dbl=%llu\n",
                    (unsigned long long)seed, step, (unsigned long long)v.residency,
                    (unsigned long long)v.power, (unsigned long long)v.quota,
                    (unsigned long long)v.double_alloc, (unsigned long long)v.gang,
                    (unsigned long long)v.isolation, (unsigned long long)inc.residency,
                    (unsigned long long)inc.power, (unsigned long long)inc.double_alloc);
        fail();
    }
}

/* A full facility, a job waiting for GPUs; racks join and it starts on them. */
static void test_sched_grow_starts_waiting(void **state)
{
    (void)state;
    struct nl_facility *fac = small(2, 0);
    struct nl_tenants *ten = nl_tenants_default(10000);
    struct nl_sched *s = nl_sched_create(fac, ten, NULL, NULL);
    assert_non_null(s);
    struct nl_job_spec a = job(144, 2), b = job(100, 2);
    assert_int_equal(nl_sched_submit(s, 1, &a, 0, NULL), 0);
    const struct nl_action *act;
    assert_int_equal(nl_sched_pass(s, 0, &act), 1);
    /* 100 GPUs: more than a full facility of 144 has free; it waits. */
    assert_int_equal(nl_sched_submit(s, 2, &b, SEC, NULL), 0);
    assert_int_equal(nl_sched_pass(s, SEC, &act), 0);
    struct nl_job_info info;
    assert_int_equal(nl_sched_job_info(s, 2, &info), 0);
    assert_int_equal(info.state, NL_JOB_PENDING);
    struct nl_facility_growth g = growth("no", 2, 0);
    struct nl_err err;
    assert_int_equal(nl_facility_grow(fac, &g, &err), 0);
    assert_int_equal(nl_sched_grow(s, &err), 0);
    assert_clean(s, 0, 0);
    struct nl_sched_stats st;
    nl_sched_stats(s, &st);
    assert_int_equal(st.gpus_total, 288);
    assert_int_equal(st.racks_total, 4);
    assert_int_equal(nl_sched_pass(s, 2 * SEC, &act), 1);
    assert_int_equal(act[0].job, 2);
    const struct nl_alloc_node *al;
    size_t n = nl_sched_job_alloc(s, 2, &al);
    for (size_t i = 0; i < n; i++)
        assert_true(al[i].node >= 2 * 18); /* only the new racks were free */
    assert_clean(s, 0, 1);
    /* The first job ends: its racks are free again beside the new ones. */
    assert_int_equal(nl_sched_job_exit(s, 1, NL_EXIT_OK, 3 * SEC, NULL, NULL), 0);
    assert_clean(s, 0, 2);
    nl_sched_destroy(s);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
}

/* A job held back by power starts once the expansion's power arrives; an operator budget rises too. */
static void test_sched_grow_power(void **state)
{
    (void)state;
    /* 4 racks but power for ~1.5 of them busy: 288 GPUs idle at 350 W + 1.1 PUE. */
    double budget = (288 * 350.0 + 100 * 1450.0) * 1.1;
    struct nl_facility *fac = small(4, budget);
    struct nl_tenants *ten = nl_tenants_default(10000);
    struct nl_sched *s = nl_sched_create(fac, ten, NULL, NULL);
    struct nl_job_spec a = job(72, 2), b = job(72, 2);
    assert_int_equal(nl_sched_submit(s, 1, &a, 0, NULL), 0);
    assert_int_equal(nl_sched_submit(s, 2, &b, 0, NULL), 0);
    const struct nl_action *act;
    assert_int_equal(nl_sched_pass(s, 0, &act), 1);
    struct nl_job_info info;
    nl_sched_job_info(s, 2, &info);
    assert_int_equal(info.reason, NL_REASON_POWER);
    /* One rack and 1 MW more (its idle draw counts from now on). */
    struct nl_facility_growth g = growth("no", 1, 1e6);
    struct nl_err err;
    assert_int_equal(nl_facility_grow(fac, &g, &err), 0);
    assert_int_equal(nl_sched_grow(s, &err), 0);
    struct nl_sched_stats st;
    nl_sched_stats(s, &st);
    assert_true(st.power_budget_w == budget + 1e6);
    assert_int_equal(nl_sched_pass(s, SEC, &act), 1);
    assert_int_equal(act[0].job, 2);
    assert_clean(s, 0, 0);
    /* An operator's lower budget rises by the next expansion's power too. */
    nl_sched_set_power_budget(s, 0.9e6);
    g = growth("no", 1, 0.5e6);
    assert_int_equal(nl_facility_grow(fac, &g, &err), 0);
    assert_int_equal(nl_sched_grow(s, &err), 0);
    nl_sched_stats(s, &st);
    assert_true(st.power_budget_w == 1.4e6);
    nl_sched_destroy(s);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
}

/* A pending job of a residency only a new site satisfies becomes placeable there. */
static void test_sched_grow_new_site_residency(void **state)
{
    (void)state;
    struct nl_facility *fac = small(2, 0);
    struct nl_tenants *ten = nl_tenants_default(10000);
    struct nl_sched *s = nl_sched_create(fac, ten, NULL, NULL);
    struct nl_job_spec a = job(144, 2), b = job(8, 2);
    assert_int_equal(nl_sched_submit(s, 1, &a, 0, NULL), 0);
    assert_int_equal(nl_sched_submit(s, 2, &b, 0, NULL), 0);
    const struct nl_action *act;
    assert_int_equal(nl_sched_pass(s, 0, &act), 1);
    struct nl_facility_growth g = growth("se", 1, 0);
    snprintf(g.jurisdiction, sizeof(g.jurisdiction), "SE");
    struct nl_err err;
    assert_int_equal(nl_facility_grow(fac, &g, &err), 0);
    assert_int_equal(nl_sched_grow(s, &err), 0);
    assert_int_equal(nl_sched_pass(s, SEC, &act), 1);
    const struct nl_alloc_node *al;
    assert_int_equal(nl_sched_job_alloc(s, 2, &al), 2);
    assert_int_equal(nl_facility_node_site(fac, al[0].node), 1);
    assert_clean(s, 0, 0);
    nl_sched_destroy(s);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
}

static const uint32_t sizes[] = {1, 2, 4, 4, 8, 16, 36, 72, 100, 144, 200};

static uint64_t pick_running(struct nl_sched *s, struct nl_rng *r)
{
    const uint64_t *ids;
    size_t n = nl_sched_jobs(s, &ids);
    if (n == 0)
        return 0;
    size_t start = (size_t)nl_rng_range(r, 0, n - 1);
    for (size_t k = 0; k < n; k++) {
        struct nl_job_info info;
        uint64_t id = ids[(start + k) % n];
        nl_sched_job_info(s, id, &info);
        if (info.state == NL_JOB_RUNNING || info.state == NL_JOB_PREEMPTING)
            return id;
    }
    return 0;
}

/*
 * Random growth interleaved with submits, passes, exits, node failures and
 * budget changes, on two schedulers over one facility (the simulator's
 * case); every invariant from scratch after every step.
 */
static void run_prop(enum nl_policy policy, uint64_t seed, int steps, uint64_t *grown,
                     uint64_t *new_starts)
{
    struct nl_rng r;
    nl_rng_seed(&r, seed);
    struct nl_facility *fac = small((uint32_t)nl_rng_range(&r, 1, 6), seed % 2 ? 0 : 0.6e6);
    struct nl_tenants *ten = nl_tenants_default(20000);
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, policy);
    struct nl_sched *s = nl_sched_create(fac, ten, &cfg, NULL);
    assert_non_null(s);
    uint32_t first_new = nl_facility_nodes(fac);
    int64_t now = 0;
    uint64_t next_id = 1;
    static const char *const new_sites[] = {"b", "c", "d"};
    size_t nnew = 0;
    for (int step = 0; step < steps; step++) {
        now += (int64_t)nl_rng_range(&r, 0, 30) * SEC;
        double u = nl_rng_unit(&r);
        /*
         * New racks idle, and a lower budget, can leave the draw over a
         * limit until the next pass answers (the controller and the
         * simulator run one at once): the invariant holds after it.
         */
        bool respond = u < 0.06 || (u >= 0.69 && u < 0.71);
        if (u < 0.06) {
            /* Grow: the last site, or a new one (sometimes of another shape). */
            struct nl_facility_growth g = {0};
            g.racks = (uint32_t)nl_rng_range(&r, 1, 5);
            /* At least the new racks' idle draw: a budget below the idle base has no answer. */
            g.site_power_w = g.facility_power_w =
                    g.racks * 72 * 350 * 1.1 * (1.05 + nl_rng_unit(&r));
            if (nnew < 3 && nl_rng_unit(&r) < 0.3) {
                snprintf(g.site, sizeof(g.site), "%s", new_sites[nnew++]);
                if (nl_rng_unit(&r) < 0.5) {
                    g.gpus_per_node = 8;
                    g.nodes_per_rack = 4;
                    g.racks_per_pod = 2;
                }
            } else {
                struct nl_site_info si;
                nl_facility_site(fac, nl_facility_nsites(fac) - 1, &si);
                snprintf(g.site, sizeof(g.site), "%s", si.name);
            }
            struct nl_err err;
            assert_int_equal(nl_facility_grow(fac, &g, &err), 0);
            assert_int_equal(nl_sched_grow(s, &err), 0);
            (*grown)++;
        } else if (u < 0.45) {
            struct nl_job_spec spec = job(sizes[nl_rng_range(&r, 0, 10)],
                                          (uint32_t)nl_rng_range(&r, 0, 5));
            spec.time_limit_us = (int64_t)nl_rng_range(&r, 60, 7200) * SEC;
            spec.sensitive = nl_rng_unit(&r) < 0.1;
            spec.preemptible = nl_rng_unit(&r) < 0.3;
            if (nl_rng_unit(&r) < 0.15) {
                spec.nodes = (uint32_t)nl_rng_range(&r, 1, 6);
                spec.gpus_per_node = (uint32_t)nl_rng_range(&r, 1, 4);
                spec.gpus = spec.nodes * spec.gpus_per_node;
            }
            nl_sched_submit(s, next_id++, &spec, now, NULL);
        } else if (u < 0.65) {
            uint64_t id = pick_running(s, &r);
            if (id)
                nl_sched_job_exit(s, id, NL_EXIT_OK, now, NULL, NULL);
        } else if (u < 0.69) {
            uint32_t node = (uint32_t)nl_rng_range(&r, 0, nl_facility_nodes(fac) - 1);
            const uint64_t *hit;
            size_t n = nl_sched_node_set_down(s, node, !nl_sched_node_down(s, node), &hit);
            uint64_t ids[64];
            for (size_t i = 0; i < n && i < 64; i++)
                ids[i] = hit[i];
            if (nl_sched_node_down(s, node))
                for (size_t i = 0; i < n && i < 64; i++)
                    nl_sched_job_exit(s, ids[i], NL_EXIT_NODE_FAIL, now, NULL, NULL);
        } else if (u < 0.71) {
            struct nl_sched_stats st;
            nl_sched_stats(s, &st);
            /*
             * An operator's budget; on a facility without one, growth adds
             * nothing to it, so it stays none there (else new racks' idle
             * draw could pass it with no answer but to refuse them).
             */
            if (nl_facility_spec(fac)->power_budget_w > 0)
                nl_sched_set_power_budget(s, st.power_idle_w * (1.05 + nl_rng_unit(&r)));
        }
        if (respond || u >= 0.71) {
            const struct nl_action *act;
            size_t n = nl_sched_pass(s, now, &act);
            for (size_t i = 0; i < n; i++) {
                if (act[i].kind != NL_ACT_START)
                    continue;
                const struct nl_alloc_node *a;
                size_t na = nl_sched_job_alloc(s, act[i].job, &a);
                *new_starts += na > 0 && a[0].node >= first_new;
            }
        }
        assert_clean(s, seed, step);
    }
    nl_sched_destroy(s);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
}

static void test_grow_prop(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    print_message("seed %llu (replay with NL_TEST_SEED)\n", (unsigned long long)seed);
    uint64_t grown = 0, new_starts = 0;
    for (uint64_t k = 0; k < 8; k++)
        run_prop(k % 3 == 2 ? NL_POLICY_BACKFILL : NL_POLICY_NORDLYS, seed + k, 1200, &grown,
                 &new_starts);
    print_message("growth steps %llu, starts on grown racks %llu\n", (unsigned long long)grown,
                  (unsigned long long)new_starts);
    assert_true(grown > 100);
    assert_true(new_starts > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_facility_grow),
            cmocka_unit_test(test_sched_grow_starts_waiting),
            cmocka_unit_test(test_sched_grow_power),
            cmocka_unit_test(test_sched_grow_new_site_residency),
            cmocka_unit_test(test_grow_prop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
