/* SPDX-License-Identifier: MIT */
/*
 * config.c - the option table and its parser; see config.h.
 *
 * Values are first collected as text per option (flag over environment
 * over default) and only then converted and checked, so that an error in
 * any source names the option and the source it came from, and nothing
 * is half-applied.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/proto_limits.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

enum cfg_type {
    CFG_STR = 1,
    CFG_UINT,
    CFG_BOOL,
    CFG_LIST, /* a string; repeated flags join their values with ',' */
};

struct cfg_opt {
    const char *name;
    enum cfg_type type;
    const char *def;
    size_t offset;
    uint64_t min, max;          /* CFG_UINT bounds */
    const char *const *choices; /* CFG_STR: NULL-terminated allowed values, or NULL */
    const char *help;
};

static const char *const sync_choices[] = {"full", "normal", NULL};
/* Where the build put the dashboard (CMake sets it: BUILD/web). */
#ifndef NL_UI_DIR_DEFAULT
#define NL_UI_DIR_DEFAULT "web"
#endif

static const char *const level_choices[] = {"err", "warn", "info", "debug", NULL};

#define OPT(field) offsetof(struct ctld_config, field)

/*
 * One row maker per type, so that each row gives only what its type uses:
 * bounds for numbers, allowed values (or NULL for any) for strings. A flag
 * is off unless given. clang-format would spread each maker over four lines.
 */
/* clang-format off */
#define STR_OPT(name, field, def, choices, help) \
    {name, CFG_STR, def, OPT(field), 0, 0, choices, help}
#define UINT_OPT(name, field, def, min, max, help) \
    {name, CFG_UINT, def, OPT(field), min, max, NULL, help}
#define BOOL_OPT(name, field, help) \
    {name, CFG_BOOL, "false", OPT(field), 0, 0, NULL, help}
#define LIST_OPT(name, field, help) \
    {name, CFG_LIST, "", OPT(field), 0, 0, NULL, help}
/* clang-format on */

/*
 * Bounds: a scheduling interval under 1 ms would spin the loop; a node
 * timeout under 100 ms is shorter than one loaded sync round trip; an
 * hour is the longest a lost node may hold GPUs.
 */
static const struct cfg_opt cfg_opts[] = {
        STR_OPT("facility", facility, "dev", NULL,
                "facility preset (dev, narvik, ...) or facility file"),
        STR_OPT("tenants", tenants, "", NULL, "tenants file (default: the reference tenants)"),
        STR_OPT("state-dir", state_dir, "state", NULL, "directory for the database and ctld.port"),
        STR_OPT("output-root", output_root, "", NULL,
                "absolute directory for job output on a filesystem every node shares (jobs "
                "write DIR/ID/stdout); empty: ID/stdout under each agent's own --output-root"),
        STR_OPT("listen", listen, "127.0.0.1:7420", NULL,
                "HTTP address HOST:PORT (port 0: the previous run's port if free, else any "
                "free port; written to STATE/ctld.port)"),
        STR_OPT("ui-dir", ui_dir, NL_UI_DIR_DEFAULT, NULL,
                "the built dashboard (web/) to serve under /ui/; a directory that cannot be "
                "read leaves /ui/ answering 404 with the reason"),
        STR_OPT("tls-cert", tls_cert, "", NULL,
                "PEM certificate (chain) to serve HTTPS with; needs --tls-key"),
        STR_OPT("tls-key", tls_key, "", NULL, "PEM private key of --tls-cert (keep it 0600)"),
        BOOL_OPT("allow-insecure", allow_insecure,
                 "allow plain HTTP on a non-loopback --listen address (tokens and job data "
                 "then cross the network in clear text; a warning is logged)"),
        UINT_OPT("sched-interval-ms", sched_interval_ms, "100", 1, 60000,
                 "least time between scheduling passes"),
        UINT_OPT("node-timeout-ms", node_timeout_ms, "5000", 100, 3600000,
                 "a node whose agent has not synced for this long is down"),
        UINT_OPT("sync-interval-ms", sync_interval_ms, "200", 10, 60000,
                 "how often agents are told to sync"),
        STR_OPT("synchronous", synchronous, "full", sync_choices,
                "SQLite synchronous: full (survives power loss) or normal (survives kill -9)"),
        STR_OPT("log-level", log_level, "info", level_choices, "err, warn, info or debug"),
        STR_OPT("log-file", log_file, "", NULL, "log to this file instead of stderr"),
        UINT_OPT("idempotency-window-s", idempotency_window_s, "86400", 1, 31536000,
                 "how long a submission's Idempotency-Key finds its job (seconds)"),
        LIST_OPT("trusted-origin", trusted_origin,
                 "an Origin header value (https://portal.example) whose requests are accepted; "
                 "repeatable or comma-separated; requests with any other Origin get 403"),
        BOOL_OPT("allow-root-jobs", allow_root_jobs,
                 "let jobs run as root (a token whose unix_user is root); agents refuse them "
                 "otherwise"),
        UINT_OPT("rate-limit", rate_limit, "200", 0, 1000000,
                 "requests per second per user, operator or admin token (a bucket of twice "
                 "that; agents are exempt); 0 = no limit"),
        UINT_OPT("tenant-queue-max", tenant_queue_max, "100000", 1, 100000000,
                 "pending jobs a tenant may have; a submission beyond it gets 429"),
        BOOL_OPT("keep-invalid-depend", keep_invalid_depend,
                 "leave a job whose dependency can never be met (afterok on a job that "
                 "failed) PENDING with reason DependencyNeverSatisfied until cancelled, as "
                 "Slurm does by default; without it such a job ends CANCELLED, saying why"),
        BOOL_OPT("init", init,
                 "start a new facility where STATE/nordlys.db is empty or not a nordlys "
                 "database (the file is moved aside, never deleted)"),
        BOOL_OPT("print-config", print_config, "print the effective configuration and exit"),
        BOOL_OPT("help", help, "print this help and exit"),
};

#define NOPTS (sizeof(cfg_opts) / sizeof(cfg_opts[0]))
_Static_assert(NOPTS <= sizeof(((struct ctld_config *)0)->source), "source[] too small");

static const char *const source_names[] = {"default", "environment", "flag"};

static const struct cfg_opt *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(cfg_opts[i].name) == len && strncmp(cfg_opts[i].name, name, len) == 0)
            return &cfg_opts[i];
    return NULL;
}

static void env_name(const char *opt, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "NORDLYS_");
    for (const char *p = opt; *p && n + 1 < size; p++)
        buf[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    buf[n] = '\0';
}

static int parse_bool(const char *text, bool *out)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0 || strcmp(text, "yes") == 0)
        *out = true;
    else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0 || strcmp(text, "no") == 0)
        *out = false;
    else
        return -EINVAL;
    return 0;
}

/* Convert and check one option's text into cfg. */
static int apply(struct ctld_config *cfg, const struct cfg_opt *o, const char *text,
                 const char *from, struct nl_err *err)
{
    char *field = (char *)cfg + o->offset;
    if (o->type == CFG_BOOL) {
        if (parse_bool(text, (bool *)field) < 0)
            return nl_err_set(err, -EINVAL, "%s%s: '%s' is not true or false", from, o->name, text);
        return 0;
    }
    if (o->type == CFG_UINT) {
        char *end = NULL;
        errno = 0;
        uint64_t v = strtoull(text, &end, 10);
        if (text[0] == '\0' || text[0] == '-' || *end != '\0' || errno != 0)
            return nl_err_set(err, -EINVAL, "%s%s: '%s' is not a whole number", from, o->name,
                              text);
        if (v < o->min || v > o->max)
            return nl_err_set(err, -EINVAL, "%s%s: %" PRIu64 " is outside %" PRIu64 "..%" PRIu64,
                              from, o->name, v, o->min, o->max);
        *(uint64_t *)field = v;
        return 0;
    }
    if (o->choices != NULL) {
        size_t i = 0;
        while (o->choices[i] != NULL && strcmp(o->choices[i], text) != 0)
            i++;
        if (o->choices[i] == NULL)
            return nl_err_set(err, -EINVAL, "%s%s: '%s' is not one of the allowed values", from,
                              o->name, text);
    }
    free(*(char **)field);
    *(char **)field = xstrdup(text);
    return 0;
}

/*
 * Collect flag values: text[i] for option i, borrowed from argv, or for a
 * repeated CFG_LIST flag joined into own[i] (freed by the caller).
 */
static int scan_flags(int argc, char **argv, const char **text, char **own, struct nl_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            return nl_err_set(err, -EINVAL, "%s: unexpected argument (options start with --)", arg);
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct cfg_opt *o = find_opt(name, len);
        if (o == NULL)
            return nl_err_set(err, -EINVAL, "%s: unknown option (see --help)", arg);
        size_t idx = (size_t)(o - cfg_opts);
        const char *prev = text[idx];
        if (eq != NULL)
            text[idx] = eq + 1;
        else if (o->type == CFG_BOOL)
            text[idx] = "true";
        else if (i + 1 < argc)
            text[idx] = argv[++i];
        else
            return nl_err_set(err, -EINVAL, "--%s: needs a value", o->name);
        if (o->type == CFG_LIST && prev != NULL && prev[0] != '\0') {
            size_t n = strlen(prev) + strlen(text[idx]) + 2;
            char *joined = xmalloc(n);
            snprintf(joined, n, "%s,%s", prev, text[idx]);
            free(own[idx]);
            own[idx] = joined;
            text[idx] = joined;
        }
    }
    return 0;
}

int ctld_config_parse(struct ctld_config *cfg, int argc, char **argv,
                      char *(*getenv_fn)(const char *), struct nl_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    const char *text[NOPTS] = {0};
    char *own[NOPTS] = {0};
    int rc = scan_flags(argc, argv, text, own, err);
    for (size_t i = 0; rc == 0 && i < NOPTS; i++) {
        const struct cfg_opt *o = &cfg_opts[i];
        const char *from = "--";
        cfg->source[i] = 2;
        if (text[i] == NULL && getenv_fn != NULL) {
            char env[64];
            env_name(o->name, env, sizeof(env));
            text[i] = getenv_fn(env);
            cfg->source[i] = 1;
            from = "environment: --";
        }
        if (text[i] == NULL) {
            text[i] = o->def;
            cfg->source[i] = 0;
            from = "default: --";
        }
        rc = apply(cfg, o, text[i], from, err);
    }
    /* Agents take an absolute path as given: a relative one would mean a different place on each.
     */
    if (rc == 0 && cfg->output_root[0] != '\0' && cfg->output_root[0] != '/')
        rc = nl_err_set(err, -EINVAL, "--output-root: '%s' is not an absolute path",
                        cfg->output_root);
    if (rc == 0 && strlen(cfg->output_root) > NL_PROTO_PATH_MAX - 32)
        rc = nl_err_set(err, -EINVAL, "--output-root: longer than %u bytes",
                        NL_PROTO_PATH_MAX - 32);
    if (rc == 0 && (cfg->tls_cert[0] == '\0') != (cfg->tls_key[0] == '\0'))
        rc = nl_err_set(err, -EINVAL, "%s: HTTPS needs both --tls-cert and --tls-key",
                        cfg->tls_cert[0] ? "--tls-cert" : "--tls-key");
    for (size_t i = 0; i < NOPTS; i++)
        free(own[i]);
    if (rc < 0)
        ctld_config_release(cfg);
    return rc;
}

void ctld_config_release(struct ctld_config *cfg)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (cfg_opts[i].type == CFG_STR || cfg_opts[i].type == CFG_LIST) {
            char **field = (char **)((char *)cfg + cfg_opts[i].offset);
            free(*field);
            *field = NULL;
        }
}

void ctld_config_print(const struct ctld_config *cfg, FILE *out)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const struct cfg_opt *o = &cfg_opts[i];
        const char *field = (const char *)cfg + o->offset;
        if (o->type == CFG_STR || o->type == CFG_LIST)
            fprintf(out, "%s = %s", o->name, *(char *const *)field);
        else if (o->type == CFG_UINT)
            fprintf(out, "%s = %" PRIu64, o->name, *(const uint64_t *)field);
        else
            fprintf(out, "%s = %s", o->name, *(const bool *)field ? "true" : "false");
        fprintf(out, "  # %s\n", source_names[cfg->source[i]]);
    }
}

void ctld_config_usage(FILE *out)
{
    fprintf(out, "usage: nordlysd [--OPTION VALUE]...\n\n"
                 "Each option may also be set as NORDLYS_OPTION (upper case, '-' as '_');\n"
                 "flags win over the environment, which wins over defaults.\n\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct cfg_opt *o = &cfg_opts[i];
        char env[64];
        env_name(o->name, env, sizeof(env));
        fprintf(out, "  --%-18s %s\n  %-20s (default '%s', %s)\n", o->name, o->help, "", o->def,
                env);
    }
}
