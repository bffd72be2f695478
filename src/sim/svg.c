/* SPDX-License-Identifier: MIT */
/*
 * svg.c - the report's charts as SVG text (see svg.h).
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The plot area inside the SVG_WIDTH x SVG_HEIGHT figure: room for axes, title, legend. */
#define PLOT_L 64.0
#define PLOT_R 16.0
#define PLOT_T 34.0
#define PLOT_B 58.0
#define PLOT_W (SVG_WIDTH - PLOT_L - PLOT_R)
#define PLOT_H (SVG_HEIGHT - PLOT_T - PLOT_B)

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};

const char *svg_colour(size_t i)
{
    return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

void svg_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static void open_svg(FILE *f, const char *title)
{
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
            "<text x=\"%.0f\" y=\"20\" font-size=\"14\" font-weight=\"bold\">",
            SVG_WIDTH, SVG_HEIGHT, SVG_WIDTH, SVG_HEIGHT, PLOT_L);
    svg_escape(f, title);
    fputs("</text>\n", f);
}

static void text_at(FILE *f, double x, double y, const char *anchor, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y, anchor);
    svg_escape(f, s);
    fputs("</text>\n", f);
}

/* A "nice" step (1, 2 or 5 times a power of ten) giving about 5 ticks up to max. */
static double nice_step(double max)
{
    double raw = max / 5, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* Legend entries along the bottom, each a coloured stroke and its label. */
static void legend(FILE *f, const char *label, size_t i, bool dashed, double *x)
{
    double y = SVG_HEIGHT - 12;
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"3\"%s/>\n",
            *x, y - 4, *x + 18, y - 4, svg_colour(i), dashed ? " stroke-dasharray=\"6 3\"" : "");
    text_at(f, *x + 22, y, "start", label);
    *x += 34 + 6.5 * (double)strlen(label);
}

static void frame(FILE *f)
{
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#888\"/>\n",
            PLOT_L, PLOT_T, PLOT_W, PLOT_H);
}

static void grid_line(FILE *f, double y, const char *label)
{
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>\n",
            PLOT_L, y, PLOT_L + PLOT_W, y);
    text_at(f, PLOT_L - 6, y + 4, "end", label);
}

/* The x range of every series together; [0, 1] when they are empty. */
static void x_range(const struct svg_line_chart *c, double *xmin, double *xmax)
{
    *xmin = INFINITY;
    *xmax = -INFINITY;
    for (size_t s = 0; s < c->nseries; s++)
        if (c->series[s].n > 0) {
            *xmin = fmin(*xmin, c->series[s].x[0]);
            *xmax = fmax(*xmax, c->series[s].x[c->series[s].n - 1]);
        }
    if (!isfinite(*xmin))
        *xmin = 0, *xmax = 1;
    if (*xmax <= *xmin)
        *xmax = *xmin + 1;
}

void svg_line_chart_write(FILE *f, const struct svg_line_chart *c)
{
    open_svg(f, c->title);
    double xmin, xmax, ymax = c->y_max;
    x_range(c, &xmin, &xmax);
    for (size_t s = 0; c->y_max <= 0 && s < c->nseries; s++)
        for (size_t k = 0; k < c->series[s].n; k++)
            ymax = fmax(ymax, c->series[s].y[k] * 1.05);
    if (!(ymax > 0))
        ymax = 1;
    double step = nice_step(ymax);
    char label[48];
    for (double v = 0; v <= ymax * 1.0001; v += step) {
        snprintf(label, sizeof(label), "%g %s", v, c->y_unit);
        grid_line(f, PLOT_T + PLOT_H - v / ymax * PLOT_H, label);
    }
    /* Time along x: hours for runs under 3 days, else days. */
    bool days = xmax - xmin > 3 * 86400;
    double unit = days ? 86400 : 3600;
    double xstep = nice_step((xmax - xmin) / unit);
    for (double v = 0; v <= (xmax - xmin) / unit * 1.0001; v += xstep) {
        snprintf(label, sizeof(label), "%g %s", v, days ? "d" : "h");
        text_at(f, PLOT_L + v * unit / (xmax - xmin) * PLOT_W, PLOT_T + PLOT_H + 14, "middle",
                label);
    }
    frame(f);
    double lx = PLOT_L;
    for (size_t s = 0; s < c->nseries; s++) {
        const struct svg_series *se = &c->series[s];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"",
                svg_colour(s), se->dashed ? " stroke-dasharray=\"6 3\"" : "");
        for (size_t k = 0; k < se->n; k++)
            fprintf(f, "%s%.1f,%.1f", k ? " " : "",
                    PLOT_L + (se->x[k] - xmin) / (xmax - xmin) * PLOT_W,
                    PLOT_T + PLOT_H - fmin(fmax(se->y[k], 0), ymax) / ymax * PLOT_H);
        fputs("\"/>\n", f);
        legend(f, se->label, s, se->dashed, &lx);
    }
    fputs("</svg>\n", f);
}

/* y of a duration in seconds on the log axis from 1 s to top_s. */
static double log_y(double s, double top_s)
{
    double v = log10(fmax(s, 1)) / log10(top_s);
    return PLOT_T + PLOT_H - fmin(v, 1) * PLOT_H;
}

void svg_range_chart_write(FILE *f, const struct svg_range_chart *c)
{
    open_svg(f, c->title);

    static const struct {
        double s;
        const char *label;
    } ticks[] = {{1, "1 s"},      {10, "10 s"},     {60, "1 min"},
                 {600, "10 min"}, {3600, "1 h"},    {36000, "10 h"},
                 {86400, "1 d"},  {864000, "10 d"}, {8640000, "100 d"}};

    double top = 60;
    size_t n = c->ncat * c->ngroup;
    for (size_t i = 0; i < n; i++)
        top = fmax(top, c->ranges[i].p99 * 1.5);
    for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]) && ticks[i].s <= top; i++)
        grid_line(f, log_y(ticks[i].s, top), ticks[i].label);
    frame(f);
    double cat_w = PLOT_W / (double)(c->ncat ? c->ncat : 1);
    double bar_w = fmin(36, cat_w * 0.8 / (double)(c->ngroup ? c->ngroup : 1));
    for (size_t k = 0; k < c->ncat; k++) {
        double x0 = PLOT_L + k * cat_w + (cat_w - bar_w * (double)c->ngroup) / 2;
        text_at(f, PLOT_L + (k + 0.5) * cat_w, PLOT_T + PLOT_H + 14, "middle", c->categories[k]);
        for (size_t g = 0; g < c->ngroup; g++) {
            const struct svg_range *r = &c->ranges[k * c->ngroup + g];
            double x = x0 + g * bar_w, mid = x + bar_w / 2;
            double y50 = log_y(r->p50, top), y95 = log_y(r->p95, top), y99 = log_y(r->p99, top);
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n"
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                    "fill-opacity=\"0.55\" stroke=\"%s\"><title>p50 %.0f s, p95 %.0f s, "
                    "p99 %.0f s, mean %.0f s</title></rect>\n"
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
                    "stroke-width=\"2\"/>\n",
                    mid, y95, mid, y99, svg_colour(g), x + 2, y95, bar_w - 4, fmax(y50 - y95, 1),
                    svg_colour(g), svg_colour(g), r->p50, r->p95, r->p99, r->mean, x + 2,
                    log_y(r->mean, top), x + bar_w - 2, log_y(r->mean, top));
        }
    }
    double lx = PLOT_L;
    for (size_t g = 0; g < c->ngroup; g++)
        legend(f, c->groups[g], g, false, &lx);
    text_at(f, SVG_WIDTH - PLOT_R, SVG_HEIGHT - 12, "end",
            "box p50 to p95, whisker to p99, bar at the mean");
    fputs("</svg>\n", f);
}

void svg_bar_chart_write(FILE *f, const struct svg_bar_chart *c)
{
    open_svg(f, c->title);
    size_t n = c->ncat * c->ngroup;
    double top = 0;
    for (size_t i = 0; i < n; i++)
        top = fmax(top, c->values[i]);
    for (size_t k = 0; c->marks != NULL && k < c->ncat; k++)
        if (!isnan(c->marks[k]))
            top = fmax(top, c->marks[k]);
    char label[48];
    if (c->log_seconds) {
        static const struct {
            double s;
            const char *label;
        } ticks[] = {{1, "1 s"},      {10, "10 s"}, {60, "1 min"}, {600, "10 min"},
                     {3600, "1 h"},   {36000, "10 h"}, {86400, "1 d"}};
        top = fmax(60, top * 1.5);
        for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]) && ticks[i].s <= top; i++)
            grid_line(f, log_y(ticks[i].s, top), ticks[i].label);
    } else {
        top = top > 0 ? top * 1.08 : 1;
        double step = nice_step(top);
        for (double v = 0; v <= top * 1.0001; v += step) {
            snprintf(label, sizeof(label), "%g %s", v, c->y_unit);
            grid_line(f, PLOT_T + PLOT_H - v / top * PLOT_H, label);
        }
    }
    frame(f);
    double cat_w = PLOT_W / (double)(c->ncat ? c->ncat : 1);
    double bar_w = fmin(36, cat_w * 0.8 / (double)(c->ngroup ? c->ngroup : 1));
    for (size_t k = 0; k < c->ncat; k++) {
        double x0 = PLOT_L + k * cat_w + (cat_w - bar_w * (double)c->ngroup) / 2;
        text_at(f, PLOT_L + (k + 0.5) * cat_w, PLOT_T + PLOT_H + 14, "middle", c->categories[k]);
        for (size_t g = 0; g < c->ngroup; g++) {
            double v = c->values[k * c->ngroup + g];
            double y = c->log_seconds ? log_y(v, top) : PLOT_T + PLOT_H - fmax(v, 0) / top * PLOT_H;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                    "fill-opacity=\"0.75\"><title>%.6g</title></rect>\n",
                    x0 + g * bar_w + 1, y, bar_w - 2, fmax(PLOT_T + PLOT_H - y, 0.5), svg_colour(g),
                    v);
        }
        if (c->marks != NULL && !isnan(c->marks[k])) {
            double y = c->log_seconds ? log_y(c->marks[k], top)
                                      : PLOT_T + PLOT_H - c->marks[k] / top * PLOT_H;
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
                    "stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/>\n",
                    x0 - 2, y, x0 + bar_w * (double)c->ngroup + 2, y);
        }
    }
    double lx = PLOT_L;
    for (size_t g = 0; g < c->ngroup; g++)
        legend(f, c->groups[g], g, false, &lx);
    if (c->marks != NULL && c->mark_label != NULL) {
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" "
                "stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/>\n",
                lx, (double)SVG_HEIGHT - 16, lx + 18, (double)SVG_HEIGHT - 16);
        text_at(f, lx + 22, SVG_HEIGHT - 12, "start", c->mark_label);
    }
    fputs("</svg>\n", f);
}
