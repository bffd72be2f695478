/* SPDX-License-Identifier: MIT */
/*
 * sched.h - the scheduler: quota admission, ordering, gang topology-aware
 * placement, residency/sensitivity/power constraints, backfill with
 * reservations, and preemption to reclaim guaranteed quota.
 *
 * The scheduler is deterministic and does no I/O: it never reads a clock,
 * never draws a random number, never logs. Callers feed it events with the
 * time they happened (microseconds on the caller's clock, never going
 * backwards) and run nl_sched_pass(); the pass returns a list of actions
 * (start this job on these nodes, preempt that one) for the caller to carry
 * out. The controller and the simulator drive the very same code.
 *
 * The scheduler keeps only live jobs (PENDING, RUNNING, PREEMPTING). When a
 * job reaches a terminal state it is removed, and the call that ended it
 * returns its final record; history is the caller's business (the store,
 * the simulator's report).
 *
 * Time starts at the first call that carries one: energy and usage are
 * accounted from then on, whatever the epoch of the caller's clock.
 *
 * Calling context: single-threaded. Every function here must be called
 * from one thread at a time; none blocks.
 */
#ifndef NL_NORDLYS_SCHED_H
#define NL_NORDLYS_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nordlys/job.h"

struct nl_err;
struct nl_facility;
struct nl_tenants;

enum nl_policy {
    NL_POLICY_NORDLYS = 0, /* everything in DESIGN.md section 3 (the default) */
    NL_POLICY_FIFO,        /* submit order, stop at the first blocked job, no topology, no tiers */
    NL_POLICY_BACKFILL,    /* Slurm-like: submit order, EASY backfill, no topology, no tiers */
    NL_POLICY_COUNT
};

const char *nl_policy_name(enum nl_policy p);
int nl_policy_parse(const char *name, enum nl_policy *out, struct nl_err *err);

/*
 * Scheduler configuration. Fill with nl_sched_config_init() and then change
 * fields; the ordering formula is documented in docs/architecture.md:
 *
 *   priority = w_tier * tier_f + w_fair * fair_f + w_age * age_f + w_size * size_f
 *              + w_limit * limit_f
 *
 *   tier_f = 1 - rank / ntiers                     (in (0, 1])
 *   fair_f = 2 ^ -(usage_share / weight_share)     (Slurm's classic factor)
 *   age_f  = (now - submit) / age_ref              (not capped)
 *   size_f = log2(gpus) / log2(facility GPUs)      (in [0, 1])
 *   limit_f = 1 - log2(limit s) / log2(one year s)  (in [0, 1]: shorter first)
 */
struct nl_sched_config {
    enum nl_policy policy;
    double w_tier, w_fair, w_age, w_size;
    /* Shorter time limits first: + w_limit * (1 - log(limit) / log(one year)); 0 = off. */
    double w_limit;
    int64_t age_ref_us;        /* age that earns age_f = 1 */
    int64_t fair_halflife_us;  /* half-life of the decayed usage behind fair_f */
    uint32_t reservations;     /* blocked jobs per site that get a backfill reservation */
    /*
     * Most pending jobs one pass examines (0 = all), like Slurm's
     * bf_max_job_test: it bounds a pass over a very deep queue. Jobs past
     * it wait with reason "priority" until jobs ahead of them move.
     */
    uint32_t depth;
    /*
     * How many of the first reservations of multi-node gangs also hold the
     * emptiest racks of their site, so that jobs which would outlast the
     * shadow time drain away from them (topology-aware backfill).
     */
    uint32_t drain;
    /*
     * Topology is a preference with a deadline, like Slurm's
     * --switches=N@max-time: a job that cannot get its compact shape
     * (one node, one NVL72 rack, fewest pods) but has waited this long
     * since submission takes free GPUs spread over racks. < 0: never.
     */
    int64_t topology_wait_us;
    /*
     * Shape-aware reservations: a blocked job that fits one node reserves
     * the node that frees enough GPUs first (the time its running jobs
     * end), and only jobs that would outlast that time are kept off that
     * node; other GPUs stay open to backfill. Off: EASY's count of GPUs
     * (the baselines), which keeps GPUs idle anywhere in the site.
     */
    bool shaped;
    /*
     * Shaped reservations per pass, besides the counted ones: each keeps
     * long jobs off one node or rack and costs a walk of the running jobs
     * that end before that unit frees, so they are bounded.
     */
    uint32_t shaped_max;
    bool preempt;              /* reclaim guaranteed quota by preempting borrowed work */
    /* Reclaim passes over a victim holding more than this many times the GPUs still
     * needed (0: any victim); a gang is not torn down to free a few GPUs. */
    double reclaim_ratio;
    /*
     * Draining preemption: a blocked job of at least drain_preempt_gpus GPUs that
     * already finds this fraction of its GPUs free in a site preempts
     * preemptible jobs of weaker tiers for the rest (0: off).
     */
    double drain_preempt;
    uint32_t drain_preempt_gpus;
    /*
     * Least-attained-service (Tiresias's discretized 2D-LAS; docs/architecture.md):
     * a job's attained service is GPUs x time run so far; queue k holds jobs past
     * las_gpuh x 10^(k-1) GPU-hours (k < las_queues). A requeued job ranks w_las per
     * queue lower, and a blocked job preempts preemptible jobs of its own or weaker
     * tiers in later queues. 0: off.
     */
    double las_gpuh;
    uint32_t las_queues;
    double w_las;
    int64_t las_min_run_us; /* a victim has run at least this long since its last start */
    /*
     * Plan with run times learned from the tenant's last `predict` finished jobs
     * (the predict_q quantile of their run time / time limit) instead of the time
     * limit: shadow times, backfill and drains (a job past its prediction is planned
     * at its limit again; limits are enforced as before). 0: off.
     */
    uint32_t predict;
    double predict_q;
    bool topology;             /* topology-aware placement (off for the baselines) */
    bool quotas;               /* quota admission (off for the baselines) */
    /*
     * Pending jobs, first in priority order, whose start each pass
     * estimates (est_start_us) even when nothing can start: the GPUs of
     * running jobs come back at their time limits, and the jobs ahead take
     * theirs first (EASY's shadow time, counted per site). 0 (the
     * default of every policy; nordlysd sets NL_SCHED_ESTIMATES_DEFAULT):
     * only jobs that get a backfill reservation have one.
     */
    uint32_t estimates;
    /*
     * Answer a power gap by capping GPUs first (docs/power.md); off: by
     * preemption only, the comparison the simulator study makes. On for
     * every policy by default: power limits hold whatever the ordering.
     */
    bool power_capping;
    /*
     * Share of every facility and site power limit held back for the error
     * of planning with measured draw (0 to 0.2; 0 by default). The narvik
     * study in docs/power.md suggests ~0.015 under oversubscription.
     */
    double power_margin;
    /*
     * Let a job of the sovereign tier, or one inside its tenant's guaranteed
     * quota, start under a binding power limit by taking the power from
     * weaker tiers: by preempting the runs that lose the least work, or by
     * capping weaker tiers further, whichever loses fewer GPU-hours
     * (docs/power.md, "Starting under a binding budget"). Off: nothing
     * starts while capping is needed. On by default.
     */
    bool power_claim;
};

/* The nordlys policy's topology_wait_us: see bench/RESULTS.md for how it was chosen. */
#define NL_SCHED_TOPOLOGY_WAIT_DEFAULT (300LL * 1000000) /* Slurm's max_switch_wait default */

/* cfg.estimates of nordlysd: what `nordlys queue --start` shows. */
#define NL_SCHED_ESTIMATES_DEFAULT 100

void nl_sched_config_init(struct nl_sched_config *cfg, enum nl_policy policy);
/*
 * Set one knob from "key=value" (w_tier, w_fair, w_age, w_size: numbers;
 * age_ref, fair_halflife: seconds; topology_wait: seconds or "never";
 * reservations, depth, drain, shaped_max: counts; shaped, preempt,
 * topology, quotas, power_capping, power_claim: yes/no; power_margin: a fraction). Returns 0, or -EINVAL with err naming the key
 * and leaving cfg unchanged.
 */
int nl_sched_config_set(struct nl_sched_config *cfg, const char *kv, struct nl_err *err);

/* Why a pending job is waiting. */
enum nl_reason {
    NL_REASON_NONE = 0,     /* not evaluated yet (submitted since the last pass) */
    NL_REASON_PRIORITY,     /* jobs ahead of it hold what it needs (fifo stops here) */
    NL_REASON_QUOTA,        /* its tenant is at quota + borrowing limit */
    NL_REASON_RESOURCES,    /* not enough free GPUs in its eligible sites */
    NL_REASON_TOPOLOGY,     /* enough GPUs, but not in the shape it needs */
    NL_REASON_POWER,        /* starting it would exceed a power limit */
    NL_REASON_RESERVATION,  /* it would delay a reservation held by a job ahead */
    NL_REASON_RECLAIM,      /* preempted jobs are giving its guaranteed GPUs back */
    NL_REASON_NODES_DOWN,   /* eligible capacity is down */
    NL_REASON_PROMISED,     /* the free GPUs are promised to a job reclaiming its quota */
    NL_REASON_COUNT
};

const char *nl_reason_name(enum nl_reason r);  /* "quota", "power", ... */
const char *nl_reason_text(enum nl_reason r);  /* one sentence for people */

/* One GPU allocation on one node: a node index and a mask of its GPUs. */
struct nl_alloc_node {
    uint32_t node;
    uint8_t mask;
};

enum nl_action_kind {
    NL_ACT_NONE = 0,
    NL_ACT_START,   /* run the job on its allocation (nl_sched_job_alloc) */
    NL_ACT_PREEMPT, /* SIGTERM now, SIGKILL after grace, then report nl_sched_job_exit */
    NL_ACT_KILL,    /* cancel requested: kill now, then report nl_sched_job_exit */
    NL_ACT_CAP,     /* its per-GPU power cap changed: apply nl_job_info.power_cap_w (0 = lift) */
    NL_ACT_COUNT
};

struct nl_action {
    enum nl_action_kind kind;
    uint64_t job;
};

/* A snapshot of one live job (or of a job that just ended). */
struct nl_job_info {
    uint64_t id;
    enum nl_job_state state;
    struct nl_job_spec spec;
    int64_t submit_us;
    int64_t start_us;     /* last start; 0 if it never started */
    int64_t end_us;       /* terminal records only */
    int64_t est_start_us; /* expected start (a backfill reservation's or cfg.estimates'); 0 if none */
    int64_t expect_end_us; /* running: when its GPUs are expected back (time limit or grace end) */
    enum nl_reason reason;
    uint32_t site;        /* site of the allocation (running) */
    bool borrowed;        /* running beyond its tenant's quota: reclaimable */
    uint32_t preemptions; /* times it was preempted */
    double priority;      /* at the last pass */
    int64_t run_us;       /* total time run over all starts */
    double energy_wh;     /* energy of its runs, facility level (PUE applied) */
    double it_energy_wh;  /* the same without PUE: its GPUs' IT energy */
    double power_want_w;  /* running: per-GPU draw uncapped (request, measured, history or default) */
    double power_cap_w;   /* running: per-GPU power cap in force; 0 = none */
    double power_w;       /* running: per-GPU draw the scheduler counts (want, or the cap) */
};

/* Facility-wide numbers, from nl_sched_stats. */
struct nl_sched_stats {
    uint64_t gpus_total, gpus_alloc, gpus_down;
    uint64_t jobs_pending, jobs_running, jobs_preempting;
    uint64_t racks_total, racks_free; /* racks with every GPU free */
    double power_it_w;       /* IT draw now */
    double power_w;          /* facility draw now (IT x PUE) */
    double power_budget_w;   /* 0 = none */
    double pue;              /* in force now */
    double power_idle_w;     /* facility draw with no job running (the lowest budget that holds) */
    uint64_t jobs_capped;    /* running jobs under a power cap */
    uint64_t power_preemptions; /* jobs preempted because capping could not close a power gap, or by a claim */
    uint64_t power_claims_preempt, power_claims_cap; /* jobs started by a power claim (power_claim), by each answer */
    double energy_wh;        /* facility energy since creation */
    double fragmentation;    /* free GPUs outside wholly free racks / free GPUs (0 when none free) */
    uint64_t preemptions;    /* since creation */
    uint64_t decisions;      /* jobs evaluated by passes, since creation */
    uint64_t passes;
};

/* Per-tenant live usage, from nl_sched_tenant_usage. */
struct nl_tenant_usage {
    uint64_t gpus_alloc;      /* allocated now */
    uint64_t gpus_borrowed;   /* of which beyond quota */
    uint64_t jobs_pending, jobs_running;
    double usage_decayed;     /* GPU-seconds with the fair-share half-life */
    double gpu_hours;         /* GPU-hours since creation */
    double energy_wh;         /* facility-level energy since creation */
    double power_w;           /* its running jobs' draw now, facility level (PUE applied) */
};


/* Completion report of nl_sched_check: counts of violated invariants. */
struct nl_sched_violations {
    uint64_t residency; /* a job on a site its residency or its tenant's jurisdictions exclude */
    uint64_t power, quota, double_alloc, gang;
    uint64_t isolation; /* a sensitive job sharing a node with another tenant's job */
    /*
     * A start on a down, drained or (outside its reservation) reserved node,
     * or a node's reservation flag or count disagreeing with the
     * reservations, or two reservations with overlapping windows on a node.
     */
    uint64_t reservation;
};

/*
 * Returns a new scheduler over fac and tenants (both borrowed: they must
 * outlive it), destroy with nl_sched_destroy. cfg may be NULL for the
 * nordlys defaults; it is copied. NULL with err set if cfg is invalid.
 */
struct nl_sched *nl_sched_create(const struct nl_facility *fac, const struct nl_tenants *tenants,
                                 const struct nl_sched_config *cfg, struct nl_err *err);
void nl_sched_destroy(struct nl_sched *s);

/*
 * Validate spec against the facility and the tenants without changing
 * anything: -EINVAL naming the field ("gpus: 200000 exceeds the largest
 * site eligible for residency NO (100008)"), -ENOENT for a bad tenant. A
 * job no site can take, its residency and its tenant's jurisdictions
 * considered together, is refused with "residency: no site satisfies
 * residency R and tenant T's jurisdictions (J); facility F's sites: ...".
 */
int nl_sched_validate(const struct nl_sched *s, const struct nl_job_spec *spec,
                      struct nl_err *err);

/*
 * Add a PENDING job with the caller's id (unique among live jobs). Returns
 * 0, -EEXIST for a duplicate id, or what nl_sched_validate returns; on
 * error nothing changes.
 */
int nl_sched_submit(struct nl_sched *s, uint64_t id, const struct nl_job_spec *spec,
                    int64_t now_us, struct nl_err *err);

/*
 * Re-adopt a job that was RUNNING before a controller restart, on exactly
 * the allocation it had (n entries of nodes, borrowed). Returns 0, or
 * -EBUSY if a GPU of it is already taken, -EINVAL if the allocation does
 * not fit the facility; on error nothing changes.
 */
int nl_sched_adopt(struct nl_sched *s, uint64_t id, const struct nl_job_spec *spec,
                   int64_t submit_us, int64_t start_us, const struct nl_alloc_node *nodes,
                   size_t n, int64_t now_us, struct nl_err *err);

/*
 * A job adopted by nl_sched_adopt was being preempted when the controller
 * restarted: mark it PREEMPTING again, its GPUs expected back at
 * grace_end_us (the end of its grace), so that reservations are planned
 * with that end and not with its time limit's. No NL_ACT_PREEMPT is queued
 * (the caller repeats the kill it had sent) and no preemption is counted
 * again. Returns 0, -ENOENT (no live job), -EINVAL (not RUNNING, or
 * grace_end_us before its start); on error nothing changes.
 */
int nl_sched_adopt_preempting(struct nl_sched *s, uint64_t id, int64_t grace_end_us,
                              struct nl_err *err);

/*
 * Cancel. A PENDING job ends at once (CANCELLED, *ended filled if non-NULL,
 * returns 0). A RUNNING or PREEMPTING job is marked, NL_ACT_KILL is queued
 * for the next pass's action list, and it ends when its exit is reported
 * (returns 1). -ENOENT if no such live job.
 */
int nl_sched_cancel(struct nl_sched *s, uint64_t id, int64_t now_us, struct nl_job_info *ended,
                    struct nl_err *err);

/*
 * Requeue a RUNNING or PREEMPTING job (`nordlys requeue`): it becomes
 * PREEMPTING (its GPUs expected back after its grace; no preemption is
 * counted), the caller kills its processes, and at its exit it goes back
 * to PENDING whatever spec.requeue says. Returns 0, -ENOENT (no live job),
 * -EALREADY (PENDING), -EBUSY (being cancelled); on error nothing changes.
 */
int nl_sched_requeue(struct nl_sched *s, uint64_t id, int64_t now_us, struct nl_err *err);

/*
 * Change a live job's spec (`nordlys update`): a PENDING job takes any
 * spec that passes nl_sched_validate with the same tenant, residency,
 * sensitive and preemptible (its place in the order is recomputed from
 * its submit time); a RUNNING job only a lower time limit. Returns 0,
 * -EINVAL (the field named), -EBUSY naming the field its state does not
 * allow, -ENOENT; on error nothing changes.
 */
int nl_sched_update(struct nl_sched *s, uint64_t id, const struct nl_job_spec *spec,
                    struct nl_err *err);

/* How a running job's processes ended, as reported by its agent or the simulator. */
enum nl_exit {
    NL_EXIT_NONE = 0,
    NL_EXIT_OK,        /* exit status 0 */
    NL_EXIT_FAILED,    /* non-zero status or signal */
    NL_EXIT_TIMEOUT,   /* killed at its time limit */
    NL_EXIT_NODE_FAIL, /* its node was lost */
    NL_EXIT_COUNT
};

/*
 * A running or preempting job's processes have ended. Its GPUs are freed.
 * A PREEMPTING job goes back to PENDING when it asked for requeue, as does
 * a NODE_FAIL one; otherwise the job ends in the state that matches how
 * and why it exited (a cancelled job ends CANCELLED whatever its exit).
 * Returns 0 and fills *info (if non-NULL) with the job's record in its new
 * state, or -ENOENT / -EINVAL (not running).
 */
int nl_sched_job_exit(struct nl_sched *s, uint64_t id, enum nl_exit how, int64_t now_us,
                      struct nl_job_info *info, struct nl_err *err);

/*
 * Run one scheduling pass at now_us. Returns the number of actions and
 * sets *actions to a borrowed array valid until the next call that
 * changes the scheduler. Jobs started by the pass are RUNNING on return.
 */
size_t nl_sched_pass(struct nl_sched *s, int64_t now_us, const struct nl_action **actions);

/*
 * Mark a node down (unusable) or up. Jobs already on a node that goes down
 * keep running in the scheduler's view until their exit (NODE_FAIL) is
 * reported; ids of the affected jobs are appended to *jobs (if non-NULL; a
 * borrowed array valid until the next call that changes the scheduler).
 */
size_t nl_sched_node_set_down(struct nl_sched *s, uint32_t node, bool down, const uint64_t **jobs);
bool nl_sched_node_down(const struct nl_sched *s, uint32_t node);

/*
 * Drain a node (no new job is placed on it; its running jobs run on until
 * they end) or undrain it. Independent of down: a drained node that goes
 * down and comes back up is still drained. -EINVAL for no such node.
 */
int nl_sched_node_set_drain(struct nl_sched *s, uint32_t node, bool drain);
bool nl_sched_node_drained(const struct nl_sched *s, uint32_t node);

/*
 * Operators' reservations of whole nodes for a time window [start, end).
 * From nl_sched_resv_add until its end, a reservation's nodes take only
 * (a) before start: jobs whose time limit ends by start (backfill), and
 * (b) from start: the jobs of its tenant, or nobody for maintenance
 * (NL_RESV_NO_TENANT). Jobs already running on its nodes keep running. A
 * pass drops reservations that have ended. Every node of one reservation
 * is in one site, and two reservations whose windows overlap share no
 * node.
 */
#define NL_RESV_NO_TENANT UINT32_MAX

struct nl_resv_spec {
    uint64_t id; /* the caller's, unique among live reservations */
    int64_t start_us, end_us;
    uint32_t tenant;       /* tenant index, or NL_RESV_NO_TENANT */
    const uint32_t *nodes; /* borrowed during the call */
    size_t nnodes;
};

/*
 * Returns 0; -EEXIST (id in use), -EINVAL (no node, a bad node, end not
 * after start, nodes in several sites, a bad tenant) or -EBUSY (a node is
 * in another reservation whose window overlaps), err naming it; on error
 * nothing changes.
 */
int nl_sched_resv_add(struct nl_sched *s, const struct nl_resv_spec *spec, struct nl_err *err);
/* Remove a reservation, reopening its nodes. -ENOENT if none. */
int nl_sched_resv_del(struct nl_sched *s, uint64_t id);
/* Live reservations (ended ones are dropped by the next pass). */
size_t nl_sched_resv_count(const struct nl_sched *s);
/*
 * Choose whole nodes for a reservation of `gpus` GPUs over [start, end) in
 * the sites of site_mask, without changing anything: in the first site
 * (by index) that has enough eligible nodes, ceil(gpus / GPUs per node)
 * nodes that are not down, not drained and in no reservation whose window
 * overlaps, those whose running jobs end first (by their time limits; an
 * idle node counts as free now) first, then by node index. Writes up to
 * cap node indexes to nodes and returns how many; 0 with err set when no
 * site has enough.
 */
size_t nl_sched_resv_pick(const struct nl_sched *s, uint32_t gpus, int64_t start_us,
                          int64_t end_us, uint32_t site_mask, uint32_t *nodes, size_t cap,
                          struct nl_err *err);

/*
 * Change the facility power budget (facility level, PUE applied); 0 = none.
 * The next pass responds: when running jobs draw more than the budget (or
 * a site's limit) allows, it caps GPUs of the weakest tiers first and
 * preempts only where capping cannot close the gap (NL_ACT_CAP and
 * NL_ACT_PREEMPT actions; the rule is in docs/power.md); when it rises,
 * caps are lifted before waiting jobs start.
 */
void nl_sched_set_power_budget(struct nl_sched *s, double power_w);
/* A level of the power hierarchy below the facility (docs/power.md). */
enum nl_power_level { NL_POWER_RACK, NL_POWER_ROW, NL_POWER_LOOP, NL_POWER_SITE };
/* "rack", "row", "loop", "site" and back; -EINVAL for another name. */
int nl_power_level_parse(const char *name, enum nl_power_level *lv);
const char *nl_power_level_name(enum nl_power_level lv);
/* Units of a level: racks, rows (power distribution), cooling loops, sites. */
uint32_t nl_sched_power_units(const struct nl_sched *s, enum nl_power_level lv);
/*
 * Set the limit of one unit: IT power for a rack, row or loop, facility
 * power (PUE applied) for a site; 0 = none, < 0 = the facility file's
 * again. The next pass answers it like a budget cut: the jobs under that
 * unit are capped, weakest tier first, and preempted only where capping
 * cannot close the gap. -EINVAL (err names idx) when idx is out of range.
 */
int nl_sched_set_power_limit(struct nl_sched *s, enum nl_power_level lv, uint32_t idx,
                             double limit_w, struct nl_err *err);
/* A unit's limit in force (0 = none) and its draw now (IT; facility power for a site). -ENOENT out of range. */
int nl_sched_power_unit(const struct nl_sched *s, enum nl_power_level lv, uint32_t idx,
                        double *limit_w, double *draw_w);

/*
 * The facility grew (nl_facility_grow): index its new racks, nodes and
 * GPUs, all free, and its sites' new limits; the budget in force rises by
 * what the facility's did (none stays none). Running jobs, reservations
 * and indexes are kept; pending jobs may use new sites their residency
 * allows. Call before any other call once the facility grew. 0, or -EINVAL
 * with err if the facility shrank.
 */
int nl_sched_grow(struct nl_sched *s, struct nl_err *err);
/* Set the PUE in force (from nl_facility_pue_at for the caller's time); the next pass responds. */
void nl_sched_set_pue(struct nl_sched *s, double pue);
/*
 * A running job's measured IT draw per GPU (mean over its GPUs). An
 * uncapped job's draw is counted from it (clamped to the cap range) from
 * now on, and it feeds its tenant's history, the default of jobs that ask
 * for no power_w. -ENOENT / -EINVAL (not running).
 */
int nl_sched_job_measured(struct nl_sched *s, uint64_t id, double w_per_gpu, int64_t now_us);

/* Advance accounting (energy, decayed usage) to now_us without other changes. */
void nl_sched_advance(struct nl_sched *s, int64_t now_us);

/* Live job lookup: 0 and *info filled, or -ENOENT. */
int nl_sched_job_info(const struct nl_sched *s, uint64_t id, struct nl_job_info *info);
/* Allocation of a running job: count, and *nodes set to a borrowed array valid until it ends. */
size_t nl_sched_job_alloc(const struct nl_sched *s, uint64_t id, const struct nl_alloc_node **nodes);
/*
 * The first n pending jobs in the order the next pass would consider them
 * (priority at the last pass's tenant offsets): their ids in ids[0..count).
 * O(n log tenants), whatever the queue's depth.
 */
size_t nl_sched_pending_top(struct nl_sched *s, size_t n, uint64_t *ids);
/* Ids of live jobs in an unspecified but deterministic order: count, borrowed array. */
size_t nl_sched_jobs(const struct nl_sched *s, const uint64_t **ids);

/* Job holding GPU g of node (bit index), or 0 when free. */
uint64_t nl_sched_gpu_owner(const struct nl_sched *s, uint32_t node, uint32_t gpu);
/* Free-GPU mask of a node (down nodes report 0). */
uint8_t nl_sched_node_free(const struct nl_sched *s, uint32_t node);

void nl_sched_stats(const struct nl_sched *s, struct nl_sched_stats *st);
void nl_sched_tenant_usage(const struct nl_sched *s, uint32_t tenant, struct nl_tenant_usage *u);
/* A site's draw now and energy since creation, both facility level (PUE applied). */
void nl_sched_site_power(const struct nl_sched *s, uint32_t site, double *power_w,
                         double *energy_wh);
/* GPUs allocated to one tier now. */
uint64_t nl_sched_tier_gpus(const struct nl_sched *s, uint32_t tier);

const struct nl_facility *nl_sched_facility(const struct nl_sched *s);
const struct nl_tenants *nl_sched_tenants(const struct nl_sched *s);
const struct nl_sched_config *nl_sched_config(const struct nl_sched *s);

/*
 * Check every invariant from scratch (O(GPUs + jobs)): free masks match
 * the allocations, no GPU held twice, gangs whole, residency and tenant
 * jurisdictions, sensitive jobs alone with their tenant on their nodes,
 * power and quota limits kept. Adds what it finds to *v; returns true when clean.
 * The incremental checks on every event count into nl_sched_violations().
 */
bool nl_sched_check(const struct nl_sched *s, struct nl_sched_violations *v);
/* Violations seen by the incremental checks done on every state change. */
void nl_sched_violations(const struct nl_sched *s, struct nl_sched_violations *v);

/* Bytes held by the scheduler's per-GPU, per-node, per-rack and per-job state. */
size_t nl_sched_memory_bytes(const struct nl_sched *s);
/*
 * Of those, the bytes that scale with the facility: free masks, topology
 * indexes, GPU owners and the allocation records of running jobs. The
 * rest scales with the number of live jobs (records, queues, id map).
 */
size_t nl_sched_gpu_state_bytes(const struct nl_sched *s);

#endif
