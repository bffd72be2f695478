/* SPDX-License-Identifier: MIT */
/*
 * launch.c - vfork/exec of one job; see launch.h.
 *
 * vfork, not fork: the child borrows the agent's memory until execve
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
#define _GNU_SOURCE /* close_range, pipe2 */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

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

char **launch_env_merge(char *const *base, char *const *over)
{
    size_t nb = 0, no = 0;
    while (base != NULL && base[nb] != NULL)
        nb++;
    while (over != NULL && over[no] != NULL)
        no++;
    char **env = xcalloc(nb + no + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < nb; i++) {
        const char *eq = strchr(base[i], '=');
        size_t klen = eq ? (size_t)(eq - base[i]) : strlen(base[i]);
        bool replaced = false;
        for (size_t k = 0; k < no && !replaced; k++)
            replaced = strncmp(over[k], base[i], klen) == 0 && over[k][klen] == '=';
        if (!replaced)
            env[n++] = base[i];
    }
    for (size_t k = 0; k < no; k++)
        env[n++] = over[k];
    return env;
}

static int open_output(const char *what, const char *path, int *fd, struct nl_err *err)
{
    int rc = nl_file_mkdir_parents(path);
    if (rc < 0)
        return nl_err_set(err, rc, "%s %s: cannot create its directory: %s", what, path,
                          strerror(-rc));
    /* Append: a requeued job's second run keeps the first run's output above it. */
    *fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (*fd < 0)
        return nl_err_set(err, -errno, "%s %s: %s", what, path, strerror(errno));
    return 0;
}

static _Noreturn void child_fail(int fd, int stage)
{
    struct launch_report rep = {.stage = stage, .err = errno};
    ssize_t n = write(fd, &rep, sizeof(rep));
    (void)n;
    _exit(127);
}

/* The child, from vfork to execve: async-signal-safe calls only. */
static _Noreturn void child(const struct launch_spec *spec, const char *file, int in_fd, int out_fd,
                            int err_fd, int report_fd)
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
        /* Best effort: a job outside its cgroup still runs and is still killed by group. */
        ssize_t n = write(spec->cgroup_procs_fd, "0", 1);
        (void)n;
    }
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        child_fail(report_fd, LAUNCH_STAGE_SETUP);
    /* Descriptors the agent opened without O_CLOEXEC (a library's socket) must not leak. */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (chdir(spec->cwd) < 0)
        child_fail(report_fd, LAUNCH_STAGE_CHDIR);
    execve(file, spec->argv, spec->envp);
    child_fail(report_fd, LAUNCH_STAGE_EXEC);
}

/* vfork and run the child; in the parent, the child's pid or -1 (errno set). */
static pid_t spawn_child(const struct launch_spec *spec, const char *file, int in_fd, int out_fd,
                         int err_fd, int report_fd)
{
    pid_t pid = vfork();
    if (pid == 0)
        child(spec, file, in_fd, out_fd, err_fd, report_fd);
    return pid;
}

int launch_spawn(const struct launch_spec *spec, struct launch_proc *proc, struct nl_err *err)
{
    int in_fd = -1, out_fd = -1, err_fd = -1, pipefd[2] = {-1, -1}, rc;
    char *file = resolve(spec->argv[0], spec->envp);
    in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) {
        rc = nl_err_set(err, -errno, "stdin /dev/null: %s", strerror(errno));
        goto out;
    }
    rc = open_output("stdout", spec->stdout_path, &out_fd, err);
    if (rc == 0 && strcmp(spec->stdout_path, spec->stderr_path) == 0)
        err_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
    else if (rc == 0)
        rc = open_output("stderr", spec->stderr_path, &err_fd, err);
    if (rc == 0 && err_fd < 0)
        rc = nl_err_set(err, -errno, "stderr: %s", strerror(errno));
    if (rc == 0 && pipe2(pipefd, O_CLOEXEC) < 0)
        rc = nl_err_set(err, -errno, "exec-status pipe: %s", strerror(errno));
    if (rc < 0)
        goto out;
    pid_t pid = spawn_child(spec, file, in_fd, out_fd, err_fd, pipefd[1]);
    if (pid < 0) {
        rc = nl_err_set(err, -errno, "vfork: %s", strerror(errno));
        goto out;
    }
    /*
     * The child has set its group before execve (or failed), and the parent
     * waited for that, so a kill sent now reaches the job's whole group.
     */
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    proc->pid = pid;
    proc->exec_fd = pipefd[0];
    pipefd[0] = -1;
out:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (err_fd >= 0)
        close(err_fd);
    if (out_fd >= 0)
        close(out_fd);
    if (in_fd >= 0)
        close(in_fd);
    free(file);
    return rc;
}

int launch_exec_status(struct launch_proc *proc, struct launch_report *rep)
{
    if (proc->exec_fd < 0)
        return 0;
    struct launch_report r;
    ssize_t n = read(proc->exec_fd, &r, sizeof(r));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return -EAGAIN;
    close(proc->exec_fd);
    proc->exec_fd = -1;
    /* A short read cannot happen for 8 bytes on a pipe; treat it as success, not as garbage. */
    if (n == (ssize_t)sizeof(r)) {
        *rep = r;
        return 1;
    }
    return 0;
}
