/* SPDX-License-Identifier: MIT */
/*
 * auth.c - the one authentication and authorisation point; see auth.h.
 *
 * The order of the checks is the order of the damage they prevent: a
 * request carrying an Origin the controller does not trust is a browser
 * acting for a web page, refused before its token (which a page could
 * not have, but a cookie-less CSRF must not even reach a handler); then
 * the token (401), the route's role (403), the body's type (415: a
 * browser's cross-site "simple request" can only send text/plain, form
 * or multipart bodies), and the caller's rate (429).
 */
#include "auth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/rng.h"
#include "common/xalloc.h"
#include "ctld/http.h"
#include "ctld/revoke.h"
#include "nordlys/err.h"

/*
 * Rate buckets, direct-mapped by a hash of the token: a collision resets
 * the slot to a full bucket (a token then gets at most one extra burst),
 * which keeps the table bounded however many tokens exist.
 */
#define AUTH_BUCKETS 16384

struct bucket {
    uint64_t key; /* hash of the token, 0 = empty */
    double tokens;
    int64_t last_us;
};

struct auth {
    struct auth_opts o;
    char *origins; /* owned copy of o.trusted_origins */
    struct bucket *buckets;
    struct token_cache *tokens; /* verified tokens: one HMAC per token, not per request */
    struct token_cache *old_tokens; /* those of the previous key (NULL: none) */
};

struct auth *auth_create(const struct auth_opts *o)
{
    struct auth *a = xcalloc(1, sizeof(*a));
    a->o = *o;
    a->origins = xstrdup(o->trusted_origins ? o->trusted_origins : "");
    a->o.trusted_origins = a->origins;
    a->tokens = token_cache_create(o->key);
    if (o->old_key != NULL)
        a->old_tokens = token_cache_create(o->old_key);
    if (o->rate_limit > 0)
        a->buckets = xcalloc(AUTH_BUCKETS, sizeof(*a->buckets));
    return a;
}

void auth_destroy(struct auth *a)
{
    if (a == NULL)
        return;
    token_cache_destroy(a->tokens);
    token_cache_destroy(a->old_tokens);
    free(a->buckets);
    free(a->origins);
    free(a);
}

void auth_identity_release(struct auth_identity *who)
{
    token_claims_release(&who->token);
    who->authenticated = false;
    who->revoked = false;
}

static bool origin_trusted(const struct auth *a, const char *origin)
{
    size_t n = strlen(origin);
    for (const char *p = a->origins; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncasecmp(p, origin, n) == 0)
            return true;
        p += len + (e ? 1 : 0);
    }
    return false;
}

/* application/json, with or without parameters ("; charset=utf-8"). */
static bool json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = sizeof(want) - 1;
    return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The token of "Authorization: Bearer T", or NULL (no header, or not a bearer one). */
static const char *bearer(const struct http_req *req)
{
    const char *h = http_req_header(req, "Authorization");
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

/* Take one request from the token's bucket; 0, or the seconds until one is there. */
static unsigned rate_take(struct auth *a, const char *token, int64_t now_us)
{
    if (a->o.rate_limit == 0)
        return 0;
    uint64_t key = nl_hash64(token, strlen(token)) | 1;
    struct bucket *b = &a->buckets[key % AUTH_BUCKETS];
    double rate = (double)a->o.rate_limit, burst = 2 * rate;
    if (b->key != key) {
        b->key = key;
        b->tokens = burst;
        b->last_us = now_us;
    }
    double add = (double)(now_us - b->last_us) / 1e6 * rate;
    if (add > 0) {
        b->tokens = b->tokens + add > burst ? burst : b->tokens + add;
        b->last_us = now_us;
    }
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 0;
    }
    double wait = (1 - b->tokens) / rate;
    return wait < 1 ? 1 : (unsigned)(wait + 0.999);
}

static unsigned refuse(struct auth_refusal *ref, unsigned status, const char *code, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

static unsigned refuse(struct auth_refusal *ref, unsigned status, const char *code, const char *fmt,
                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ref->msg, sizeof(ref->msg), fmt, ap);
    va_end(ap);
    ref->status = status;
    ref->code = code;
    return status;
}

/*
 * A header's value as printable ASCII ('?' for anything else), cut to
 * fit: it goes into a JSON message, which must stay valid UTF-8.
 */
static const char *printable(const char *v, char *buf, size_t size)
{
    size_t n = 0;
    for (; v != NULL && v[n] != '\0' && n + 1 < size; n++)
        buf[n] = v[n] >= 0x20 && v[n] < 0x7f ? v[n] : '?';
    buf[n] = '\0';
    return v == NULL ? "(none)" : buf;
}

/* Whether a token of role may use a route needing need. */
static bool role_allows(enum token_role role, enum api_role need)
{
    switch (need) {
    case ROLE_PUBLIC:
        return true;
    case ROLE_USER:
        return role == TOKEN_ROLE_USER || role == TOKEN_ROLE_OPERATOR || role == TOKEN_ROLE_ADMIN;
    case ROLE_READER:
        return role != TOKEN_ROLE_NONE;
    case ROLE_OPERATOR:
        return role == TOKEN_ROLE_OPERATOR || role == TOKEN_ROLE_ADMIN;
    case ROLE_ADMIN:
        return role == TOKEN_ROLE_ADMIN;
    case ROLE_AGENT:
        /* Only an agent's credential speaks the agent protocol: an admin's is no node's. */
        return role == TOKEN_ROLE_AGENT;
    }
    return false;
}

static const char *need_name(enum api_role need)
{
    switch (need) {
    case ROLE_USER:
        return "a user, operator or admin token";
    case ROLE_READER:
        return "a token";
    case ROLE_OPERATOR:
        return "an operator or admin token";
    case ROLE_ADMIN:
        return "an admin token";
    case ROLE_AGENT:
        return "an agent token";
    default:
        return "nothing";
    }
}

unsigned auth_check(struct auth *a, const struct http_req *req, const struct route *r,
                    int64_t now_us, struct auth_identity *who, struct auth_refusal *ref)
{
    memset(who, 0, sizeof(*who));
    memset(ref, 0, sizeof(*ref));
    const char *origin = http_req_header(req, "Origin");
    char shown[101];
    if (origin != NULL && !origin_trusted(a, origin))
        return refuse(ref, 403, "forbidden",
                      "Origin '%s' is not trusted (nordlysd --trusted-origin): cross-site "
                      "requests are refused",
                      printable(origin, shown, sizeof(shown)));
    if (r->role == ROLE_PUBLIC)
        return 0;
    const char *text = bearer(req);
    struct nl_err err = {0};
    enum token_fault fault;
    if (token_cache_verify(a->tokens, text, now_us / 1000000, &who->token, &fault, &err) < 0) {
        /* Not the current key's: the previous key's, until it is retired (key rotation). */
        struct nl_err old_err = {0};
        bool old_ok = false;
        if (fault == TOKEN_BAD_SIGNATURE && a->old_tokens != NULL) {
            token_claims_release(&who->token);
            old_ok = token_cache_verify(a->old_tokens, text, now_us / 1000000, &who->token, &fault,
                                        &old_err) == 0;
        }
        if (!old_ok)
            return refuse(ref, 401, "unauthenticated", "%s",
                          fault == TOKEN_BAD_SIGNATURE || old_err.msg[0] == '\0' ? err.msg
                                                                                : old_err.msg);
    }
    /* Every request, a cached verification too: a revocation counts from the next one on. */
    char why[sizeof(ref->msg)];
    if (revoke_check(a->o.revoked, &who->token, why, sizeof(why))) {
        who->revoked = true;
        return refuse(ref, 401, "unauthenticated", "%s", why);
    }
    who->authenticated = true;
    if (!role_allows(who->token.role, r->role))
        return refuse(ref, 403, "forbidden", "%s %s needs %s; %s is %s", r->method, r->pattern,
                      need_name(r->role), who->token.sub, token_role_name(who->token.role));
    if (r->body_max > 0 && !json_type(http_req_header(req, "Content-Type")))
        return refuse(ref, 415, "unsupported_media_type",
                      "Content-Type: '%.60s' is not application/json",
                      printable(http_req_header(req, "Content-Type"), shown, sizeof(shown)));
    /*
     * Agents are exempt: the controller sets their pace (sync_interval_ms),
     * and one agent token shared by a thousand nodes' agents must not make
     * their nodes go down for syncing as told.
     */
    unsigned wait = who->token.role == TOKEN_ROLE_AGENT ? 0 : rate_take(a, text, now_us);
    if (wait > 0) {
        ref->retry_after_s = wait;
        return refuse(ref, 429, "rate_limited",
                      "%s: more than %llu requests per second with this token; retry after %u s",
                      who->token.sub, (unsigned long long)a->o.rate_limit, wait);
    }
    return 0;
}

bool auth_sees_tenant(const struct auth_identity *who, const char *tenant)
{
    switch (who->token.role) {
    case TOKEN_ROLE_ADMIN:
    case TOKEN_ROLE_OPERATOR:
        return true;
    case TOKEN_ROLE_USER:
        return token_has_tenant(&who->token, tenant);
    default:
        return false;
    }
}

const char *auth_default_tenant(const struct auth_identity *who)
{
    return who->token.role == TOKEN_ROLE_USER && who->token.ntenants > 0 ? who->token.tenants[0]
                                                                         : NULL;
}
