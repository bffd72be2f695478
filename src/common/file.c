/* SPDX-License-Identifier: MIT */
/* file.c - see file.h. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nordlys/err.h"
#include "xalloc.h"

int nl_file_read(const char *path, size_t max_bytes, char **out, size_t *len, struct nl_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return nl_err_set(err, -errno, "%s: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *buf = xmalloc(cap);
    int rc = 0;
    for (;;) {
        if (n + 1 >= cap)
            buf = xrealloc(buf, cap = xgrow(cap, n + 65536));
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max_bytes) {
            rc = nl_err_set(err, -EFBIG, "%s: larger than %zu bytes", path, max_bytes);
            break;
        }
        if (got == 0) {
            if (ferror(f))
                rc = nl_err_set(err, -EIO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* mkdir -p of path's parents; those it creates get exactly mode when exact is set. */
static int mkdir_parents(const char *path, unsigned mode, bool exact)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    char *slash = strrchr(buf, '/');
    if (slash == NULL || slash == buf)
        return 0;
    *slash = '\0';
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, (mode_t)mode) == 0) {
                /* mkdir's mode passes the umask; a directory just made is ours to set. */
                if (exact && chmod(buf, (mode_t)mode) < 0)
                    return -errno;
            } else if (errno != EEXIST) {
                return -errno;
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return 0;
}

int nl_file_mkdir_parents(const char *path)
{
    return mkdir_parents(path, 0755, false);
}

int nl_file_mkdir_parents_mode(const char *path, unsigned mode)
{
    return mkdir_parents(path, mode, true);
}

int nl_file_lock_pid(const char *path, int *fd, char holder[32], int *pid_err)
{
    holder[0] = '\0';
    *pid_err = 0;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0)
        return -errno;
    if (flock(f, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        ssize_t n = pread(f, holder, 31, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(f);
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    char text[32];
    int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    if (ftruncate(f, 0) < 0 || pwrite(f, text, (size_t)len, 0) != len)
        *pid_err = errno ? errno : EIO;
    *fd = f;
    return 0;
}
