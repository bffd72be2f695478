/* SPDX-License-Identifier: MIT */
/* token.c - the command line's bearer token; see token.h. */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "nordlys/err.h"

/* A token is a few hundred bytes; an agent token listing many nodes a few KB. */
#define CLI_TOKEN_FILE_MAX (64 * 1024)

static int read_file(const char *path, bool must_exist, char **out, struct nl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && !must_exist)
            return 0;
        return nl_err_set(err, errno == ENOENT ? -ENOENT : -errno, "token file %s: %s", path,
                          strerror(errno));
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = nl_err_set(err, -errno, "token file %s: %s", path, strerror(errno));
    else if ((st.st_mode & 077) != 0)
        rc = nl_err_set(err, -EACCES,
                        "token file %s: mode %04o lets others read it; it must be 0600 "
                        "(chmod 600 %s)",
                        path, (unsigned)(st.st_mode & 07777), path);
    else if (st.st_size > CLI_TOKEN_FILE_MAX)
        rc = nl_err_set(err, -EINVAL, "token file %s: larger than %d bytes", path,
                        CLI_TOKEN_FILE_MAX);
    char *text = NULL;
    if (rc == 0) {
        text = xmalloc((size_t)st.st_size + 1);
        ssize_t n = read(fd, text, (size_t)st.st_size);
        if (n < 0)
            rc = nl_err_set(err, -errno, "token file %s: %s", path, strerror(errno));
        else
            text[n] = '\0';
    }
    close(fd);
    if (rc < 0) {
        free(text);
        return rc;
    }
    /* One line: the token, optionally followed by a newline. */
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        text[--len] = '\0';
    if (len == 0 || strpbrk(text, "\n\r ") != NULL) {
        free(text);
        return nl_err_set(err, -EINVAL, "token file %s: expected one line holding a token", path);
    }
    *out = text;
    return 0;
}

int cli_token_load(const char *file, char *(*getenv_fn)(const char *), char **out,
                   struct nl_err *err)
{
    *out = NULL;
    const char *env = getenv_fn("NORDLYS_TOKEN");
    if (env != NULL && env[0] != '\0') {
        if (strpbrk(env, "\n\r ") != NULL)
            return nl_err_set(err, -EINVAL, "NORDLYS_TOKEN: holds a space or a line break");
        *out = xstrdup(env);
        return 0;
    }
    if (file != NULL)
        return read_file(file, true, out, err);
    const char *home = getenv_fn("HOME");
    if (home == NULL || home[0] == '\0')
        return 0;
    size_t n = strlen(home) + 32;
    char *path = xmalloc(n);
    snprintf(path, n, "%s/.config/nordlys/token", home);
    int rc = read_file(path, false, out, err);
    free(path);
    return rc;
}
