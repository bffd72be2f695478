/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - histograms and a Prometheus text-format writer.
 *
 * A histogram has fixed bucket bounds (seconds) chosen at creation; an
 * observation is O(buckets) with no allocation. The writer appends to a
 * growable text buffer that the /metrics handler hands to HTTP.
 */
#ifndef NL_CTLD_METRICS_H
#define NL_CTLD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_BUCKETS_MAX 24

struct histogram {
    size_t nbounds;
    double bounds[METRICS_BUCKETS_MAX]; /* upper bounds, increasing; +Inf is implied */
    uint64_t counts[METRICS_BUCKETS_MAX + 1];
    uint64_t count;
    double sum;
};

/* Initialise h with n bounds (borrowed, copied; n <= METRICS_BUCKETS_MAX). */
void histogram_init(struct histogram *h, const double *bounds, size_t n);
void histogram_observe(struct histogram *h, double v);

/* A growable text buffer; the text is NUL-terminated at all times. */
struct textbuf {
    char *text;
    size_t len, cap;
};

void textbuf_init(struct textbuf *b);
void textbuf_release(struct textbuf *b);
/* Hand the text to the caller (free with free()); b is re-initialised. */
char *textbuf_take(struct textbuf *b);
void textbuf_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# HELP" and "# TYPE" lines of one metric family. */
void metrics_family(struct textbuf *b, const char *name, const char *type, const char *help);
/*
 * The _bucket/_sum/_count lines of histogram h, with labels ("" or
 * "route=\"/v1/jobs\"", borrowed) added to every line.
 */
void metrics_histogram(struct textbuf *b, const char *name, const char *labels,
                       const struct histogram *h);

#endif
