/* SPDX-License-Identifier: MIT */
/*
 * test_rowfmt.c - `--format`/`--csv` (rowfmt.h) and the command line's
 * times (cli_parse_when): what each field reads as, the errors that name
 * what is wrong, and every accepted spelling of a time.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* cmocka.h needs the standard headers above included first. */
#include <cmocka.h>

#include "cli/cmd_ops.h"
#include "cli/rowfmt.h"
#include "nordlys/err.h"

static const char *const known[] = {"id", "state", "start_time", "end_time", "elapsed",
                                    "time_limit_s", "nodes", "exit_code", "name", NULL};

static void test_parse(void **state)
{
    (void)state;
    struct cli_rowfmt f = {0};
    struct nl_err err = {0};
    assert_int_equal(cli_rowfmt_parse(&f, "id,state,elapsed", known, &err), 0);
    assert_int_equal(f.n, 3);
    assert_string_equal(f.fields[2], "elapsed");
    cli_rowfmt_release(&f);
    assert_int_equal(cli_rowfmt_parse(&f, "id,stat", known, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "unknown field 'stat'"));
    assert_non_null(strstr(err.msg, "fields: id,state,"));
    assert_int_equal(cli_rowfmt_parse(&f, ",,", known, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "no field"));
}

static void test_cells(void **state)
{
    (void)state;
    json_t *row = json_pack("{s:I, s:s, s:f, s:f, s:f, s:[s,s], s:n, s:s}", "id", (json_int_t)42,
                            "state", "COMPLETED", "start_time", 1000.0, "end_time", 5500.0,
                            "time_limit_s", 5400.0, "nodes", "n1", "n2", "exit_code", "name",
                            "a,\"b\"");
    char buf[256];
    assert_string_equal(cli_rowfmt_cell(row, "id", false, 0, buf, sizeof(buf)), "42");
    assert_string_equal(cli_rowfmt_cell(row, "elapsed", false, 0, buf, sizeof(buf)), "1h15m");
    assert_string_equal(cli_rowfmt_cell(row, "elapsed", true, 0, buf, sizeof(buf)), "4500");
    assert_string_equal(cli_rowfmt_cell(row, "time_limit_s", false, 0, buf, sizeof(buf)),
                        "1h30m");
    assert_string_equal(cli_rowfmt_cell(row, "nodes", false, 0, buf, sizeof(buf)), "n1,n2");
    assert_string_equal(cli_rowfmt_cell(row, "exit_code", false, 0, buf, sizeof(buf)), "-");
    assert_string_equal(cli_rowfmt_cell(row, "exit_code", true, 0, buf, sizeof(buf)), "");
    assert_string_equal(cli_rowfmt_cell(row, "end_time", true, 0, buf, sizeof(buf)),
                        "5500.000000");
    /* A running job's elapsed counts to now. */
    json_object_set_new(row, "end_time", json_null());
    assert_string_equal(cli_rowfmt_cell(row, "elapsed", true, 1600, buf, sizeof(buf)), "600");
    json_decref(row);
}

static void test_when(void **state)
{
    (void)state;
    struct nl_err err = {0};
    double now = 1764000000, t = 0;
    assert_int_equal(cli_parse_when("--start", "now", now, &t, &err), 0);
    assert_true(t == now);
    assert_int_equal(cli_parse_when("--start", "now+2h", now, &t, &err), 0);
    assert_true(t == now + 7200);
    assert_int_equal(cli_parse_when("--start", "+90m", now, &t, &err), 0);
    assert_true(t == now + 5400);
    assert_int_equal(cli_parse_when("--since", "-1d", now, &t, &err), 0);
    assert_true(t == now - 86400);
    assert_int_equal(cli_parse_when("--since", "@1700000000", now, &t, &err), 0);
    assert_true(t == 1700000000);
    struct tm tm = {.tm_year = 126, .tm_mon = 11, .tm_mday = 1, .tm_hour = 8, .tm_min = 30,
                    .tm_isdst = -1};
    double want = (double)mktime(&tm);
    assert_int_equal(cli_parse_when("--start", "2026-12-01T08:30", now, &t, &err), 0);
    assert_true(t == want);
    assert_int_equal(cli_parse_when("--start", "2026-12-01T08:30:00", now, &t, &err), 0);
    assert_true(t == want);
    tm = (struct tm){.tm_year = 126, .tm_mon = 11, .tm_mday = 1, .tm_isdst = -1};
    assert_int_equal(cli_parse_when("--start", "2026-12-01", now, &t, &err), 0);
    assert_true(t == (double)mktime(&tm));
    const char *bad[] = {"tomorrow", "2026-13-01", "2026-12-01T25:00", "2026-12-01x", "@", "+x",
                         "2026-12-01T08"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        assert_int_equal(cli_parse_when("--start", bad[i], now, &t, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "--start"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse),
            cmocka_unit_test(test_cells),
            cmocka_unit_test(test_when),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
