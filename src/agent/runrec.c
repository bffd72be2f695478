/* SPDX-License-Identifier: MIT */
/*
 * runrec.c - run records and the leftover sweep; see runrec.h.
 *
 * The format is "key=value" lines, readable by a person looking at a
 * stuck node; unknown keys are ignored so a newer agent's records can be
 * swept by an older one.
 */
#define _GNU_SOURCE
#include "runrec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "procs.h"

/* Write r's text to tmp, whole (no rename). 0, or -errno with err set and tmp removed. */
static int write_text(const char *tmp, const struct runrec *r, struct nl_err *err)
{
    char text[2048];
    int len = snprintf(text, sizeof(text),
                       "job=%" PRId64 "\nrun=%" PRIu32 "\nnode=%s\npid=%ld\npgid=%ld\n"
                       "start_ticks=%" PRIu64 "\nkeeper=%ld\nkeeper_ticks=%" PRIu64
                       "\nboot_id=%s\ncgroup=%s\nkey=%s\n",
                       r->job, r->run, r->node, (long)r->pid, (long)r->pid, r->start_ticks,
                       (long)r->keeper, r->keeper_ticks, r->boot_id, r->cgroup, r->key);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return nl_err_set(err, -errno, "run record %s: %s", tmp, strerror(errno));
    int rc = 0;
    /*
     * No fsync: a record guards against processes dying, and the page
     * cache outlives a process (rename is atomic for every reader on this
     * boot). A reboot ends every process anyway, and records of an earlier
     * boot are dropped by the sweep (boot_id). An fsync per launch cost
     * milliseconds per job on a busy disk.
     */
    if (write(fd, text, (size_t)len) != len)
        rc = nl_err_set(err, -(errno ? errno : EIO), "run record %s: %s", tmp,
                        strerror(errno ? errno : EIO));
    close(fd);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int runrec_write(const char *dir, const char *name, const struct runrec *r, struct nl_err *err)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int rc = write_text(tmp, r, err);
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = nl_err_set(err, -errno, "run record %s: rename: %s", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

int runrec_update(const char *dir, const char *name, const struct runrec *r, struct nl_err *err)
{
    char path[PATH_MAX], next[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(next, sizeof(next), "%s" RUNREC_NEXT, path);
    int rc = write_text(next, r, err);
    if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
        rc = nl_err_set(err, -errno, "run record %s: %s", path, strerror(errno));
    if (rc == 0 && rename(next, path) < 0)
        rc = nl_err_set(err, -errno, "run record %s: rename: %s", path, strerror(errno));
    /* On failure the new version is left as it is: whole, it is the record (runrec.h). */
    return rc;
}

void runrec_remove(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s" RUNREC_NEXT, dir, name);
    unlink(path); /* what an update that failed left, if anything */
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (unlink(path) < 0 && errno != ENOENT)
        log_warn("run record %s: %s", path, strerror(errno));
}

static int num(const char *path, const char *key, const char *v, int64_t min, int64_t max,
               int64_t *out, struct nl_err *err)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || x < min || x > max)
        return nl_err_set(err, -EPROTO, "run record %s: %s: '%s' is not valid", path, key, v);
    *out = x;
    return 0;
}

int runrec_read(const char *path, struct runrec *r, struct nl_err *err)
{
    memset(r, 0, sizeof(*r));
    char *text;
    size_t len;
    int rc = nl_file_read(path, 16384, &text, &len, err);
    if (rc < 0)
        return rc;
    bool have_job = false, have_pid = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        const char *k = line, *v = eq + 1;
        int64_t x = 0;
        if (strcmp(k, "job") == 0) {
            rc = num(path, k, v, 1, INT64_MAX, &x, err);
            r->job = x;
            have_job = true;
        } else if (strcmp(k, "run") == 0) {
            rc = num(path, k, v, 0, UINT32_MAX, &x, err);
            r->run = (uint32_t)x;
        } else if (strcmp(k, "node") == 0) {
            snprintf(r->node, sizeof(r->node), "%s", v);
        } else if (strcmp(k, "pid") == 0) {
            rc = num(path, k, v, 0, INT32_MAX, &x, err);
            rc = rc == 0 && x == 1 ? nl_err_set(err, -EPROTO, "run record %s: pid: 1 is init", path)
                                   : rc;
            r->pid = (pid_t)x;
            have_pid = true;
        } else if (strcmp(k, "start_ticks") == 0) {
            rc = num(path, k, v, 0, INT64_MAX, &x, err);
            r->start_ticks = (uint64_t)x;
        } else if (strcmp(k, "keeper") == 0) {
            rc = num(path, k, v, 0, INT32_MAX, &x, err);
            r->keeper = (pid_t)x;
        } else if (strcmp(k, "keeper_ticks") == 0) {
            rc = num(path, k, v, 0, INT64_MAX, &x, err);
            r->keeper_ticks = (uint64_t)x;
        } else if (strcmp(k, "boot_id") == 0) {
            snprintf(r->boot_id, sizeof(r->boot_id), "%s", v);
        } else if (strcmp(k, "cgroup") == 0) {
            snprintf(r->cgroup, sizeof(r->cgroup), "%s", v);
        } else if (strcmp(k, "key") == 0) {
            if (v[0] != '\0' &&
                (strlen(v) != RUNREC_KEY_LEN - 1 || strspn(v, "0123456789abcdef") != strlen(v)))
                rc = nl_err_set(err, -EPROTO, "run record %s: key: '%s' is not 32 hex digits", path,
                                v);
            else
                memcpy(r->key, v, RUNREC_KEY_LEN);
        }
    }
    free(text);
    if (rc == 0 && (!have_job || !have_pid))
        rc = nl_err_set(err, -EPROTO, "run record %s: %s missing", path, have_job ? "pid" : "job");
    return rc;
}

/* Live processes in a cgroup (cgroup.procs lines); 0 when it is gone. */
static size_t cgroup_procs(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    size_t n = 0;
    char line[64];
    while (fgets(line, sizeof(line), f) != NULL) {
        struct procs_stat st;
        if (procs_stat((pid_t)atol(line), &st) == 0 && st.state != 'Z')
            n++;
    }
    fclose(f);
    return n;
}

static void cgroup_kill(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = write(fd, "1", 1);
    (void)n;
    close(fd);
}

/*
 * The run's process group is still its own when its first process exists
 * with the recorded start time (alive, or a zombie nobody reaped: its
 * keeper died and the orphan went to an init that does not reap), or when
 * no process has the group's id as its pid (a group id is not handed out
 * again while any member lives, and a new group's id is its founder's
 * pid). Members that started before the run cannot be the run's.
 */
static bool group_is_ours(const struct runrec *r)
{
    struct procs_stat st;
    int rc = procs_stat(r->pid, &st);
    return rc == -ENOENT || (rc == 0 && st.start_ticks == r->start_ticks);
}

/* One record being swept. */
struct swept {
    char path[PATH_MAX];
    struct runrec r;
    size_t first; /* processes found alive in the first pass */
    size_t left;  /* in the last pass */
    bool by_key;  /* some were found by the run's key alone */
    bool done;    /* nothing left: logged and removed */
};

/*
 * Kill whatever is left of r by its handles but the key, once; returns how
 * many of its processes were still alive. A live keeper is a subreaper:
 * every process of the run, even one that left the job's group (setsid)
 * and lost its parent, is below it, so its subtree is killed first and
 * the keeper only once that is empty (killed earlier, it would hand its
 * subtree to init, out of reach).
 */
static size_t kill_left(const struct runrec *r)
{
    size_t n = 0;
    bool keeper = r->keeper > 0 && procs_same(r->keeper, r->keeper_ticks);
    size_t below = keeper ? procs_signal_descendants(r->keeper, SIGKILL) : 0;
    n += below;
    if (r->cgroup[0] != '\0') {
        size_t c = cgroup_procs(r->cgroup);
        if (c > 0)
            cgroup_kill(r->cgroup);
        n += c;
    }
    /* No pid (the keeper died before it could write one): no group to look at. */
    if (r->pid > 0 && group_is_ours(r))
        n += procs_group_members(r->pid, r->start_ticks, SIGKILL);
    if (r->pid > 0 && procs_same(r->pid, r->start_ticks)) {
        kill(r->pid, SIGKILL);
        n++;
    }
    if (keeper && below == 0) {
        kill(r->keeper, SIGKILL);
        n++;
    } else if (keeper) {
        n++; /* still alive: killed in a later pass, once its subtree is gone */
    }
    return n;
}

struct key_walk {
    struct swept *v;
    size_t n;
    pid_t self;
};

/*
 * A process whose environment holds the key of a record being swept, and
 * that started no earlier than the record's keeper (a key is random, so
 * this only guards against a process that copied one), is the run's: the
 * handle that finds what left the job's group and lost its keeper, where
 * there is no cgroup.
 */
static void kill_keyed(pid_t pid, const struct procs_stat *st, void *arg)
{
    struct key_walk *w = arg;
    char key[RUNREC_KEY_LEN];
    if (pid == w->self || procs_env_value(pid, RUNREC_ENV, key, sizeof(key)) < 0)
        return;
    for (size_t i = 0; i < w->n; i++) {
        struct swept *s = &w->v[i];
        if (s->done || s->r.key[0] == '\0' || strcmp(s->r.key, key) != 0 ||
            st->start_ticks < s->r.keeper_ticks)
            continue;
        kill(pid, SIGKILL);
        s->left++;
        s->by_key = true;
        return;
    }
}

/* One pass over every record not done: each one's handles, then one walk of /proc for keys. */
static void sweep_pass(struct swept *v, size_t n, bool first)
{
    bool keys = false;
    for (size_t i = 0; i < n; i++) {
        if (v[i].done)
            continue;
        v[i].left = kill_left(&v[i].r);
        keys |= v[i].r.key[0] != '\0';
    }
    if (keys) {
        struct key_walk w = {v, n, getpid()};
        procs_each(kill_keyed, &w);
    }
    for (size_t i = 0; first && i < n; i++)
        v[i].first = v[i].left;
}

size_t runrec_kill(const struct runrec *r)
{
    struct swept s = {.r = *r};
    sweep_pass(&s, 1, true);
    return s.first;
}

/* s's run has nothing left: say what was found, and remove its cgroup and record. */
static int sweep_done(struct swept *s, struct nl_err *err)
{
    const struct runrec *r = &s->r;
    if (s->first > 0)
        log_warn("leftover run job=%" PRId64 " run=%" PRIu32 " node=%s: killed %zu processes "
                 "(pid %ld, group %ld, keeper %ld%s%s%s)",
                 r->job, r->run, r->node, s->first, (long)r->pid, (long)r->pid, (long)r->keeper,
                 r->cgroup[0] ? ", cgroup " : "", r->cgroup,
                 s->by_key ? ", and by its key " RUNREC_ENV : "");
    else if (r->pid == 0)
        log_info("leftover run job=%" PRId64 " run=%" PRIu32 " node=%s: never started (its keeper "
                 "died before the job's first process could be recorded), nothing left",
                 r->job, r->run, r->node);
    else
        log_info("leftover run job=%" PRId64 " run=%" PRIu32 " node=%s: already gone (pid %ld)",
                 r->job, r->run, r->node, (long)r->pid);
    if (r->cgroup[0] != '\0' && rmdir(r->cgroup) < 0 && errno != ENOENT)
        log_warn("leftover run job=%" PRId64 ": rmdir %s: %s", r->job, r->cgroup, strerror(errno));
    s->done = true;
    if (unlink(s->path) < 0 && errno != ENOENT)
        return nl_err_set(err, -errno, "run record %s: %s", s->path, strerror(errno));
    return 0;
}

/* Read dir's records into *out (a new array); records of another boot are dealt with here. */
static int sweep_read(DIR *d, const char *dir, struct swept **out, size_t *nout, int *swept,
                      struct nl_err *err)
{
    char boot[64];
    procs_boot_id(boot, sizeof(boot));
    size_t n = 0, cap = 0;
    struct swept *v = NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t len = strlen(de->d_name), nl = strlen(RUNREC_NEXT);
        if (len > nl && strcmp(de->d_name + len - nl, RUNREC_NEXT) == 0) {
            /*
             * A second version (runrec_update): whole once its record is
             * gone, and then the record; while the record is there, that
             * is (the keeper may have died writing this one).
             */
            char base[PATH_MAX];
            snprintf(base, sizeof(base), "%s/%.*s", dir, (int)(len - nl), de->d_name);
            if (access(base, F_OK) == 0) {
                unlink(path);
                continue;
            }
        } else if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
            /*
             * Never renamed: the keeper that wrote it died before its job
             * could start (it starts nothing before the rename), or it is a
             * started run's second version, whose first one is in place.
             */
            unlink(path);
            continue;
        }
        struct runrec r;
        struct nl_err rerr = {0};
        if (runrec_read(path, &r, &rerr) < 0) {
            /* A record we cannot read names nothing we could kill safely: say so and drop it. */
            log_err("%s; removing it", rerr.msg);
            unlink(path);
            continue;
        }
        if (strcmp(r.boot_id, boot) != 0) {
            log_info("leftover run job=%" PRId64 " run=%" PRIu32 " node=%s (%s): from an earlier "
                     "boot, nothing to kill",
                     r.job, r.run, r.node, path);
            if (r.cgroup[0] != '\0' && rmdir(r.cgroup) < 0 && errno != ENOENT)
                log_warn("leftover run job=%" PRId64 ": rmdir %s: %s", r.job, r.cgroup,
                         strerror(errno));
            if (unlink(path) < 0 && errno != ENOENT) {
                free(v);
                return nl_err_set(err, -errno, "run record %s: %s", path, strerror(errno));
            }
            ++*swept;
            continue;
        }
        if (n == cap) {
            cap = xgrow(cap, n + 1);
            v = xreallocarray(v, cap, sizeof(*v));
        }
        memset(&v[n], 0, sizeof(v[n]));
        snprintf(v[n].path, sizeof(v[n].path), "%s", path);
        v[n++].r = r;
    }
    *out = v;
    *nout = n;
    return 0;
}

int runrec_sweep(const char *dir, double deadline_s, struct nl_err *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : nl_err_set(err, -errno, "%s: %s", dir, strerror(errno));
    int64_t end = nl_clock_monotonic_us() + (int64_t)(deadline_s * 1e6);
    int swept = 0;
    struct swept *v = NULL;
    size_t n = 0;
    int rc = sweep_read(d, dir, &v, &n, &swept, err);
    closedir(d);
    for (bool first = true; rc == 0; first = false) {
        sweep_pass(v, n, first);
        size_t busy = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (v[i].done)
                continue;
            if (v[i].left > 0) {
                busy++;
                continue;
            }
            rc = sweep_done(&v[i], err);
            swept += rc == 0;
        }
        if (busy == 0 || rc < 0)
            break;
        if (nl_clock_monotonic_us() >= end) {
            for (size_t i = 0; i < n; i++)
                if (!v[i].done && v[i].left > 0) {
                    const struct runrec *r = &v[i].r;
                    rc = nl_err_set(err, -EBUSY,
                                    "leftover run job=%" PRId64 " run=%" PRIu32 " node=%s: %zu "
                                    "processes (group %ld, keeper %ld) still alive after SIGKILL; "
                                    "see %s",
                                    r->job, r->run, r->node, v[i].left, (long)r->pid,
                                    (long)r->keeper, v[i].path);
                    break;
                }
            break;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    free(v);
    return rc < 0 ? rc : swept;
}

void runrec_key_new(char key[RUNREC_KEY_LEN])
{
    unsigned char raw[16];
    if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != (ssize_t)sizeof(raw)) {
        /*
         * No entropy yet (early boot): the key must only be unique on this
         * machine in this boot, which the agent's pid, the monotonic clock
         * and a counter are.
         */
        static uint64_t count;
        uint64_t a = (uint64_t)getpid() << 32 ^ ++count, b = (uint64_t)nl_clock_monotonic_us();
        memcpy(raw, &a, 8);
        memcpy(raw + 8, &b, 8);
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(key + 2 * i, 3, "%02x", raw[i]);
}
