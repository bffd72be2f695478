/* SPDX-License-Identifier: MIT */
/*
 * idxset.c - the index set of a job array; see idxset.h.
 *
 * Every number is checked against NL_IDXSET_INDEX_MAX before it is used,
 * and the count against NL_IDXSET_COUNT_MAX before anything depends on
 * it, so that no arithmetic here can overflow.
 */
#include "idxset.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "nordlys/err.h"

/* A decimal number at *p (digits only), at most max; advances *p. */
static int parse_num(const char **p, uint32_t max, uint32_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        v = v * 10 + (uint64_t)(s[n] - '0');
        if (v > max)
            return -ERANGE;
        n++;
    }
    if (n == 0)
        return -EINVAL;
    *out = (uint32_t)v;
    *p = s + n;
    return 0;
}

static uint64_t range_count(const struct nl_idxset_range *r)
{
    return (uint64_t)(r->hi - r->lo) / r->step + 1;
}

/* One part "N", "N-M" or "N-M:S" of len bytes into r. */
static int parse_part(const char *part, size_t len, struct nl_idxset_range *r, struct nl_err *err)
{
    char buf[64];
    if (len == 0)
        return nl_err_set(err, -EINVAL, "array: empty part (two commas, or a comma at an end)");
    if (len >= sizeof(buf))
        return nl_err_set(err, -EINVAL, "array: '%.24s...': part too long", part);
    memcpy(buf, part, len);
    buf[len] = '\0';
    const char *p = buf;
    int rc = parse_num(&p, NL_IDXSET_INDEX_MAX, &r->lo);
    if (rc == -ERANGE)
        return nl_err_set(err, -EINVAL, "array: '%s': indexes go up to %u", buf,
                          NL_IDXSET_INDEX_MAX);
    if (rc < 0)
        return nl_err_set(err, -EINVAL, "array: '%s': expected an index (N, N-M or N-M:S)", buf);
    r->hi = r->lo;
    r->step = 1;
    if (*p == '-') {
        p++;
        rc = parse_num(&p, NL_IDXSET_INDEX_MAX, &r->hi);
        if (rc == -ERANGE)
            return nl_err_set(err, -EINVAL, "array: '%s': indexes go up to %u", buf,
                              NL_IDXSET_INDEX_MAX);
        if (rc < 0)
            return nl_err_set(err, -EINVAL, "array: '%s': expected the range's last index", buf);
        if (r->hi < r->lo)
            return nl_err_set(err, -EINVAL, "array: '%s': the range ends before it starts", buf);
        if (*p == ':') {
            p++;
            if (parse_num(&p, NL_IDXSET_INDEX_MAX, &r->step) < 0 || r->step == 0)
                return nl_err_set(err, -EINVAL, "array: '%s': the step must be 1 to %u", buf,
                                  NL_IDXSET_INDEX_MAX);
            /* "0-10:4" holds 0, 4, 8: hi becomes the last index the step reaches. */
            r->hi = r->lo + (r->hi - r->lo) / r->step * r->step;
        }
    }
    if (*p != '\0')
        return nl_err_set(err, -EINVAL, "array: '%s': unexpected '%c'", buf, *p);
    return 0;
}

static int by_lo(const void *a, const void *b)
{
    const struct nl_idxset_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The limit after '%'. */
static int parse_limit(const char *pct, struct nl_idxset *set, struct nl_err *err)
{
    const char *p = pct + 1;
    uint32_t v = 0;
    if (parse_num(&p, NL_IDXSET_COUNT_MAX, &v) < 0 || *p != '\0' || v == 0)
        return nl_err_set(err, -EINVAL,
                          "array: '%s': the limit of tasks running at once must be "
                          "1 to %u",
                          pct, NL_IDXSET_COUNT_MAX);
    set->max_running = v;
    return 0;
}

int nl_idxset_parse(const char *text, struct nl_idxset *set, struct nl_err *err)
{
    memset(set, 0, sizeof(*set));
    size_t len = strlen(text);
    if (len == 0)
        return nl_err_set(err, -EINVAL, "array: empty (expected e.g. 0-99, 1,3,5-7, 0-15:4%%2)");
    if (len > NL_IDXSET_TEXT_MAX)
        return nl_err_set(err, -EINVAL, "array: %zu characters, the most is %u", len,
                          NL_IDXSET_TEXT_MAX);
    const char *pct = strchr(text, '%');
    size_t body = pct ? (size_t)(pct - text) : len;
    if (pct != NULL && parse_limit(pct, set, err) < 0)
        return err ? err->code : -EINVAL;
    size_t cap = 1;
    for (size_t i = 0; i < body; i++)
        cap += text[i] == ',';
    if (cap > NL_IDXSET_PARTS_MAX)
        return nl_err_set(err, -EINVAL, "array: %zu parts, the most is %u", cap,
                          NL_IDXSET_PARTS_MAX);
    set->r = xcalloc(cap, sizeof(*set->r));
    int rc = 0;
    for (size_t start = 0; start <= body && rc == 0;) {
        const char *comma = memchr(text + start, ',', body - start);
        size_t end = comma ? (size_t)(comma - text) : body;
        rc = parse_part(text + start, end - start, &set->r[set->n], err);
        if (rc == 0)
            set->n++;
        start = end + 1;
    }
    if (rc == 0) {
        qsort(set->r, set->n, sizeof(*set->r), by_lo);
        for (size_t i = 0; i < set->n && rc == 0; i++) {
            if (i > 0 && set->r[i].lo <= set->r[i - 1].hi)
                rc = nl_err_set(err, -EINVAL,
                                "array: the parts starting at %u and %u overlap; name each index "
                                "once",
                                set->r[i - 1].lo, set->r[i].lo);
            set->count += range_count(&set->r[i]);
        }
    }
    if (rc == 0 && set->count > NL_IDXSET_COUNT_MAX)
        rc = nl_err_set(err, -EINVAL, "array: %llu tasks, the most one array may hold is %u",
                        (unsigned long long)set->count, NL_IDXSET_COUNT_MAX);
    if (rc < 0)
        nl_idxset_release(set);
    return rc;
}

void nl_idxset_release(struct nl_idxset *set)
{
    if (set == NULL)
        return;
    free(set->r);
    memset(set, 0, sizeof(*set));
}

uint32_t nl_idxset_nth(const struct nl_idxset *set, uint64_t k)
{
    for (size_t i = 0; i < set->n; i++) {
        uint64_t c = range_count(&set->r[i]);
        if (k < c)
            return set->r[i].lo + (uint32_t)k * set->r[i].step;
        k -= c;
    }
    return UINT32_MAX; /* k out of range: a caller's bug, caught by its own checks */
}

int64_t nl_idxset_pos(const struct nl_idxset *set, uint32_t index)
{
    uint64_t base = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct nl_idxset_range *r = &set->r[i];
        if (index >= r->lo && index <= r->hi && (index - r->lo) % r->step == 0)
            return (int64_t)(base + (index - r->lo) / r->step);
        base += range_count(r);
    }
    return -1;
}

/* Append the range lo..hi:step as text at out + *len (size bytes in all); false if it did not fit.
 */
static bool put_range(char *out, size_t size, size_t *len, bool first, uint32_t lo, uint32_t hi,
                      uint32_t step)
{
    char part[48];
    if (lo == hi)
        snprintf(part, sizeof(part), "%s%u", first ? "" : ",", lo);
    else if (step == 1)
        snprintf(part, sizeof(part), "%s%u-%u", first ? "" : ",", lo, hi);
    else
        snprintf(part, sizeof(part), "%s%u-%u:%u", first ? "" : ",", lo, hi, step);
    size_t n = strlen(part);
    /* Room for the part, a possible "...", and a "%L" of up to 8 characters. */
    if (*len + n + 12 >= size)
        return false;
    memcpy(out + *len, part, n + 1);
    *len += n;
    return true;
}

char *nl_idxset_format(const struct nl_idxset *set, uint64_t from, int with_limit, char *out,
                       size_t size)
{
    size_t len = 0;
    bool first = true, cut = false;
    if (size == 0)
        return out;
    out[0] = '\0';
    uint64_t k = from;
    for (size_t i = 0; i < set->n && !cut; i++) {
        const struct nl_idxset_range *r = &set->r[i];
        uint64_t c = range_count(r);
        if (k >= c) {
            k -= c;
            continue;
        }
        uint32_t lo = r->lo + (uint32_t)k * r->step;
        k = 0;
        cut = !put_range(out, size, &len, first, lo, r->hi, r->step);
        first = false;
    }
    if (cut && len + 4 < size) {
        memcpy(out + len, "...", 4);
        len += 3;
    }
    if (with_limit && set->max_running > 0 && len < size)
        snprintf(out + len, size - len, "%%%u", set->max_running);
    return out;
}
