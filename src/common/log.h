/* SPDX-License-Identifier: MIT */
/*
 * log.h - the one logger of the daemons and tools (never used by libnordlys).
 *
 * Lines look like
 *     2026-11-24T09:12:01.123Z info  ctld: job=42 tenant=uio started on 2 nodes
 * and go to stderr (for journald) or to a file chosen with nl_log_open.
 * Debug output is gated by category bits, tested before any formatting.
 */
#ifndef NL_COMMON_LOG_H
#define NL_COMMON_LOG_H

#include <stdbool.h>

enum nl_log_level {
    NL_LOG_ERR = 0,
    NL_LOG_WARN,
    NL_LOG_INFO,
    NL_LOG_DEBUG,
};

/* Debug categories, a bitmask (Slurm's DebugFlags idea). */
enum nl_log_cat {
    NL_LOGC_SCHED = 1u << 0,
    NL_LOGC_STORE = 1u << 1,
    NL_LOGC_API = 1u << 2,
    NL_LOGC_AGENT = 1u << 3,
    NL_LOGC_POWER = 1u << 4,
};

/* Set the component name printed on each line ("ctld", "agent"); borrows a static string. */
void nl_log_init(const char *component, enum nl_log_level level, unsigned debug_cats);
/* Send lines to path (appending) instead of stderr; 0 or -errno. */
int nl_log_open(const char *path);
void nl_log_close(void);
bool nl_log_enabled(enum nl_log_level level);
bool nl_log_cat_enabled(unsigned cat);

void nl_log(enum nl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)  nl_log(NL_LOG_ERR, __VA_ARGS__)
#define log_warn(...) nl_log(NL_LOG_WARN, __VA_ARGS__)
#define log_info(...) nl_log(NL_LOG_INFO, __VA_ARGS__)
#define log_debug(cat, ...)                       \
    do {                                          \
        if (nl_log_cat_enabled(cat))              \
            nl_log(NL_LOG_DEBUG, __VA_ARGS__);    \
    } while (0)

#endif
