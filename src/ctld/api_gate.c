/* SPDX-License-Identifier: MIT */
/*
 * api_gate.c - the gate's part of the API (issue 12): the submission
 * fields "array", "dependency" and "hold"; POST and DELETE
 * /v1/jobs/{id}/hold (hold, release); GET /v1/jobs/{id}/tasks?index=N
 * (one task of an array job, made or still to be made).
 *
 * Tenants are checked as for cancel: a user touches only jobs of their
 * own tenants, and another tenant's job answers 403 naming the caller.
 * Hold and release are audited like cancel (api_reply's record, with the
 * target and tenant set here).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ctld/auth.h"
#include "ctld/ctld.h"
#include "ctld/gate.h"
#include "ctld/http.h"
#include "ctld/job_json.h"
#include "ctld/life.h"
#include "ctld/routes.h"
#include "nordlys/err.h"
#include "nordlys/job.h"
#include "store/store.h"

int api_gate_fields(json_t *body, struct gate_req *r, struct nl_err *err, const char **field)
{
    *r = (struct gate_req){0};
    static const char *const names[] = {"array", "dependency"};
    const char **dst[] = {&r->array, &r->dependency};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, names[i]);
        if (v == NULL || json_is_null(v))
            continue;
        *field = names[i];
        if (!json_is_string(v))
            return nl_err_set(err, -EINVAL, "%s: must be a string", names[i]);
        *dst[i] = json_string_value(v);
    }
    json_t *h = json_object_get(body, "hold");
    if (h != NULL && !json_is_null(h)) {
        *field = "hold";
        if (!json_is_boolean(h))
            return nl_err_set(err, -EINVAL, "hold: must be true or false");
        r->held = json_is_true(h);
    }
    *field = NULL;
    return 0;
}

/*
 * The job of a hold/release/tasks request, when the caller may act on it:
 * 0 with rec filled, or answered (404, 403) and -1. verb names the action
 * in the 403 ("hold").
 */
static int owned_job(struct ctld *c, struct http_req *req, uint64_t id, const char *verb,
                     struct nl_store_job *rec)
{
    struct nl_err err = {0};
    if (nl_store_job_get(c->store, id, rec, &err) < 0) {
        api_err_reply(c, req, &err, err.code == -ENOENT ? "id" : NULL);
        return -1;
    }
    snprintf(c->call.tenant, sizeof(c->call.tenant), "%s", rec->tenant);
    snprintf(c->call.target, sizeof(c->call.target), "job %llu", (unsigned long long)id);
    if (!auth_sees_tenant(c->call.who, rec->tenant) && strcmp(verb, "see") == 0) {
        /* As show does: another tenant's job ids are not this caller's business. */
        api_error(c, req, 404, "not_found", "id", "job %llu: no such job", (unsigned long long)id);
        return -1;
    }
    if (!auth_sees_tenant(c->call.who, rec->tenant)) {
        api_error(c, req, 403, "forbidden", "id", "job %llu: %s may not %s another tenant's job",
                  (unsigned long long)id, c->call.who->token.sub, verb);
        return -1;
    }
    return 0;
}

/* Hold or release p->id, and answer with the job. */
static void hold_or_release(struct ctld *c, struct http_req *req, const struct route_params *p,
                            bool hold)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    if (owned_job(c, req, p->id, hold ? "hold" : "release", &rec) < 0)
        goto out;
    int rc = hold ? gate_hold(c->gate, p->id, &err) : gate_release(c->gate, p->id, &err);
    if (rc < 0) {
        api_err_reply(c, req, &err, "id");
        goto out;
    }
    if (nl_store_job_get(c->store, p->id, &rec, &err) < 0) {
        api_err_reply(c, req, &err, NULL);
        goto out;
    }
    api_reply(c, req, 200, json_pack("{s:o}", "job", job_json(c, &rec)));
out:
    nl_store_job_release(&rec);
}

void api_job_hold(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    hold_or_release(c, req, p, true);
}

void api_job_release(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    hold_or_release(c, req, p, false);
}

/* A task still to be made: what can be said of it (its array's template, its index). */
static json_t *unmade_task(struct ctld *c, const struct nl_store_job *array, uint32_t index)
{
    json_t *o = job_json(c, array);
    json_object_set_new(o, "id", json_null());
    json_object_set_new(o, "array_job_id", json_integer((json_int_t)array->id));
    json_object_set_new(o, "array_task_id", json_integer(index));
    json_object_set_new(o, "array", json_null());
    json_object_set_new(o, "reason", json_string("ArrayTasks"));
    json_object_set_new(o, "reason_text",
                        json_string("not made yet: its array makes tasks as earlier ones end"));
    return o;
}

/* ?index=N of a tasks request: 0 and *out, or answered 400 and -1. */
static int task_index(struct ctld *c, struct http_req *req, uint32_t *out)
{
    const char *index = http_req_query(req, "index");
    char *end = NULL;
    unsigned long v = index ? strtoul(index, &end, 10) : 0;
    if (index == NULL || index[0] < '0' || index[0] > '9' || *end != '\0' || v > UINT32_MAX) {
        api_error(c, req, 400, "invalid_field", "index", "index: '%.40s' is not an array index",
                  index ? index : "");
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

void api_task_cancel(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    uint32_t index = 0;
    uint64_t id = 0;
    if (task_index(c, req, &index) < 0 || owned_job(c, req, p->id, "cancel", &rec) < 0)
        goto out;
    snprintf(c->call.target, sizeof(c->call.target), "job %llu_%u", (unsigned long long)p->id,
             index);
    int rc = gate_task_find(c->gate, p->id, index, &id, &err);
    if (rc == 1) {
        /* Not made yet: made now, CANCELLED. */
        rc = gate_cancel_unmade(c->gate, p->id, index, &id, &err);
    } else if (rc == 0) {
        if (nl_store_job_get(c->store, id, &rec, &err) < 0) {
            api_err_reply(c, req, &err, NULL);
            goto out;
        }
        if (nl_job_state_terminal(rec.state)) {
            api_error(c, req, 409, "conflict", "index", "job %llu_%u: already %s",
                      (unsigned long long)p->id, index, nl_job_state_name(rec.state));
            goto out;
        }
        rc = gate_has(c->gate, id) ? gate_cancel(c->gate, id, &err)
                                   : life_cancel(c->life, id, &err);
    }
    if (rc < 0) {
        api_err_reply(c, req, &err, "index");
        goto out;
    }
    if (nl_store_job_get(c->store, id, &rec, &err) < 0) {
        api_err_reply(c, req, &err, NULL);
        goto out;
    }
    json_t *job = job_json(c, &rec);
    json_object_set_new(job, "cancel", json_string(rc == 0 ? "cancelled" : "killing"));
    api_reply(c, req, 200, json_pack("{s:o}", "job", job));
out:
    nl_store_job_release(&rec);
}

void api_job_tasks(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    struct nl_store_job rec, task;
    nl_store_job_init(&rec);
    nl_store_job_init(&task);
    struct nl_err err = {0};
    uint32_t v = 0;
    if (task_index(c, req, &v) < 0)
        goto out;
    if (owned_job(c, req, p->id, "see", &rec) < 0)
        goto out;
    uint64_t id = 0;
    int rc = gate_task_find(c->gate, p->id, (uint32_t)v, &id, &err);
    if (rc < 0)
        api_err_reply(c, req, &err, "index");
    else if (rc == 1)
        api_reply(c, req, 200, json_pack("{s:o}", "job", unmade_task(c, &rec, (uint32_t)v)));
    else if (nl_store_job_get(c->store, id, &task, &err) < 0)
        api_err_reply(c, req, &err, NULL);
    else
        api_reply(c, req, 200, json_pack("{s:o}", "job", job_json(c, &task)));
out:
    nl_store_job_release(&task);
    nl_store_job_release(&rec);
}
