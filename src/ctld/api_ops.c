/* SPDX-License-Identifier: MIT */
/*
 * api_ops.c - operators' controls and history (issue 12): drain and
 * resume of nodes, reservations, and the runs that ended.
 *
 * What the scheduler needs of them (a node's drain flag, a reservation's
 * nodes, window and tenant) lives in the scheduler; what people read
 * (reason, who, when, a reservation's name) lives here, in struct
 * api_ops, and both are reloaded from the store at start and on every
 * rebuild (api_ops_load), so a restart finds drains and reservations as
 * they were. Every change is written in the request's transaction and
 * audited by api_reply like any other write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "ctld/audit.h"
#include "ctld/auth.h"
#include "ctld/ctld.h"
#include "ctld/durable.h"
#include "ctld/http.h"
#include "ctld/job_json.h"
#include "ctld/life.h"
#include "ctld/routes.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "store/store.h"
#include "store/store_ops.h"

/* Bounds on what a request may name (STYLE rule 22). */
#define OPS_REASON_MAX 256
#define OPS_NAME_MAX   64
#define OPS_NODES_MAX  4096
/* History rows per answer: default and most; a longer window pages with ?after=. */
#define OPS_HISTORY_DEFAULT 1000
#define OPS_HISTORY_MAX     100000

struct ops_drain {
    char *reason; /* NULL: not drained */
    char by[64];
    int64_t at_us;
};

struct ops_resv {
    uint64_t id;
    char name[OPS_NAME_MAX + 1];
    char tenant[NL_NAME_MAX]; /* "" = maintenance */
    int64_t start_us, end_us, created_us;
    char by[64];
    uint32_t *nodes;
    size_t nnodes;
};

struct api_ops {
    struct ops_drain *drain; /* per node */
    uint32_t nnodes;
    struct ops_resv *resv;
    size_t nresv, resv_cap;
};

static void resv_free(struct ops_resv *r)
{
    free(r->nodes);
    r->nodes = NULL;
}

void api_ops_free(struct ctld *c)
{
    struct api_ops *o = c->ops;
    if (o == NULL)
        return;
    for (uint32_t i = 0; i < o->nnodes; i++)
        free(o->drain[i].reason);
    for (size_t i = 0; i < o->nresv; i++)
        resv_free(&o->resv[i]);
    free(o->drain);
    free(o->resv);
    free(o);
    c->ops = NULL;
}

/* ---- the live records ---- */

static void drain_note(struct api_ops *o, uint32_t node, const char *reason, const char *by,
                       int64_t at_us)
{
    struct ops_drain *d = &o->drain[node];
    free(d->reason);
    d->reason = reason ? xstrdup(reason) : NULL;
    snprintf(d->by, sizeof(d->by), "%s", by ? by : "");
    d->at_us = at_us;
}

/* Add r to the scheduler and the records; err says why the scheduler refused it. */
static int resv_adopt(struct ctld *c, const struct nl_store_resv *r, struct nl_err *err)
{
    struct api_ops *o = c->ops;
    uint32_t tenant = NL_RESV_NO_TENANT;
    if (r->tenant != NULL && r->tenant[0] != '\0') {
        int t = nl_tenants_find(c->tenants, r->tenant);
        if (t < 0)
            return nl_err_set(err, -EINVAL, "tenant: no tenant %.64s", r->tenant);
        tenant = (uint32_t)t;
    }
    struct nl_resv_spec spec = {.id = r->id, .start_us = r->start_us, .end_us = r->end_us,
                                .tenant = tenant, .nodes = r->nodes, .nnodes = r->nnodes};
    int rc = nl_sched_resv_add(c->sched, &spec, err);
    if (rc < 0)
        return rc;
    if (o->nresv == o->resv_cap) {
        o->resv_cap = xgrow(o->resv_cap, o->nresv + 1);
        o->resv = xreallocarray(o->resv, o->resv_cap, sizeof(*o->resv));
    }
    struct ops_resv *x = &o->resv[o->nresv++];
    memset(x, 0, sizeof(*x));
    x->id = r->id;
    snprintf(x->name, sizeof(x->name), "%s", r->name ? r->name : "");
    snprintf(x->tenant, sizeof(x->tenant), "%s", r->tenant ? r->tenant : "");
    snprintf(x->by, sizeof(x->by), "%s", r->by ? r->by : "");
    x->start_us = r->start_us;
    x->end_us = r->end_us;
    x->created_us = r->created_us;
    x->nodes = xreallocarray(NULL, r->nnodes, sizeof(uint32_t));
    memcpy(x->nodes, r->nodes, r->nnodes * sizeof(uint32_t));
    x->nnodes = r->nnodes;
    return 0;
}

static int load_drain(const struct nl_store_drain *d, void *arg)
{
    struct ctld *c = arg;
    if (d->node >= c->ops->nnodes)
        return 0; /* the facility shrank: nothing to drain */
    nl_sched_node_set_drain(c->sched, d->node, true);
    drain_note(c->ops, d->node, d->reason, d->by, d->at_us);
    return 0;
}

static int load_resv(const struct nl_store_resv *r, void *arg)
{
    struct ctld *c = arg;
    struct nl_err err = {0};
    if (r->end_us <= c->clock.us)
        return 0; /* over: the scheduler would drop it at its next pass anyway */
    if (resv_adopt(c, r, &err) < 0)
        log_warn("reservation %llu is not applied: %s", (unsigned long long)r->id, err.msg);
    return 0;
}

int api_ops_load(struct ctld *c, struct nl_err *err)
{
    api_ops_free(c);
    struct api_ops *o = xcalloc(1, sizeof(*o));
    o->nnodes = nl_facility_nodes(c->fac);
    o->drain = xcalloc(o->nnodes ? o->nnodes : 1, sizeof(*o->drain));
    c->ops = o;
    int rc = nl_store_drains_load(c->store, load_drain, c, err);
    if (rc == 0)
        rc = nl_store_resvs_load(c->store, load_resv, c, err);
    return rc;
}

void api_ops_grow(struct ctld *c)
{
    uint32_t nn = nl_facility_nodes(c->fac);
    struct api_ops *o = c->ops;
    if (o == NULL || nn <= o->nnodes)
        return;
    o->drain = xreallocarray(o->drain, nn, sizeof(*o->drain));
    memset(o->drain + o->nnodes, 0, (nn - o->nnodes) * sizeof(*o->drain));
    o->nnodes = nn;
}

/* ---- nodes: what GET /v1/nodes adds ---- */

void api_ops_node_fields(struct ctld *c, uint32_t node, json_t *o)
{
    const struct ops_drain *d = c->ops && node < c->ops->nnodes ? &c->ops->drain[node] : NULL;
    if (d == NULL || d->reason == NULL || !nl_sched_node_drained(c->sched, node)) {
        json_object_set_new(o, "drain", json_null());
        return;
    }
    uint32_t gpus = nl_facility_node_gpus(c->fac, node);
    bool busy = false;
    for (uint32_t g = 0; g < gpus && !busy; g++)
        busy = nl_sched_gpu_owner(c->sched, node, g) != 0;
    json_object_set_new(o, "drain",
                        json_pack("{s:s, s:s, s:s, s:o}", "state", busy ? "draining" : "drained",
                                  "reason", d->reason, "by", d->by, "time",
                                  job_json_time(d->at_us)));
}

/* ---- drain and resume ---- */

/*
 * The node indexes named by body's "nodes" (an array of node names):
 * malloc'd into *out (count *n), or an answer already sent and -1.
 */
static int body_nodes(struct ctld *c, struct http_req *req, json_t *body, uint32_t **out,
                      size_t *n)
{
    json_t *list = json_object_get(body, "nodes");
    size_t len = json_array_size(list);
    if (!json_is_array(list) || len == 0 || len > OPS_NODES_MAX) {
        api_error(c, req, 400, "invalid_field", "nodes",
                  "nodes: an array of 1 to %d node names is required", OPS_NODES_MAX);
        return -1;
    }
    uint32_t *v = xreallocarray(NULL, len, sizeof(uint32_t));
    for (size_t i = 0; i < len; i++) {
        const char *name = json_string_value(json_array_get(list, i));
        int64_t node = name ? nl_facility_node_find(c->fac, name) : -ENOENT;
        if (node < 0) {
            free(v);
            if (name == NULL)
                api_error(c, req, 400, "invalid_field", "nodes", "nodes[%zu]: not a string", i);
            else
                api_error(c, req, 400, "invalid_field", "nodes", "nodes: no node named '%.64s'",
                          name);
            return -1;
        }
        v[i] = (uint32_t)node;
    }
    *out = v;
    *n = len;
    return 0;
}

/* "node NAME" or "N nodes" for the audit record's target. */
static void target_nodes(struct ctld *c, const uint32_t *nodes, size_t n)
{
    char name[96];
    if (n == 1) {
        nl_facility_node_name(c->fac, nodes[0], name, sizeof(name));
        snprintf(c->call.target, sizeof(c->call.target), "node %s", name);
    } else {
        nl_facility_node_name(c->fac, nodes[0], name, sizeof(name));
        snprintf(c->call.target, sizeof(c->call.target), "%zu nodes from %s", n, name);
    }
}

static json_t *nodes_names(struct ctld *c, const uint32_t *nodes, size_t n)
{
    json_t *a = json_array();
    char name[96];
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(nl_facility_node_name(c->fac, nodes[i], name,
                                                                     sizeof(name))));
    return a;
}

static void drain_or_resume(struct ctld *c, struct http_req *req, bool drain)
{
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    uint32_t *nodes = NULL;
    size_t n = 0;
    const char *reason = json_string_value(json_object_get(body, "reason"));
    if (drain && (reason == NULL || reason[0] == '\0' || strlen(reason) > OPS_REASON_MAX)) {
        api_error(c, req, 400, "invalid_field", "reason",
                  "reason: a text of 1 to %d bytes is required to drain", OPS_REASON_MAX);
        goto out;
    }
    if (body_nodes(c, req, body, &nodes, &n) < 0)
        goto out;
    target_nodes(c, nodes, n);
    const char *by = c->call.who->token.sub;
    struct nl_err err = {0};
    durable_txn(c->dur);
    for (size_t i = 0; i < n; i++) {
        if (drain) {
            struct nl_store_drain d = {.node = nodes[i], .reason = reason, .by = by,
                                       .at_us = c->clock.us};
            durable_check(nl_store_drain_set(c->store, &d, &err), "drain", &err);
            drain_note(c->ops, nodes[i], reason, by, c->clock.us);
        } else {
            durable_check(nl_store_drain_clear(c->store, nodes[i], &err), "resume", &err);
            drain_note(c->ops, nodes[i], NULL, NULL, 0);
        }
        nl_sched_node_set_drain(c->sched, nodes[i], drain);
    }
    if (!drain)
        life_mark_dirty(c->life); /* its GPUs are open again */
    api_reply(c, req, 200, json_pack("{s:o, s:s}", "nodes", nodes_names(c, nodes, n), "state",
                                     drain ? "drained" : "resumed"));
out:
    free(nodes);
    json_decref(body);
}

void api_nodes_drain(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    drain_or_resume(c, req, true);
}

void api_nodes_resume(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    drain_or_resume(c, req, false);
}

/* ---- reservations ---- */

static json_t *resv_json(struct ctld *c, const struct ops_resv *r)
{
    const char *state = c->clock.us < r->start_us ? "planned" : "active";
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:f, s:o, s:s, s:s, s:o}", "id",
                     (json_int_t)r->id, "name", r->name, "tenant",
                     r->tenant[0] ? json_string(r->tenant) : json_null(), "start_time",
                     job_json_time(r->start_us), "end_time", job_json_time(r->end_us),
                     "duration_s", (double)(r->end_us - r->start_us) / 1e6, "nodes",
                     nodes_names(c, r->nodes, r->nnodes), "state", state, "by", r->by,
                     "created_time", job_json_time(r->created_us));
}

void api_resv_list(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *list = json_array();
    for (size_t i = 0; c->ops && i < c->ops->nresv; i++)
        if (c->ops->resv[i].end_us > c->clock.us)
            json_array_append_new(list, resv_json(c, &c->ops->resv[i]));
    api_reply(c, req, 200, json_pack("{s:o}", "reservations", list));
}

/* A JSON number of seconds as microseconds; false when absent or not a number. */
static bool body_seconds(json_t *body, const char *key, int64_t *us)
{
    json_t *v = json_object_get(body, key);
    if (!json_is_number(v))
        return false;
    double s = json_number_value(v);
    if (!(s >= 0 && s < 1e13))
        return false;
    *us = (int64_t)(s * 1e6);
    return true;
}

void api_resv_create(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    uint32_t *nodes = NULL;
    size_t n = 0;
    struct nl_err err = {0};
    int64_t start_us = 0, dur_us = 0;
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *tenant = json_string_value(json_object_get(body, "tenant"));
    json_t *gpus = json_object_get(body, "gpus");
    if (json_object_get(body, "name") && (name == NULL || strlen(name) > OPS_NAME_MAX)) {
        api_error(c, req, 400, "invalid_field", "name", "name: a text of at most %d bytes",
                  OPS_NAME_MAX);
        goto out;
    }
    if (json_object_get(body, "tenant") && !json_is_null(json_object_get(body, "tenant")) &&
        (tenant == NULL || nl_tenants_find(c->tenants, tenant) < 0)) {
        api_error(c, req, 400, "invalid_field", "tenant", "tenant: no tenant '%.64s'",
                  tenant ? tenant : "(not a string)");
        goto out;
    }
    if (!body_seconds(body, "start", &start_us)) {
        api_error(c, req, 400, "invalid_field", "start",
                  "start: Unix seconds (a number) are required");
        goto out;
    }
    if (!body_seconds(body, "duration", &dur_us) || dur_us <= 0) {
        api_error(c, req, 400, "invalid_field", "duration",
                  "duration: seconds (a number above 0) are required");
        goto out;
    }
    if (start_us + dur_us <= c->clock.us) {
        api_error(c, req, 400, "invalid_field", "duration",
                  "duration: the reservation would end before now");
        goto out;
    }
    if ((json_object_get(body, "nodes") != NULL) == (gpus != NULL)) {
        api_error(c, req, 400, "invalid_field", "nodes", "nodes or gpus: exactly one is required");
        goto out;
    }
    if (gpus != NULL) {
        json_int_t g = json_integer_value(gpus);
        if (!json_is_integer(gpus) || g < 1 || g > (json_int_t)nl_facility_gpus(c->fac)) {
            api_error(c, req, 400, "invalid_field", "gpus", "gpus: an integer 1..%llu",
                      (unsigned long long)nl_facility_gpus(c->fac));
            goto out;
        }
        nodes = xreallocarray(NULL, OPS_NODES_MAX, sizeof(uint32_t));
        n = nl_sched_resv_pick(c->sched, (uint32_t)g, start_us, start_us + dur_us, UINT32_MAX,
                               nodes, OPS_NODES_MAX, &err);
        if (n == 0) {
            api_error(c, req, 409, "conflict", "gpus", "%s", err.msg);
            goto out;
        }
    } else if (body_nodes(c, req, body, &nodes, &n) < 0) {
        goto out;
    }
    struct nl_store_resv r = {.name = name ? name : "",
                              .tenant = tenant,
                              .start_us = start_us,
                              .end_us = start_us + dur_us,
                              .nodes = nodes,
                              .nnodes = n,
                              .by = c->call.who->token.sub,
                              .created_us = c->clock.us};
    if (tenant)
        snprintf(c->call.tenant, sizeof(c->call.tenant), "%s", tenant);
    durable_txn(c->dur);
    int rc = nl_store_resv_insert(c->store, &r, &r.id, &err);
    if (rc < 0) {
        api_err_reply(c, req, &err, NULL);
        goto out;
    }
    snprintf(c->call.target, sizeof(c->call.target), "reservation %llu",
             (unsigned long long)r.id);
    if (resv_adopt(c, &r, &err) < 0) {
        /* Overlap or a bad node: the row goes again, in the same transaction. */
        struct nl_err derr = {0};
        durable_check(nl_store_resv_delete(c->store, r.id, &derr), "reservation", &derr);
        api_error(c, req, err.code == -EBUSY ? 409 : 400,
                  err.code == -EBUSY ? "conflict" : "invalid_field", "nodes", "%s", err.msg);
        goto out;
    }
    life_mark_dirty(c->life);
    api_reply(c, req, 201,
              json_pack("{s:o}", "reservation", resv_json(c, &c->ops->resv[c->ops->nresv - 1])));
out:
    free(nodes);
    json_decref(body);
}

void api_resv_delete(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    struct api_ops *o = c->ops;
    snprintf(c->call.target, sizeof(c->call.target), "reservation %llu",
             (unsigned long long)p->id);
    size_t i = 0;
    while (i < o->nresv && o->resv[i].id != p->id)
        i++;
    if (i == o->nresv || o->resv[i].end_us <= c->clock.us)
        return api_error(c, req, 404, "not_found", "id", "reservation %llu: no such reservation",
                         (unsigned long long)p->id);
    struct nl_err err = {0};
    durable_txn(c->dur);
    int rc = nl_store_resv_delete(c->store, p->id, &err);
    if (rc < 0)
        return api_err_reply(c, req, &err, NULL);
    nl_sched_resv_del(c->sched, p->id);
    json_t *gone = resv_json(c, &o->resv[i]);
    resv_free(&o->resv[i]);
    o->resv[i] = o->resv[--o->nresv];
    life_mark_dirty(c->life);
    api_reply(c, req, 200, json_pack("{s:o}", "reservation", gone));
}

/* ---- history ---- */

/*
 * The history's answer is written as JSON text row by row, not built as a
 * jansson tree and dumped: `nordlys history --all` reads every run of a
 * window, and the tree (an object, a hash table and 15 values per run, and
 * each time printed through printf's %g) cost more than the store's read.
 */
struct hist_ctx {
    struct ctld *c;
    char *buf;
    size_t len, cap;
    size_t rows;
    int64_t last_end;
    uint64_t last_job;
    uint32_t last_run;
};

static void hist_put(struct hist_ctx *x, const char *text, size_t n)
{
    if (x->len + n + 1 > x->cap) {
        x->cap = xgrow(x->cap, x->len + n + 1);
        x->buf = xrealloc(x->buf, x->cap);
    }
    memcpy(x->buf + x->len, text, n);
    x->len += n;
    x->buf[x->len] = '\0';
}

static void hist_puts(struct hist_ctx *x, const char *text)
{
    hist_put(x, text, strlen(text));
}

/* ,"key":"escaped text" (or null) */
static void hist_str(struct hist_ctx *x, const char *key, const char *v)
{
    hist_puts(x, key);
    if (v == NULL)
        hist_puts(x, "null");
    else
        audit_json_string(&x->buf, &x->len, &x->cap, v, strlen(v));
}

static void hist_int(struct hist_ctx *x, const char *key, long long v)
{
    char b[32];
    hist_puts(x, key);
    hist_put(x, b, (size_t)snprintf(b, sizeof(b), "%lld", v));
}

/*
 * ,"key":seconds from microseconds, exactly: "1795974422.408" (what
 * job_json_time's double prints as), null for 0 unless zero_ok.
 */
static void hist_secs(struct hist_ctx *x, const char *key, int64_t us, bool zero_ok)
{
    char b[40];
    hist_puts(x, key);
    if (us <= 0 && !(zero_ok && us == 0)) {
        hist_puts(x, "null");
        return;
    }
    int n = snprintf(b, sizeof(b), "%lld.%06lld", (long long)(us / 1000000),
                     (long long)(us % 1000000));
    while (n > 0 && b[n - 1] == '0' && b[n - 2] != '.')
        n--;
    hist_put(x, b, (size_t)n);
}

static void hist_nodes(struct hist_ctx *x, const char *text)
{
    char name[96];
    bool first = true;
    hist_puts(x, ",\"nodes\":[");
    for (const char *p = text; p && *p;) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p)
            break;
        if (v < nl_facility_nodes(x->c->fac)) {
            nl_facility_node_name(x->c->fac, (uint32_t)v, name, sizeof(name));
            hist_puts(x, first ? "" : ",");
            audit_json_string(&x->buf, &x->len, &x->cap, name, strlen(name));
            first = false;
        }
        p = *end == ',' ? end + 1 : end;
    }
    hist_puts(x, "]");
}

static int hist_row(const struct nl_store_run *r, void *arg)
{
    struct hist_ctx *x = arg;
    hist_int(x, x->rows ? ",{\"id\":" : "{\"id\":", (long long)r->job);
    hist_int(x, ",\"run\":", (long long)r->run);
    hist_str(x, ",\"name\":", r->name ? r->name : "");
    hist_str(x, ",\"tenant\":", r->tenant ? r->tenant : "");
    hist_str(x, ",\"user\":", r->user ? r->user : "");
    hist_int(x, ",\"gpus\":", (long long)r->gpus);
    hist_str(x, ",\"state\":", r->state ? r->state : "");
    hist_secs(x, ",\"submit_time\":", r->submit_us, false);
    hist_secs(x, ",\"start_time\":", r->start_us, false);
    hist_secs(x, ",\"end_time\":", r->end_us, false);
    hist_secs(x, ",\"elapsed_s\":", r->start_us ? r->end_us - r->start_us : 0, true);
    if (r->has_exit)
        hist_int(x, ",\"exit_code\":", r->exit_code);
    else
        hist_puts(x, ",\"exit_code\":null");
    if (r->has_exit && r->exit_signal)
        hist_int(x, ",\"exit_signal\":", r->exit_signal);
    else
        hist_puts(x, ",\"exit_signal\":null");
    hist_nodes(x, r->nodes);
    hist_str(x, ",\"reason\":", r->reason);
    hist_puts(x, "}");
    x->rows++;
    x->last_end = r->end_us;
    x->last_job = r->job;
    x->last_run = r->run;
    return 0;
}

/* Unix seconds (a decimal, fractions allowed) as microseconds. */
static int parse_seconds(const char *text, const char *name, int64_t *us, struct nl_err *err)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (text[0] == '\0' || *end != '\0' || !(v >= 0 && v < 1e13))
        return nl_err_set(err, -EINVAL, "%s: '%.40s' is not Unix seconds", name, text);
    *us = (int64_t)(v * 1e6);
    return 0;
}

/* ",A,B," from "A,B" (each an end state, PREEMPTED or REQUEUED), in buf. */
static int parse_run_states(const char *text, char *buf, size_t size, struct nl_err *err)
{
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", text);
    size_t k = (size_t)snprintf(buf, size, ",");
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        enum nl_job_state s;
        for (char *q = tok; *q; q++)
            *q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
        bool ok = strcmp(tok, "PREEMPTED") == 0 || strcmp(tok, "REQUEUED") == 0 ||
                  (nl_job_state_parse(tok, &s) == 0 && nl_job_state_terminal(s));
        if (!ok)
            return nl_err_set(err, -EINVAL,
                              "state: '%.40s' is not an end state (COMPLETED, FAILED, CANCELLED,"
                              " TIMEOUT, NODE_FAIL, PREEMPTED, REQUEUED)",
                              tok);
        k += (size_t)snprintf(buf + k, size > k ? size - k : 0, "%s,", tok);
    }
    if (k <= 1 || k >= size)
        return nl_err_set(err, -EINVAL, "state: empty or too long");
    return 0;
}

void api_history(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    struct nl_store_history_filter f = {.since_us = 0, .until_us = INT64_MAX,
                                        .limit = OPS_HISTORY_DEFAULT};
    struct nl_err err = {0};
    const char *since = http_req_query(req, "since"), *until = http_req_query(req, "until");
    const char *state = http_req_query(req, "state"), *limit = http_req_query(req, "limit");
    const char *after = http_req_query(req, "after"), *tenant = http_req_query(req, "tenant");
    char states[256], tenants[1024];
    if (since && parse_seconds(since, "since", &f.since_us, &err) < 0)
        return api_err_reply(c, req, &err, "since");
    if (until && parse_seconds(until, "until", &f.until_us, &err) < 0)
        return api_err_reply(c, req, &err, "until");
    if (state) {
        if (parse_run_states(state, states, sizeof(states), &err) < 0)
            return api_err_reply(c, req, &err, "state");
        f.states = states;
    }
    if (limit) {
        char *end = NULL;
        unsigned long long v = strtoull(limit, &end, 10);
        if (limit[0] < '0' || limit[0] > '9' || *end != '\0' || v < 1 || v > OPS_HISTORY_MAX)
            return api_error(c, req, 400, "invalid_field", "limit", "limit: '%.40s' is not 1..%d",
                             limit, OPS_HISTORY_MAX);
        f.limit = (size_t)v;
    }
    if (after) {
        long long e;
        unsigned long long j;
        unsigned r;
        char tail;
        if (sscanf(after, "%lld.%llu.%u%c", &e, &j, &r, &tail) != 3)
            return api_error(c, req, 400, "invalid_field", "after",
                             "after: '%.40s' is not a cursor from an earlier answer", after);
        f.has_after = true;
        f.after_end_us = e;
        f.after_job = j;
        f.after_run = r;
    }
    f.user = http_req_query(req, "user");
    const struct auth_identity *who = c->call.who;
    if (tenant != NULL) {
        if (!auth_sees_tenant(who, tenant))
            return api_error(c, req, 403, "forbidden", "tenant",
                             "tenant: %s may not see tenant %.64s", who->token.sub, tenant);
        snprintf(tenants, sizeof(tenants), ",%s,", tenant);
        f.tenants = tenants;
    } else if (who->token.role == TOKEN_ROLE_USER) {
        /* A user sees their tenants' runs only. */
        size_t k = (size_t)snprintf(tenants, sizeof(tenants), ",");
        for (size_t i = 0; i < who->token.ntenants && k < sizeof(tenants); i++)
            k += (size_t)snprintf(tenants + k, sizeof(tenants) - k, "%s,", who->token.tenants[i]);
        f.tenants = tenants;
    }
    struct hist_ctx x = {.c = c};
    hist_puts(&x, "{\"runs\":[");
    if (nl_store_history(c->store, &f, hist_row, &x, &err) < 0) {
        free(x.buf);
        return api_err_reply(c, req, &err, NULL);
    }
    hist_puts(&x, "],\"next\":");
    if (x.rows == f.limit) {
        char cursor[80];
        snprintf(cursor, sizeof(cursor), "\"%lld.%llu.%u\"", (long long)x.last_end,
                 (unsigned long long)x.last_job, x.last_run);
        hist_puts(&x, cursor);
    } else {
        hist_puts(&x, "null");
    }
    hist_puts(&x, "}");
    api_reply_json_text(c, req, 200, x.buf);
}

/* ---- estimated starts: the top of the queue in the scheduler's order ---- */

#define OPS_TOP_DEFAULT NL_SCHED_ESTIMATES_DEFAULT
#define OPS_TOP_MAX     10000

void api_estimates(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    const char *top = http_req_query(req, "top");
    size_t n = OPS_TOP_DEFAULT;
    if (top != NULL) {
        char *end = NULL;
        unsigned long long v = strtoull(top, &end, 10);
        if (top[0] < '0' || top[0] > '9' || *end != '\0' || v < 1 || v > OPS_TOP_MAX)
            return api_error(c, req, 400, "invalid_field", "top", "top: '%.40s' is not 1..%d", top,
                             OPS_TOP_MAX);
        n = (size_t)v;
    }
    uint64_t *ids = xreallocarray(NULL, n, sizeof(uint64_t));
    size_t k = nl_sched_pending_top(c->sched, n, ids);
    json_t *jobs = json_array();
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    for (size_t i = 0; i < k; i++) {
        struct nl_err err = {0};
        /* Only the caller's tenants; an operator or admin sees every job. */
        if (nl_store_job_get(c->store, ids[i], &rec, &err) < 0 ||
            !auth_sees_tenant(c->call.who, rec.tenant))
            continue;
        json_t *o = job_json(c, &rec);
        json_object_set_new(o, "rank", json_integer((json_int_t)i + 1));
        json_array_append_new(jobs, o);
    }
    nl_store_job_release(&rec);
    free(ids);
    api_reply(c, req, 200, json_pack("{s:o, s:I}", "jobs", jobs, "estimated",
                                     (json_int_t)nl_sched_config(c->sched)->estimates));
}
