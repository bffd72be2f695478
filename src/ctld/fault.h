/* SPDX-License-Identifier: MIT */
/*
 * fault.h - what is wrong with a request body, for the API's error object
 * (code, field, message), and the checks every body parser shares: keys
 * that are not allowed, and text from outside made safe to show.
 *
 * The lowest module of the controller: it calls no other.
 */
#ifndef NL_CTLD_FAULT_H
#define NL_CTLD_FAULT_H

#include <jansson.h>
#include <stddef.h>

/* A fault in a request: the API error code, the field at fault, the message. */
struct fault {
    const char *code; /* "invalid_field", "unknown_field", ... (static) */
    char field[64];
    char msg[256];
};

/*
 * Refuse keys of obj not in allowed (NULL-terminated): 0, or -EINVAL with
 * f naming the first unknown key (prefix borrowed, e.g. "exits[2].").
 */
int fault_check_keys(const json_t *obj, const char *const *allowed, const char *prefix,
                     struct fault *f);

/*
 * Copy at most max bytes of s (text from outside) into out (size bytes),
 * control characters (below 0x20, and 0x7f) written as \xNN, so that it can be
 * logged and shown safely; always NUL-terminated. Returns out.
 */
char *fault_escape(const char *s, size_t max, char *out, size_t size);
/* fault_escape of all of s into a new string (free()). */
char *fault_escape_dup(const char *s);

#endif
