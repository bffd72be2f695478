/* SPDX-License-Identifier: MIT */
/*
 * api.c - from an HTTP request to a handler: routing, the auth point, the
 * body limit, JSON bodies, and the error objects of docs/api.md.
 *
 * Error codes of libnordlys and the store (negative errno values) become
 * HTTP statuses in one table, err_map[], and nowhere else.
 */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"
#include "ctld/audit.h"
#include "ctld/auth.h"
#include "ctld/ctld.h"
#include "ctld/durable.h"
#include "ctld/fault.h"
#include "ctld/http.h"
#include "ctld/jsonout.h"
#include "ctld/routes.h"
#include "ctld/ui.h"
#include "nordlys/err.h"
#include "store/store.h"

static const struct {
    int code;
    unsigned status;
    const char *name;
} err_map[] = {
        {-EINVAL, 400, "invalid_field"},  {-ENOENT, 404, "not_found"},
        {-EEXIST, 409, "conflict"},       {-EBUSY, 409, "conflict"},
        {-EFBIG, 413, "too_large"},       {-E2BIG, 413, "too_large"},
        {-EPERM, 401, "unauthenticated"}, {-EACCES, 403, "forbidden"},
        {-EAGAIN, 503, "unavailable"},    {-ENOSPC, 503, "store_unavailable"},
};

size_t api_body_limit(void *arg, const char *method, const char *path)
{
    (void)arg;
    size_t n, idx;
    const struct route *t = api_routes(&n);
    struct route_params p;
    if (routes_match(t, n, method, path, &idx, &p) == ROUTE_FOUND)
        return t[idx].body_max;
    return 0;
}

/* "2026-11-29T13:12:27.123456Z" */
static void iso_time(int64_t us, char *buf, size_t size)
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%06lldZ", (long long)(us % 1000000));
}

/*
 * The audit record of an answer: every state-changing action (any route
 * but GET, except an agent's sync, whose effects the store records and
 * which come several times a second per agent) and every refusal by the
 * auth point or a handler (401, 403, 415, 429).
 */
static void audit_answer(struct ctld *c, struct http_req *req, unsigned status, json_t *body)
{
    const struct route *r = c->call.route;
    if (r == NULL || c->audit == NULL)
        return;
    bool refusal = status == 401 || status == 403 || status == 415 || status == 429;
    bool write = strcmp(r->method, "GET") != 0 && r->fn != api_agent_sync;
    if (!refusal && !write)
        return;
    const struct auth_identity *who = c->call.who;
    /* A revoked token verified: its holder is known, and named. */
    const struct token_claims *tk =
            who && (who->authenticated || who->revoked) ? &who->token : NULL;
    char when[40], target[160], action[80];
    iso_time(c->clock.us, when, sizeof(when));
    snprintf(action, sizeof(action), "%s %s", r->method, http_req_path(req));
    snprintf(target, sizeof(target), "%s", c->call.target);
    const char *tenant = c->call.tenant;
    json_t *job = json_object_get(body, "job");
    if (json_is_object(job)) {
        if (target[0] == '\0' && json_is_integer(json_object_get(job, "id")))
            snprintf(target, sizeof(target), "job %lld",
                     (long long)json_integer_value(json_object_get(job, "id")));
        if (tenant[0] == '\0' && json_is_string(json_object_get(job, "tenant")))
            tenant = json_string_value(json_object_get(job, "tenant"));
    }
    json_t *err = json_object_get(body, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    /* Built directly, not packed and dumped: one record per submission. */
    struct audit_field f[] = {
            {.key = "time", .str = when},
            {.key = "who", .str = tk ? tk->sub : ""},
            {.key = "role", .str = tk ? token_role_name(tk->role) : ""},
            {.key = "tenant", .str = tenant},
            {.key = "action", .str = action},
            {.key = "target", .str = target},
            {.key = "status", .num = (long long)status},
            {.key = "outcome", .str = json_is_object(err) ? (code ? code : "error") : "ok"},
            {.key = "peer", .str = http_req_peer(req)},
            {.key = "message", .str = msg},
    };
    audit_append_fields(c->audit, f, msg != NULL ? 10 : 9);
}

void api_reply(struct ctld *c, struct http_req *req, unsigned status, json_t *body)
{
    audit_answer(c, req, status, body);
    /*
     * 16 digits keep microseconds in Unix-second times without binary noise.
     * jsonout writes json_dumps's bytes at a fraction of its cost (a 201's JOB).
     */
    char *text = jsonout_dumps(body);
    json_decref(body);
    http_reply(req, status, "application/json", text);
    /* The durability rule: nothing is answered before this iteration's writes are on disk. */
    durable_hold(c->dur, req);
}

void api_reply_json_text(struct ctld *c, struct http_req *req, unsigned status, char *text)
{
    audit_answer(c, req, status, NULL);
    http_reply(req, status, "application/json", text);
    durable_hold(c->dur, req);
}

/*
 * A JSON string of text that may quote a client's bytes cut at a byte
 * count (a multibyte character split in two): jansson refuses text that is
 * not UTF-8, and an error object that cannot be written would leave the
 * client an empty 400. Such text goes out with every byte >= 0x80 as '?'.
 */
static json_t *text_json(const char *text)
{
    json_t *j = json_string(text);
    if (j != NULL)
        return j;
    char *copy = xstrdup(text);
    for (char *p = copy; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *error_object(unsigned status, const char *code, const char *field, const char *msg)
{
    json_t *e = json_pack("{s:i, s:s, s:o}", "status", (int)status, "code", code, "message",
                          text_json(msg));
    if (field != NULL && field[0] != '\0')
        json_object_set_new(e, "field", text_json(field));
    return json_pack("{s:o}", "error", e);
}

void api_error(struct ctld *c, struct http_req *req, unsigned status, const char *code,
               const char *field, const char *fmt, ...)
{
    char msg[NL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    api_reply(c, req, status, error_object(status, code, field, msg));
}

void api_fault_reply(struct ctld *c, struct http_req *req, const struct fault *f)
{
    unsigned status = strcmp(f->code, "too_large") == 0 ? 413 : 400;
    api_reply(c, req, status, error_object(status, f->code, f->field, f->msg));
}

void api_err_reply(struct ctld *c, struct http_req *req, const struct nl_err *err,
                   const char *field)
{
    unsigned status = 500;
    const char *name = "internal";
    for (size_t i = 0; i < sizeof(err_map) / sizeof(err_map[0]); i++)
        if (err_map[i].code == err->code) {
            status = err_map[i].status;
            name = err_map[i].name;
        }
    api_reply(c, req, status, error_object(status, name, field, err->msg));
}

json_t *api_body_object(struct ctld *c, struct http_req *req)
{
    size_t len;
    const char *text = http_req_body(req, &len);
    json_error_t jerr;
    /* Bodies are NUL-terminated by http.c; a NUL inside is refused as bad JSON. */
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL) {
        api_error(c, req, 400, "bad_json", NULL, "body: %s at line %d column %d", jerr.text,
                  jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        api_error(c, req, 400, "bad_json", NULL, "body: expected a JSON object");
        return NULL;
    }
    return body;
}

/*
 * Drop a UTF-8 sequence cut short at the end of s (route_params.bad is cut
 * to fit its buffer, possibly inside a character): an error message must
 * stay valid UTF-8 for the JSON answer.
 */
static void utf8_trim_cut(char *s)
{
    size_t n = strlen(s), lead = n;
    while (lead > 0 && n - lead < 4 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead == 0 || ((unsigned char)s[lead - 1] & 0x80) == 0)
        return; /* ends in ASCII, or nothing to judge */
    unsigned char b = (unsigned char)s[lead - 1];
    size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (n - (lead - 1) < need)
        s[lead - 1] = '\0';
}

static void route_error(struct ctld *c, struct http_req *req, enum route_result r,
                        const struct route_params *p)
{
    const char *path = http_req_path(req);
    if (r == ROUTE_NO_METHOD)
        api_error(c, req, 405, "not_found", NULL, "%s %.100s: method not allowed",
                  http_req_method(req), path);
    else if (r == ROUTE_BAD_ID) {
        char seg[sizeof(p->bad)];
        snprintf(seg, sizeof(seg), "%s", p->bad);
        utf8_trim_cut(seg);
        /* A malformed id is a bad request, not a missing job: 404 would let a client
         * take "/v1/jobs/099" for a job that is gone. */
        api_error(c, req, 400, "invalid_path", "id",
                  "path: segment '%s' is not a job id (1 to 19 digits, no sign, no leading zero)",
                  seg);
    } else
        api_error(c, req, 404, "not_found", NULL, "%.100s: no such endpoint", path);
}

void api_dispatch(void *arg, struct http_req *req)
{
    struct ctld *c = arg;
    c->stats.requests++;
    now_read(&c->clock);
    /* The dashboard's files are public and outside the route table (see ui.h). */
    if (ui_path(http_req_path(req)))
        return ui_serve(c->ui, req);
    size_t n, idx = 0;
    const struct route *t = api_routes(&n);
    struct route_params p;
    enum route_result r = routes_match(t, n, http_req_method(req), http_req_path(req), &idx, &p);
    if (r != ROUTE_FOUND) {
        route_error(c, req, r, &p);
        return;
    }
    http_req_set_tag(req, (int)idx);
    struct auth_identity who;
    struct auth_refusal ref;
    memset(&c->call, 0, sizeof(c->call));
    c->call.route = &t[idx];
    c->call.who = &who;
    unsigned refused = auth_check(c->auth, req, &t[idx], c->clock.us, &who, &ref);
    if (refused == 429) {
        json_t *o = error_object(429, ref.code, NULL, ref.msg);
        json_object_set_new(json_object_get(o, "error"), "retry_after_s",
                            json_integer(ref.retry_after_s));
        api_reply(c, req, 429, o);
    } else if (refused != 0)
        api_error(c, req, refused, ref.code, NULL, "%s", ref.msg);
    else if (http_req_too_large(req))
        api_error(c, req, 413, "too_large", "body", "body: larger than %zu bytes", t[idx].body_max);
    /* Every route but GET writes (or, for an agent's sync, may): refused while nothing commits. */
    else if (!durable_available(c->dur) && strcmp(t[idx].method, "GET") != 0)
        api_error(c, req, 503, "store_unavailable", NULL, "%s", durable_reason(c->dur));
    else
        t[idx].fn(c, req, &p);
    auth_identity_release(&who);
    memset(&c->call, 0, sizeof(c->call));
}

void api_answered(void *arg, const struct http_req *req, double seconds)
{
    struct ctld *c = arg;
    int tag = http_req_tag(req);
    size_t slot = tag >= 0 && tag < CTLD_ROUTES_MAX - 1 ? (size_t)tag : CTLD_ROUTES_MAX - 1;
    histogram_observe(&c->stats.api_s[slot], seconds);
}
