/* SPDX-License-Identifier: MIT */
/*
 * test_sched_prop.c - property tests: random workloads drive the scheduler
 * (all three policies) through submits, passes, exits, preemption exits,
 * cancels and node failures, and every invariant is checked from scratch
 * after every event: no GPU held twice, gangs whole, residency and tenant
 * jurisdictions kept, sensitive jobs alone with their tenant on their nodes,
 * power and quota limits kept, and the incremental checks saw nothing
 * either. Sovereignty is also checked here by the test itself, from the
 * public job view, so that a bug in nl_sched_check cannot hide one.
 *
 * The seed is printed; replay a failure with NL_TEST_SEED=<seed>.
 */
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
    return env ? strtoull(env, NULL, 10) : 20261124;
}

/* Two sites (NO and UK), NVL72-shaped but small, with a binding power budget. */
static struct nl_facility *make_facility(double budget_w)
{
    struct nl_facility_spec spec;
    assert_int_equal(nl_facility_preset("narvik", &spec, NULL), 0);
    spec.nsites = 2;
    spec.sites[0].racks = 12;
    spec.sites[0].racks_per_pod = 4;
    snprintf(spec.sites[1].name, sizeof(spec.sites[1].name), "lon");
    snprintf(spec.sites[1].jurisdiction, sizeof(spec.sites[1].jurisdiction), "UK");
    spec.sites[1].racks = 5;
    spec.sites[1].racks_per_pod = 2;
    spec.sites[1].nodes_per_rack = 18;
    spec.sites[1].gpus_per_node = 4;
    spec.sites[1].power_w = 0;
    spec.sites[0].power_w = 0;
    spec.power_budget_w = budget_w;
    struct nl_err err;
    struct nl_facility *fac = nl_facility_create(&spec, &err);
    assert_non_null(fac);
    return fac;
}

static const uint32_t sizes[] = {1, 1, 1, 2, 3, 4, 4, 6, 8, 16, 36, 72, 72, 100, 144, 200, 300};
static const char *const residencies[] = {"any", "any", "NO", "EEA", "UK"};

static void random_spec(struct nl_rng *r, size_t ntenants, struct nl_job_spec *spec)
{
    nl_job_spec_init(spec);
    spec->gpus = sizes[nl_rng_range(r, 0, sizeof(sizes) / sizeof(sizes[0]) - 1)];
    spec->tenant = (uint32_t)nl_rng_range(r, 0, ntenants - 1);
    spec->time_limit_us = (int64_t)nl_rng_range(r, 60, 7200) * SEC;
    nl_residency_parse(residencies[nl_rng_range(r, 0, 4)], &spec->residency, NULL);
    spec->sensitive = nl_rng_unit(r) < 0.1;
    spec->preemptible = nl_rng_unit(r) < 0.3;
    spec->requeue = nl_rng_unit(r) < 0.8;
    spec->grace_us = (int64_t)nl_rng_range(r, 0, 120) * SEC;
    /* One job in five asks for a shape: N nodes of exactly G GPUs (issue 12). */
    if (nl_rng_unit(r) < 0.2) {
        static const uint32_t nodes[] = {1, 2, 2, 3, 8, 20, 40};
        static const uint32_t gpn[] = {1, 2, 3, 4, 4};
        spec->nodes = nodes[nl_rng_range(r, 0, sizeof(nodes) / sizeof(nodes[0]) - 1)];
        spec->gpus_per_node = gpn[nl_rng_range(r, 0, sizeof(gpn) / sizeof(gpn[0]) - 1)];
        spec->gpus = spec->nodes * spec->gpus_per_node;
    }
}

static void assert_clean(struct nl_sched *s, uint64_t seed, int step)
{
    struct nl_sched_violations v = {0}, inc;
    bool ok = nl_sched_check(s, &v);
    nl_sched_violations(s, &inc);
    if (!ok || inc.residency || inc.power || inc.quota || inc.double_alloc || inc.gang ||
        inc.isolation) {
        print_error("seed %llu step %d: check res=%llu pow=%llu quota=%llu dbl=%llu gang=%llu; "
                    "incremental res=%llu pow=%llu quota=%llu dbl=%llu gang=%llu; "
                    "isolation %llu/%llu\n",
                    (unsigned long long)seed, step, (unsigned long long)v.residency,
                    (unsigned long long)v.power, (unsigned long long)v.quota,
                    (unsigned long long)v.double_alloc, (unsigned long long)v.gang,
                    (unsigned long long)inc.residency, (unsigned long long)inc.power,
                    (unsigned long long)inc.quota, (unsigned long long)inc.double_alloc,
                    (unsigned long long)inc.gang, (unsigned long long)v.isolation,
                    (unsigned long long)inc.isolation);
        fail();
    }
}

/*
 * The reference tenants with allowed jurisdictions: nor-research NO only,
 * nordics the EEA, uk UK only (and the NO-or-UK anchor); the rest any.
 */
static struct nl_tenants *sovereign_tenants(uint64_t gpus)
{
    struct nl_tenants *ref = nl_tenants_default(gpus);
    struct nl_tenants *t = nl_tenants_create();
    for (uint32_t i = 0; i < nl_tenants_tier_count(ref); i++)
        assert_true(nl_tenants_add_tier(t, nl_tenants_tier(ref, i), NULL) >= 0);
    for (uint32_t i = 0; i < nl_tenants_count(ref); i++) {
        struct nl_tenant_spec sp = *nl_tenants_get(ref, i);
        const char *jur = strcmp(sp.name, "nor-research") == 0 ? "NO"
                          : strcmp(sp.name, "nordics") == 0    ? "EEA"
                          : strcmp(sp.name, "uk") == 0         ? "UK"
                          : strcmp(sp.name, "anchor") == 0     ? "NO,UK"
                                                               : "any";
        assert_int_equal(nl_tenant_jurisdictions_parse(jur, &sp, NULL), 0);
        assert_true(nl_tenants_add(t, &sp, NULL) >= 0);
    }
    nl_tenants_destroy(ref);
    return t;
}

/* Node -> tenant + 1 of the jobs on it, or MIXED; and whether a sensitive job is there. */
#define MIXED UINT32_MAX

static uint64_t sensitive_starts, shaped_starts;

/* Independent of nl_sched_check: every running job's site and node neighbours, from the public view. */
static void assert_sovereign(struct nl_sched *s, const struct nl_facility *fac,
                             const struct nl_tenants *ten, uint64_t seed, int step)
{
    uint32_t nnodes = nl_facility_nodes(fac);
    uint32_t *who = calloc(nnodes, sizeof(uint32_t));
    bool *sens = calloc(nnodes, sizeof(bool));
    assert_non_null(who);
    assert_non_null(sens);
    const uint64_t *ids;
    size_t nj = nl_sched_jobs(s, &ids);
    for (size_t i = 0; i < nj; i++) {
        struct nl_job_info info;
        nl_sched_job_info(s, ids[i], &info);
        if (info.state != NL_JOB_RUNNING && info.state != NL_JOB_PREEMPTING)
            continue;
        const struct nl_alloc_node *a;
        size_t na = nl_sched_job_alloc(s, ids[i], &a);
        for (size_t k = 0; k < na; k++) {
            struct nl_site_info si;
            nl_facility_site(fac, nl_facility_node_site(fac, a[k].node), &si);
            const struct nl_tenant_spec *t = nl_tenants_get(ten, info.spec.tenant);
            if (!nl_residency_allows(&info.spec.residency, si.jurisdiction, si.eea) ||
                !nl_tenant_allows(t, si.jurisdiction, si.eea)) {
                print_error("seed %llu step %d: job %llu of %s (residency %s) on site %s (%s)\n",
                            (unsigned long long)seed, step, (unsigned long long)ids[i], t->name,
                            info.spec.residency.code, si.name, si.jurisdiction);
                fail();
            }
            uint32_t *w = &who[a[k].node];
            *w = *w == 0 || *w == info.spec.tenant + 1 ? info.spec.tenant + 1 : MIXED;
            sens[a[k].node] |= info.spec.sensitive;
        }
    }
    for (uint32_t n = 0; n < nnodes; n++) {
        if (sens[n] && who[n] == MIXED) {
            print_error("seed %llu step %d: node %u holds a sensitive job and another tenant's\n",
                        (unsigned long long)seed, step, n);
            fail();
        }
    }
    free(who);
    free(sens);
}

/* Random running (or preempting) job id, or 0. */
static uint64_t pick_running(struct nl_sched *s, struct nl_rng *r, bool preempting)
{
    const uint64_t *ids;
    size_t n = nl_sched_jobs(s, &ids);
    if (n == 0)
        return 0;
    size_t start = (size_t)nl_rng_range(r, 0, n - 1);
    for (size_t k = 0; k < n; k++) {
        struct nl_job_info info;
        uint64_t id = ids[(start + k) % n];
        assert_int_equal(nl_sched_job_info(s, id, &info), 0);
        if (info.state == (preempting ? NL_JOB_PREEMPTING : NL_JOB_RUNNING))
            return id;
    }
    return 0;
}

/* What the runs did, so that a test that exercised nothing fails. */
static uint64_t total_starts, total_preemptions, total_power_blocks;

/* Settings ("key=value", NULL-terminated) applied over the policy's defaults; NULL: none. */
static const char *const *prop_sets;

static void run_policy(enum nl_policy policy, uint64_t seed, int steps, double budget_w)
{
    struct nl_rng r;
    nl_rng_seed(&r, seed);
    struct nl_facility *fac = make_facility(budget_w);
    struct nl_tenants *ten = sovereign_tenants(nl_facility_gpus(fac));
    struct nl_sched_config cfg;
    nl_sched_config_init(&cfg, policy);
    for (size_t i = 0; prop_sets != NULL && prop_sets[i] != NULL; i++)
        assert_int_equal(nl_sched_config_set(&cfg, prop_sets[i], NULL), 0);
    struct nl_sched *s = nl_sched_create(fac, ten, &cfg, NULL);
    assert_non_null(s);
    int64_t now = 0;
    uint64_t next_id = 1;
    uint32_t nnodes = nl_facility_nodes(fac);
    for (int step = 0; step < steps; step++) {
        now += (int64_t)nl_rng_range(&r, 0, 30) * SEC;
        double u = nl_rng_unit(&r);
        if (u < 0.45) {
            struct nl_job_spec spec;
            random_spec(&r, nl_tenants_count(ten), &spec);
            nl_sched_submit(s, next_id++, &spec, now, NULL);
        } else if (u < 0.70) {
            uint64_t id = pick_running(s, &r, false);
            if (id)
                assert_int_equal(nl_sched_job_exit(s, id, nl_rng_unit(&r) < 0.9 ? NL_EXIT_OK : NL_EXIT_FAILED, now, NULL, NULL), 0);
        } else if (u < 0.80) {
            uint64_t id = pick_running(s, &r, true);
            if (id)
                assert_int_equal(nl_sched_job_exit(s, id, NL_EXIT_FAILED, now, NULL, NULL), 0);
        } else if (u < 0.83) {
            uint64_t id = nl_rng_range(&r, 1, next_id);
            nl_sched_cancel(s, id, now, NULL, NULL);
        } else if (u < 0.86) {
            uint32_t node = (uint32_t)nl_rng_range(&r, 0, nnodes - 1);
            const uint64_t *hit;
            size_t n = nl_sched_node_set_down(s, node, !nl_sched_node_down(s, node), &hit);
            uint64_t ids[64];
            for (size_t i = 0; i < n && i < 64; i++)
                ids[i] = hit[i];
            if (nl_sched_node_down(s, node))
                for (size_t i = 0; i < n && i < 64; i++)
                    nl_sched_job_exit(s, ids[i], NL_EXIT_NODE_FAIL, now, NULL, NULL);
        } else {
            const struct nl_action *act;
            size_t n = nl_sched_pass(s, now, &act);
            for (size_t i = 0; i < n; i++) {
                struct nl_job_info info;
                total_starts += act[i].kind == NL_ACT_START;
                if (act[i].kind != NL_ACT_START || nl_sched_job_info(s, act[i].job, &info) < 0)
                    continue;
                sensitive_starts += info.spec.sensitive;
                /* Gang: a started job holds all its GPUs at once, in one site. */
                const struct nl_alloc_node *a;
                size_t na = nl_sched_job_alloc(s, act[i].job, &a);
                uint32_t held = 0;
                for (size_t k = 0; k < na; k++)
                    held += (uint32_t)__builtin_popcount(a[k].mask);
                assert_true(held >= info.spec.gpus);
                if (info.spec.nodes > 0) {
                    /* A shape: exactly its nodes, each with its GPUs per node (whole if sensitive).
                     */
                    shaped_starts++;
                    assert_int_equal(na, info.spec.nodes);
                    for (size_t k = 0; k < na; k++) {
                        uint32_t g = (uint32_t)__builtin_popcount(a[k].mask);
                        if (info.spec.sensitive)
                            assert_int_equal(g, nl_facility_node_gpus(fac, a[k].node));
                        else
                            assert_int_equal(g, info.spec.gpus_per_node);
                        for (size_t m = 0; m < k; m++)
                            assert_true(a[m].node != a[k].node);
                    }
                }
            }
        }
        assert_clean(s, seed, step);
        assert_sovereign(s, fac, ten, seed, step);
        const uint64_t *ids;
        size_t nj = nl_sched_jobs(s, &ids);
        for (size_t i = 0; i < nj; i++) {
            struct nl_job_info info;
            nl_sched_job_info(s, ids[i], &info);
            total_power_blocks += info.state == NL_JOB_PENDING && info.reason == NL_REASON_POWER;
        }
    }
    struct nl_sched_stats st;
    nl_sched_stats(s, &st);
    total_preemptions += st.preemptions;
    nl_sched_destroy(s);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
}

static void test_sched_prop_nordlys(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    print_message("seed %llu (replay with NL_TEST_SEED)\n", (unsigned long long)seed);
    for (uint64_t k = 0; k < 6; k++)
        run_policy(NL_POLICY_NORDLYS, seed + k, 1500, k % 2 ? 0 : 1.2e6);
    print_message("starts %llu preemptions %llu power-blocked observations %llu\n",
                  (unsigned long long)total_starts, (unsigned long long)total_preemptions,
                  (unsigned long long)total_power_blocks);
    assert_true(total_starts > 500);
    assert_true(total_preemptions > 0);
    assert_true(total_power_blocks > 0);
    print_message("sensitive starts %llu\n", (unsigned long long)sensitive_starts);
    assert_true(sensitive_starts > 20);
    print_message("shaped starts %llu\n", (unsigned long long)shaped_starts);
    assert_true(shaped_starts > 50);
}

/* Least-attained-service and learned run times on (issue 13): every invariant still holds. */
static void test_sched_prop_las_predict(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    static const char *const sets[] = {"las=0.01", "las_queues=3", "predict=4", "predict_q=0.5", NULL};
    prop_sets = sets;
    uint64_t pre0 = total_preemptions, starts0 = total_starts;
    for (uint64_t k = 0; k < 4; k++)
        run_policy(NL_POLICY_NORDLYS, seed + 300 + k, 1500, k % 2 ? 0 : 1.2e6);
    prop_sets = NULL;
    print_message("las+predict: starts %llu preemptions %llu\n",
                  (unsigned long long)(total_starts - starts0),
                  (unsigned long long)(total_preemptions - pre0));
    assert_true(total_starts - starts0 > 300);
    assert_true(total_preemptions > pre0);
}

static void test_sched_prop_backfill(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    for (uint64_t k = 0; k < 4; k++)
        run_policy(NL_POLICY_BACKFILL, seed + 100 + k, 1500, k % 2 ? 0 : 1.2e6);
}

static void test_sched_prop_fifo(void **state)
{
    (void)state;
    uint64_t seed = test_seed();
    for (uint64_t k = 0; k < 3; k++)
        run_policy(NL_POLICY_FIFO, seed + 200 + k, 1000, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sched_prop_nordlys),
            cmocka_unit_test(test_sched_prop_las_predict),
            cmocka_unit_test(test_sched_prop_backfill),
            cmocka_unit_test(test_sched_prop_fifo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
