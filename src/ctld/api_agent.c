/* SPDX-License-Identifier: MIT */
/*
 * api_agent.c - POST /v1/agent/register and /v1/agent/sync: HTTP around
 * agents.h. The agent's token (auth_check let only agent tokens through)
 * decides which nodes it may speak for; its agent id decides nothing.
 */
#include <errno.h>
#include <stdio.h>

#include "api.h"
#include "ctld/agents.h"
#include "ctld/auth.h"
#include "ctld/ctld.h"
#include "ctld/fault.h"
#include "ctld/http.h"
#include "ctld/routes.h"

static bool token_covers(void *arg, const char *node)
{
    return token_covers_node(arg, node);
}

static void reply(struct ctld *c, struct http_req *req, int rc, json_t *answer,
                  const struct fault *f)
{
    if (rc == -EBUSY)
        api_error(c, req, 409, f->code, f->field, "%s", f->msg);
    else if (rc == -ENOENT)
        api_error(c, req, 404, f->code, f->field, "%s", f->msg);
    else if (rc == -EACCES)
        api_error(c, req, 403, "forbidden", f->field, "%s", f->msg);
    else if (rc < 0)
        api_fault_reply(c, req, f);
    else
        api_reply(c, req, 200, answer);
}

typedef int (*agent_call_fn)(struct agents *a, const json_t *body, const struct agents_caller *who,
                             json_t **answer, struct fault *f);

/*
 * One agent request: the body, the caller (its token says which nodes it
 * may speak for), the audit target named by the body's id_key, the call,
 * the answer.
 */
static void agent_request(struct ctld *c, struct http_req *req, const char *id_key,
                          agent_call_fn call)
{
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    json_t *answer = NULL;
    struct fault f = {0};
    const struct agents_caller who = {
            .peer = http_req_peer(req), .covers = token_covers, .arg = (void *)&c->call.who->token};
    const char *agent = json_string_value(json_object_get(body, id_key));
    snprintf(c->call.target, sizeof(c->call.target), "agent %.100s", agent ? agent : "?");
    int rc = call(c->agents, body, &who, &answer, &f);
    reply(c, req, rc, answer, &f);
    json_decref(body);
}

void api_agent_register(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    agent_request(c, req, "agent", agents_register);
}

void api_agent_sync(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    agent_request(c, req, "agent_id", agents_sync);
}
