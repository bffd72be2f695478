/* SPDX-License-Identifier: MIT */
/* cgroup.c - per-job cgroups v2; see cgroup.h. */
#define _GNU_SOURCE /* for statfs's f_type magic */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

struct agent_cg {
    char dir[512]; /* ROOT/nordlys/AGENT */
};

/* dir/name into buf; false (and nothing useful in buf) when it does not fit. */
static bool join(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < size;
}

static bool is_cgroup2(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    if (!join(path, sizeof(path), dir, name))
        return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int rc = n < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* Enable what the parent offers of cpu, memory and pids for dir's children, one at a time. */
static void enable_controllers(const char *dir)
{
    static const char *const ctl[] = {"+cpu", "+memory", "+pids"};
    for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++)
        if (write_file(dir, "cgroup.subtree_control", ctl[i]) < 0)
            log_debug(NL_LOGC_AGENT, "cgroup: %s not enabled in %s", ctl[i] + 1, dir);
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

struct agent_cg *agent_cg_open(const char *setting, const char *agent_name)
{
    const char *root = NULL;
    if (strcmp(setting, "none") == 0) {
        log_info("cgroup: disabled by --cgroup-root none; jobs run without cgroups");
        return NULL;
    }
    if (strcmp(setting, "auto") != 0)
        root = is_cgroup2(setting) ? setting : NULL;
    else if (is_cgroup2("/sys/fs/cgroup"))
        root = "/sys/fs/cgroup";
    else if (is_cgroup2("/sys/fs/cgroup/unified"))
        root = "/sys/fs/cgroup/unified";
    if (root == NULL) {
        log_info("cgroup: no cgroup v2 mount at %s; jobs run without cgroups",
                 strcmp(setting, "auto") == 0 ? "/sys/fs/cgroup" : setting);
        return NULL;
    }
    struct agent_cg *cg = xcalloc(1, sizeof(*cg));
    char top[256];
    int rc = join(top, sizeof(top), root, "nordlys") &&
                             join(cg->dir, sizeof(cg->dir), top, agent_name)
                     ? make_dir(top)
                     : -ENAMETOOLONG;
    if (rc == 0)
        rc = make_dir(cg->dir);
    if (rc < 0) {
        log_info("cgroup: %s is not writable (%s); jobs run without cgroups", top, strerror(-rc));
        free(cg);
        return NULL;
    }
    enable_controllers(top);
    enable_controllers(cg->dir);
    log_info("cgroup: one cgroup per job under %s", cg->dir);
    return cg;
}

void agent_cg_close(struct agent_cg *cg)
{
    if (cg == NULL)
        return;
    /* Leaves are gone by now; the agent's own directory goes too if it is empty. */
    rmdir(cg->dir);
    free(cg);
}

const char *agent_cg_path(const struct agent_cg *cg)
{
    return cg->dir;
}

static void write_limit(const char *dir, const char *name, int64_t value)
{
    if (value <= 0)
        return;
    char text[32];
    snprintf(text, sizeof(text), "%lld", (long long)value);
    int rc = write_file(dir, name, text);
    if (rc < 0)
        log_warn("cgroup: %s/%s = %s: %s; the job runs without this limit", dir, name, text,
                 strerror(-rc));
}

int agent_cg_job_create(struct agent_cg *cg, const char *leaf, const struct agent_cg_limits *lim,
                        int *procs_fd)
{
    char path[PATH_MAX], procs[PATH_MAX];
    if (!join(path, sizeof(path), cg->dir, leaf) ||
        !join(procs, sizeof(procs), path, "cgroup.procs"))
        return -ENAMETOOLONG;
    int rc = make_dir(path);
    if (rc < 0)
        return rc;
    if (lim != NULL) {
        write_limit(path, "memory.max", lim->memory_max);
        write_limit(path, "pids.max", lim->pids_max);
    }
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        rmdir(path);
        return rc;
    }
    *procs_fd = fd;
    return 0;
}

/* Kill every process in the job's leaf; false when there is no leaf to act on. path gets its path. */
static bool kill_leaf(struct agent_cg *cg, const char *leaf, char *path, size_t size)
{
    if (cg == NULL || !join(path, size, cg->dir, leaf))
        return false;
    /* Kernels before 5.14 lack cgroup.kill; the process-group kill still covers most cases. */
    write_file(path, "cgroup.kill", "1");
    return true;
}

void agent_cg_job_remove(struct agent_cg *cg, const char *leaf)
{
    char path[PATH_MAX];
    if (!kill_leaf(cg, leaf, path, sizeof(path)))
        return;
    /*
     * The keeper reaped every process of the run before reporting its end,
     * so the leaf is normally empty now. cgroup.kill is asynchronous, and a
     * process stuck in the kernel may hold it a moment longer: retry rmdir
     * briefly, then leave it (empty leaves are harmless) and say so.
     */
    for (int i = 0; i < 50; i++) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return;
        if (errno != EBUSY)
            break;
        usleep(2000);
    }
    log_warn("cgroup: rmdir %s: %s; left behind", path, strerror(errno));
}
