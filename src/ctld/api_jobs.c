/* SPDX-License-Identifier: MIT */
/*
 * api_jobs.c - POST/GET/DELETE /v1/jobs: submit, list, show, cancel.
 *
 * A submission is checked completely (the request, then the scheduler's
 * validation against facility and tenants) before anything is written;
 * its 201 is held until the iteration's COMMIT (api_reply does that).
 * With an Idempotency-Key, the key is stored in the job's transaction, and
 * a later submission of the same tenant and key (within
 * --idempotency-window-s) gets the first job back (200, "replayed") or,
 * for a different request, 422 idempotency_key_reused.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "common/rng.h"
#include "common/xalloc.h"
#include "ctld/auth.h"
#include "ctld/config.h"
#include "ctld/ctld.h"
#include "ctld/durable.h"
#include "ctld/fault.h"
#include "ctld/gate.h"
#include "ctld/http.h"
#include "ctld/job_json.h"
#include "ctld/life.h"
#include "ctld/routes.h"
#include "nordlys/err.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "store/store.h"

/* The field a core message starts with ("gpus: 96 exceeds ..." -> "gpus"), or "". */
static void field_of(const char *msg, char *field, size_t size)
{
    size_t n = 0;
    while (msg[n] && (isalnum((unsigned char)msg[n]) || msg[n] == '_' || msg[n] == '.'))
        n++;
    if (msg[n] != ':' || n == 0 || n >= size)
        n = 0;
    memcpy(field, msg, n);
    field[n] = '\0';
}

/* 1 to NL_STORE_IDEM_KEY_MAX printable ASCII characters. */
static bool idem_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > NL_STORE_IDEM_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x20 || key[i] > 0x7e)
            return false;
    return true;
}

/*
 * The digest a key's request is remembered by: of the request as parsed
 * JSON with sorted keys, so that a retry that reorders fields or spacing
 * is the same request. Length and a 64-bit hash: a different request
 * under the same key of the same tenant is a client's mistake, not an
 * attack on anyone else, so a cryptographic digest buys nothing.
 */
static void request_hash(const json_t *body, char *out, size_t size)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    size_t len = text ? strlen(text) : 0;
    snprintf(out, size, "v1-%zu-%016llx", len,
             (unsigned long long)nl_hash64(text ? text : "", len));
    free(text);
}

/*
 * An earlier submission under the same tenant and key, within the window:
 * answer for it (200 and its job, or 422 for another request) and return
 * 1; 0 when there is none; an error answered and -1.
 */
static int idem_replay(struct ctld *c, struct http_req *req, const struct nl_store_job *rec,
                       const char *key, const char *hash)
{
    struct nl_store_idem idem;
    struct nl_err err = {0};
    int64_t window_us = (int64_t)c->cfg->idempotency_window_s * 1000000;
    int rc = nl_store_idem_get(c->store, rec->tenant, key, now_read(&c->clock) - window_us, &idem,
                               &err);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0) {
        api_err_reply(c, req, &err, NULL);
        return -1;
    }
    if (strcmp(idem.request_hash, hash) != 0) {
        api_error(c, req, 422, "idempotency_key_reused", "Idempotency-Key",
                  "Idempotency-Key: '%.64s' was used by tenant %s for another request (job %llu) "
                  "in the last %llu s",
                  key, rec->tenant, (unsigned long long)idem.job,
                  (unsigned long long)c->cfg->idempotency_window_s);
        return 1;
    }
    struct nl_store_job first;
    nl_store_job_init(&first);
    if (nl_store_job_get(c->store, idem.job, &first, &err) < 0)
        api_err_reply(c, req, &err, NULL);
    else
        api_reply(c, req, 200, json_pack("{s:o, s:b}", "job", job_json(c, &first), "replayed", 1));
    nl_store_job_release(&first);
    return 1;
}

void api_job_submit(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    const char *key = http_req_header(req, "Idempotency-Key");
    if (key != NULL && !idem_key_valid(key))
        return api_error(c, req, 400, "invalid_field", "Idempotency-Key",
                         "Idempotency-Key: must be 1 to %d printable ASCII characters",
                         NL_STORE_IDEM_KEY_MAX);
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct fault f = {0};
    struct nl_err err = {0};
    char field[64], hash[sizeof(((struct nl_store_idem *)0)->request_hash)];
    const struct auth_identity *who = c->call.who;
    /* A user's submission that names no tenant goes to their first. */
    if (json_object_get(body, "tenant") == NULL && auth_default_tenant(who) != NULL)
        json_object_set_new(body, "tenant", json_string(auth_default_tenant(who)));
    /* The gate's fields (array, dependency, hold) are read apart; the rest is the job. */
    struct gate_req greq;
    const char *gfield = NULL;
    json_t *core = json_copy(body);
    json_object_del(core, "array");
    json_object_del(core, "dependency");
    json_object_del(core, "hold");
    if (api_gate_fields(body, &greq, &err, &gfield) < 0) {
        api_err_reply(c, req, &err, gfield);
        goto out;
    }
    if (job_request_parse(core, c->tenants, &rec, &f) < 0) {
        api_fault_reply(c, req, &f);
        goto out;
    }
    snprintf(c->call.tenant, sizeof(c->call.tenant), "%s", rec.tenant);
    if (!auth_sees_tenant(who, rec.tenant)) {
        api_error(c, req, 403, "forbidden", "tenant", "tenant: %s may not submit for tenant %s",
                  who->token.sub, rec.tenant);
        goto out;
    }
    snprintf(rec.run_as, sizeof(rec.run_as), "%s", token_run_as(&who->token));
    if (key != NULL) {
        request_hash(body, hash, sizeof(hash));
        if (idem_replay(c, req, &rec, key, hash) != 0)
            goto out;
    }
    if (nl_sched_validate(c->sched, &rec.spec, &err) < 0) {
        field_of(err.msg, field, sizeof(field));
        if (err.code == -ENOENT)
            err.code = -EINVAL; /* a bad reference inside a request is the request's fault */
        api_err_reply(c, req, &err, field);
        goto out;
    }
    int ti = nl_tenants_find(c->tenants, rec.tenant);
    struct nl_tenant_usage use = {0};
    if (ti >= 0)
        nl_sched_tenant_usage(c->sched, (uint32_t)ti, &use);
    if (use.jobs_pending >= c->cfg->tenant_queue_max) {
        api_error(c, req, 429, "queue_full", "tenant",
                  "tenant %s: %llu jobs pending, the most a tenant may queue "
                  "(nordlysd --tenant-queue-max); wait for some to start",
                  rec.tenant, (unsigned long long)use.jobs_pending);
        goto out;
    }
    if (gate_req_any(&greq) && gate_check(c->gate, &greq, &rec, &err) < 0) {
        field_of(err.msg, field, sizeof(field));
        api_err_reply(c, req, &err, field);
        goto out;
    }
    rec.submit_us = now_read(&c->clock);
    if ((gate_req_any(&greq) ? gate_submit(c->gate, &greq, &rec, &err)
                             : life_submit(c->life, &rec, &err)) < 0) {
        api_err_reply(c, req, &err, NULL);
        goto out;
    }
    if (key != NULL) {
        /* In the job's transaction: both are durable, or neither. */
        struct nl_store_idem idem = {.job = rec.id, .created_us = rec.submit_us};
        snprintf(idem.request_hash, sizeof(idem.request_hash), "%s", hash);
        if (nl_store_idem_put(c->store, rec.tenant, key, &idem, &err) < 0)
            durable_fatal("idempotency key", &err); /* the job is in the transaction already */
    }
    api_reply(c, req, 201, json_pack("{s:o}", "job", job_json(c, &rec)));
out:
    nl_store_job_release(&rec);
    json_decref(core);
    json_decref(body);
}

struct list_ctx {
    struct ctld *c;
    json_t *jobs;
};

static int list_one(const struct nl_store_job *rec, void *arg)
{
    struct list_ctx *x = arg;
    json_array_append_new(x->jobs, job_json(x->c, rec));
    return 0;
}

/* state=PENDING,RUNNING into a bit set; -EINVAL naming the bad name. */
int api_parse_states(const char *text, unsigned *states, struct nl_err *err)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", text);
    *states = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        enum nl_job_state s;
        if (nl_job_state_parse(tok, &s) < 0 || s == NL_JOB_NONE)
            return nl_err_set(err, -EINVAL, "state: '%.40s' is not a job state", tok);
        *states |= 1u << s;
    }
    if (*states == 0)
        return nl_err_set(err, -EINVAL, "state: empty");
    return 0;
}

static int parse_uint_arg(const char *text, const char *name, uint64_t lo, uint64_t hi,
                          uint64_t *out, struct nl_err *err)
{
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || v < lo || v > hi)
        return nl_err_set(err, -EINVAL, "%s: '%.40s' is not %llu..%llu", name, text,
                          (unsigned long long)lo, (unsigned long long)hi);
    *out = v;
    return 0;
}

static int newer_first(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Sort jobs newest first and keep the first limit. */
static void merge_newest(json_t *jobs, size_t limit)
{
    size_t n = json_array_size(jobs);
    json_t **v = xcalloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(jobs, i));
    qsort(v, n, sizeof(*v), newer_first);
    json_array_clear(jobs);
    for (size_t i = 0; i < n; i++) {
        if (limit == 0 || i < limit)
            json_array_append(jobs, v[i]);
        json_decref(v[i]);
    }
    free(v);
}

void api_jobs_list(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    struct nl_store_filter f = {.limit = CTLD_LIST_LIMIT_DEFAULT};
    struct nl_err err = {0};
    const char *state = http_req_query(req, "state"), *limit = http_req_query(req, "limit");
    const char *before = http_req_query(req, "before");
    uint64_t v = 0;
    if (state != NULL && api_parse_states(state, &f.states, &err) < 0)
        return api_err_reply(c, req, &err, "state");
    if (limit != NULL) {
        if (parse_uint_arg(limit, "limit", 1, CTLD_LIST_LIMIT_MAX, &v, &err) < 0)
            return api_err_reply(c, req, &err, "limit");
        f.limit = (size_t)v;
    }
    if (before != NULL) {
        if (parse_uint_arg(before, "before", 1, UINT64_MAX, &v, &err) < 0)
            return api_err_reply(c, req, &err, "before");
        f.before_id = v;
    }
    f.tenant = http_req_query(req, "tenant");
    const struct auth_identity *who = c->call.who;
    if (f.tenant != NULL && !auth_sees_tenant(who, f.tenant))
        return api_error(c, req, 403, "forbidden", "tenant", "tenant: %s may not see tenant %.64s",
                         who->token.sub, f.tenant);
    struct list_ctx x = {.c = c, .jobs = json_array()};
    uint64_t total = 0;
    /* A user without ?tenant= sees their tenants' jobs: one list each, merged newest first. */
    size_t nt = f.tenant == NULL && who->token.role == TOKEN_ROLE_USER ? who->token.ntenants : 0;
    for (size_t i = 0; i < (nt ? nt : 1); i++) {
        uint64_t part = 0;
        if (nt)
            f.tenant = who->token.tenants[i];
        if (nl_store_jobs_list(c->store, &f, list_one, &x, &err) < 0 ||
            nl_store_jobs_count(c->store, &f, &part, &err) < 0) {
            json_decref(x.jobs);
            return api_err_reply(c, req, &err, NULL);
        }
        total += part;
    }
    if (nt > 1)
        merge_newest(x.jobs, f.limit);
    /* total: every job the filter matches, so that a client can say how many it did not show. */
    api_reply(c, req, 200, json_pack("{s:o, s:I}", "jobs", x.jobs, "total", (json_int_t)total));
}

void api_job_show(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    if (nl_store_job_get(c->store, p->id, &rec, &err) < 0)
        api_err_reply(c, req, &err, err.code == -ENOENT ? "id" : NULL);
    else if (!auth_sees_tenant(c->call.who, rec.tenant))
        /* As if it did not exist: another tenant's job ids are not this caller's business. */
        api_error(c, req, 404, "not_found", "id", "job %llu: no such job",
                  (unsigned long long)p->id);
    else
        api_reply(c, req, 200, json_pack("{s:o}", "job", job_json(c, &rec)));
    nl_store_job_release(&rec);
}

void api_job_cancel(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    if (nl_store_job_get(c->store, p->id, &rec, &err) < 0) {
        api_err_reply(c, req, &err, err.code == -ENOENT ? "id" : NULL);
        goto out;
    }
    snprintf(c->call.tenant, sizeof(c->call.tenant), "%s", rec.tenant);
    snprintf(c->call.target, sizeof(c->call.target), "job %llu", (unsigned long long)p->id);
    if (!auth_sees_tenant(c->call.who, rec.tenant)) {
        api_error(c, req, 403, "forbidden", "id",
                  "job %llu: %s may not cancel another tenant's job", (unsigned long long)p->id,
                  c->call.who->token.sub);
        goto out;
    }
    if (nl_job_state_terminal(rec.state)) {
        api_error(c, req, 409, "conflict", "id", "job %llu: already %s", (unsigned long long)p->id,
                  nl_job_state_name(rec.state));
        goto out;
    }
    /* A job the gate keeps (held, waiting, an array job) is not the scheduler's to cancel. */
    int rc = gate_has(c->gate, p->id) ? gate_cancel(c->gate, p->id, &err)
                                      : life_cancel(c->life, p->id, &err);
    if (rc < 0) {
        api_err_reply(c, req, &err, "id");
        goto out;
    }
    if (nl_store_job_get(c->store, p->id, &rec, &err) < 0) {
        api_err_reply(c, req, &err, NULL);
        goto out;
    }
    json_t *job = job_json(c, &rec);
    json_object_set_new(job, "cancel", json_string(rc == 0 ? "cancelled" : "killing"));
    api_reply(c, req, 200, json_pack("{s:o}", "job", job));
out:
    nl_store_job_release(&rec);
}
