/* SPDX-License-Identifier: MIT */
/*
 * rowfmt.c - the list views' --format and --csv (see rowfmt.h).
 */
#include "rowfmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"
#include "nordlys/err.h"
#include "table.h"

int cli_rowfmt_parse(struct cli_rowfmt *f, const char *spec, const char *const *known,
                     struct nl_err *err)
{
    bool csv = f->csv;
    memset(f, 0, sizeof(*f));
    f->csv = csv;
    f->text = xstrdup(spec);
    char *save = NULL;
    for (char *tok = strtok_r(f->text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        bool ok = false;
        for (size_t i = 0; known[i] != NULL && !ok; i++)
            ok = strcmp(known[i], tok) == 0;
        if (!ok) {
            char list[1024];
            size_t k = 0;
            list[0] = '\0';
            for (size_t i = 0; known[i] != NULL && k < sizeof(list); i++)
                k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s", i ? "," : "", known[i]);
            nl_err_set(err, -EINVAL, "--format: unknown field '%.64s' (fields: %s)", tok, list);
            cli_rowfmt_release(f);
            return -EINVAL;
        }
        if (f->n == CLI_ROWFMT_MAX) {
            nl_err_set(err, -EINVAL, "--format: at most %d fields", CLI_ROWFMT_MAX);
            cli_rowfmt_release(f);
            return -EINVAL;
        }
        f->fields[f->n++] = tok;
    }
    if (f->n == 0) {
        nl_err_set(err, -EINVAL, "--format: no field named");
        cli_rowfmt_release(f);
        return -EINVAL;
    }
    return 0;
}

void cli_rowfmt_release(struct cli_rowfmt *f)
{
    free(f->text);
    f->text = NULL;
    f->n = 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* "elapsed": run time so far or in total, from start_time and end_time. */
static double elapsed_s(const json_t *row, double now)
{
    const json_t *e = json_object_get(row, "elapsed_s");
    if (json_is_number(e))
        return json_number_value(e);
    const json_t *st = json_object_get(row, "start_time"), *en = json_object_get(row, "end_time");
    if (!json_is_number(st))
        return NAN;
    return (json_is_number(en) ? json_number_value(en) : now) - json_number_value(st);
}

const char *cli_rowfmt_cell(const json_t *row, const char *field, bool csv, double now, char *buf,
                            size_t size)
{
    char b[CLI_FMT_MAX];
    if (strcmp(field, "elapsed") == 0) {
        double s = elapsed_s(row, now);
        if (csv)
            snprintf(buf, size, isfinite(s) ? "%.0f" : "", s);
        else
            snprintf(buf, size, "%s", cli_fmt_duration(b, s));
        return buf;
    }
    const json_t *v = json_object_get(row, field);
    if (v == NULL || json_is_null(v)) {
        snprintf(buf, size, "%s", csv ? "" : "-");
    } else if (json_is_string(v)) {
        snprintf(buf, size, "%s", json_string_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(buf, size, "%s", json_is_true(v) ? "yes" : "no");
    } else if (json_is_number(v)) {
        double x = json_number_value(v);
        if (!csv && ends_with(field, "_time"))
            snprintf(buf, size, "%s", cli_fmt_time(b, x));
        else if (!csv && ends_with(field, "_s"))
            snprintf(buf, size, "%s", cli_fmt_duration(b, x));
        else if (json_is_integer(v))
            snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        else
            snprintf(buf, size, csv && ends_with(field, "_time") ? "%.6f" : "%g", x);
    } else if (json_is_array(v)) {
        size_t k = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < json_array_size(v) && k < size; i++) {
            const json_t *e = json_array_get(v, i);
            if (json_is_string(e))
                k += (size_t)snprintf(buf + k, size - k, "%s%s", i ? "," : "",
                                      json_string_value(e));
            else
                k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? "," : "",
                                      (long long)json_integer_value(e));
        }
        if (k == 0)
            snprintf(buf, size, "%s", csv ? "" : "-");
    } else {
        char *t = json_dumps(v, JSON_COMPACT);
        snprintf(buf, size, "%s", t ? t : "");
        free(t);
    }
    return buf;
}

/* One CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
    } else {
        putchar('"');
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                putchar('"');
            putchar(*p);
        }
        putchar('"');
    }
    fputs(last ? "\r\n" : ",", stdout);
}

void cli_rowfmt_print(const struct cli_rowfmt *f, const json_t *rows)
{
    double now = (double)time(NULL);
    char buf[4096];
    if (f->csv) {
        for (size_t c = 0; c < f->n; c++)
            csv_field(f->fields[c], c + 1 == f->n);
        for (size_t i = 0; i < json_array_size(rows); i++)
            for (size_t c = 0; c < f->n; c++)
                csv_field(cli_rowfmt_cell(json_array_get(rows, i), f->fields[c], true, now, buf,
                                          sizeof(buf)),
                          c + 1 == f->n);
        return;
    }
    char hdr_text[CLI_ROWFMT_MAX][64];
    const char *hdr[CLI_ROWFMT_MAX];
    for (size_t c = 0; c < f->n; c++) {
        size_t k = 0;
        for (; f->fields[c][k] && k + 1 < sizeof(hdr_text[c]); k++) {
            char ch = f->fields[c][k];
            hdr_text[c][k] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
        }
        hdr_text[c][k] = '\0';
        hdr[c] = hdr_text[c];
    }
    struct cli_table *t = cli_table_create(f->n, hdr);
    for (size_t i = 0; i < json_array_size(rows); i++)
        for (size_t c = 0; c < f->n; c++)
            cli_table_add(t, cli_rowfmt_cell(json_array_get(rows, i), f->fields[c], false, now,
                                             buf, sizeof(buf)));
    cli_table_print(t, stdout);
    cli_table_destroy(t);
}

/* Characters of UTF-8 text (bytes that do not continue a character). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* One table line: cells padded to the widths (which grow to fit), none after the last. */
static void stream_line(struct cli_rowstream *s, const char *const *cells)
{
    size_t n = s->f->n;
    for (size_t c = 0; c < n; c++) {
        size_t w = utf8_chars(cells[c]);
        if (w > s->width[c])
            s->width[c] = w;
        fputs(cells[c], stdout);
        if (c + 1 < n)
            printf("%*s", (int)(s->width[c] - w + 2), "");
    }
    putchar('\n');
}

void cli_rowstream_page(struct cli_rowstream *s, const json_t *rows)
{
    const struct cli_rowfmt *f = s->f;
    double now = (double)time(NULL);
    size_t nrows = json_array_size(rows);
    char buf[4096];
    if (f->csv) {
        for (size_t c = 0; !s->started && c < f->n; c++)
            csv_field(f->fields[c], c + 1 == f->n);
        s->started = true;
        for (size_t i = 0; i < nrows; i++)
            for (size_t c = 0; c < f->n; c++)
                csv_field(cli_rowfmt_cell(json_array_get(rows, i), f->fields[c], true, now, buf,
                                          sizeof(buf)),
                          c + 1 == f->n);
        return;
    }
    /* The page's cells, kept while the widths are measured. */
    char **cells = xcalloc(nrows * f->n + 1, sizeof(char *));
    for (size_t i = 0; i < nrows; i++)
        for (size_t c = 0; c < f->n; c++)
            cells[i * f->n + c] = xstrdup(cli_rowfmt_cell(json_array_get(rows, i), f->fields[c],
                                                          false, now, buf, sizeof(buf)));
    if (!s->started) {
        char hdr_text[CLI_ROWFMT_MAX][64];
        const char *hdr[CLI_ROWFMT_MAX] = {0};
        for (size_t c = 0; c < f->n; c++) {
            size_t k = 0;
            for (; f->fields[c][k] && k + 1 < sizeof(hdr_text[c]); k++) {
                char ch = f->fields[c][k];
                hdr_text[c][k] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
            }
            hdr_text[c][k] = '\0';
            hdr[c] = hdr_text[c];
            s->width[c] = utf8_chars(hdr[c]);
        }
        for (size_t i = 0; i < nrows * f->n; i++) {
            size_t w = utf8_chars(cells[i]);
            if (w > s->width[i % f->n])
                s->width[i % f->n] = w;
        }
        stream_line(s, hdr);
        s->started = true;
    }
    for (size_t i = 0; i < nrows; i++)
        stream_line(s, (const char *const *)&cells[i * f->n]);
    for (size_t i = 0; i < nrows * f->n; i++)
        free(cells[i]);
    free(cells);
}
