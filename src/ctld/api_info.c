/* SPDX-License-Identifier: MIT */
/*
 * api_info.c - the read-only endpoints: facility, nodes, tenants, usage,
 * health and the Prometheus /metrics page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ctld/auth.h"
#include "ctld/ctld.h"
#include "ctld/durable.h"
#include "ctld/http.h"
#include "ctld/job_json.h"
#include "ctld/life.h"
#include "ctld/nodes.h"
#include "ctld/routes.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "store/store.h"

void api_health(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    /*
     * The process answers, so "status" is ok; "store" says whether writes
     * are accepted (a full disk answers them 503 until it recovers), and
     * "reason" why not, for an operator's probe.
     */
    bool ok = durable_available(c->dur);
    json_t *o = json_pack("{s:s, s:s}", "status", "ok", "store", ok ? "ok" : "unavailable");
    if (!ok)
        json_object_set_new(o, "reason", json_string(durable_reason(c->dur)));
    api_reply(c, req, 200, o);
}

static json_t *site_json(const struct ctld *c, uint32_t site)
{
    struct nl_site_info si;
    nl_facility_site(c->fac, site, &si);
    return json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:f}", "name", si.name, "jurisdiction",
                     si.jurisdiction, "eea", si.eea, "gpus", (json_int_t)si.ngpus, "racks",
                     (json_int_t)si.nracks, "nodes", (json_int_t)si.nnodes, "power_w", si.power_w);
}

void api_facility(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    struct nl_sched_stats st;
    nl_sched_stats(c->sched, &st);
    json_t *sites = json_array();
    for (uint32_t i = 0; i < nl_facility_nsites(c->fac); i++)
        json_array_append_new(sites, site_json(c, i));
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:o}",
                          "name", nl_facility_name(c->fac), "gpus_total", (json_int_t)st.gpus_total,
                          "gpus_alloc", (json_int_t)st.gpus_alloc, "gpus_down",
                          (json_int_t)st.gpus_down, "jobs_pending", (json_int_t)st.jobs_pending,
                          "jobs_running", (json_int_t)st.jobs_running, "jobs_preempting",
                          (json_int_t)st.jobs_preempting, "power_w", st.power_w, "power_it_w",
                          st.power_it_w, "power_budget_w", st.power_budget_w, "energy_kwh",
                          st.energy_wh / 1000.0, "fragmentation", st.fragmentation, "sites", sites);
    api_reply(c, req, 200, o);
}

static const char *const node_state_names[] = {"unregistered", "up", "down"};

static json_t *node_json(struct ctld *c, uint32_t node)
{
    char name[96];
    nl_facility_node_name(c->fac, node, name, sizeof(name));
    struct nl_node_pos pos;
    nl_facility_node_pos(c->fac, node, &pos);
    struct nl_site_info si;
    nl_facility_site(c->fac, pos.site, &si);
    uint32_t gpus = nl_facility_node_gpus(c->fac, node);
    json_t *jobs = json_array();
    uint64_t last = 0;
    for (uint32_t g = 0; g < gpus; g++) {
        uint64_t owner = nl_sched_gpu_owner(c->sched, node, g);
        if (owner != 0 && owner != last)
            json_array_append_new(jobs, json_integer((json_int_t)owner));
        last = owner ? owner : last;
    }
    const char *agent = nodes_node_agent(c->nodes, node);
    enum node_state state = nodes_state(c->nodes, node);
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:o, s:o, s:o}", "name", name, "site",
                          si.name, "rack", (json_int_t)pos.rack, "gpus", (json_int_t)gpus, "free",
                          (json_int_t)__builtin_popcount(nl_sched_node_free(c->sched, node)),
                          "state", node_state_names[state], "agent",
                          agent ? json_string(agent) : json_null(), "jobs", jobs,
                          "last_heartbeat", job_json_time(nodes_node_heartbeat(c->nodes, node)));
    api_ops_node_fields(c, node, o);
    return o;
}

void api_nodes(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    const char *state = http_req_query(req, "state"), *limit = http_req_query(req, "limit");
    int want = -1;
    if (state != NULL) {
        for (int i = 0; i < 3; i++)
            if (strcmp(state, node_state_names[i]) == 0)
                want = i;
        if (want < 0)
            return api_error(c, req, 400, "invalid_field", "state",
                             "state: '%.40s' is not up, down or unregistered", state);
    }
    uint64_t max = nl_facility_nodes(c->fac);
    if (limit != NULL) {
        char *end = NULL;
        unsigned long long v = strtoull(limit, &end, 10);
        if (limit[0] < '0' || limit[0] > '9' || *end != '\0' || v < 1 || v > CTLD_LIST_LIMIT_MAX)
            return api_error(c, req, 400, "invalid_field", "limit", "limit: '%.40s' is not 1..%d",
                             limit, CTLD_LIST_LIMIT_MAX);
        max = v;
    }
    json_t *nodes = json_array();
    size_t n = 0;
    for (uint32_t node = 0; node < nl_facility_nodes(c->fac) && n < max; node++) {
        if (want >= 0 && nodes_state(c->nodes, node) != (enum node_state)want)
            continue;
        json_array_append_new(nodes, node_json(c, node));
        n++;
    }
    api_reply(c, req, 200, json_pack("{s:o}", "nodes", nodes));
}

void api_tenants(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *list = json_array();
    for (uint32_t i = 0; i < nl_tenants_count(c->tenants); i++) {
        const struct nl_tenant_spec *t = nl_tenants_get(c->tenants, i);
        if (!auth_sees_tenant(c->call.who, t->name))
            continue; /* a user sees their own tenants only */
        struct nl_tenant_usage u;
        nl_sched_tenant_usage(c->sched, i, &u);
        json_array_append_new(
                list,
                json_pack("{s:s, s:s, s:I, s:I, s:f, s:s, s:I, s:I, s:I, s:I}", "name", t->name,
                          "tier", job_tier_name(c, i), "quota_gpus", (json_int_t)t->quota_gpus,
                          "borrow_gpus", (json_int_t)t->borrow_gpus, "weight", t->weight,
                          "jurisdiction", t->jurisdiction, "gpus_alloc", (json_int_t)u.gpus_alloc,
                          "gpus_borrowed", (json_int_t)u.gpus_borrowed, "jobs_pending",
                          (json_int_t)u.jobs_pending, "jobs_running", (json_int_t)u.jobs_running));
    }
    api_reply(c, req, 200, json_pack("{s:o}", "tenants", list));
}

/* ---- usage: ended runs from the store plus the running ones so far ---- */

static json_t *usage_entry(struct ctld *c, json_t *by_name, const char *tenant)
{
    json_t *e = json_object_get(by_name, tenant);
    if (e != NULL)
        return e;
    int idx = nl_tenants_find(c->tenants, tenant);
    e = json_pack("{s:s, s:s, s:f, s:f, s:I, s:I}", "name", tenant, "tier",
                  idx >= 0 ? job_tier_name(c, (uint32_t)idx) : "", "gpu_hours", 0.0, "energy_kwh",
                  0.0, "jobs_completed", (json_int_t)0, "jobs_failed", (json_int_t)0);
    json_object_set_new(by_name, tenant, e);
    return e;
}

static void add_real(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, json_real(json_real_value(json_object_get(o, key)) + v));
}

struct usage_ctx {
    struct ctld *c;
    json_t *by_name;
};

static int usage_row(const struct nl_store_usage *u, void *arg)
{
    struct usage_ctx *x = arg;
    json_t *e = usage_entry(x->c, x->by_name, u->tenant);
    add_real(e, "gpu_hours", u->gpu_hours);
    add_real(e, "energy_kwh", u->energy_wh / 1000.0);
    json_object_set_new(e, "jobs_completed", json_integer((json_int_t)u->jobs_completed));
    json_object_set_new(e, "jobs_failed", json_integer((json_int_t)u->jobs_failed));
    return 0;
}

void api_usage(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    struct usage_ctx x = {.c = c, .by_name = json_object()};
    for (uint32_t i = 0; i < nl_tenants_count(c->tenants); i++)
        usage_entry(c, x.by_name, nl_tenants_get(c->tenants, i)->name);
    struct nl_err err = {0};
    if (nl_store_usage(c->store, usage_row, &x, &err) < 0) {
        json_decref(x.by_name);
        return api_err_reply(c, req, &err, NULL);
    }
    size_t cursor = 0;
    for (struct life_run_info ri, *run = &ri; life_run_next(c->life, &cursor, &ri);) {
        struct nl_job_info info;
        const struct nl_tenant_spec *t;
        if (nl_sched_job_info(c->sched, run->job, &info) < 0 ||
            (t = nl_tenants_get(c->tenants, info.spec.tenant)) == NULL)
            continue;
        json_t *e = usage_entry(c, x.by_name, t->name);
        add_real(e, "gpu_hours", info.spec.gpus * (double)(c->clock.us - run->start_us) / 3.6e9);
        add_real(e, "energy_kwh", (info.energy_wh - run->energy_start_wh) / 1000.0);
    }
    json_t *list = json_array();
    const char *key;
    json_t *val;
    /* A user sees their own tenants' usage only. */
    json_object_foreach(x.by_name, key, val) if (auth_sees_tenant(c->call.who, key))
            json_array_append(list, val);
    json_decref(x.by_name);
    api_reply(c, req, 200, json_pack("{s:o}", "tenants", list));
}
