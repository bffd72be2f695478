/* SPDX-License-Identifier: MIT */
/*
 * trace.c - strict, fast reading of the common trace CSV.
 *
 * The whole file is in memory. One memchr pass counts the lines so that the
 * row array is allocated once; then each line is split on ',' with memchr
 * and its integers are read by hand (strtoll wants a NUL-terminated string
 * and accepts spaces, signs and "0x", none of which a trace may hold).
 * Philly's 111k rows parse in a few milliseconds.
 *
 * Strict means: exactly the header of the README, exactly six fields per
 * line, integers made of digits only, gpus and duration_s positive,
 * submit_s never decreasing, status one of the four the converter writes,
 * and no control characters in the text fields. The first bad line stops
 * the parse with its 1-based number and the field that is wrong. A final
 * newline is optional and "\r\n" line ends are tolerated; any other blank
 * line is an error, since it means the file was cut or concatenated.
 */
#include "trace.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "workload.h"

enum {
    F_JOB_ID,
    F_SUBMIT,
    F_DURATION,
    F_GPUS,
    F_TENANT,
    F_STATUS,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {"job_id", "submit_s", "duration_s",
                                                 "gpus",   "tenant",   "status"};

struct field {
    const char *s;
    size_t n;
};

/* Where the parser is, for messages. */
struct tpos {
    const char *fname;
    size_t line;
};

/* At most this much of a bad value is quoted back, so one message stays one line. */
#define QUOTE_MAX 40

static int bad(struct nl_err *err, const struct tpos *pos, int field, const char *what,
               const struct field *val)
{
    if (val == NULL)
        return nl_err_set(err, -EINVAL, "%s:%zu: %s: %s", pos->fname, pos->line, field_names[field],
                          what);
    int shown = val->n > QUOTE_MAX ? QUOTE_MAX : (int)val->n;
    return nl_err_set(err, -EINVAL, "%s:%zu: %s: '%.*s%s' %s", pos->fname, pos->line,
                      field_names[field], shown, val->s, val->n > QUOTE_MAX ? "..." : "", what);
}

/*
 * Split [s, s + n) on ','. Returns the number of fields, counting at most
 * F_COUNT + 1 (anything past six is "too many" whatever its count).
 */
static size_t split(const char *s, size_t n, struct field f[F_COUNT])
{
    const char *end = s + n;
    size_t k = 0;
    for (;;) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        if (k == F_COUNT)
            return F_COUNT + 1;
        f[k].s = s;
        f[k].n = (size_t)(stop - s);
        k++;
        if (comma == NULL)
            return k;
        s = comma + 1;
    }
}

/* Read a decimal integer in [min, max]; on failure say why in err. */
static int read_int(const struct field *f, int64_t min, int64_t max, const struct tpos *pos,
                    int field, int64_t *out, struct nl_err *err)
{
    if (f->n == 0)
        return bad(err, pos, field, "empty", NULL);
    size_t i = f->s[0] == '-' ? 1 : 0;
    if (i == f->n)
        return bad(err, pos, field, "is not an integer", f);
    int64_t v = 0;
    bool big = false;
    for (; i < f->n; i++) {
        unsigned d = (unsigned char)f->s[i] - '0';
        if (d > 9)
            return bad(err, pos, field, "is not an integer", f);
        /* Keep reading digits after an overflow, so "12x" past the limit is still "not an integer".
         */
        if (v > (INT64_MAX - (int64_t)d) / 10)
            big = true;
        else
            v = v * 10 + (int64_t)d;
    }
    if (f->s[0] == '-')
        return bad(err, pos, field, min > 0 ? "is not positive" : "is negative", f);
    if (v < min)
        return bad(err, pos, field, "is not positive", f);
    if (big || v > max) {
        char what[48];
        snprintf(what, sizeof(what), "is too large (max %lld)", (long long)max);
        return bad(err, pos, field, what, f);
    }
    *out = v;
    return 0;
}

/* A job_id or tenant: 1..TRACE_ID_MAX bytes, no control characters. */
static int check_text(const struct field *f, const struct tpos *pos, int field, struct nl_err *err)
{
    if (f->n == 0)
        return bad(err, pos, field, "empty", NULL);
    if (f->n > TRACE_ID_MAX) {
        char what[48];
        snprintf(what, sizeof(what), "is longer than %d bytes", TRACE_ID_MAX);
        return bad(err, pos, field, what, f);
    }
    for (size_t i = 0; i < f->n; i++)
        if ((unsigned char)f->s[i] < 0x20 || f->s[i] == 0x7f)
            return bad(err, pos, field, "contains a control character", NULL);
    return 0;
}

static bool field_is(const struct field *f, const char *word)
{
    size_t n = strlen(word);
    return f->n == n && memcmp(f->s, word, n) == 0;
}

static int check_status(const struct field *f, const struct tpos *pos, struct nl_err *err)
{
    static const char *const ok[] = {"completed", "failed", "killed", "unknown"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (field_is(f, ok[i]))
            return 0;
    if (f->n == 0)
        return bad(err, pos, F_STATUS, "empty", NULL);
    return bad(err, pos, F_STATUS, "is not completed, failed, killed or unknown", f);
}

/* Parse one data line (without its line end) into row; prev_submit enforces the order. */
static int parse_line(const char *s, size_t n, const struct tpos *pos, int64_t prev_submit,
                      struct trace_row *row, struct nl_err *err)
{
    struct field f[F_COUNT];
    size_t k = split(s, n, f);
    if (k > F_COUNT)
        return bad(err, pos, F_STATUS, "is followed by more fields (expected 6: " TRACE_HEADER ")",
                   NULL);
    if (n == 0)
        return bad(err, pos, F_JOB_ID, "empty (a blank line)", NULL);
    if (k < F_COUNT) {
        char what[64];
        snprintf(what, sizeof(what), "missing (the line has %zu fields, expected 6)", k);
        return bad(err, pos, (int)k, what, NULL);
    }
    int64_t v;
    int rc = check_text(&f[F_JOB_ID], pos, F_JOB_ID, err);
    if (rc == 0)
        rc = read_int(&f[F_SUBMIT], 0, TRACE_SUBMIT_MAX_S, pos, F_SUBMIT, &row->submit_s, err);
    if (rc == 0 && row->submit_s < prev_submit) {
        char what[96];
        snprintf(what, sizeof(what), "is before the previous row's %lld (rows must be sorted)",
                 (long long)prev_submit);
        rc = bad(err, pos, F_SUBMIT, what, &f[F_SUBMIT]);
    }
    if (rc == 0)
        rc = read_int(&f[F_DURATION], 1, TRACE_DURATION_MAX_S, pos, F_DURATION, &row->duration_s,
                      err);
    if (rc == 0)
        rc = read_int(&f[F_GPUS], 1, NL_GPUS_MAX, pos, F_GPUS, &v, err);
    if (rc == 0)
        rc = check_text(&f[F_TENANT], pos, F_TENANT, err);
    if (rc == 0)
        rc = check_status(&f[F_STATUS], pos, err);
    if (rc != 0)
        return rc;
    row->gpus = (uint32_t)v;
    row->per_job = field_is(&f[F_TENANT], "unknown");
    row->key = row->per_job ? nl_hash64(f[F_JOB_ID].s, f[F_JOB_ID].n)
                            : nl_hash64(f[F_TENANT].s, f[F_TENANT].n);
    return 0;
}

/* Length of the line at s (up to end), without "\n" or "\r\n"; *next is the following line. */
static size_t line_at(const char *s, const char *end, const char **next)
{
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *stop = nl ? nl : end;
    *next = nl ? nl + 1 : end;
    if (stop > s && stop[-1] == '\r')
        stop--;
    return (size_t)(stop - s);
}

/* Lines that may hold rows: newlines, plus one for a last line without its newline. */
static size_t count_lines(const char *text, size_t len)
{
    size_t n = 0;
    for (const char *p = text, *end = text + len; p < end; p++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (p == NULL)
            return n + 1;
        n++;
    }
    return n;
}

int trace_parse(const char *text, size_t len, const char *fname, size_t max_rows,
                struct trace_row **rows, size_t *n, struct nl_err *err)
{
    struct tpos pos = {.fname = fname, .line = 1};
    if (len > NL_TRACE_BYTES_MAX)
        return nl_err_set(err, -EINVAL, "%s: %zu bytes is over the trace limit of %llu", fname, len,
                          (unsigned long long)NL_TRACE_BYTES_MAX);
    const char *end = text + len, *p = text, *next;
    size_t hl = line_at(p, end, &next);
    if (len == 0 || hl != strlen(TRACE_HEADER) || memcmp(p, TRACE_HEADER, hl) != 0)
        return nl_err_set(err, -EINVAL, "%s:1: header: expected '%s'", fname, TRACE_HEADER);
    p = next;
    size_t cap = count_lines(p, (size_t)(end - p));
    if (max_rows > 0 && cap > max_rows)
        cap = max_rows;
    if (cap > NL_TRACE_JOBS_MAX)
        return nl_err_set(err, -EINVAL, "%s: more than %u rows (the trace limit)", fname,
                          NL_TRACE_JOBS_MAX);
    if (cap == 0)
        return nl_err_set(err, -EINVAL, "%s:2: %s: missing (no rows after the header)", fname,
                          field_names[F_JOB_ID]);
    struct trace_row *r = xcalloc(cap, sizeof(*r));
    size_t k = 0;
    int rc = 0;
    int64_t prev = 0;
    while (p < end && k < cap) {
        pos.line++;
        size_t ll = line_at(p, end, &next);
        rc = parse_line(p, ll, &pos, prev, &r[k], err);
        if (rc != 0)
            goto out;
        prev = r[k++].submit_s;
        p = next;
    }
    *rows = r;
    *n = k;
    r = NULL;
out:
    free(r);
    return rc;
}
