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
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "ident.h"
#include "nordlys/err.h"
#include "procs.h"

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
    int rc = nl_file_mkdir_parents(dir);
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
static _Noreturn void child(const struct launch_spec *spec, const char *file, int in_fd, int out_fd,
                            int err_fd, int report_fd, pid_t keeper, bool set_ids)
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
    execve(file, spec->argv, spec->envp);
    child_fail(report_fd, LAUNCH_STAGE_EXEC);
}

/* vfork and run the child; in the keeper, the child's pid or -1 (errno set). */
static pid_t spawn_child(const struct launch_spec *spec, const char *file, int in_fd, int out_fd,
                         int err_fd, int report_fd, pid_t keeper, bool set_ids)
{
    pid_t pid = vfork();
    if (pid == 0)
        child(spec, file, in_fd, out_fd, err_fd, report_fd, keeper, set_ids);
    return pid;
}

/* ---- the keeper -------------------------------------------------------- */

/* Close every descriptor but those in keep (n entries, -1 ignored). */
static void close_except(int *keep, size_t n)
{
    for (size_t i = 1; i < n; i++) /* insertion sort: n is tiny */
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

struct keeper {
    pid_t self, job;
    bool job_reaped;
    int status;
    struct rusage ru;
    const char *cgroup_dir;
};

/* Reap every exited child without blocking; the job's leader keeps its status and rusage. */
static void keeper_reap(struct keeper *k)
{
    for (;;) {
        int status;
        struct rusage ru;
        pid_t p = wait4(-1, &status, WNOHANG, &ru);
        if (p <= 0)
            return;
        if (p == k->job) {
            k->job_reaped = true;
            k->status = status;
            k->ru = ru;
        }
    }
}

/*
 * SIGKILL the job's group (only while its leader is unreaped: until then
 * the group id cannot belong to anyone else), its cgroup and every process
 * below the keeper, and reap them, until none is left or the sweep's
 * deadline passes (a process stuck in the kernel cannot be helped).
 */
static void keeper_sweep(struct keeper *k)
{
    int64_t end = nl_clock_monotonic_us() + KEEPER_SWEEP_US;
    for (;;) {
        if (!k->job_reaped)
            kill(-k->job, SIGKILL);
        cgroup_kill(k->cgroup_dir);
        size_t left = procs_signal_descendants(k->self, SIGKILL);
        keeper_reap(k);
        if ((left == 0 && k->job_reaped) || nl_clock_monotonic_us() >= end)
            return;
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/*
 * The job's first process has exited (seen with WNOWAIT, so it is still
 * an unreaped zombie and its group id still ours): kill what it left
 * behind, as a job ends with its first process, then reap it.
 */
static void keeper_job_exited(struct keeper *k)
{
    kill(-k->job, SIGKILL);
    cgroup_kill(k->cgroup_dir);
    procs_signal_descendants(k->self, SIGKILL);
    keeper_reap(k);
}

/* Read the agent's signal messages left unread: the run is over, and unread data would reset the
 * socket. */
static void drain(int sock)
{
    int32_t sig;
    while (recv(sock, &sig, sizeof(sig), MSG_DONTWAIT) > 0)
        ;
}

static _Noreturn void keeper_loop(struct keeper *k, int sock, int sfd)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents != 0) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ;
            siginfo_t wi;
            memset(&wi, 0, sizeof(wi));
            if (waitid(P_PID, (id_t)k->job, &wi, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                wi.si_pid == k->job)
                keeper_job_exited(k);
            else
                keeper_reap(k); /* an orphan of the job's, reparented to us */
        }
        if (k->job_reaped) {
            keeper_sweep(k);
            double cpu = (double)k->ru.ru_utime.tv_sec * 1e6 + (double)k->ru.ru_utime.tv_usec +
                         (double)k->ru.ru_stime.tv_sec * 1e6 + (double)k->ru.ru_stime.tv_usec;
            drain(sock);
            struct keeper_msg m = {.type = KEEPER_EXITED,
                                   .pid = k->job,
                                   .status = k->status,
                                   .cpu_us = (int64_t)cpu,
                                   .max_rss_kb = k->ru.ru_maxrss};
            ssize_t n = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
            (void)n;
            _exit(0);
        }
        if (p[0].revents != 0) {
            int32_t sig;
            ssize_t n = recv(sock, &sig, sizeof(sig), MSG_DONTWAIT);
            if (n == (ssize_t)sizeof(sig) && sig > 0 && sig < NSIG) {
                kill(-k->job, sig);
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

static _Noreturn void keeper_main(const struct launch_spec *spec, const char *file, int in_fd,
                                  int out_fd, int err_fd, int sock)
{
    int keep[] = {0, 1, 2, in_fd, out_fd, err_fd, sock, spec->cgroup_procs_fd};
    close_except(keep, sizeof(keep) / sizeof(keep[0]));
    /* Orphans of the job become our children, so the subtree below us is the whole job. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_NAME, "nordlys-keeper");
    struct keeper_msg m = {.type = KEEPER_STARTED, .pid = -1};
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    int pipefd[2] = {-1, -1};
    if (sfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
        m.err = errno;
        ssize_t n = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
        (void)n;
        _exit(1);
    }
    struct keeper k = {.self = getpid(), .cgroup_dir = spec->cgroup_dir};
    /* Only root changes ids; any other agent runs jobs as itself (ident.h). */
    bool set_ids = geteuid() == 0;
    k.job = spawn_child(spec, file, in_fd, out_fd, err_fd, pipefd[1], k.self, set_ids);
    m.err = errno;
    close(pipefd[1]);
    close(in_fd);
    close(out_fd);
    if (err_fd != out_fd)
        close(err_fd);
    if (spec->cgroup_procs_fd >= 0)
        close(spec->cgroup_procs_fd);
    if (k.job < 0) {
        ssize_t n = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
        (void)n;
        _exit(1);
    }
    /* vfork returned: the child has exec'd (pipe closed) or written its report and exited. */
    struct launch_report rep;
    m.err = 0;
    if (read(pipefd[0], &rep, sizeof(rep)) == (ssize_t)sizeof(rep)) {
        m.stage = rep.stage;
        m.err = rep.err;
    }
    close(pipefd[0]);
    m.pid = k.job;
    struct procs_stat st;
    if (procs_stat(k.job, &st) == 0)
        m.ticks = st.start_ticks;
    if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
        keeper_sweep(&k), _exit(0);
    keeper_loop(&k, sock, sfd);
}

/* ---- the agent's side -------------------------------------------------- */

int launch_spawn(const struct launch_spec *spec, struct launch_proc *proc, struct nl_err *err)
{
    int in_fd = -1, out_fd = -1, err_fd = -1, sv[2] = {-1, -1}, rc;
    proc->out_rfd = proc->err_rfd = -1;
    pid_t keeper = -1;
    char *file = resolve(spec->argv[0], spec->envp);
    in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) {
        rc = nl_err_set(err, -errno, "stdin /dev/null: %s", strerror(errno));
        goto out;
    }
    rc = open_output(spec, "stdout", spec->stdout_path, &out_fd,
                     spec->read_output ? &proc->out_rfd : NULL, err);
    if (rc == 0 && strcmp(spec->stdout_path, spec->stderr_path) == 0)
        err_fd = out_fd;
    else if (rc == 0)
        rc = open_output(spec, "stderr", spec->stderr_path, &err_fd,
                         spec->read_output ? &proc->err_rfd : NULL, err);
    if (rc == 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        rc = nl_err_set(err, -errno, "keeper socket: %s", strerror(errno));
    if (rc < 0)
        goto out;
    /* Before the fork: once the job runs, the sizes include what it wrote. */
    struct stat fst;
    proc->out_base = fstat(out_fd, &fst) == 0 ? (int64_t)fst.st_size : 0;
    proc->err_base = fstat(err_fd, &fst) == 0 ? (int64_t)fst.st_size : 0;
    keeper = fork();
    if (keeper == 0)
        keeper_main(spec, file, in_fd, out_fd, err_fd, sv[1]);
    if (keeper < 0) {
        rc = nl_err_set(err, -errno, "fork: %s", strerror(errno));
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
    proc->out_fd = out_fd;
    proc->err_fd = err_fd != out_fd ? err_fd : -1;
    out_fd = err_fd = -1;
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
    if (err_fd >= 0 && err_fd != out_fd)
        close(err_fd);
    if (out_fd >= 0)
        close(out_fd);
    if (in_fd >= 0)
        close(in_fd);
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
}
