/* SPDX-License-Identifier: MIT */
/*
 * workload.h - the jobs a simulation replays: read from a trace CSV, or
 * generated synthetically, then fitted to a facility and its tenants.
 *
 * A trace row is job_id,submit_s,duration_s,gpus,tenant,status (see
 * ../shared/traces/README.md). Fitting does three things, all
 * deterministic for a given seed:
 *   - load: with opts.load > 0, submit times are scaled by one factor so
 *     that the offered GPU-hours are that fraction of the facility's
 *     capacity over the (scaled) arrival span; with load == 0 the trace
 *     replays at its own arrival times;
 *   - tenants: each trace tenant (or, for "unknown", each job) is mapped
 *     onto a tier in the stated proportions, then onto a tenant of that
 *     tier, by a stable hash;
 *   - constraints: residency and sensitivity are assigned per tier in
 *     stated proportions, only to jurisdictions the facility has.
 */
#ifndef NL_SIM_WORKLOAD_H
#define NL_SIM_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nordlys/job.h"

struct nl_err;
struct nl_facility;
struct nl_tenants;

/* Bounds on what a trace may hold; past them the trace is refused with an error. */
#define NL_WORKLOAD_COPIES_MAX 64u
#define NL_TRACE_JOBS_MAX  (50u * 1000u * 1000u)
#define NL_TRACE_BYTES_MAX (4ull << 30)

/* One job to replay. */
struct nl_wjob {
    uint64_t id;         /* 1..n, in submit order */
    int64_t submit_us;   /* from the start of the run */
    int64_t duration_us; /* how long it really runs */
    struct nl_job_spec spec;
};

struct nl_workload {
    struct nl_wjob *jobs; /* sorted by (submit_us, id) */
    size_t n;
    char name[64];        /* trace file base name, or "synthetic" */
    double offered_gpu_h; /* sum of gpus x duration */
    double time_scale;    /* factor applied to submit times (1 without --load) */
    uint64_t max_gpus;    /* largest job */
};

struct nl_workload_opts {
    double load;         /* 0: own arrival times; else offered fraction of capacity */
    uint64_t seed;       /* for mappings and synthetic draws */
    double limit_factor; /* time limit = duration x factor, rounded up to a minute; 0 -> 1 */
    /* Time limits as users give them instead (docs/workloads.md "Time limits"): a popular
     * round value at or above the run time times an over-estimate; limit_factor is ignored. */
    bool user_limits;
    /* Trace scaling: replay this many copies of a trace, each shifted in time by its own
     * offset (wrapping within the trace's span) and with its tenants dealt anew. 0 -> 1. */
    uint32_t copies;
    size_t max_jobs;     /* 0 = all */
    /* Share of jobs per tier, by tier index of the tenants set; all 0 -> 50/20/30 over the
     * first three tiers (sovereign, anchor, regional). */
    double tier_share[16];
};

/*
 * Parse a trace held in memory (text need not be NUL-terminated; fname is
 * used for messages and w->name, borrowed). fac, tenants and opts are
 * borrowed. On success fills out (release with nl_workload_release). On a
 * malformed line returns -EINVAL with err "FNAME:LINE: FIELD: what is
 * wrong", and out is untouched; bad opts are -EINVAL naming the field.
 * Submit times are shifted so that the first job arrives at 0.
 * Rows with gpus above the facility's largest site are kept (the
 * scheduler rejects them and the report counts them).
 */
int nl_workload_parse_trace(const char *text, size_t len, const char *fname,
                            const struct nl_facility *fac, const struct nl_tenants *tenants,
                            const struct nl_workload_opts *opts, struct nl_workload *out,
                            struct nl_err *err);

/*
 * Synthetic "AI gigafactory" workload; docs/workloads.md gives its classes
 * (small 1-8 GPUs, medium 16-512, LLM gangs of 1,024-16,384 for the anchor
 * tier) and their arithmetic. Arrivals are Poisson over days; jobs are
 * drawn until their GPU-hours are load x GPUs x span, so the load is met
 * exactly. By default the GPU-hours are 70% LLM, 25% medium, 5% small, but
 * the small and medium classes are each capped at 450,000 jobs (their cut
 * GPU-hours go to LLM), so that a year of gw10 is about 10^6 jobs. Jobs
 * larger than the facility's largest site are capped to it. opts->load is
 * ignored (sopts->load rules); opts->max_jobs keeps the first jobs.
 * Returns 0, or -EINVAL with err naming the field (days, load, llm_share,
 * or an opts field) and out untouched.
 */
struct nl_synth_opts {
    double days; /* arrival span, (0, 3660] */
    double load; /* offered fraction of capacity; 0 -> 0.9 */
    uint64_t seed;
    /* Share of GPU-hours in anchor LLM gang jobs; the rest is 5:1 medium:small, with no
     * cap (too many jobs for NL_TRACE_JOBS_MAX is -EINVAL). <0 -> the capped default. */
    double llm_share;
    /* The LLM-era mix instead (docs/workloads.md): pre-training gangs of days to weeks,
     * fine-tuning, evaluation batches, notebooks; llm_share must be < 0. */
    bool llm_era;
};

int nl_workload_synthetic(const struct nl_synth_opts *sopts, const struct nl_facility *fac,
                          const struct nl_tenants *tenants, const struct nl_workload_opts *opts,
                          struct nl_workload *out, struct nl_err *err);

/* Free what w holds and zero it; NULL-safe. */
void nl_workload_release(struct nl_workload *w);

#endif
