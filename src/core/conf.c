/* SPDX-License-Identifier: MIT */
/* conf.c - the sectioned key = value format; see conf.h. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nordlys/err.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Parse "[kind name]" in place; 0 or -EINVAL. */
static int parse_header(char *line, struct conf_item *it, struct nl_err *err)
{
    size_t n = strlen(line);
    if (line[n - 1] != ']')
        return nl_err_set(err, -EINVAL, "section header: missing ']'");
    line[n - 1] = '\0';
    char *kind = trim(line + 1);
    char *sp = strpbrk(kind, " \t");
    if (sp == NULL)
        return nl_err_set(err, -EINVAL, "section header: expected [KIND NAME], got [%s]", kind);
    *sp = '\0';
    it->kind = kind;
    it->name = trim(sp + 1);
    if (*it->name == '\0' || strpbrk(it->name, " \t") != NULL)
        return nl_err_set(err, -EINVAL, "section header: expected [KIND NAME]");
    it->key = NULL;
    it->value = NULL;
    return 0;
}

static int parse_line(char *line, struct conf_item *it, struct nl_err *err)
{
    char *hash = strchr(line, '#');
    if (hash != NULL)
        *hash = '\0';
    char *s = trim(line);
    if (*s == '\0')
        return 1; /* blank */
    if (*s == '[')
        return parse_header(s, it, err);
    char *eq = strchr(s, '=');
    if (eq == NULL)
        return nl_err_set(err, -EINVAL, "expected KEY = VALUE, got '%s'", s);
    *eq = '\0';
    it->key = trim(s);
    it->value = trim(eq + 1);
    if (*it->key == '\0')
        return nl_err_set(err, -EINVAL, "missing key before '='");
    if (*it->value == '\0')
        return nl_err_set(err, -EINVAL, "%s: missing value", it->key);
    return 0;
}

int conf_parse(const char *text, size_t len, const char *fname, conf_fn fn, void *arg,
               struct nl_err *err)
{
    char line[CONF_LINE_MAX + 1];
    char kind[CONF_LINE_MAX + 1] = "", name[CONF_LINE_MAX + 1] = "";
    unsigned lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (n > CONF_LINE_MAX)
            return nl_err_set(err, -EINVAL, "%s:%u: line longer than %d bytes", fname, lineno,
                              CONF_LINE_MAX);
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + 1;
        if (memchr(line, '\0', n) != NULL)
            return nl_err_set(err, -EINVAL, "%s:%u: NUL byte in text", fname, lineno);
        struct conf_item it = {.lineno = lineno, .kind = kind, .name = name};
        int rc = parse_line(line, &it, err);
        if (rc == 1)
            continue;
        if (rc == 0 && it.key == NULL) {
            /* Keep the header's words: line[] is reused for the next line. */
            snprintf(kind, sizeof(kind), "%s", it.kind);
            snprintf(name, sizeof(name), "%s", it.name);
            it.kind = kind;
            it.name = name;
        }
        if (rc == 0)
            rc = fn(arg, &it, err);
        if (rc < 0)
            return nl_err_prefix(err, "%s:%u: ", fname, lineno);
    }
    return 0;
}

int conf_u64(const char *key, const char *value, uint64_t min, uint64_t max, uint64_t *out,
             struct nl_err *err)
{
    if (!isdigit((unsigned char)value[0]))
        return nl_err_set(err, -EINVAL, "%s: '%s' is not a non-negative integer", key, value);
    errno = 0;
    char *end;
    unsigned long long v = strtoull(value, &end, 10);
    if (*end != '\0')
        return nl_err_set(err, -EINVAL, "%s: '%s' is not a non-negative integer", key, value);
    if (errno == ERANGE || v < min || v > max)
        return nl_err_set(err, -EINVAL, "%s: %s is outside %llu..%llu", key, value,
                          (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return 0;
}

int conf_u32(const char *key, const char *value, uint32_t min, uint32_t max, uint32_t *out,
             struct nl_err *err)
{
    uint64_t v = 0;
    int rc = conf_u64(key, value, min, max, &v, err);
    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

int conf_double(const char *key, const char *value, double min, double max, double *out,
                struct nl_err *err)
{
    errno = 0;
    char *end;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || !isfinite(v))
        return nl_err_set(err, -EINVAL, "%s: '%s' is not a number", key, value);
    if (v < min || v > max)
        return nl_err_set(err, -EINVAL, "%s: %s is outside %g..%g", key, value, min, max);
    *out = v;
    return 0;
}

int conf_bool(const char *key, const char *value, bool *out, struct nl_err *err)
{
    if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
        *out = true;
    else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
        *out = false;
    else
        return nl_err_set(err, -EINVAL, "%s: '%s' is not yes/no", key, value);
    return 0;
}

int conf_str(const char *key, const char *value, char *out, size_t size, struct nl_err *err)
{
    size_t n = strlen(value);
    if (n == 0 || n >= size)
        return nl_err_set(err, -EINVAL, "%s: must be 1..%zu characters", key, size - 1);
    memcpy(out, value, n + 1);
    return 0;
}

int conf_name(const char *key, const char *value, bool dash, char *out, size_t size,
              struct nl_err *err)
{
    for (const char *p = value; *p; p++) {
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' ||
              (dash && *p == '-')))
            return nl_err_set(err, -EINVAL, "%s: '%s' may hold only a-z, 0-9, '_'%s", key, value,
                              dash ? " and '-'" : "");
    }
    return conf_str(key, value, out, size, err);
}

int conf_jurisdiction(const char *key, const char *value, char out[3], struct nl_err *err)
{
    if (strlen(value) != 2 || !isalpha((unsigned char)value[0]) ||
        !isalpha((unsigned char)value[1]))
        return nl_err_set(err, -EINVAL, "%s: '%s' is not a two-letter jurisdiction code", key,
                          value);
    out[0] = (char)toupper((unsigned char)value[0]);
    out[1] = (char)toupper((unsigned char)value[1]);
    out[2] = '\0';
    return 0;
}
