/* SPDX-License-Identifier: MIT */
/* log.c - timestamped, levelled log lines; see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static const char *log_component = "nordlys";
static enum nl_log_level log_level = NL_LOG_INFO;
static unsigned log_cats;
static FILE *log_file;

static const char *const level_names[] = {"err", "warn", "info", "debug"};

void nl_log_init(const char *component, enum nl_log_level level, unsigned debug_cats)
{
    log_component = component;
    log_level = level;
    log_cats = debug_cats;
}

int nl_log_open(const char *path)
{
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return -errno;
    setvbuf(f, NULL, _IOLBF, 0);
    nl_log_close();
    log_file = f;
    return 0;
}

void nl_log_close(void)
{
    if (log_file != NULL)
        fclose(log_file);
    log_file = NULL;
}

bool nl_log_enabled(enum nl_log_level level)
{
    return level <= log_level;
}

bool nl_log_cat_enabled(unsigned cat)
{
    return (log_cats & cat) != 0;
}

void nl_log(enum nl_log_level level, const char *fmt, ...)
{
    if (level > log_level && !(level == NL_LOG_DEBUG && log_cats != 0))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    FILE *out = log_file ? log_file : stderr;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One fprintf per line so that concurrent writers do not interleave inside a line. */
    fprintf(out, "%s.%03ldZ %-5s %s: %s\n", stamp, ts.tv_nsec / 1000000L, level_names[level],
            log_component, line);
}
