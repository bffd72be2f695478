/* SPDX-License-Identifier: MIT */
/*
 * cap.h - the capping rule: when running jobs draw more than a limit allows
 * (a budget cut, a hotter month), which GPUs are capped, how far, and which
 * jobs are preempted because capping cannot close the gap (internal to
 * libnordlys; pure, no scheduler state).
 *
 * The rule (docs/power.md, "The capping rule"), level by level, the
 * smallest first (every rack, row and cooling loop over its limit, then
 * each site, then the facility), for every unit over its limit by E watts,
 * among the jobs with GPUs under it:
 *   1. Headroom: a job can give gpus x (its draw - min_w), min_w being the
 *      lowest power cap of a GPU (60 % of nameplate by default).
 *   2. Preempt only if the level's total headroom is less than E: jobs of
 *      the weakest tier first (highest rank), within a tier the largest key
 *      first (the caller passes start time: the newest run loses least),
 *      until the headroom left covers what is left of E. The strongest tier
 *      (sovereign, rank 0) is reached last.
 *   3. Cap tier by tier, weakest first: a tier whose whole headroom is
 *      needed goes to min_w; the tier where E runs out gives the same
 *      fraction of its headroom from every job (x = E_left / H_tier), so no
 *      job of a tier is singled out. Stronger tiers are untouched.
 * Because every level only lowers draws, a level fixed earlier stays fixed.
 * Caps are computed from each job's uncapped draw every time, so a budget
 * that rises lifts them by the same rule.
 */
#ifndef NL_CORE_CAP_H
#define NL_CORE_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nordlys/facility.h"

/* GPUs of a job under one rack, row or loop (a unit of cap_limits). */
struct cap_part {
    uint32_t unit, gpus;
};

struct cap_job {
    uint32_t site;
    uint32_t part0, nparts; /* its parts: cap_limits.parts[part0 .. part0 + nparts) */
    uint32_t rank;  /* tier rank: 0 is the strongest claim, capped and preempted last */
    uint32_t gpus;
    double want_w;  /* per-GPU draw uncapped (expected or measured) */
    double key;     /* inside a tier, the largest key is preempted first */
    double set_w;   /* out: per-GPU draw after the response (want_w when not capped) */
    bool preempt;   /* out: preempted (its GPUs fall to idle draw) */
};

struct cap_limits {
    double idle_w;  /* draw of a GPU no job runs on */
    double min_w;   /* lowest per-GPU cap */
    double slack_w; /* aim this far below each limit, so rounding cannot cross it */
    uint32_t nranks;
    double facility_w;  /* IT limit (budget / PUE); 0 = none */
    double base_w;      /* IT draw of everything but these jobs */
    uint32_t nsites;
    double site_w[NL_SITES_MAX];      /* IT limits; 0 = none */
    double site_base_w[NL_SITES_MAX]; /* IT draw of each site but these jobs */
    /*
     * Racks, rows and loops (optional, nunits = 0: none): each unit's IT
     * limit (0 = none) and IT draw but these jobs' share above idle, and
     * the jobs' parts. Units are solved in index order (racks, rows, loops).
     */
    uint32_t nunits;
    const double *unit_w, *unit_base_w;
    const struct cap_part *parts;
};

struct cap_result {
    size_t capped, preempted;
    double it_w;                    /* facility IT draw after the response */
    double site_it_w[NL_SITES_MAX];
    size_t units_over; /* racks, rows and loops that were over their limits */
    bool ok; /* false: even preempting every job leaves a level over (the base alone is) */
};

/*
 * Apply the rule to jobs[0..n) (their set_w and preempt are overwritten).
 * O(n + parts + nunits + nsites x nranks), plus a sort of the candidates of
 * a unit that needs preemption.
 */
void cap_solve(struct cap_job *jobs, size_t n, const struct cap_limits *lim,
               struct cap_result *res);

/*
 * Relative speed of a compute-bound job whose GPUs draw cap_w of the want_w
 * they would draw uncapped: ((c - s) / (1 - s))^(1/3), c = cap_w / want_w,
 * s = 0.4 the share of the draw that does not scale with the clock (the
 * simulator's curve, docs/power.md). 1 when not capped.
 */
double cap_speed(double cap_w, double want_w);

#endif
