/* SPDX-License-Identifier: MIT */
/*
 * api_grow.c - expansion online (issue 11): POST /v1/facility/racks adds
 * racks, with their nodes, GPUs and power, to the running facility.
 *
 * The racks join the last site or make a new site after it
 * (nl_facility_grow), so no node, rack or GPU is renumbered under the jobs
 * that hold them. The growth is a row of the store, written in this
 * iteration's transaction like every write, and a start (or a rebuild
 * after a failed COMMIT) builds the facility from its file and applies the
 * rows again (ctld.c). In memory the facility, the scheduler's indexes,
 * the node registry and the drain records are extended in place; the new
 * nodes are down until an agent registers for them, like every node at a
 * start. The next pass (at once) may start waiting jobs there.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "ctld/auth.h"
#include "ctld/ctld.h"
#include "ctld/durable.h"
#include "ctld/http.h"
#include "ctld/life.h"
#include "ctld/nodes.h"
#include "common/log.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "store/store.h"
#include "store/store_grow.h"

/* Most racks one request adds: 20,000 is narvik's expansion ten times over. */
#define API_GROW_RACKS_MAX 20000
/* Largest power one request adds: 100 GW, the budget's bound. */
#define API_GROW_POWER_MAX_W 1e11

static const char *const grow_fields[] = {"site",           "racks",         "jurisdiction",
                                          "racks_per_pod",  "nodes_per_rack", "gpus_per_node",
                                          "power_w",        "power_mw",      NULL};

/* A small non-negative integer field (absent: 0); -EINVAL naming it. */
static int uint_field(json_t *body, const char *name, uint32_t max, uint32_t *out,
                      struct nl_err *err)
{
    json_t *v = json_object_get(body, name);
    *out = 0;
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
        return nl_err_set(err, -EINVAL, "%s: expected an integer in 1..%u", name, max);
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

/* The growth a body asks for; -EINVAL with err and *field naming the bad field. */
static int growth_of(json_t *body, struct nl_facility_growth *g, const char **field,
                     struct nl_err *err)
{
    const char *k;
    json_t *v;
    memset(g, 0, sizeof(*g));
    json_object_foreach(body, k, v)
    {
        size_t i = 0;
        while (grow_fields[i] != NULL && strcmp(grow_fields[i], k) != 0)
            i++;
        if (grow_fields[i] == NULL) {
            *field = k;
            return nl_err_set(err, -EINVAL,
                              "%.40s: unknown field (expected site, racks, jurisdiction, "
                              "racks_per_pod, nodes_per_rack, gpus_per_node, power_w or power_mw)",
                              k);
        }
    }
    json_t *site = json_object_get(body, "site");
    *field = "site";
    if (!json_is_string(site) || json_string_length(site) == 0 ||
        json_string_length(site) >= sizeof(g->site))
        return nl_err_set(err, -EINVAL, "site: expected a site name of 1..%zu characters",
                          sizeof(g->site) - 1);
    snprintf(g->site, sizeof(g->site), "%s", json_string_value(site));
    *field = "racks";
    if (json_object_get(body, "racks") == NULL)
        return nl_err_set(err, -EINVAL, "racks: missing (how many racks to add)");
    int rc;
    if ((rc = uint_field(body, "racks", API_GROW_RACKS_MAX, &g->racks, err)) < 0)
        return rc;
    json_t *jur = json_object_get(body, "jurisdiction");
    *field = "jurisdiction";
    if (jur != NULL) {
        const char *j = json_is_string(jur) ? json_string_value(jur) : "";
        if (strlen(j) != 2 || j[0] < 'A' || j[0] > 'Z' || j[1] < 'A' || j[1] > 'Z')
            return nl_err_set(err, -EINVAL, "jurisdiction: expected a two-letter code (NO, UK, SE)");
        snprintf(g->jurisdiction, sizeof(g->jurisdiction), "%s", j);
    }
    if ((*field = "racks_per_pod", rc = uint_field(body, "racks_per_pod", NL_RACKS_PER_POD_MAX,
                                                   &g->racks_per_pod, err)) < 0 ||
        (*field = "nodes_per_rack", rc = uint_field(body, "nodes_per_rack", NL_NODES_PER_RACK_MAX,
                                                    &g->nodes_per_rack, err)) < 0 ||
        (*field = "gpus_per_node", rc = uint_field(body, "gpus_per_node", NL_GPUS_PER_NODE_MAX,
                                                   &g->gpus_per_node, err)) < 0)
        return rc;
    json_t *w = json_object_get(body, "power_w"), *mw = json_object_get(body, "power_mw");
    if (w != NULL && mw != NULL) {
        *field = "power_w";
        return nl_err_set(err, -EINVAL, "power_w: give at most one of power_w and power_mw");
    }
    if (w != NULL || mw != NULL) {
        *field = w ? "power_w" : "power_mw";
        json_t *n = w ? w : mw;
        double p = json_is_number(n) ? json_number_value(n) * (w ? 1.0 : 1e6) : -1;
        if (!(p >= 0 && p <= API_GROW_POWER_MAX_W))
            return nl_err_set(err, -EINVAL, "%s: expected a number of W in 0..1e11", *field);
        g->site_power_w = g->facility_power_w = p;
    }
    *field = NULL;
    return 0;
}

/* The field an error of nl_facility_grow names ("racks_per_pod: ..."), or NULL. */
static const char *field_of(const char *msg)
{
    for (size_t i = 0; grow_fields[i] != NULL; i++) {
        size_t n = strlen(grow_fields[i]);
        if (strncmp(msg, grow_fields[i], n) == 0 && msg[n] == ':')
            return grow_fields[i];
    }
    if (strncmp(msg, "power:", 6) == 0)
        return "power_w";
    return strncmp(msg, "site ", 5) == 0 ? "site" : NULL;
}

/*
 * Try g on a copy of the facility, so that a refusal changes nothing: the
 * growth must be one nl_facility_grow accepts, and the facility's idle draw
 * with the new racks must fit the budget in force (no capping goes below
 * idle). 0, or -EINVAL with err and *field.
 */
static int growth_check(const struct ctld *c, const struct nl_facility_growth *g,
                        const char **field, struct nl_err *err)
{
    struct nl_facility *copy = nl_facility_create(nl_facility_spec(c->fac), err);
    if (copy == NULL)
        return err->code;
    int rc = nl_facility_grow(copy, g, err);
    *field = rc < 0 ? field_of(err->msg) : NULL;
    if (rc == 0) {
        struct nl_sched_stats st;
        nl_sched_stats(c->sched, &st);
        const struct nl_facility_spec *spec = nl_facility_spec(c->fac);
        double budget = st.power_budget_w > 0 && spec->power_budget_w > 0
                                ? st.power_budget_w + g->facility_power_w
                                : st.power_budget_w;
        double idle = (double)nl_facility_gpus(copy) * spec->gpu_idle_w * st.pue;
        if (budget > 0 && idle > budget) {
            *field = "power_w";
            rc = nl_err_set(err, -EINVAL,
                            "power_w: with %u more racks the facility idles at %.3f MW, over the "
                            "budget of %.3f MW (add the racks' power with them)",
                            g->racks, idle / 1e6, budget / 1e6);
        }
    }
    nl_facility_destroy(copy);
    return rc;
}

static json_t *grown_json(const struct ctld *c, const struct nl_facility_growth *g,
                          uint32_t first_node, uint64_t old_gpus)
{
    char first[96], last[96];
    uint32_t nn = nl_facility_nodes(c->fac);
    nl_facility_node_name(c->fac, first_node, first, sizeof(first));
    nl_facility_node_name(c->fac, nn - 1, last, sizeof(last));
    struct nl_sched_stats st;
    nl_sched_stats(c->sched, &st);
    return json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:f}", "site", g->site,
                     "racks_added", (json_int_t)g->racks, "nodes_added",
                     (json_int_t)(nn - first_node), "gpus_added",
                     (json_int_t)(nl_facility_gpus(c->fac) - old_gpus), "first_node", first,
                     "last_node", last, "racks", (json_int_t)nl_facility_racks(c->fac), "nodes",
                     (json_int_t)nn, "gpus", (json_int_t)nl_facility_gpus(c->fac), "budget_w",
                     st.power_budget_w);
}

void api_facility_racks(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    struct nl_err err = {0};
    struct nl_facility_growth g;
    const char *field = NULL;
    int rc = growth_of(body, &g, &field, &err);
    if (rc < 0) {
        char f[48];
        snprintf(f, sizeof(f), "%s", field ? field : "");
        json_decref(body);
        return api_err_reply(c, req, &err, f[0] ? f : NULL);
    }
    json_decref(body);
    if ((rc = growth_check(c, &g, &field, &err)) < 0)
        return api_err_reply(c, req, &err, field);
    if (!durable_available(c->dur))
        return api_error(c, req, 503, "unavailable", NULL, "%s", durable_reason(c->dur));
    durable_txn(c->dur);
    const struct nl_store_growth row = {.g = g, .by = c->call.who->token.sub, .at_us = c->clock.us};
    rc = nl_store_growth_add(c->store, &row, &err);
    durable_check(rc, "facility growth", &err);
    uint32_t first_node = nl_facility_nodes(c->fac);
    uint64_t old_gpus = nl_facility_gpus(c->fac);
    /* Checked on the copy: these cannot refuse now, and memory must follow the store. */
    if (nl_facility_grow(c->fac, &g, &err) < 0 || nl_sched_grow(c->sched, &err) < 0)
        durable_fatal("facility growth", &err);
    for (uint32_t n = first_node; n < nl_facility_nodes(c->fac); n++)
        nl_sched_node_set_down(c->sched, n, true, NULL);
    /*
     * An operator's budget in force rose with the racks' power
     * (nl_sched_grow): the stored one follows, or a restart would apply
     * the old figure over the grown facility.
     */
    int64_t stored_w;
    rc = nl_store_meta_get(c->store, "power_budget_w", &stored_w, &err);
    if (rc == 1) {
        struct nl_sched_stats st;
        nl_sched_stats(c->sched, &st);
        rc = nl_store_meta_set(c->store, "power_budget_w", (int64_t)llround(st.power_budget_w),
                               &err);
    }
    durable_check(rc < 0 ? rc : 0, "power budget", &err);
    nodes_grow(c->nodes, nl_facility_nodes(c->fac));
    api_ops_grow(c);
    snprintf(c->call.target, sizeof(c->call.target), "facility racks +%u site %s", g.racks,
             g.site);
    log_info("facility: %u racks added to site %s by %s (%u nodes now)", g.racks, g.site,
             row.by, nl_facility_nodes(c->fac));
    life_mark_dirty(c->life);
    c->next_pass_us = 0;
    api_reply(c, req, 201, grown_json(c, &g, first_node, old_gpus));
}
