/* SPDX-License-Identifier: MIT */
/*
 * job_json.h - the job request (strictly checked) and the JOB object of
 * docs/api.md. Part of the API layer.
 */
#ifndef NL_CTLD_JOB_JSON_H
#define NL_CTLD_JOB_JSON_H

#include <jansson.h>
#include <stdint.h>

struct ctld;
struct fault;
struct nl_store_job;
struct nl_tenants;

/*
 * Parse and check a job request object (borrowed) into rec (initialised
 * by the caller, owns its strings afterwards). Returns 0, or -EINVAL with
 * *fault filled; tenants borrowed for the tenant name.
 */
int job_request_parse(const json_t *body, const struct nl_tenants *tenants,
                      struct nl_store_job *rec, struct fault *fault);
/* The JOB object of docs/api.md for a stored record, with live details from the scheduler. */
json_t *job_json(struct ctld *c, const struct nl_store_job *rec);
/* Seconds (double) from Unix microseconds, or JSON null for 0. */
json_t *job_json_time(int64_t us);
/* Tier name of a tenant index ("" if none). */
const char *job_tier_name(const struct ctld *c, uint32_t tenant);

#endif
