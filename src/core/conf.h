/* SPDX-License-Identifier: MIT */
/*
 * conf.h - the sectioned key = value text format shared by facility and
 * tenants files (internal to libnordlys).
 *
 *     # comment
 *     key = value            (top-level keys)
 *     [kind name]            (a section, e.g. [site narvik])
 *     key = value            (keys of that section)
 *
 * conf_parse calls back once per section header (key == NULL) and once per
 * key. A callback error is prefixed with "FNAME:LINE: " so that every
 * message names the file and line. No I/O: the text is in memory.
 */
#ifndef NL_CORE_CONF_H
#define NL_CORE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_err;

#define CONF_LINE_MAX 1024 /* longer lines are refused: no key or value needs more */

struct conf_item {
    unsigned lineno;
    const char *kind;  /* section kind, "" at top level */
    const char *name;  /* section name, "" at top level */
    const char *key;   /* NULL for a section header */
    const char *value; /* NULL for a section header */
};

/* Return 0, or a negative code with err set (its message names the field). */
typedef int (*conf_fn)(void *arg, const struct conf_item *it, struct nl_err *err);

int conf_parse(const char *text, size_t len, const char *fname, conf_fn fn, void *arg,
               struct nl_err *err);

/* Value parsers: each names key in its message ("racks: 'x' is not an integer"). */
int conf_u32(const char *key, const char *value, uint32_t min, uint32_t max, uint32_t *out,
             struct nl_err *err);
int conf_u64(const char *key, const char *value, uint64_t min, uint64_t max, uint64_t *out,
             struct nl_err *err);
int conf_double(const char *key, const char *value, double min, double max, double *out,
                struct nl_err *err);
int conf_bool(const char *key, const char *value, bool *out, struct nl_err *err);
/* Copy into a fixed buffer of size bytes; -EINVAL if it does not fit or is empty. */
int conf_str(const char *key, const char *value, char *out, size_t size, struct nl_err *err);
/* A name: 1..size-1 chars of [a-z0-9_] (plus '-' when dash is true). */
int conf_name(const char *key, const char *value, bool dash, char *out, size_t size,
              struct nl_err *err);
/* A two-letter jurisdiction code, upper-cased into out[3]. */
int conf_jurisdiction(const char *key, const char *value, char out[3], struct nl_err *err);

#endif
