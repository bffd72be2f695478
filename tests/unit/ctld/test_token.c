/* SPDX-License-Identifier: MIT */
/*
 * test_token.c - tokens: mint and verify round trip; expired, tampered,
 * wrong key, alg "none", malformed, unknown role and unknown claims
 * refused with their reason; the key file (created 0600, refused when
 * others may read it); the cache of verified tokens (a hit is the same
 * claims, exp still checked, one byte off is a miss). The audit log's tests are in test_audit.c.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
/* clang-format on */

#include "ctld/token.h"
#include "nordlys/err.h"

#define NOW 1800000000LL

static struct token_key key_a = {{1, 2, 3}}, key_b = {{9, 9, 9}};

static void user_claims(struct token_claims *c)
{
    token_claims_init(c);
    snprintf(c->sub, sizeof(c->sub), "alice");
    c->role = TOKEN_ROLE_USER;
    snprintf(c->tenants[0], TOKEN_NAME_MAX, "anchor");
    c->ntenants = 1;
    c->iat = NOW;
    c->exp = NOW + 3600;
}

static char *mint(const struct token_key *k, struct token_claims *c)
{
    char *t = NULL;
    struct nl_err err = {0};
    assert_int_equal(token_mint(k, c, &t, &err), 0);
    return t;
}

static enum token_fault verify_fault(const struct token_key *k, const char *t, int64_t now)
{
    struct token_claims out;
    enum token_fault f = TOKEN_OK;
    struct nl_err err = {0};
    int rc = token_verify(k, t, now, &out, &f, &err);
    if (rc == 0)
        token_claims_release(&out);
    else
        assert_non_null(strstr(err.msg, token_fault_name(f)));
    return f;
}

/* base64url without padding. */
static void b64url(const char *in, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = a[(v >> 18) & 63];
        out[o++] = a[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = a[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
}

static void test_round_trip(void **state)
{
    (void)state;
    struct token_claims c, out;
    user_claims(&c);
    char *t = mint(&key_a, &c);
    enum token_fault f;
    struct nl_err err = {0};
    assert_int_equal(token_verify(&key_a, t, NOW + 10, &out, &f, &err), 0);
    assert_string_equal(out.sub, "alice");
    assert_int_equal(out.role, TOKEN_ROLE_USER);
    assert_true(token_has_tenant(&out, "anchor"));
    assert_false(token_has_tenant(&out, "uk"));
    assert_string_equal(token_run_as(&out), "alice");
    assert_int_equal(out.exp, NOW + 3600);
    assert_true(out.jti[0] != '\0');
    token_claims_release(&out);
    free(t);
    token_claims_release(&c);
}

static void test_agent_nodes(void **state)
{
    (void)state;
    struct token_claims c, out;
    struct nl_err err = {0};
    token_claims_init(&c);
    snprintf(c.sub, sizeof(c.sub), "agent-1");
    c.role = TOKEN_ROLE_AGENT;
    c.exp = NOW + 60;
    assert_int_equal(token_claims_add_node(&c, "n1", &err), 0);
    assert_int_equal(token_claims_add_node(&c, "n2", &err), 0);
    char *t = mint(&key_a, &c);
    enum token_fault f;
    assert_int_equal(token_verify(&key_a, t, NOW, &out, &f, &err), 0);
    assert_true(token_covers_node(&out, "n2"));
    assert_false(token_covers_node(&out, "n3"));
    token_claims_release(&out);
    free(t);
    token_claims_release(&c);
}

static void test_expired(void **state)
{
    (void)state;
    struct token_claims c;
    user_claims(&c);
    char *t = mint(&key_a, &c);
    assert_int_equal(verify_fault(&key_a, t, NOW + 3599), TOKEN_OK);
    assert_int_equal(verify_fault(&key_a, t, NOW + 3600), TOKEN_EXPIRED);
    free(t);
    token_claims_release(&c);
}

static void test_wrong_key_and_tampered(void **state)
{
    (void)state;
    struct token_claims c;
    user_claims(&c);
    char *t = mint(&key_a, &c);
    assert_int_equal(verify_fault(&key_b, t, NOW), TOKEN_BAD_SIGNATURE);
    /* The claims made admin, the signature kept. */
    char claims[256], part[400], forged[1024];
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"alice\",\"role\":\"admin\",\"exp\":%lld,\"iat\":%lld}", NOW + 3600, NOW);
    b64url(claims, part);
    const char *dot1 = strchr(t, '.'), *dot2 = strchr(dot1 + 1, '.');
    snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(dot1 - t), t, part, dot2);
    assert_int_equal(verify_fault(&key_a, forged, NOW), TOKEN_BAD_SIGNATURE);
    /* One character of the signature changed. */
    size_t n = strlen(t);
    t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(verify_fault(&key_a, t, NOW), TOKEN_BAD_SIGNATURE);
    free(t);
    token_claims_release(&c);
}

static void test_alg_none_and_malformed(void **state)
{
    (void)state;
    char head[128], body[256], tok[512], claims[256];
    b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", head);
    snprintf(claims, sizeof(claims), "{\"sub\":\"root\",\"role\":\"admin\",\"exp\":%lld}",
             NOW + 60);
    b64url(claims, body);
    snprintf(tok, sizeof(tok), "%s.%s.", head, body);
    assert_int_equal(verify_fault(&key_a, tok, NOW), TOKEN_MALFORMED);
    b64url("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", head);
    snprintf(tok, sizeof(tok), "%s.%s.abc", head, body);
    assert_int_equal(verify_fault(&key_a, tok, NOW), TOKEN_MALFORMED);
    assert_int_equal(verify_fault(&key_a, "abc", NOW), TOKEN_MALFORMED);
    assert_int_equal(verify_fault(&key_a, "a.b.c.d", NOW), TOKEN_MALFORMED);
    assert_int_equal(verify_fault(&key_a, "!!.??.x", NOW), TOKEN_MALFORMED);
    assert_int_equal(verify_fault(&key_a, NULL, NOW), TOKEN_MISSING);
    assert_int_equal(verify_fault(&key_a, "", NOW), TOKEN_MISSING);
}

/* A token signed with the right key but claims the rules refuse. */
static void test_claims_strict(void **state)
{
    (void)state;
    struct token_claims c;
    user_claims(&c);
    struct nl_err err = {0};
    c.ntenants = 0; /* a user with no tenant */
    char *t = NULL;
    assert_int_equal(token_mint(&key_a, &c, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "tenants"));
    c.ntenants = 1;
    snprintf(c.unix_user, sizeof(c.unix_user), "Bad User");
    assert_int_equal(token_mint(&key_a, &c, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "unix_user"));
    c.unix_user[0] = '\0';
    c.exp = 0;
    assert_int_equal(token_mint(&key_a, &c, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "exp"));
    token_claims_release(&c);
}

static void test_ttl(void **state)
{
    (void)state;
    int64_t s = 0;
    struct nl_err err = {0};
    assert_int_equal(token_parse_ttl("30d", &s, &err), 0);
    assert_int_equal(s, 30 * 86400);
    assert_int_equal(token_parse_ttl("90m", &s, &err), 0);
    assert_int_equal(s, 5400);
    assert_int_equal(token_parse_ttl("3600", &s, &err), 0);
    assert_int_equal(s, 3600);
    assert_int_equal(token_parse_ttl("0", &s, &err), -EINVAL);
    assert_int_equal(token_parse_ttl("-1d", &s, &err), -EINVAL);
    assert_int_equal(token_parse_ttl("3w", &s, &err), -EINVAL);
    assert_int_equal(token_parse_ttl("99999d", &s, &err), -EINVAL);
}

static void test_key_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/nl-token-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct token_key k1, k2;
    struct nl_err err = {0};
    assert_int_equal(token_key_load(dir, false, &k1, &err), -ENOENT);
    assert_int_equal(token_key_load(dir, true, &k1, &err), 0);
    assert_int_equal(token_key_load(dir, false, &k2, &err), 0);
    assert_memory_equal(k1.bytes, k2.bytes, TOKEN_KEY_BYTES);
    char path[128];
    snprintf(path, sizeof(path), "%s/jwt.key", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    chmod(path, 0644);
    assert_int_equal(token_key_load(dir, false, &k2, &err), -EACCES);
    assert_non_null(strstr(err.msg, "0644"));
    unlink(path);
    rmdir(dir);
}

/* Through the cache: t verified at now; the fault (TOKEN_OK when it passed). */
static enum token_fault cache_fault(struct token_cache *tc, const char *t, int64_t now,
                                    struct token_claims *out)
{
    enum token_fault f = TOKEN_OK;
    struct nl_err err = {0};
    int rc = token_cache_verify(tc, t, now, out, &f, &err);
    if (rc < 0)
        assert_non_null(strstr(err.msg, token_fault_name(f)));
    else
        assert_int_equal(f, TOKEN_OK);
    return f;
}

static void test_cache(void **state)
{
    (void)state;
    struct token_cache *tc = token_cache_create(&key_a);
    struct token_claims c, first, again;
    user_claims(&c);
    char *t = mint(&key_a, &c);
    /* A miss, then a hit: the same claims. */
    assert_int_equal(cache_fault(tc, t, NOW, &first), TOKEN_OK);
    assert_int_equal(cache_fault(tc, t, NOW + 1, &again), TOKEN_OK);
    assert_memory_equal(&first, &again, sizeof(first));
    assert_string_equal(again.sub, "alice");
    assert_true(token_has_tenant(&again, "anchor"));
    token_claims_release(&again);
    token_claims_release(&first);
    /* One byte of the signature changed: not the cached token, verified, refused. */
    char *bad = strdup(t);
    size_t n = strlen(bad);
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(cache_fault(tc, bad, NOW + 2, &again), TOKEN_BAD_SIGNATURE);
    /* A prefix of the cached token is no hit either. */
    bad[n - 1] = '\0';
    memcpy(bad, t, n - 1);
    assert_int_equal(cache_fault(tc, bad, NOW + 2, &again), TOKEN_BAD_SIGNATURE);
    free(bad);
    /* Still cached and valid a second before exp; expired at exp, with its reason. */
    assert_int_equal(cache_fault(tc, t, NOW + 3599, &again), TOKEN_OK);
    token_claims_release(&again);
    assert_int_equal(cache_fault(tc, t, NOW + 3600, &again), TOKEN_EXPIRED);
    assert_int_equal(cache_fault(tc, t, NOW + 3600, &again), TOKEN_EXPIRED);
    /* Missing and malformed: token_verify's own refusals. */
    assert_int_equal(cache_fault(tc, NULL, NOW, &again), TOKEN_MISSING);
    assert_int_equal(cache_fault(tc, "a.b", NOW, &again), TOKEN_MALFORMED);
    free(t);
    token_claims_release(&c);

    /* An agent's token: its nodes come along on a hit, a copy of their own. */
    struct nl_err err = {0};
    token_claims_init(&c);
    snprintf(c.sub, sizeof(c.sub), "agent-1");
    c.role = TOKEN_ROLE_AGENT;
    c.exp = NOW + 60;
    assert_int_equal(token_claims_add_node(&c, "n1", &err), 0);
    assert_int_equal(token_claims_add_node(&c, "n2", &err), 0);
    t = mint(&key_a, &c);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cache_fault(tc, t, NOW + i, &again), TOKEN_OK);
        assert_int_equal(again.role, TOKEN_ROLE_AGENT);
        assert_int_equal(again.nnodes, 2);
        assert_true(token_covers_node(&again, "n1"));
        assert_true(token_covers_node(&again, "n2"));
        assert_false(token_covers_node(&again, "n3"));
        token_claims_release(&again);
    }
    assert_int_equal(cache_fault(tc, t, NOW + 60, &again), TOKEN_EXPIRED);
    free(t);
    token_claims_release(&c);
    token_cache_destroy(tc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_agent_nodes),
            cmocka_unit_test(test_expired),
            cmocka_unit_test(test_wrong_key_and_tampered),
            cmocka_unit_test(test_alg_none_and_malformed),
            cmocka_unit_test(test_claims_strict),
            cmocka_unit_test(test_ttl),
            cmocka_unit_test(test_key_file),
            cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
