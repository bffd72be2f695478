/* SPDX-License-Identifier: MIT */
/*
 * api_security.c - POST /v1/tokens (an admin mints a token) and GET
 * /v1/audit (an admin reads the audit log, line for line, so that
 * `nordlys audit verify` checks the very bytes that were chained).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "common/file.h"
#include "ctld/audit.h"
#include "ctld/auth.h"
#include "ctld/ctld.h"
#include "ctld/durable.h"
#include "ctld/http.h"
#include "ctld/revoke.h"
#include "ctld/routes.h"
#include "nordlys/err.h"
#include "nordlys/tenant.h"

/* The largest audit log GET /v1/audit returns whole (export with --since/--until beyond). */
#define API_AUDIT_MAX_BYTES (256u * 1024u * 1024u)

static int str_field(json_t *body, const char *name, bool required, char *out, size_t size,
                     struct nl_err *err)
{
    json_t *v = json_object_get(body, name);
    if (v == NULL && !required)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= size)
        return nl_err_set(err, -EINVAL, "%s: expected a string of 1 to %zu characters", name,
                          size - 1);
    snprintf(out, size, "%s", json_string_value(v));
    return 0;
}

/* The claims of a POST /v1/tokens body; -EINVAL naming the field. */
static int token_request(struct ctld *c, json_t *body, struct token_claims *tc, int64_t *ttl,
                         struct nl_err *err)
{
    static const char *const keys[] = {"user", "role", "tenants", "unix_user", "nodes", "ttl_s"};
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        size_t i = 0;
        while (i < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[i], k) != 0)
            i++;
        if (i == sizeof(keys) / sizeof(keys[0]))
            return nl_err_set(err, -EINVAL, "%.40s: unknown field", k);
    }
    char role[16];
    int rc;
    if ((rc = str_field(body, "user", true, tc->sub, sizeof(tc->sub), err)) < 0 ||
        (rc = str_field(body, "role", true, role, sizeof(role), err)) < 0 ||
        (rc = str_field(body, "unix_user", false, tc->unix_user, sizeof(tc->unix_user), err)) < 0)
        return rc;
    if ((tc->role = token_role_parse(role)) == TOKEN_ROLE_NONE)
        return nl_err_set(err, -EINVAL, "role: '%s' is not admin, operator, user or agent", role);
    json_t *t = json_object_get(body, "tenants");
    size_t i;

    if (t != NULL && (!json_is_array(t) || json_array_size(t) > TOKEN_TENANTS_MAX))
        return nl_err_set(err, -EINVAL, "tenants: expected an array of at most %d names",
                          TOKEN_TENANTS_MAX);
    json_array_foreach(t, i, v)
    {
        if (!json_is_string(v) || nl_tenants_find(c->tenants, json_string_value(v)) < 0)
            return nl_err_set(err, -EINVAL, "tenants: '%.64s' is not a tenant of this facility",
                              json_is_string(v) ? json_string_value(v) : "(not a string)");
        snprintf(tc->tenants[tc->ntenants++], TOKEN_NAME_MAX, "%s", json_string_value(v));
    }
    json_t *n = json_object_get(body, "nodes");
    if (n != NULL && !json_is_array(n))
        return nl_err_set(err, -EINVAL, "nodes: expected an array of node names or [\"*\"]");
    json_array_foreach(n, i, v)
    {
        if (!json_is_string(v))
            return nl_err_set(err, -EINVAL, "nodes: expected strings");
        if ((rc = token_claims_add_node(tc, json_string_value(v), err)) < 0)
            return rc;
    }
    json_t *ttl_v = json_object_get(body, "ttl_s");
    if (ttl_v != NULL) {
        if (!json_is_integer(ttl_v) || json_integer_value(ttl_v) < 1 ||
            json_integer_value(ttl_v) > TOKEN_TTL_MAX_S)
            return nl_err_set(err, -EINVAL, "ttl_s: expected 1 to %lld seconds",
                              (long long)TOKEN_TTL_MAX_S);
        *ttl = (int64_t)json_integer_value(ttl_v);
    }
    return 0;
}

void api_token_create(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    struct token_claims tc;
    token_claims_init(&tc);
    struct nl_err err = {0};
    int64_t ttl = 30 * 86400;
    char *text = NULL;
    int rc = token_request(c, body, &tc, &ttl, &err);
    if (rc == 0)
        rc = token_new_jti(tc.jti, &err);
    if (rc == 0) {
        tc.iat = c->clock.us / 1000000;
        /*
         * A user whose tokens were revoked this second: the new one is
         * issued a second later, so that the revocation (iat <= its
         * cut-off) does not take it too.
         */
        int64_t cut = revoke_user_before(c->revoked, tc.sub);
        if (tc.iat <= cut)
            tc.iat = cut + 1;
        tc.exp = tc.iat + ttl;
        snprintf(c->call.target, sizeof(c->call.target), "token for %s (%s)", tc.sub,
                 token_role_name(tc.role));
        rc = token_mint(c->key, &tc, &text, &err);
    }
    if (rc < 0)
        api_err_reply(c, req, &err, NULL);
    else
        api_reply(c, req, 201,
                  json_pack("{s:s, s:s, s:s, s:I, s:s}", "token", text, "user", tc.sub, "role",
                            token_role_name(tc.role), "exp", (json_int_t)tc.exp, "jti", tc.jti));
    free(text);
    token_claims_release(&tc);
    json_decref(body);
}

static json_t *revocation_json(const struct revoke_entry *e)
{
    json_t *o = json_pack("{s:s, s:s, s:f, s:s, s:s}", "kind", revoke_kind_name(e->kind), "value",
                          e->value, "at", (double)e->at_us / 1e6, "by", e->by, "reason",
                          e->reason);
    if (e->kind == REVOKE_USER)
        json_object_set_new(o, "issued_until", json_integer(e->before_s));
    return o;
}

/* The entry of a POST /v1/tokens/revoke body; -EINVAL naming the field. */
static int revoke_request(json_t *body, struct revoke_entry *e, struct nl_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "jti") != 0 && strcmp(k, "user") != 0 && strcmp(k, "reason") != 0)
            return nl_err_set(err, -EINVAL, "%.40s: unknown field", k);
    }
    bool jti = json_object_get(body, "jti") != NULL, user = json_object_get(body, "user") != NULL;
    if (jti == user)
        return nl_err_set(err, -EINVAL, "jti: give either jti (one token) or user (all of theirs)");
    e->kind = jti ? REVOKE_JTI : REVOKE_USER;
    int rc = str_field(body, jti ? "jti" : "user", true, e->value,
                       jti ? TOKEN_JTI_SIZE : TOKEN_NAME_MAX, err);
    if (rc == 0)
        rc = str_field(body, "reason", false, e->reason, sizeof(e->reason), err);
    return rc;
}

void api_token_revoke(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    struct revoke_entry e = {.at_us = c->clock.us};
    struct nl_err err = {0};
    int rc = revoke_request(body, &e, &err);
    json_decref(body);
    if (rc < 0)
        return api_error(c, req, 400, "invalid_field", NULL, "%s", err.msg);
    e.before_s = e.at_us / 1000000;
    snprintf(e.by, sizeof(e.by), "%s", c->call.who->token.sub);
    snprintf(c->call.target, sizeof(c->call.target), "token revocation: %s %s",
             revoke_kind_name(e.kind), e.value);
    /*
     * In force from now on (revoke_add checks the value first: a refused
     * one is never stored), durable with its audit record in this
     * iteration's COMMIT.
     */
    if ((rc = revoke_add(c->revoked, &e, &err)) < 0)
        return api_error(c, req, 400, "invalid_field", revoke_kind_name(e.kind), "%s", err.msg);
    durable_txn(c->dur);
    if ((rc = revoke_store(c->store, &e, &err)) < 0)
        return api_err_reply(c, req, &err, NULL);
    api_reply(c, req, 200, json_pack("{s:o}", "revoked", revocation_json(&e)));
}

void api_token_revocations(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *list = json_array();
    for (size_t i = 0; i < revoke_count(c->revoked); i++)
        json_array_append_new(list, revocation_json(revoke_get(c->revoked, i)));
    api_reply(c, req, 200, json_pack("{s:o}", "revocations", list));
}

void api_audit(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *lines = NULL;
    struct nl_err err = {0};
    if (audit_lines(c->audit, API_AUDIT_MAX_BYTES, &lines, &err) < 0)
        return api_error(c, req, 500, "internal", NULL, "%s", err.msg);
    api_reply(c, req, 200,
              json_pack("{s:o, s:I, s:s}", "lines", lines, "seq", (json_int_t)audit_seq(c->audit),
                        "head", audit_head(c->audit)));
}
