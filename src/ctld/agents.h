/* SPDX-License-Identifier: MIT */
/*
 * agents.h - the agent protocol's orchestration: a registration or a sync
 * (JSON in, parsed by agent_proto.h) is checked against the node registry
 * (nodes.h), applied to the registry and the job life cycle (life.h), and
 * answered with what the registry's outbox holds for the agent.
 */
#ifndef NL_CTLD_AGENTS_H
#define NL_CTLD_AGENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct agents;
struct durable;
struct fault;
struct life;
struct outtail;
struct nl_err;
struct nl_facility;
struct nl_store;
struct nodes;
struct now;

/* What the protocol works with; all borrowed for its life. */
struct agents_deps {
    const struct nl_facility *fac;
    struct nl_store *store;
    struct nodes *nodes;
    struct life *life;
    struct outtail *out; /* jobs' output tails: syncs carry output (issue 12) */
    struct durable *dur;
    struct now *clock;
    uint64_t sync_interval_ms; /* told to agents at registration */
    uint64_t node_timeout_ms;
    bool allow_root_jobs; /* launches say allow_root (nordlysd --allow-root-jobs) */
};

/*
 * Who speaks for an agent: its peer address (for logs) and what its
 * credential covers. Agent ids and names carry no authority: a
 * registration or sync is refused (-EACCES, 403) unless covers() accepts
 * every node it names or the agent owns. covers NULL: any node.
 */
struct agents_caller {
    const char *peer;
    bool (*covers)(void *arg, const char *node);
    void *arg;
};

/* A new protocol endpoint; destroy with agents_destroy. */
struct agents *agents_create(const struct agents_deps *deps);
void agents_destroy(struct agents *a);
/* Reload agents and their nodes from the store (restart); nodes stay down until a sync. */
int agents_load(struct agents *a, struct nl_err *err);
/* Agents whose last sync is older than node_timeout: their nodes go down. */
void agents_check_timeouts(struct agents *a);
/*
 * Apply one registration body (borrowed; docs/api.md) from who. 0 with
 * *answer set (a new reference); -EINVAL (bad body, 400), -EACCES (a node
 * who's credential does not cover, 403, f->code "forbidden") or -EBUSY (a
 * live agent holds the name or a node, 409: f->code is "agent_name_in_use"
 * or "node_owned") with *f filled and nothing changed.
 */
int agents_register(struct agents *a, const json_t *body, const struct agents_caller *who,
                    json_t **answer, struct fault *f);
/*
 * Apply one sync body (borrowed; the protocol of docs/api.md) from who.
 * 0 with *answer set (a new reference); -EINVAL (bad body), -EACCES (the
 * agent owns a node who's credential does not cover) or -ENOENT (unknown
 * agent) with *f filled and nothing changed.
 */
int agents_sync(struct agents *a, const json_t *body, const struct agents_caller *who,
                json_t **answer, struct fault *f);

#endif
