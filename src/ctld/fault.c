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
            char shown[41];
            f->code = "unknown_field";
            snprintf(f->field, sizeof(f->field), "%s%s", prefix,
                     fault_escape(key, 40, shown, sizeof(shown)));
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
    /* A cut (max or size) must not split a UTF-8 character: the text goes into JSON. */
    size_t lead = n;
    while (lead > 0 && n - lead < 3 && ((unsigned char)out[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead > 0 && (unsigned char)out[lead - 1] >= 0xc0) {
        unsigned char b = (unsigned char)out[lead - 1];
        size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (n - (lead - 1) < need)
            n = lead - 1;
    }
    out[n] = '\0';
    return out;
}

char *fault_escape_dup(const char *s)
{
    size_t len = strlen(s), size = len * 4 + 1;
    return fault_escape(s, len, xmalloc(size), size);
}
