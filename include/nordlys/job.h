/* SPDX-License-Identifier: MIT */
/*
 * job.h - what a job asks for, and its state machine.
 *
 * The state machine is one table of allowed (state, event) -> state
 * transitions; nl_job_transition() is the only way a state changes, so an
 * impossible change (COMPLETED -> RUNNING) is refused in one place.
 *
 *   PENDING --start--> RUNNING --complete/fail/timeout/node_fail--> (end)
 *   PENDING --cancel--> CANCELLED
 *   RUNNING --preempt--> PREEMPTING --requeue--> PENDING
 *   RUNNING/PREEMPTING --cancel--> CANCELLED
 *   RUNNING --node_fail--> NODE_FAIL, or --requeue--> PENDING if it asked
 */
#ifndef NL_NORDLYS_JOB_H
#define NL_NORDLYS_JOB_H

#include <stdbool.h>
#include <stdint.h>

struct nl_err;

enum nl_job_state {
    NL_JOB_NONE = 0,
    NL_JOB_PENDING,
    NL_JOB_RUNNING,
    NL_JOB_PREEMPTING,
    NL_JOB_COMPLETED,
    NL_JOB_FAILED,
    NL_JOB_CANCELLED,
    NL_JOB_TIMEOUT,
    NL_JOB_NODE_FAIL,
    NL_JOB_STATE_COUNT
};

enum nl_job_event {
    NL_JEV_NONE = 0,
    NL_JEV_START,
    NL_JEV_PREEMPT,
    NL_JEV_REQUEUE,
    NL_JEV_COMPLETE,
    NL_JEV_FAIL,
    NL_JEV_CANCEL,
    NL_JEV_TIMEOUT,
    NL_JEV_NODE_FAIL,
    NL_JEV_COUNT
};

/*
 * Where a job may run: "any", "EEA" (a site in the EEA) or one
 * jurisdiction's two-letter code ("NO", "UK", ...). Stored as text so that
 * records stay self-describing.
 */
struct nl_residency {
    char code[4];
};

/* A job request: a plain value record. */
struct nl_job_spec {
    uint32_t gpus;
    uint32_t tenant;       /* index into the scheduler's tenants */
    int64_t time_limit_us; /* > 0 */
    struct nl_residency residency;
    bool sensitive;   /* whole nodes only, no co-tenant on them */
    bool preemptible; /* may be preempted even inside its tenant's quota */
    bool requeue;     /* back to PENDING after preemption or node failure */
    int64_t grace_us; /* SIGTERM-to-SIGKILL grace on preemption (checkpoint time) */
    /*
     * Shape. Both 0 (the default): placement splits `gpus` freely over
     * nodes. Otherwise the job gets exactly `nodes` nodes with
     * `gpus_per_node` GPUs on each (whole nodes when sensitive), in one
     * site and as close as the free GPUs allow, and gpus == nodes x
     * gpus_per_node (nl_job_shape_resolve).
     */
    uint32_t nodes;
    uint32_t gpus_per_node;
    /*
     * Expected IT draw per GPU in W (with its share of node and rack), within
     * the GPU's cap range; 0 = unknown: its tenant's measured history, else
     * the facility's gpu_busy_w (docs/power.md).
     */
    double power_w;
};

/* Limits on a job request; above them the request is refused (4xx), not truncated. */
#define NL_JOB_TIME_LIMIT_MAX_US (366LL * 24 * 3600 * 1000000) /* one year */
#define NL_JOB_GRACE_MAX_US      (3600LL * 1000000)            /* one hour to checkpoint */

const char *nl_job_state_name(enum nl_job_state s);  /* "PENDING"...; "NONE" if out of range */
int nl_job_state_parse(const char *name, enum nl_job_state *out); /* case-insensitive; -EINVAL */
bool nl_job_state_terminal(enum nl_job_state s);
const char *nl_job_event_name(enum nl_job_event ev);

/*
 * Apply ev to from. Returns 0 and sets *to, or -EINVAL (with err saying
 * "cannot EVENT a STATE job") when the transition is not in the table.
 */
int nl_job_transition(enum nl_job_state from, enum nl_job_event ev, enum nl_job_state *to,
                      struct nl_err *err);

/* Parse "any", "EEA" or a two-letter code (case-insensitive); -EINVAL naming "residency". */
int nl_residency_parse(const char *text, struct nl_residency *out, struct nl_err *err);
/* True when a site in jurisdiction (two letters, EEA flag) satisfies r. */
bool nl_residency_allows(const struct nl_residency *r, const char *jurisdiction, bool eea);

/* Most nodes one shaped job may ask for: more than the largest preset site has. */
#define NL_JOB_NODES_MAX 65536

/* True when spec asks for a shape (nodes x gpus_per_node), not a free count of GPUs. */
static inline bool nl_job_shaped(const struct nl_job_spec *spec)
{
    return spec->nodes > 0;
}

/*
 * Complete a request's shape from what it gave (gpus_given: the request
 * named `gpus`): gpus_per_node alone means one node; nodes alone takes
 * gpus / nodes GPUs per node (1 when no gpus were given); then gpus =
 * nodes x gpus_per_node. -EINVAL naming the field when they disagree
 * ("gpus: 6 is not nodes x gpus_per_node (2 x 4 = 8)") or exceed the
 * bounds; spec unchanged then. A spec without a shape is left as it is.
 */
int nl_job_shape_resolve(struct nl_job_spec *spec, bool gpus_given, struct nl_err *err);

/* Defaults: 1 GPU, tenant 0, 1 hour, residency "any", requeue on, 60 s grace. */
void nl_job_spec_init(struct nl_job_spec *spec);

#endif
