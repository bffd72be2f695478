/* SPDX-License-Identifier: MIT */
/*
 * config.h - nordlysd's configuration: one declarative table of options.
 *
 * Each option has a name, a type, a default, bounds and help text, and
 * can be given as a flag (--name VALUE or --name=VALUE), as an environment
 * variable (NORDLYS_NAME with '-' as '_', upper case), or left at its
 * default, in that order of precedence. The same table drives parsing,
 * validation, --help and --print-config. The result is an immutable
 * struct passed down to the subsystems; nothing reads a global.
 */
#ifndef NL_CTLD_CONFIG_H
#define NL_CTLD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct nl_err;

struct ctld_config {
    char *facility;    /* preset name or facility file */
    char *tenants;     /* tenants file; "" = the reference tenants */
    char *state_dir;   /* database, port file */
    char *output_root; /* "" = relative output paths (each agent's root), else absolute DIR */
    char *listen;      /* HOST:PORT, port 0 = ephemeral */
    char *ui_dir;      /* the built dashboard served under /ui/ */

    char *tls_cert;      /* PEM certificate (chain) for HTTPS; "" = plain HTTP */
    char *tls_key;       /* PEM private key of tls_cert */
    bool allow_insecure; /* plain HTTP on a non-loopback address (warned) */

    uint64_t sched_interval_ms;
    uint64_t node_timeout_ms;
    uint64_t sync_interval_ms;
    char *synchronous;             /* "full" or "normal" */
    char *log_level;               /* err, warn, info, debug */
    char *log_file;                /* "" = stderr */
    uint64_t idempotency_window_s; /* an Idempotency-Key finds its job for this long */
    char *trusted_origin;          /* comma-separated Origin values accepted; "" = none */
    bool allow_root_jobs;          /* launches may run as root */
    uint64_t rate_limit;           /* requests per second per token; 0 = off */
    uint64_t tenant_queue_max;     /* pending jobs per tenant */
    bool keep_invalid_depend;      /* leave pending a job whose dependency can never be met */
    bool init; /* replace a database that is empty or not nordlys's (moved aside) */
    bool print_config;
    bool help;
    unsigned char source[48]; /* per option in table order: 0 default, 1 environment, 2 flag */
};

/*
 * Fill cfg from argv (argv[0] skipped), then env (getenv, borrowed per
 * call), then defaults. Returns 0, or -EINVAL with err naming the option
 * and value ("--sched-interval-ms: 0 is below the minimum 1"). On error
 * cfg holds nothing to release. Release with ctld_config_release.
 */
int ctld_config_parse(struct ctld_config *cfg, int argc, char **argv,
                      char *(*getenv_fn)(const char *), struct nl_err *err);
void ctld_config_release(struct ctld_config *cfg);

/* Each option as "name = value  # source", in table order. */
void ctld_config_print(const struct ctld_config *cfg, FILE *out);
/* Usage with every option, its default and help. */
void ctld_config_usage(FILE *out);

#endif
