/* SPDX-License-Identifier: MIT */
/*
 * api_routes.c - the route table of docs/api.md.
 *
 * Every endpoint is one row: method, path pattern, handler, the role it
 * needs, and the largest body it takes. Adding an endpoint is adding a
 * row; api_dispatch does the rest (routing, the auth point, the body
 * limit, metrics by route).
 */
#include "api.h"
#include "ctld/routes.h"

static const struct route route_table[] = {
        {"POST", "/v1/jobs", api_job_submit, ROLE_USER, CTLD_JOB_BODY_MAX},
        {"GET", "/v1/jobs", api_jobs_list, ROLE_USER, 0},
        {"GET", "/v1/jobs/{id}", api_job_show, ROLE_USER, 0},
        {"DELETE", "/v1/jobs/{id}", api_job_cancel, ROLE_USER, 0},
        {"DELETE", "/v1/jobs", api_jobs_cancel, ROLE_USER, 0},
        {"PATCH", "/v1/jobs/{id}", api_job_update, ROLE_USER, CTLD_JOB_BODY_MAX},
        {"POST", "/v1/jobs/{id}/requeue", api_job_requeue, ROLE_USER, 0},
        {"POST", "/v1/jobs/{id}/signal", api_job_signal, ROLE_USER, CTLD_CONTROL_BODY_MAX},
        {"GET", "/v1/jobs/{id}/output", api_job_output, ROLE_USER, 0},
        {"POST", "/v1/jobs/{id}/hold", api_job_hold, ROLE_USER, 0},
        {"DELETE", "/v1/jobs/{id}/hold", api_job_release, ROLE_USER, 0},
        {"GET", "/v1/jobs/{id}/tasks", api_job_tasks, ROLE_USER, 0},
        {"GET", "/v1/jobs/{id}/events", api_job_events, ROLE_USER, 0},
        {"DELETE", "/v1/jobs/{id}/tasks", api_task_cancel, ROLE_USER, 0},
        {"GET", "/v1/facility", api_facility, ROLE_READER, 0},
        {"GET", "/v1/facility/power", api_power, ROLE_READER, 0},
        {"PUT", "/v1/facility/budget", api_power_budget, ROLE_OPERATOR, CTLD_POWER_BODY_MAX},
        {"POST", "/v1/facility/budget", api_power_budget, ROLE_OPERATOR, CTLD_POWER_BODY_MAX},
        {"PUT", "/v1/facility/limit", api_power_limit, ROLE_OPERATOR, CTLD_POWER_BODY_MAX},
        {"GET", "/v1/nodes", api_nodes, ROLE_READER, 0},
        {"GET", "/v1/racks", api_racks, ROLE_READER, 0},
        {"GET", "/v1/queue", api_queue, ROLE_READER, 0},
        {"GET", "/v1/tenants", api_tenants, ROLE_USER, 0},
        {"GET", "/v1/usage", api_usage, ROLE_USER, 0},
        {"GET", "/v1/energy", api_energy, ROLE_USER, 0},
        {"GET", "/v1/health", api_health, ROLE_PUBLIC, 0},
        {"GET", "/metrics", api_metrics, ROLE_PUBLIC, 0},
        {"POST", "/v1/agent/register", api_agent_register, ROLE_AGENT, CTLD_AGENT_BODY_MAX},
        {"POST", "/v1/agent/sync", api_agent_sync, ROLE_AGENT, CTLD_AGENT_BODY_MAX},
        {"POST", "/v1/tokens", api_token_create, ROLE_ADMIN, CTLD_TOKEN_BODY_MAX},
        {"GET", "/v1/audit", api_audit, ROLE_ADMIN, 0},
        {"POST", "/v1/nodes/drain", api_nodes_drain, ROLE_OPERATOR, CTLD_OPS_BODY_MAX},
        {"POST", "/v1/nodes/resume", api_nodes_resume, ROLE_OPERATOR, CTLD_OPS_BODY_MAX},
        {"GET", "/v1/reservations", api_resv_list, ROLE_USER, 0},
        {"POST", "/v1/reservations", api_resv_create, ROLE_OPERATOR, CTLD_OPS_BODY_MAX},
        {"DELETE", "/v1/reservations/{id}", api_resv_delete, ROLE_OPERATOR, 0},
        {"GET", "/v1/history", api_history, ROLE_USER, 0},
        {"GET", "/v1/estimates", api_estimates, ROLE_USER, 0},
};

_Static_assert(sizeof(route_table) / sizeof(route_table[0]) < CTLD_ROUTES_MAX,
               "CTLD_ROUTES_MAX must leave one slot for unrouted requests");

const struct route *api_routes(size_t *n)
{
    *n = sizeof(route_table) / sizeof(route_table[0]);
    return route_table;
}
