/* SPDX-License-Identifier: MIT */
/*
 * seeds.c - the spread of a simulation over seeds: for each figure its
 * median and its worst seed, and, against a baseline policy run on the same
 * workloads, the per-seed ratios (mean JCT, sovereign-tier p95 wait) and
 * differences (utilization) with their median and worst.
 *
 * One seed is one workload draw (trace tenant mapping, constraints,
 * synthetic arrivals); every policy of a seed ran on the very same jobs, so
 * a ratio is taken within a seed and only then summarised. "Worst" is the
 * seed least favourable to the policy: the largest JCT or wait, the lowest
 * utilization, the largest ratio against the baseline.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "sim.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct nl_spread nl_spread_of(const double *v, size_t n, bool lower_better)
{
    struct nl_spread s = {NAN, NAN};
    if (n == 0)
        return s;
    double *sorted = xcalloc(n, sizeof(*sorted));
    memcpy(sorted, v, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_double);
    s.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    s.worst = lower_better ? sorted[n - 1] : sorted[0];
    free(sorted);
    return s;
}

/* The tier whose name starts with "sovereign", else the strongest (index 0). */
static size_t sovereign_tier(const struct nl_sim_result *r)
{
    for (size_t t = 0; t < r->ntiers; t++)
        if (strncmp(r->tier[t].name, "sovereign", 9) == 0)
            return t;
    return 0;
}

enum unit {
    U_PCT,  /* a fraction shown as % */
    U_TIME, /* seconds shown as a duration */
    U_NUM,  /* a plain number */
};

struct figure {
    const char *name, *key; /* table label, JSON key */
    enum unit unit;
    bool lower_better;
    double (*get)(const struct nl_sim_result *r);
};

static double f_util(const struct nl_sim_result *r) { return r->utilization; }
static double f_done(const struct nl_sim_result *r)
{
    return r->jobs ? (double)r->completed / (double)r->jobs : 0;
}
static double f_wait_mean(const struct nl_sim_result *r) { return r->wait_s.mean; }
static double f_wait_p95(const struct nl_sim_result *r) { return r->wait_s.p95; }
static double f_jct_mean(const struct nl_sim_result *r) { return r->jct_s.mean; }
static double f_jct_p95(const struct nl_sim_result *r) { return r->jct_s.p95; }
static double f_slowdown(const struct nl_sim_result *r) { return r->slowdown; }
static double f_sov_wait(const struct nl_sim_result *r)
{
    return r->ntiers ? r->tier[sovereign_tier(r)].wait_s.p95 : 0;
}
static double f_preempt(const struct nl_sim_result *r) { return (double)r->preemptions; }
static double f_viol(const struct nl_sim_result *r) { return (double)nl_sim_violations_total(r); }
static double f_wall(const struct nl_sim_result *r) { return r->wall_s; }

static const struct figure figures[] = {
        {"jobs completed", "completed_share", U_PCT, false, f_done},
        {"utilization", "utilization", U_PCT, false, f_util},
        {"wait mean", "wait_mean_s", U_TIME, true, f_wait_mean},
        {"wait p95", "wait_p95_s", U_TIME, true, f_wait_p95},
        {"jct mean", "jct_mean_s", U_TIME, true, f_jct_mean},
        {"jct p95", "jct_p95_s", U_TIME, true, f_jct_p95},
        {"bounded slowdown", "slowdown", U_NUM, true, f_slowdown},
        {"sovereign wait p95", "sovereign_wait_p95_s", U_TIME, true, f_sov_wait},
        {"preemptions", "preemptions", U_NUM, true, f_preempt},
        {"violations", "violations", U_NUM, true, f_viol},
        {"wall time", "wall_s", U_NUM, true, f_wall},
};
#define NFIGURES (sizeof(figures) / sizeof(figures[0]))

/*
 * Comparisons with the baseline, per seed. A ratio's worst is its largest
 * (the policy at its weakest); utilization is a difference in points,
 * whose worst is its lowest.
 */
struct versus {
    const char *name, *key;
    bool ratio; /* else a difference in percentage points */
    double (*get)(const struct nl_sim_result *r);
};

static const struct versus versus[] = {
        {"mean jct ratio", "jct_mean_ratio", true, f_jct_mean},
        {"sovereign wait p95 ratio", "sovereign_wait_p95_ratio", true, f_sov_wait},
        {"utilization difference (pt)", "utilization_diff_pt", false, f_util},
};
#define NVERSUS (sizeof(versus) / sizeof(versus[0]))

static double versus_value(const struct versus *v, const struct nl_sim_result *r,
                           const struct nl_sim_result *base)
{
    double a = v->get(r), b = v->get(base);
    if (!v->ratio)
        return 100.0 * (a - b);
    if (b == 0)
        return a == 0 ? 1.0 : INFINITY;
    return a / b;
}

/* Figure f of policy p over the seeds: res is [seed][policy], row-major. */
static struct nl_spread figure_spread(const struct figure *f, const struct nl_sim_result *res,
                                      size_t nseed, size_t npol, size_t p)
{
    double *v = xcalloc(nseed, sizeof(*v));
    for (size_t s = 0; s < nseed; s++)
        v[s] = f->get(&res[s * npol + p]);
    struct nl_spread sp = nl_spread_of(v, nseed, f->lower_better);
    free(v);
    return sp;
}

static struct nl_spread versus_spread(const struct versus *vs, const struct nl_sim_result *res,
                                      size_t nseed, size_t npol, size_t p, size_t base)
{
    double *v = xcalloc(nseed, sizeof(*v));
    for (size_t s = 0; s < nseed; s++)
        v[s] = versus_value(vs, &res[s * npol + p], &res[s * npol + base]);
    struct nl_spread sp = nl_spread_of(v, nseed, vs->ratio);
    free(v);
    return sp;
}

static void cell(char *buf, size_t size, enum unit u, double x)
{
    if (u == U_PCT)
        snprintf(buf, size, "%.1f%%", 100 * x);
    else if (u == U_NUM)
        snprintf(buf, size, x == floor(x) && fabs(x) < 1e15 ? "%.0f" : "%.2f", x);
    else if (x < 120)
        snprintf(buf, size, "%.0fs", x);
    else if (x < 7200)
        snprintf(buf, size, "%.1fm", x / 60);
    else if (x < 172800)
        snprintf(buf, size, "%.1fh", x / 3600);
    else
        snprintf(buf, size, "%.1fd", x / 86400);
}

void nl_sim_report_seeds(const struct nl_sim_result *res, size_t nseed, size_t npol,
                         const uint64_t *seeds, int base, void *file)
{
    FILE *f = file;
    if (nseed == 0 || npol == 0)
        return;
    fprintf(f, "facility %s (%llu GPUs), workload %s, %zu seeds (%llu..%llu): median / worst\n\n",
            res[0].facility, (unsigned long long)res[0].gpus, res[0].workload, nseed,
            (unsigned long long)seeds[0], (unsigned long long)seeds[nseed - 1]);
    fprintf(f, "%-28s", "policy");
    for (size_t p = 0; p < npol; p++)
        fprintf(f, " %21s", res[p].policy);
    fputc('\n', f);
    for (size_t k = 0; k < NFIGURES; k++) {
        fprintf(f, "%-28s", figures[k].name);
        for (size_t p = 0; p < npol; p++) {
            struct nl_spread sp = figure_spread(&figures[k], res, nseed, npol, p);
            char a[32], b[32], both[72];
            cell(a, sizeof(a), figures[k].unit, sp.median);
            cell(b, sizeof(b), figures[k].unit, sp.worst);
            snprintf(both, sizeof(both), "%s / %s", a, b);
            fprintf(f, " %21s", both);
        }
        fputc('\n', f);
    }
    if (base < 0 || npol < 2)
        return;
    fprintf(f, "\nagainst %s, seed by seed: median / worst\n", res[base].policy);
    for (size_t k = 0; k < NVERSUS; k++) {
        fprintf(f, "%-28s", versus[k].name);
        for (size_t p = 0; p < npol; p++) {
            if ((int)p == base) {
                fprintf(f, " %21s", "-");
                continue;
            }
            struct nl_spread sp = versus_spread(&versus[k], res, nseed, npol, p, (size_t)base);
            char both[72];
            snprintf(both, sizeof(both), versus[k].ratio ? "%.2f / %.2f" : "%+.1f / %+.1f",
                     sp.median, sp.worst);
            fprintf(f, " %21s", both);
        }
        fputc('\n', f);
    }
}

static json_t *spread_json(struct nl_spread sp)
{
    /* JSON has no infinity: a ratio over a zero baseline is null. */
    return json_pack("{s:o, s:o}", "median", isfinite(sp.median) ? json_real(sp.median) : json_null(),
                     "worst", isfinite(sp.worst) ? json_real(sp.worst) : json_null());
}

char *nl_sim_report_seeds_json(const struct nl_sim_result *res, size_t nseed, size_t npol,
                               const uint64_t *seeds, int base)
{
    json_t *jseeds = json_array();
    for (size_t s = 0; s < nseed; s++)
        json_array_append_new(jseeds, json_integer((json_int_t)seeds[s]));
    json_t *summary = json_object();
    for (size_t p = 0; p < npol; p++) {
        json_t *pol = json_object();
        for (size_t k = 0; k < NFIGURES; k++)
            json_object_set_new(pol, figures[k].key,
                                spread_json(figure_spread(&figures[k], res, nseed, npol, p)));
        if (base >= 0 && (int)p != base) {
            json_t *vs = json_object();
            for (size_t k = 0; k < NVERSUS; k++)
                json_object_set_new(
                        vs, versus[k].key,
                        spread_json(versus_spread(&versus[k], res, nseed, npol, p, (size_t)base)));
            json_object_set_new(pol, "against_baseline", vs);
        }
        json_object_set_new(summary, res[p].policy, pol);
    }
    json_t *runs = json_array();
    for (size_t i = 0; i < nseed * npol; i++) {
        char *one = nl_sim_report_json(&res[i], 1);
        json_t *r = json_loads(one, 0, NULL);
        free(one);
        json_object_set_new(r, "seed", json_integer((json_int_t)seeds[i / npol]));
        json_array_append_new(runs, r);
    }
    json_t *root = json_pack("{s:o, s:o, s:o, s:o}", "seeds", jseeds, "baseline",
                             base >= 0 ? json_string(res[base].policy) : json_null(), "summary",
                             summary, "runs", runs);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    return text;
}
