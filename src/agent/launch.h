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
 * so the error names the path. launch_spawn returns as soon as the keeper
 * is forked: the agent never waits for a job to start (with an agent that
 * has a sanitizer's address space, or on a loaded machine, a fork and exec
 * take tens of milliseconds, and a sync answer carrying dozens of launches
 * would hold the agent's loop, and so its heartbeat, for seconds). The
 * keeper's STARTED message, which says whether exec succeeded (an
 * exec-status pipe between keeper and job, closed by a successful execve,
 * the trick libuv's process.c uses), is read later from the keeper's
 * socket in the agent's loop (launch_read_start). A signal the agent sends
 * meanwhile waits in the socket: the keeper reads it once the job exists.
 */
#ifndef NL_AGENT_LAUNCH_H
#define NL_AGENT_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct nl_err;
struct ident;
struct runrec;

struct launch_spec {
    char *const *argv; /* argv[0] is looked up in PATH from envp when it has no '/' */
    char *const *envp; /* the complete environment of the job (launch_env_build) */
    const char *cwd;   /* absolute directory */
    /*
     * The account the job runs as: its uid, gid and groups are taken in the
     * job's process before exec when they are not the agent's own. The
     * output files are opened with its file-system ids, so a path it names
     * is only ever opened with its permissions.
     */
    const struct ident *id;
    /*
     * The agent's output root: below it, the file's own directory (the
     * job's) is created 0700 and owned by the job's user, the directories
     * above it 0755 and the agent's; elsewhere (a shared file system) the
     * user creates every directory.
     */
    const char *output_root;
    const char *stdout_path; /* absolute; the file is created 0600, owned by the job's user */
    const char *stderr_path; /* absolute; may equal stdout_path */
    int cgroup_procs_fd;     /* an open cgroup.procs, or -1 */
    bool read_output;        /* readers for shipping (out_rfd, err_rfd): the files, or spools */
    const char *cgroup_dir;  /* the job's cgroup directory (for cgroup.kill), or NULL */
    /*
     * Tasks (issue 12): ntasks processes (0 is read as 1) under the one
     * keeper and cgroup, each in its own process group. task_envp[i] is
     * task i's environment (NULL: envp for every task); task_stdout[i] and
     * task_stderr[i] its files (NULL: stdout_path / stderr_path for all).
     * A file every task of the launch shares gets, when label is set, each
     * line prefixed "N: " with N = task_base + i, through a pipe per task
     * that the keeper reads, so that lines of different tasks never mix.
     * input_path (absolute, opened as the job's user) is task 0's stdin;
     * the others, and task 0 without it, read /dev/null.
     */
    size_t ntasks;
    char *const *const *task_envp;
    const char *const *task_stdout;
    const char *const *task_stderr;
    int64_t task_base;
    bool label;
    const char *input_path;
    /*
     * The run's record (runrec.h), or NULL for none. The keeper writes it
     * as record_dir/record_name, with its own pid and start time, before
     * it creates the job's first process (a record it cannot write fails
     * the launch: LAUNCH_STAGE_RECORD), and again with the first task's
     * pid and start time once that exists, before STARTED. So no process
     * of a run ever exists without a record a next agent's sweep can read.
     */
    const struct runrec *record;
    const char *record_dir, *record_name;
    /*
     * The agent's state-directory lock (statedir.h), or -1; 0-2 (an unset
     * field) count as none. The keeper holds its copy until the record is
     * written: a next agent cannot take the directory, and sweep it,
     * between the keeper's fork and its record, even when this agent died
     * meanwhile.
     */
    int lock_fd;
};

/* What a failed job child reports: the step that failed and its errno. */
enum launch_stage {
    LAUNCH_STAGE_NONE = 0,
    LAUNCH_STAGE_CHDIR,
    LAUNCH_STAGE_EXEC,
    LAUNCH_STAGE_SETUP,  /* dup2, setpgid, prctl: should never happen */
    LAUNCH_STAGE_IDS,    /* setgroups, setgid, setuid to the job's account: exit 126 */
    LAUNCH_STAGE_RECORD, /* the keeper could not write the run record: nothing was started */
};

struct launch_report {
    int stage; /* enum launch_stage */
    int err;   /* errno in the child */
};

struct launch_proc {
    pid_t pid;            /* the job's first process, also its process group id; -1 until STARTED */
    uint64_t start_ticks; /* its start time (procs.h) */
    pid_t keeper;         /* the keeper, the agent's child */
    uint64_t keeper_ticks;
    /* The agent's end of the keeper socket (O_CLOEXEC, O_NONBLOCK), or -1. */
    int fd;
    /* The agent's own descriptors of the output files (for their size), or -1. */
    int out_fd, err_fd;
    /*
     * Read-only descriptors of them (launch_spec.read_output), opened as the
     * job's user, for shipping output; -1 when not asked or not had. Not
     * the files' reading when stderr is stdout: err_rfd is -1 then.
     */
    int out_rfd, err_rfd;
    /* Their sizes before the job started: a requeued run appends to its file. */
    int64_t out_base, err_base;
    /*
     * What out_rfd and err_rfd read (issue 12). A run of a job of several
     * tasks (label) reads its spools instead of the files: anonymous files
     * (memfd) where the keeper writes every line of this launch's tasks,
     * labelled "TASK: line\n", whatever the output files are (shared by
     * the nodes, or a file per task), so that each node ships exactly its
     * own tasks' lines, whole (lines true, bases 0). Otherwise the files,
     * from out_base and err_base.
     */
    int64_t out_rbase, err_rbase;
    bool lines;
    /* The other tasks' own files (a %t pattern): the agent's descriptors and sizes before. */
    int *more_fd;
    int64_t *more_base;
    size_t nmore;
};

/* The end of a run as the keeper saw it. */
struct launch_exit {
    int status; /* the run's: the first task's that failed (non-zero, or a signal), else 0 */
    double cpu_s;
    long max_rss_kb;
};

/*
 * Fork a keeper that starts spec, and return without waiting for it: on
 * success fills proc (pid -1 until launch_read_start; keeper, its socket
 * and the output descriptors set) and returns 0; the caller owns proc's
 * descriptors (launch_close). Returns -errno with err naming the path or
 * the step ("stdout /x/42.out: Permission denied") when the job could not
 * be started; then no process is left.
 * Loop thread only: the child inherits the caller's blocked signal mask.
 */
int launch_spawn(const struct launch_spec *spec, struct launch_proc *proc, struct nl_err *err);

/*
 * Read the keeper's STARTED message without blocking, once proc->fd is
 * readable. Returns 0 with proc->pid and proc->start_ticks set and *rep
 * filled (stage LAUNCH_STAGE_NONE when execve succeeded; otherwise the job
 * has already failed and the keeper reports its exit 127 next through
 * launch_read); -EAGAIN when nothing has arrived yet; another -errno with
 * err set when the keeper could not start the job (it died, could not
 * write the run record, or could not fork): then proc->fd is closed and
 * set to -1 and the keeper is exiting.
 */
int launch_read_start(struct launch_proc *proc, struct launch_report *rep, struct nl_err *err);

/*
 * Read the keeper's socket without blocking. Returns 1 with *ex filled
 * when the run has ended, 0 when the keeper is gone without saying so
 * (killed: the job died with it by PDEATHSIG), -EAGAIN when nothing has
 * happened yet. On 1 or 0 proc->fd is closed and set to -1.
 */
int launch_read(struct launch_proc *proc, struct launch_exit *ex);

/*
 * Have the keeper send sig to the job's process group (SIGKILL also
 * empties its cgroup and subtree); before STARTED, the keeper does so as
 * soon as the job exists. When the keeper is gone, the group is signalled
 * directly (when its pid is known).
 */
void launch_signal(struct launch_proc *proc, int sig);

/* Close the agent's descriptors of proc. */
void launch_close(struct launch_proc *proc);
/* Close and forget only proc's descriptors of the other tasks' files (more_fd). */
void launch_close_outputs(struct launch_proc *proc);

/* The PATH a job gets unless its launch sets one. */
#define LAUNCH_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/*
 * A job's environment, clean: nothing of the agent's environment but what
 * the operator named (--export-env). In order, a later entry of a name
 * replacing an earlier one: PATH=LAUNCH_DEFAULT_PATH; HOME, USER, LOGNAME
 * and SHELL of id's account; each variable of agent_env named in exports
 * (nexports names; absent ones are skipped); then launch, the submitted
 * environment with what nordlys sets (CUDA_VISIBLE_DEVICES, NORDLYS_*, the
 * torch.distributed rendezvous). A new NULL-terminated array of new
 * strings; free it with launch_env_free.
 */
char **launch_env_build(const struct ident *id, char *const *agent_env, char *const *exports,
                        size_t nexports, char *const *launch);
void launch_env_free(char **env);

#endif
