/* SPDX-License-Identifier: MIT */
/*
 * sched_int.h - the scheduler's private state, shared by sched.c (events
 * and the pass) and sched_check.c (invariants). Not part of the API.
 */
#ifndef NL_CORE_SCHED_INT_H
#define NL_CORE_SCHED_INT_H

#include "common/u64map.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "order.h"
#include "place.h"
#include "cap.h"
#include "power.h"
#include "predict.h"
#include "quota.h"
#include "resv.h"
#include "tree.h"

#define NIL_SLOT UINT32_MAX

struct nl_sched;
struct nl_job_spec;
/* Sites eligible for spec (residency and the tenant's jurisdictions) as a bit mask. */
uint32_t sched_site_mask(const struct nl_sched *s, const struct nl_job_spec *spec);

struct job {
    uint64_t id; /* 0: slot unused */
    struct nl_job_spec spec;
    enum nl_job_state state;
    enum nl_reason reason;
    int64_t submit_us, start_us, run_us, expect_end_us, est_start_us;
    double static_key, priority, energy_wh;
    uint32_t site_mask, site, held, nalloc, preemptions;
    uint32_t owed, owed_site; /* GPUs promised to this pending job by reclaim, and where */
    uint32_t t_prev, t_next; /* tenant's running list, in start order */
    int32_t qh;              /* handle in the pending order or the running tree */
    uint64_t pass_seen, enq_pass;
    uint64_t est_pass; /* pass that set est_start_us (older ones are not shown) */
    bool borrowed, cancel_req, reclaiming;
    bool power_victim;       /* preempted by capping: counted at idle draw until it exits */
    double want_w, cap_w;    /* per-GPU: draw uncapped; cap in force (0 = none) */
    int64_t draw_mw;         /* per-GPU draw counted in the power model now */
    int64_t draw_since_us;   /* energy accounted up to here */
    double it_energy_wh;
    bool requeue_req; /* nl_sched_requeue: back to PENDING at its exit, whatever spec.requeue */
    /* Running, planned to end before its limit (cfg.predict). In the padding after
     * requeue_req: a struct job of 256 bytes keeps the pass's jobs[slot] a shift. */
    bool predicted;
    struct nl_alloc_node *alloc;
};

/* What a shaped reservation waits for (unit_shadow); UNIT_SITE only estimates a counted one. */
enum unit_kind { UNIT_NODE, UNIT_RACK, UNIT_SITE };

struct resv {
    uint32_t site;  /* a job runs in one site: the reservation is there */
    int64_t t_us;   /* shadow time: when the reserved job can start */
    int64_t extra;  /* GPUs free at t_us beyond what it and earlier reservations need */
    uint64_t need;  /* GPUs it needs */
    uint32_t unit;  /* shaped: the node (or rack) it waits for, closed to jobs ending after t_us; else NIL_SLOT */
    bool rack;      /* unit is a rack */
};

struct failcache {
    uint32_t mask;
    bool sensitive;
    bool spread; /* the jobs it stands for may take a spread placement */
    uint8_t cls; /* 0 fits a node, 1 fits a rack, 2 larger */
    uint32_t min_fail;
    enum nl_reason why;
    /* A shape that failed (0: a count of GPUs): nodes >= and gpus_per_node >= fail too. */
    uint32_t nodes, gpn;
};

#define FAILCACHE_MAX 32

/* A change in a site's GPUs expected by estimate_top: a job ahead starts (< 0) or ends. */
struct est_ev {
    int64_t t_us;
    int64_t gpus;
};

/* Default of cfg.shaped_max. */
#define NL_SCHED_SHAPED_MAX 32

struct nl_sched {
    const struct nl_facility *fac;
    const struct nl_tenants *tenants;
    struct nl_sched_config cfg;
    struct nl_site_info site[NL_SITES_MAX];
    uint32_t nsites, all_sites, maxG, maxR;
    uint64_t gpus_total;
    /* Growth (sched_grow.c): nodes the per-node arrays cover, and allocated lengths. */
    uint32_t grow_nodes;
    size_t grow_node_cap, grow_gpu_cap;
    struct place *pl;
    struct power pw;
    struct quota q;
    struct order ord;
    struct tree running[NL_SITES_MAX]; /* per site, by expected end, weighted by GPUs held */
    struct nl_u64map ids;
    struct job *jobs;
    size_t jobs_cap, jobs_used;
    uint32_t *free_slots;
    size_t nfree_slots;
    uint32_t *gpu_owner; /* slot + 1 per GPU, 0 = free */
    uint32_t *t_head, *t_tail;
    uint32_t *tenant_by_claim; /* tenants, lowest claim (highest rank) first */
    double *offset;
    struct nl_action *act;
    size_t nact, act_cap;
    bool act_consumed;
    uint64_t *idbuf;
    size_t idbuf_cap;
    uint32_t *victims;
    size_t nvictims, victims_cap;
    struct resv *resv;
    size_t nresv, nshaped; /* reservations of this pass; nshaped of them shaped (a unit each) */
    uint32_t ndrain; /* reservations of this pass that hold racks */
    uint16_t *unit_free;    /* per node or rack, 0 or 1 + GPUs free at a shadow time (unit_shadow) */
    uint8_t *node_seen;     /* per node, 0 or 1 + GPUs free at a shadow time (whole-node walks) */
    uint32_t *touched;      /* units whose unit_free is set; nodes (high bit) whose node_seen is */
    size_t ntouched, touched_cap;
    uint8_t *unit_mark; /* per node or rack: UNIT_MARK_NODE/RACK when a shaped reservation holds it */
    /*
     * unit_shadow's last walk (node or rack units), kept with its unit_free
     * and node_seen state so that the next walk for the same site, kind,
     * size and `whole` resumes where it stopped instead of walking the same
     * running jobs again; any change to placement or to the running trees
     * bumps walk_gen and voids it. Successive blocked jobs of one size in a
     * full facility each walked to the next free-ing unit from the start: on
     * philly that was two thirds of the simulator's time.
     */
    struct walk_memo {
        bool valid, found;
        uint64_t gen;
        uint32_t site, want, kind;
        bool whole;
        int32_t h;  /* running-tree entry where it stopped (found) */
        uint32_t i; /* allocation entry of that job */
        uint32_t unit;
        int64_t t_us;
        uint64_t released;
    } memo;
    uint64_t walk_gen;
    struct failcache fc[FAILCACHE_MAX];
    size_t nfc;
    uint64_t reclaim_inflight[NL_SITES_MAX]; /* GPUs of preempted jobs not yet returned */
    uint64_t owed[NL_SITES_MAX];             /* GPUs promised to pending jobs by reclaim */
    uint64_t reclaim_fail[NL_SITES_MAX];     /* smallest need reclaim could not meet this pass */
    uint64_t pass_id;
    enum nl_reason cut_reason;
    int64_t now_us;
    bool clock_started;
    uint64_t preemptions, decisions, passes;
    uint64_t npending, nrunning, npreempting;
    struct nl_sched_violations viol;
    struct resvs rs; /* drain and operators' reservations (resv.c) */
    struct est_ev *est_ev;       /* estimate_top: est_per_site changes per site */
    size_t est_per_site, est_n[NL_SITES_MAX];
    /* Power response (sched_power.c). */
    struct cap_job *capbuf;
    uint32_t *capslot;
    size_t capbuf_cap;
    struct cap_part *capparts; /* racks, rows and loops that can bind: the jobs' GPUs under each */
    size_t capparts_cap;
    double *unit_buf;          /* 2 x units: each one's limit, then its draw but the jobs' */
    uint64_t ncapped, power_preemptions;
    bool power_dry;                 /* this pass: no power for one more GPU; only claims look on */
    uint32_t claims, dry_scanned;   /* this pass: claims tried, jobs looked at while dry */
    uint64_t claims_preempt, claims_cap; /* jobs started by a claim, by preemption or by capping */
    double *t_power_w; /* per tenant: measured per-GPU draw, a moving average; 0 = none yet */
    struct predict pred;  /* run times learned per tenant (sched_predict.c) */
    struct las_cand *las_buf; /* least-attained-service victims being chosen (sched_las.c) */
    size_t las_cap;
    uint64_t las_fail[NL_SITES_MAX]; /* smallest need a LAS preemption could not meet ... */
    uint64_t las_fail_pass;          /* ... in this pass */
};

/* How long j is planned to hold its GPUs: its limit, or with cfg.predict its tenant's history's. */
static inline int64_t sched_plan_len(const struct nl_sched *s, const struct job *j)
{
    if (s->pred.t == NULL) /* off: no call in the pass's hot path */
        return j->spec.time_limit_us;
    return predict_len(&s->pred, j->spec.tenant, j->spec.time_limit_us);
}

/* GPU index of bit b of node n. */
uint64_t sched_gpu_index(const struct nl_sched *s, uint32_t node, uint32_t bit);

/*
 * Isolation of sensitive jobs: GPUs owned by another tenant's job on the
 * nodes of a[0..n) where j or that job is sensitive (j's own GPUs are
 * skipped). 0 when a sensitive job shares its nodes with no other tenant.
 */
uint64_t sched_isolation_clashes(const struct nl_sched *s, const struct job *j,
                                 const struct nl_alloc_node *a, size_t n);

/* Queue an action for the pass's list (sched.c's act_push). */
void sched_act(struct nl_sched *s, enum nl_action_kind kind, uint64_t job);
/* Preempt v now (sched.c's preemption, for the power response). */
void sched_preempt(struct nl_sched *s, struct job *v, int64_t now_us);

/* The victim list, the placement test without the victims, and reclaim's promise (sched.c). */
void sched_victims_push(struct nl_sched *s, uint32_t slot);
bool sched_placeable_without(struct nl_sched *s, const struct job *j, uint32_t site,
                             int64_t now_us);
void sched_promise(struct nl_sched *s, struct job *j, uint32_t site, uint64_t gpus);

/*
 * sched_predict.c (cfg.predict): how long j is planned to hold its GPUs
 * (its limit when off); a finished run's record; running jobs past their
 * prediction planned at their limit again, at the start of a pass.
 */
void sched_predict_exit(struct nl_sched *s, const struct job *j, enum nl_exit how);
void sched_predict_overdue(struct nl_sched *s, int64_t now_us);

/*
 * sched_las.c (cfg.las_gpuh): a pending job's priority penalty for the
 * service it attained, and a blocked job's preemption of jobs that attained
 * more (true when it now waits for their GPUs).
 */
double sched_las_penalty(const struct nl_sched *s, const struct job *j);
bool sched_las_preempt(struct nl_sched *s, struct job *j, int64_t now_us);
/* After a pass cut short by a full facility: the first pending jobs it did not reach try it. */
void sched_las_sweep(struct nl_sched *s, int64_t now_us);

/* sched_power.c: a job's draw on start and stop, and the pass's power response. */
double sched_power_want(const struct nl_sched *s, const struct job *j);
void sched_power_account(struct nl_sched *s, struct job *j, int64_t now_us);
void sched_power_respond(struct nl_sched *s, int64_t now_us);
/* No power for one more GPU: may the pass look further for jobs that can claim power? */
bool sched_power_dry(struct nl_sched *s);
/* May j (holding held GPUs) take power from weaker tiers: sovereign, or inside its guaranteed quota? */
bool sched_power_may_claim(const struct nl_sched *s, const struct job *j, uint64_t held);
/*
 * j, placed on a[0..n) in site, is refused only by the facility's or the
 * site's power: free it from weaker tiers' running jobs by the cheaper of
 * preemption and deeper caps. True when j now fits.
 */
bool sched_power_claim(struct nl_sched *s, struct job *j, uint32_t site,
                       const struct nl_alloc_node *a, size_t n, uint64_t held, int64_t now_us);
/* Facility energy of a tenant's running jobs not yet added to its total. */
double sched_power_unaccounted_wh(const struct nl_sched *s, uint32_t tenant);
/* A tenant's running jobs' draw now (PUE applied). */
double sched_power_tenant_w(const struct nl_sched *s, uint32_t tenant);

#endif
