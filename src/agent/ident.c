/* SPDX-License-Identifier: MIT */
/* ident.c - job accounts and the file-system identity; see ident.h. */
#define _GNU_SOURCE /* getgrouplist, setfsuid */
#include "ident.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "nordlys/err.h"

/* getpwnam_r's buffer: sysconf's hint, grown on ERANGE up to this. */
#define PW_BUF_MAX (1024 * 1024)

static int fill(const struct passwd *pw, struct ident *out)
{
    out->uid = pw->pw_uid;
    out->gid = pw->pw_gid;
    out->name = xstrdup(pw->pw_name);
    out->home = xstrdup(pw->pw_dir != NULL && pw->pw_dir[0] != '\0' ? pw->pw_dir : "/");
    out->shell =
            xstrdup(pw->pw_shell != NULL && pw->pw_shell[0] != '\0' ? pw->pw_shell : "/bin/sh");
    int n = 32;
    for (;;) {
        gid_t *g = xcalloc((size_t)n, sizeof(*g));
        int got = n;
        if (getgrouplist(pw->pw_name, pw->pw_gid, g, &got) >= 0) {
            out->groups = g;
            out->ngroups = (size_t)got;
            return 0;
        }
        free(g);
        if (got <= n || got > 65536)
            return -EIO;
        n = got;
    }
}

/* getpwnam_r or getpwuid_r (name NULL) into *out; -ENOENT when there is no such account. */
static int lookup(const char *name, uid_t uid, struct ident *out, struct nl_err *err)
{
    long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t size = hint > 0 ? (size_t)hint : 4096;
    for (;;) {
        char *buf = xmalloc(size);
        struct passwd pw, *res = NULL;
        int rc = name != NULL ? getpwnam_r(name, &pw, buf, size, &res)
                              : getpwuid_r(uid, &pw, buf, size, &res);
        if (rc == ERANGE && size < PW_BUF_MAX) {
            free(buf);
            size *= 2;
            continue;
        }
        if (rc == 0 && res == NULL) {
            free(buf);
            if (name != NULL)
                return nl_err_set(err, -ENOENT, "user '%s': no such account on this node", name);
            return nl_err_set(err, -ENOENT, "uid %ld: no such account on this node", (long)uid);
        }
        if (rc != 0) {
            free(buf);
            return nl_err_set(err, -rc, "user '%s': account lookup failed: %s",
                              name != NULL ? name : "(self)", strerror(rc));
        }
        rc = fill(res, out);
        free(buf);
        if (rc < 0) {
            ident_release(out);
            return nl_err_set(err, rc, "user '%s': cannot list its groups",
                              name != NULL ? name : "(self)");
        }
        return 0;
    }
}

int ident_resolve(const char *user, bool allow_root, struct ident *out, struct nl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (user == NULL || user[0] == '\0')
        return nl_err_set(err, -EINVAL, "user '': not an account name");
    int rc = lookup(user, 0, out, err);
    if (rc < 0)
        return rc;
    if (out->uid == 0 && !allow_root) {
        ident_release(out);
        return nl_err_set(err, -EPERM,
                          "user '%s': runs as root (uid 0), which needs the controller's "
                          "--allow-root-jobs",
                          user);
    }
    return 0;
}

int ident_self(struct ident *out, struct nl_err *err)
{
    memset(out, 0, sizeof(*out));
    return lookup(NULL, geteuid(), out, err);
}

void ident_release(struct ident *id)
{
    if (id == NULL)
        return;
    free(id->groups);
    free(id->name);
    free(id->home);
    free(id->shell);
    memset(id, 0, sizeof(*id));
}

void ident_copy(struct ident *dst, const struct ident *src)
{
    *dst = *src;
    dst->groups = xcalloc(src->ngroups + 1, sizeof(gid_t));
    memcpy(dst->groups, src->groups, src->ngroups * sizeof(gid_t));
    dst->name = xstrdup(src->name);
    dst->home = xstrdup(src->home);
    dst->shell = xstrdup(src->shell);
}

int ident_fs_enter(const struct ident *id, struct ident_saved *s, struct nl_err *err)
{
    memset(s, 0, sizeof(*s));
    if (geteuid() != 0)
        return 0;
    int n = getgroups(0, NULL);
    if (n < 0)
        return nl_err_set(err, -errno, "getgroups: %s", strerror(errno));
    s->groups = xcalloc((size_t)n + 1, sizeof(gid_t));
    n = getgroups(n, s->groups);
    if (n < 0) {
        free(s->groups);
        s->groups = NULL;
        return nl_err_set(err, -errno, "getgroups: %s", strerror(errno));
    }
    s->ngroups = (size_t)n;
    /* setfsuid answers the previous id; calling it with -1 changes nothing and reads it. */
    s->fsuid = (uid_t)syscall(SYS_setfsuid, (uid_t)-1);
    s->fsgid = (gid_t)syscall(SYS_setfsgid, (gid_t)-1);
    if (syscall(SYS_setgroups, id->ngroups, id->groups) < 0) {
        int e = errno;
        free(s->groups);
        s->groups = NULL;
        return nl_err_set(err, -e, "user '%s': setgroups: %s", id->name, strerror(e));
    }
    s->switched = true;
    syscall(SYS_setfsgid, id->gid);
    syscall(SYS_setfsuid, id->uid);
    /* setfsuid reports no error: read it back to be sure the switch took. */
    if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != id->uid ||
        (gid_t)syscall(SYS_setfsgid, (gid_t)-1) != id->gid) {
        ident_fs_leave(s);
        return nl_err_set(err, -EPERM, "user '%s': cannot take its file-system ids", id->name);
    }
    return 0;
}

void ident_fs_leave(struct ident_saved *s)
{
    if (s->switched) {
        syscall(SYS_setfsuid, s->fsuid);
        syscall(SYS_setfsgid, s->fsgid);
        syscall(SYS_setgroups, s->ngroups, s->groups);
    }
    free(s->groups);
    memset(s, 0, sizeof(*s));
}
