/* SPDX-License-Identifier: MIT */
/*
 * life.h - a job's life in the controller, owned by one module: submit,
 * start, exit, cancel, preempt, node loss, and reload after a restart.
 *
 * It sits between the scheduler (what should happen), the store (what has
 * happened, durably) and the agents (who make it happen). It owns the runs
 * of running jobs privately. Agents' reports reach it as plain C records
 * (struct life_exit, life_seen); what agents must do leaves it through the
 * node registry's outboxes (nodes_queue_launch, nodes_queue_kill), which
 * the agent protocol drains when it answers a sync. It calls nothing above
 * it: no callbacks into the protocol or the API.
 */
#ifndef NL_CTLD_LIFE_H
#define NL_CTLD_LIFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctld/metrics.h"
#include "nordlys/job.h"
#include "nordlys/tenant.h"

struct durable;
struct life;
struct nl_err;
struct nl_facility;
struct nl_sched;
struct nl_store;
struct nl_store_job;
struct nl_tenants;
struct nodes;
struct now;

/* What the life cycle works with; all borrowed for its life. */
struct life_deps {
    const struct nl_facility *fac;
    const struct nl_tenants *tenants;
    struct nl_sched *sched;
    struct nl_store *store;
    struct nodes *nodes;
    struct durable *dur;
    struct now *clock;
    const char *output_root; /* --output-root, "" or NULL for paths relative to each agent's */
    uint32_t node_timeout_ms;
    uint32_t master_port_salt; /* life_master_port_salt of the state directory */
};

/* What it counts, for /metrics. */
struct life_stats {
    struct histogram queue_wait_s;  /* submit to start */
    struct histogram sched_cycle_s; /* one nl_sched_pass plus applying its actions */
    uint64_t ended[NL_JOB_STATE_COUNT][NL_TIERS_MAX]; /* jobs that reached a terminal state */
    uint64_t submitted;
};

/* A new life cycle with no run; destroy with life_destroy. */
struct life *life_create(const struct life_deps *deps);
void life_destroy(struct life *l);
/* Reload live jobs from the store into the scheduler (start, rebuild). */
int life_reload(struct life *l, struct nl_err *err);
/*
 * A reloaded run is declared lost when no agent lists it within
 * node-timeout-ms; that time counts from now (when agents can reach us),
 * not from when reloading began (a large store takes a while to read).
 */
void life_restart_clocks(struct life *l);
/* Borrowed, valid until life_destroy. */
const struct life_stats *life_stats(const struct life *l);

/* ---- submission and the scheduler ---- */

/*
 * Insert a validated request in this iteration's transaction; sets
 * rec->id and its output paths. The scheduler sees it after COMMIT.
 */
int life_submit(struct life *l, struct nl_store_job *rec, struct nl_err *err);
/* life_submit's insert alone: the job stays out of the scheduler (the gate keeps it). */
int life_insert(struct life *l, struct nl_store_job *rec, struct nl_err *err);
/*
 * life_insert of an array job: its output patterns keep %j, which each
 * task's own insert expands to the task's id (Slurm's %j in an array).
 */
int life_insert_array(struct life *l, struct nl_store_job *rec, struct nl_err *err);
/*
 * Hand a stored PENDING job (kept out until now by the gate) to the
 * scheduler after this iteration's COMMIT, as a submission is.
 */
void life_enqueue(struct life *l, uint64_t id, const struct nl_job_spec *spec, int64_t submit_us);
/*
 * Take a PENDING job back out of the scheduler (or of this iteration's
 * submissions) without ending it: the gate holds it. -EBUSY when it has
 * started, -ENOENT when the scheduler does not have it.
 */
int life_withdraw(struct life *l, uint64_t id, struct nl_err *err);
/* After COMMIT: hand this iteration's submissions to the scheduler. */
void life_after_commit(struct life *l);
/* A COMMIT failed: this iteration's submissions were rolled back. */
void life_forget_submits(struct life *l);
/* Something changed that a scheduling pass should see. */
void life_mark_dirty(struct life *l);
/* Whether a pass is wanted, and clears the wish (the caller runs life_pass). */
bool life_take_dirty(struct life *l);
/* Run a scheduling pass and carry out its actions. */
void life_pass(struct life *l);
/* Clock of the last pass. */
int64_t life_last_pass_us(const struct life *l);
/* Cancel: 0 ended now, 1 being killed, -ENOENT not live. */
int life_cancel(struct life *l, uint64_t id, struct nl_err *err);

/* ---- control (issue 12): rec is the job's record as stored, borrowed ---- */

/*
 * Requeue: a RUNNING or PREEMPTING job's ranks are killed (its grace) and
 * it goes back to PENDING at their exit (returns 1); a finished job is
 * PENDING again at once, under its id (returns 0). -EALREADY for a
 * PENDING job; else what the scheduler says.
 */
int life_requeue(struct life *l, const struct nl_store_job *rec, struct nl_err *err);
/*
 * Update: rec holds the new name, gpus, time limit, grace and requeue of
 * a live job. A PENDING job takes them (checked against the facility); a
 * RUNNING one only a lower time limit, which its agents are told. Errors
 * as nl_sched_update's; on error nothing changes.
 */
int life_update(struct life *l, const struct nl_store_job *rec, struct nl_err *err);
/* Signal every live rank of job's run: how many, or -ENOENT when it is not running. */
int life_signal(struct life *l, uint64_t id, int sig, struct nl_err *err);
/* Whether run number of job is its current run (it has not ended or been requeued). */
bool life_run_current(const struct life *l, uint64_t job, uint32_t number);
/* Whether run of job is the one running on node (an agent's output for it is welcome). */
bool life_runs_on(const struct life *l, uint64_t job, uint32_t run, uint32_t node);

/* A job that reached a terminal state. */
struct life_end {
    uint64_t job;
    enum nl_job_state state;
};

/*
 * The jobs that ended (in the store's open transaction) since the last
 * life_ends_clear, in order: what the gate's dependencies and arrays wait
 * for. Borrowed until the next call that may end a job.
 */
const struct life_end *life_ends(const struct life *l, size_t *n);
void life_ends_clear(struct life *l);

/* ---- reports from agents ---- */

/* What an agent reported about one job process on one node. */
struct life_exit {
    uint64_t job;
    uint32_t run; /* the run number of the launch it came from */
    uint32_t node;
    int exit_code, signal;
    bool timeout;
    double cpu_s;
    int64_t max_rss_kb;
    const char *reason; /* why a launch failed, or NULL; borrowed for the call */
};

/*
 * An exit from an agent; repeated reports, and reports of an older run of
 * the job (it was requeued and started again since), are ignored.
 */
void life_exit(struct life *l, const struct life_exit *x);
/*
 * After life_exit: true when x is a rank's exit of a gang that runs on, so
 * that nothing durable records it yet. The agent must keep reporting it
 * (the sync answer holds it), or a controller restart would forget it.
 */
bool life_exit_held(const struct life *l, const struct life_exit *x);
/*
 * An agent lists run of job as running on node: true if that is the run
 * the controller runs there (and it is marked seen), false for a stray or
 * stale process that must be killed.
 */
bool life_seen(struct life *l, uint64_t job, uint32_t run, uint32_t node);
/* node goes out of service (state down or unregistered): the jobs on it are lost. */
void life_node_down(struct life *l, uint32_t node, const char *why);
/* node's agent syncs: the scheduler may place jobs on it again. */
void life_node_up(struct life *l, uint32_t node);
/* Running jobs no agent has listed for node_timeout become NODE_FAIL; lost kills go again. */
void life_check_lost(struct life *l);
/* Whether some reloaded run still waits for its agents' first full sync. */
bool life_has_unconfirmed(const struct life *l);
/*
 * After a restart: the agent with index idx has sent a full sync, and the
 * ranks of reloaded runs on its nodes that it did not mention were never
 * launched (the launch was lost with the old controller): launch them.
 */
void life_confirm_reloaded(struct life *l, int32_t idx);

/* ---- launches ---- */

/* One rank's launch, as plain C for the protocol layer to write out. */
struct life_launch {
    uint64_t job;
    uint32_t run;
    uint32_t node;
    uint32_t rank, nnodes;
    uint8_t gpu_mask;               /* the node's GPUs of this rank */
    const char *nodelist;           /* NORDLYS_NODELIST: the run's nodes, comma separated */
    const char *master_addr;        /* MASTER_ADDR: rank 0's agent's address */
    unsigned master_port;           /* MASTER_PORT */
    const struct nl_store_job *rec; /* command, env, cwd, paths, limits */
    double power_w;                 /* expected draw per GPU (the scheduler's, uncapped) */
};

/*
 * The launch of job's rank on node, for a sync answer: 0 with *out filled
 * (borrowed until life_launch_done), or -ENOENT when it no longer runs
 * there (ended, being killed). Reads the job's record once per start.
 */
int life_launch(struct life *l, uint64_t job, uint32_t node, struct life_launch *out);
/* The launch from life_launch has been written out. */
void life_launch_done(struct life *l, const struct life_launch *launch);
/*
 * MASTER_PORT of a run of job whose rank 0 holds first_mask's GPUs on its
 * node: 20000 + 1250 x (first GPU's index) + (job + salt) mod 1250
 * (docs/users.md), below the kernel's ephemeral ports, the same for every
 * rank and launch of the run; runs with rank 0 on one node at once get
 * different ports.
 */
unsigned life_master_port(uint32_t salt, uint64_t job, uint8_t first_mask);
/* The salt of a controller whose state directory is state_dir: a hash of its real path. */
uint32_t life_master_port_salt(const char *state_dir);

/* ---- reading ---- */

/* A running job, as the usage report needs it. */
struct life_run_info {
    uint64_t job;
    uint32_t run;
    uint32_t first_node; /* rank 0's node */
    int64_t start_us;
    double energy_start_wh; /* the scheduler's energy figure for the job at its start */
};

/* Iterate the running jobs: start with *cursor = 0; false at the end. */
bool life_run_next(const struct life *l, size_t *cursor, struct life_run_info *out);
size_t life_run_count(const struct life *l);

/* ---- power (docs/power.md) ---- */

/*
 * An agent read node's GPUs: w[0..n) W each. Each job on the node is
 * measured at the mean over its GPUs there (nl_sched_job_measured), and the
 * node's total is kept for the facility's measured draw.
 */
void life_power_report(struct life *l, uint32_t node, const double *w, const double *temp_c,
                       uint32_t n);
/* Measured IT draw: reported nodes' last readings, the idle model for the rest. */
double life_measured_it_w(const struct life *l, uint32_t *nodes_reported);
/*
 * node's last reading, when fresh (younger than the node timeout): its GPUs'
 * total draw in W and hottest GPU in degrees C (0 when the agent sent no
 * temperature). False, leaving both alone, when there is none.
 */
bool life_node_reading(const struct life *l, uint32_t node, double *w, double *temp_c);

/* True when some running job is under a power cap. */
bool life_any_capped(const struct life *l);

/* A cap to send with a sync answer: job's GPUs mask of a node at cap_w. */
struct life_cap {
    uint64_t job;
    uint8_t mask;
    double cap_w;
};
/* The caps in force on node's GPUs into out[0..8): their count. */
size_t life_node_caps(const struct life *l, uint32_t node, struct life_cap *out);

#endif
