/* SPDX-License-Identifier: MIT */
/* test_table.c - aligned tables and the human number formats of the command line. */
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

#include "cli/table.h"

static void test_cli_table_render_aligns_columns(void **state)
{
    (void)state;
    static const char *const hdr[] = {"ID", "NAME", "GPUS", "STATE"};
    struct cli_table *t = cli_table_create(4, hdr);
    cli_table_align_right(t, 0);
    cli_table_align_right(t, 2);
    cli_table_add(t, "7");
    cli_table_add(t, "train-7b");
    cli_table_add(t, "8");
    cli_table_add(t, "RUNNING");
    cli_table_addf(t, "%d", 1042);
    cli_table_add(t, "x");
    cli_table_addf(t, "%d", 1024);
    cli_table_add(t, NULL);
    assert_int_equal(cli_table_rows(t), 2);
    char *s = cli_table_render(t);
    assert_string_equal(s, "  ID  NAME      GPUS  STATE\n"
                           "   7  train-7b     8  RUNNING\n"
                           "1042  x         1024  -\n");
    free(s);
    cli_table_destroy(t);
}

static void test_cli_table_render_no_trailing_blanks(void **state)
{
    (void)state;
    static const char *const hdr[] = {"A", "B"};
    struct cli_table *t = cli_table_create(2, hdr);
    cli_table_add(t, "long value");
    cli_table_add(t, "");
    cli_table_add(t, "x"); /* a short last row: B is missing */
    char *s = cli_table_render(t);
    assert_string_equal(s, "A           B\n"
                           "long value\n"
                           "x\n");
    assert_int_equal(cli_table_rows(t), 2);
    free(s);
    cli_table_destroy(t);
}

static void test_cli_table_render_counts_utf8_characters(void **state)
{
    (void)state;
    static const char *const hdr[] = {"SITE", "N"};
    struct cli_table *t = cli_table_create(2, hdr);
    cli_table_add(t, "tromsø");
    cli_table_add(t, "1");
    cli_table_add(t, "osl");
    cli_table_add(t, "2");
    char *s = cli_table_render(t);
    assert_string_equal(s, "SITE    N\n"
                           "tromsø  1\n"
                           "osl     2\n");
    free(s);
    cli_table_destroy(t);
}

static void test_cli_table_render_header_only(void **state)
{
    (void)state;
    static const char *const hdr[] = {"ID", "NAME"};
    struct cli_table *t = cli_table_create(2, hdr);
    assert_int_equal(cli_table_rows(t), 0);
    char *s = cli_table_render(t);
    assert_string_equal(s, "ID  NAME\n");
    free(s);
    cli_table_destroy(t);
}

static void test_cli_fmt_duration_two_units_at_most(void **state)
{
    (void)state;

    static const struct {
        double s;
        const char *want;
    } cases[] = {
            {0, "0s"},     {45, "45s"},   {59.6, "1m"},    {60, "1m"},
            {90, "1m30s"}, {3600, "1h"},  {5400, "1h30m"}, {5430, "1h30m"},
            {7200, "2h"},  {86400, "1d"}, {93784, "1d2h"}, {10 * 86400 + 60, "10d"},
            {-1, "-"},     {NAN, "-"},    {INFINITY, "-"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[CLI_FMT_MAX];
        assert_string_equal(cli_fmt_duration(buf, cases[i].s), cases[i].want);
    }
}

static void test_cli_fmt_power_and_energy_units(void **state)
{
    (void)state;
    char buf[CLI_FMT_MAX];
    assert_string_equal(cli_fmt_power(buf, 950), "950 W");
    assert_string_equal(cli_fmt_power(buf, 132000), "132.0 kW");
    assert_string_equal(cli_fmt_power(buf, 230e6), "230.0 MW");
    assert_string_equal(cli_fmt_power(buf, 1.25e6), "1.2 MW");
    assert_string_equal(cli_fmt_power(buf, 10e9), "10.00 GW");
    assert_string_equal(cli_fmt_power(buf, NAN), "-");
    assert_string_equal(cli_fmt_energy(buf, 12.54), "12.5 kWh");
    assert_string_equal(cli_fmt_energy(buf, 4200), "4.2 MWh");
    assert_string_equal(cli_fmt_energy(buf, 1.1e6), "1.10 GWh");
    assert_string_equal(cli_fmt_energy(buf, -2), "-");
    /* Rounding up to the next unit prints that unit, not "1000.0 kWh". */
    assert_string_equal(cli_fmt_energy(buf, 999.99), "1.0 MWh");
    assert_string_equal(cli_fmt_energy(buf, 999.94), "999.9 kWh");
    assert_string_equal(cli_fmt_power(buf, 999.6), "1.0 kW");
    assert_string_equal(cli_fmt_power(buf, 999999999), "1.00 GW");
    assert_string_equal(cli_fmt_count(buf, 8), "8");
    assert_string_equal(cli_fmt_count(buf, 100008), "100008");
    assert_string_equal(cli_fmt_count(buf, -1), "-1");
    assert_string_equal(cli_fmt_count(buf, NAN), "-");
}

static void test_cli_fmt_time_local(void **state)
{
    (void)state;
    char buf[CLI_FMT_MAX];
    setenv("TZ", "UTC", 1);
    tzset();
    assert_string_equal(cli_fmt_time(buf, 1764000000.5), "2025-11-24 16:00:00");
    setenv("TZ", "CET-1", 1); /* a POSIX rule: needs no tzdata */
    tzset();
    assert_string_equal(cli_fmt_time(buf, 1764000000.5), "2025-11-24 17:00:00");
    assert_string_equal(cli_fmt_time(buf, NAN), "-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cli_table_render_aligns_columns),
            cmocka_unit_test(test_cli_table_render_no_trailing_blanks),
            cmocka_unit_test(test_cli_table_render_counts_utf8_characters),
            cmocka_unit_test(test_cli_table_render_header_only),
            cmocka_unit_test(test_cli_fmt_duration_two_units_at_most),
            cmocka_unit_test(test_cli_fmt_power_and_energy_units),
            cmocka_unit_test(test_cli_fmt_time_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
