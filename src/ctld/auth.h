/* SPDX-License-Identifier: MIT */
/*
 * auth.h - the one authentication and authorisation point of the API.
 *
 * Every routed request passes auth_check before its handler runs
 * (api_dispatch): the Origin rule (cross-site requests), the bearer token
 * (token.h), the route's role, the body's Content-Type and the per-token
 * request rate. Handlers then ask only auth_sees_tenant for what depends
 * on a job's tenant.
 */
#ifndef NL_CTLD_AUTH_H
#define NL_CTLD_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "ctld/routes.h"
#include "ctld/token.h"

struct auth;
struct http_req;
struct nl_err;

struct auth_identity {
    bool authenticated;        /* a valid token was presented */
    bool revoked;              /* a token that verified but is revoked (401): token says whose */
    struct token_claims token; /* its claims (role TOKEN_ROLE_NONE when none) */
};

/* Why auth_check refused: the status, the error code of docs/api.md and a message. */
struct auth_refusal {
    unsigned status;  /* 401, 403, 415 or 429 */
    const char *code; /* "unauthenticated", "forbidden", "unsupported_media_type", "rate_limited" */
    unsigned retry_after_s; /* 429: when to try again */
    char msg[256];
};

struct revoke;

struct auth_opts {
    const struct token_key *key; /* borrowed for the auth's life */
    const struct token_key *old_key; /* the previous key, verifying only (NULL = none) */
    const struct revoke *revoked; /* revoked tokens (borrowed; NULL = none): 401 */
    const char *trusted_origins; /* comma-separated; "" = none */
    uint64_t rate_limit;         /* requests per second per token, 0 = none */
};

struct auth *auth_create(const struct auth_opts *o);
void auth_destroy(struct auth *a);

/*
 * Decide whether req may use route r at now_us. 0 with *who filled
 * (release with auth_identity_release), or the refusal's status with
 * *ref filled (*who then says who asked, as far as known, for the audit
 * log; release it too).
 */
unsigned auth_check(struct auth *a, const struct http_req *req, const struct route *r,
                    int64_t now_us, struct auth_identity *who, struct auth_refusal *ref);
void auth_identity_release(struct auth_identity *who);

/* Whether who may see and act on the jobs of tenant (admin, operator: all; user: theirs). */
bool auth_sees_tenant(const struct auth_identity *who, const char *tenant);
/* The tenant a user's submission goes to when it names none: their first; NULL for others. */
const char *auth_default_tenant(const struct auth_identity *who);

#endif
