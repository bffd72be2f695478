/* SPDX-License-Identifier: MIT */
/* outpat.c - output file patterns; see outpat.h. */
#include "common/outpat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int nl_outpat_check(const char *pat, char *bad)
{
    for (const char *p = pat; *p != '\0'; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == 'j' || *p == 't' || *p == 'a' || *p == 'A' || *p == 'x' ||
            *p == '%')
            continue;
        *bad = *p;
        return -EINVAL;
    }
    return 0;
}

bool nl_outpat_has_task(const char *pat)
{
    for (const char *p = pat; *p != '\0'; p++) {
        if (*p != '%')
            continue;
        if (p[1] == 't')
            return true;
        if (p[1] == '\0')
            break;
        p++;
    }
    return false;
}

/* Append len bytes of s at *n; false once buf is full. */
static bool put(char *buf, size_t size, size_t *n, const char *s, size_t len)
{
    if (*n + len >= size)
        return false;
    memcpy(buf + *n, s, len);
    *n += len;
    buf[*n] = '\0';
    return true;
}

int nl_outpat_expand(const char *pat, const struct nl_outpat_vals *v, char *buf, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return -ENAMETOOLONG;
    buf[0] = '\0';
    for (const char *p = pat; *p != '\0'; p++) {
        bool ok = true;
        if (*p != '%' || p[1] == '\0') {
            ok = put(buf, size, &n, p, 1);
        } else {
            char num[24];
            const char *val = NULL;
            switch (p[1]) {
            case 'j':
                val = v->job;
                break;
            case 'x':
                val = v->name;
                break;
            case 'a':
                val = v->array;
                break;
            case 'A':
                val = v->array_job;
                break;
            case 't':
                if (v->task >= 0) {
                    snprintf(num, sizeof(num), "%" PRId64, v->task);
                    val = num;
                }
                break;
            case '%':
                val = v->final ? "%" : NULL;
                break;
            default:
                break;
            }
            ok = val != NULL ? put(buf, size, &n, val, strlen(val)) : put(buf, size, &n, p, 2);
            p++;
        }
        if (!ok)
            return -ENAMETOOLONG;
    }
    return 0;
}
