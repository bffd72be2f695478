/* SPDX-License-Identifier: MIT */
/*
 * sim.h - discrete-event simulation of a facility running a workload under
 * one scheduling policy, with the very scheduler core the controller runs.
 *
 * Virtual agents: a started job runs for its trace duration (or until its
 * time limit: TIMEOUT); a preempted job gets SIGTERM and is gone after its
 * grace period; a job that checkpoints (grace > 0) keeps the work it did,
 * one that does not starts over. Events at equal times are ordered by a
 * rising sequence number, so a run is byte-for-byte reproducible.
 * The scheduler runs one pass after a batch of events at one instant,
 * at most once per pass interval (as the controller runs passes from a
 * dirty flag and a timer): events closer together wait for the next pass.
 */
#ifndef NL_SIM_SIM_H
#define NL_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nordlys/sched.h"

struct nl_err;
struct nl_facility;
struct nl_tenants;
struct nl_workload;

#define NL_SIM_TIERS_MAX 16

struct nl_dist {
    double mean, p50, p95, p99;
};

struct nl_sim_tier {
    char name[32];
    uint64_t jobs, completed;
    struct nl_dist wait_s, jct_s;
    double slowdown;   /* mean bounded slowdown */
    double gpu_hours;
};

struct nl_sim_sample {
    double t_s;
    double util;    /* allocated / total GPUs */
    double power_w; /* facility draw */
    uint32_t running;
    uint32_t pending[NL_SIM_TIERS_MAX];
};

struct nl_sim_result {
    char policy[16];
    char facility[32];
    char workload[64];
    uint64_t gpus;
    uint64_t jobs, completed, rejected, timeouts;
    double utilization;      /* allocated GPU-time / capacity over the arrival window */
    double gpu_hours_alloc;  /* GPU-hours allocated over the whole run (rework included) */
    double gpu_hours_work;   /* GPU-hours of work the completed jobs asked for */
    struct nl_dist wait_s, jct_s;
    double slowdown;         /* mean bounded slowdown: max(1, jct / max(run, 10 s)) */
    size_t ntiers;
    struct nl_sim_tier tier[NL_SIM_TIERS_MAX];
    uint64_t preemptions;
    double fragmentation;    /* time-weighted mean over the arrival window */
    double power_peak_w, power_mean_w, power_budget_w, energy_mwh;
    /* With the power model (nl_sim_opts.power): */
    uint64_t power_caps;        /* cap changes sent to jobs */
    uint64_t power_preemptions; /* jobs preempted to close a power gap */
    uint64_t power_claims_preempt, power_claims_cap; /* jobs started by a power claim, by each answer */
    double capped_gpu_hours;    /* GPU-hours run under a cap */
    double work_lost_gpu_hours; /* GPU-hours of progress a cap cost (1 - speed) */
    double true_peak_w;         /* the modelled real facility draw (demand, caps, PUE) */
    double true_over_s;         /* seconds that real draw spent above the budget */
    double true_over_max_w;     /* the most it was above */
    struct nl_sched_violations violations;
    double makespan_s;
    double wall_s, events_per_s;
    uint64_t events, passes, decisions;
    size_t sched_bytes;
    struct nl_sim_sample *samples; /* time series, owned: nl_sim_result_release */
    size_t nsamples;
};

struct nl_sim_opts {
    int64_t sample_us;  /* time-series period; 0 = span / 500 */
    int64_t pass_interval_us; /* least virtual time between passes; 0 = 10 s, < 0 = every instant */
    bool full_checks;   /* also run the O(GPUs) nl_sched_check at every sample */
    /*
     * The power model (docs/power.md): each job really draws a share of
     * nameplate, measured with noise after a minute and every hour; a capped
     * job runs slower; PUE follows the facility's climate from start_unix_s;
     * the budget follows budget (its times from the workload's start).
     */
    bool power;
    int64_t start_unix_s; /* calendar time of the workload's start; 0 = 2026-01-01 */
    const int64_t *budget_t_us;
    const double *budget_w;
    size_t nbudget;
    uint64_t seed;
};

/* Run; fills res (release with nl_sim_result_release). 0, or -EINVAL with err. */
int nl_sim_run(const struct nl_facility *fac, const struct nl_tenants *tenants,
               const struct nl_sched_config *cfg, const struct nl_workload *w,
               const struct nl_sim_opts *opts, struct nl_sim_result *res, struct nl_err *err);
void nl_sim_result_release(struct nl_sim_result *res);

/* Total violations in res (must be 0). */
uint64_t nl_sim_violations_total(const struct nl_sim_result *res);

/* Report: JSON (jansson-owned text, free with free()) and a human table. */
char *nl_sim_report_json(const struct nl_sim_result *res, size_t n);
void nl_sim_report_table(const struct nl_sim_result *res, size_t n, void *file /* FILE * */);
/* Write DIR/timeseries-POLICY.csv for each result; 0 or -errno with err. */
int nl_sim_write_series(const struct nl_sim_result *res, size_t n, const char *dir,
                        struct nl_err *err);

/*
 * The spread over seeds (seeds.c). res is [seed][policy], row-major, every
 * policy of a seed run on the same workload; base is the index of the
 * baseline policy, or -1 for none. Median and worst seed of each figure;
 * against the baseline, per-seed ratios of mean JCT and sovereign p95 wait
 * and the utilization difference in points, each summarised the same way.
 */
struct nl_spread {
    double median, worst;
};

/* Median and worst of v[0..n) (worst: the largest if lower is better, else the smallest). */
struct nl_spread nl_spread_of(const double *v, size_t n, bool lower_better);
void nl_sim_report_seeds(const struct nl_sim_result *res, size_t nseed, size_t npol,
                         const uint64_t *seeds, int base, void *file /* FILE * */);
char *nl_sim_report_seeds_json(const struct nl_sim_result *res, size_t nseed, size_t npol,
                               const uint64_t *seeds, int base);

#endif
