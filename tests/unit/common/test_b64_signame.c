/* SPDX-License-Identifier: MIT */
/* test_b64_signame.c - base64 round trips and refusals; the signals a user may send. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
/* clang-format on */

#include <signal.h>
#include <string.h>

#include "common/b64.h"
#include "common/signame.h"

static void test_b64(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char text[16];
        uint8_t back[16];
        b64_encode(plain[i], strlen(plain[i]), text);
        assert_string_equal(text, coded[i]);
        assert_int_equal(b64_encoded_len(strlen(plain[i])), strlen(coded[i]));
        long n = b64_decode(text, strlen(text), back);
        assert_int_equal(n, (long)strlen(plain[i]));
        assert_memory_equal(back, plain[i], (size_t)n);
    }
    uint8_t all[256], back[256];
    char text[400];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    b64_encode(all, 256, text);
    assert_int_equal(b64_decode(text, strlen(text), back), 256);
    assert_memory_equal(all, back, 256);
    uint8_t out[8];
    assert_int_equal(b64_decode("Zm9", 3, out), -1);      /* length */
    assert_int_equal(b64_decode("Zm9v!A==", 8, out), -1); /* character */
    assert_int_equal(b64_decode("Zg==Zg==", 8, out), -1); /* padding inside */
    assert_int_equal(b64_decode("Z===", 4, out), -1);
}

static void test_signame(void **state)
{
    (void)state;
    assert_int_equal(signame_parse("USR1"), SIGUSR1);
    assert_int_equal(signame_parse("sigusr2"), SIGUSR2);
    assert_int_equal(signame_parse("15"), SIGTERM);
    assert_int_equal(signame_parse("RTMIN"), 34);
    assert_int_equal(signame_parse("RTMIN+2"), 36);
    assert_int_equal(signame_parse("RTMAX"), 64);
    assert_int_equal(signame_parse("KILL"), -2);
    assert_int_equal(signame_parse("9"), -2);
    assert_int_equal(signame_parse("SEGV"), -2);
    assert_int_equal(signame_parse("NOPE"), -1);
    assert_int_equal(signame_parse("65"), -1);
    assert_int_equal(signame_parse("RTMIN+40"), -1);
    assert_int_equal(signame_parse(""), -1);
    char name[16];
    signame_name(SIGUSR1, name, sizeof(name));
    assert_string_equal(name, "USR1");
    signame_name(35, name, sizeof(name));
    assert_string_equal(name, "RTMIN+1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_b64),
            cmocka_unit_test(test_signame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
