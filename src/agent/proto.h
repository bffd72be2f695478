/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the agent side of the agent protocol in docs/api.md: encoding
 * of register and sync requests, decoding of the controller's answers.
 *
 * Pure: no I/O, no clock. The requests are written straight into a byte
 * buffer rather than built as jansson trees, because one emulating agent
 * sends a sync listing 25,000 running jobs every second and the tree would
 * cost 25,000 allocations per sync for nothing. Answers are decoded with
 * jansson and checked field by field; every count that comes from the
 * controller is bounded before anything is allocated for it.
 *
 * Decoders are all-or-nothing: on failure the out-parameter is left empty
 * and err names the field ("launch[3].command[0]: not a string").
 */
#ifndef NL_AGENT_PROTO_H
#define NL_AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto_limits.h"

struct nl_err;

/*
 * Every bound on what is decoded or encoded here is the protocol's own
 * (common/proto_limits.h, NL_PROTO_*), the table the controller checks
 * against too, so the two sides cannot disagree on a limit.
 */

/* A growable byte buffer; zero-initialise; release with free(b->data). */
struct proto_buf {
    char *data;
    size_t len, cap;
};

/* A job still running on a node (borrowed strings). */
struct proto_running {
    int64_t job;
    uint32_t run;
    const char *node;
};

/* A job exit to report (borrowed strings; reason may be NULL). */
struct proto_exit {
    int64_t job;
    uint32_t run;
    const char *node;
    int exit_code; /* exit status, or -1 when killed by a signal */
    int signal;    /* terminating signal, 0 when it exited */
    bool timeout;  /* killed for exceeding time_limit_s */
    double cpu_s;  /* user + system CPU of the job's processes */
    long max_rss_kb;
    double start_time, end_time; /* Unix seconds */
    const char *reason;          /* why a launch failed; NULL if none */
};

/* One launch entry of a sync answer; every string owned by the entry. */
struct proto_launch {
    int64_t job;
    uint32_t run;
    char *node;
    char **argv; /* NULL-terminated, argc >= 1 */
    size_t argc;
    char **env; /* "K=V", NULL-terminated */
    size_t nenv;
    char *cwd;                       /* NULL when absent */
    char *stdout_path, *stderr_path; /* NULL when absent */
    double time_limit_s;             /* 0 = none; fractions allowed (docs/api.md) */
    double grace_s;                  /* for the time limit; -1 when absent */
    int64_t memory_max_bytes;        /* cgroup memory.max; 0 = no limit */
    int64_t pids_max;                /* cgroup pids.max; 0 = no limit */
    int64_t output_limit_bytes;      /* per output file; 0 = the agent's --output-limit-mb */
    char *user;      /* the Unix account to run as; NULL from a controller before issue 10 */
    bool allow_root; /* the controller allows jobs as root (its --allow-root-jobs) */
    /*
     * The job's tenant (a tenant name: 1-31 of a-z 0-9 _ -) and whether it
     * is sensitive, for the scratch wipes between tenants (scratch.h).
     * tenant is NULL from a controller that sends none: unknown.
     */
    char *tenant;
    bool sensitive;
    /*
     * Its tasks (issue 12): ntasks >= 1 processes; task i's environment is
     * env with task_env[i] (ntask_env[i] "K=V" entries) over it. A launch
     * without "tasks" has one task and no additions. task_base numbers
     * task 0 in the job (%t, labels); label asks that an output file the
     * tasks share get each line prefixed with its task's number. input is
     * task 0's stdin (NULL: /dev/null).
     */
    size_t ntasks;
    char ***task_env;
    size_t *ntask_env;
    int64_t task_base;
    bool label;
    char *input_path;
    uint8_t gpus;   /* the node's GPUs of this rank (bit i = GPU i); 0 when not sent */
    double power_w; /* expected draw per GPU, for modelled GPUs; 0 when not sent */
    /* --signal SIG@SECONDS: warn_signal (1..64, 0 = none) warn_before_s before the time limit. */
    int warn_signal;
    int64_t warn_before_s;
    /* Ship this run's output to the controller in syncs (every rank of a job; issue 12). */
    bool ship_output;
};

/* A power cap of a sync answer: job's GPUs of node at cap_w (docs/power.md). */
struct proto_cap {
    int64_t job;
    char *node; /* owned */
    uint8_t gpus;
    double cap_w;
};

/* A node's GPU readings for a sync request (borrowed node name). */
struct proto_power {
    const char *node;
    uint32_t ngpus;
    double w[8], j[8], limit[8];
    double temp[8]; /* GPU temperature in degrees C (issue 14); 0 when unknown */
    bool has_temp;  /* send temp: the controller reads it (an older one refuses the field) */
};

struct proto_kill {
    int64_t job;
    uint32_t run; /* the run to kill; 0 (only from the agent itself) means every run */
    double grace_s;
    char *reason; /* NULL when absent */
};

/* An exit the controller holds: the agent reports it again (not acknowledged). */
struct proto_hold {
    int64_t job;
    uint32_t run;
    char *node; /* owned */
};

/* A control of a sync answer: a signal (signal > 0) or a new time limit for a run. */
struct proto_control {
    int64_t job;
    uint32_t run;
    int signal;          /* 1..NL_PROTO_SIGNAL_MAX, or 0 for a limit */
    double time_limit_s; /* from the run's start; > 0 for a limit */
};

/* Output bytes [offset, offset + len) of a run's stream, for a sync (borrowed). */
struct proto_output {
    int64_t job;
    uint32_t run;
    const char *node;
    int stream; /* 0 stdout, 1 stderr */
    uint64_t offset;
    const void *data;
    size_t len;
};

struct proto_work {
    struct proto_launch *launch;
    size_t nlaunch;
    struct proto_kill *kill;
    size_t nkill;
    struct proto_hold *hold;
    size_t nhold;
    struct proto_cap *caps; /* the whole desired state of caps (has_caps: the answer had it) */
    size_t ncaps;
    bool has_caps;
    bool power_temp; /* the controller reads power[].t (issue 14): send GPU temperatures */
    struct proto_control *signal, *limit; /* "signal" and "limit" (issue 12) */
    size_t nsignal, nlimit;
    bool full_next;  /* the controller asks for a full running list next */
    bool knows_full; /* the answer had full_next at all: the controller understands deltas */
};

struct proto_reg_answer {
    char *agent_id; /* owned */
    uint32_t sync_interval_ms;
    uint32_t node_timeout_ms;
};

/*
 * Append the register request to b. names are borrowed; instance is the
 * agent's persistent instance key (statedir.h), omitted when NULL;
 * output_root is the agent's absolute output root (the controller shows
 * whole output paths with it), omitted when NULL.
 */
void proto_encode_register(struct proto_buf *b, const char *agent, const char *instance,
                           char *const *nodes, size_t n, bool emulated, const char *output_root);

/*
 * Append the sync request to b: seq numbers the syncs of this agent
 * process; full says whether r is every live run or only the runs started
 * since the last answered sync (docs/api.md). The body stays within
 * max_bytes (0: no bound): running entries first, then exits, each list
 * cut where the next entry would not fit. *nr_sent and *ne_sent (either
 * may be NULL) say how many of r and e the body lists.
 */
void proto_encode_sync(struct proto_buf *b, const char *agent_id, uint64_t seq, bool full,
                       const struct proto_running *r, size_t nr, const struct proto_exit *e,
                       size_t ne, size_t max_bytes, size_t *nr_sent, size_t *ne_sent);

/*
 * Add the output list to the sync body in b (just written by
 * proto_encode_sync): n entries, their data as base64. Nothing when n is 0.
 */
void proto_append_output(struct proto_buf *b, const struct proto_output *o, size_t n);

/* Decode a register answer. Returns 0 or -EINVAL/-EPROTO with err set. */
int proto_decode_register(const char *body, size_t len, struct proto_reg_answer *out,
                          struct nl_err *err);
void proto_reg_answer_release(struct proto_reg_answer *a);

/* Decode a sync answer (missing "launch"/"kill"/"hold" mean none). Returns 0 or -EINVAL. */
int proto_decode_sync(const char *body, size_t len, struct proto_work *out, struct nl_err *err);
/*
 * Add "power":[...] to a sync request encoded by proto_encode_sync (b ends
 * with its closing brace): p[0..n) as long as the body stays within
 * max_bytes; returns how many went.
 */
size_t proto_encode_power(struct proto_buf *b, const struct proto_power *p, size_t n,
                          size_t max_bytes);
void proto_work_release(struct proto_work *w);

/*
 * Decode GET /v1/nodes: the "name" of each node, at most limit of them, in
 * order. *names is a new array of new strings (free each, then the array).
 */
int proto_decode_node_names(const char *body, size_t len, size_t limit, char ***names, size_t *n,
                            struct nl_err *err);

/*
 * The message of an error body ({"error": {"message": ...}}), copied into
 * msg, or a prefix of the raw body when it is not one. For log lines.
 */
void proto_error_message(const char *body, size_t len, char *msg, size_t size);

#endif
