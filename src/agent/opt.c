/* SPDX-License-Identifier: MIT */
/*
 * opt.c - the agent's option table and its parser; see opt.h.
 *
 * Parsing is three passes over one array of "raw" values, one per table
 * entry: the defaults, then the environment, then argv, each pass
 * overwriting the last, so precedence is the order of the passes and not a
 * rule repeated in every option. Only then are the raw strings converted
 * and checked, into a scratch struct that replaces *conf on success, so a
 * bad value leaves nothing half-set.
 */
#include "opt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "nordlys/err.h"

enum opt_type {
    OPT_STR,  /* char * */
    OPT_UINT, /* uint32_t in [min, max]; 0 is always allowed and means "unset" */
    OPT_FLAG, /* bool; no value on the command line, 1/0/true/false in the environment */
    OPT_LIST, /* comma list: char ** at off, size_t count at off2 */
};

struct opt_def {
    const char *name; /* --name; NORDLYS_NAME in the environment */
    enum opt_type type;
    const char *metavar; /* for --help; NULL for flags */
    const char *def;     /* default as text; NULL = none */
    uint32_t min, max;   /* OPT_UINT bounds */
    size_t off, off2;    /* fields of struct agent_conf */
    bool env;            /* also read from the environment */
    const char *help;
    const char *envvar; /* the variable's name when not NORDLYS_NAME; NULL = derived */
};

#define F(field) offsetof(struct agent_conf, field)

static const struct opt_def opt_table[] = {
        {"controller", OPT_STR, "URL", "http://127.0.0.1:7420", 0, 0, F(controller), 0, true,
         "base URL of nordlysd", NULL},
        {"nodes", OPT_LIST, "NAME[,NAME...]", NULL, 0, 0, F(nodes), F(nnodes), true,
         "facility node names this agent runs (one real node, or a few)", NULL},
        {"emulate", OPT_UINT, "N", "0", 1, NL_PROTO_NODES_MAX, F(emulate), 0, true,
         "stand for N unregistered nodes fetched from the controller", NULL},
        {"noop", OPT_FLAG, NULL, "0", 0, 0, F(noop), 0, true,
         "with --emulate: run [\"sleep\", S] jobs as timed no-ops without a process", NULL},
        {"state-dir", OPT_STR, "DIR", "/var/lib/nordlys/agent", 0, 0, F(state_dir), 0, true,
         "lock, instance key and records of running jobs (one agent per directory)", NULL},
        {"output-root", OPT_STR, "DIR", NULL, 0, 0, F(output_root), 0, true,
         "relative and default job output go here (default STATE_DIR/output)", NULL},
        {"output-limit-mb", OPT_UINT, "MB", "10240", 1, 16777216, F(output_limit_mb), 0, true,
         "a job whose stdout or stderr file grows past this is killed; 0 = no limit", NULL},
        {"sync-interval-ms", OPT_UINT, "MS", "0", 10, 3600000, F(sync_interval_ms), 0, true,
         "sync period; 0 takes the controller's value", NULL},
        {"agent-name", OPT_STR, "NAME", NULL, 0, 0, F(agent_name), 0, true,
         "name given to the controller (default HOSTNAME-INSTANCE: stable per state dir)", NULL},
        {"cgroup-root", OPT_STR, "DIR", "auto", 0, 0, F(cgroup_root), 0, true,
         "cgroup v2 mount for per-job cgroups: auto, none or a path", NULL},
        {"token-file", OPT_STR, "FILE", NULL, 0, 0, F(token_file), 0, true,
         "the agent's token (mode 0600, owned by the agent's user); else $NORDLYS_TOKEN", NULL},
        {"ca-file", OPT_STR, "FILE", NULL, 0, 0, F(ca_file), 0, true,
         "CA certificates that verify an https:// controller (default: the system store)",
         "NORDLYS_CA"},
        {"export-env", OPT_STR, "NAME[,NAME...]", NULL, 0, 0, F(export_env_text), 0, true,
         "agent environment variables passed to every job (jobs get a clean environment)", NULL},
        {"scratch-dir", OPT_STR, "DIR", NULL, 0, 0, F(scratch_dir), 0, true,
         "jobs' scratch: DIR/NODE per node (NORDLYS_SCRATCH, TMPDIR), wiped between tenants", NULL},
        {"run-as-self", OPT_FLAG, NULL, "0", 0, 0, F(run_as_self), 0, true,
         "when not root: run jobs that name another user as the agent's own user", NULL},
        {"verbose", OPT_FLAG, NULL, "0", 0, 0, F(verbose), 0, true, "debug logging", NULL},
        {"print-config", OPT_FLAG, NULL, "0", 0, 0, F(print_config), 0, false,
         "print the resulting configuration and exit", NULL},
        {"help", OPT_FLAG, NULL, "0", 0, 0, F(help), 0, false, "this text", NULL},
};

#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))

/* Where a raw value came from, for error messages: "--emulate" or "NORDLYS_EMULATE". */
struct raw {
    const char *val;
    char from[64];
};

static void env_name(const struct opt_def *o, char *buf, size_t size)
{
    if (o->envvar != NULL) {
        snprintf(buf, size, "%s", o->envvar);
        return;
    }
    size_t n = (size_t)snprintf(buf, size, "NORDLYS_");
    for (const char *p = o->name; *p != '\0' && n + 1 < size; p++)
        buf[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    buf[n] = '\0';
}

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
            return envp[i] + len + 1;
    return NULL;
}

static const struct opt_def *find_opt(const char *name, size_t len, size_t *idx)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (strlen(opt_table[i].name) == len && strncmp(opt_table[i].name, name, len) == 0) {
            *idx = i;
            return &opt_table[i];
        }
    }
    return NULL;
}

static int scan_argv(struct raw *raw, int argc, char **argv, struct nl_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0)
            a = "--help";
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return nl_err_set(err, -EINVAL, "unexpected argument '%s'", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name), idx;
        const struct opt_def *o = find_opt(name, len, &idx);
        if (o == NULL)
            return nl_err_set(err, -EINVAL, "unknown option '%.*s'", (int)(len + 2), a);
        snprintf(raw[idx].from, sizeof(raw[idx].from), "--%s", o->name);
        if (o->type == OPT_FLAG) {
            if (eq != NULL)
                return nl_err_set(err, -EINVAL, "--%s: takes no value", o->name);
            raw[idx].val = "1";
        } else if (eq != NULL) {
            raw[idx].val = eq + 1;
        } else if (i + 1 < argc) {
            raw[idx].val = argv[++i];
        } else {
            return nl_err_set(err, -EINVAL, "--%s: missing value", o->name);
        }
    }
    return 0;
}

static int conv_uint(const struct opt_def *o, const struct raw *r, uint32_t *out,
                     struct nl_err *err)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(r->val, &end, 10);
    if (r->val[0] == '\0' || r->val[0] == '-' || *end != '\0' || errno != 0)
        return nl_err_set(err, -EINVAL, "%s: '%s' is not a number", r->from, r->val);
    if (v != 0 && v < o->min)
        return nl_err_set(err, -EINVAL, "%s: %llu is below the minimum %" PRIu32, r->from, v,
                          o->min);
    if (v > o->max)
        return nl_err_set(err, -EINVAL, "%s: %llu exceeds the maximum %" PRIu32, r->from, v,
                          o->max);
    *out = (uint32_t)v;
    return 0;
}

static int conv_flag(const struct raw *r, bool *out, struct nl_err *err)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (strcmp(r->val, yes[i]) == 0)
            return *out = true, 0;
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (strcmp(r->val, no[i]) == 0)
            return *out = false, 0;
    return nl_err_set(err, -EINVAL, "%s: '%s' is not a boolean (use 1 or 0)", r->from, r->val);
}

/* A node or agent name becomes part of paths and log lines: keep it to a safe alphabet. */
static bool safe_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return s[0] != '.';
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int conv_list(const struct raw *r, char ***out, size_t *count, struct nl_err *err)
{
    size_t n = 1;
    for (const char *p = r->val; *p != '\0'; p++)
        n += *p == ',';
    if (n > NL_PROTO_NODES_MAX)
        return nl_err_set(err, -EINVAL, "%s: %zu names exceed the limit %u", r->from, n,
                          NL_PROTO_NODES_MAX);
    char **v = xcalloc(n, sizeof(*v));
    const char *p = r->val;
    for (size_t i = 0; i < n; i++) {
        const char *c = strchr(p, ',');
        v[i] = c ? xstrndup(p, (size_t)(c - p)) : xstrdup(p);
        p = c ? c + 1 : p;
    }
    *out = v;
    *count = n;
    for (size_t i = 0; i < n; i++)
        if (!safe_name(v[i], NL_PROTO_NODE_NAME_MAX))
            return nl_err_set(err, -EINVAL, "%s: '%s' is not a node name", r->from, v[i]);
    char **sorted = xcalloc(n, sizeof(*sorted));
    memcpy(sorted, v, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_str);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            rc = nl_err_set(err, -EINVAL, "%s: '%s' is given twice", r->from, sorted[i]);
    free(sorted);
    return rc;
}

static int convert(const struct opt_def *o, const struct raw *r, struct agent_conf *c,
                   struct nl_err *err)
{
    char *base = (char *)c;
    switch (o->type) {
    case OPT_STR:
        *(char **)(base + o->off) = xstrdup(r->val);
        return 0;
    case OPT_UINT:
        return conv_uint(o, r, (uint32_t *)(void *)(base + o->off), err);
    case OPT_FLAG:
        return conv_flag(r, (bool *)(base + o->off), err);
    case OPT_LIST:
        return conv_list(r, (char ***)(void *)(base + o->off), (size_t *)(void *)(base + o->off2),
                         err);
    }
    return nl_err_set(err, -EINVAL, "%s: unknown option type", r->from);
}

/* A variable name as a shell takes it: [A-Za-z_][A-Za-z0-9_]*. */
static bool env_var_name(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (s++; *s != '\0'; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static int split_exports(struct agent_conf *c, struct nl_err *err)
{
    if (c->export_env_text == NULL || c->export_env_text[0] == '\0')
        return 0;
    size_t n = 1;
    for (const char *p = c->export_env_text; *p != '\0'; p++)
        n += *p == ',';
    c->export_env = xcalloc(n, sizeof(char *));
    const char *p = c->export_env_text;
    for (size_t i = 0; i < n; i++) {
        const char *comma = strchr(p, ',');
        char *name = comma ? xstrndup(p, (size_t)(comma - p)) : xstrdup(p);
        c->export_env[c->nexport_env++] = name;
        if (!env_var_name(name))
            return nl_err_set(err, -EINVAL, "--export-env: '%s' is not a variable name", name);
        p = comma ? comma + 1 : p;
    }
    return 0;
}

/* Rules that involve more than one option. */
static int cross_check(const struct agent_conf *c, struct nl_err *err)
{
    if (c->help)
        return 0;
    if (c->nnodes == 0 && c->emulate == 0)
        return nl_err_set(err, -EINVAL, "--nodes: give --nodes or --emulate");
    if (c->nnodes > 0 && c->emulate > 0)
        return nl_err_set(err, -EINVAL, "--emulate: not together with --nodes");
    if (c->noop && c->emulate == 0)
        return nl_err_set(err, -EINVAL, "--noop: only with --emulate");
    if (strncmp(c->controller, "http://", 7) != 0 && strncmp(c->controller, "https://", 8) != 0)
        return nl_err_set(err, -EINVAL, "--controller: '%s' is not an http:// or https:// URL",
                          c->controller);
    if (!safe_name(c->agent_name, 64))
        return nl_err_set(
                err, -EINVAL,
                "--agent-name: '%s' must be 1-64 of A-Z a-z 0-9 . _ - (not starting with .)",
                c->agent_name);
    if (c->state_dir[0] == '\0')
        return nl_err_set(err, -EINVAL, "--state-dir: empty");
    if (c->output_root != NULL && c->output_root[0] == '\0')
        return nl_err_set(err, -EINVAL, "--output-root: empty");
    if (c->scratch_dir != NULL && c->scratch_dir[0] == '\0')
        return nl_err_set(err, -EINVAL, "--scratch-dir: empty");
    if (strcmp(c->cgroup_root, "auto") != 0 && strcmp(c->cgroup_root, "none") != 0 &&
        c->cgroup_root[0] != '/')
        return nl_err_set(err, -EINVAL, "--cgroup-root: '%s' is not auto, none or an absolute path",
                          c->cgroup_root);
    return 0;
}

int agent_conf_parse(struct agent_conf *conf, int argc, char **argv, char *const *envp,
                     const char *default_name, struct nl_err *err)
{
    struct raw raw[NOPTS];
    memset(raw, 0, sizeof(raw));
    for (size_t i = 0; i < NOPTS; i++) {
        raw[i].val = opt_table[i].def;
        snprintf(raw[i].from, sizeof(raw[i].from), "--%s", opt_table[i].name);
        if (!opt_table[i].env)
            continue;
        char name[64];
        env_name(&opt_table[i], name, sizeof(name));
        const char *v = env_lookup(envp, name);
        if (v != NULL) {
            raw[i].val = v;
            snprintf(raw[i].from, sizeof(raw[i].from), "%s", name);
        }
    }
    int rc = scan_argv(raw, argc, argv, err);
    if (rc < 0)
        return rc;
    struct agent_conf c = {0};
    for (size_t i = 0; i < NOPTS && rc == 0; i++) {
        if (raw[i].val == NULL && opt_table[i].off == F(agent_name)) {
            raw[i].val = default_name;
            c.agent_name_default = true;
        }
        if (raw[i].val != NULL)
            rc = convert(&opt_table[i], &raw[i], &c, err);
    }
    if (rc == 0)
        rc = cross_check(&c, err);
    if (rc == 0)
        rc = split_exports(&c, err);
    if (rc == 0 && c.token_file != NULL && c.token_file[0] == '\0')
        rc = nl_err_set(err, -EINVAL, "--token-file: empty");
    if (rc == 0 && c.ca_file != NULL && c.ca_file[0] == '\0')
        rc = nl_err_set(err, -EINVAL, "--ca-file: empty");
    /* The token itself is no option: it is never printed, and a file is the safer way. */
    const char *tok = env_lookup(envp, "NORDLYS_TOKEN");
    if (rc == 0 && tok != NULL && tok[0] != '\0')
        c.token_env = xstrdup(tok);
    if (rc == 0 && c.output_root == NULL) {
        size_t n = strlen(c.state_dir) + sizeof("/output");
        c.output_root = xmalloc(n);
        snprintf(c.output_root, n, "%s/output", c.state_dir);
    }
    if (rc < 0) {
        agent_conf_release(&c);
        return rc;
    }
    *conf = c;
    return 0;
}

void agent_conf_release(struct agent_conf *conf)
{
    if (conf == NULL)
        return;
    for (size_t i = 0; i < conf->nnodes; i++)
        free(conf->nodes[i]);
    free(conf->nodes);
    free(conf->controller);
    free(conf->state_dir);
    free(conf->output_root);
    free(conf->scratch_dir);
    free(conf->agent_name);
    free(conf->cgroup_root);
    free(conf->token_file);
    free(conf->token_env);
    free(conf->ca_file);
    free(conf->export_env_text);
    for (size_t i = 0; i < conf->nexport_env; i++)
        free(conf->export_env[i]);
    free(conf->export_env);
    memset(conf, 0, sizeof(*conf));
}

void agent_conf_usage(FILE *out)
{
    fprintf(out, "usage: nordlys-agent --nodes NAME[,NAME...] | --emulate N [OPTIONS]\n\n"
                 "Runs the jobs nordlysd places on its nodes (docs/agent.md).\n\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_def *o = &opt_table[i];
        char left[64], env[64] = "";
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        if (o->env)
            env_name(o, env, sizeof(env));
        fprintf(out, "  %-34s %s", left, o->help);
        if (o->def != NULL && o->type != OPT_FLAG && strcmp(o->def, "0") != 0)
            fprintf(out, " [%s]", o->def);
        fprintf(out, "%s%s%s\n", o->env ? " (" : "", env, o->env ? ")" : "");
    }
}

void agent_conf_print(const struct agent_conf *c, FILE *out)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_def *o = &opt_table[i];
        const char *base = (const char *)c;
        if (!o->env)
            continue;
        fprintf(out, "%s = ", o->name);
        switch (o->type) {
        case OPT_STR: {
            const char *v = *(char *const *)(base + o->off);
            fprintf(out, "%s\n", v != NULL ? v : "");
            break;
        }
        case OPT_UINT:
            fprintf(out, "%" PRIu32 "\n", *(const uint32_t *)(const void *)(base + o->off));
            break;
        case OPT_FLAG:
            fprintf(out, "%s\n", *(const bool *)(base + o->off) ? "true" : "false");
            break;
        case OPT_LIST:
            for (size_t k = 0; k < c->nnodes; k++)
                fprintf(out, "%s%s", k ? "," : "", c->nodes[k]);
            fprintf(out, "\n");
            break;
        }
    }
}
