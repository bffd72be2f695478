/* SPDX-License-Identifier: MIT */
/*
 * test_jsonout.c - jsonout_dumps writes exactly what json_dumps(v,
 * JSON_COMPACT | JSON_REAL_PRECISION(16)) writes: on fixed cases (every
 * escape, reals that need ".0" or an exponent, integer extremes, key
 * order, empty containers), on 20,000 random trees (seeded, so a failure
 * repeats), and where jansson refuses (invalid UTF-8, a bare scalar) it
 * refuses too.
 */
/* cmocka.h needs the standard headers before it. */
/* clang-format off */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
/* clang-format on */

#include "ctld/jsonout.h"

#define FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(16))

/* Both dumps of v (consumed) are the same text, or both NULL. */
static void same(json_t *v)
{
    char *want = json_dumps(v, FLAGS);
    char *got = jsonout_dumps(v);
    if (want == NULL || got == NULL) {
        if (want != got)
            fail_msg("json_dumps %s, jsonout %s", want ? want : "NULL", got ? got : "NULL");
    } else if (strcmp(want, got) != 0) {
        fail_msg("json_dumps: %s\njsonout:    %s", want, got);
    }
    free(want);
    free(got);
    json_decref(v);
}

static void fixed_cases(void **state)
{
    (void)state;
    same(json_object());
    same(json_array());
    same(json_pack("{s:s}", "a", "plain \"quoted\" back\\slash /slash/ \x7f del"));
    same(json_pack("{s:s}", "ctl", "\b\f\n\r\t\x01\x1f end"));
    same(json_pack("{s:s}", "utf8",
                   "bl\xc3\xa5"
                   "b\xc3\xa6r \xe2\x82\xac \xf0\x9f\x98\x80"));
    json_t *nul = json_object();
    json_object_set_new(nul, "nul", json_stringn("a\0b", 3));
    same(nul);
    same(json_pack("[I, I, I, I]", (json_int_t)0, (json_int_t)-1, (json_int_t)INT64_MAX,
                   (json_int_t)INT64_MIN));
    same(json_pack("[f, f, f, f, f, f, f, f, f, f]", 0.0, -0.0, 3600.0, 0.1, 1764437862.123456,
                   1e22, 1e-7, 123456789012345678.0, DBL_MAX, DBL_MIN));
    same(json_pack("[f, f, f]", 1.0 / 3.0, -2.5e-300, 5e15));
    /* Whole numbers on both sides of the bound of jsonout's own path. */
    same(json_pack("[f, f, f, f, f, f]", 1e15 - 1, -(1e15 - 1), 1e15, -1e15, -12345.0, 7.0));
    /* Key order is insertion order, including after a replacement and a deletion. */
    json_t *o = json_pack("{s:i, s:i, s:i}", "z", 1, "a", 2, "m", 3);
    json_object_set_new(o, "a", json_string("again"));
    json_object_del(o, "z");
    json_object_set_new(o, "b\"key\n", json_null());
    json_object_set_new(o, "t", json_true());
    json_object_set_new(o, "f", json_false());
    same(o);
    same(json_pack("{s:{s:[{}, [], [[]], null]}}", "a", "b"));
}

static void refusals(void **state)
{
    (void)state;
    /* Not valid UTF-8 (a bare continuation byte, an overlong form, a surrogate, too short). */
    const char *bad[] = {"x\x80y", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf5\x80\x80\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *o = json_object();
        json_object_set_new(o, "s", json_stringn_nocheck(bad[i], strlen(bad[i])));
        char *got = jsonout_dumps(o);
        assert_null(got);
        same(o);
    }
    /* A scalar at the top: json_dumps wants JSON_ENCODE_ANY for that. */
    same(json_integer(5));
    same(json_string("x"));
    assert_null(jsonout_dumps(NULL));
    /* Deeper than the bound: handed to json_dumps, the same text. */
    json_t *deep = json_array();
    for (int i = 0; i < JSONOUT_DEPTH_MAX + 10; i++)
        deep = json_pack("[o]", deep);
    same(deep);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A random valid UTF-8 string: ASCII of every class, escapes, 2-4 byte characters. */
static json_t *rand_string(void)
{
    char b[64];
    size_t n = 0, want = rnd() % 20;
    while (n < want && n + 4 < sizeof(b)) {
        switch (rnd() % 6) {
        case 0:
            b[n++] = (char)(rnd() % 0x20); /* a control character (NUL too) */
            break;
        case 1:
            b[n++] = "\"\\/\x7f"[rnd() % 4];
            break;
        case 2:
            b[n++] = (char)0xc3;
            b[n++] = (char)(0x80 + rnd() % 0x40);
            break;
        case 3:
            memcpy(b + n, "\xe2\x82\xac", 3);
            n += 3;
            break;
        case 4:
            memcpy(b + n, "\xf0\x9f\x98\x80", 4);
            n += 4;
            break;
        default:
            b[n++] = (char)(0x20 + rnd() % 0x5f);
        }
    }
    return json_stringn(b, n);
}

static json_t *rand_real(void)
{
    switch (rnd() % 4) {
    case 0:
        return json_real((double)(int64_t)(rnd() % 4000000000000000ULL) / 1e6); /* times */
    case 1:
        return json_real((double)(int64_t)(rnd() % 100000));
    case 2: {
        double d;
        uint64_t bits;
        do {
            bits = rnd();
            memcpy(&d, &bits, sizeof(d));
        } while (!isfinite(d));
        return json_real(d);
    }
    default:
        return json_real(ldexp((double)(rnd() % 1000), (int)(rnd() % 200) - 100));
    }
}

static json_t *rand_value(int depth)
{
    unsigned k = (unsigned)(rnd() % (depth < 4 ? 9 : 7));
    switch (k) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(rnd() % 2);
    case 2:
        return json_integer((json_int_t)rnd());
    case 3:
        return json_integer((json_int_t)(rnd() % 2000) - 1000);
    case 4:
        return rand_real();
    case 5:
    case 6:
        return rand_string();
    case 7: {
        json_t *a = json_array();
        for (unsigned i = (unsigned)(rnd() % 5); i > 0; i--)
            json_array_append_new(a, rand_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (unsigned i = (unsigned)(rnd() % 6); i > 0; i--) {
            json_t *key = rand_string();
            json_object_setn_new(o, json_string_value(key), json_string_length(key),
                                 rand_value(depth + 1));
            json_decref(key);
        }
        return o;
    }
    }
}

static void random_trees(void **state)
{
    (void)state;
    for (int i = 0; i < 20000; i++) {
        json_t *v = rnd() % 2 ? json_array() : json_object();
        for (unsigned j = (unsigned)(rnd() % 6); j > 0; j--) {
            if (json_is_array(v))
                json_array_append_new(v, rand_value(1));
            else
                json_object_set_new(v, j % 2 ? "k" : "key", rand_value(1));
        }
        same(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(fixed_cases),
            cmocka_unit_test(refusals),
            cmocka_unit_test(random_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
