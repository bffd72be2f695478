/* SPDX-License-Identifier: MIT */
/*
 * report.c - a simulation's results as JSON (the keys scripts rely on, see
 * docs/sim.md), as a human table with policies side by side, and as CSV
 * time series.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "nordlys/err.h"
#include "sim.h"

static json_t *dist_json(const struct nl_dist *d)
{
    return json_pack("{s:f, s:f, s:f, s:f}", "mean", d->mean, "p50", d->p50, "p95", d->p95, "p99",
                     d->p99);
}

static json_t *result_json(const struct nl_sim_result *r)
{
    json_t *tiers = json_object();
    for (size_t t = 0; t < r->ntiers; t++) {
        const struct nl_sim_tier *tr = &r->tier[t];
        json_object_set_new(tiers, tr->name,
                            json_pack("{s:I, s:I, s:o, s:o, s:f, s:f}", "jobs", (json_int_t)tr->jobs,
                                      "completed", (json_int_t)tr->completed, "wait_s",
                                      dist_json(&tr->wait_s), "jct_s", dist_json(&tr->jct_s),
                                      "slowdown", tr->slowdown, "gpu_hours", tr->gpu_hours));
    }
    const struct nl_sched_violations *v = &r->violations;
    json_t *viol = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "residency",
                             (json_int_t)v->residency, "power", (json_int_t)v->power, "quota",
                             (json_int_t)v->quota, "double_allocation", (json_int_t)v->double_alloc,
                             "gang", (json_int_t)v->gang, "isolation", (json_int_t)v->isolation,
                             "total", (json_int_t)nl_sim_violations_total(r));
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:o, s:o, s:f}", "policy",
                          r->policy, "facility", r->facility, "workload", r->workload, "gpus",
                          (json_int_t)r->gpus, "jobs", (json_int_t)r->jobs, "completed",
                          (json_int_t)r->completed, "rejected", (json_int_t)r->rejected,
                          "timeouts", (json_int_t)r->timeouts, "utilization", r->utilization,
                          "wait_s", dist_json(&r->wait_s), "jct_s", dist_json(&r->jct_s),
                          "slowdown", r->slowdown);
    json_object_set_new(o, "gpu_hours_alloc", json_real(r->gpu_hours_alloc));
    json_object_set_new(o, "gpu_hours_work", json_real(r->gpu_hours_work));
    json_object_set_new(o, "by_tier", tiers);
    json_object_set_new(o, "preemptions", json_integer((json_int_t)r->preemptions));
    json_object_set_new(o, "fragmentation", json_real(r->fragmentation));
    json_object_set_new(o, "power_peak_w", json_real(r->power_peak_w));
    json_object_set_new(o, "power_mean_w", json_real(r->power_mean_w));
    json_object_set_new(o, "power_budget_w", json_real(r->power_budget_w));
    json_object_set_new(o, "energy_mwh", json_real(r->energy_mwh));
    json_t *pw = json_object();
    json_object_set_new(pw, "caps", json_integer((json_int_t)r->power_caps));
    json_object_set_new(pw, "preemptions", json_integer((json_int_t)r->power_preemptions));
    json_object_set_new(pw, "claims_preempt", json_integer((json_int_t)r->power_claims_preempt));
    json_object_set_new(pw, "claims_cap", json_integer((json_int_t)r->power_claims_cap));
    json_object_set_new(pw, "capped_gpu_hours", json_real(r->capped_gpu_hours));
    json_object_set_new(pw, "work_lost_gpu_hours", json_real(r->work_lost_gpu_hours));
    json_object_set_new(pw, "real_peak_w", json_real(r->true_peak_w));
    json_object_set_new(pw, "real_over_budget_s", json_real(r->true_over_s));
    json_object_set_new(pw, "real_over_budget_max_w", json_real(r->true_over_max_w));
    json_object_set_new(o, "power", pw);
    json_object_set_new(o, "violations", viol);
    json_object_set_new(o, "makespan_s", json_real(r->makespan_s));
    json_object_set_new(o, "wall_s", json_real(r->wall_s));
    json_object_set_new(o, "events", json_integer((json_int_t)r->events));
    json_object_set_new(o, "events_per_s", json_real(r->events_per_s));
    json_object_set_new(o, "passes", json_integer((json_int_t)r->passes));
    json_object_set_new(o, "decisions", json_integer((json_int_t)r->decisions));
    json_object_set_new(o, "sched_bytes_per_gpu",
                        json_real(r->gpus ? (double)r->sched_bytes / (double)r->gpus : 0));
    return o;
}

char *nl_sim_report_json(const struct nl_sim_result *res, size_t n)
{
    json_t *root;
    if (n == 1) {
        root = result_json(&res[0]);
    } else {
        json_t *runs = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(runs, result_json(&res[i]));
        root = json_pack("{s:o}", "runs", runs);
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    return text;
}

/* Seconds as a short human duration: 42s, 3.5m, 2.1h, 4.0d. */
static const char *dur(double s, char *buf, size_t size)
{
    if (s < 120)
        snprintf(buf, size, "%.0fs", s);
    else if (s < 7200)
        snprintf(buf, size, "%.1fm", s / 60);
    else if (s < 172800)
        snprintf(buf, size, "%.1fh", s / 3600);
    else
        snprintf(buf, size, "%.1fd", s / 86400);
    return buf;
}

#define ROW(label, fmt, ...)                                 \
    do {                                                     \
        fprintf(f, "%-26s", label);                          \
        for (size_t i = 0; i < n; i++) {                     \
            const struct nl_sim_result *r = &res[i];         \
            char cell[64];                                   \
            snprintf(cell, sizeof(cell), fmt, __VA_ARGS__);  \
            fprintf(f, " %14s", cell);                       \
        }                                                    \
        fputc('\n', f);                                      \
    } while (0)

#define DROW(label, expr)                                    \
    do {                                                     \
        fprintf(f, "%-26s", label);                          \
        for (size_t i = 0; i < n; i++) {                     \
            const struct nl_sim_result *r = &res[i];         \
            char cell[64];                                   \
            fprintf(f, " %14s", dur(expr, cell, sizeof(cell))); \
        }                                                    \
        fputc('\n', f);                                      \
    } while (0)

/* Megawatts, or "none" for a facility without a power budget (a --nodes cluster). */
static const char *mw_or_none(double w, char *buf, size_t size)
{
    if (w <= 0)
        return "none";
    snprintf(buf, size, "%.0f", w / 1e6);
    return buf;
}

void nl_sim_report_table(const struct nl_sim_result *res, size_t n, void *file)
{
    FILE *f = file;
    if (n == 0)
        return;
    fprintf(f, "facility %s (%llu GPUs), workload %s\n\n", res[0].facility,
            (unsigned long long)res[0].gpus, res[0].workload);
    ROW("policy", "%s", r->policy);
    ROW("jobs completed / total", "%llu/%llu", (unsigned long long)r->completed,
        (unsigned long long)r->jobs);
    ROW("utilization", "%.1f%%", 100 * r->utilization);
    DROW("wait mean", r->wait_s.mean);
    DROW("wait p95", r->wait_s.p95);
    DROW("jct mean", r->jct_s.mean);
    DROW("jct p95", r->jct_s.p95);
    ROW("bounded slowdown", "%.2f", r->slowdown);
    for (size_t t = 0; t < res[0].ntiers; t++) {
        char label[64];
        snprintf(label, sizeof(label), "%s wait p95", res[0].tier[t].name);
        DROW(label, r->tier[t].wait_s.p95);
        snprintf(label, sizeof(label), "%s jct mean", res[0].tier[t].name);
        DROW(label, r->tier[t].jct_s.mean);
    }
    ROW("preemptions", "%llu", (unsigned long long)r->preemptions);
    ROW("fragmentation", "%.3f", r->fragmentation);
    char budget[32];
    ROW("power peak / budget", "%.0f/%s MW", r->power_peak_w / 1e6,
        mw_or_none(r->power_budget_w, budget, sizeof(budget)));
    ROW("energy", "%.0f MWh", r->energy_mwh);
    ROW("power caps / preemptions", "%llu/%llu", (unsigned long long)r->power_caps,
        (unsigned long long)r->power_preemptions);
    ROW("capped GPU-h / lost", "%.0f/%.0f", r->capped_gpu_hours, r->work_lost_gpu_hours);
    ROW("real draw peak / over", "%.1f MW/%.0fs", r->true_peak_w / 1e6, r->true_over_s);
    ROW("real draw most over", "%.2f MW", r->true_over_max_w / 1e6);
    ROW("violations", "%llu", (unsigned long long)nl_sim_violations_total(r));
    ROW("wall time", "%.2fs", r->wall_s);
    ROW("events/s", "%.0f", r->events_per_s);
}

int nl_sim_write_series(const struct nl_sim_result *res, size_t n, const char *dir,
                        struct nl_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const struct nl_sim_result *r = &res[i];
        char path[4096];
        snprintf(path, sizeof(path), "%s/timeseries-%s.csv", dir, r->policy);
        FILE *f = fopen(path, "w");
        if (f == NULL)
            return nl_err_set(err, -errno, "%s: %s", path, strerror(errno));
        fprintf(f, "t_s,utilization,power_w,running");
        for (size_t t = 0; t < r->ntiers; t++)
            fprintf(f, ",pending_%s", r->tier[t].name);
        fputc('\n', f);
        for (size_t k = 0; k < r->nsamples; k++) {
            const struct nl_sim_sample *sm = &r->samples[k];
            fprintf(f, "%.0f,%.5f,%.0f,%u", sm->t_s, sm->util, sm->power_w, sm->running);
            for (size_t t = 0; t < r->ntiers; t++)
                fprintf(f, ",%u", sm->pending[t]);
            fputc('\n', f);
        }
        if (fclose(f) != 0)
            return nl_err_set(err, -EIO, "%s: write failed", path);
    }
    return 0;
}
