/* SPDX-License-Identifier: MIT */
/*
 * scratch.c - per-node scratch directories and their wipes (scratch.h).
 *
 * The wipe works from directory descriptors only (openat, fstatat,
 * unlinkat with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW): a job that swaps a
 * directory for a symbolic link while the wipe runs gets its link removed,
 * never the link's target.
 */
#define _GNU_SOURCE /* realpath, fchmodat, openat */
#include "scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

struct scratch_node {
    char *tenant;   /* whose data may be inside; NULL: unknown, or several tenants' */
    bool dirty;     /* may hold data (true until the first wipe) */
    bool wipe_idle; /* a sensitive job ended: wipe once no job runs */
    bool made;      /* the directory exists with its mode set */
    uint32_t running, running_sensitive;
};

struct agent_scratch {
    char *root;
    struct scratch_node *node;
    size_t nnode;
};

struct agent_scratch *scratch_new(const char *root, struct nl_err *err)
{
    char probe[PATH_MAX];
    if (root[0] == '\0')
        return nl_err_set(err, -EINVAL, "--scratch-dir: empty"), NULL;
    if (snprintf(probe, sizeof(probe), "%s/.", root) >= (int)sizeof(probe))
        return nl_err_set(err, -ENAMETOOLONG, "--scratch-dir %s: path too long", root), NULL;
    int rc = nl_file_mkdir_parents(probe);
    if (rc < 0)
        return nl_err_set(err, rc, "--scratch-dir %s: %s", root, strerror(-rc)), NULL;
    char *abs = realpath(root, NULL);
    if (abs == NULL)
        return nl_err_set(err, -errno, "--scratch-dir %s: %s", root, strerror(errno)), NULL;
    struct agent_scratch *s = xcalloc(1, sizeof(*s));
    s->root = abs;
    return s;
}

void scratch_destroy(struct agent_scratch *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nnode; i++)
        free(s->node[i].tenant);
    free(s->node);
    free(s->root);
    free(s);
}

const char *scratch_root(const struct agent_scratch *s)
{
    return s->root;
}

/* --- the wipe ------------------------------------------------------------- */

struct wipe {
    int top;          /* the wiped directory */
    dev_t dev;        /* its file system: the wipe does not leave it */
    uint64_t removed; /* entries removed */
    uint64_t moved;   /* subtrees moved up to top (too deep) this pass */
    uint64_t seq;     /* names of moved subtrees */
    const char *path; /* for messages */
    struct nl_err *err;
};

static int wipe_dir(struct wipe *w, int dfd, unsigned depth);

/* Remove the entry name of dfd (a directory's content first). */
static int wipe_entry(struct wipe *w, int dfd, const char *name, unsigned depth)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0
                               : nl_err_set(w->err, -errno, "scratch %s: %s: %s", w->path, name,
                                            strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        /* Files, symbolic links (the link, never its target), sockets, fifos. */
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
            return nl_err_set(w->err, -errno, "scratch %s: remove %s: %s", w->path, name,
                              strerror(errno));
        w->removed++;
        return 0;
    }
    if (st.st_dev != w->dev)
        return nl_err_set(w->err, -EXDEV,
                          "scratch %s: %s is another file system (a mount): not wiped", w->path,
                          name);
    if (depth + 1 >= SCRATCH_WIPE_DEPTH_MAX) {
        /* Too deep to hold a descriptor per level: move it up, the next pass takes it. */
        char to[64];
        snprintf(to, sizeof(to), ".nordlys-wipe-%" PRIu64, ++w->seq);
        if (renameat(dfd, name, w->top, to) < 0)
            return nl_err_set(w->err, -errno, "scratch %s: move up %s: %s", w->path, name,
                              strerror(errno));
        w->moved++;
        return 0;
    }
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
        sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
        if (errno == ENOENT)
            return 0;
        /* Swapped for a link or a file since fstatat: remove that, without following it. */
        if ((errno == ELOOP || errno == ENOTDIR) && unlinkat(dfd, name, 0) == 0) {
            w->removed++;
            return 0;
        }
        return nl_err_set(w->err, -errno, "scratch %s: open %s: %s", w->path, name,
                          strerror(errno));
    }
    int rc = wipe_dir(w, sub, depth + 1);
    close(sub);
    if (rc < 0)
        return rc;
    if (unlinkat(dfd, name, AT_REMOVEDIR) < 0) {
        if (errno == ENOENT)
            return 0;
        /* Not empty: a subtree was moved up from it, or something is still writing. */
        if (errno == ENOTEMPTY && w->moved > 0)
            return 0;
        return nl_err_set(w->err, -errno, "scratch %s: remove %s: %s", w->path, name,
                          strerror(errno));
    }
    w->removed++;
    return 0;
}

/* Remove everything inside dfd (borrowed). */
static int wipe_dir(struct wipe *w, int dfd, unsigned depth)
{
    int fd = dup(dfd);
    if (fd < 0)
        return nl_err_set(w->err, -errno, "scratch %s: %s", w->path, strerror(errno));
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return nl_err_set(w->err, -errno, "scratch %s: %s", w->path, strerror(errno));
    }
    rewinddir(d);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        rc = wipe_entry(w, dfd, e->d_name, depth);
    }
    if (rc == 0 && e == NULL && errno != 0)
        rc = nl_err_set(w->err, -errno, "scratch %s: read: %s", w->path, strerror(errno));
    closedir(d);
    return rc;
}

/* Entries left directly inside dfd (0 when empty), or -errno. */
static int count_left(int dfd)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return -errno;
    }
    rewinddir(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

int scratch_wipe(const char *dir, uint64_t *removed, struct nl_err *err)
{
    *removed = 0;
    int top = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top < 0)
        return nl_err_set(err, -errno, "scratch %s: %s", dir, strerror(errno));
    struct stat st;
    if (fstat(top, &st) < 0) {
        int e = errno;
        close(top);
        return nl_err_set(err, -e, "scratch %s: %s", dir, strerror(e));
    }
    struct wipe w = {.top = top, .dev = st.st_dev, .path = dir, .err = err};
    int rc = 0;
    /*
     * Passes until empty: one normally; more when deep subtrees were moved
     * up. Each pass either empties the directory or moves work up a level
     * budget, so progress stops only when something keeps writing.
     */
    for (unsigned pass = 0; rc == 0; pass++) {
        w.moved = 0;
        uint64_t before = w.removed;
        rc = wipe_dir(&w, top, 0);
        if (rc < 0)
            break;
        int left = count_left(top);
        if (left == 0)
            break;
        if (left < 0) {
            rc = nl_err_set(err, left, "scratch %s: %s", dir, strerror(-left));
            break;
        }
        if (w.moved == 0 && w.removed == before) {
            rc = nl_err_set(err, -ENOTEMPTY,
                            "scratch %s: %d entries remain (something still writes there?)", dir,
                            left);
            break;
        }
        if (pass > 100000) {
            rc = nl_err_set(err, -ELOOP, "scratch %s: no end to the wipe", dir);
            break;
        }
    }
    close(top);
    *removed = w.removed;
    return rc;
}

/* --- the rule --------------------------------------------------------------- */

static struct scratch_node *node_state(struct agent_scratch *s, uint32_t idx)
{
    if (idx >= s->nnode) {
        size_t cap = xgrow(s->nnode, (size_t)idx + 1);
        s->node = xreallocarray(s->node, cap, sizeof(*s->node));
        for (size_t i = s->nnode; i < cap; i++)
            s->node[i] = (struct scratch_node){.dirty = true};
        s->nnode = cap;
    }
    return &s->node[idx];
}

static bool same_tenant(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int node_dir(struct agent_scratch *s, struct scratch_node *n, const char *node, char *path,
                    size_t size, struct nl_err *err)
{
    if (snprintf(path, size, "%s/%s", s->root, node) >= (int)size)
        return nl_err_set(err, -ENAMETOOLONG, "scratch %s/%s: path too long", s->root, node);
    if (n->made)
        return 0;
    if (mkdir(path, 01777) < 0 && errno != EEXIST)
        return nl_err_set(err, -errno, "scratch %s: %s", path, strerror(errno));
    struct stat st;
    if (lstat(path, &st) < 0)
        return nl_err_set(err, -errno, "scratch %s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return nl_err_set(err, -ENOTDIR, "scratch %s: not a directory", path);
    /* mkdir's mode passes the umask: set it whole. */
    if (chmod(path, 01777) < 0)
        return nl_err_set(err, -errno, "scratch %s: chmod: %s", path, strerror(errno));
    n->made = true;
    return 0;
}

static int wipe_node(struct scratch_node *n, const char *path, const char *why, struct nl_err *err)
{
    uint64_t removed = 0;
    int rc = scratch_wipe(path, &removed, err);
    if (rc < 0) {
        log_err("scratch %s: wipe %s FAILED after %" PRIu64 " entries: %s", path, why, removed,
                err->msg);
        return rc;
    }
    log_info("scratch %s: wiped %s (%" PRIu64 " entries removed)", path, why, removed);
    n->dirty = false;
    n->wipe_idle = false;
    free(n->tenant);
    n->tenant = NULL;
    return 0;
}

int scratch_acquire(struct agent_scratch *s, uint32_t node_idx, const char *node,
                    const char *tenant, bool sensitive, int64_t job, char *path, size_t size,
                    struct nl_err *err)
{
    struct scratch_node *n = node_state(s, node_idx);
    int rc = node_dir(s, n, node, path, size, err);
    if (rc < 0)
        return rc;
    if (n->running > 0) {
        bool mine = same_tenant(tenant, n->tenant);
        if ((sensitive || n->running_sensitive > 0) && !mine)
            return nl_err_set(err, -EBUSY,
                              "scratch %s: a sensitive job shares no node with another tenant "
                              "(job %" PRId64 " of tenant %s; running here: tenant %s%s)",
                              path, job, tenant ? tenant : "unknown",
                              n->tenant ? n->tenant : "unknown or several",
                              n->running_sensitive ? ", sensitive" : "");
        if (!mine) {
            /* Tenants side by side (not sensitive): nobody's alone any more; wipe when idle. */
            free(n->tenant);
            n->tenant = NULL;
        }
    } else if (n->dirty && !same_tenant(tenant, n->tenant)) {
        char why[160];
        snprintf(why, sizeof(why), "before job %" PRId64 " of tenant %s (last: %s)", job,
                 tenant ? tenant : "unknown", n->tenant ? n->tenant : "unknown");
        rc = wipe_node(n, path, why, err);
        if (rc < 0)
            return rc;
        n->tenant = tenant ? xstrdup(tenant) : NULL;
    } else if (!n->dirty) {
        free(n->tenant);
        n->tenant = tenant ? xstrdup(tenant) : NULL;
    }
    n->dirty = true;
    n->running++;
    n->running_sensitive += sensitive;
    return 0;
}

void scratch_release(struct agent_scratch *s, uint32_t node_idx, const char *node,
                     const char *tenant, bool sensitive, int64_t job)
{
    struct scratch_node *n = node_state(s, node_idx);
    if (n->running == 0)
        return;
    n->running--;
    n->running_sensitive -= sensitive && n->running_sensitive > 0;
    n->wipe_idle |= sensitive;
    if (n->running > 0 || !n->wipe_idle)
        return;
    char path[PATH_MAX], why[160];
    struct nl_err err = {0};
    if (snprintf(path, sizeof(path), "%s/%s", s->root, node) >= (int)sizeof(path))
        return;
    snprintf(why, sizeof(why), "after sensitive job %" PRId64 " of tenant %s", job,
             tenant ? tenant : "unknown");
    /* A failure is logged and leaves the node dirty: the next wipe tries again, or refuses. */
    wipe_node(n, path, why, &err);
}
