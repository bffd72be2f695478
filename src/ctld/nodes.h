/* SPDX-License-Identifier: MIT */
/*
 * nodes.h - the node registry: the agents, which node each owns, each
 * node's state, liveness, and each agent's outbox of launches and kills.
 *
 * Pure data and queries: it calls no other module of the controller. The
 * job life cycle (life.h) puts launches and kills in the outbox of a
 * node's agent; the agent protocol (agents.h) empties it into the answer
 * to that agent's next sync. A node is "unregistered" until an agent names
 * it, "up" while its agent syncs, and "down" when the agent has been silent
 * for node-timeout-ms (or, after a controller restart, until it syncs).
 *
 * Liveness is judged on the controller's clock (now.h): differences of
 * monotonic readings, never the wall clock.
 */
#ifndef NL_CTLD_NODES_H
#define NL_CTLD_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto_limits.h"

struct nodes;

enum node_state {
    NODE_UNREGISTERED = 0,
    NODE_UP,
    NODE_DOWN,
};

/*
 * An agent as the registry keeps it: a plain record, owned by the
 * registry (borrowed by callers until nodes_destroy; agents are never
 * removed, so an index stays valid). The agent protocol updates its
 * session fields (up ... addr) as registrations and syncs arrive.
 */
struct agent {
    char *id;
    char instance[NL_PROTO_INSTANCE_MAX + 1]; /* "" = a legacy agent: unique */
    char *output_root; /* where it puts relative output paths (absolute), or NULL if unknown */
    bool emulated;
    bool up;
    bool nodes_down;      /* some of its nodes may not be up: the next sync raises them */
    bool reloaded;        /* loaded from the store, not heard from since this controller began */
    bool need_full;       /* the next sync must be full (after reload, registration, a gap) */
    bool has_seq;         /* last_seq is set */
    bool acks_controls;   /* its last sync had "applied": controls are resent until acknowledged */
    uint64_t last_seq;    /* "seq" of the last sync applied */
    int64_t last_sync_us; /* clock of its last register or sync */
    int64_t last_full_us; /* clock of its last applied full sync */
    int64_t vouch_us;     /* clock of its last sync that vouches for its listed runs */
    char addr[48];        /* the address it last connected from */
    uint32_t *nodes;      /* the nodes it owns, ascending */
    size_t nnodes;
};

/* A launch waiting in an outbox: job's rank on node. */
struct nodes_launch {
    uint64_t job;
    uint32_t node;
};

/* A kill waiting in an outbox: every process of run of job (reason static). */
struct nodes_kill {
    uint64_t job;
    uint32_t run;
    uint32_t grace_s;
    const char *reason;
};

/*
 * A control waiting in an outbox (issue 12): a signal for every process of
 * run of job on the agent (signal > 0), or a new time limit for it
 * (time_limit_s > 0, counted from the run's start). It stays queued, and
 * goes in every answer, until the agent acknowledges seq (controls.h).
 */
struct nodes_control {
    uint64_t seq; /* unique and increasing; the agent applies each at most once */
    uint64_t job;
    uint32_t run;
    int signal;
    double time_limit_s;
};

/* A registry of nnodes nodes, all unregistered; timeout_us is node-timeout-ms in us. */
struct nodes *nodes_create(uint32_t nnodes, int64_t timeout_us);
void nodes_destroy(struct nodes *n);
/* The facility grew to nnodes nodes: the new ones are unregistered (expansion online). */
void nodes_grow(struct nodes *n, uint32_t nnodes);

/* ---- agents ---- */

/* The agent named id, or NULL. */
struct agent *nodes_agent_find(const struct nodes *n, const char *id);
/* The agent named id (added, with no node, when new). */
struct agent *nodes_agent_get_or_add(struct nodes *n, const char *id, bool emulated);
/* Index of the agent named id, or -1. */
int32_t nodes_agent_index(const struct nodes *n, const char *id);
size_t nodes_agent_count(const struct nodes *n);
struct agent *nodes_agent_at(const struct nodes *n, size_t idx);
/* Replace ag's output root with root (borrowed; NULL or "" for unknown). */
void nodes_agent_set_output_root(struct agent *ag, const char *root);
/* Give node to ag as the store recorded it (restart): down until the agent syncs. */
void nodes_agent_load_node(struct nodes *n, struct agent *ag, uint32_t node);
/*
 * Make the agent with index idx the owner of exactly nodes (count,
 * borrowed): they are taken from whoever had them, and the ones it had
 * and no longer names become unowned. *dropped gets a new array of those
 * (free()), *ndropped its length. States are left to the caller.
 */
void nodes_assign(struct nodes *n, int32_t idx, const uint32_t *nodes, size_t count,
                  uint32_t **dropped, size_t *ndropped);

/* Synced within node-timeout-ms (at now_us). */
bool nodes_agent_live(const struct nodes *n, const struct agent *ag, int64_t now_us);
/*
 * Whether ag's nodes are its own against another agent: while it is live,
 * and for node-timeout-ms after a controller restart until it syncs (it
 * may be alive and not have had the time to say so).
 */
bool nodes_agent_holds_nodes(const struct nodes *n, const struct agent *ag, int64_t now_us);
/*
 * Whether ag's name is its own against a registration of another
 * instance: while it is live, and like its nodes after a controller
 * restart, since the store keeps its instance. A reloaded legacy agent
 * (no instance) does not hold its name: a registration under it is most
 * likely the same agent restarted, and nothing could tell them apart.
 */
bool nodes_agent_holds_name(const struct nodes *n, const struct agent *ag, int64_t now_us);

/* ---- nodes ---- */

uint32_t nodes_count(const struct nodes *n);
enum node_state nodes_state(const struct nodes *n, uint32_t node);
void nodes_set_state(struct nodes *n, uint32_t node, enum node_state state);
/* Index of the agent owning node, or -1. */
int32_t nodes_owner_index(const struct nodes *n, uint32_t node);
/* Agent id owning node, or NULL; borrowed until the agent re-registers. */
const char *nodes_node_agent(const struct nodes *n, uint32_t node);
/* Last sync of node's agent (clock us), 0 if never. */
int64_t nodes_node_heartbeat(const struct nodes *n, uint32_t node);
/* Address the node's agent last connected from ("127.0.0.1"), for MASTER_ADDR; or NULL. */
const char *nodes_node_addr(const struct nodes *n, uint32_t node);
/*
 * The absolute directory under which node's agent puts relative output
 * paths, or NULL if it did not say; borrowed until the agent re-registers.
 */
const char *nodes_node_output_root(const struct nodes *n, uint32_t node);
/*
 * The clock at which node's agent last vouched for a run listed at
 * listed_us without listing it again (a delta sync after a full list that
 * had it), or 0. A launch handed out but never listed is not vouched for:
 * its answer may have been lost, and then only node-timeout-ms ends it.
 */
int64_t nodes_vouched(const struct nodes *n, uint32_t node, int64_t listed_us);

/* ---- outboxes ---- */

/* Queue a launch of job's rank on node for that node's agent. -ENOENT if no agent owns node. */
int nodes_queue_launch(struct nodes *n, uint64_t job, uint32_t node);
/* Queue a kill of run of job for node's agent (reason static); nothing if no agent owns node. */
void nodes_queue_kill(struct nodes *n, uint64_t job, uint32_t run, uint32_t node, uint32_t grace_s,
                      const char *reason);
/* Queue a kill for the agent with index idx. */
void nodes_push_kill(struct nodes *n, int32_t idx, uint64_t job, uint32_t run, uint32_t grace_s,
                     const char *reason);
/*
 * The outbox of the agent with index idx: its launches, and its kills
 * merged to one per run (the shortest grace wins). Borrowed until the next
 * change to that outbox; nodes_outbox_clear empties it once answered.
 */
void nodes_outbox(struct nodes *n, int32_t idx, const struct nodes_launch **launches,
                  size_t *nlaunches, const struct nodes_kill **kills, size_t *nkills);
void nodes_outbox_clear(struct nodes *n, int32_t idx);
/*
 * Queue a control for the agent with index idx: one per job, run and kind
 * (a signal number, or the limit), so c replaces a queued one of the same
 * kind; its seq, or 0 when none was replaced.
 */
uint64_t nodes_push_control(struct nodes *n, int32_t idx, const struct nodes_control *c);
/* Drop control seq from the outbox of the agent with index idx; false if it is not there. */
bool nodes_control_remove(struct nodes *n, int32_t idx, uint64_t seq);
/*
 * The controls of the agent with index idx; borrowed until the next change
 * to them. nodes_outbox_clear leaves them: they go when acknowledged
 * (controls.h).
 */
void nodes_controls(const struct nodes *n, int32_t idx, const struct nodes_control **c,
                    size_t *count);
/* Drop the launches queued for the agent with index idx (their runs are lost). */
void nodes_drop_launches(struct nodes *n, int32_t idx);

#endif
