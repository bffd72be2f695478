/* SPDX-License-Identifier: MIT */
/* cred.c - the agent's token; see cred.h. */
#include "cred.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "nordlys/err.h"

int cred_check_file(const char *file, const struct stat *st, uid_t owner, struct nl_err *err)
{
    if (!S_ISREG(st->st_mode))
        return nl_err_set(err, -EINVAL, "--token-file %s: not a regular file", file);
    if ((st->st_mode & 077) != 0)
        return nl_err_set(err, -EPERM,
                          "--token-file %s: mode %04o lets others read the token; it must be "
                          "0600 (chmod 600 %s)",
                          file, (unsigned)(st->st_mode & 07777), file);
    if (st->st_uid != owner)
        return nl_err_set(err, -EPERM,
                          "--token-file %s: mode %04o, owned by uid %ld; it must be owned by the "
                          "agent's user (uid %ld)",
                          file, (unsigned)(st->st_mode & 07777), (long)st->st_uid, (long)owner);
    return 0;
}

static int check_token(const char *from, const char *tok, struct nl_err *err)
{
    size_t n = strlen(tok);
    if (n == 0)
        return nl_err_set(err, -EINVAL, "%s: the token is empty", from);
    if (n > CRED_TOKEN_MAX)
        return nl_err_set(err, -EINVAL, "%s: the token is longer than %d bytes", from,
                          CRED_TOKEN_MAX);
    for (size_t i = 0; i < n; i++)
        if (tok[i] <= ' ' || tok[i] > '~')
            return nl_err_set(err, -EINVAL,
                              "%s: the token holds a byte 0x%02x at %zu (one line of printable "
                              "characters expected)",
                              from, (unsigned char)tok[i], i);
    return 0;
}

int cred_token_load(const char *file, const char *env_token, char **token, struct nl_err *err)
{
    *token = NULL;
    if (file == NULL) {
        if (env_token == NULL)
            return 0;
        int rc = check_token("NORDLYS_TOKEN", env_token, err);
        if (rc == 0)
            *token = xstrdup(env_token);
        return rc;
    }
    /* O_NOFOLLOW and fstat: the file checked is the file read. */
    int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return nl_err_set(err, -errno, "--token-file %s: %s", file,
                          errno == ELOOP ? "is a symbolic link" : strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) < 0
                     ? nl_err_set(err, -errno, "--token-file %s: %s", file, strerror(errno))
                     : cred_check_file(file, &st, geteuid(), err);
    char *buf = NULL;
    if (rc == 0) {
        buf = xmalloc(CRED_TOKEN_MAX + 2);
        size_t len = 0;
        for (;;) {
            ssize_t n = read(fd, buf + len, CRED_TOKEN_MAX + 1 - len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = nl_err_set(err, -errno, "--token-file %s: %s", file, strerror(errno));
                break;
            }
            if (n == 0 || (len += (size_t)n) > CRED_TOKEN_MAX)
                break;
        }
        buf[len] = '\0';
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                           buf[len - 1] == '\t'))
            buf[--len] = '\0';
    }
    close(fd);
    char from[64 + 4096];
    snprintf(from, sizeof(from), "--token-file %s", file);
    if (rc == 0)
        rc = check_token(from, buf, err);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *token = buf;
    return 0;
}
