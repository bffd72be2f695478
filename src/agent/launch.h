/* SPDX-License-Identifier: MIT */
/*
 * launch.h - start one job under a keeper process, and talk to the keeper.
 *
 * A keeper is a fork of the agent (no exec) that stands between the agent
 * and one run, as slurmstepd or containerd-shim do. It exists so that a
 * job never outlives its agent: when the agent dies, even by SIGKILL, the
 * keeper sees end-of-file on its socket and SIGKILLs the job's process
 * group, its cgroup and every process below itself (it is a child
 * subreaper, so whatever the job leaves behind, even after setsid, is
 * reparented to it and stays findable), waits until they are gone, and
 * exits. The job's first process also has PR_SET_PDEATHSIG(SIGKILL) on the
 * keeper, so that killing the keeper too still kills the job.
 *
 *     agent --fork--> keeper (subreaper) --vfork/exec--> job (own process group)
 *       <==== SOCK_SEQPACKET: keeper sends STARTED, then EXITED;
 *             the agent sends signal numbers ====>
 *
 * The keeper reaps the job, kills what is left of its group and subtree,
 * and forwards the wait status and resource use to the agent. The agent
 * never signals the job itself while the keeper lives: the keeper knows
 * whether the job's process group id is still the job's (it reaps the
 * leader only after killing the group), the agent cannot.
 *
 * Everything that can fail with a useful message (creating the output
 * directories, opening the output files) is done in the agent before fork,
 * so the error names the path. launch_spawn waits for the keeper's STARTED
 * message, which says whether exec succeeded (an exec-status pipe between
 * keeper and job, closed by a successful execve, the trick libuv's
 * process.c uses); this costs the agent the time of one fork and exec.
 */
#ifndef NL_AGENT_LAUNCH_H
#define NL_AGENT_LAUNCH_H

#include <stdint.h>
#include <sys/types.h>

struct nl_err;

struct launch_spec {
    char *const *argv;       /* argv[0] is looked up in PATH from envp when it has no '/' */
    char *const *envp;       /* the complete environment of the job */
    const char *cwd;         /* absolute directory */
    const char *stdout_path; /* absolute; parent directories are created (0755) */
    const char *stderr_path; /* absolute; may equal stdout_path */
    int cgroup_procs_fd;     /* an open cgroup.procs, or -1 */
    const char *cgroup_dir;  /* the job's cgroup directory (for cgroup.kill), or NULL */
};

/* What a failed job child reports: the step that failed and its errno. */
enum launch_stage {
    LAUNCH_STAGE_NONE = 0,
    LAUNCH_STAGE_CHDIR,
    LAUNCH_STAGE_EXEC,
    LAUNCH_STAGE_SETUP, /* dup2, setpgid, prctl: should never happen */
};

struct launch_report {
    int stage; /* enum launch_stage */
    int err;   /* errno in the child */
};

struct launch_proc {
    pid_t pid;            /* the job's first process, also its process group id */
    uint64_t start_ticks; /* its start time (procs.h) */
    pid_t keeper;         /* the keeper, the agent's child */
    uint64_t keeper_ticks;
    /* The agent's end of the keeper socket (O_CLOEXEC, O_NONBLOCK), or -1. */
    int fd;
    /* The agent's own descriptors of the output files (for their size), or -1. */
    int out_fd, err_fd;
    /* Their sizes before the job started: a requeued run appends to its file. */
    int64_t out_base, err_base;
};

/* The end of a run as the keeper saw it. */
struct launch_exit {
    int status; /* wait status of the job's first process */
    double cpu_s;
    long max_rss_kb;
};

/*
 * Fork a keeper that starts spec. On success fills proc and *rep (stage
 * LAUNCH_STAGE_NONE when execve succeeded; otherwise the job has already
 * failed and the keeper reports its exit 127 next) and returns 0; the
 * caller owns proc's descriptors (launch_close). Returns -errno with err
 * naming the path or the step ("stdout /x/42.out: Permission denied") when
 * the job could not be started; then no process is left.
 * Loop thread only: the child inherits the caller's blocked signal mask.
 */
int launch_spawn(const struct launch_spec *spec, struct launch_proc *proc,
                 struct launch_report *rep, struct nl_err *err);

/*
 * Read the keeper's socket without blocking. Returns 1 with *ex filled
 * when the run has ended, 0 when the keeper is gone without saying so
 * (killed: the job died with it by PDEATHSIG), -EAGAIN when nothing has
 * happened yet. On 1 or 0 proc->fd is closed and set to -1.
 */
int launch_read(struct launch_proc *proc, struct launch_exit *ex);

/*
 * Have the keeper send sig to the job's process group (SIGKILL also
 * empties its cgroup and subtree). When the keeper is gone, the group is
 * signalled directly.
 */
void launch_signal(struct launch_proc *proc, int sig);

/* Close the agent's descriptors of proc. */
void launch_close(struct launch_proc *proc);

/*
 * A new NULL-terminated environment: base, with every variable that over
 * sets replaced, then over's variables. The array is owned by the caller
 * (free it); the strings are borrowed from base and over.
 */
char **launch_env_merge(char *const *base, char *const *over);

#endif
