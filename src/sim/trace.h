/* SPDX-License-Identifier: MIT */
/*
 * trace.h - the CSV layer of workload.c: turns a trace file held in memory
 * into plain rows, checking every field, and nothing more. Fitting the rows
 * to a facility (load, tenants, constraints) is workload.c's job.
 * Internal to nl_sim.
 */
#ifndef NL_SIM_TRACE_H
#define NL_SIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_err;

/* The only header a trace may have (see ../shared/traces/README.md). */
#define TRACE_HEADER "job_id,submit_s,duration_s,gpus,tenant,status"

/*
 * Longest job_id and tenant accepted. The shared traces use at most 36
 * bytes (msitp's UUIDs); 64 leaves room for other id schemes while a
 * longer value is more likely a broken line (a missing newline) than an id.
 */
#define TRACE_ID_MAX 64

/*
 * Bounds on submit_s and duration_s. A trace covers months; ten years of
 * arrivals leaves room and keeps submit_s x scale x 10^6 far from int64
 * overflow. A run longer than the longest time limit a job may ask for
 * (NL_JOB_TIME_LIMIT_MAX_US, 366 days) could never complete, so it is a
 * broken row, not a job.
 */
#define TRACE_SUBMIT_MAX_S   (10LL * 366 * 24 * 3600)
#define TRACE_DURATION_MAX_S (366LL * 24 * 3600)

/* One parsed row. */
struct trace_row {
    int64_t submit_s;
    int64_t duration_s;
    uint32_t gpus;
    /* True when tenant is "unknown": key then hashes job_id, so that each
     * such job is mapped on its own; otherwise key hashes the tenant. */
    bool per_job;
    uint64_t key;
};

/*
 * Parse text (len bytes, need not be NUL-terminated) into rows, stopping
 * after max_rows rows when max_rows > 0. On success returns 0 with *rows a
 * new array of *n >= 1 rows (free with free()). On a malformed line returns
 * -EINVAL with err "FNAME:LINE: FIELD: what is wrong" (LINE 1-based) and
 * leaves *rows and *n untouched; an empty trace, or one over
 * NL_TRACE_JOBS_MAX rows or NL_TRACE_BYTES_MAX bytes, is -EINVAL too.
 */
int trace_parse(const char *text, size_t len, const char *fname, size_t max_rows,
                struct trace_row **rows, size_t *n, struct nl_err *err);

#endif
