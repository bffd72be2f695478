/* SPDX-License-Identifier: MIT */
/*
 * runs.h - what the controller tracks per running job: private to the job
 * life cycle (life.c), which alone may include it (and its unit test).
 * Everything else knows a job's runs only through life.h.
 */
#ifndef NL_CTLD_RUNS_H
#define NL_CTLD_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nordlys/sched.h"

struct nl_store_job;
struct runs;

struct run {
    uint64_t job;
    uint32_t number; /* the job's run number (1 = first start), stored with the job */
    uint32_t nnodes;
    struct nl_alloc_node *alloc; /* rank order: rank r runs on alloc[r] */
    uint64_t *by_node;           /* node << 32 | rank, sorted, for run_rank on big gangs, or NULL */
    uint8_t *exited;             /* per rank: its exit has been reported */
    uint32_t nexited;
    enum nl_exit how; /* the worst exit reported so far */
    bool has_exit;
    int exit_code, exit_signal;
    double cpu_s;
    int64_t max_rss_kb;
    int64_t start_us;
    double energy_start_wh; /* the scheduler's energy figure for the job at start */
    double it_energy_start_wh; /* the same without PUE */
    int64_t last_seen_us;   /* launch handed out or listed by an agent */
    int64_t last_listed_us; /* an agent last listed it (a launch handed out does not count) */
    bool kill_requested;
    bool requeue_asked; /* `nordlys requeue`: its end goes back to PENDING, not a preemption */
    int64_t kill_sent_us;
    uint32_t kill_grace_s;
    const char *kill_reason;
    uint8_t *unconfirmed;      /* reloaded: per rank, its node's agent has not mentioned it since */
    uint32_t nunconfirmed;     /* ranks set in unconfirmed (then it is freed) */
    char *nodelist;            /* NORDLYS_NODELIST, built once per start */
    char *exit_reason;         /* why the deciding exit happened (agent's text), or NULL */
    struct nl_store_job *base; /* the job's record, read once per start while launches are built */
    uint32_t launches_left;    /* launches still to build from base */
    bool capped;               /* its history says it is under a power cap (issue 14) */
};

struct runs *runs_create(void);
void runs_destroy(struct runs *r);
/* Returns a new run for job on alloc (n entries, copied); borrowed until runs_remove. */
struct run *runs_add(struct runs *r, uint64_t job, const struct nl_alloc_node *alloc, size_t n);
struct run *runs_get(const struct runs *r, uint64_t job);
void runs_remove(struct runs *r, uint64_t job);
size_t runs_count(const struct runs *r);
/* Iterate: start with *cursor = 0; NULL at the end. Do not add or remove while iterating. */
struct run *runs_next(const struct runs *r, size_t *cursor);
/* Rank of node in run, or -1. */
int run_rank(const struct run *run, uint32_t node);

#endif
