/* SPDX-License-Identifier: MIT */
/* test_depspec.c - --dependency's text: every kind, ',' and '?', and bad input named. */
/* cmocka.h needs the standard headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctld/depspec.h"
#include "nordlys/err.h"

static void test_all_kinds_and_all_of(void **state)
{
    (void)state;
    struct depspec d;
    struct nl_err err = {0};
    assert_int_equal(depspec_parse("afterok:12:13,afterany:14,after:15+10,after:16,aftercorr:17,"
                                   "afternotok:18,singleton",
                                   &d, &err),
                     0);
    assert_false(d.any);
    assert_int_equal(d.n, 8);

    const struct {
        enum depspec_kind kind;
        uint64_t job;
        uint32_t minutes;
    } want[] = {{DEPSPEC_AFTEROK, 12, 0},    {DEPSPEC_AFTEROK, 13, 0}, {DEPSPEC_AFTERANY, 14, 0},
                {DEPSPEC_AFTER, 15, 10},     {DEPSPEC_AFTER, 16, 0},   {DEPSPEC_AFTERCORR, 17, 0},
                {DEPSPEC_AFTERNOTOK, 18, 0}, {DEPSPEC_SINGLETON, 0, 0}};

    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(d.c[i].kind, want[i].kind);
        assert_int_equal(d.c[i].job, want[i].job);
        assert_int_equal(d.c[i].minutes, want[i].minutes);
    }
    assert_true(depspec_has(&d, DEPSPEC_AFTERCORR));
    assert_string_equal(depspec_kind_name(DEPSPEC_AFTERCORR), "aftercorr");
}

static void test_any_of(void **state)
{
    (void)state;
    struct depspec d;
    struct nl_err err = {0};
    assert_int_equal(depspec_parse("afterok:1?afterok:2:3?after:4+1", &d, &err), 0);
    assert_true(d.any);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.c[2].job, 3);
    assert_int_equal(d.c[3].kind, DEPSPEC_AFTER);
    assert_int_equal(d.c[3].minutes, 1);
    /* One clause: neither separator; "all of" (one condition either way). */
    assert_int_equal(depspec_parse("afterany:9", &d, &err), 0);
    assert_false(d.any);
    assert_false(depspec_has(&d, DEPSPEC_AFTERCORR));
}

/* Each bad text is refused, and the message names what is wrong. */
static void test_bad_input_named(void **state)
{
    (void)state;

    const struct {
        const char *text, *says;
    } bad[] = {
            {"", "empty"},
            {"afterok:1,afterok:2?afterok:3", "cannot be mixed"},
            {"afterok", "afterok needs job ids"},
            {"afterok:", "afterok needs job ids"},
            {"afterok:1::2", "empty job id"},
            {"afterok:1:", "empty job id"},
            {"afterok:x1", "'x1' is not a job id"},
            {"afterok:0", "'0' is not a job id"},
            {"afterok:12_3", "'12_3' is not a job id"},
            {"afterok:12+5", "'+MINUTES' is for after only"},
            {"aftercorr:7+1", "'+MINUTES' is for after only"},
            {"after:12+", "'' is not a number of minutes"},
            {"after:12+abc", "'abc' is not a number of minutes"},
            {"after:12+0", "'0' is not a number of minutes"},
            {"after:12+999999999", "is not a number of minutes"},
            {"before:1", "'before' is not a dependency type"},
            {"afterok:1,,afterok:2", "empty condition (two ','"},
            {"afterok:1?", "empty condition (two '?'"},
            {"?afterok:1", "empty condition"},
            {"singleton:3", "singleton takes no job ids"},
            {"afterok:99999999999999999999", "is not a job id"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct depspec d;
        struct nl_err err = {0};
        int rc = depspec_parse(bad[i].text, &d, &err);
        if (rc != -EINVAL || strstr(err.msg, bad[i].says) == NULL ||
            strncmp(err.msg, "dependency: ", 12) != 0)
            fail_msg("'%s': rc %d, message '%s' (expected it to say '%s')", bad[i].text, rc,
                     err.msg, bad[i].says);
        assert_int_equal(d.n, 0);
    }
}

static void test_bounds(void **state)
{
    (void)state;
    char text[DEPSPEC_TEXT_MAX + 64] = "afterok";
    size_t n = strlen(text);
    for (int i = 1; i <= DEPSPEC_MAX; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, ":%d", i);
    struct depspec d;
    struct nl_err err = {0};
    assert_int_equal(depspec_parse(text, &d, &err), 0);
    assert_int_equal(d.n, DEPSPEC_MAX);
    snprintf(text + n, sizeof(text) - n, ":%d", DEPSPEC_MAX + 1);
    assert_int_equal(depspec_parse(text, &d, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "more than 64 job ids"));
    memset(text, 'a', DEPSPEC_TEXT_MAX + 1);
    text[DEPSPEC_TEXT_MAX + 1] = '\0';
    assert_int_equal(depspec_parse(text, &d, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "1025 characters, the most is 1024"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_all_kinds_and_all_of),
            cmocka_unit_test(test_any_of),
            cmocka_unit_test(test_bad_input_named),
            cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
