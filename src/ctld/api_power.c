/* SPDX-License-Identifier: MIT */
/*
 * api_power.c - the facility's power: GET /v1/facility/power (draw against
 * the budget, PUE, sites, capped jobs) and PUT/POST /v1/facility/budget (an
 * operator sets a new budget; kept in the store across restarts, audited
 * like every write, answered by the next scheduling pass: caps, power
 * preemptions, or caps lifted and waiting jobs started).
 */
#define _GNU_SOURCE /* strptime, timegm */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "ctld/auth.h"
#include "ctld/ctld.h"
#include "ctld/http.h"
#include "ctld/durable.h"
#include "ctld/life.h"
#include "ctld/metrics.h"
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

/*
 * A site's measured draw (issue 14), like the facility's measured_w: its
 * reported nodes' last readings, the idle model for the rest, times the PUE.
 */
static void site_measured(const struct ctld *c, const struct nl_site_info *si, double pue,
                          json_t *o)
{
    double idle_w = nl_facility_spec(c->fac)->gpu_idle_w, it = 0, w, t;
    uint32_t seen = 0;
    for (uint32_t n = si->first_node; n < si->first_node + si->nnodes; n++) {
        if (life_node_reading(c->life, n, &w, &t)) {
            it += w;
            seen++;
        } else {
            it += nl_facility_node_gpus(c->fac, n) * idle_w;
        }
    }
    json_object_set_new(o, "measured_w", json_real(it * pue));
    json_object_set_new(o, "measured_it_w", json_real(it));
    json_object_set_new(o, "measured_nodes", json_integer(seen));
}

static json_t *power_json(const struct ctld *c)
{
    struct nl_sched_stats st;
    nl_sched_stats(c->sched, &st);
    json_t *sites = json_array();
    for (uint32_t i = 0; i < nl_facility_nsites(c->fac); i++) {
        struct nl_site_info si;
        nl_facility_site(c->fac, i, &si);
        json_t *o = json_pack("{s:s, s:f}", "name", si.name, "limit_w", si.power_w);
        site_measured(c, &si, st.pue, o);
        json_array_append_new(sites, o);
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
    double b = 0;
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

/* The store key of one unit's limit: "power_limit_row_3". */
static void limit_key(char *buf, size_t n, enum nl_power_level lv, uint32_t idx)
{
    snprintf(buf, n, "power_limit_%s_%u", nl_power_level_name(lv), idx);
}

static json_t *limit_json(const struct ctld *c, enum nl_power_level lv, uint32_t idx)
{
    double limit = 0, draw = 0;
    nl_sched_power_unit(c->sched, lv, idx, &limit, &draw);
    struct nl_sched_stats st;
    nl_sched_stats(c->sched, &st);
    return json_pack("{s:s, s:I, s:f, s:f, s:I, s:I}", "level", nl_power_level_name(lv), "index",
                     (json_int_t)idx, "limit_w", limit, "draw_w", draw, "jobs_capped",
                     (json_int_t)st.jobs_capped, "power_preemptions",
                     (json_int_t)st.power_preemptions);
}

/*
 * {"level": "rack"|"row"|"loop"|"site", "index": N, "limit_w": W | "limit_kw" | "limit_mw"}:
 * 0 = none, null = the facility file's again. IT power for racks, rows and
 * loops; facility power (PUE applied) for a site.
 */
static int limit_of(const struct ctld *c, json_t *body, enum nl_power_level *lv, uint32_t *idx,
                    double *out, struct nl_err *err)
{
    static const struct {
        const char *key;
        double scale;
    } units[] = {{"limit_w", 1}, {"limit_kw", 1e3}, {"limit_mw", 1e6}};
    const char *k;
    json_t *v, *lim = NULL;
    double scale = 1;
    const char *lname = NULL;
    json_object_foreach(body, k, v)
    {
        bool known = strcmp(k, "level") == 0 || strcmp(k, "index") == 0;
        for (size_t i = 0; i < 3; i++)
            if (strcmp(k, units[i].key) == 0) {
                if (lim != NULL)
                    return nl_err_set(err, -EINVAL, "limit_w: give one of limit_w, limit_kw and limit_mw");
                lim = v;
                scale = units[i].scale;
                lname = units[i].key;
                known = true;
            }
        if (!known)
            return nl_err_set(err, -EINVAL,
                              "%.40s: unknown field (expected level, index and limit_w, limit_kw or limit_mw)", k);
    }
    json_t *l = json_object_get(body, "level"), *ix = json_object_get(body, "index");
    if (!json_is_string(l) || nl_power_level_parse(json_string_value(l), lv) < 0)
        return nl_err_set(err, -EINVAL, "level: expected rack, row, loop or site");
    if (!json_is_integer(ix) || json_integer_value(ix) < 0)
        return nl_err_set(err, -EINVAL, "index: expected an integer from 0");
    uint32_t n = nl_sched_power_units(c->sched, *lv);
    if (json_integer_value(ix) >= (json_int_t)n)
        return nl_err_set(err, -EINVAL, "index: %s %lld does not exist (the facility has %u, from 0)",
                          nl_power_level_name(*lv), (long long)json_integer_value(ix), n);
    *idx = (uint32_t)json_integer_value(ix);
    if (lim == NULL)
        return nl_err_set(err, -EINVAL, "limit_w: missing (a number, 0 for none, or null for the facility file's)");
    if (json_is_null(lim)) {
        *out = -1;
        return 0;
    }
    if (!json_is_number(lim))
        return nl_err_set(err, -EINVAL, "%s: expected a number or null", lname);
    double w = json_number_value(lim) * scale;
    if (!(w >= 0 && w <= API_BUDGET_MAX_W))
        return nl_err_set(err, -EINVAL, "%s: %g W is outside 0..1e11 W", lname, w);
    *out = w;
    return 0;
}

void api_power_limit(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    struct nl_err err = {0};
    enum nl_power_level lv = NL_POWER_RACK;
    uint32_t idx = 0;
    double w = 0;
    int rc = limit_of(c, body, &lv, &idx, &w, &err);
    json_decref(body);
    if (rc < 0)
        return api_err_reply(c, req, &err, NULL);
    if (!durable_available(c->dur))
        return api_error(c, req, 503, "unavailable", NULL, "%s", durable_reason(c->dur));
    char key[64];
    limit_key(key, sizeof(key), lv, idx);
    durable_txn(c->dur);
    rc = nl_store_meta_set(c->store, key, w < 0 ? -1 : (int64_t)llround(w), &err);
    durable_check(rc, "power limit", &err);
    nl_sched_set_power_limit(c->sched, lv, idx, w < 0 ? -1 : (double)llround(w), NULL);
    if (w < 0)
        snprintf(c->call.target, sizeof(c->call.target), "power limit %s %u default",
                 nl_power_level_name(lv), idx);
    else
        snprintf(c->call.target, sizeof(c->call.target), "power limit %s %u %.6g MW",
                 nl_power_level_name(lv), idx, w / 1e6);
    /* Answered within one scheduling cycle, like a budget. */
    life_mark_dirty(c->life);
    c->next_pass_us = 0;
    api_reply(c, req, 200, limit_json(c, lv, idx));
}

int api_power_restore(struct ctld *c, struct nl_err *err)
{
    for (int l = NL_POWER_RACK; l <= NL_POWER_SITE; l++) {
        uint32_t n = nl_sched_power_units(c->sched, (enum nl_power_level)l);
        for (uint32_t i = 0; i < n; i++) {
            char key[64];
            int64_t w;
            limit_key(key, sizeof(key), (enum nl_power_level)l, i);
            int rc = nl_store_meta_get(c->store, key, &w, err);
            if (rc < 0)
                return rc;
            if (rc == 1 && w >= 0)
                nl_sched_set_power_limit(c->sched, (enum nl_power_level)l, i, (double)w, NULL);
        }
    }
    return 0;
}

void api_power_metrics(struct ctld *c, struct textbuf *b)
{
    struct nl_sched_stats st;
    nl_sched_stats(c->sched, &st);
    uint32_t reported = 0;
    double measured = life_measured_it_w(c->life, &reported) * st.pue;
    metrics_family(b, "nordlys_power_measured_watts", "gauge",
                   "Facility draw from the agents' GPU readings (unreported nodes modelled idle), PUE applied.");
    textbuf_printf(b, "nordlys_power_measured_watts %.6g\n", measured);
    metrics_family(b, "nordlys_pue", "gauge", "PUE in force (from the facility's climate).");
    textbuf_printf(b, "nordlys_pue %.6g\n", st.pue);
    metrics_family(b, "nordlys_jobs_power_capped", "gauge", "Running jobs under a power cap.");
    textbuf_printf(b, "nordlys_jobs_power_capped %llu\n", (unsigned long long)st.jobs_capped);
    metrics_family(b, "nordlys_power_preemptions_total", "counter",
                   "Jobs preempted because capping could not close a power gap.");
    textbuf_printf(b, "nordlys_power_preemptions_total %llu\n",
                   (unsigned long long)st.power_preemptions);
    metrics_family(b, "nordlys_site_power_watts", "gauge", "Draw of each site now, PUE applied.");
    uint32_t ns = nl_facility_nsites(c->fac);
    for (uint32_t i = 0; i < ns; i++) {
        struct nl_site_info si;
        double w, wh;
        nl_facility_site(c->fac, i, &si);
        nl_sched_site_power(c->sched, i, &w, &wh);
        textbuf_printf(b, "nordlys_site_power_watts{site=\"%s\"} %.6g\n", si.name, w);
    }
    metrics_family(b, "nordlys_site_energy_joules_total", "counter",
                   "Energy of each site since the controller started, PUE applied.");
    for (uint32_t i = 0; i < ns; i++) {
        struct nl_site_info si;
        double w, wh;
        nl_facility_site(c->fac, i, &si);
        nl_sched_site_power(c->sched, i, &w, &wh);
        textbuf_printf(b, "nordlys_site_energy_joules_total{site=\"%s\"} %.6g\n", si.name,
                       wh * 3600.0);
    }
    size_t nt = nl_tenants_count(c->tenants);
    metrics_family(b, "nordlys_tenant_power_watts", "gauge",
                   "Draw of each tenant's running jobs now, PUE applied.");
    for (uint32_t t = 0; t < nt; t++) {
        struct nl_tenant_usage u;
        nl_sched_tenant_usage(c->sched, t, &u);
        textbuf_printf(b, "nordlys_tenant_power_watts{tenant=\"%s\"} %.6g\n",
                       nl_tenants_get(c->tenants, t)->name, u.power_w);
    }
    metrics_family(b, "nordlys_tenant_energy_joules_total", "counter",
                   "Energy of each tenant's jobs since the controller started, PUE applied.");
    for (uint32_t t = 0; t < nt; t++) {
        struct nl_tenant_usage u;
        nl_sched_tenant_usage(c->sched, t, &u);
        textbuf_printf(b, "nordlys_tenant_energy_joules_total{tenant=\"%s\"} %.6g\n",
                       nl_tenants_get(c->tenants, t)->name, u.energy_wh * 3600.0);
    }
}

/* ---- GET /v1/energy: energy accounting by tenant or job over a window ---- */

/* Most job rows one answer carries (by=job); past it the answer says truncated. */
#define API_ENERGY_ROWS_MAX 100000

/* "1764000000" (Unix seconds) or "2026-11-29T12:00:00Z" into microseconds; -EINVAL naming name. */
static int time_arg(const char *v, const char *name, int64_t *out, struct nl_err *err)
{
    char *end;
    long long s = strtoll(v, &end, 10);
    if (end != v && *end == '\0' && s >= 0 && s < 32503680000LL) {
        *out = (int64_t)s * 1000000;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *rest = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest != NULL && (strcmp(rest, "Z") == 0 || *rest == '\0')) {
        *out = (int64_t)timegm(&tm) * 1000000;
        return 0;
    }
    return nl_err_set(err, -EINVAL, "%s: '%.40s' is not a time (Unix seconds or 2026-11-29T12:00:00Z)",
                      name, v);
}

struct energy_ctx {
    struct ctld *c;
    bool by_job;
    double g_per_kwh;
    json_t *rows;       /* by job */
    json_t *by_tenant;  /* name -> row */
    size_t nrows;
    bool truncated;
};

static json_t *tenant_row(struct energy_ctx *x, const char *tenant)
{
    json_t *e = json_object_get(x->by_tenant, tenant);
    if (e == NULL) {
        int t = nl_tenants_find(x->c->tenants, tenant);
        const char *tier = t >= 0 ? nl_tenants_tier(x->c->tenants,
                                                     nl_tenants_get(x->c->tenants, (uint32_t)t)->tier)->name
                                  : "";
        e = json_pack("{s:s, s:s, s:I, s:f, s:f, s:f}", "tenant", tenant, "tier", tier, "jobs",
                      (json_int_t)0, "gpu_hours", 0.0, "it_kwh", 0.0, "facility_kwh", 0.0);
        json_object_set_new(x->by_tenant, tenant, e);
    }
    return e;
}

static void add_to(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, json_real(json_real_value(json_object_get(o, key)) + v));
}

/* One job's share (ended, or a running job's current run) into the answer. */
static void energy_add(struct energy_ctx *x, uint64_t id, const char *tenant, const char *name,
                       const char *state, double gpu_h, double it_wh, double fac_wh)
{
    if (!auth_sees_tenant(x->c->call.who, tenant))
        return;
    if (!x->by_job) {
        json_t *e = tenant_row(x, tenant);
        json_object_set_new(e, "jobs", json_integer(json_integer_value(json_object_get(e, "jobs")) + 1));
        add_to(e, "gpu_hours", gpu_h);
        add_to(e, "it_kwh", it_wh / 1000.0);
        add_to(e, "facility_kwh", fac_wh / 1000.0);
        return;
    }
    if (x->nrows >= API_ENERGY_ROWS_MAX) {
        x->truncated = true;
        return;
    }
    x->nrows++;
    json_t *r = json_pack("{s:I, s:s, s:s, s:s, s:f, s:f, s:f}", "id", (json_int_t)id, "tenant",
                          tenant, "name", name, "state", state, "gpu_hours", gpu_h, "it_kwh",
                          it_wh / 1000.0, "facility_kwh", fac_wh / 1000.0);
    json_object_set_new(r, "co2_kg", x->g_per_kwh > 0 ? json_real(fac_wh / 1000.0 * x->g_per_kwh / 1000.0)
                                                      : json_null());
    json_array_append_new(x->rows, r);
}

static int energy_row(const struct nl_store_usage_job *u, void *arg)
{
    struct energy_ctx *x = arg;
    energy_add(x, u->id, u->tenant, u->name ? u->name : "", u->state ? u->state : "",
               (double)u->gpus * (double)u->run_us / 3.6e9, u->it_energy_wh, u->energy_wh);
    return 0;
}

void api_energy(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    struct nl_err err = {0};
    const char *by = http_req_query(req, "by"), *since = http_req_query(req, "since"),
               *until = http_req_query(req, "until"), *grid = http_req_query(req, "grid_gco2_per_kwh");
    struct energy_ctx x = {.c = c, .by_job = by != NULL && strcmp(by, "job") == 0};
    if (by != NULL && strcmp(by, "job") != 0 && strcmp(by, "tenant") != 0)
        return api_error(c, req, 400, "invalid_field", "by", "by: '%.20s' is not tenant or job", by);
    int64_t since_us = 0, until_us = INT64_MAX;
    if ((since != NULL && time_arg(since, "since", &since_us, &err) < 0) ||
        (until != NULL && time_arg(until, "until", &until_us, &err) < 0))
        return api_err_reply(c, req, &err, since != NULL && strstr(err.msg, "since") ? "since" : "until");
    if (until_us <= since_us)
        return api_error(c, req, 400, "invalid_field", "until", "until: not after since");
    x.g_per_kwh = nl_facility_spec(c->fac)->grid_gco2_per_kwh;
    if (grid != NULL) {
        char *end;
        x.g_per_kwh = strtod(grid, &end);
        if (end == grid || *end != '\0' || !(x.g_per_kwh >= 0 && x.g_per_kwh <= 2000))
            return api_error(c, req, 400, "invalid_field", "grid_gco2_per_kwh",
                             "grid_gco2_per_kwh: '%.20s' is not 0..2000 g per kWh", grid);
    }
    x.rows = json_array();
    x.by_tenant = json_object();
    if (nl_store_usage_jobs(c->store, since_us, until_us, NULL, energy_row, &x, &err) < 0) {
        json_decref(x.rows);
        json_decref(x.by_tenant);
        return api_err_reply(c, req, &err, NULL);
    }
    /* Running jobs, when the window reaches now: their current run so far. */
    if (until_us > c->clock.us) {
        size_t cursor = 0;
        for (struct life_run_info ri; life_run_next(c->life, &cursor, &ri);) {
            struct nl_job_info info;
            const struct nl_tenant_spec *t;
            if (nl_sched_job_info(c->sched, ri.job, &info) < 0 ||
                (t = nl_tenants_get(c->tenants, info.spec.tenant)) == NULL)
                continue;
            /* The run so far; its IT share at the PUE in force (the stored total is exact). */
            double fac_wh = info.energy_wh - ri.energy_start_wh;
            struct nl_sched_stats st;
            nl_sched_stats(c->sched, &st);
            double it_wh = fac_wh / st.pue;
            energy_add(&x, ri.job, t->name, "", nl_job_state_name(info.state),
                       info.spec.gpus * (double)(c->clock.us - ri.start_us) / 3.6e9, it_wh, fac_wh);
        }
    }
    json_t *o = json_object();
    if (x.by_job) {
        json_object_set_new(o, "jobs", x.rows);
        json_decref(x.by_tenant);
    } else {
        json_t *list = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(x.by_tenant, k, v)
        {
            double kwh = json_real_value(json_object_get(v, "facility_kwh"));
            json_object_set_new(v, "co2_kg", x.g_per_kwh > 0 ? json_real(kwh * x.g_per_kwh / 1000.0) : json_null());
            json_array_append(list, v);
        }
        json_decref(x.by_tenant);
        json_decref(x.rows);
        json_object_set_new(o, "tenants", list);
    }
    json_object_set_new(o, "grid_gco2_per_kwh", x.g_per_kwh > 0 ? json_real(x.g_per_kwh) : json_null());
    json_object_set_new(o, "truncated", json_boolean(x.truncated));
    api_reply(c, req, 200, o);
}
