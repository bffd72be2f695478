/* SPDX-License-Identifier: MIT */
/* test_idxset.c - the job array's index set: parsing, bounds, the k-th index and its text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/idxset.h"
#include "nordlys/err.h"

/* Parse text, expecting success; the caller releases set. */
static void parse_ok(const char *text, struct nl_idxset *set)
{
    struct nl_err err = {0};
    int rc = nl_idxset_parse(text, set, &err);
    if (rc != 0)
        print_error("'%s': %s\n", text, err.msg);
    assert_int_equal(rc, 0);
}

/* Parse text, expecting a refusal whose message contains want. */
static void parse_bad(const char *text, const char *want)
{
    struct nl_idxset set;
    struct nl_err err = {0};
    assert_int_equal(nl_idxset_parse(text, &set, &err), -EINVAL);
    if (strstr(err.msg, want) == NULL)
        print_error("'%s': message '%s' lacks '%s'\n", text, err.msg, want);
    assert_non_null(strstr(err.msg, want));
    assert_int_equal(set.n, 0);
    assert_null(set.r);
}

static void test_idxset_parse_range_limit(void **state)
{
    (void)state;
    struct nl_idxset s;
    char buf[64];
    parse_ok("0-99%10", &s);
    assert_int_equal(s.count, 100);
    assert_int_equal(s.max_running, 10);
    assert_int_equal(nl_idxset_nth(&s, 0), 0);
    assert_int_equal(nl_idxset_nth(&s, 99), 99);
    assert_string_equal(nl_idxset_format(&s, 0, 1, buf, sizeof(buf)), "0-99%10");
    assert_string_equal(nl_idxset_format(&s, 5, 1, buf, sizeof(buf)), "5-99%10");
    assert_string_equal(nl_idxset_format(&s, 99, 0, buf, sizeof(buf)), "99");
    assert_string_equal(nl_idxset_format(&s, 100, 0, buf, sizeof(buf)), "");
    nl_idxset_release(&s);
}

static void test_idxset_parse_step(void **state)
{
    (void)state;
    struct nl_idxset s;
    char buf[64];
    parse_ok("0-15:4", &s);
    assert_int_equal(s.count, 4);
    assert_int_equal(nl_idxset_nth(&s, 3), 12);
    assert_int_equal(nl_idxset_pos(&s, 8), 2);
    assert_int_equal(nl_idxset_pos(&s, 9), -1);
    assert_int_equal(nl_idxset_pos(&s, 16), -1);
    assert_string_equal(nl_idxset_format(&s, 0, 1, buf, sizeof(buf)), "0-12:4");
    assert_string_equal(nl_idxset_format(&s, 1, 1, buf, sizeof(buf)), "4-12:4");
    nl_idxset_release(&s);
}

static void test_idxset_parse_list_sorted(void **state)
{
    (void)state;
    struct nl_idxset s;
    char buf[64];
    parse_ok("5-7,1,3", &s);
    assert_int_equal(s.count, 5);
    assert_int_equal(s.max_running, 0);
    uint32_t want[] = {1, 3, 5, 6, 7};
    for (uint64_t k = 0; k < 5; k++) {
        assert_int_equal(nl_idxset_nth(&s, k), want[k]);
        assert_int_equal(nl_idxset_pos(&s, want[k]), (int64_t)k);
    }
    assert_string_equal(nl_idxset_format(&s, 0, 1, buf, sizeof(buf)), "1,3,5-7");
    assert_string_equal(nl_idxset_format(&s, 3, 1, buf, sizeof(buf)), "6-7");
    nl_idxset_release(&s);
}

static void test_idxset_parse_bounds(void **state)
{
    (void)state;
    struct nl_idxset s;
    parse_ok("9999999", &s);
    assert_int_equal(s.count, 1);
    nl_idxset_release(&s);
    parse_ok("0-999999", &s); /* exactly the most tasks */
    assert_int_equal(s.count, NL_IDXSET_COUNT_MAX);
    nl_idxset_release(&s);
    parse_bad("10000000", "indexes go up to 9999999");
    parse_bad("0-1000000", "the most one array may hold");
    parse_bad("0-99999999999999999999", "indexes go up to");
}

static void test_idxset_parse_errors_name_the_part(void **state)
{
    (void)state;
    parse_bad("", "empty");
    parse_bad("5-3", "'5-3': the range ends before it starts");
    parse_bad("1,,2", "empty part");
    parse_bad("1,2,", "empty part");
    parse_bad("a", "'a': expected an index");
    parse_bad("1-", "'1-': expected the range's last index");
    parse_bad("0-9:0", "the step must be");
    parse_bad("0-9%0", "the limit of tasks running at once");
    parse_bad("0-9%", "the limit of tasks running at once");
    parse_bad("0-9%x", "the limit of tasks running at once");
    parse_bad("1-5,3-7", "overlap");
    parse_bad("2,2", "overlap");
    parse_bad("-1", "expected an index");
    parse_bad("1x", "unexpected 'x'");
    parse_bad(" 1", "expected an index");
}

static void test_idxset_format_cut(void **state)
{
    (void)state;
    struct nl_idxset s;
    char small[20];
    parse_ok("1,3,5,7,9,11,13,15,17,19,21%2", &s);
    nl_idxset_format(&s, 0, 1, small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
    assert_non_null(strstr(small, "..."));
    assert_non_null(strstr(small, "%2"));
    nl_idxset_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_idxset_parse_range_limit),
            cmocka_unit_test(test_idxset_parse_step),
            cmocka_unit_test(test_idxset_parse_list_sorted),
            cmocka_unit_test(test_idxset_parse_bounds),
            cmocka_unit_test(test_idxset_parse_errors_name_the_part),
            cmocka_unit_test(test_idxset_format_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
