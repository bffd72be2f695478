/* SPDX-License-Identifier: MIT */
/*
 * launch.c - the keeper and the vfork/exec of one job under it; see
 * launch.h.
 *
 * The keeper is a plain fork of the agent: it needs no exec because it
 * runs a few hundred lines of this file and then _exits, and keeping it
 * in-process means the job's argv and environment need no serialising.
 * The first thing it does is close every descriptor but its own, so that
 * it holds neither the agent's state-directory lock nor the sockets of
 * other keepers (a keeper must see end-of-file when the agent dies, which
 * a copy of the agent's end in a sibling would prevent).
 *
 * The keeper starts the job with vfork, not fork: the child borrows the
 * keeper's memory until execve
 * instead of getting a copy of its page tables. A copy costs the agent
 * time in proportion to its size, on every launch (an emulating agent
 * with 25,000 nodes, or any sanitizer build, where it measured about 15 ms
 * of system time per job against well under 1 ms with vfork). The price is
 * the rules of vfork, which this file keeps:
 * - between vfork and execve the child makes only async-signal-safe system
 *   calls (it must not take an allocator lock, nor change memory the agent
 *   uses): every string, path and array the child uses is built before,
 *   and the child's work is a fixed list of system calls;
 * - the child never returns from the function that called vfork: child()
 *   ends in execve or _exit;
 * - nothing the parent keeps in locals changes across the vfork call
 *   (spawn_child holds only the call), so no variable can be clobbered.
 * The agent is suspended until the child has exec'd or failed, which takes
 * microseconds; its signals stay blocked meanwhile (signalfd).
 */
#define _GNU_SOURCE /* close_range, pipe2, wait4 */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "ident.h"
#include "nordlys/err.h"
#include "procs.h"
#include "runrec.h"

static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp[i] != NULL; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

/*
 * The file execve should run: argv0 itself when it holds a '/', else the
 * first executable match in PATH (the job's PATH, not the agent's). When
 * nothing matches, argv0 is returned unchanged and execve's ENOENT reaches
 * the report.
 */
static char *resolve(const char *argv0, char *const *envp)
{
    if (strchr(argv0, '/') != NULL)
        return xstrdup(argv0);
    const char *path = env_get(envp, "PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    char buf[PATH_MAX];
    while (*path != '\0') {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len > 0 &&
            snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, argv0) < (int)sizeof(buf)) {
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
                return xstrdup(buf);
        }
        path += len + (end != NULL);
    }
    return xstrdup(argv0);
}

/* A growing environment in which a name set again replaces its earlier entry, in place. */
struct envb {
    char **v;
    size_t n, cap;
};

static void env_put(struct envb *e, char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->v[i], kv, klen) == 0 && e->v[i][klen] == '=') {
            free(e->v[i]);
            e->v[i] = kv;
            return;
        }
    }
    if (e->n + 2 > e->cap) {
        e->cap = xgrow(e->cap, e->n + 2);
        e->v = xreallocarray(e->v, e->cap, sizeof(*e->v));
    }
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
}

static void env_set(struct envb *e, const char *name, const char *value)
{
    size_t kl = strlen(name), vl = strlen(value);
    char *kv = xmalloc(kl + vl + 2);
    memcpy(kv, name, kl);
    kv[kl] = '=';
    memcpy(kv + kl + 1, value, vl + 1);
    env_put(e, kv);
}

char **launch_env_build(const struct ident *id, char *const *agent_env, char *const *exports,
                        size_t nexports, char *const *launch)
{
    struct envb e = {0};
    env_set(&e, "PATH", LAUNCH_DEFAULT_PATH);
    env_set(&e, "HOME", id->home);
    env_set(&e, "USER", id->name);
    env_set(&e, "LOGNAME", id->name);
    env_set(&e, "SHELL", id->shell);
    for (size_t i = 0; i < nexports; i++) {
        const char *v = agent_env != NULL ? env_get(agent_env, exports[i]) : NULL;
        if (v != NULL)
            env_set(&e, exports[i], v);
    }
    for (size_t i = 0; launch != NULL && launch[i] != NULL; i++)
        env_put(&e, xstrdup(launch[i]));
    return e.v;
}

void launch_env_free(char **env)
{
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        free(env[i]);
    free(env);
}

/*
 * Keeper to agent. One SOCK_SEQPACKET message each, so a message is whole
 * or absent; the agent sends plain int32 signal numbers the other way.
 */
enum keeper_type {
    KEEPER_STARTED = 1, /* pid (or -1 with err: the keeper could not fork), exec report */
    KEEPER_EXITED,      /* the job's first process ended; the rest of the job is gone */
};

struct keeper_msg {
    int32_t type;
    int32_t pid;
    int32_t stage, err;
    uint64_t ticks;
    int32_t status;
    int32_t pad;
    int64_t cpu_us;
    int64_t max_rss_kb;
};

/* How long a keeper waits for its job's subtree to die. */
#define KEEPER_SWEEP_US (10 * INT64_C(1000000))

/* path lies below root (root itself excluded). */
static bool below(const char *root, const char *path)
{
    size_t n = root != NULL ? strlen(root) : 0;
    while (n > 1 && root[n - 1] == '/')
        n--;
    return n > 0 && strncmp(path, root, n) == 0 && path[n] == '/' && path[n + 1] != '\0';
}

/*
 * The job's own directory dir, below the output root: its ancestors are
 * the agent's (0755, as the root), dir itself is created 0700 and given to
 * the job's user, so only that user can enter it. A directory that exists
 * already is left as it is: it was made for this job (a requeued run), or
 * it is another's, and then the open as the user below fails.
 */
static int job_dir(const char *dir, const struct ident *id, struct nl_err *err, const char *what)
{
    /* 0755 whatever the agent's umask (a 077 one made them 0700: no job of another user ran). */
    int rc = nl_file_mkdir_parents_mode(dir, 0755);
    if (rc < 0)
        return nl_err_set(err, rc, "%s directory %s: %s", what, dir, strerror(-rc));
    if (mkdir(dir, 0700) < 0) {
        if (errno == EEXIST)
            return 0;
        return nl_err_set(err, -errno, "%s directory %s: %s", what, dir, strerror(errno));
    }
    /* By descriptor, never following a link: the name could be swapped meanwhile. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return nl_err_set(err, -errno, "%s directory %s: %s", what, dir, strerror(errno));
    rc = 0;
    if ((geteuid() == 0 && fchown(fd, id->uid, id->gid) < 0) || fchmod(fd, 0700) < 0)
        rc = nl_err_set(err, -errno, "%s directory %s: %s", what, dir, strerror(errno));
    close(fd);
    return rc;
}

/*
 * A second descriptor of the output file just opened as fd, for reading
 * what the job writes (output shipped to the controller, issue 12): by
 * path, as the job's user (the caller holds its file-system ids), and
 * only if it is the same file, so that it reads nothing its user could
 * not. -1 when it cannot be had; the job runs anyway, its output unshipped.
 */
static int open_reader(const char *path, int fd)
{
    int rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat a, b;
    if (rfd >= 0 && (fstat(fd, &a) < 0 || fstat(rfd, &b) < 0 || a.st_dev != b.st_dev ||
                     a.st_ino != b.st_ino || !S_ISREG(b.st_mode))) {
        close(rfd);
        rfd = -1;
    }
    return rfd;
}

static int open_output(const struct launch_spec *spec, const char *what, const char *path, int *fd,
                       int *rfd, struct nl_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir)
        *slash = '\0';
    bool ours = below(spec->output_root, dir);
    if (ours) {
        int rc = job_dir(dir, spec->id, err, what);
        if (rc < 0)
            return rc;
    }
    /* As the job's user from here: a path the job named opens with its rights alone. */
    struct ident_saved saved;
    int rc = ident_fs_enter(spec->id, &saved, err);
    if (rc < 0)
        return rc;
    if (!ours)
        rc = nl_file_mkdir_parents(path);
    if (rc < 0) {
        nl_err_set(err, rc, "%s %s: cannot create its directory: %s", what, path, strerror(-rc));
    } else {
        /*
         * Append: a requeued job's second run keeps the first run's output
         * above it. 0600: the output is its user's alone. O_NOFOLLOW: the
         * file itself is never a link planted in its place.
         */
        *fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (*fd < 0)
            rc = nl_err_set(err, -errno, "%s %s: %s", what, path,
                            errno == ELOOP ? "is a symbolic link" : strerror(errno));
        else if (rfd != NULL)
            *rfd = open_reader(path, *fd);
    }
    ident_fs_leave(&saved);
    return rc;
}

static _Noreturn void child_fail(int fd, int stage)
{
    struct launch_report rep = {.stage = stage, .err = errno};
    ssize_t n = write(fd, &rep, sizeof(rep));
    (void)n;
    /* 126: the command was found but cannot be run (as its user), as a shell says it. */
    _exit(stage == LAUNCH_STAGE_IDS ? 126 : 127);
}

/*
 * Take the job's account: groups, then gid, then uid (after setuid nothing
 * else could be changed). Raw system calls: they change this process
 * alone, where glibc's wrappers would also signal threads of the keeper's
 * memory that are not ours (vfork shares it).
 */
static int take_ids(const struct ident *id)
{
    if (syscall(SYS_setgroups, id->ngroups, id->groups) < 0 ||
        syscall(SYS_setresgid, id->gid, id->gid, id->gid) < 0 ||
        syscall(SYS_setresuid, id->uid, id->uid, id->uid) < 0)
        return -1;
    return 0;
}

/* The job child, from vfork to execve: async-signal-safe calls only. */
static _Noreturn void child(const struct launch_spec *spec, const char *file, char *const *envp,
                            int in_fd, int out_fd, int err_fd, int report_fd, pid_t keeper,
                            bool set_ids)
{
    sigset_t none;
    sigemptyset(&none);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    /* Ignored signals stay ignored across execve: a job must not inherit our SIGPIPE. */
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (setpgid(0, 0) < 0)
        child_fail(report_fd, LAUNCH_STAGE_SETUP);
    if (spec->cgroup_procs_fd >= 0) {
        /*
         * Best effort: a job outside its cgroup still runs and is still killed
         * by group. Before the ids change: moving into the cgroup is the agent's right.
         */
        ssize_t n = write(spec->cgroup_procs_fd, "0", 1);
        (void)n;
    }
    if (set_ids && take_ids(spec->id) < 0)
        child_fail(report_fd, LAUNCH_STAGE_IDS);
    /*
     * The second line of defence: if the keeper itself is killed, the job's
     * first process dies with it. Checked after setting, as the keeper may
     * have died just before; set after the ids change, which clears it.
     */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != keeper)
        child_fail(report_fd, LAUNCH_STAGE_SETUP);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        child_fail(report_fd, LAUNCH_STAGE_SETUP);
    /* Descriptors opened without O_CLOEXEC must not leak into the job. */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (chdir(spec->cwd) < 0)
        child_fail(report_fd, LAUNCH_STAGE_CHDIR);
    execve(file, spec->argv, envp);
    child_fail(report_fd, LAUNCH_STAGE_EXEC);
}

/* vfork and run the child; in the keeper, the child's pid or -1 (errno set). */
static pid_t spawn_child(const struct launch_spec *spec, const char *file, char *const *envp,
                         int in_fd, int out_fd, int err_fd, int report_fd, pid_t keeper,
                         bool set_ids)
{
    pid_t pid = vfork();
    if (pid == 0)
        child(spec, file, envp, in_fd, out_fd, err_fd, report_fd, keeper, set_ids);
    return pid;
}

/* ---- the keeper -------------------------------------------------------- */

/* Close every descriptor but those in keep (n entries, -1 ignored); keep is sorted in place. */
static void close_except(int *keep, size_t n)
{
    for (size_t i = 1; i < n; i++) /* insertion sort: n is small */
        for (size_t k = i; k > 0 && keep[k - 1] > keep[k]; k--) {
            int x = keep[k];
            keep[k] = keep[k - 1];
            keep[k - 1] = x;
        }
    unsigned next = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep[i] < 0 || (unsigned)keep[i] < next)
            continue;
        if ((unsigned)keep[i] > next)
            close_range(next, (unsigned)keep[i] - 1, 0);
        next = (unsigned)keep[i] + 1;
    }
    close_range(next, ~0U, 0);
}

static void cgroup_kill(const char *dir)
{
    if (dir == NULL)
        return;
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/cgroup.kill", dir) >= (int)sizeof(path))
        return;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* kernels before 5.14 lack cgroup.kill; the group and subtree kills remain */
    ssize_t n = write(fd, "1", 1);
    (void)n;
    close(fd);
}

/*
 * A labelled stream: the read end of one task's stdout or stderr pipe, the
 * file its lines go to, and the part of a line not yet ended. A line
 * longer than the buffer is written in pieces, each labelled.
 */
#define LABEL_LINE_MAX 16384

struct relay {
    int rfd;      /* -1 once at end of file */
    int file;     /* the output file, O_APPEND */
    bool prefix;  /* the file gets labelled lines (shared), else the task's bytes as written */
    int spool;    /* the run's spool for shipping (labelled lines), or -1 */
    int64_t task; /* the label */
    size_t len;   /* bytes in buf */
    char *buf;    /* LABEL_LINE_MAX bytes, the keeper's */
};

/* What the agent prepares for the keeper before fork: descriptors per task and relays. */
struct task_io {
    int in, out, err; /* what the task's 0, 1 and 2 become */
};

struct keeper {
    pid_t self;
    size_t ntasks, nstarted, nreaped;
    pid_t *pid; /* per task; -1 when not started */
    bool *reaped;
    bool failed;      /* a task ended badly: the run has its status, the others are killed */
    int status;       /* the run's wait status */
    struct rusage ru; /* summed over the tasks (max for the peak RSS) */
    const char *cgroup_dir;
    struct relay *relay;
    size_t nrelay;
};

static void ru_add(struct rusage *sum, const struct rusage *ru)
{
    sum->ru_utime.tv_sec += ru->ru_utime.tv_sec;
    sum->ru_utime.tv_usec += ru->ru_utime.tv_usec;
    sum->ru_stime.tv_sec += ru->ru_stime.tv_sec;
    sum->ru_stime.tv_usec += ru->ru_stime.tv_usec;
    if (ru->ru_maxrss > sum->ru_maxrss)
        sum->ru_maxrss = ru->ru_maxrss;
}

/* SIGKILL the process group of every task still unreaped (whose group id is still its own). */
static void kill_tasks(struct keeper *k, int sig)
{
    for (size_t i = 0; i < k->nstarted; i++)
        if (!k->reaped[i] && k->pid[i] > 0)
            kill(-k->pid[i], sig);
}

/*
 * Task i ended with status. The run's status is the first task's that
 * failed (exit non-zero, or a signal), else 0; once one has failed, the
 * other tasks are killed, as a distributed job cannot go on without one
 * of its ranks (srun --kill-on-bad-exit).
 */
static void task_ended(struct keeper *k, size_t i, int status, const struct rusage *ru)
{
    k->reaped[i] = true;
    k->nreaped++;
    ru_add(&k->ru, ru);
    bool bad = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (bad && !k->failed) {
        k->failed = true;
        k->status = status;
        kill_tasks(k, SIGKILL);
    }
}

/* Reap every exited child without blocking; a task's status and rusage are kept. */
static void keeper_reap(struct keeper *k)
{
    for (;;) {
        int status;
        struct rusage ru;
        pid_t p = wait4(-1, &status, WNOHANG, &ru);
        if (p <= 0)
            return;
        for (size_t i = 0; i < k->nstarted; i++)
            if (p == k->pid[i] && !k->reaped[i])
                task_ended(k, i, status, &ru);
    }
}

static bool all_reaped(const struct keeper *k)
{
    return k->nreaped == k->nstarted;
}

/*
 * SIGKILL the tasks' groups (only while each leader is unreaped: until
 * then the group id cannot belong to anyone else), the cgroup and every
 * process below the keeper, and reap them, until none is left or the
 * sweep's deadline passes (a process stuck in the kernel cannot be helped).
 */
static void keeper_sweep(struct keeper *k)
{
    int64_t end = nl_clock_monotonic_us() + KEEPER_SWEEP_US;
    for (;;) {
        kill_tasks(k, SIGKILL);
        cgroup_kill(k->cgroup_dir);
        size_t left = procs_signal_descendants(k->self, SIGKILL);
        keeper_reap(k);
        if ((left == 0 && all_reaped(k)) || nl_clock_monotonic_us() >= end)
            return;
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/*
 * A child has exited. A task seen exited with WNOWAIT is still an
 * unreaped zombie, so its group id is still its own: kill what it left
 * behind in its group, then reap it. When the last task has ended, the
 * run ends: whatever is left of it (cgroup, subtree) is killed.
 */
static void keeper_children(struct keeper *k)
{
    for (size_t i = 0; i < k->nstarted; i++) {
        if (k->reaped[i])
            continue;
        siginfo_t wi;
        memset(&wi, 0, sizeof(wi));
        if (waitid(P_PID, (id_t)k->pid[i], &wi, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            wi.si_pid != k->pid[i])
            continue;
        kill(-k->pid[i], SIGKILL);
        int status;
        struct rusage ru;
        if (wait4(k->pid[i], &status, WNOHANG, &ru) == k->pid[i])
            task_ended(k, i, status, &ru);
    }
    keeper_reap(k); /* orphans of the job's, reparented to us */
    if (all_reaped(k)) {
        cgroup_kill(k->cgroup_dir);
        procs_signal_descendants(k->self, SIGKILL);
        keeper_reap(k);
    }
}

/*
 * Write len bytes of line (no newline) as one "TASK: line\n" write to r's
 * file (when the file is labelled) and to its spool (when it has one).
 */
static void relay_line(struct relay *r, const char *line, size_t len)
{
    char head[32];
    int hl = snprintf(head, sizeof(head), "%" PRId64 ": ", r->task);
    struct iovec iov[3] = {{head, (size_t)hl}, {(void *)line, len}, {"\n", 1}};
    /* One writev on an O_APPEND file: the line lands whole, after every other task's. */
    ssize_t n = r->prefix ? writev(r->file, iov, 3) : 0;
    if (r->spool >= 0)
        n = writev(r->spool, iov, 3);
    (void)n;
}

/* Read what r's pipe holds and write its whole lines; at end of file, the rest as a line. */
static void relay_read(struct relay *r)
{
    for (;;) {
        ssize_t n = read(r->rfd, r->buf + r->len, LABEL_LINE_MAX - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN) {
                if (r->len > 0)
                    relay_line(r, r->buf, r->len);
                r->len = 0;
                close(r->rfd);
                r->rfd = -1;
            }
            return;
        }
        if (!r->prefix) {
            /* The task's own file: its bytes as written, now; the lines go to the spool. */
            ssize_t w = write(r->file, r->buf + r->len, (size_t)n);
            (void)w;
        }
        r->len += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < r->len; i++)
            if (r->buf[i] == '\n') {
                relay_line(r, r->buf + start, i - start);
                start = i + 1;
            }
        if (start == 0 && r->len == LABEL_LINE_MAX) {
            relay_line(r, r->buf, r->len); /* a line longer than the buffer: a piece */
            start = r->len;
        }
        memmove(r->buf, r->buf + start, r->len - start);
        r->len -= start;
    }
}

/* After the run: what the pipes still hold, until every writer is gone or a deadline. */
static void relay_drain(struct keeper *k)
{
    int64_t end = nl_clock_monotonic_us() + 2 * INT64_C(1000000);
    for (;;) {
        bool open = false;
        for (size_t i = 0; i < k->nrelay; i++)
            if (k->relay[i].rfd >= 0) {
                relay_read(&k->relay[i]);
                open |= k->relay[i].rfd >= 0;
            }
        if (!open || nl_clock_monotonic_us() >= end)
            break;
        struct timespec ts = {0, 2 * 1000000};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < k->nrelay; i++)
        if (k->relay[i].rfd >= 0 && k->relay[i].len > 0)
            relay_line(&k->relay[i], k->relay[i].buf, k->relay[i].len);
}

/* Read the agent's signal messages left unread: the run is over, and unread data would reset the
 * socket. */
static void drain(int sock)
{
    int32_t sig;
    while (recv(sock, &sig, sizeof(sig), MSG_DONTWAIT) > 0)
        ;
}

static _Noreturn void keeper_finish(struct keeper *k, int sock)
{
    keeper_sweep(k);
    relay_drain(k);
    double cpu = (double)k->ru.ru_utime.tv_sec * 1e6 + (double)k->ru.ru_utime.tv_usec +
                 (double)k->ru.ru_stime.tv_sec * 1e6 + (double)k->ru.ru_stime.tv_usec;
    drain(sock);
    struct keeper_msg m = {.type = KEEPER_EXITED,
                           .pid = k->pid[0],
                           .status = k->status,
                           .cpu_us = (int64_t)cpu,
                           .max_rss_kb = k->ru.ru_maxrss};
    ssize_t n = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
    (void)n;
    _exit(0);
}

static _Noreturn void keeper_loop(struct keeper *k, int sock, int sfd)
{
    struct pollfd *p = xcalloc(2 + k->nrelay, sizeof(*p));
    for (;;) {
        p[0] = (struct pollfd){.fd = sock, .events = POLLIN};
        p[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
        for (size_t i = 0; i < k->nrelay; i++)
            p[2 + i] = (struct pollfd){.fd = k->relay[i].rfd, .events = POLLIN};
        if (poll(p, 2 + k->nrelay, -1) < 0 && errno != EINTR)
            break;
        for (size_t i = 0; i < k->nrelay; i++)
            if (p[2 + i].revents != 0 && k->relay[i].rfd >= 0)
                relay_read(&k->relay[i]);
        if (p[1].revents != 0) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ;
            keeper_children(k);
        }
        if (all_reaped(k))
            keeper_finish(k, sock);
        if (p[0].revents != 0) {
            int32_t sig;
            ssize_t n = recv(sock, &sig, sizeof(sig), MSG_DONTWAIT);
            if (n == (ssize_t)sizeof(sig) && sig > 0 && sig < NSIG) {
                kill_tasks(k, sig);
                if (sig == SIGKILL) {
                    cgroup_kill(k->cgroup_dir);
                    procs_signal_descendants(k->self, SIGKILL);
                }
            } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                break; /* the agent is gone: so must the job be */
            }
        }
    }
    keeper_sweep(k);
    _exit(0);
}

/*
 * The keeper's descriptors: the socket, the cgroup's, the state-directory
 * lock (for a moment), each task's three, the relays' ends. Everything
 * else of the agent's is closed.
 */
static void keeper_close_others(const struct launch_spec *spec, const struct task_io *io,
                                size_t ntasks, const struct relay *relay, size_t nrelay, int sock)
{
    size_t n = 0, cap = 6 + 3 * ntasks + 3 * nrelay;
    int *keep = xcalloc(cap, sizeof(int));
    keep[n++] = 0;
    keep[n++] = 1;
    keep[n++] = 2;
    keep[n++] = sock;
    keep[n++] = spec->cgroup_procs_fd;
    keep[n++] = spec->lock_fd; /* until the run's record is written (keeper_main) */
    for (size_t i = 0; i < ntasks; i++) {
        keep[n++] = io[i].in;
        keep[n++] = io[i].out;
        keep[n++] = io[i].err;
    }
    for (size_t i = 0; i < nrelay; i++) {
        keep[n++] = relay[i].rfd;
        keep[n++] = relay[i].file;
        keep[n++] = relay[i].spool;
    }
    close_except(keep, n);
    free(keep);
}

/*
 * Write the run's record (spec->record, with the keeper's pid and start
 * time, and the job's first process once pid > 0). 0 or -errno.
 */
static int keeper_record(const struct launch_spec *spec, struct runrec *rec, pid_t pid,
                         uint64_t ticks)
{
    struct nl_err err = {0};
    rec->pid = pid;
    rec->start_ticks = ticks;
    return pid > 0 ? runrec_update(spec->record_dir, spec->record_name, rec, &err)
                   : runrec_write(spec->record_dir, spec->record_name, rec, &err);
}

#ifdef NL_TEST_HOOKS
/*
 * Test builds only (NL_TEST_HOOKS, set with BUILD_TESTING): when the agent
 * has NL_TEST_KEEPER_HOLD_DIR=DIR in its environment and the job's first
 * task has NL_TEST_HOLD=POINT, the keeper stops at POINT ("before-exec":
 * its record is written and the lock let go, no task started;
 * "after-exec": the tasks run, the record names no pid yet), writes the
 * first task's pid (0 before exec) into DIR/POINT.KEEPERPID and waits to
 * be killed, so that a fault test kills agent and keeper at a known step
 * (tests/faults/keeper_window.sh), not at a moment guessed by the clock.
 */
static void test_hold(const struct launch_spec *spec, const char *point, pid_t job)
{
    const char *dir = getenv("NL_TEST_KEEPER_HOLD_DIR");
    const char *want = env_get(spec->envp, "NL_TEST_HOLD");
    if (dir == NULL || want == NULL || strcmp(want, point) != 0)
        return;
    char path[PATH_MAX], tmp[PATH_MAX + 8], text[32];
    snprintf(path, sizeof(path), "%s/%s.%ld", dir, point, (long)getpid());
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int len = snprintf(text, sizeof(text), "%ld\n", (long)job);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t n = write(fd, text, (size_t)len);
        (void)n;
        close(fd);
        rename(tmp, path);
    }
    for (;;)
        pause();
}
#else
#define test_hold(spec, point, job) ((void)0)
#endif

static _Noreturn void keeper_main(const struct launch_spec *spec, const char *file,
                                  struct task_io *io, size_t ntasks, struct relay *relay,
                                  size_t nrelay, int sock)
{
    keeper_close_others(spec, io, ntasks, relay, nrelay, sock);
    /* Orphans of the job become our children, so the subtree below us is the whole job. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_NAME, "nordlys-keeper");
    struct keeper_msg m = {.type = KEEPER_STARTED, .pid = -1};
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        m.err = errno;
        ssize_t n = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
        (void)n;
        _exit(1);
    }
    struct keeper k = {.self = getpid(),
                       .cgroup_dir = spec->cgroup_dir,
                       .ntasks = ntasks,
                       .relay = relay,
                       .nrelay = nrelay};
    k.pid = xcalloc(ntasks, sizeof(pid_t));
    k.reaped = xcalloc(ntasks, sizeof(bool));
    for (size_t i = 0; i < nrelay; i++)
        relay[i].buf = xmalloc(LABEL_LINE_MAX);
    /*
     * The record before any task exists, and only then the lock: while we
     * hold our copy of it, no next agent can have swept the directory, so
     * whatever it sweeps later holds this record.
     */
    struct runrec rec = {0};
    if (spec->record != NULL) {
        rec = *spec->record;
        rec.keeper = k.self;
        struct procs_stat self;
        rec.keeper_ticks = procs_stat(k.self, &self) == 0 ? self.start_ticks : 0;
        int rc = keeper_record(spec, &rec, 0, 0);
        if (rc < 0) {
            m.stage = LAUNCH_STAGE_RECORD;
            m.err = -rc;
            ssize_t n = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
            (void)n;
            _exit(1);
        }
    }
    if (spec->lock_fd > 2)
        close(spec->lock_fd);
    test_hold(spec, "before-exec", 0);
    /* Only root changes ids; any other agent runs jobs as itself (ident.h). */
    bool set_ids = geteuid() == 0;
    for (size_t i = 0; i < ntasks; i++) {
        /* vfork returns once the child has exec'd (pipe closed) or reported and exited. */
        int pipefd[2] = {-1, -1};
        pid_t pid = -1;
        if (pipe2(pipefd, O_CLOEXEC) == 0)
            pid = spawn_child(spec, file, spec->task_envp ? spec->task_envp[i] : spec->envp,
                              io[i].in, io[i].out, io[i].err, pipefd[1], k.self, set_ids);
        int spawn_errno = errno;
        if (pipefd[1] >= 0)
            close(pipefd[1]);
        if (pid < 0) {
            if (pipefd[0] >= 0)
                close(pipefd[0]);
            if (i == 0) {
                m.err = spawn_errno;
                ssize_t n = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
                (void)n;
                _exit(1);
            }
            /* A later task could not be forked: the run fails as an exec failure would. */
            k.failed = true;
            k.status = 127 << 8;
            kill_tasks(&k, SIGKILL);
            break;
        }
        k.pid[i] = pid;
        k.nstarted++;
        struct launch_report rep;
        bool failed = read(pipefd[0], &rep, sizeof(rep)) == (ssize_t)sizeof(rep);
        close(pipefd[0]);
        if (failed && m.stage == LAUNCH_STAGE_NONE) {
            m.stage = rep.stage;
            m.err = rep.err;
        }
        if (failed)
            break; /* the same command fails for the rest: its exit (127) ends the run */
    }
    /* The tasks hold their ends now; ours would keep the relays' pipes from ending. */
    for (size_t i = 0; i < ntasks; i++) {
        int fds[3] = {io[i].in, io[i].out, io[i].err};
        for (int f = 0; f < 3; f++) {
            bool dup = false;
            for (size_t x = 0; x < i && !dup; x++)
                dup = io[x].in == fds[f] || io[x].out == fds[f] || io[x].err == fds[f];
            for (int g = 0; g < f && !dup; g++)
                dup = fds[g] == fds[f];
            bool relay_file = false;
            for (size_t r = 0; r < nrelay && !relay_file; r++)
                relay_file = relay[r].file == fds[f];
            if (!dup && !relay_file && fds[f] >= 0)
                close(fds[f]);
        }
    }
    if (spec->cgroup_procs_fd >= 0)
        close(spec->cgroup_procs_fd);
    for (size_t i = 0; i < nrelay; i++)
        fcntl(relay[i].rfd, F_SETFL, O_NONBLOCK);
    m.pid = k.pid[0];
    struct procs_stat st;
    if (procs_stat(k.pid[0], &st) == 0)
        m.ticks = st.start_ticks;
    test_hold(spec, "after-exec", k.pid[0]);
    /*
     * The record again, with the first task: its group is a handle too.
     * Should this fail, the first version still names the keeper and key.
     */
    if (spec->record != NULL)
        keeper_record(spec, &rec, k.pid[0], m.ticks);
    if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
        keeper_sweep(&k), _exit(0);
    /* A task may have ended before the signalfd was read: look once before waiting. */
    keeper_children(&k);
    if (all_reaped(&k))
        keeper_finish(&k, sock);
    keeper_loop(&k, sock, sfd);
}

/* ---- the agent's side -------------------------------------------------- */

/*
 * The files and pipes of the run, opened in the agent before fork so that
 * a failure names its path. Distinct paths are opened once. fds[] are the
 * agent's: the keeper inherits them and the agent closes its copies.
 */
struct run_io {
    size_t ntasks;
    struct task_io *io;
    struct relay *relay;
    size_t nrelay;
    int *fds; /* every descriptor opened, to close */
    size_t nfds, fds_cap;
    const char **paths; /* the path of each file descriptor in files */
    int *files;
    size_t nfiles;
    int first[2]; /* task 0's stdout and stderr files (the output limit measures them) */
    int spool[2]; /* the stdout and stderr spools (launch_proc.lines), or -1 */
};

static void rio_track(struct run_io *r, int fd)
{
    if (r->nfds == r->fds_cap) {
        r->fds_cap = xgrow(r->fds_cap, r->nfds + 1);
        r->fds = xreallocarray(r->fds, r->fds_cap, sizeof(int));
    }
    r->fds[r->nfds++] = fd;
}

/* The descriptor of path, opened once for all the tasks that name it. */
static int rio_file(struct run_io *r, const struct launch_spec *spec, const char *what,
                    const char *path, int *fd, int *rfd, struct nl_err *err)
{
    for (size_t i = 0; i < r->nfiles; i++)
        if (strcmp(r->paths[i], path) == 0) {
            *fd = r->files[i];
            return 0;
        }
    int rc = open_output(spec, what, path, fd, rfd, err);
    if (rc < 0)
        return rc;
    rio_track(r, *fd);
    r->paths[r->nfiles] = path;
    r->files[r->nfiles++] = *fd;
    return 0;
}

/* Task stdin: /dev/null, or for task 0 the launch's input, opened with the job's user's rights. */
static int rio_input(struct run_io *r, const struct launch_spec *spec, struct nl_err *err)
{
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0)
        return nl_err_set(err, -errno, "stdin /dev/null: %s", strerror(errno));
    rio_track(r, null_fd);
    for (size_t i = 0; i < r->ntasks; i++)
        r->io[i].in = null_fd;
    if (spec->input_path == NULL)
        return 0;
    struct ident_saved saved;
    int rc = ident_fs_enter(spec->id, &saved, err);
    if (rc < 0)
        return rc;
    int fd = open(spec->input_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        rc = nl_err_set(err, -errno, "input %s: %s", spec->input_path, strerror(errno));
    ident_fs_leave(&saved);
    if (rc < 0)
        return rc;
    rio_track(r, fd);
    r->io[0].in = fd;
    return 0;
}

/*
 * The spool of one stream, for shipping a run of several tasks
 * (launch_proc.lines): stderr into stdout's when they share the file, as
 * the file has them; *rfd the agent's reader of a new one.
 */
static int rio_spool(struct run_io *r, const char *what, bool is_err, int file, int *rfd,
                     struct nl_err *err)
{
    if (is_err && file == r->first[0]) {
        r->spool[1] = r->spool[0];
        return 0;
    }
    int fd = memfd_create(is_err ? "nordlys-stderr" : "nordlys-stdout", MFD_CLOEXEC);
    if (fd < 0)
        return nl_err_set(err, -errno, "%s spool: %s", what, strerror(errno));
    rio_track(r, fd);
    r->spool[is_err] = fd;
    *rfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (*rfd < 0)
        return nl_err_set(err, -errno, "%s spool: %s", what, strerror(errno));
    return 0;
}

/*
 * One stream (stdout or stderr) of every task: each task's own file, or
 * one file they share, which with spec->label gets a pipe per task that
 * the keeper relays line by line with its label. A launch that ships a
 * labelled job's output (read_output and label) relays every task, also
 * to files of their own, so that the keeper writes their lines to the
 * stream's spool as well.
 */
static int rio_stream(struct run_io *r, const struct launch_spec *spec, const char *what,
                      const char *const *paths, const char *one, bool is_err, int *rfd,
                      struct nl_err *err)
{
    bool shared = true, spooled = rfd != NULL && spec->label;
    for (size_t i = 1; paths != NULL && i < r->ntasks; i++)
        shared &= strcmp(paths[i], paths[0]) == 0;
    for (size_t i = 0; i < r->ntasks; i++) {
        int fd;
        /* Task 0's file is the one a reader is opened for (shipped output), once. */
        int rc = rio_file(r, spec, what, paths ? paths[i] : one, &fd,
                          i == 0 && !spooled ? rfd : NULL, err);
        if (rc == 0 && i == 0 && spooled)
            rc = rio_spool(r, what, is_err, fd, rfd, err);
        if (rc < 0)
            return rc;
        int *slot = is_err ? &r->io[i].err : &r->io[i].out;
        if (i == 0)
            r->first[is_err] = fd;
        if (!(spec->label && (shared || spooled))) {
            *slot = fd;
            continue;
        }
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
            return nl_err_set(err, -errno, "%s pipe: %s", what, strerror(errno));
        rio_track(r, pfd[0]);
        rio_track(r, pfd[1]);
        r->relay[r->nrelay++] = (struct relay){.rfd = pfd[0],
                                               .file = fd,
                                               .prefix = shared && spec->label,
                                               .spool = r->spool[is_err],
                                               .task = spec->task_base + (int64_t)i};
        *slot = pfd[1];
    }
    return 0;
}

static void rio_release(struct run_io *r)
{
    for (size_t i = 0; i < r->nfds; i++)
        close(r->fds[i]);
    free(r->fds);
    free(r->io);
    free(r->relay);
    free(r->paths);
    free(r->files);
}

int launch_spawn(const struct launch_spec *spec, struct launch_proc *proc, struct nl_err *err)
{
    int sv[2] = {-1, -1}, rc;
    proc->out_rfd = proc->err_rfd = -1;
    pid_t keeper = -1;
    char *file = resolve(spec->argv[0], spec->envp);
    struct run_io r = {.ntasks = spec->ntasks > 0 ? spec->ntasks : 1, .spool = {-1, -1}};
    r.io = xcalloc(r.ntasks, sizeof(*r.io));
    r.relay = xcalloc(2 * r.ntasks, sizeof(*r.relay));
    r.paths = xcalloc(2 * r.ntasks, sizeof(*r.paths));
    r.files = xcalloc(2 * r.ntasks, sizeof(*r.files));
    rc = rio_input(&r, spec, err);
    if (rc == 0)
        rc = rio_stream(&r, spec, "stdout", spec->task_stdout, spec->stdout_path, false,
                        spec->read_output ? &proc->out_rfd : NULL, err);
    if (rc == 0)
        rc = rio_stream(&r, spec, "stderr", spec->task_stderr, spec->stderr_path, true,
                        spec->read_output ? &proc->err_rfd : NULL, err);
    if (rc == 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        rc = nl_err_set(err, -errno, "keeper socket: %s", strerror(errno));
    if (rc < 0)
        goto out;
    /*
     * Every file's size before the fork: once the tasks run, the sizes
     * include what they wrote, and a fast task's output would pass for an
     * earlier run's and escape the output limit (seen under load).
     */
    int out_fd = r.first[0];
    int err_fd = r.first[1] != out_fd ? r.first[1] : -1;
    struct stat fst;
    proc->out_base = fstat(out_fd, &fst) == 0 ? (int64_t)fst.st_size : 0;
    proc->err_base = err_fd >= 0 && fstat(err_fd, &fst) == 0 ? (int64_t)fst.st_size : 0;
    proc->lines = r.spool[0] >= 0;
    proc->out_rbase = proc->lines ? 0 : proc->out_base;
    proc->err_rbase = proc->lines ? 0 : proc->err_base;
    int64_t *file_base = xcalloc(r.nfiles > 0 ? r.nfiles : 1, sizeof(int64_t));
    for (size_t i = 0; i < r.nfiles; i++)
        file_base[i] = fstat(r.files[i], &fst) == 0 ? (int64_t)fst.st_size : 0;
    keeper = fork();
    if (keeper == 0)
        keeper_main(spec, file, r.io, r.ntasks, r.relay, r.nrelay, sv[1]);
    if (keeper < 0) {
        rc = nl_err_set(err, -errno, "fork: %s", strerror(errno));
        free(file_base);
        goto out;
    }
    close(sv[1]);
    sv[1] = -1;
    /* The keeper's STARTED comes later, through launch_read_start: the agent does not wait. */
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    proc->pid = -1;
    proc->start_ticks = 0;
    proc->keeper = keeper;
    struct procs_stat st;
    proc->keeper_ticks = procs_stat(keeper, &st) == 0 ? st.start_ticks : 0;
    proc->fd = sv[0];
    sv[0] = -1;
    /* The agent's own copies of the files, for the output limit. */
    proc->out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 0);
    proc->err_fd = err_fd >= 0 ? fcntl(err_fd, F_DUPFD_CLOEXEC, 0) : -1;
    proc->nmore = 0;
    proc->more_fd = NULL;
    proc->more_base = NULL;
    for (size_t i = 0; i < r.nfiles; i++) {
        if (r.files[i] == out_fd || r.files[i] == err_fd)
            continue;
        if (proc->more_fd == NULL) {
            proc->more_fd = xcalloc(r.nfiles, sizeof(int));
            proc->more_base = xcalloc(r.nfiles, sizeof(int64_t));
        }
        proc->more_base[proc->nmore] = file_base[i];
        proc->more_fd[proc->nmore++] = fcntl(r.files[i], F_DUPFD_CLOEXEC, 0);
    }
    free(file_base);
out:
    if (rc < 0) {
        if (proc->out_rfd >= 0)
            close(proc->out_rfd);
        if (proc->err_rfd >= 0)
            close(proc->err_rfd);
        proc->out_rfd = proc->err_rfd = -1;
    }
    for (int i = 0; i < 2; i++)
        if (sv[i] >= 0)
            close(sv[i]);
    rio_release(&r);
    free(file);
    return rc;
}

int launch_read_start(struct launch_proc *proc, struct launch_report *rep, struct nl_err *err)
{
    if (proc->fd < 0)
        return nl_err_set(err, -EPROTO, "keeper: died before starting the job");
    struct keeper_msg m;
    ssize_t n = recv(proc->fd, &m, sizeof(m), MSG_DONTWAIT);
    if (n < 0 && errno == ECONNRESET)
        n = recv(proc->fd, &m, sizeof(m), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return -EAGAIN;
    int rc;
    if (n != (ssize_t)sizeof(m) || m.type != KEEPER_STARTED)
        rc = nl_err_set(err, -EPROTO, "keeper: died before starting the job");
    else if (m.pid <= 0 && m.stage == LAUNCH_STAGE_RECORD)
        rc = nl_err_set(err, -m.err, "keeper: cannot write the run record: %s", strerror(m.err));
    else if (m.pid <= 0)
        rc = nl_err_set(err, -m.err, "keeper: vfork: %s", strerror(m.err));
    else
        rc = 0;
    if (rc < 0) {
        /* The keeper exits after a failed report; SIGCHLD's reaping collects it. */
        close(proc->fd);
        proc->fd = -1;
        return rc;
    }
    proc->pid = m.pid;
    proc->start_ticks = m.ticks;
    rep->stage = m.stage;
    rep->err = m.err;
    return 0;
}

int launch_read(struct launch_proc *proc, struct launch_exit *ex)
{
    if (proc->fd < 0)
        return 0;
    struct keeper_msg m;
    ssize_t n = recv(proc->fd, &m, sizeof(m), MSG_DONTWAIT);
    /*
     * A keeper that exits with our signal messages unread makes the kernel
     * report ECONNRESET once, ahead of the EXITED message still queued.
     */
    if (n < 0 && errno == ECONNRESET)
        n = recv(proc->fd, &m, sizeof(m), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return -EAGAIN;
    close(proc->fd);
    proc->fd = -1;
    if (n == (ssize_t)sizeof(m) && m.type == KEEPER_EXITED) {
        ex->status = m.status;
        ex->cpu_s = (double)m.cpu_us / 1e6;
        ex->max_rss_kb = (long)m.max_rss_kb;
        return 1;
    }
    return 0;
}

void launch_signal(struct launch_proc *proc, int sig)
{
    int32_t s = sig;
    if (proc->fd >= 0 && send(proc->fd, &s, sizeof(s), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(s))
        return;
    /*
     * No keeper to ask: signal the members of the job's group that started
     * no earlier than the job, which a group id reused by a stranger's
     * group would not all satisfy.
     */
    if (proc->pid > 0)
        procs_group_members(proc->pid, proc->start_ticks, sig);
}

void launch_close(struct launch_proc *proc)
{
    if (proc->fd >= 0)
        close(proc->fd);
    if (proc->out_fd >= 0)
        close(proc->out_fd);
    if (proc->err_fd >= 0)
        close(proc->err_fd);
    if (proc->out_rfd >= 0)
        close(proc->out_rfd);
    if (proc->err_rfd >= 0)
        close(proc->err_rfd);
    proc->fd = proc->out_fd = proc->err_fd = proc->out_rfd = proc->err_rfd = -1;
    launch_close_outputs(proc);
}

void launch_close_outputs(struct launch_proc *proc)
{
    for (size_t i = 0; i < proc->nmore; i++)
        if (proc->more_fd[i] >= 0)
            close(proc->more_fd[i]);
    free(proc->more_fd);
    free(proc->more_base);
    proc->more_fd = NULL;
    proc->more_base = NULL;
    proc->nmore = 0;
}
