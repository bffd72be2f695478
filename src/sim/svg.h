/* SPDX-License-Identifier: MIT */
/*
 * svg.h - small SVG charts for the simulation report (html_report.c): a
 * line chart of time series and a chart of percentile ranges by category.
 * Plain SVG 1.1 text with its style in attributes, so that a figure reads
 * the same inlined in report.html and as a file beside it.
 */
#ifndef NL_SIM_SVG_H
#define NL_SIM_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SVG_WIDTH  760
#define SVG_HEIGHT 280

/* One line: n points (x rising, in seconds; both arrays borrowed). */
struct svg_series {
    const char *label;
    const double *x, *y;
    size_t n;
    bool dashed;
};

struct svg_line_chart {
    const char *title;
    const char *y_unit; /* "%", "MW", "jobs" */
    const struct svg_series *series;
    size_t nseries;
    double y_max; /* 0: from the data */
};

/* One range of a percentile chart: a box from p50 to p95, a whisker to p99, a tick at mean. */
struct svg_range {
    double mean, p50, p95, p99;
};

struct svg_range_chart {
    const char *title;
    const char *const *categories; /* ncat names along x (tiers) */
    size_t ncat;
    const char *const *groups; /* ngroup names side by side in each category (policies) */
    size_t ngroup;
    const struct svg_range *ranges; /* ncat * ngroup, category-major; seconds, log scale */
};

/*
 * Bars by category: ngroup bars side by side in each of ncat categories
 * (values ncat * ngroup, category-major), on a linear axis from 0 or, with
 * log_seconds, on the range chart's log axis of durations; an optional mark
 * per category (a dashed line across its bars, NaN: none), named mark_label.
 */
struct svg_bar_chart {
    const char *title;
    const char *y_unit; /* linear axis only */
    const char *const *categories;
    size_t ncat;
    const char *const *groups;
    size_t ngroup;
    const double *values;
    bool log_seconds;
    const double *marks; /* ncat, or NULL */
    const char *mark_label;
};

/* Write chart c as one <svg> element to f. */
void svg_line_chart_write(FILE *f, const struct svg_line_chart *c);
void svg_range_chart_write(FILE *f, const struct svg_range_chart *c);
void svg_bar_chart_write(FILE *f, const struct svg_bar_chart *c);
/* Write s with &, <, >, " and ' escaped, for XML and HTML text and attributes. */
void svg_escape(FILE *f, const char *s);
/* The colour of the i-th series or group. */
const char *svg_colour(size_t i);

#endif
