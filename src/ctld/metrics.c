/* SPDX-License-Identifier: MIT */
/* metrics.c - histograms and Prometheus text; see metrics.h. */
#include "metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

void histogram_init(struct histogram *h, const double *bounds, size_t n)
{
    assert(n <= METRICS_BUCKETS_MAX);
    memset(h, 0, sizeof(*h));
    h->nbounds = n;
    memcpy(h->bounds, bounds, n * sizeof(*bounds));
}

void histogram_observe(struct histogram *h, double v)
{
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

void textbuf_init(struct textbuf *b)
{
    b->cap = 4096;
    b->text = xmalloc(b->cap);
    b->text[0] = '\0';
    b->len = 0;
}

void textbuf_release(struct textbuf *b)
{
    free(b->text);
    b->text = NULL;
    b->len = b->cap = 0;
}

char *textbuf_take(struct textbuf *b)
{
    char *t = b->text;
    b->text = NULL;
    b->len = b->cap = 0;
    return t;
}

void textbuf_printf(struct textbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = xgrow(b->cap, b->len + (size_t)n + 1);
        b->text = xrealloc(b->text, b->cap);
    }
}

void metrics_family(struct textbuf *b, const char *name, const char *type, const char *help)
{
    textbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_histogram(struct textbuf *b, const char *name, const char *labels,
                       const struct histogram *h)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cum = 0;
    for (size_t i = 0; i < h->nbounds; i++) {
        cum += h->counts[i];
        textbuf_printf(b, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", name, labels, sep, h->bounds[i],
                       cum);
    }
    cum += h->counts[h->nbounds];
    textbuf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, sep, cum);
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    textbuf_printf(b, "%s_sum%s%s%s %.9g\n", name, open, labels, close, h->sum);
    textbuf_printf(b, "%s_count%s%s%s %" PRIu64 "\n", name, open, labels, close, h->count);
}
