/* SPDX-License-Identifier: MIT */
/*
 * err.h - errors that carry their reason.
 *
 * Every function that can fail on bad input takes an optional
 * struct nl_err *. On failure it returns a negative errno value and, when
 * err is non-NULL, fills err with the same code and a message that names
 * the field and the value ("gpus: 96 exceeds one NVL72 rack (72)").
 * Messages start lowercase and carry no final full stop.
 */
#ifndef NL_NORDLYS_ERR_H
#define NL_NORDLYS_ERR_H

#define NL_ERR_MSG_MAX 256

struct nl_err {
    int code;                 /* 0, or a negative errno value */
    char msg[NL_ERR_MSG_MAX]; /* NUL-terminated, empty when code == 0 */
};

/* Reset err to "no error". NULL-safe. */
void nl_err_clear(struct nl_err *err);

/*
 * Record an error and return code, so that a failure is one line:
 *     return nl_err_set(err, -EINVAL, "gpus: %u is not positive", g);
 * err may be NULL (the code is still returned). code must be negative.
 */
int nl_err_set(struct nl_err *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * Put context in front of an existing message ("facility.conf:12: "),
 * keeping the code. Returns err->code (or 0 when err is NULL).
 */
int nl_err_prefix(struct nl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
