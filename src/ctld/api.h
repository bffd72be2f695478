/* SPDX-License-Identifier: MIT */
/*
 * api.h - the HTTP API's handlers (api*.c): from a routed request to the
 * modules below, and the error objects of docs/api.md. The top layer with
 * the composition root: it reads struct ctld (ctld.h) to reach the modules
 * and calls none of ctld.c's functions.
 */
#ifndef NL_CTLD_API_H
#define NL_CTLD_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct ctld;
struct fault;
struct http_req;
struct nl_err;
struct route_params;

struct route;

/* The route table of docs/api.md; *n gets its length. Borrowed, static. */
const struct route *api_routes(size_t *n);
/* Body limit of the route for method and path (http_ops.body_limit). */
size_t api_body_limit(void *arg, const char *method, const char *path);
/* Route, authenticate, authorise and call the handler (http_ops.dispatch). */
void api_dispatch(void *arg, struct http_req *req);
/* Record the answer's latency by route (http_ops.answered). */
void api_answered(void *arg, const struct http_req *req, double seconds);
/* Answer with a JSON body (takes ownership of body); held if the iteration has writes. */
void api_reply(struct ctld *c, struct http_req *req, unsigned status, json_t *body);
/* Answer with the error object of docs/api.md; field may be NULL. */
void api_error(struct ctld *c, struct http_req *req, unsigned status, const char *code,
               const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Answer with f: 413 for too_large, else 400. */
void api_fault_reply(struct ctld *c, struct http_req *req, const struct fault *f);
/* Map err's code through the one status table; field may be NULL. */
void api_err_reply(struct ctld *c, struct http_req *req, const struct nl_err *err,
                   const char *field);
/* Parse the body as a JSON object; on failure answers 400/413 and returns NULL. */
json_t *api_body_object(struct ctld *c, struct http_req *req);

/* ---- api_info.c: read-only endpoints ---- */

struct route_params;
void api_facility(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_nodes(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_tenants(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_usage(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_health(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_metrics(struct ctld *c, struct http_req *req, const struct route_params *p);

/* ---- api_racks.c: the rack map's numbers ---- */

void api_racks(struct ctld *c, struct http_req *req, const struct route_params *p);
/* ---- api_events.c: a job's state history; api_queue.c: waits by tier ---- */

void api_job_events(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_queue(struct ctld *c, struct http_req *req, const struct route_params *p);

/* ---- api_power.c ---- */

void api_power(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_power_budget(struct ctld *c, struct http_req *req, const struct route_params *p);
/* PUT /v1/facility/limit: one rack's, row's, loop's or site's power limit (operator). */
void api_power_limit(struct ctld *c, struct http_req *req, const struct route_params *p);
/* Limits set through the API, back into a new scheduler (start and rebuild). */
int api_power_restore(struct ctld *c, struct nl_err *err);
void api_energy(struct ctld *c, struct http_req *req, const struct route_params *p);
struct textbuf;
/* The power families of /metrics: measured draw, PUE, caps, per site and per tenant. */
void api_power_metrics(struct ctld *c, struct textbuf *b);

/* ---- api_jobs.c ---- */

void api_job_submit(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_jobs_list(struct ctld *c, struct http_req *req, const struct route_params *p);
/* ?state=PENDING,RUNNING into a bit set of 1 << state; -EINVAL naming the bad name (api_jobs.c). */
struct nl_err;
int api_parse_states(const char *text, unsigned *states, struct nl_err *err);
void api_job_show(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_job_cancel(struct ctld *c, struct http_req *req, const struct route_params *p);

/* ---- api_control.c (issue 12) ---- */

void api_job_requeue(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_job_update(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_job_signal(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_jobs_cancel(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_job_output(struct ctld *c, struct http_req *req, const struct route_params *p);

/* ---- api_gate.c: holds, dependencies, arrays (issue 12) ---- */

struct gate_req;
/*
 * The gate's submission fields of body (borrowed: r's strings point into
 * it): 0, or -EINVAL with err and *field naming the bad field.
 */
int api_gate_fields(json_t *body, struct gate_req *r, struct nl_err *err, const char **field);
void api_job_hold(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_job_release(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_job_tasks(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_task_cancel(struct ctld *c, struct http_req *req, const struct route_params *p);

/* ---- api_security.c ---- */

void api_token_create(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_audit(struct ctld *c, struct http_req *req, const struct route_params *p);

/* ---- api_ops.c: drain, reservations, history (issue 12) ---- */

/* (Re)load drained nodes and reservations from the store into c->ops and the scheduler. */
int api_ops_load(struct ctld *c, struct nl_err *err);
void api_ops_free(struct ctld *c);
/* Add node's "drain" object (or null) to its JSON object o. */
void api_ops_node_fields(struct ctld *c, uint32_t node, json_t *o);
void api_nodes_drain(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_nodes_resume(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_resv_list(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_resv_create(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_resv_delete(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_history(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_estimates(struct ctld *c, struct http_req *req, const struct route_params *p);

/* ---- api_agent.c ---- */

void api_agent_register(struct ctld *c, struct http_req *req, const struct route_params *p);
void api_agent_sync(struct ctld *c, struct http_req *req, const struct route_params *p);

#endif
