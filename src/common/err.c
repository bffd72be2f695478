/* SPDX-License-Identifier: MIT */
/* err.c - struct nl_err helpers; see include/nordlys/err.h. */
#include "nordlys/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void nl_err_clear(struct nl_err *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

int nl_err_set(struct nl_err *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

int nl_err_prefix(struct nl_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return 0;
    char head[NL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    /* Build head + old message, then cut to size: the end of a long message goes first. */
    size_t hl = strnlen(head, sizeof(head));
    size_t ml = strnlen(err->msg, sizeof(err->msg));
    if (hl > sizeof(err->msg) - 1)
        hl = sizeof(err->msg) - 1;
    if (hl + ml > sizeof(err->msg) - 1)
        ml = sizeof(err->msg) - 1 - hl;
    memmove(err->msg + hl, err->msg, ml);
    memcpy(err->msg, head, hl);
    err->msg[hl + ml] = '\0';
    return err->code;
}
