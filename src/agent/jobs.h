/* SPDX-License-Identifier: MIT */
/*
 * jobs.h - the agent's table of jobs: launch, kill, time limits, reaping,
 * and the running/exit lists each sync reports.
 *
 * A job here is one run of one job on one node (a 4-node job launched on
 * an agent that stands for all four nodes is four entries; the run number
 * tells a restart of a requeued job from the process of its earlier run).
 * Its life:
 *
 *     RUNNING --kill / time limit--> KILLING --exit--> EXITED --ack--> gone
 *        \______________________exit_________________/
 *
 * EXITED entries stay until a sync answer has been received for a sync
 * that carried their exit (jobs_ack), so an exit is never lost to a
 * controller restart, and a repeated launch of the same run of a job on a
 * node while its exit is unacknowledged is recognised and ignored. A
 * launch of a newer run kills an older run of the job on that node at once.
 *
 * A job runs either as a real process under a keeper (launch.h), or, when the table is
 * made with noop set and the command is exactly ["sleep", "SECONDS"], as a
 * timed no-op: an entry with a deadline and no process, which behaves as
 * sleep would (exit 0 at the end, killed by SIGTERM at once, a time limit
 * ends it with timeout set). This is the simulation side of the launcher
 * seam (STYLE.md rule 38); it lets one process stand for 25,000 nodes.
 *
 * All deadlines (no-op ends, time limits, SIGKILL after a grace period)
 * live in one binary heap behind one timerfd; the table never blocks.
 * Loop thread only.
 */
#ifndef NL_AGENT_JOBS_H
#define NL_AGENT_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct nl_err;
struct agent_cg;
struct agent_jobs;
struct agent_scratch;

/* The node index that names no node of this agent (indices are below NL_PROTO_NODES_MAX). */
#define JOBS_NODE_IDX_MAX UINT32_MAX

struct jobs_conf {
    bool noop;               /* ["sleep", S] runs as a timed no-op */
    const char *output_root; /* relative output paths live here, and the default
                                OUTPUT_ROOT/jobs/JOB/NODE.out|.err; borrowed */
    const char *runs_dir;    /* run records (runrec.h), or NULL for none; borrowed, must exist */
    /*
     * The state directory's lock (statedir.h), which each keeper holds
     * until its run's record is written (launch_spec.lock_fd); -1, or 0
     * as a zeroed conf has it, for none. Borrowed.
     */
    int lock_fd;
    int64_t output_limit; /* bytes per output file when the launch gives none; 0 = none */
    struct agent_cg *cg;  /* per-job cgroups, or NULL; borrowed, outlives the table */
    /*
     * A job's environment is clean (launch_env_build): of the agent's own
     * environment (agent_env) only the nexports variables named in
     * exports (--export-env) reach it. Both borrowed.
     */
    char *const *agent_env;
    char *const *exports;
    size_t nexports;
    /*
     * An agent that is not root runs every job as its own user: a launch
     * naming another account fails (exit 126) unless run_as_self is set
     * (--run-as-self), which runs it as the agent's user instead.
     */
    bool run_as_self;
    /*
     * Per-node scratch (--scratch-dir), or NULL for none: a real job gets
     * its node's directory in NORDLYS_SCRATCH and TMPDIR, and the
     * directory is wiped between tenants (scratch.h); a wipe that fails
     * fails the launch (exit 126). Borrowed, outlives the table.
     */
    struct agent_scratch *scratch;
    /* Microseconds of spawning per turn of the loop (jobs_start_queued); 0: the default. */
    int64_t launch_budget_us;
};

/*
 * The default launch budget. A launch forks a keeper (tens of milliseconds
 * for a large or sanitized agent on a loaded machine); past the budget,
 * launches wait in a queue and the loop returns to its timer and its syncs
 * (the heartbeat: a node whose agent is silent for the node timeout is
 * down), then spawns the next batch. A queued launch is live and listed as
 * running (the agent has taken it and will start it or report its end),
 * so the controller never takes it for lost.
 */
#define JOBS_LAUNCH_BUDGET_US 50000

/* How often the sizes of the jobs' output files are checked against their limit. */
#define JOBS_OUTPUT_CHECK_US 1000000

/* A new empty table; the conf strings are borrowed. Returns NULL with err set on failure. */
struct agent_jobs *jobs_new(const struct jobs_conf *conf, struct nl_err *err);

/*
 * The absolute path of a job's output file into buf: given as is when
 * absolute, root/given when relative (a ".." component is refused with
 * -EINVAL: output stays below the root), root/jobs/JOB/NODE.EXT when
 * absent or empty. -ENAMETOOLONG when it does not fit.
 */
int jobs_output_path(const char *root, int64_t job, const char *node, const char *given,
                     const char *ext, char *buf, size_t size);

/*
 * Free the table. A run still live is killed by its keeper, which sees its
 * socket close (the caller normally killed and reaped every run before).
 */
void jobs_destroy(struct agent_jobs *t);

/* An epoll descriptor that is readable when jobs_dispatch has work (deadlines, keeper sockets). */
int jobs_fd(const struct agent_jobs *t);

/*
 * Handle expired deadlines, keepers' reports (a run's start and end) and
 * queued launches (jobs_start_queued); never blocks, and spawns for about
 * the launch budget at most.
 */
void jobs_dispatch(struct agent_jobs *t);

/*
 * Renew the launch budget and spawn queued launches, oldest first, until
 * the budget is spent (at least one when any waits); returns how many.
 * While launches remain, jobs_fd stays readable, so the loop calls again
 * after it has served its other events.
 */
size_t jobs_start_queued(struct agent_jobs *t);

/* Launches queued and not yet spawned. */
size_t jobs_queued(const struct agent_jobs *t);

/*
 * Reap every exited child (the keepers, launch.h; a run's end arrives from
 * its keeper through jobs_dispatch); call on SIGCHLD.
 */
void jobs_reap(struct agent_jobs *t);

/*
 * Start l on node (node_idx is the agent's index of that node, or
 * JOBS_NODE_IDX_MAX for a node the agent does not stand for, in which case
 * the job fails at once with a reason). A real job's keeper is forked at
 * once while the launch budget lasts, else later by jobs_dispatch; either
 * way the job's own start is reported by its keeper later (jobs_dispatch). A launch of a run of a
 * job on a node that the table already holds (or of an older run) is ignored; a newer run SIGKILLs
 * the older one still running there. A launch that cannot start becomes an exit with exit_code 127
 * and a reason; nothing is returned because nothing is left for the caller to do.
 */
void jobs_launch(struct agent_jobs *t, const struct proto_launch *l, uint32_t node_idx);

/*
 * Apply kill entries: SIGTERM the process groups of each entry's run of its
 * job (every run when the entry's run is 0), SIGKILL after grace_s.
 */
void jobs_kill(struct agent_jobs *t, const struct proto_kill *k, size_t n);

/* Kill every job (shutdown): as jobs_kill with the given grace and reason. */
void jobs_kill_all(struct agent_jobs *t, double grace_s, const char *reason);

/* Jobs with a process or a no-op still running (RUNNING or KILLING). */
size_t jobs_live(const struct agent_jobs *t);

/* Exited jobs not yet acknowledged. */
size_t jobs_unacked(const struct agent_jobs *t);

/*
 * The running list for a sync: with full, every live run; otherwise only
 * the live runs started since the last sync that was answered (jobs_ack),
 * at a cost in proportion to their number. A table-owned array valid
 * until the next call that changes the table. Each call marks the runs
 * started so far as sent, so that the next jobs_ack forgets them.
 */
size_t jobs_running(struct agent_jobs *t, bool full, const struct proto_running **out);

/*
 * Only the first n entries of the last jobs_running list (a delta) went
 * into the sync (its body is bounded, proto.h): the rest stay new and go
 * in a later delta.
 */
void jobs_running_sent(struct agent_jobs *t, size_t n);

/*
 * The unacknowledged exits, tagged as sent in sync number seq: a
 * table-owned array valid until the next call that changes the table.
 */
size_t jobs_exits(struct agent_jobs *t, uint64_t seq, const struct proto_exit **out);

/*
 * Only the first n exits of the last jobs_exits list went into sync seq:
 * the rest are not tagged with it, so its answer does not forget them.
 */
void jobs_exits_sent(struct agent_jobs *t, uint64_t seq, size_t n);

/*
 * A sync answer arrived for sync number seq: forget the exits it carried,
 * except those the answer holds (hold, n entries, borrowed): those are
 * reported again in the next syncs until an answer no longer holds them.
 * The runs the sync listed as new are no longer new. Run records of the
 * exits forgotten are removed.
 */
void jobs_ack(struct agent_jobs *t, uint64_t seq, const struct proto_hold *hold, size_t n);

/*
 * Apply a sync answer's controls (issue 12): new time limits (from each
 * run's start; one already past ends the run now, as its limit would),
 * then signals to the runs' process groups on every node of this agent,
 * each seq at most once per run (see jobs_applied). Runs not running here
 * are skipped.
 */
void jobs_control(struct agent_jobs *t, const struct proto_control *signals, size_t nsignals,
                  const struct proto_control *limits, size_t nlimits);
/*
 * The seqs of controls applied (or with no run here) for the next sync's
 * "applied", at most max: they are sent in every sync until one is
 * answered (jobs_ack), and a control whose seq was applied to a run is
 * never applied to it again (controls are resent until acknowledged). A
 * control of a run still waiting for the launch budget is not applied nor
 * acknowledged: it comes again. Table-owned, valid until the next call
 * that changes the table.
 */
size_t jobs_applied(struct agent_jobs *t, size_t max, const uint64_t **out);

/*
 * The output to ship in sync number seq (outship.h): new bytes of the
 * runs launched with ship_output, at most NL_PROTO_OUTPUT_CHUNK_MAX per
 * stream of a running run and NL_PROTO_OUTPUT_SYNC_MAX in all. A
 * table-owned list valid until the next call. An exited run's exit is
 * not listed by jobs_exits until its output has been acknowledged
 * (jobs_ack), so the controller has a job's output when it learns its end.
 */
size_t jobs_output(struct agent_jobs *t, uint64_t seq, const struct proto_output **out);

#endif
