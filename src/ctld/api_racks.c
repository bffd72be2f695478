/* SPDX-License-Identifier: MIT */
/*
 * api_racks.c - GET /v1/racks: the facility rack by rack, for the
 * dashboard's rack map (issue 14).
 *
 * /v1/nodes at narvik scale is 25,002 node objects (several MB); a map
 * needs only a few numbers per rack. So the answer is columnar: one array
 * per quantity, indexed by the global rack index, which stays small and
 * cheap to build at gw10 scale (about 70,000 racks). ?rack=N answers one
 * rack with its nodes and their jobs, for the map's click-through.
 * power_w and temp_c (issue 14) are the agents' readings: a rack's GPUs'
 * measured draw and its hottest GPU, null where no node of the rack has a
 * fresh reading (or, for temp_c, its agent sent no temperature).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "common/xalloc.h"
#include "ctld/ctld.h"
#include "ctld/http.h"
#include "ctld/job_json.h"
#include "ctld/life.h"
#include "ctld/nodes.h"
#include "ctld/routes.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"

/* GPUs of node held by a job, and the distinct jobs (appended to jobs when not NULL). */
static uint32_t node_alloc(const struct ctld *c, uint32_t node, json_t *jobs)
{
    uint32_t gpus = nl_facility_node_gpus(c->fac, node), n = 0;
    uint64_t last = 0;
    for (uint32_t g = 0; g < gpus; g++) {
        uint64_t owner = nl_sched_gpu_owner(c->sched, node, g);
        if (owner == 0)
            continue;
        n++;
        if (jobs != NULL && owner != last)
            json_array_append_new(jobs, json_integer((json_int_t)owner));
        last = owner;
    }
    return n;
}

static const char *const rack_node_states[] = {"unregistered", "up", "down"};

static void rack_detail(struct ctld *c, struct http_req *req, uint32_t rack)
{
    uint32_t site = nl_facility_rack_site(c->fac, rack);
    struct nl_site_info si;
    nl_facility_site(c->fac, site, &si);
    uint32_t first = si.first_node + (rack - si.first_rack) * si.nodes_per_rack;
    json_t *nodes = json_array();
    for (uint32_t node = first; node < first + si.nodes_per_rack; node++) {
        char name[96];
        nl_facility_node_name(c->fac, node, name, sizeof(name));
        json_t *jobs = json_array();
        uint32_t alloc = node_alloc(c, node, jobs);
        json_array_append_new(nodes,
                              json_pack("{s:s, s:I, s:I, s:s, s:o, s:o}", "name", name, "gpus",
                                        (json_int_t)nl_facility_node_gpus(c->fac, node),
                                        "gpus_alloc", (json_int_t)alloc, "state",
                                        rack_node_states[nodes_state(c->nodes, node)], "jobs", jobs,
                                        "last_heartbeat",
                                        job_json_time(nodes_node_heartbeat(c->nodes, node))));
    }
    struct nl_node_pos pos;
    nl_facility_node_pos(c->fac, first, &pos);
    api_reply(c, req, 200,
              json_pack("{s:I, s:s, s:I, s:I, s:o}", "rack", (json_int_t)rack, "site", si.name,
                        "pod", (json_int_t)pos.pod, "rack_in_pod", (json_int_t)pos.rack_in_pod,
                        "nodes", nodes));
}

/*
 * GPUs held and nodes not up, per rack: from the running jobs' allocations
 * (a few per job) and one pass over the node states, never a pass over
 * every GPU (5 million at gw10, where this answer must stay cheap).
 */
static void rack_counts(const struct ctld *c, uint32_t *alloc, uint32_t *down, double *power_w,
                        float *temp_c)
{
    const uint64_t *ids;
    size_t njobs = nl_sched_jobs(c->sched, &ids);
    for (size_t j = 0; j < njobs; j++) {
        const struct nl_alloc_node *an;
        size_t nn = nl_sched_job_alloc(c->sched, ids[j], &an);
        for (size_t k = 0; k < nn; k++) {
            struct nl_node_pos pos;
            nl_facility_node_pos(c->fac, an[k].node, &pos);
            alloc[pos.rack] += (uint32_t)__builtin_popcount(an[k].mask);
        }
    }
    for (uint32_t s = 0; s < nl_facility_nsites(c->fac); s++) {
        struct nl_site_info si;
        nl_facility_site(c->fac, s, &si);
        for (uint32_t n = 0; n < si.nnodes; n++) {
            uint32_t r = si.first_rack + n / si.nodes_per_rack;
            double w, t;
            down[r] += nodes_state(c->nodes, si.first_node + n) != NODE_UP;
            if (!life_node_reading(c->life, si.first_node + n, &w, &t))
                continue;
            power_w[r] = (power_w[r] < 0 ? 0 : power_w[r]) + w;
            temp_c[r] = (float)t > temp_c[r] ? (float)t : temp_c[r];
        }
    }
}

void api_racks(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    uint32_t nracks = nl_facility_racks(c->fac);
    const char *one = http_req_query(req, "rack");
    if (one != NULL) {
        char *end = NULL;
        unsigned long long v = strtoull(one, &end, 10);
        if (one[0] < '0' || one[0] > '9' || *end != '\0' || v >= nracks)
            return api_error(c, req, 400, "invalid_field", "rack",
                             "rack: '%.40s' is not a rack index 0..%u", one, nracks - 1);
        return rack_detail(c, req, (uint32_t)v);
    }
    uint32_t *alloc_n = xcalloc(nracks, sizeof(uint32_t)),
             *down_n = xcalloc(nracks, sizeof(uint32_t));
    double *power_n = xcalloc(nracks, sizeof(double));
    float *temp_n = xcalloc(nracks, sizeof(float));
    for (uint32_t r = 0; r < nracks; r++)
        power_n[r] = -1; /* no reading */
    rack_counts(c, alloc_n, down_n, power_n, temp_n);
    json_t *sites = json_array(), *site = json_array(), *pod = json_array(), *gpus = json_array(),
           *alloc = json_array(), *down = json_array(), *power = json_array(), *temp = json_array();
    for (uint32_t s = 0; s < nl_facility_nsites(c->fac); s++) {
        struct nl_site_info si;
        nl_facility_site(c->fac, s, &si);
        json_array_append_new(sites, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "name", si.name,
                                               "first_rack", (json_int_t)si.first_rack, "racks",
                                               (json_int_t)si.nracks, "first_pod",
                                               (json_int_t)si.first_pod, "racks_per_pod",
                                               (json_int_t)si.racks_per_pod, "nodes_per_rack",
                                               (json_int_t)si.nodes_per_rack));
        for (uint32_t r = 0; r < si.nracks; r++) {
            json_array_append_new(site, json_integer(s));
            json_array_append_new(pod, json_integer(si.first_pod + r / si.racks_per_pod));
            json_array_append_new(gpus, json_integer(si.gpus_per_rack));
            json_array_append_new(alloc, json_integer(alloc_n[si.first_rack + r]));
            json_array_append_new(down, json_integer(down_n[si.first_rack + r]));
            double w = power_n[si.first_rack + r], t = temp_n[si.first_rack + r];
            /* Whole watts and tenths of a degree: the map needs no more, the answer stays small. */
            json_array_append_new(power,
                                  w >= 0 ? json_integer((json_int_t)(w + 0.5)) : json_null());
            json_array_append_new(temp, t > 0 ? json_real(round(t * 10) / 10) : json_null());
        }
    }
    free(alloc_n);
    free(down_n);
    free(power_n);
    free(temp_n);
    api_reply(c, req, 200,
              json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "racks",
                        (json_int_t)nracks, "pods", (json_int_t)nl_facility_pods(c->fac), "sites",
                        sites, "site", site, "pod", pod, "gpus", gpus, "gpus_alloc", alloc,
                        "nodes_down", down, "power_w", power, "temp_c", temp));
}
