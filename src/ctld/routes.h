/* SPDX-License-Identifier: MIT */
/*
 * routes.h - the route table of docs/api.md and its matcher: from a method
 * and a path to a handler, the role it needs and its body limit.
 */
#ifndef NL_CTLD_ROUTES_H
#define NL_CTLD_ROUTES_H

#include <stddef.h>
#include <stdint.h>

struct ctld;
struct http_req;

#include "common/proto_limits.h"

/*
 * Named limits on what clients may send (STYLE rule 22). A job request is
 * a few hundred bytes, or up to a few hundred KiB with a batch script and
 * the submitter's environment (NL_PROTO_JOB_REQUEST_MAX says why). An agent's body is bounded by
 * the protocol's table (common/proto_limits.h), which the agent uses too.
 */
#define CTLD_JOB_BODY_MAX       NL_PROTO_JOB_REQUEST_MAX
#define CTLD_AGENT_BODY_MAX     NL_PROTO_BODY_MAX
#define CTLD_TOKEN_BODY_MAX     (256u * 1024u) /* an agent token may list many nodes */
#define CTLD_POWER_BODY_MAX     1024u /* {"budget_mw": 180} */
#define CTLD_LIST_LIMIT_DEFAULT 1000
#define CTLD_LIST_LIMIT_MAX     100000

#define CTLD_CONTROL_BODY_MAX 4096u /* a signal's body: {"signal": "USR1"} */
#define CTLD_OPS_BODY_MAX       (256u * 1024u) /* a drain or reservation may name 4,096 nodes */

#define CTLD_ROUTES_MAX 48

enum api_role {
    ROLE_PUBLIC = 0, /* health and metrics */
    ROLE_USER,       /* user, operator or admin token; tenants checked by the handler */
    ROLE_READER,     /* any valid token, agents too (an emulating agent learns node names) */
    ROLE_OPERATOR,   /* operator or admin token */
    ROLE_AGENT,      /* an agent token only; its nodes checked by the agent protocol */
    ROLE_ADMIN,
};

struct route_params {
    uint64_t id;  /* the {id} segment, when the pattern has one */
    char bad[48]; /* ROUTE_BAD_ID: the segment that is not an id (cut to fit), for the 400 */
};

typedef void (*route_fn)(struct ctld *c, struct http_req *req, const struct route_params *p);

struct route {
    const char *method;
    const char *pattern; /* "/v1/jobs/{id}": {id} matches a decimal job id */
    route_fn fn;
    enum api_role role;
    size_t body_max; /* 0: no body expected (anything sent is refused as too large) */
};

enum route_result {
    ROUTE_FOUND = 0,
    ROUTE_NO_PATH,   /* 404 */
    ROUTE_NO_METHOD, /* 405: the path exists with other methods */
    ROUTE_BAD_ID,    /* 400: {id} is not a canonical id ("099", "99abc"); p->bad names it */
};

/* Match method and path against table (n entries); *index and *p set when found, p->bad on
 * ROUTE_BAD_ID. */
enum route_result routes_match(const struct route *table, size_t n, const char *method,
                               const char *path, size_t *index, struct route_params *p);

#endif
