/* SPDX-License-Identifier: MIT */
/*
 * opt.h - nordlys-agent's configuration: one declarative table (name, type,
 * default, bounds, help) drives parsing, validation, --help and
 * --print-config (STYLE.md rule 26).
 *
 * Precedence: command-line flags, then NORDLYS_* environment variables
 * (--sync-interval-ms is NORDLYS_SYNC_INTERVAL_MS), then the defaults in the
 * table. The result is an immutable struct agent_conf handed down to the
 * agent; nothing reads configuration from globals.
 *
 * Nothing here does I/O except agent_conf_usage and agent_conf_print.
 */
#ifndef NL_AGENT_OPT_H
#define NL_AGENT_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/proto_limits.h"

struct nl_err;

/*
 * What one agent may stand for (--nodes, --emulate) is bounded by the
 * protocol: NL_PROTO_NODES_MAX names of at most NL_PROTO_NODE_NAME_MAX
 * bytes (common/proto_limits.h), so a register this agent sends is never
 * refused by its controller for its size.
 */

struct agent_conf {
    char *controller; /* base URL, "http://127.0.0.1:7420" */
    char **nodes;     /* --nodes, split on commas (owned); empty when emulating */
    size_t nnodes;
    uint32_t emulate;          /* --emulate N: stand for N unregistered nodes; 0 = off */
    bool noop;                 /* --noop: "sleep S" jobs are timed no-ops (emulation only) */
    char *state_dir;           /* the lock, instance key and run records */
    char *output_root;         /* relative and default job output (default STATE_DIR/output) */
    uint32_t output_limit_mb;  /* per output file of a job; 0 = no limit */
    uint32_t sync_interval_ms; /* 0 = take the controller's value from the register answer */
    char *agent_name;          /* default: the host name (see agent_default) */
    bool agent_name_default;   /* no --agent-name given: the agent appends its instance */
    char *cgroup_root;         /* "auto", "none" or a cgroup v2 mount point */
    char *token_file;          /* --token-file: the agent's credential (mode 0600), or NULL */
    char *token_env;           /* NORDLYS_TOKEN when set (used without --token-file), or NULL */
    char *ca_file;             /* --ca-file / NORDLYS_CA: CA bundle for https://, or NULL */
    char *export_env_text;     /* --export-env as given, or NULL */
    char **export_env;         /* its names, split on commas (owned) */
    size_t nexport_env;
    bool run_as_self;  /* not root: run jobs naming another user as the agent's user */
    char *scratch_dir; /* --scratch-dir: DIR/NODE scratch, wiped between tenants; or NULL */
    bool verbose;      /* debug logging of the agent category */
    bool help;         /* --help seen: print usage and exit 0 */
    bool print_config; /* --print-config seen: print the result and exit 0 */
};

/*
 * Fill conf from argv (argv[0] is the program) and envp (a NULL-terminated
 * "K=V" array, normally environ; may be NULL). conf must be zeroed by the
 * caller; on success release it with agent_conf_release. Returns 0, or
 * -EINVAL with err naming the flag or variable at fault ("--emulate: 'x' is
 * not a number", "NORDLYS_SYNC_INTERVAL_MS: 5 is below the minimum 10",
 * "--nodes: give --nodes or --emulate"). On failure conf is left zeroed.
 * default_name is used when --agent-name is not given (borrowed).
 */
int agent_conf_parse(struct agent_conf *conf, int argc, char **argv, char *const *envp,
                     const char *default_name, struct nl_err *err);

/* Free what agent_conf_parse allocated and zero conf. NULL-safe. */
void agent_conf_release(struct agent_conf *conf);

/* The --help text, generated from the table. */
void agent_conf_usage(FILE *out);

/* One "name = value" line per option, for --print-config. */
void agent_conf_print(const struct agent_conf *conf, FILE *out);

#endif
