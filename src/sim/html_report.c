/* SPDX-License-Identifier: MIT */
/*
 * html_report.c - report.html and its figures (see html_report.h).
 *
 * Each figure is written once into memory (svg.c), then both inlined into
 * the page and saved as its own file, so the two never differ.
 */
#include "html_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "nordlys/err.h"
#include "sim.h"
#include "svg.h"

struct page {
    FILE *html;
    const char *dir;
    struct nl_err *err;
    int rc; /* the first failure; later writes are skipped */
};

/* Column arrays of one result's samples, for svg_series (owned: columns_release). */
struct columns {
    double *t, *util, *power_mw, *pending[NL_SIM_TIERS_MAX];
};

static void columns_init(struct columns *c, const struct nl_sim_result *r)
{
    size_t n = r->nsamples ? r->nsamples : 1;
    c->t = xcalloc(n, sizeof(double));
    c->util = xcalloc(n, sizeof(double));
    c->power_mw = xcalloc(n, sizeof(double));
    for (size_t t = 0; t < NL_SIM_TIERS_MAX; t++)
        c->pending[t] = t < r->ntiers ? xcalloc(n, sizeof(double)) : NULL;
    for (size_t k = 0; k < r->nsamples; k++) {
        const struct nl_sim_sample *s = &r->samples[k];
        c->t[k] = s->t_s;
        c->util[k] = 100 * s->util;
        c->power_mw[k] = s->power_w / 1e6;
        for (size_t t = 0; t < r->ntiers; t++)
            c->pending[t][k] = s->pending[t];
    }
}

static void columns_release(struct columns *c)
{
    free(c->t);
    free(c->util);
    free(c->power_mw);
    for (size_t t = 0; t < NL_SIM_TIERS_MAX; t++)
        free(c->pending[t]);
}

/* A figure: render into memory, save as DIR/NAME, inline into the page with a caption. */
enum fig_kind {
    FIG_LINE,
    FIG_RANGE
};

static void figure(struct page *p, const char *name, enum fig_kind kind, const void *chart)
{
    if (p->rc < 0)
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m == NULL) {
        p->rc = nl_err_set(p->err, -ENOMEM, "%s: cannot render", name);
        return;
    }
    if (kind == FIG_LINE)
        svg_line_chart_write(m, chart);
    else
        svg_range_chart_write(m, chart);
    fclose(m);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", p->dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        p->rc = nl_err_set(p->err, errno ? -errno : -EIO, "%s: %s", path,
                           strerror(errno ? errno : EIO));
        free(buf);
        return;
    }
    fprintf(p->html, "<figure>\n%s<figcaption><a href=\"%s\">%s</a></figcaption></figure>\n", buf,
            name, name);
    free(buf);
}

static void head(FILE *h, const struct nl_sim_result *r)
{
    fputs("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>nordlys sim: ",
          h);
    svg_escape(h, r->workload);
    fputs(" on ", h);
    svg_escape(h, r->facility);
    fputs("</title>\n<style>\n"
          "body{font:14px/1.45 sans-serif;margin:2em auto;max-width:66em;color:#222;padding:0 1em}\n"
          "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}\n"
          "table{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
          "th,td{padding:.2em .8em;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}\n"
          "th:first-child,td:first-child{text-align:left}th{background:#f5f5f5}\n"
          "figure{margin:1em 0}figcaption{font-size:.85em;color:#666}svg{max-width:100%;height:auto}\n"
          ".bad{color:#b00;font-weight:bold}.muted{color:#666}\n"
          "</style>\n</head>\n<body>\n",
          h);
    fputs("<h1>Simulation: ", h);
    svg_escape(h, r->workload);
    fputs(" on ", h);
    svg_escape(h, r->facility);
    fprintf(h,
            "</h1>\n<p class=\"muted\">%llu GPUs; %llu jobs; made by <code>nordlys sim "
            "--out</code>. Numbers as in <code>nordlys sim --json</code>; time series as in "
            "<code>timeseries-POLICY.csv</code>.</p>\n",
            (unsigned long long)r->gpus, (unsigned long long)r->jobs);
}

/* Seconds as a short duration: 42 s, 3.5 min, 2.1 h, 4.0 d. */
static void dur(FILE *h, double s)
{
    if (s < 120)
        fprintf(h, "<td>%.0f s</td>", s);
    else if (s < 7200)
        fprintf(h, "<td>%.1f min</td>", s / 60);
    else if (s < 172800)
        fprintf(h, "<td>%.1f h</td>", s / 3600);
    else
        fprintf(h, "<td>%.1f d</td>", s / 86400);
}

static void summary(FILE *h, const struct nl_sim_result *res, size_t n)
{
    fputs("<h2 id=\"summary\">Summary</h2>\n<table>\n<tr><th>policy</th>", h);
    for (size_t i = 0; i < n; i++) {
        fputs("<th>", h);
        svg_escape(h, res[i].policy);
        fputs("</th>", h);
    }
    fputs("</tr>\n", h);
#define ROW(label, ...)                              \
    do {                                             \
        fputs("<tr><td>" label "</td>", h);          \
        for (size_t i = 0; i < n; i++) {             \
            const struct nl_sim_result *r = &res[i]; \
            __VA_ARGS__;                             \
        }                                            \
        fputs("</tr>\n", h);                         \
    } while (0)
    ROW("jobs completed / total",
        fprintf(h, "<td>%llu / %llu</td>", (unsigned long long)r->completed,
                (unsigned long long)r->jobs));
    ROW("utilization", fprintf(h, "<td>%.1f %%</td>", 100 * r->utilization));
    ROW("wait mean", dur(h, r->wait_s.mean));
    ROW("wait p95", dur(h, r->wait_s.p95));
    ROW("JCT mean", dur(h, r->jct_s.mean));
    ROW("JCT p95", dur(h, r->jct_s.p95));
    ROW("bounded slowdown", fprintf(h, "<td>%.2f</td>", r->slowdown));
    ROW("preemptions", fprintf(h, "<td>%llu</td>", (unsigned long long)r->preemptions));
    ROW("timeouts", fprintf(h, "<td>%llu</td>", (unsigned long long)r->timeouts));
    ROW("rejected", fprintf(h, "<td>%llu</td>", (unsigned long long)r->rejected));
    ROW("fragmentation", fprintf(h, "<td>%.3f</td>", r->fragmentation));
    ROW("power peak (MW)", fprintf(h, "<td>%.1f</td>", r->power_peak_w / 1e6));
    ROW("power budget (MW)", r->power_budget_w > 0
                                     ? fprintf(h, "<td>%.1f</td>", r->power_budget_w / 1e6)
                                     : fprintf(h, "<td>none</td>"));
    ROW("energy (MWh)", fprintf(h, "<td>%.0f</td>", r->energy_mwh));
    ROW("invariant violations",
        fprintf(h, "<td%s>%llu</td>", nl_sim_violations_total(r) ? " class=\"bad\"" : "",
                (unsigned long long)nl_sim_violations_total(r)));
#undef ROW
    fputs("</table>\n", h);
}

static void series_figures(struct page *p, const struct nl_sim_result *res, size_t n,
                           struct columns *col)
{
    struct svg_series s[NL_POLICY_COUNT + 1];
    fputs("<h2 id=\"utilization\">Utilization</h2>\n", p->html);
    for (size_t i = 0; i < n; i++)
        s[i] = (struct svg_series){res[i].policy, col[i].t, col[i].util, res[i].nsamples, false};
    struct svg_line_chart util = {"GPUs allocated", "%", s, n, 100};
    figure(p, "fig-utilization.svg", FIG_LINE, &util);

    fputs("<h2 id=\"power\">Power against budget</h2>\n", p->html);
    for (size_t i = 0; i < n; i++)
        s[i] = (struct svg_series){res[i].policy, col[i].t, col[i].power_mw, res[i].nsamples,
                                   false};
    double bx[2] = {0, 0}, by[2] = {res[0].power_budget_w / 1e6, res[0].power_budget_w / 1e6};
    for (size_t i = 0; i < n; i++)
        if (res[i].nsamples)
            bx[1] = bx[1] > col[i].t[res[i].nsamples - 1] ? bx[1] : col[i].t[res[i].nsamples - 1];
    size_t ns = n;
    if (res[0].power_budget_w > 0)
        s[ns++] = (struct svg_series){"budget", bx, by, 2, true};
    struct svg_line_chart power = {"Facility power draw", "MW", s, ns, 0};
    figure(p, "fig-power.svg", FIG_LINE, &power);

    fputs("<h2 id=\"queue\">Queue by tier</h2>\n", p->html);
    for (size_t i = 0; i < n; i++) {
        const struct nl_sim_result *r = &res[i];
        struct svg_series q[NL_SIM_TIERS_MAX];
        for (size_t t = 0; t < r->ntiers; t++)
            q[t] = (struct svg_series){r->tier[t].name, col[i].t, col[i].pending[t], r->nsamples,
                                       false};
        char title[96], name[128];
        snprintf(title, sizeof(title), "Jobs pending by tier: %s", r->policy);
        snprintf(name, sizeof(name), "fig-queue-%s.svg", r->policy);
        struct svg_line_chart queue = {title, "jobs", q, r->ntiers, 0};
        figure(p, name, FIG_LINE, &queue);
    }
}

/* Wait or JCT by tier (and all tiers), one range a policy; which: 0 wait, 1 JCT. */
static void dist_figure(struct page *p, const struct nl_sim_result *res, size_t n, int which)
{
    const char *cats[NL_SIM_TIERS_MAX + 1], *groups[NL_POLICY_COUNT];
    struct svg_range ranges[(NL_SIM_TIERS_MAX + 1) * NL_POLICY_COUNT];
    size_t ncat = res[0].ntiers + 1;
    for (size_t t = 0; t < res[0].ntiers; t++)
        cats[t] = res[0].tier[t].name;
    cats[ncat - 1] = "all";
    for (size_t i = 0; i < n; i++) {
        groups[i] = res[i].policy;
        for (size_t t = 0; t < ncat; t++) {
            const struct nl_dist *d =
                    t + 1 == ncat ? (which ? &res[i].jct_s : &res[i].wait_s)
                                  : (which ? &res[i].tier[t].jct_s : &res[i].tier[t].wait_s);
            ranges[t * n + i] = (struct svg_range){d->mean, d->p50, d->p95, d->p99};
        }
    }
    struct svg_range_chart c = {which ? "Job completion time by tier (log scale)"
                                      : "Queue wait by tier (log scale)",
                                cats,
                                ncat,
                                groups,
                                n,
                                ranges};
    figure(p, which ? "fig-jct.svg" : "fig-wait.svg", FIG_RANGE, &c);
}

static void tier_table(FILE *h, const struct nl_sim_result *res, size_t n)
{
    fputs("<table>\n<tr><th>tier</th><th>policy</th><th>jobs</th><th>completed</th>"
          "<th>wait p50</th><th>wait p95</th><th>wait p99</th><th>JCT p50</th><th>JCT p95</th>"
          "<th>JCT p99</th><th>slowdown</th><th>GPU-hours</th></tr>\n",
          h);
    for (size_t t = 0; t < res[0].ntiers; t++)
        for (size_t i = 0; i < n; i++) {
            const struct nl_sim_tier *tr = &res[i].tier[t];
            fputs("<tr><td>", h);
            svg_escape(h, tr->name);
            fputs("</td><td>", h);
            svg_escape(h, res[i].policy);
            fprintf(h, "</td><td>%llu</td><td>%llu</td>", (unsigned long long)tr->jobs,
                    (unsigned long long)tr->completed);
            dur(h, tr->wait_s.p50);
            dur(h, tr->wait_s.p95);
            dur(h, tr->wait_s.p99);
            dur(h, tr->jct_s.p50);
            dur(h, tr->jct_s.p95);
            dur(h, tr->jct_s.p99);
            fprintf(h, "<td>%.2f</td><td>%.0f</td></tr>\n", tr->slowdown, tr->gpu_hours);
        }
    fputs("</table>\n", h);
}

static void checks(FILE *h, const struct nl_sim_result *res, size_t n)
{
    fputs("<h2 id=\"preemptions\">Preemptions and invariants</h2>\n<table>\n<tr><th>policy</th>"
          "<th>preemptions</th><th>residency</th><th>power</th><th>quota</th>"
          "<th>double allocation</th><th>gang</th><th>isolation</th></tr>\n",
          h);
    for (size_t i = 0; i < n; i++) {
        const struct nl_sched_violations *v = &res[i].violations;
        fputs("<tr><td>", h);
        svg_escape(h, res[i].policy);
        fprintf(h,
                "</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
                "<td>%llu</td><td>%llu</td></tr>\n",
                (unsigned long long)res[i].preemptions, (unsigned long long)v->residency,
                (unsigned long long)v->power, (unsigned long long)v->quota,
                (unsigned long long)v->double_alloc, (unsigned long long)v->gang,
                (unsigned long long)v->isolation);
    }
    fputs("</table>\n<p class=\"muted\">Violations are checked at every scheduling pass; any "
          "non-zero count is a bug.</p>\n",
          h);
}

int html_report_write(const struct nl_sim_result *res, size_t n, const char *dir,
                      struct nl_err *err)
{
    if (n == 0 || n > NL_POLICY_COUNT)
        return nl_err_set(err, -EINVAL, "report: %zu runs (1 to %d)", n, NL_POLICY_COUNT);
    char path[4096];
    snprintf(path, sizeof(path), "%s/report.html", dir);
    struct page p = {.dir = dir, .err = err};
    p.html = fopen(path, "w");
    if (p.html == NULL)
        return nl_err_set(err, -errno, "%s: %s", path, strerror(errno));
    struct columns col[NL_POLICY_COUNT];
    for (size_t i = 0; i < n; i++)
        columns_init(&col[i], &res[i]);
    head(p.html, &res[0]);
    summary(p.html, res, n);
    series_figures(&p, res, n, col);
    fputs("<h2 id=\"wait\">Wait by tier</h2>\n", p.html);
    dist_figure(&p, res, n, 0);
    fputs("<h2 id=\"jct\">Job completion time by tier</h2>\n", p.html);
    dist_figure(&p, res, n, 1);
    tier_table(p.html, res, n);
    checks(p.html, res, n);
    fputs("</body>\n</html>\n", p.html);
    for (size_t i = 0; i < n; i++)
        columns_release(&col[i]);
    bool bad = ferror(p.html) != 0;
    if (fclose(p.html) != 0 || bad)
        if (p.rc == 0)
            p.rc = nl_err_set(err, -EIO, "%s: write failed", path);
    return p.rc;
}
