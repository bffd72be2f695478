/* SPDX-License-Identifier: MIT */
/* statedir.c - state-directory lock and instance key; see statedir.h. */
#define _GNU_SOURCE
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "nordlys/err.h"
#include "procs.h"

/* The pid in holder (the lock file's text) names no live process: that agent is dead. */
static bool holder_gone(const char *holder)
{
    char *end;
    long pid = strtol(holder, &end, 10);
    if (holder[0] == '\0' || *end != '\0' || pid <= 1 || pid > INT32_MAX)
        return false;
    /* A zombie has closed its files already: its lock is not what holds the directory. */
    struct procs_stat st;
    int rc = procs_stat((pid_t)pid, &st);
    return rc == -ENOENT || (rc == 0 && st.state == 'Z');
}

int statedir_lock(const char *dir, double wait_s, int *fd, struct nl_err *err)
{
    char path[PATH_MAX], holder[32];
    snprintf(path, sizeof(path), "%s/agent.lock", dir);
    int pid_err, rc = nl_file_lock_pid(path, fd, holder, &pid_err);
    int64_t end = nl_clock_monotonic_us() + (int64_t)(wait_s * 1e6);
    bool waited = false;
    while (rc == -EBUSY && holder_gone(holder) && nl_clock_monotonic_us() < end) {
        if (!waited)
            log_info("--state-dir %s: agent pid %s is gone, but its lock is still held (a keeper "
                     "of it writing its run's record): waiting up to %.0f s",
                     dir, holder, wait_s);
        waited = true;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
        rc = nl_file_lock_pid(path, fd, holder, &pid_err);
    }
    if (rc == -EBUSY && holder_gone(holder))
        return nl_err_set(err, rc,
                          "--state-dir %s: the agent that held %s (pid %s) is gone, but a process "
                          "it left (one of its keepers) still holds the lock after %.0f s",
                          dir, path, holder, wait_s);
    if (rc == -EBUSY)
        return nl_err_set(err, rc,
                          "--state-dir %s is in use by another nordlys-agent (pid %s holds "
                          "%s); two agents must not share a state directory",
                          dir, holder[0] ? holder : "unknown", path);
    if (rc < 0)
        return nl_err_set(err, rc, "--state-dir %s: %s: %s", dir, path, strerror(-rc));
    if (pid_err != 0) {
        close(*fd);
        *fd = -1;
        return nl_err_set(err, -pid_err, "--state-dir %s: %s: %s", dir, path, strerror(pid_err));
    }
    return 0;
}

static int valid_key(const char *s)
{
    if (strlen(s) != STATEDIR_INSTANCE_LEN - 1)
        return 0;
    for (const char *p = s; *p != '\0'; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

int statedir_instance(const char *dir, char hex[STATEDIR_INSTANCE_LEN], struct nl_err *err)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/instance", dir);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f >= 0) {
        char buf[64] = "";
        ssize_t n = read(f, buf, sizeof(buf) - 1);
        close(f);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        if (!valid_key(buf))
            return nl_err_set(err, -EPROTO,
                              "%s: not an instance key (32 hex digits); remove it to get a new "
                              "one, which the controller will see as a different agent",
                              path);
        memcpy(hex, buf, STATEDIR_INSTANCE_LEN);
        return 0;
    }
    if (errno != ENOENT)
        return nl_err_set(err, -errno, "%s: %s", path, strerror(errno));
    unsigned char raw[16];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return nl_err_set(err, -EIO, "getrandom: %s", strerror(errno));
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f < 0)
        return nl_err_set(err, -errno, "%s: %s", tmp, strerror(errno));
    char line[STATEDIR_INSTANCE_LEN + 1];
    int len = snprintf(line, sizeof(line), "%s\n", hex);
    int rc = 0;
    if (write(f, line, (size_t)len) != len || fsync(f) < 0)
        rc = nl_err_set(err, -EIO, "%s: %s", tmp, strerror(errno));
    close(f);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = nl_err_set(err, -errno, "%s: rename: %s", path, strerror(errno));
    if (rc < 0)
        unlink(tmp);
    return rc;
}
