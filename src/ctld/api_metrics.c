/* SPDX-License-Identifier: MIT */
/*
 * api_metrics.c - GET /metrics in the Prometheus text format (0.0.4).
 *
 * Live figures (jobs by state and tier, GPUs by tier, power) are read from
 * the scheduler at scrape time; counters and histograms are kept in
 * ctld_stats as events happen. A scrape walks the live jobs once
 * (O(live jobs), about 10 ms at 100k jobs), which is fine at the usual
 * 15 s scrape interval.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ctld/ctld.h"
#include "ctld/durable.h"
#include "ctld/gate.h"
#include "ctld/http.h"
#include "ctld/job_json.h"
#include "ctld/life.h"
#include "ctld/metrics.h"
#include "ctld/nodes.h"
#include "ctld/outtail.h"
#include "ctld/routes.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "store/store.h"

static void jobs_by_state_tier(struct ctld *c, struct textbuf *b)
{
    size_t ntiers = nl_tenants_tier_count(c->tenants);
    uint64_t live[NL_JOB_STATE_COUNT][NL_TIERS_MAX];
    memset(live, 0, sizeof(live));
    const uint64_t *ids = NULL;
    size_t n = nl_sched_jobs(c->sched, &ids);
    for (size_t i = 0; i < n; i++) {
        struct nl_job_info info;
        if (nl_sched_job_info(c->sched, ids[i], &info) < 0 || info.state >= NL_JOB_STATE_COUNT)
            continue;
        const struct nl_tenant_spec *t = nl_tenants_get(c->tenants, info.spec.tenant);
        if (t != NULL && t->tier < NL_TIERS_MAX)
            live[info.state][t->tier]++;
    }
    metrics_family(b, "nordlys_jobs", "gauge", "Live jobs by state and tier.");

    static const enum nl_job_state live_states[] = {NL_JOB_PENDING, NL_JOB_RUNNING,
                                                    NL_JOB_PREEMPTING};

    for (size_t s = 0; s < 3; s++)
        for (size_t t = 0; t < ntiers; t++)
            textbuf_printf(b, "nordlys_jobs{state=\"%s\",tier=\"%s\"} %" PRIu64 "\n",
                           nl_job_state_name(live_states[s]),
                           nl_tenants_tier(c->tenants, (uint32_t)t)->name, live[live_states[s]][t]);
    metrics_family(b, "nordlys_jobs_ended_total", "counter",
                   "Jobs that reached a terminal state since the controller started.");
    for (int s = 1; s < NL_JOB_STATE_COUNT; s++) {
        if (!nl_job_state_terminal((enum nl_job_state)s))
            continue;
        for (size_t t = 0; t < ntiers; t++)
            textbuf_printf(b, "nordlys_jobs_ended_total{state=\"%s\",tier=\"%s\"} %" PRIu64 "\n",
                           nl_job_state_name((enum nl_job_state)s),
                           nl_tenants_tier(c->tenants, (uint32_t)t)->name,
                           life_stats(c->life)->ended[s][t]);
    }
    metrics_family(b, "nordlys_jobs_submitted_total", "counter",
                   "Jobs accepted (committed) since the controller started.");
    textbuf_printf(b, "nordlys_jobs_submitted_total %" PRIu64 "\n", life_stats(c->life)->submitted);
}

static void gpus_and_power(struct ctld *c, struct textbuf *b)
{
    struct nl_sched_stats st;
    nl_sched_stats(c->sched, &st);
    metrics_family(b, "nordlys_gpus", "gauge", "GPUs of the facility by state.");
    textbuf_printf(b, "nordlys_gpus{state=\"total\"} %" PRIu64 "\n", st.gpus_total);
    textbuf_printf(b, "nordlys_gpus{state=\"allocated\"} %" PRIu64 "\n", st.gpus_alloc);
    textbuf_printf(b, "nordlys_gpus{state=\"down\"} %" PRIu64 "\n", st.gpus_down);
    metrics_family(b, "nordlys_gpus_allocated", "gauge", "GPUs allocated, by tier.");
    for (uint32_t t = 0; t < nl_tenants_tier_count(c->tenants); t++)
        textbuf_printf(b, "nordlys_gpus_allocated{tier=\"%s\"} %" PRIu64 "\n",
                       nl_tenants_tier(c->tenants, t)->name, nl_sched_tier_gpus(c->sched, t));
    metrics_family(b, "nordlys_power_watts", "gauge", "Facility power draw now (PUE applied).");
    textbuf_printf(b, "nordlys_power_watts %.6g\n", st.power_w);
    metrics_family(b, "nordlys_power_it_watts", "gauge", "IT power draw now.");
    textbuf_printf(b, "nordlys_power_it_watts %.6g\n", st.power_it_w);
    metrics_family(b, "nordlys_power_budget_watts", "gauge",
                   "Facility power budget (0 means none).");
    textbuf_printf(b, "nordlys_power_budget_watts %.6g\n", st.power_budget_w);
    metrics_family(b, "nordlys_energy_kwh_total", "counter",
                   "Facility energy since the controller started.");
    textbuf_printf(b, "nordlys_energy_kwh_total %.6g\n", st.energy_wh / 1000.0);
    metrics_family(b, "nordlys_fragmentation", "gauge",
                   "Free GPUs outside wholly free racks over free GPUs.");
    textbuf_printf(b, "nordlys_fragmentation %.6g\n", st.fragmentation);
    metrics_family(
            b, "nordlys_output_tail_bytes", "gauge",
            "Bytes of job output the controller holds in memory (GET /v1/jobs/{id}/output).");
    textbuf_printf(b, "nordlys_output_tail_bytes %zu\n", c->out ? outtail_bytes(c->out) : 0);
    metrics_family(b, "nordlys_sched_passes_total", "counter", "Scheduling passes.");
    textbuf_printf(b, "nordlys_sched_passes_total %" PRIu64 "\n", st.passes);
    metrics_family(b, "nordlys_preemptions_total", "counter", "Preemptions.");
    textbuf_printf(b, "nordlys_preemptions_total %" PRIu64 "\n", st.preemptions);
}

static void node_states(struct ctld *c, struct textbuf *b)
{
    uint64_t count[3] = {0};
    for (uint32_t n = 0; n < nl_facility_nodes(c->fac); n++)
        count[nodes_state(c->nodes, n)]++;
    metrics_family(b, "nordlys_nodes", "gauge", "Nodes by state.");
    static const char *const names[] = {"unregistered", "up", "down"};
    for (int i = 0; i < 3; i++)
        textbuf_printf(b, "nordlys_nodes{state=\"%s\"} %" PRIu64 "\n", names[i], count[i]);
}

static void histograms(struct ctld *c, struct textbuf *b)
{
    metrics_family(b, "nordlys_queue_wait_seconds", "histogram", "Time from submit to start.");
    metrics_histogram(b, "nordlys_queue_wait_seconds", "", &life_stats(c->life)->queue_wait_s);
    metrics_family(b, "nordlys_sched_cycle_seconds", "histogram",
                   "One scheduling pass with its actions carried out.");
    metrics_histogram(b, "nordlys_sched_cycle_seconds", "", &life_stats(c->life)->sched_cycle_s);
    metrics_family(b, "nordlys_store_commit_seconds", "histogram", "One group commit.");
    metrics_histogram(b, "nordlys_store_commit_seconds", "", &c->stats.commit_s);
    metrics_family(b, "nordlys_api_request_duration_seconds", "histogram",
                   "From a request's first byte to its answer being queued, by route.");
    size_t n;
    const struct route *t = api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        char labels[96];
        snprintf(labels, sizeof(labels), "route=\"%s %s\"", t[i].method, t[i].pattern);
        metrics_histogram(b, "nordlys_api_request_duration_seconds", labels, &c->stats.api_s[i]);
    }
    metrics_histogram(b, "nordlys_api_request_duration_seconds", "route=\"other\"",
                      &c->stats.api_s[CTLD_ROUTES_MAX - 1]);
}

/* What the gate keeps from the scheduler (issue 12): not in nordlys_jobs' pending count. */
static void gated(struct ctld *c, struct textbuf *b)
{
    struct gate_counts n;
    gate_counts(c->gate, &n);
    metrics_family(
            b, "nordlys_gate_jobs", "gauge",
            "Pending jobs kept from the scheduler: held, waiting on a dependency, array jobs.");
    textbuf_printf(b, "nordlys_gate_jobs{kind=\"held\"} %" PRIu64 "\n", n.held);
    textbuf_printf(b, "nordlys_gate_jobs{kind=\"dependency\"} %" PRIu64 "\n", n.dependency);
    textbuf_printf(b, "nordlys_gate_jobs{kind=\"array\"} %" PRIu64 "\n", n.arrays);
    metrics_family(b, "nordlys_array_tasks_unfinished", "gauge",
                   "Tasks of live arrays made and not ended (pending or running).");
    textbuf_printf(b, "nordlys_array_tasks_unfinished %" PRIu64 "\n", n.tasks);
}

void api_metrics(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    struct textbuf b;
    textbuf_init(&b);
    jobs_by_state_tier(c, &b);
    gpus_and_power(c, &b);
    api_power_metrics(c, &b);
    node_states(c, &b);
    gated(c, &b);
    histograms(c, &b);
    metrics_family(&b, "nordlys_store_available", "gauge",
                   "1 while the store commits, 0 while writes are answered 503 (disk full).");
    textbuf_printf(&b, "nordlys_store_available %d\n", durable_available(c->dur) ? 1 : 0);
    metrics_family(&b, "nordlys_store_commits_total", "counter", "Group commits.");
    textbuf_printf(&b, "nordlys_store_commits_total %" PRIu64 "\n", c->stats.commits);
    metrics_family(&b, "nordlys_api_requests_total", "counter", "HTTP requests dispatched.");
    textbuf_printf(&b, "nordlys_api_requests_total %" PRIu64 "\n", c->stats.requests);
    metrics_family(&b, "nordlys_http_buffered_bytes", "gauge",
                   "Bytes of request bodies buffered now, all connections together.");
    textbuf_printf(&b, "nordlys_http_buffered_bytes %zu\n", http_buffered_bytes(c->http));
    metrics_family(&b, "nordlys_http_busy_refusals_total", "counter",
                   "Requests answered 503 because request bodies in flight reached their bound.");
    textbuf_printf(&b, "nordlys_http_busy_refusals_total %" PRIu64 "\n",
                   http_busy_refusals(c->http));
    http_reply(req, 200, "text/plain; version=0.0.4", textbuf_take(&b));
    if (nl_store_in_txn(c->store) && nl_store_txn_writes(c->store) > 0)
        http_req_hold(req);
}
