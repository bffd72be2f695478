/* SPDX-License-Identifier: MIT */
/*
 * api_events.c - GET /v1/jobs/{id}/events: a job's state history (issue
 * 14), oldest first.
 *
 * The history is put together from what the store keeps anyway, so that a
 * submission and a start write nothing more for it: the job's row (when it
 * was submitted; the run now going on, and on which nodes), its ended runs
 * (job_runs: each run's start, nodes and how it ended: PREEMPTED,
 * REQUEUED, or the job's end state and reason) and the rare events only
 * job_events records (held, released, a dependency met). A user sees only
 * their tenants' jobs; another tenant's job is 404, as for GET /v1/jobs/{id}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "common/xalloc.h"
#include "ctld/auth.h"
#include "ctld/ctld.h"
#include "ctld/job_json.h"
#include "ctld/routes.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/job.h"
#include "store/store.h"
#include "store/store_events.h"
#include "store/store_ops.h"

/* The events as they are found; sorted by time (then found order) at the end. */
struct event {
    int64_t at_us;
    size_t seq;
    json_t *o; /* owned */
};

struct events_ctx {
    const struct ctld *c;
    struct event *v;
    size_t n, cap;
    uint32_t started; /* runs with a "started" event so far */
};

/* Add an event of kind at at_us with fields (taken; NULL for none). */
static void event_add(struct events_ctx *x, int64_t at_us, const char *kind, json_t *fields)
{
    json_t *e = fields != NULL ? fields : json_object();
    json_object_set_new(e, "time", job_json_time(at_us));
    json_object_set_new(e, "kind", json_string(kind));
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 16;
        x->v = xrealloc(x->v, x->cap * sizeof(*x->v));
    }
    x->v[x->n] = (struct event){.at_us = at_us, .seq = x->n, .o = e};
    x->n++;
}

static int by_time(const void *a, const void *b)
{
    const struct event *p = a, *q = b;
    if (p->at_us != q->at_us)
        return p->at_us < q->at_us ? -1 : 1;
    return (p->seq > q->seq) - (p->seq < q->seq);
}

/* Node names of "0,1,5" (node indexes, as job_runs keeps them). */
static json_t *node_names(const struct ctld *c, const char *text)
{
    json_t *a = json_array();
    uint32_t nn = nl_facility_nodes(c->fac);
    for (const char *p = text; p != NULL && *p;) {
        char *end, name[96];
        unsigned long v = strtoul(p, &end, 10);
        if (end == p)
            break;
        if (v < nn)
            json_array_append_new(
                    a, json_string(nl_facility_node_name(c->fac, (uint32_t)v, name, sizeof(name))));
        p = *end == ',' ? end + 1 : end;
    }
    return a;
}

static int run_event(const struct nl_store_run *r, void *arg)
{
    struct events_ctx *x = arg;
    if (r->start_us > 0) {
        x->started++;
        event_add(x, r->start_us, "started",
                  json_pack("{s:I, s:o}", "run", (json_int_t)r->run, "nodes",
                            node_names(x->c, r->nodes)));
    }
    /* How the run ended: the job waited again (preempted, requeued) or ended. */
    const char *kind = strcmp(r->state, "PREEMPTED") == 0  ? "preempted"
                       : strcmp(r->state, "REQUEUED") == 0 ? "requeued"
                                                           : "ended";
    json_t *f = json_pack("{s:I}", "run", (json_int_t)r->run);
    if (strcmp(kind, "ended") == 0)
        json_object_set_new(f, "state", json_string(r->state));
    if (r->has_exit) {
        json_object_set_new(f, "exit_code", json_integer(r->exit_code));
        json_object_set_new(f, "exit_signal", json_integer(r->exit_signal));
    }
    if (r->reason != NULL)
        json_object_set_new(f, "reason", json_string(r->reason));
    event_add(x, r->end_us, kind, f);
    return 0;
}

static int stored_event(const struct nl_store_event *e, void *arg)
{
    struct events_ctx *x = arg;
    event_add(x, e->at_us, e->kind, e->detail[0] ? json_pack("{s:s}", "detail", e->detail) : NULL);
    return 0;
}

void api_job_events(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    struct events_ctx x = {.c = c};
    if (nl_store_job_get(c->store, p->id, &rec, &err) < 0) {
        api_err_reply(c, req, &err, err.code == -ENOENT ? "id" : NULL);
        goto out;
    }
    if (!auth_sees_tenant(c->call.who, rec.tenant)) {
        api_error(c, req, 404, "not_found", "id", "job %llu: no such job",
                  (unsigned long long)p->id);
        goto out;
    }
    event_add(&x, rec.submit_us, "submitted", NULL);
    if (nl_store_job_runs(c->store, p->id, run_event, &x, &err) < 0 ||
        nl_store_events_load(c->store, p->id, stored_event, &x, &err) < 0) {
        api_err_reply(c, req, &err, NULL);
        goto out;
    }
    /* The run going on now: in the jobs row only, until it ends. */
    if ((rec.state == NL_JOB_RUNNING || rec.state == NL_JOB_PREEMPTING) && rec.start_us > 0 &&
        rec.runs > x.started) {
        json_t *nodes = json_array();
        for (size_t i = 0; i < rec.nalloc; i++) {
            char name[96];
            json_array_append_new(nodes, json_string(nl_facility_node_name(
                                                 c->fac, rec.alloc[i].node, name, sizeof(name))));
        }
        event_add(&x, rec.start_us, "started",
                  json_pack("{s:I, s:o}", "run", (json_int_t)rec.runs, "nodes", nodes));
    }
    qsort(x.v, x.n, sizeof(*x.v), by_time);
    json_t *events = json_array();
    for (size_t i = 0; i < x.n; i++)
        json_array_append_new(events, x.v[i].o);
    x.n = 0;
    api_reply(c, req, 200,
              json_pack("{s:I, s:s, s:o}", "id", (json_int_t)rec.id, "state",
                        nl_job_state_name(rec.state), "events", events));
out:
    for (size_t i = 0; i < x.n; i++)
        json_decref(x.v[i].o);
    free(x.v);
    nl_store_job_release(&rec);
}
