/* SPDX-License-Identifier: MIT */
/*
 * test_revoke.c - the revocation list: a revoked jti is refused and
 * another is not; a user's revocation takes the tokens issued at or before
 * its cut-off (and those without iat) and not later ones, and a later
 * revocation of the same user widens it, an earlier one does not narrow
 * it; the 401's reason names what, when, who and why; bad values are
 * refused naming the field; 10,000 entries are all found (the table
 * grows); and what revoke_store wrote in a committed transaction is back
 * after the store is closed and opened again (a controller restart).
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
#include <unistd.h>

#include <cmocka.h>
/* clang-format on */

#include "ctld/revoke.h"
#include "nordlys/err.h"
#include "store/store.h"

static struct token_claims claims(const char *sub, const char *jti, int64_t iat)
{
    struct token_claims c;
    token_claims_init(&c);
    snprintf(c.sub, sizeof(c.sub), "%s", sub);
    snprintf(c.jti, sizeof(c.jti), "%s", jti);
    c.role = TOKEN_ROLE_USER;
    c.iat = iat;
    c.exp = iat + 3600;
    return c;
}

static struct revoke_entry entry(enum revoke_kind k, const char *value, int64_t before_s,
                                 const char *reason)
{
    struct revoke_entry e = {.kind = k, .before_s = before_s, .at_us = 1795975200000000LL};
    snprintf(e.value, sizeof(e.value), "%s", value);
    snprintf(e.by, sizeof(e.by), "root");
    snprintf(e.reason, sizeof(e.reason), "%s", reason);
    return e;
}

static bool revoked(const struct revoke *r, const char *sub, const char *jti, int64_t iat,
                    char *why, size_t n)
{
    struct token_claims c = claims(sub, jti, iat);
    bool b = revoke_check(r, &c, why, n);
    token_claims_release(&c);
    return b;
}

static void by_jti(void **state)
{
    (void)state;
    struct revoke *r = revoke_create();
    char why[256] = "";
    struct nl_err err = {0};
    assert_false(revoked(r, "ada", "j1", 100, why, sizeof(why)));
    struct revoke_entry e = entry(REVOKE_JTI, "j1", 0, "laptop stolen");
    assert_int_equal(revoke_add(r, &e, &err), 0);
    assert_true(revoked(r, "ada", "j1", 100, why, sizeof(why)));
    assert_string_equal(why, "token: revoked (jti j1) at 2026-11-29T18:00:00Z by root: "
                             "laptop stolen");
    assert_false(revoked(r, "ada", "j2", 100, why, sizeof(why)));
    assert_false(revoked(r, "bob", "", 100, why, sizeof(why)));
    /* A user named like the jti is not that jti. */
    assert_false(revoked(r, "j1", "j3", 100, why, sizeof(why)));
    assert_int_equal(revoke_count(r), 1);
    assert_int_equal(revoke_get(r, 0)->kind, REVOKE_JTI);
    assert_null(revoke_get(r, 1));
    revoke_destroy(r);
}

static void by_user(void **state)
{
    (void)state;
    struct revoke *r = revoke_create();
    char why[256] = "";
    struct nl_err err = {0};
    assert_int_equal(revoke_user_before(r, "ada"), INT64_MIN);
    struct revoke_entry e = entry(REVOKE_USER, "ada", 100, "");
    assert_int_equal(revoke_add(r, &e, &err), 0);
    assert_int_equal(revoke_user_before(r, "ada"), 100);
    assert_true(revoked(r, "ada", "x", 99, why, sizeof(why)));
    assert_true(revoked(r, "ada", "x", 100, why, sizeof(why)));
    assert_string_equal(why, "token: revoked (every token of user ada issued until 100) at "
                             "2026-11-29T18:00:00Z by root");
    assert_true(revoked(r, "ada", "", 0, why, sizeof(why))); /* no iat: revoked */
    assert_false(revoked(r, "ada", "x", 101, why, sizeof(why)));
    assert_false(revoked(r, "bob", "x", 50, why, sizeof(why)));
    /* Again later: wider. An older cut-off added after it: no narrower. */
    e = entry(REVOKE_USER, "ada", 200, "");
    assert_int_equal(revoke_add(r, &e, &err), 0);
    e = entry(REVOKE_USER, "ada", 50, "");
    assert_int_equal(revoke_add(r, &e, &err), 0);
    assert_true(revoked(r, "ada", "x", 150, why, sizeof(why)));
    assert_false(revoked(r, "ada", "x", 201, why, sizeof(why)));
    assert_int_equal(revoke_user_before(r, "ada"), 200);
    assert_int_equal(revoke_count(r), 3);
    revoke_destroy(r);
}

static void bad_values(void **state)
{
    (void)state;
    struct revoke *r = revoke_create();
    struct nl_err err = {0};
    struct revoke_entry e = entry(REVOKE_JTI, "", 0, "");
    assert_int_equal(revoke_add(r, &e, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "jti: length 0"));
    e = entry(REVOKE_USER, "a\tb", 0, "");
    assert_int_equal(revoke_add(r, &e, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "user: control character at byte 1"));
    e = entry(REVOKE_JTI, "", 0, "");
    memset(e.value, 'j', TOKEN_JTI_SIZE);
    e.value[TOKEN_JTI_SIZE] = '\0';
    assert_int_equal(revoke_add(r, &e, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "jti: length 40 is not 1..39"));
    assert_int_equal(revoke_count(r), 0);
    assert_int_equal(revoke_kind_parse("jti"), REVOKE_JTI);
    assert_int_equal(revoke_kind_parse("user"), REVOKE_USER);
    assert_int_equal(revoke_kind_parse("sub"), -1);
    revoke_destroy(r);
}

static void many(void **state)
{
    (void)state;
    struct revoke *r = revoke_create();
    struct nl_err err = {0};
    char v[32], why[256];
    for (int i = 0; i < 10000; i++) {
        snprintf(v, sizeof(v), "jti-%d", i);
        struct revoke_entry e = entry(i % 10 ? REVOKE_JTI : REVOKE_USER, v, 1000, "");
        assert_int_equal(revoke_add(r, &e, &err), 0);
    }
    for (int i = 0; i < 10000; i++) {
        snprintf(v, sizeof(v), "jti-%d", i);
        if (i % 10)
            assert_true(revoked(r, "u", v, 5000, why, sizeof(why)));
        else
            assert_true(revoked(r, v, "other", 5, why, sizeof(why)));
        snprintf(v, sizeof(v), "jti-%d", i + 10000);
        assert_false(revoked(r, v, v, 5, why, sizeof(why)));
    }
    revoke_destroy(r);
}

static void survives_restart(void **state)
{
    (void)state;
    char dir[] = "/tmp/nl-revoke-XXXXXX", db[64];
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/state.db", dir);
    struct nl_store_opts opts = {.path = db};
    struct nl_err err = {0};
    struct nl_store *st = nl_store_open(&opts, &err);
    if (st == NULL)
        fail_msg("open: %s", err.msg);
    /* Outside a transaction a write is refused (the durability rule). */
    struct revoke_entry a = entry(REVOKE_JTI, "j1", 0, "lost"),
                        b = entry(REVOKE_USER, "ada", 100, "left the project");
    assert_int_equal(revoke_store(st, &a, &err), -EPERM);
    assert_int_equal(nl_store_begin(st, &err), 0);
    assert_int_equal(revoke_store(st, &a, &err), 0);
    assert_int_equal(revoke_store(st, &b, &err), 0);
    assert_int_equal(nl_store_commit(st, &err), 0);
    nl_store_close(st);

    st = nl_store_open(&opts, &err);
    if (st == NULL)
        fail_msg("reopen: %s", err.msg);
    struct revoke *r = revoke_create();
    assert_int_equal(revoke_load(r, st, &err), 0);
    assert_int_equal(revoke_count(r), 2);
    const struct revoke_entry *e = revoke_get(r, 1);
    assert_int_equal(e->kind, REVOKE_USER);
    assert_string_equal(e->value, "ada");
    assert_int_equal(e->before_s, 100);
    assert_int_equal(e->at_us, 1795975200000000LL);
    assert_string_equal(e->by, "root");
    assert_string_equal(e->reason, "left the project");
    char why[256];
    assert_true(revoked(r, "bob", "j1", 5, why, sizeof(why)));
    assert_true(revoked(r, "ada", "j9", 100, why, sizeof(why)));
    assert_false(revoked(r, "ada", "j9", 101, why, sizeof(why)));
    revoke_destroy(r);
    nl_store_close(st);
    const char *suffix[] = {"/state.db", "/state.db-wal", "/state.db-shm"};
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        char p[96];
        snprintf(p, sizeof(p), "%s%s", dir, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(by_jti),           cmocka_unit_test(by_user),
            cmocka_unit_test(bad_values),       cmocka_unit_test(many),
            cmocka_unit_test(survives_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
