/* SPDX-License-Identifier: MIT */
/*
 * xalloc.h - allocation that never fails for its callers.
 *
 * On out-of-memory these print one line to stderr and abort(), as Redis's
 * zmalloc and Slurm's xmalloc do: recovering from OOM is only correct with
 * fault-injection tests behind it, which we do not have. Callers never
 * check for NULL. Raw malloc/calloc/realloc appear only in xalloc.c (CI
 * greps for it). xcalloc and xreallocarray check count * size for overflow.
 */
#ifndef NL_COMMON_XALLOC_H
#define NL_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t count, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Grow *cap geometrically until it is >= need; returns the new capacity. */
size_t xgrow(size_t cap, size_t need);

#endif
