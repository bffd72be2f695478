/* SPDX-License-Identifier: MIT */
/*
 * test_retry.c - `nordlys submit`'s retry decision, its backoff, and
 * idempotency keys (src/cli/retry.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka.h needs the standard headers above included first. */
#include <cmocka.h>

#include "cli/retry.h"
#include "nordlys/err.h"

static void test_cli_retry_worth_lost_answers_only(void **state)
{
    (void)state;
    /* Nothing reached the controller, or the answer was lost: the same key goes again. */
    assert_true(cli_retry_worth(CLI_ATTEMPT_NOT_SENT, 0));
    assert_true(cli_retry_worth(CLI_ATTEMPT_LOST, 0));
    /* A proxy that lost the controller, or a controller that cannot commit now. */
    assert_true(cli_retry_worth(CLI_ATTEMPT_ANSWERED, 502));
    assert_true(cli_retry_worth(CLI_ATTEMPT_ANSWERED, 503));
    assert_true(cli_retry_worth(CLI_ATTEMPT_ANSWERED, 504));
    /* An answer is final: success, a refusal to fix, a bug. */
    static const long final[] = {200, 201, 400, 404, 409, 413, 422, 429, 500, 501, 505};
    for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++)
        if (cli_retry_worth(CLI_ATTEMPT_ANSWERED, final[i]))
            fail_msg("HTTP %ld is retried", final[i]);
    /* A bad URL or an answer too large fails the same way every time. */
    assert_false(cli_retry_worth(CLI_ATTEMPT_FATAL, 0));
    assert_false(cli_retry_worth(CLI_ATTEMPT_FATAL, 503));
}

static void test_cli_retry_delay_doubles_to_the_cap(void **state)
{
    (void)state;
    /* rnd 0: no jitter taken off. */
    assert_int_equal(cli_retry_delay_ms(1, 0, 30000, 0), CLI_RETRY_FIRST_MS);
    assert_int_equal(cli_retry_delay_ms(2, 0, 30000, 0), 2 * CLI_RETRY_FIRST_MS);
    assert_int_equal(cli_retry_delay_ms(3, 0, 30000, 0), 4 * CLI_RETRY_FIRST_MS);
    assert_int_equal(cli_retry_delay_ms(5, 0, 30000, 0), 16 * CLI_RETRY_FIRST_MS);
    assert_int_equal(cli_retry_delay_ms(6, 0, 30000, 0), CLI_RETRY_MAX_MS);
    assert_int_equal(cli_retry_delay_ms(1000, 0, 30000, 0), CLI_RETRY_MAX_MS);
    assert_int_equal(cli_retry_delay_ms(UINT32_MAX, 0, 30000, 0), CLI_RETRY_MAX_MS);
}

static void test_cli_retry_delay_jitter_at_most_half(void **state)
{
    (void)state;
    for (uint64_t rnd = 0; rnd < 5000; rnd += 7) {
        int64_t d = cli_retry_delay_ms(1, 0, 30000, rnd * 0x9e3779b97f4a7c15ULL);
        assert_true(d >= CLI_RETRY_FIRST_MS / 2 && d <= CLI_RETRY_FIRST_MS);
        d = cli_retry_delay_ms(20, 0, 30000, rnd * 0x9e3779b97f4a7c15ULL);
        assert_true(d >= CLI_RETRY_MAX_MS / 2 && d <= CLI_RETRY_MAX_MS);
    }
}

static void test_cli_retry_delay_bounded_by_the_budget(void **state)
{
    (void)state;
    /* The last wait ends at the budget's end, and then there is none. */
    assert_int_equal(cli_retry_delay_ms(10, 29500, 30000, 0), 500);
    assert_int_equal(cli_retry_delay_ms(10, 29999, 30000, 0), 1);
    assert_int_equal(cli_retry_delay_ms(10, 30000, 30000, 0), -1);
    assert_int_equal(cli_retry_delay_ms(1, 31000, 30000, 0), -1);
    /* --retry-s 0: never. */
    assert_int_equal(cli_retry_delay_ms(1, 0, 0, 0), -1);
}

static void test_cli_idem_key_format_is_uuid4(void **state)
{
    (void)state;
    uint8_t zero[16] = {0};
    uint8_t ones[16];
    memset(ones, 0xff, sizeof(ones));
    char key[CLI_IDEM_KEY_LEN + 1];
    cli_idem_key_format(zero, key);
    assert_string_equal(key, "00000000-0000-4000-8000-000000000000");
    cli_idem_key_format(ones, key);
    assert_string_equal(key, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    static const uint8_t seq[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    cli_idem_key_format(seq, key);
    assert_string_equal(key, "01234567-89ab-4def-8123-456789abcdef");
}

static void test_cli_idem_key_new_random_and_valid(void **state)
{
    (void)state;
    char a[CLI_IDEM_KEY_LEN + 1];
    char b[CLI_IDEM_KEY_LEN + 1];
    struct nl_err err = {0};
    assert_int_equal(cli_idem_key_new(a, &err), 0);
    assert_int_equal(cli_idem_key_new(b, &err), 0);
    assert_int_equal(strlen(a), CLI_IDEM_KEY_LEN);
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    assert_int_equal(cli_idem_key_check(a, &err), 0);
}

static void test_cli_idem_key_check_names_the_fault(void **state)
{
    (void)state;
    struct nl_err err = {0};
    assert_int_equal(cli_idem_key_check("job-2026-11-29 #7", &err), 0);
    assert_int_equal(cli_idem_key_check("", &err), -EINVAL);
    assert_string_equal(err.msg, "--idempotency-key: must not be empty");
    assert_int_equal(cli_idem_key_check("ab\ncd", &err), -EINVAL);
    assert_string_equal(err.msg, "--idempotency-key: character 3 (0x0a) is not printable ASCII");
    assert_int_equal(cli_idem_key_check("caf\xc3\xa9", &err), -EINVAL);
    assert_string_equal(err.msg, "--idempotency-key: character 4 (0xc3) is not printable ASCII");
    char longest[CLI_IDEM_KEY_MAX + 2];
    memset(longest, 'k', sizeof(longest));
    longest[CLI_IDEM_KEY_MAX] = '\0';
    assert_int_equal(cli_idem_key_check(longest, &err), 0);
    longest[CLI_IDEM_KEY_MAX] = 'k';
    longest[CLI_IDEM_KEY_MAX + 1] = '\0';
    assert_int_equal(cli_idem_key_check(longest, &err), -EINVAL);
    assert_string_equal(err.msg, "--idempotency-key: 256 characters, at most 255");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cli_retry_worth_lost_answers_only),
            cmocka_unit_test(test_cli_retry_delay_doubles_to_the_cap),
            cmocka_unit_test(test_cli_retry_delay_jitter_at_most_half),
            cmocka_unit_test(test_cli_retry_delay_bounded_by_the_budget),
            cmocka_unit_test(test_cli_idem_key_format_is_uuid4),
            cmocka_unit_test(test_cli_idem_key_new_random_and_valid),
            cmocka_unit_test(test_cli_idem_key_check_names_the_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
