/* SPDX-License-Identifier: MIT */
/*
 * api_power.c - the facility's power: GET /v1/facility/power (draw against
 * the budget, PUE, sites, capped jobs) and PUT/POST /v1/facility/budget (an
 * operator sets a new budget; kept in the store across restarts, audited
 * like every write, answered by the next scheduling pass: caps, power
 * preemptions, or caps lifted and waiting jobs started).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "ctld/ctld.h"
#include "ctld/durable.h"
#include "ctld/life.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "store/store.h"

/* Largest budget accepted: 100 GW, ten times the 10 GW plans. */
#define API_BUDGET_MAX_W 1e11

static json_t *capped_jobs(const struct ctld *c)
{
    json_t *a = json_array();
    const uint64_t *ids;
    size_t n = nl_sched_jobs(c->sched, &ids);
    for (size_t i = 0; i < n; i++) {
        struct nl_job_info info;
        if (nl_sched_job_info(c->sched, ids[i], &info) < 0 || info.power_cap_w <= 0)
            continue;
        const struct nl_tenant_spec *t = nl_tenants_get(c->tenants, info.spec.tenant);
        json_array_append_new(a, json_pack("{s:I, s:s, s:I, s:f, s:f}", "id", (json_int_t)info.id,
                                           "tenant", t ? t->name : "?", "gpus",
                                           (json_int_t)info.spec.gpus, "cap_w", info.power_cap_w,
                                           "want_w", info.power_want_w));
    }
    return a;
}

static json_t *power_json(const struct ctld *c)
{
    struct nl_sched_stats st;
    nl_sched_stats(c->sched, &st);
    json_t *sites = json_array();
    for (uint32_t i = 0; i < nl_facility_nsites(c->fac); i++) {
        struct nl_site_info si;
        nl_facility_site(c->fac, i, &si);
        json_array_append_new(sites, json_pack("{s:s, s:f}", "name", si.name, "limit_w",
                                               si.power_w));
    }
    uint32_t reported = 0;
    double measured_it = life_measured_it_w(c->life, &reported);
    json_t *o = json_object();
    json_object_set_new(o, "budget_w", json_real(st.power_budget_w));
    json_object_set_new(o, "power_w", json_real(st.power_w));
    json_object_set_new(o, "power_it_w", json_real(st.power_it_w));
    json_object_set_new(o, "pue", json_real(st.pue));
    json_object_set_new(o, "idle_w", json_real(st.power_idle_w));
    json_object_set_new(o, "measured_w", json_real(measured_it * st.pue));
    json_object_set_new(o, "measured_it_w", json_real(measured_it));
    json_object_set_new(o, "measured_nodes", json_integer(reported));
    json_object_set_new(o, "jobs_capped", json_integer((json_int_t)st.jobs_capped));
    json_object_set_new(o, "power_preemptions", json_integer((json_int_t)st.power_preemptions));
    json_object_set_new(o, "energy_kwh", json_real(st.energy_wh / 1000.0));
    json_object_set_new(o, "sites", sites);
    json_object_set_new(o, "capped", capped_jobs(c));
    return o;
}

void api_power(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    api_reply(c, req, 200, power_json(c));
}

/* The budget of a request body in W: {"budget_w": N} or {"budget_mw": N}; 0 = none. */
static int budget_of(const struct ctld *c, json_t *body, double *out, struct nl_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "budget_w") != 0 && strcmp(k, "budget_mw") != 0)
            return nl_err_set(err, -EINVAL, "%.40s: unknown field (expected budget_w or budget_mw)", k);
    }
    json_t *w = json_object_get(body, "budget_w"), *mw = json_object_get(body, "budget_mw");
    if ((w == NULL) == (mw == NULL))
        return nl_err_set(err, -EINVAL, "budget_w: give exactly one of budget_w and budget_mw");
    const char *name = w ? "budget_w" : "budget_mw";
    json_t *n = w ? w : mw;
    if (!json_is_number(n))
        return nl_err_set(err, -EINVAL, "%s: expected a number", name);
    double b = json_number_value(n) * (w ? 1.0 : 1e6);
    if (!(b >= 0 && b <= API_BUDGET_MAX_W))
        return nl_err_set(err, -EINVAL, "%s: %g W is outside 0..1e11 W", name, b);
    struct nl_sched_stats st;
    nl_sched_stats(c->sched, &st);
    /* No capping can take the facility below its idle draw: refuse, naming both. */
    if (b > 0 && b < st.power_idle_w)
        return nl_err_set(err, -EINVAL,
                          "%s: %.3f MW is below the facility's idle draw of %.3f MW (PUE %.3f)",
                          name, b / 1e6, st.power_idle_w / 1e6, st.pue);
    *out = b;
    return 0;
}

void api_power_budget(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    struct nl_err err = {0};
    double b;
    int rc = budget_of(c, body, &b, &err);
    json_decref(body);
    if (rc < 0)
        return api_err_reply(c, req, &err, NULL);
    if (!durable_available(c->dur))
        return api_error(c, req, 503, "unavailable", NULL, "%s", durable_reason(c->dur));
    durable_txn(c->dur);
    rc = nl_store_meta_set(c->store, "power_budget_w", (int64_t)llround(b), &err);
    durable_check(rc, "power budget", &err);
    nl_sched_set_power_budget(c->sched, (double)llround(b));
    snprintf(c->call.target, sizeof(c->call.target), "facility budget %.6g MW", b / 1e6);
    /* Answered within one scheduling cycle: the next pass caps or lifts. */
    life_mark_dirty(c->life);
    c->next_pass_us = 0;
    api_reply(c, req, 200, power_json(c));
}
