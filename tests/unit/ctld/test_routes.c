/* SPDX-License-Identifier: MIT */
/* test_routes.c - the route table and its matcher: every endpoint of docs/api.md, 404/405. */
/* cmocka.h needs the standard headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
/* clang-format on */

#include "ctld/api.h"
#include "ctld/ctld.h"
#include "ctld/routes.h"

static enum route_result match(const char *method, const char *path, size_t *idx,
                               struct route_params *p)
{
    size_t n;
    const struct route *t = api_routes(&n);
    return routes_match(t, n, method, path, idx, p);
}

static void test_routes_match_every_api_endpoint(void **state)
{
    (void)state;
    static const char *const eps[][2] = {
            {"POST", "/v1/jobs"},
            {"GET", "/v1/jobs"},
            {"GET", "/v1/jobs/42"},
            {"DELETE", "/v1/jobs/42"},
            {"GET", "/v1/facility"},
            {"GET", "/v1/nodes"},
            {"GET", "/v1/tenants"},
            {"GET", "/v1/usage"},
            {"GET", "/v1/health"},
            {"GET", "/metrics"},
            {"POST", "/v1/agent/register"},
            {"POST", "/v1/agent/sync"},
            {"POST", "/v1/tokens"},
            {"GET", "/v1/audit"},
            {"DELETE", "/v1/jobs"},
            {"PATCH", "/v1/jobs/42"},
            {"POST", "/v1/jobs/42/requeue"},
            {"POST", "/v1/jobs/42/signal"},
            {"GET", "/v1/jobs/42/output"},
            {"POST", "/v1/jobs/42/hold"},
            {"DELETE", "/v1/jobs/42/hold"},
            {"GET", "/v1/jobs/42/tasks"},
            {"DELETE", "/v1/jobs/42/tasks"},
            {"GET", "/v1/racks"},
            {"POST", "/v1/nodes/drain"},
            {"POST", "/v1/nodes/resume"},
            {"GET", "/v1/reservations"},
            {"POST", "/v1/reservations"},
            {"DELETE", "/v1/reservations/3"},
            {"GET", "/v1/history"},
            {"GET", "/v1/estimates"},
            {"GET", "/v1/facility/power"},
            {"PUT", "/v1/facility/budget"},
            {"POST", "/v1/facility/budget"},
            {"PUT", "/v1/facility/limit"},
            {"GET", "/v1/energy"},
            {"GET", "/v1/jobs/42/events"},
            {"GET", "/v1/queue"},
    };
    size_t n;
    const struct route *t = api_routes(&n);
    assert_int_equal(n, sizeof(eps) / sizeof(eps[0]));
    for (size_t i = 0; i < n; i++) {
        size_t idx = 99;
        struct route_params p;
        assert_int_equal(match(eps[i][0], eps[i][1], &idx, &p), ROUTE_FOUND);
        assert_string_equal(t[idx].method, eps[i][0]);
    }
}

static void test_routes_match_extracts_id(void **state)
{
    (void)state;
    size_t idx;
    struct route_params p;
    assert_int_equal(match("GET", "/v1/jobs/18446744073709551", &idx, &p), ROUTE_FOUND);
    assert_int_equal(p.id, 18446744073709551ULL);
    assert_int_equal(match("DELETE", "/v1/jobs/7", &idx, &p), ROUTE_FOUND);
    assert_int_equal(p.id, 7);
}

static void test_routes_match_bad_id_is_not_found(void **state)
{
    (void)state;
    size_t idx;
    struct route_params p;
    assert_int_equal(match("GET", "/v1/jobs/abc", &idx, &p), ROUTE_BAD_ID);
    assert_int_equal(match("GET", "/v1/jobs/0", &idx, &p), ROUTE_BAD_ID);
    assert_int_equal(match("GET", "/v1/jobs/-1", &idx, &p), ROUTE_BAD_ID);
    assert_int_equal(match("GET", "/v1/jobs/00012", &idx, &p), ROUTE_BAD_ID);
    assert_int_equal(match("GET", "/v1/jobs/123456789012345678901", &idx, &p), ROUTE_BAD_ID);
    /* The segment at fault is named, for the 400. */
    assert_int_equal(match("DELETE", "/v1/jobs/099", &idx, &p), ROUTE_BAD_ID);
    assert_string_equal(p.bad, "099");
    assert_int_equal(match("DELETE", "/v1/jobs/99abc", &idx, &p), ROUTE_BAD_ID);
    assert_string_equal(p.bad, "99abc");
}

static void test_routes_match_unknown_path_and_method(void **state)
{
    (void)state;
    size_t idx;
    struct route_params p;
    assert_int_equal(match("GET", "/v1/nope", &idx, &p), ROUTE_NO_PATH);
    assert_int_equal(match("GET", "/v1/jobs/1/extra", &idx, &p), ROUTE_NO_PATH);
    assert_int_equal(match("GET", "/v1/job", &idx, &p), ROUTE_NO_PATH);
    assert_int_equal(match("GET", "/v1/jobs/", &idx, &p), ROUTE_BAD_ID);
    assert_int_equal(match("PUT", "/v1/jobs", &idx, &p), ROUTE_NO_METHOD);
    assert_int_equal(match("POST", "/v1/jobs/3", &idx, &p), ROUTE_NO_METHOD);
    assert_int_equal(match("GET", "/v1/agent/sync", &idx, &p), ROUTE_NO_METHOD);
}

static void test_routes_roles_and_body_limits(void **state)
{
    (void)state;
    size_t n;
    const struct route *t = api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        /*
         * Only POSTs, PUTs and PATCHes take bodies (a requeue and a hold none: the job is
         * the path); only health and metrics are public.
         */
        bool posts = (strcmp(t[i].method, "POST") == 0 || strcmp(t[i].method, "PUT") == 0 ||
                      strcmp(t[i].method, "PATCH") == 0) &&
                     strstr(t[i].pattern, "/requeue") == NULL &&
                     strstr(t[i].pattern, "/hold") == NULL;
        assert_true(posts ? t[i].body_max > 0 : t[i].body_max == 0);
        bool pub = strcmp(t[i].pattern, "/v1/health") == 0 || strcmp(t[i].pattern, "/metrics") == 0;
        assert_true(pub ? t[i].role == ROLE_PUBLIC : t[i].role != ROLE_PUBLIC);
        if (strncmp(t[i].pattern, "/v1/agent/", 10) == 0)
            assert_int_equal(t[i].role, ROLE_AGENT);
    }
    assert_int_equal(api_body_limit(NULL, "POST", "/v1/jobs"), CTLD_JOB_BODY_MAX);
    /* A new budget is an operator's act. */
    size_t idx;
    struct route_params p;
    assert_int_equal(match("PUT", "/v1/facility/budget", &idx, &p), ROUTE_FOUND);
    assert_int_equal(t[idx].role, ROLE_OPERATOR);
    assert_int_equal(api_body_limit(NULL, "POST", "/v1/agent/sync"), CTLD_AGENT_BODY_MAX);
    assert_int_equal(api_body_limit(NULL, "POST", "/v1/unknown"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_routes_match_every_api_endpoint),
            cmocka_unit_test(test_routes_match_extracts_id),
            cmocka_unit_test(test_routes_match_bad_id_is_not_found),
            cmocka_unit_test(test_routes_match_unknown_path_and_method),
            cmocka_unit_test(test_routes_roles_and_body_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
