/* SPDX-License-Identifier: MIT */
/*
 * ctld.h - the composition root: struct ctld holds the controller's
 * modules, built in dependency order by ctld_create (ctld.c). It lives on
 * the loop thread; nothing here is thread-safe and nothing needs to be.
 *
 * Only the root (ctld.c, loop.c, main.c) and the API layer (api*.c,
 * job_json.c, routes.c, auth.c) include this header: the modules below
 * (life, agents, agent_proto, nodes, durable, runs, now, fault, http,
 * metrics, config) take what they need as parameters at creation, and the
 * API layer reads this struct to reach them without calling ctld.c.
 * tests/lint/ctld-layers.sh holds the layers and checks them.
 */
#ifndef NL_CTLD_CTLD_H
#define NL_CTLD_CTLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctld/metrics.h"
#include "ctld/now.h"
#include "ctld/routes.h"

struct agents;
struct api_ops;
struct audit;
struct auth;
struct auth_identity;
struct ctld_config;
struct durable;
struct gate;
struct http;
struct life;
struct nl_err;
struct nl_facility;
struct nl_facility_spec;
struct nl_sched;
struct nl_store;
struct nl_tenants;
struct nodes;
struct outtail;
struct revoke;
struct route;
struct token_key;
struct ui;

/*
 * The request being answered (the loop answers one at a time): who asked,
 * by which route, and what the handler says it acted on, for the audit
 * record api_reply writes.
 */
/*
 * What all jobs' output tails together may hold in the controller's memory
 * (outtail.h): 256 tails of NL_PROTO_OUTPUT_TAIL_MAX; the jobs written to
 * longest ago are forgotten first.
 */
#define CTLD_OUTPUT_TOTAL_MAX (256u * 1024u * 1024u)

struct ctld_call {
    const struct auth_identity *who; /* NULL before auth_check */
    const struct route *route;       /* NULL for unrouted requests (never audited) */
    char target[128];                /* "job 12", "agent a1", ... ("" = none) */
    char tenant[64];                 /* the tenant acted for ("" = none) */
};

/* What the root and the API layer count (the life cycle counts its own: life_stats). */
struct ctld_stats {
    struct histogram commit_s;               /* one group COMMIT */
    struct histogram api_s[CTLD_ROUTES_MAX]; /* by route; the last slot for unrouted */
    uint64_t commits, requests;
};

struct ctld {
    const struct ctld_config *cfg; /* borrowed from main */
    struct nl_facility *fac;       /* the base grown by the store's rows (live_build) */
    struct nl_facility_spec *fac_base; /* the facility as its file or preset gives it */
    struct nl_tenants *tenants;
    struct nl_store *store;
    struct durable *dur; /* the durability rule */
    struct http *http;
    struct now clock; /* the controller's clock: see now.h */
    /* The live state, built from the store at start and after a failed or recovered COMMIT. */
    struct nl_sched *sched;
    struct nodes *nodes;   /* the node registry */
    struct life *life;     /* the job life cycle */
    struct gate *gate;     /* held jobs, dependencies, arrays: kept from the scheduler */
    struct agents *agents; /* the agent protocol */
    struct outtail *out;   /* jobs' output tails (survives a rebuild: memory only anyway) */
    struct api_ops *ops;   /* drains and reservations as people see them (api_ops.c) */
    struct token_key *key; /* STATE/jwt.key: signs and checks tokens */
    struct token_key *old_key; /* STATE/jwt.key.old: checks only, until retired; NULL = none */
    struct auth *auth;     /* the auth point's state (origins, rate buckets) */
    struct audit *audit;   /* STATE/audit.log */
    struct revoke *revoked; /* revoked tokens (revoke.h), reloaded from the store */
    struct ui *ui;         /* the dashboard's files (/ui/) */
    struct ctld_call call; /* the request being answered */
    char *jobs_dir;        /* STATE/jobs */
    char *port_file;
    int lock_fd;            /* STATE/ctld.lock, flock()ed for the daemon's life */
    bool port_file_pending; /* ctld.port could not be written yet (full disk) */
    int64_t next_pass_us;
    int64_t next_check_us;
    int64_t next_expire_us; /* next deletion of expired idempotency keys */
    struct ctld_stats stats;
    volatile bool stop;
};

/* Build every subsystem in dependency order; NULL with err set. */
struct ctld *ctld_create(const struct ctld_config *cfg, struct nl_err *err);
void ctld_destroy(struct ctld *c);
/*
 * COMMIT (if anything was written), run after-commit work, release held
 * answers; a failed COMMIT rebuilds the live state from the store.
 */
void ctld_commit(struct ctld *c);
/* Timed work: node timeouts, lost jobs, the scheduling pass when due, the store's probe. */
void ctld_timers(struct ctld *c);

/* ---- loop.c ---- */

/* Run until SIGINT/SIGTERM; 0, or a negative code with err set when the loop cannot start. */
int ctld_loop_run(struct ctld *c, struct nl_err *err);

#endif
