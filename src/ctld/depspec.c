/* SPDX-License-Identifier: MIT */
/*
 * depspec.c - parsing --dependency (see depspec.h).
 */
#include "depspec.h"

#include <errno.h>
#include <string.h>

#include "nordlys/err.h"

static const struct {
    const char *name;
    enum depspec_kind kind;
} kinds[] = {
        {"after", DEPSPEC_AFTER},         {"afterany", DEPSPEC_AFTERANY},
        {"afterok", DEPSPEC_AFTEROK},     {"afternotok", DEPSPEC_AFTERNOTOK},
        {"aftercorr", DEPSPEC_AFTERCORR}, {"singleton", DEPSPEC_SINGLETON},
};

#define NKINDS     (sizeof(kinds) / sizeof(kinds[0]))
#define SHOWN(len) ((int)((len) > 40 ? 40 : (len)))

const char *depspec_kind_name(enum depspec_kind kind)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (kinds[i].kind == kind)
            return kinds[i].name;
    return "?";
}

bool depspec_has(const struct depspec *d, enum depspec_kind kind)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->c[i].kind == kind)
            return true;
    return false;
}

static int parse_kind(const char *tok, size_t len, enum depspec_kind *kind, struct nl_err *err)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (strlen(kinds[i].name) == len && strncmp(tok, kinds[i].name, len) == 0) {
            *kind = kinds[i].kind;
            return 0;
        }
    return nl_err_set(err, -EINVAL,
                      "dependency: '%.*s' is not a dependency type (after, afterany, afterok, "
                      "afternotok, aftercorr, singleton)",
                      SHOWN(len), tok);
}

/* Digits tok[0..len) as a number in [1, max]; false if they are not. */
static bool number(const char *tok, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; i < len && tok[i] >= '0' && tok[i] <= '9' && v <= max; i++)
        v = v * 10 + (uint64_t)(tok[i] - '0');
    if (i == 0 || i != len || v == 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* One job of a clause: "12", or for after "12+10" (minutes). */
static int parse_job(const char *tok, size_t len, struct depspec_cond *c, struct nl_err *err)
{
    const char *name = depspec_kind_name(c->kind);
    const char *plus = memchr(tok, '+', len);
    size_t idlen = plus ? (size_t)(plus - tok) : len;
    if (plus != NULL && c->kind != DEPSPEC_AFTER)
        return nl_err_set(err, -EINVAL,
                          "dependency: %s:%.*s: '+MINUTES' is for after only (after:ID+MINUTES)",
                          name, SHOWN(len), tok);
    if (!number(tok, idlen, 999999999999999ull, &c->job))
        return nl_err_set(err, -EINVAL, "dependency: %s: '%.*s' is not a job id", name,
                          SHOWN(idlen), tok);
    uint64_t m = 0;
    if (plus != NULL && !number(plus + 1, len - idlen - 1, DEPSPEC_MINUTES_MAX, &m))
        return nl_err_set(err, -EINVAL,
                          "dependency: after:%.*s: '%.*s' is not a number of minutes (1 to %u)",
                          SHOWN(len), tok, SHOWN(len - idlen - 1), plus + 1, DEPSPEC_MINUTES_MAX);
    c->minutes = (uint32_t)m;
    return 0;
}

/* One clause p..end ("afterok:1:2", "singleton"), appended to d. */
static int parse_clause(const char *p, const char *end, struct depspec *d, struct nl_err *err)
{
    const char *colon = memchr(p, ':', (size_t)(end - p));
    struct depspec_cond c = {0};
    int rc = parse_kind(p, (size_t)((colon ? colon : end) - p), &c.kind, err);
    if (rc < 0)
        return rc;
    const char *name = depspec_kind_name(c.kind);
    if (c.kind == DEPSPEC_SINGLETON) {
        if (colon != NULL)
            return nl_err_set(err, -EINVAL, "dependency: singleton takes no job ids");
        if (d->n == DEPSPEC_MAX)
            return nl_err_set(err, -EINVAL, "dependency: more than %d conditions", DEPSPEC_MAX);
        d->c[d->n++] = c;
        return 0;
    }
    if (colon == NULL || colon + 1 == end)
        return nl_err_set(err, -EINVAL, "dependency: %s needs job ids (%s:ID[:ID...])", name, name);
    for (const char *q = colon; q != NULL && q < end;) {
        const char *next = memchr(q + 1, ':', (size_t)(end - q - 1));
        const char *idend = next ? next : end;
        if (d->n == DEPSPEC_MAX)
            return nl_err_set(err, -EINVAL, "dependency: more than %d job ids", DEPSPEC_MAX);
        if (idend == q + 1)
            return nl_err_set(err, -EINVAL,
                              "dependency: %s: an empty job id (two colons, or one "
                              "at the end)",
                              name);
        if ((rc = parse_job(q + 1, (size_t)(idend - q - 1), &c, err)) < 0)
            return rc;
        d->c[d->n++] = c;
        q = next;
    }
    return 0;
}

int depspec_parse(const char *text, struct depspec *d, struct nl_err *err)
{
    memset(d, 0, sizeof(*d));
    size_t len = strlen(text);
    if (len == 0)
        return nl_err_set(err, -EINVAL, "dependency: empty (expected e.g. afterok:12:13)");
    if (len > DEPSPEC_TEXT_MAX)
        return nl_err_set(err, -EINVAL, "dependency: %zu characters, the most is %d", len,
                          DEPSPEC_TEXT_MAX);
    bool all = strchr(text, ',') != NULL;
    d->any = strchr(text, '?') != NULL;
    if (all && d->any)
        return nl_err_set(err, -EINVAL,
                          "dependency: ',' (all of) and '?' (any of) cannot be mixed in one "
                          "dependency");
    char sep = d->any ? '?' : ',';
    for (const char *p = text; p <= text + len;) {
        const char *s = strchr(p, sep);
        const char *end = s ? s : text + len;
        int rc = end == p ? nl_err_set(err, -EINVAL,
                                       "dependency: empty condition (two '%c', or one at an end)",
                                       sep)
                          : parse_clause(p, end, d, err);
        if (rc < 0) {
            memset(d, 0, sizeof(*d));
            return rc;
        }
        p = end + 1;
    }
    return 0;
}
