/* SPDX-License-Identifier: MIT */
/*
 * fuzz_token.c - libFuzzer target for bearer tokens (src/ctld/token.c,
 * built only where that module exists). The first byte picks what the
 * rest is:
 *   even: the token text as a client sends it (token_verify);
 *   odd:  the claims JSON, which the target wraps in an HS256 header and
 *         signs with the controller's key, so that the claim checks behind
 *         the signature are reached too.
 * Every input also goes through token_parse_ttl (the CLI's --ttl). A token
 * that verifies must carry claims that token_claims_check accepts and an
 * expiry after now; a refusal must name its fault.
 */
#include <gnutls/crypto.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "ctld/token.h"
#include "nordlys/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_S 1700000000LL

static char *b64url(const unsigned char *in, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = xmalloc(n / 3 * 4 + 5), *o = out;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = abc[v >> 18 & 63], *o++ = abc[v >> 12 & 63], *o++ = abc[v >> 6 & 63], *o++ = abc[v & 63];
    }
    if (n - i == 1) {
        *o++ = abc[in[i] >> 2], *o++ = abc[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
        *o++ = abc[v >> 10 & 63], *o++ = abc[v >> 4 & 63], *o++ = abc[(v & 15) << 2];
    }
    *o = '\0';
    return out;
}

/* header.claims.signature over claims, signed with key as the controller signs. */
static char *signed_token(const struct token_key *key, const unsigned char *claims, size_t n)
{
    static const char head[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *h = b64url((const unsigned char *)head, sizeof(head) - 1), *p = b64url(claims, n);
    size_t len = strlen(h) + 1 + strlen(p);
    char *text = xmalloc(len + 64);
    strcpy(text, h);
    strcat(text, ".");
    strcat(text, p);
    unsigned char mac[32];
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key->bytes, TOKEN_KEY_BYTES, text, len, mac) != 0)
        abort();
    char *s = b64url(mac, sizeof(mac));
    strcat(text, ".");
    strcat(text, s);
    free(h);
    free(p);
    free(s);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > TOKEN_TEXT_MAX)
        return 0;
    struct token_key key;
    for (size_t i = 0; i < TOKEN_KEY_BYTES; i++)
        key.bytes[i] = (unsigned char)(i * 7 + 1);
    char *raw = xmalloc(size);
    memcpy(raw, data + 1, size - 1);
    raw[size - 1] = '\0';
    char *text = data[0] & 1 ? signed_token(&key, data + 1, size - 1) : xstrdup(raw);

    struct token_claims c;
    enum token_fault fault = TOKEN_OK;
    struct nl_err err = {0};
    if (token_verify(&key, text, NOW_S, &c, &fault, &err) == 0) {
        struct nl_err e2 = {0};
        if (fault != TOKEN_OK || c.role == TOKEN_ROLE_NONE || c.exp <= NOW_S ||
            token_claims_check(&c, &e2) < 0)
            abort();
        token_claims_release(&c);
    } else if (fault == TOKEN_OK || err.msg[0] == '\0') {
        abort();
    }

    int64_t ttl = 0;
    nl_err_clear(&err);
    if (token_parse_ttl(raw, &ttl, &err) == 0 && (ttl <= 0 || ttl > TOKEN_TTL_MAX_S))
        abort();
    free(text);
    free(raw);
    return 0;
}
