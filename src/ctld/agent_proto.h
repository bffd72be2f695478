/* SPDX-License-Identifier: MIT */
/*
 * agent_proto.h - the JSON of the agent protocol (docs/api.md), and
 * nothing else: a register or sync body becomes C records, checked
 * completely (the first fault names its field, and nothing is kept), and
 * an answer is written from C records. What the records mean is for the
 * agent protocol's orchestration (agents.h), the node registry and the job
 * life cycle; this layer keeps no state. Its limits are the protocol's
 * table (common/proto_limits.h), shared with the agent.
 */
#ifndef NL_CTLD_AGENT_PROTO_H
#define NL_CTLD_AGENT_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto_limits.h"

struct agent_proto_answer;
struct fault;
struct life_exit;
struct life_launch;
struct nl_facility;
struct nodes_kill;

/* POST /v1/agent/register, as C. Strings borrow the body. */
struct agent_proto_register {
    const char *agent;
    char instance[NL_PROTO_INSTANCE_MAX + 1]; /* lower case; "" when not sent */
    const char *output_root;                  /* absolute, or NULL when not sent */
    bool emulated;
    uint32_t *nodes; /* owned: global node indexes, each once */
    size_t nnodes;
};

/* Parse body (borrowed) against fac's node names: 0, or -EINVAL with *f filled. */
int agent_proto_parse_register(const json_t *body, const struct nl_facility *fac,
                               struct agent_proto_register *out, struct fault *f);
void agent_proto_register_release(struct agent_proto_register *r);
/* The register answer (a new reference). */
json_t *agent_proto_register_answer(const char *agent_id, uint64_t sync_interval_ms,
                                    uint64_t node_timeout_ms);

/* One running[] entry: run of job is alive on node. */
struct agent_proto_seen {
    uint64_t job;
    uint32_t run;
    uint32_t node;
};

/* One power[] entry: a node's GPUs as the agent read them (docs/power.md). */
struct agent_proto_power {
    uint32_t node;
    uint32_t ngpus;
    double w[8];     /* draw per GPU */
    double j[8];     /* energy counter per GPU (0 when not sent) */
    double limit[8]; /* power limit in force (0 when not sent) */
    double temp[8];  /* GPU temperature in degrees C (0 when not sent: an agent before issue 14) */
};

/* One output[] entry: bytes [offset, offset + len) of run's stream (0 stdout, 1 stderr). */
struct agent_proto_output {
    uint64_t job;
    uint32_t run;
    uint32_t node;
    int stream;
    uint64_t offset;
    const uint8_t *data; /* decoded, into the sync's outbuf */
    size_t len;
};

/* POST /v1/agent/sync, as C. Strings borrow the body. */
struct agent_proto_sync {
    const char *agent_id;
    bool full; /* "running" is the complete list (absent "full" = true) */
    bool has_seq;
    uint64_t seq;
    struct agent_proto_seen *running; /* owned */
    size_t nrunning;
    struct life_exit *exits; /* owned; reasons borrow the body */
    size_t nexits;
    struct agent_proto_power *power; /* owned; absent from an agent before issue 11 */
    size_t npower;
    struct agent_proto_output *output; /* owned */
    size_t noutput;
    uint8_t *outbuf; /* owned: the decoded bytes of output[] */
    /*
     * "applied": seqs of controls the agent has applied (or had no run
     * for), controls.h. has_applied: the key was there at all (an agent
     * from before it acknowledges nothing, and gets each control once).
     */
    bool has_applied;
    uint64_t *applied; /* owned */
    size_t napplied;
};

/* Parse body (borrowed) against fac's node names: 0, or -EINVAL with *f filled. */
int agent_proto_parse_sync(const json_t *body, const struct nl_facility *fac,
                           struct agent_proto_sync *out, struct fault *f);
void agent_proto_sync_release(struct agent_proto_sync *s);

/* A sync answer being written; fac borrowed for node names. */
struct agent_proto_answer *agent_proto_answer_create(const struct nl_facility *fac,
                                                     bool allow_root);
/* Add a launch (borrowed for the call). */
void agent_proto_answer_launch(struct agent_proto_answer *a, const struct life_launch *l);
/* Add a kill. A kill names its run, so it never hits a newer run of the same job. */
void agent_proto_answer_kill(struct agent_proto_answer *a, const struct nodes_kill *k);
/* A power cap the agent keeps on the GPUs mask of node for job (the whole desired state is sent). */
void agent_proto_answer_cap(struct agent_proto_answer *a, uint32_t node, uint64_t job, uint8_t mask,
                            double cap_w);
/* Add a control (a signal, or a new time limit) for a run. */
struct nodes_control;
void agent_proto_answer_control(struct agent_proto_answer *a, const struct nodes_control *c);
/* Hold an exit of the sync: the agent reports it again. */
void agent_proto_answer_hold(struct agent_proto_answer *a, const struct life_exit *x);
/* The answer as JSON (a new reference), "full_next" when asked; a is destroyed. */
json_t *agent_proto_answer_finish(struct agent_proto_answer *a, bool full_next);

#endif
