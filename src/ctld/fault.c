/* SPDX-License-Identifier: MIT */
/* fault.c - request faults, allowed keys, and text from outside made safe (see fault.h). */
#include "fault.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"

int fault_check_keys(const json_t *obj, const char *const *allowed, const char *prefix,
                     struct fault *f)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
            i++;
        if (allowed[i] == NULL) {
            f->code = "unknown_field";
            snprintf(f->field, sizeof(f->field), "%s%.40s", prefix, key);
            snprintf(f->msg, sizeof(f->msg), "%s: unknown field", f->field);
            return -EINVAL;
        }
    }
    return 0;
}

char *fault_escape(const char *s, size_t max, char *out, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return out;
    for (size_t i = 0; s[i] != '\0' && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool ctl = ch < 0x20 || ch == 0x7f;
        if (n + (ctl ? 4 : 1) >= size)
            break;
        if (ctl)
            n += (size_t)snprintf(out + n, size - n, "\\x%02x", ch);
        else
            out[n++] = (char)ch;
    }
    out[n] = '\0';
    return out;
}

char *fault_escape_dup(const char *s)
{
    size_t len = strlen(s), size = len * 4 + 1;
    return fault_escape(s, len, xmalloc(size), size);
}
