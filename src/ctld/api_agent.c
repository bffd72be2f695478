/* SPDX-License-Identifier: MIT */
/* api_agent.c - POST /v1/agent/register and /v1/agent/sync: HTTP around agents.h. */
#include <errno.h>

#include "api.h"
#include "ctld/agents.h"
#include "ctld/ctld.h"
#include "ctld/fault.h"
#include "ctld/http.h"
#include "ctld/routes.h"

void api_agent_register(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    json_t *answer = NULL;
    struct fault f = {0};
    int rc = agents_register(c->agents, body, http_req_peer(req), &answer, &f);
    if (rc == -EBUSY)
        api_error(c, req, 409, f.code, f.field, "%s", f.msg);
    else if (rc < 0)
        api_fault_reply(c, req, &f);
    else
        api_reply(c, req, 200, answer);
    json_decref(body);
}

void api_agent_sync(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    json_t *answer = NULL;
    struct fault f = {0};
    int rc = agents_sync(c->agents, body, http_req_peer(req), &answer, &f);
    if (rc == -ENOENT)
        api_error(c, req, 404, f.code, f.field, "%s", f.msg);
    else if (rc < 0)
        api_fault_reply(c, req, &f);
    else
        api_reply(c, req, 200, answer);
    json_decref(body);
}
