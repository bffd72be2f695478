/* SPDX-License-Identifier: MIT */
/*
 * test_model.c - the static model: job state machine, residency, facility
 * presets, positions and names, facility and tenants files with their
 * errors (file, line and field named).
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
#include "nordlys/job.h"
#include "nordlys/tenant.h"

static void test_job_transition_table(void **state)
{
    (void)state;
    enum nl_job_state to;
    assert_int_equal(nl_job_transition(NL_JOB_PENDING, NL_JEV_START, &to, NULL), 0);
    assert_int_equal(to, NL_JOB_RUNNING);
    assert_int_equal(nl_job_transition(NL_JOB_RUNNING, NL_JEV_PREEMPT, &to, NULL), 0);
    assert_int_equal(to, NL_JOB_PREEMPTING);
    assert_int_equal(nl_job_transition(NL_JOB_PREEMPTING, NL_JEV_REQUEUE, &to, NULL), 0);
    assert_int_equal(to, NL_JOB_PENDING);
    assert_int_equal(nl_job_transition(NL_JOB_RUNNING, NL_JEV_TIMEOUT, &to, NULL), 0);
    assert_int_equal(to, NL_JOB_TIMEOUT);
    struct nl_err err;
    assert_int_equal(nl_job_transition(NL_JOB_COMPLETED, NL_JEV_START, &to, &err), -EINVAL);
    assert_string_equal(err.msg, "state: cannot start a COMPLETED job");
    assert_int_equal(nl_job_transition(NL_JOB_PENDING, NL_JEV_COMPLETE, &to, NULL), -EINVAL);
    /* No terminal state has a way out. */
    for (int s = NL_JOB_COMPLETED; s < NL_JOB_STATE_COUNT; s++) {
        assert_true(nl_job_state_terminal((enum nl_job_state)s));
        for (int e = 0; e < NL_JEV_COUNT; e++)
            assert_int_equal(nl_job_transition((enum nl_job_state)s, (enum nl_job_event)e, &to, NULL), -EINVAL);
    }
    enum nl_job_state parsed;
    assert_int_equal(nl_job_state_parse("running", &parsed), 0);
    assert_int_equal(parsed, NL_JOB_RUNNING);
    assert_int_equal(nl_job_state_parse("SLEEPING", &parsed), -EINVAL);
}

static void test_residency_parse_and_allows(void **state)
{
    (void)state;
    struct nl_residency r;
    struct nl_err err;
    /* Every byte of the code is set, whatever was there before (specs are compared as bytes). */
    memset(&r, 0xbf, sizeof(r));
    assert_int_equal(nl_residency_parse("no", &r, NULL), 0);
    assert_memory_equal(r.code, "NO\0\0", sizeof(r.code));
    assert_true(nl_residency_allows(&r, "NO", true));
    assert_false(nl_residency_allows(&r, "SE", true));
    assert_int_equal(nl_residency_parse("EEA", &r, NULL), 0);
    assert_true(nl_residency_allows(&r, "SE", true));
    assert_false(nl_residency_allows(&r, "UK", false));
    assert_int_equal(nl_residency_parse("any", &r, NULL), 0);
    assert_true(nl_residency_allows(&r, "UK", false));
    assert_int_equal(nl_residency_parse("Norway", &r, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "residency: 'Norway'"));
    assert_true(nl_jurisdiction_eea("NO"));
    assert_false(nl_jurisdiction_eea("UK"));
}

static void test_facility_presets(void **state)
{
    (void)state;
    struct nl_facility_spec spec;
    struct {
        const char *name;
        uint64_t gpus;
    } want[] = {{"dev", 16}, {"narvik", 100008}, {"narvik-2", 249984}, {"loughton", 23040},
                {"gw10", 5000040}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(nl_facility_preset(want[i].name, &spec, NULL), 0);
        struct nl_facility *fac = nl_facility_create(&spec, NULL);
        assert_non_null(fac);
        assert_int_equal(nl_facility_gpus(fac), want[i].gpus);
        nl_facility_destroy(fac);
    }
    struct nl_err err;
    assert_int_equal(nl_facility_preset("oslo", &spec, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "no preset 'oslo'"));
    assert_int_equal(nl_facility_preset("narvik", &spec, NULL), 0);
    struct nl_facility *fac = nl_facility_create(&spec, NULL);
    assert_int_equal(nl_facility_racks(fac), 1389);
    assert_int_equal(nl_facility_pods(fac), 174); /* 173 pods of 8 racks and one of 5 */
    assert_true(spec.power_budget_w == 230e6);
    nl_facility_destroy(fac);
}

static void test_facility_node_names_roundtrip(void **state)
{
    (void)state;
    struct nl_facility_spec spec;
    nl_facility_preset("narvik-2", &spec, NULL);
    struct nl_facility *fac = nl_facility_create(&spec, NULL);
    uint32_t nodes[] = {0, 17, 18, 25001, 25002, nl_facility_nodes(fac) - 1};
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        char name[96];
        nl_facility_node_name(fac, nodes[i], name, sizeof(name));
        assert_int_equal(nl_facility_node_find(fac, name), nodes[i]);
    }
    char name[96];
    nl_facility_node_name(fac, 25002, name, sizeof(name));
    assert_string_equal(name, "narvik2-p000-r000-n00"); /* first node of the second site */
    struct nl_node_pos pos;
    nl_facility_node_pos(fac, 25002 + 18 * 9 + 3, &pos);
    assert_int_equal(pos.site, 1);
    assert_int_equal(pos.rack, 1389 + 9);
    assert_int_equal(pos.rack_in_pod, 1);
    assert_int_equal(pos.node_in_rack, 3);
    assert_int_equal(nl_facility_node_find(fac, "narvik2-p000-r000-n18"), -ENOENT);
    assert_int_equal(nl_facility_node_find(fac, "narvik2-p0-r0-n0"), -ENOENT); /* not canonical */
    assert_int_equal(nl_facility_node_find(fac, "oslo-p000-r000-n00"), -ENOENT);
    nl_facility_destroy(fac);
}

static const char good_facility[] = "# a small test facility\n"
                                    "name = test\n"
                                    "power_budget_mw = 2.5\n"
                                    "pue = 1.15\n"
                                    "\n"
                                    "[site osl]\n"
                                    "jurisdiction = no\n"
                                    "racks = 10\n"
                                    "racks_per_pod = 4\n"
                                    "power_mw = 2\n"
                                    "[site lon]\n"
                                    "jurisdiction = UK\n"
                                    "racks = 2\n"
                                    "nodes_per_rack = 4\n"
                                    "gpus_per_node = 8\n";

static void test_facility_file_good(void **state)
{
    (void)state;
    struct nl_facility_spec spec;
    struct nl_err err;
    assert_int_equal(nl_facility_parse(good_facility, strlen(good_facility), "t.conf", &spec, &err), 0);
    struct nl_facility *fac = nl_facility_create(&spec, &err);
    assert_non_null(fac);
    assert_int_equal(nl_facility_gpus(fac), 10 * 72 + 2 * 32);
    struct nl_site_info si;
    nl_facility_site(fac, 0, &si);
    assert_string_equal(si.jurisdiction, "NO");
    assert_true(si.eea);
    assert_int_equal(si.npods, 3);
    nl_facility_site(fac, 1, &si);
    assert_false(si.eea);
    assert_int_equal(si.gpus_per_node, 8);
    nl_facility_destroy(fac);
}

static void expect_facility_error(const char *text, const char *want)
{
    struct nl_facility_spec spec;
    memset(&spec, 0x5a, sizeof(spec));
    struct nl_facility_spec before = spec;
    struct nl_err err;
    assert_int_equal(nl_facility_parse(text, strlen(text), "bad.conf", &spec, &err), -EINVAL);
    if (strstr(err.msg, want) == NULL)
        fail_msg("error '%s' does not contain '%s'", err.msg, want);
    /* Nothing changes on error. */
    assert_memory_equal(&spec, &before, sizeof(spec));
}

static void test_facility_file_errors(void **state)
{
    (void)state;
    expect_facility_error("name = x\n[site a]\njurisdiction = NO\nracks = ten\n",
                          "bad.conf:4: racks: 'ten' is not a non-negative integer");
    expect_facility_error("name = x\n[site a]\njurisdiction = NO\nracks = 2\ngpus_per_node = 9\n",
                          "bad.conf:5: gpus_per_node: 9 is outside 1..8");
    expect_facility_error("name = x\npue = 0.5\n[site a]\n", "bad.conf:2: pue: 0.5 is outside 1..3");
    expect_facility_error("name = x\n[site a]\nracks = 2\n", "site a: jurisdiction: missing");
    expect_facility_error("name = x\n[site a]\njurisdiction = Norway\n",
                          "bad.conf:3: jurisdiction: 'Norway' is not a two-letter");
    expect_facility_error("name = x\n[rack a]\n", "bad.conf:2: [rack]: unknown section");
    expect_facility_error("name = x\ncolour = blue\n", "bad.conf:2: colour: unknown facility key");
    expect_facility_error("name = x\n[site a]\njurisdiction = NO\nracks 2\n",
                          "bad.conf:4: expected KEY = VALUE");
    expect_facility_error("[site A-1]\n", "bad.conf:1: site: 'A-1' may hold only");
    expect_facility_error("name = x\n", "sites: no [site NAME] section");
    expect_facility_error("name = x\n[site a]\njurisdiction = NO\nracks = 1\n[site a]\njurisdiction = NO\nracks = 1\n",
                          "site a: name: defined twice");
}

static const char good_tenants[] = "[tier sovereign]\n"
                                   "[tier regional]\n"
                                   "rank = 5\n"
                                   "[tenant uio]\n"
                                   "tier = sovereign\n"
                                   "quota_gpus = 100\n"
                                   "borrow_gpus = 50\n"
                                   "weight = 2\n"
                                   "jurisdiction = no\n"
                                   "jurisdictions = no, EEA\n"
                                   "[tenant acme-uk]\n"
                                   "tier = regional\n"
                                   "quota_gpus = 10\n";

static void test_tenants_file(void **state)
{
    (void)state;
    struct nl_err err;
    struct nl_tenants *t = nl_tenants_parse(good_tenants, strlen(good_tenants), "t.conf", &err);
    assert_non_null(t);
    assert_int_equal(nl_tenants_count(t), 2);
    assert_int_equal(nl_tenants_tier_count(t), 2);
    const struct nl_tenant_spec *u = nl_tenants_get(t, (uint32_t)nl_tenants_find(t, "uio"));
    assert_int_equal(u->quota_gpus, 100);
    assert_int_equal(u->borrow_gpus, 50);
    assert_string_equal(u->jurisdiction, "NO");
    assert_int_equal(u->njurisdictions, 2);
    assert_string_equal(u->jurisdictions[0], "NO");
    assert_string_equal(u->jurisdictions[1], "EEA");
    assert_true(nl_tenant_allows(u, "SE", true));
    assert_false(nl_tenant_allows(u, "UK", false));
    char buf[64];
    assert_string_equal(nl_tenant_jurisdictions_str(u, buf, sizeof(buf)), "NO,EEA");
    /* No jurisdictions key: any (the home jurisdiction does not bound placement). */
    const struct nl_tenant_spec *a = nl_tenants_get(t, (uint32_t)nl_tenants_find(t, "acme-uk"));
    assert_int_equal(a->njurisdictions, 0);
    assert_true(nl_tenant_allows(a, "UK", false));
    assert_string_equal(nl_tenant_jurisdictions_str(a, buf, sizeof(buf)), "any");
    assert_int_equal(nl_tenants_tier(t, 1)->rank, 5);
    nl_tenants_destroy(t);

    const char *bad1 = "[tier a]\n[tenant x]\ntier = b\nquota_gpus = 1\n";
    assert_null(nl_tenants_parse(bad1, strlen(bad1), "t.conf", &err));
    assert_non_null(strstr(err.msg, "t.conf:2: tenant x: tier: no tier 'b'"));
    const char *bad2 = "[tier a]\n[tenant x]\ntier = a\n[tenant y]\ntier = a\nquota_gpus = 1\n";
    assert_null(nl_tenants_parse(bad2, strlen(bad2), "t.conf", &err));
    assert_non_null(strstr(err.msg, "tenant x: quota_gpus: missing"));
    const char *bad3 = "[tier a]\n[tenant x]\ntier = a\nquota_gpus = -4\n";
    assert_null(nl_tenants_parse(bad3, strlen(bad3), "t.conf", &err));
    assert_non_null(strstr(err.msg, "t.conf:4: quota_gpus: '-4'"));
    const char *bad4 = "[tier a]\n[tenant x]\ntier = a\nquota_gpus = 1\nweight = 0\n";
    assert_null(nl_tenants_parse(bad4, strlen(bad4), "t.conf", &err));
    assert_non_null(strstr(err.msg, "t.conf:5: weight"));
    static const struct {
        const char *value, *want;
    } badj[] = {
            {"NO,,SE", "jurisdictions: 'NO,,SE' has an empty entry"},
            {"NO,", "has an empty entry"},
            {"NO, ,SE", "has an empty entry"},
            {"NOR", "jurisdictions: 'NOR' is not 'any', 'EEA' or a two-letter code"},
            {"N1", "'N1' is not"},
            {"NO,no", "jurisdictions: NO listed twice"},
            {"any,NO", "'any' cannot be combined"},
    };
    for (size_t i = 0; i < sizeof(badj) / sizeof(badj[0]); i++) {
        char text[160];
        snprintf(text, sizeof(text), "[tier a]\n[tenant x]\ntier = a\nquota_gpus = 1\njurisdictions = %s\n",
                 badj[i].value);
        assert_null(nl_tenants_parse(text, strlen(text), "t.conf", &err));
        if (strstr(err.msg, badj[i].want) == NULL || strstr(err.msg, "t.conf:5:") == NULL)
            fail_msg("%s: got '%s'", badj[i].value, err.msg);
    }
    const char *twice = "[tier a]\n[tenant x]\ntier = a\nquota_gpus = 1\njurisdictions = NO\n"
                        "jurisdictions = SE\n";
    assert_null(nl_tenants_parse(twice, strlen(twice), "t.conf", &err));
    assert_non_null(strstr(err.msg, "t.conf:6: jurisdictions: given twice"));
    const char *any = "[tier a]\n[tenant x]\ntier = a\nquota_gpus = 1\njurisdictions = ANY\n";
    t = nl_tenants_parse(any, strlen(any), "t.conf", &err);
    assert_non_null(t);
    assert_int_equal(nl_tenants_get(t, 0)->njurisdictions, 0);
    nl_tenants_destroy(t);
    /* A spec built in code is checked too. */
    t = nl_tenants_create();
    struct nl_tier_spec tier = {"a", 0};
    nl_tenants_add_tier(t, &tier, NULL);
    struct nl_tenant_spec sp = {.name = "x", .weight = 1, .njurisdictions = 1};
    snprintf(sp.jurisdictions[0], sizeof(sp.jurisdictions[0]), "no");
    assert_int_equal(nl_tenants_add(t, &sp, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "tenant x: jurisdictions: entry 0"));
    nl_tenants_destroy(t);
}

static void test_tenants_default(void **state)
{
    (void)state;
    struct nl_tenants *t = nl_tenants_default(100000);
    assert_int_equal(nl_tenants_tier_count(t), 3);
    assert_int_equal(nl_tenants_count(t), 6);
    uint64_t quota = 0;
    for (uint32_t i = 0; i < nl_tenants_count(t); i++) {
        quota += nl_tenants_get(t, i)->quota_gpus;
        assert_int_equal(nl_tenants_get(t, i)->quota_gpus + nl_tenants_get(t, i)->borrow_gpus, 100000);
    }
    assert_int_equal(quota, 90000);
    assert_string_equal(nl_tenants_tier(t, nl_tenants_get(t, 0)->tier)->name, "sovereign");
    nl_tenants_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_job_transition_table),
            cmocka_unit_test(test_residency_parse_and_allows),
            cmocka_unit_test(test_facility_presets),
            cmocka_unit_test(test_facility_node_names_roundtrip),
            cmocka_unit_test(test_facility_file_good),
            cmocka_unit_test(test_facility_file_errors),
            cmocka_unit_test(test_tenants_file),
            cmocka_unit_test(test_tenants_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
