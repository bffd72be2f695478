/* SPDX-License-Identifier: MIT */
/*
 * test_jobref.c - job names on the command line (issue 12): "12" and
 * "12_7" parsed, bad ones refused naming the text; the ID cell of a job,
 * a task, a pending array ("12_[5-99%10]") and one with nothing left to make.
 */
/* cmocka.h needs the standard headers before it. */
/* clang-format off */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
/* clang-format on */

#include "cli/jobref.h"
#include "nordlys/err.h"

static void test_jobref_parse_ids_and_tasks(void **state)
{
    (void)state;
    int64_t id = 0, index = 0;
    struct nl_err err = {0};
    assert_int_equal(cli_jobref_parse("12", &id, &index, &err), 0);
    assert_int_equal(id, 12);
    assert_int_equal(index, -1);
    assert_int_equal(cli_jobref_parse("12_7", &id, &index, &err), 0);
    assert_int_equal(id, 12);
    assert_int_equal(index, 7);
    assert_int_equal(cli_jobref_parse("12_0", &id, &index, &err), 0);
    assert_int_equal(index, 0);
    const char *bad[] = {"12_", "_7", "12_x", "12_10000000", "0_1", "x", "12_-1", "12_7_1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(cli_jobref_parse(bad[i], &id, &index, &err), -EINVAL);
        assert_true(err.msg[0] != '\0');
    }
    char path[96];
    cli_jobref_path(12, -1, path, sizeof(path));
    assert_string_equal(path, "/v1/jobs/12");
    cli_jobref_path(12, 7, path, sizeof(path));
    assert_string_equal(path, "/v1/jobs/12/tasks?index=7");
}

static void cell(const char *job_json, const char *want)
{
    json_t *job = json_loads(job_json, 0, NULL);
    assert_non_null(job);
    char buf[128];
    assert_string_equal(cli_jobref_format(job, buf, sizeof(buf)), want);
    json_decref(job);
}

static void test_jobref_format_cells(void **state)
{
    (void)state;
    cell("{\"id\": 42, \"state\": \"RUNNING\", \"array\": null}", "42");
    cell("{\"id\": 57, \"array_job_id\": 12, \"array_task_id\": 7, \"state\": \"RUNNING\"}",
         "12_7");
    cell("{\"id\": null, \"array_job_id\": 12, \"array_task_id\": 80, \"state\": \"PENDING\"}",
         "12_80");
    cell("{\"id\": 12, \"array_job_id\": 12, \"state\": \"PENDING\","
         " \"array\": {\"pending\": \"5-99\", \"max_running\": 10}}",
         "12_[5-99%10]");
    cell("{\"id\": 12, \"state\": \"PENDING\", \"array\": {\"pending\": \"1,3\", \"max_running\": null}}",
         "12_[1,3]");
    cell("{\"id\": 12, \"state\": \"PENDING\", \"array\": {\"pending\": \"\"}}", "12_*");
    /* An array job that has ended is named by its id. */
    cell("{\"id\": 12, \"state\": \"COMPLETED\", \"array\": {\"pending\": \"\"}}", "12");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_jobref_parse_ids_and_tasks),
            cmocka_unit_test(test_jobref_format_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
