/* SPDX-License-Identifier: MIT */
/*
 * launch.h - start one job process: fork/exec in its own process group,
 * stdout/stderr to files, a given environment and working directory,
 * optionally inside a cgroup.
 *
 * Everything that can fail with a useful message (creating the output
 * directories, opening the output files, building the environment) is done
 * in the parent before fork, so the error names the path. What can only
 * fail in the child (chdir, execve) is written by the child as a struct
 * launch_report to a CLOEXEC pipe before it exits with 127; a successful
 * execve closes the pipe, which the parent sees as end-of-file (the trick
 * libuv's process.c uses). The parent never waits on that pipe: it reads
 * it when it becomes readable or when the child is reaped, whichever is
 * first, so a slow exec never stalls the agent's loop.
 *
 * Reaping is the caller's: see jobs.c.
 */
#ifndef NL_AGENT_LAUNCH_H
#define NL_AGENT_LAUNCH_H

#include <sys/types.h>

struct nl_err;

struct launch_spec {
    char *const *argv;       /* argv[0] is looked up in PATH from envp when it has no '/' */
    char *const *envp;       /* the complete environment of the job */
    const char *cwd;         /* absolute directory */
    const char *stdout_path; /* absolute; parent directories are created (0755) */
    const char *stderr_path; /* absolute; may equal stdout_path */
    int cgroup_procs_fd;     /* an open cgroup.procs, or -1 */
};

/* What a failed child reports through the pipe. */
enum launch_stage {
    LAUNCH_STAGE_NONE = 0,
    LAUNCH_STAGE_CHDIR,
    LAUNCH_STAGE_EXEC,
    LAUNCH_STAGE_SETUP, /* dup2, setpgid: should never happen */
};

struct launch_report {
    int stage; /* enum launch_stage */
    int err;   /* errno in the child */
};

struct launch_proc {
    pid_t pid;   /* also the process group id */
    int exec_fd; /* read end of the exec-status pipe (O_CLOEXEC, O_NONBLOCK) */
};

/*
 * Fork and exec spec. On success fills proc and returns 0; the caller owns
 * proc->exec_fd and must read it with launch_exec_status. Returns -errno
 * with err naming the path or the step ("stdout /x/42.out: Permission
 * denied") when the job could not be started; then no process exists.
 * Loop thread only: the child inherits the caller's blocked signal mask and
 * resets it, and every signal disposition, to the default before exec.
 */
int launch_spawn(const struct launch_spec *spec, struct launch_proc *proc, struct nl_err *err);

/*
 * Read the exec-status pipe without blocking. Returns 1 with *rep filled
 * when the child reported a failure, 0 when exec succeeded (end of file),
 * -EAGAIN when neither is known yet. On 1 or 0 the fd is closed and set to
 * -1.
 */
int launch_exec_status(struct launch_proc *proc, struct launch_report *rep);

/*
 * A new NULL-terminated environment: base, with every variable that over
 * sets replaced, then over's variables. The array is owned by the caller
 * (free it); the strings are borrowed from base and over.
 */
char **launch_env_merge(char *const *base, char *const *over);

#endif
