/* SPDX-License-Identifier: MIT */
/*
 * test_request.c - the job request check: defaults, every field, and each
 * kind of bad input answered with the code and field docs/api.md names.
 */
/* cmocka.h needs the standard headers before it. */
/* clang-format off */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
/* clang-format on */

#include "common/proto_limits.h"
#include "ctld/fault.h"
#include "ctld/job_json.h"
#include "nordlys/tenant.h"
#include "store/store.h"

static struct nl_tenants *tenants;

static int setup(void **state)
{
    (void)state;
    tenants = nl_tenants_default(1000);
    return tenants ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nl_tenants_destroy(tenants);
    return 0;
}

static int parse(const char *text, struct nl_store_job *rec, struct fault *f)
{
    json_error_t jerr;
    json_t *body = json_loads(text, JSON_ALLOW_NUL, &jerr);
    if (body == NULL)
        fail_msg("test JSON: %s", jerr.text);
    nl_store_job_init(rec);
    memset(f, 0, sizeof(*f));
    int rc = job_request_parse(body, tenants, rec, f);
    json_decref(body);
    return rc;
}

static void test_request_defaults(void **state)
{
    (void)state;
    struct nl_store_job rec;
    struct fault f;
    assert_int_equal(parse("{\"command\": [\"true\"]}", &rec, &f), 0);
    assert_string_equal(rec.name, "job");
    assert_string_equal(rec.tenant, nl_tenants_get(tenants, 0)->name);
    assert_int_equal(rec.spec.gpus, 1);
    assert_int_equal(rec.spec.time_limit_us, 3600LL * 1000000);
    assert_string_equal(rec.spec.residency.code, "any");
    assert_true(rec.spec.requeue);
    assert_int_equal(rec.spec.grace_us, 60LL * 1000000);
    assert_string_equal(rec.command_json, "[\"true\"]");
    assert_null(rec.env_json);
    nl_store_job_release(&rec);
}

static void test_request_every_field(void **state)
{
    (void)state;
    struct nl_store_job rec;
    struct fault f;
    const char *req =
            "{\"name\": \"train-7b\", \"tenant\": \"anchor\", \"gpus\": 8,"
            " \"time_limit_s\": 7200, \"residency\": \"NO\", \"sensitive\": true,"
            " \"preemptible\": true, \"requeue\": false, \"grace_s\": 30.5,"
            " \"command\": [\"python3\", \"train.py\"], \"env\": {\"B\": \"2\", \"A\": \"1\"},"
            " \"cwd\": \"/home/me\"}";
    assert_int_equal(parse(req, &rec, &f), 0);
    assert_string_equal(rec.name, "train-7b");
    assert_string_equal(rec.tenant, "anchor");
    assert_int_equal(rec.spec.tenant, nl_tenants_find(tenants, "anchor"));
    assert_int_equal(rec.spec.gpus, 8);
    assert_int_equal(rec.spec.time_limit_us, 7200LL * 1000000);
    assert_string_equal(rec.spec.residency.code, "NO");
    assert_true(rec.spec.sensitive && rec.spec.preemptible && !rec.spec.requeue);
    assert_int_equal(rec.spec.grace_us, 30500000);
    assert_string_equal(rec.env_json, "{\"A\":\"1\",\"B\":\"2\"}");
    assert_string_equal(rec.cwd, "/home/me");
    nl_store_job_release(&rec);
}

static void test_request_bad_input_names_the_field(void **state)
{
    (void)state;

    static const struct {
        const char *body, *code, *field;
    } cases[] = {
            {"{}", "missing_field", "command"},
            {"{\"command\": []}", "invalid_field", "command"},
            {"{\"command\": \"ls\"}", "invalid_field", "command"},
            {"{\"command\": [\"ls\", 3]}", "invalid_field", "command[1]"},
            {"{\"command\": [\"\"]}", "invalid_field", "command[0]"},
            {"{\"command\": [\"a\\u0000b\"]}", "invalid_field", "command[0]"},
            {"{\"command\": [\"ls\"], \"gpu\": 1}", "unknown_field", "gpu"},
            {"{\"command\": [\"ls\"], \"gpus\": 0}", "invalid_field", "gpus"},
            {"{\"command\": [\"ls\"], \"gpus\": 1.5}", "invalid_field", "gpus"},
            {"{\"command\": [\"ls\"], \"gpus\": \"2\"}", "invalid_field", "gpus"},
            {"{\"command\": [\"ls\"], \"gpus\": -3}", "invalid_field", "gpus"},
            {"{\"command\": [\"ls\"], \"tenant\": \"nobody\"}", "invalid_field", "tenant"},
            {"{\"command\": [\"ls\"], \"time_limit_s\": 0}", "invalid_field", "time_limit_s"},
            {"{\"command\": [\"ls\"], \"time_limit_s\": 1e12}", "invalid_field", "time_limit_s"},
            {"{\"command\": [\"ls\"], \"grace_s\": -1}", "invalid_field", "grace_s"},
            {"{\"command\": [\"ls\"], \"residency\": \"Mars\"}", "invalid_field", "residency"},
            {"{\"command\": [\"ls\"], \"sensitive\": 1}", "invalid_field", "sensitive"},
            {"{\"command\": [\"ls\"], \"requeue\": \"yes\"}", "invalid_field", "requeue"},
            {"{\"command\": [\"ls\"], \"env\": [1]}", "invalid_field", "env"},
            {"{\"command\": [\"ls\"], \"env\": {\"A=B\": \"x\"}}", "invalid_field", "env.A=B"},
            {"{\"command\": [\"ls\"], \"env\": {\"A\": 1}}", "invalid_field", "env.A"},
            {"{\"command\": [\"ls\"], \"cwd\": \"relative\"}", "invalid_field", "cwd"},
            {"{\"command\": [\"ls\"], \"name\": \"\"}", "invalid_field", "name"},
            {"{\"command\": [\"ls\"], \"name\": \"a\\nb\"}", "invalid_field", "name"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct nl_store_job rec;
        struct fault f;
        int rc = parse(cases[i].body, &rec, &f);
        if (rc == 0 || strcmp(f.code, cases[i].code) != 0 || strcmp(f.field, cases[i].field) != 0)
            fail_msg("%s: got rc %d code %s field %s (%s)", cases[i].body, rc,
                     f.code ? f.code : "-", f.field, f.msg);
        /* The message starts with the field so that people see it first. */
        assert_int_equal(strncmp(f.msg, f.field, strlen(f.field)), 0);
        /* Nothing is kept from a refused request. */
        assert_null(rec.command_json);
        assert_null(rec.env_json);
        assert_null(rec.cwd);
    }
}

/* The request's limits are the agent protocol's table (common/proto_limits.h). */
static void test_request_limits_are_the_protocols(void **state)
{
    (void)state;
    struct nl_store_job rec;
    struct fault f;
    size_t size = 64 * NL_PROTO_ENV_MAX + 1024;
    char *body = malloc(size);
    assert_non_null(body);
    /* NL_PROTO_ENV_MAX entries pass, one more does not. */
    for (unsigned extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)snprintf(body, size, "{\"command\": [\"ls\"], \"env\": {");
        for (unsigned i = 0; i < NL_PROTO_ENV_MAX + extra; i++)
            n += (size_t)snprintf(body + n, size - n, "%s\"V%u\": \"x\"", i ? "," : "", i);
        snprintf(body + n, size - n, "}}");
        int rc = parse(body, &rec, &f);
        if (extra == 0) {
            assert_int_equal(rc, 0);
            nl_store_job_release(&rec);
        } else {
            assert_int_equal(rc, -EINVAL);
            assert_string_equal(f.field, "env");
        }
    }
    /* A variable name longer than NL_PROTO_ENV_NAME_MAX is refused. */
    char name[NL_PROTO_ENV_NAME_MAX + 2];
    memset(name, 'N', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(body, size, "{\"command\": [\"ls\"], \"env\": {\"%s\": \"x\"}}", name);
    assert_int_equal(parse(body, &rec, &f), -EINVAL);
    assert_non_null(strstr(f.msg, "longer than"));
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_request_defaults),
            cmocka_unit_test(test_request_every_field),
            cmocka_unit_test(test_request_bad_input_names_the_field),
            cmocka_unit_test(test_request_limits_are_the_protocols),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
