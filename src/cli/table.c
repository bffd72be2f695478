/* SPDX-License-Identifier: MIT */
/* table.c - aligned text tables and human number formats; see table.h. */
#include "table.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"

/* Column separator: two spaces read as a gap even between numbers. */
#define CLI_TABLE_GAP 2

struct cli_table {
    size_t ncols;
    char **cells; /* row-major; the first ncols are the headers */
    size_t ncells;
    size_t cap;
    bool *right; /* per column */
};

static void push_cell(struct cli_table *t, char *owned)
{
    if (t->ncells == t->cap) {
        t->cap = xgrow(t->cap, t->ncells + 1);
        t->cells = xreallocarray(t->cells, t->cap, sizeof(*t->cells));
    }
    t->cells[t->ncells++] = owned;
}

struct cli_table *cli_table_create(size_t ncols, const char *const *headers)
{
    struct cli_table *t = xcalloc(1, sizeof(*t));
    t->ncols = ncols;
    t->right = xcalloc(ncols, sizeof(*t->right));
    for (size_t i = 0; i < ncols; i++)
        push_cell(t, xstrdup(headers[i]));
    return t;
}

void cli_table_destroy(struct cli_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->right);
    free(t);
}

void cli_table_align_right(struct cli_table *t, size_t col)
{
    if (col < t->ncols)
        t->right[col] = true;
}

void cli_table_add(struct cli_table *t, const char *cell)
{
    push_cell(t, xstrdup(cell != NULL ? cell : "-"));
}

void cli_table_addf(struct cli_table *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t size = n > 0 ? (size_t)n + 1 : 1;
    char *s = xmalloc(size);
    va_start(ap, fmt);
    vsnprintf(s, size, fmt, ap);
    va_end(ap);
    push_cell(t, s);
}

size_t cli_table_rows(const struct cli_table *t)
{
    size_t body = t->ncells - t->ncols;
    return (body + t->ncols - 1) / t->ncols;
}

/* Width on a terminal: UTF-8 continuation bytes (10xxxxxx) take no column. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static void append(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = xgrow(*cap, *len + n + 1);
        *out = xrealloc(*out, *cap);
    }
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
}

static void append_spaces(char **out, size_t *len, size_t *cap, size_t n)
{
    static const char spaces[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        append(out, len, cap, spaces, k);
        n -= k;
    }
}

/* Render one row starting at cell index first; a short last row is padded with "". */
static void render_row(const struct cli_table *t, const size_t *width, size_t first, char **out,
                       size_t *len, size_t *cap)
{
    for (size_t c = 0; c < t->ncols; c++) {
        const char *s = first + c < t->ncells ? t->cells[first + c] : "";
        size_t pad = width[c] - text_width(s);
        bool last = c + 1 == t->ncols;
        if (t->right[c])
            append_spaces(out, len, cap, pad);
        append(out, len, cap, s, strlen(s));
        /* No trailing blanks: the last column of a left-aligned table is not padded. */
        if (!t->right[c] && !last)
            append_spaces(out, len, cap, pad);
        if (!last)
            append_spaces(out, len, cap, CLI_TABLE_GAP);
    }
    /* A right-aligned cell could still leave blanks when it is empty; trim them. */
    while (*len > 0 && (*out)[*len - 1] == ' ')
        (*out)[--*len] = '\0';
    append(out, len, cap, "\n", 1);
}

char *cli_table_render(const struct cli_table *t)
{
    size_t *width = xcalloc(t->ncols, sizeof(*width));
    for (size_t i = 0; i < t->ncells; i++) {
        size_t w = text_width(t->cells[i]);
        if (w > width[i % t->ncols])
            width[i % t->ncols] = w;
    }
    char *out = NULL;
    size_t len = 0;
    size_t cap = 0;
    append(&out, &len, &cap, "", 0);
    for (size_t first = 0; first < t->ncells; first += t->ncols)
        render_row(t, width, first, &out, &len, &cap);
    free(width);
    return out;
}

void cli_table_print(const struct cli_table *t, FILE *out)
{
    char *s = cli_table_render(t);
    fputs(s, out);
    free(s);
}

static bool is_unset(double v)
{
    return !isfinite(v) || v < 0;
}

char *cli_fmt_count(char *buf, double n)
{
    if (isfinite(n))
        snprintf(buf, CLI_FMT_MAX, "%.0f", n);
    else
        snprintf(buf, CLI_FMT_MAX, "-");
    return buf;
}

char *cli_fmt_duration(char *buf, double s)
{
    if (is_unset(s) || s > 1e12) {
        snprintf(buf, CLI_FMT_MAX, "-");
        return buf;
    }
    int64_t t = (int64_t)llround(s);
    int64_t d = t / 86400;
    int64_t h = t % 86400 / 3600;
    int64_t m = t % 3600 / 60;
    int64_t sec = t % 60;
    /* Two units at most: past a minute seconds are noise, past a day minutes are. */
    long long hi = sec;
    long long lo = 0;
    const char *units = "s ";
    if (d > 0) {
        hi = d;
        lo = h;
        units = "dh";
    } else if (h > 0) {
        hi = h;
        lo = m;
        units = "hm";
    } else if (m > 0) {
        hi = m;
        lo = sec;
        units = "ms";
    }
    if (lo > 0)
        snprintf(buf, CLI_FMT_MAX, "%lld%c%lld%c", hi, units[0], lo, units[1]);
    else
        snprintf(buf, CLI_FMT_MAX, "%lld%c", hi, units[0]);
    return buf;
}

/* One rung of a unit ladder: values from `size` up print in this unit. */
struct unit_rung {
    double size; /* the unit in the input's own unit, e.g. 1e6 W for MW */
    int decimals;
    const char *name;
};

/*
 * v in the largest unit of ladder (largest first) that it reaches; the last
 * rung is the input's own unit and takes whatever is left.
 */
static char *fmt_scaled(char *buf, double v, const struct unit_rung *ladder, size_t n)
{
    if (is_unset(v)) {
        snprintf(buf, CLI_FMT_MAX, "-");
        return buf;
    }
    size_t i = 0;
    while (i + 1 < n && v < ladder[i].size)
        i++;
    /* 999.97 kWh would print as "1000.0 kWh": take the larger unit when rounding reaches it. */
    while (i > 0) {
        double scale = pow(10, ladder[i].decimals);
        if (round(v / ladder[i].size * scale) / scale * ladder[i].size < ladder[i - 1].size)
            break;
        i--;
    }
    snprintf(buf, CLI_FMT_MAX, "%.*f %s", ladder[i].decimals, v / ladder[i].size, ladder[i].name);
    return buf;
}

char *cli_fmt_power(char *buf, double w)
{
    static const struct unit_rung watts[] = {
            {1e9, 2, "GW"}, {1e6, 1, "MW"}, {1e3, 1, "kW"}, {1, 0, "W"}};
    return fmt_scaled(buf, w, watts, sizeof(watts) / sizeof(watts[0]));
}

char *cli_fmt_energy(char *buf, double kwh)
{
    static const struct unit_rung kwhs[] = {{1e6, 2, "GWh"}, {1e3, 1, "MWh"}, {1, 1, "kWh"}};
    return fmt_scaled(buf, kwh, kwhs, sizeof(kwhs) / sizeof(kwhs[0]));
}

char *cli_fmt_time(char *buf, double unix_s)
{
    struct tm tm;
    time_t t = (time_t)unix_s;
    if (is_unset(unix_s) || localtime_r(&t, &tm) == NULL ||
        strftime(buf, CLI_FMT_MAX, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, CLI_FMT_MAX, "-");
    return buf;
}
