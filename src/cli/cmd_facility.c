/* SPDX-License-Identifier: MIT */
/*
 * cmd_facility.c - `nordlys nodes`, `facility`, `tenants` and `usage`:
 * read-only views of the controller's state, one GET each.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client.h"
#include "commands.h"
#include "nordlys/err.h"
#include "opt.h"
#include "rowfmt.h"
#include "table.h"

/* A node's job list is cut to this many ids in the table (an emulated node runs few). */
#define CLI_NODE_JOBS_MAX 4

/* A view with only the common options: GET path and print the answer with render. */
static int run_view(const struct cli_spec *spec, int argc, char **argv, const char *path,
                    cli_render_fn render)
{
    struct cli_args args = {0};
    int rc = cli_parse_args(spec, argc, argv, NULL, NULL, &args);
    if (rc == CLI_RUN)
        rc = cli_get_and_print(args.url, args.token_file, path, args.json, render);
    cli_args_release(&args);
    return rc;
}

/* ---- nodes ---- */

static const struct cli_opt nodes_opts[] = {
        {"state", "S", "only nodes in state S: up, down or unregistered"},
        {"format", "FIELDS", "columns, a comma list (name,state,free,drain_reason,...)"},
        {"csv", NULL, "CSV instead of a table"},
};

static const struct cli_spec nodes_spec = {
        .name = "nodes",
        .usage = "[OPTIONS]",
        .summary = "List the facility's nodes, their free GPUs, jobs and last heartbeat.\n"
                   "A drained node's state is DRAINING while jobs run on it, then DRAINED.",
        .opts = nodes_opts,
        .nopts = 3,
};

struct nodes_opts {
    const char *state, *format;
    bool csv;
};

static int on_nodes_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    (void)err;
    struct nodes_opts *o = ctx;
    if (idx == 0)
        o->state = val;
    else if (idx == 1)
        o->format = val;
    else
        o->csv = true;
    return 0;
}

static const char *const node_fields[] = {"name",  "site",  "rack",          "state",
                                          "gpus",  "free",  "jobs",          "agent",
                                          "last_heartbeat", "drain_reason", "drained_by",
                                          "drain_time", NULL};

/*
 * A drained node reads DRAINING (jobs still on it) or DRAINED in STATE, with
 * "down" kept when it is down too; its drain's reason, who and when become
 * the fields drain_reason, drained_by and drain_time for --format.
 */
static void flatten_drain(json_t *nodes)
{
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        json_t *n = json_array_get(nodes, i);
        json_t *d = json_object_get(n, "drain");
        if (!json_is_object(d))
            continue;
        char st[64];
        const char *ds = json_string_value(json_object_get(d, "state"));
        const char *was = json_string_value(json_object_get(n, "state"));
        snprintf(st, sizeof(st), "%s%s", ds && strcmp(ds, "draining") == 0 ? "DRAINING" : "DRAINED",
                 was && strcmp(was, "up") != 0 ? (strcmp(was, "down") == 0 ? "+down" : "+unreg")
                                               : "");
        json_object_set_new(n, "state", json_string(st));
        json_object_set(n, "drain_reason", json_object_get(d, "reason"));
        json_object_set(n, "drained_by", json_object_get(d, "by"));
        json_object_set(n, "drain_time", json_object_get(d, "time"));
    }
}

/* "42,43,51+2": the first few job ids on a node. */
static void add_jobs_cell(struct cli_table *t, const json_t *jobs)
{
    /* Each id is at most 20 digits and a comma: 4 of them and "+N" fit easily. */
    char buf[128] = "";
    size_t len = 0;
    size_t n = json_array_size(jobs);
    for (size_t i = 0; i < n && i < CLI_NODE_JOBS_MAX; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%lld", i > 0 ? "," : "",
                                (long long)json_integer_value(json_array_get(jobs, i)));
    if (n > CLI_NODE_JOBS_MAX)
        snprintf(buf + len, sizeof(buf) - len, "+%zu", n - CLI_NODE_JOBS_MAX);
    cli_table_add(t, n > 0 ? buf : NULL);
}

static void add_ago_cell(struct cli_table *t, double then, double now)
{
    char b[CLI_FMT_MAX];
    if (!isfinite(then))
        cli_table_add(t, NULL);
    else
        cli_table_addf(t, "%s ago", cli_fmt_duration(b, now > then ? now - then : 0));
}

/*
 * Every list view is a table with one row per element of a JSON array and
 * one column per member of it; a column says which member and how it reads.
 */
enum col_kind {
    COL_STR = 1,   /* a string, "-" when missing */
    COL_COUNT,     /* a whole number */
    COL_POWER,     /* watts as "230.0 MW" */
    COL_ENERGY,    /* kWh as "1.2 MWh" */
    COL_YES_NO,    /* a boolean */
    COL_TENTHS,    /* a number with one decimal, e.g. GPU-hours; "-" when missing */
    COL_NUM,       /* a number in its shortest form ("%g"), "-" when missing */
    COL_NAME_OR_N, /* a string, or a whole number where the member is not one */
    COL_JOB_IDS,   /* an array of job ids, the first few of them */
    COL_AGO,       /* a unix time as "5s ago" */
};

struct col {
    const char *header;
    const char *key; /* the member of each row object */
    enum col_kind kind;
    bool right; /* right-aligned, as numbers are; left when false */
};

/* The widest view (tenants) has 10 columns; room for a few more. */
#define CLI_COLS_MAX 16

static void add_cell(struct cli_table *t, const struct col *col, const json_t *row, double now)
{
    char b[CLI_FMT_MAX];
    const json_t *v = json_object_get(row, col->key);
    double num = cli_json_num(row, col->key);
    switch (col->kind) {
    case COL_STR:
        cli_table_add(t, cli_json_str(row, col->key));
        break;
    case COL_COUNT:
        cli_table_add(t, cli_fmt_count(b, num));
        break;
    case COL_POWER:
        cli_table_add(t, cli_fmt_power(b, num));
        break;
    case COL_ENERGY:
        cli_table_add(t, cli_fmt_energy(b, num));
        break;
    case COL_YES_NO:
        cli_table_add(t, cli_json_bool(row, col->key) ? "yes" : "no");
        break;
    case COL_TENTHS:
    case COL_NUM:
        if (isfinite(num))
            cli_table_addf(t, col->kind == COL_TENTHS ? "%.1f" : "%g", num);
        else
            cli_table_add(t, NULL); /* missing or null: "-" */
        break;
    case COL_NAME_OR_N:
        cli_table_add(t, json_is_string(v) ? json_string_value(v) : cli_fmt_count(b, num));
        break;
    case COL_JOB_IDS:
        add_jobs_cell(t, v);
        break;
    case COL_AGO:
        add_ago_cell(t, num, now);
        break;
    }
}

/* Print rows (a JSON array of objects) as a table of ncols columns to stdout. */
static void print_rows(const json_t *rows, const struct col *cols, size_t ncols)
{
    assert(ncols <= CLI_COLS_MAX);
    const char *hdr[CLI_COLS_MAX];
    for (size_t c = 0; c < ncols; c++)
        hdr[c] = cols[c].header;
    struct cli_table *t = cli_table_create(ncols, hdr);
    for (size_t c = 0; c < ncols; c++)
        if (cols[c].right)
            cli_table_align_right(t, c);
    /* One clock reading per table: every age in it is counted from the same instant. */
    double now = (double)time(NULL);
    for (size_t i = 0; i < json_array_size(rows); i++)
        for (size_t c = 0; c < ncols; c++)
            add_cell(t, &cols[c], json_array_get(rows, i), now);
    cli_table_print(t, stdout);
    cli_table_destroy(t);
}

#define NCOLS(cols) (sizeof(cols) / sizeof((cols)[0]))

static const struct col node_cols[] = {
        {.header = "NAME", .key = "name", .kind = COL_STR},
        {.header = "SITE", .key = "site", .kind = COL_STR},
        {.header = "RACK", .key = "rack", .kind = COL_NAME_OR_N},
        {.header = "STATE", .key = "state", .kind = COL_STR},
        {.header = "GPUS", .key = "gpus", .kind = COL_COUNT, .right = true},
        {.header = "FREE", .key = "free", .kind = COL_COUNT, .right = true},
        {.header = "JOBS", .key = "jobs", .kind = COL_JOB_IDS},
        {.header = "AGENT", .key = "agent", .kind = COL_STR},
        {.header = "HEARTBEAT", .key = "last_heartbeat", .kind = COL_AGO},
};

static void render_nodes(const json_t *j)
{
    flatten_drain(json_object_get(j, "nodes"));
    print_rows(json_object_get(j, "nodes"), node_cols, NCOLS(node_cols));
}

/* --format or --csv: the chosen fields of every node. */
static int nodes_formatted(const struct cli_args *args, const char *path,
                           const struct nodes_opts *o)
{
    struct cli_rowfmt f = {.csv = o->csv};
    struct nl_err err = {0};
    if (cli_rowfmt_parse(&f, o->format ? o->format : "name,site,rack,state,gpus,free,jobs,agent",
                         node_fields, &err) < 0) {
        fprintf(stderr, "nordlys nodes: %s\n", err.msg);
        return NL_CLI_USAGE;
    }
    struct cli_client *c = cli_client_create(args->url);
    json_t *answer = NULL;
    int rc = cli_client_use_token(c, args->token_file);
    if (rc == NL_CLI_OK)
        rc = cli_client_call(c, "GET", path, NULL, &answer);
    if (rc == NL_CLI_OK) {
        flatten_drain(json_object_get(answer, "nodes"));
        cli_rowfmt_print(&f, json_object_get(answer, "nodes"));
    }
    json_decref(answer);
    cli_client_destroy(c);
    cli_rowfmt_release(&f);
    return rc;
}

int cmd_nodes(int argc, char **argv)
{
    struct nodes_opts o = {0};
    struct cli_args args = {0};
    int rc = cli_parse_args(&nodes_spec, argc, argv, on_nodes_opt, &o, &args);
    if (rc == CLI_RUN) {
        static const char *const keys[] = {"state"};
        const char *vals[] = {o.state};
        char *path = cli_path_query("/v1/nodes", keys, vals, 1);
        if ((o.format || o.csv) && !args.json)
            rc = nodes_formatted(&args, path, &o);
        else
            rc = cli_get_and_print(args.url, args.token_file, path, args.json, render_nodes);
        free(path);
    }
    cli_args_release(&args);
    return rc;
}

/* ---- facility ---- */

static const struct cli_spec facility_spec = {
        .name = "facility",
        .usage = "[OPTIONS]",
        .summary = "Show the facility: GPUs in use, jobs, power against its budget, its sites.\n"
                   "Subcommands (each with --help): `facility power`, `facility budget POWER`, "
                   "`facility limit rack|row|loop|site INDEX POWER`, "
                   "`facility add-racks SITE COUNT` (expansion online).",
};

static const struct col site_cols[] = {
        {.header = "SITE", .key = "name", .kind = COL_STR},
        {.header = "JURISDICTION", .key = "jurisdiction", .kind = COL_STR},
        {.header = "EEA", .key = "eea", .kind = COL_YES_NO},
        {.header = "GPUS", .key = "gpus", .kind = COL_COUNT, .right = true},
        {.header = "RACKS", .key = "racks", .kind = COL_COUNT, .right = true},
        {.header = "NODES", .key = "nodes", .kind = COL_COUNT, .right = true},
        {.header = "POWER", .key = "power_w", .kind = COL_POWER, .right = true},
};

static void render_facility(const json_t *f)
{
    char a[CLI_FMT_MAX];
    char b[CLI_FMT_MAX];
    char c[CLI_FMT_MAX];
    double total = cli_json_num(f, "gpus_total");
    double alloc = cli_json_num(f, "gpus_alloc");
    printf("facility       %s\n", cli_json_str(f, "name"));
    printf("gpus           %s allocated of %s (%.0f%%), %s down\n", cli_fmt_count(a, alloc),
           cli_fmt_count(b, total), total > 0 ? 100.0 * alloc / total : 0.0,
           cli_fmt_count(c, cli_json_num(f, "gpus_down")));
    printf("jobs           %s running, %s pending\n",
           cli_fmt_count(a, cli_json_num(f, "jobs_running")),
           cli_fmt_count(b, cli_json_num(f, "jobs_pending")));
    printf("power          %s of %s budget (IT %s)\n", cli_fmt_power(a, cli_json_num(f, "power_w")),
           cli_fmt_power(b, cli_json_num(f, "power_budget_w")),
           cli_fmt_power(c, cli_json_num(f, "power_it_w")));
    printf("energy         %s\n", cli_fmt_energy(a, cli_json_num(f, "energy_kwh")));
    double frag = cli_json_num(f, "fragmentation");
    if (isfinite(frag))
        printf("fragmentation  %.2f\n", frag);
    printf("\n");
    print_rows(json_object_get(f, "sites"), site_cols, NCOLS(site_cols));
}

/* ---- facility budget ---- */

static const struct cli_spec budget_spec = {
        .name = "facility budget",
        .usage = "[OPTIONS] POWER",
        .min_pos = 1,
        .max_pos = 1,
        .summary = "Set the facility's power budget (operator role): 180MW, 1.2GW, 500kW, or none. "
                   "The next scheduling pass caps GPUs of the weakest tiers first (docs/power.md), "
                   "or lifts caps and starts waiting jobs when it rises.",
};

/* "180MW", "180 MW", "1.5GW", "500kW", "2000000W", "none" into W; -EINVAL naming the text. */
int cli_parse_power(const char *text, double *w, struct nl_err *err)
{
    if (strcmp(text, "none") == 0 || strcmp(text, "0") == 0) {
        *w = 0;
        return 0;
    }
    char *end;
    double v = strtod(text, &end);
    while (*end == ' ')
        end++;
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"W", 1}, {"kW", 1e3}, {"MW", 1e6}, {"GW", 1e9}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (end != text && strcasecmp(end, units[i].unit) == 0 && isfinite(v) && v >= 0) {
            *w = v * units[i].scale;
            return 0;
        }
    return nl_err_set(err, -EINVAL,
                      "budget: '%s' is not a power (a number with W, kW, MW or GW, or none)", text);
}

static void render_power(const json_t *p)
{
    char a[CLI_FMT_MAX], b[CLI_FMT_MAX], c[CLI_FMT_MAX];
    double budget = cli_json_num(p, "budget_w");
    printf("budget         %s\n", budget > 0 ? cli_fmt_power(a, budget) : "none");
    printf("draw           %s (IT %s, PUE %.3f)\n", cli_fmt_power(b, cli_json_num(p, "power_w")),
           cli_fmt_power(c, cli_json_num(p, "power_it_w")), cli_json_num(p, "pue"));
    printf("capped jobs    %.0f; preempted for power since start: %.0f\n",
           cli_json_num(p, "jobs_capped"), cli_json_num(p, "power_preemptions"));
}

static int cmd_facility_budget(int argc, char **argv)
{
    struct cli_args args = {0};
    int rc = cli_parse_args(&budget_spec, argc, argv, NULL, NULL, &args);
    if (rc != CLI_RUN)
        goto out;
    struct nl_err err = {0};
    double w = 0;
    if (args.npos != 1 || cli_parse_power(args.pos[0], &w, &err) < 0) {
        fprintf(stderr, "nordlys facility budget: %s\n",
                args.npos != 1 ? "expected one POWER (e.g. 180MW, or none)" : err.msg);
        rc = NL_CLI_USAGE;
        goto out;
    }
    struct cli_client *cl = cli_client_create(args.url);
    rc = cli_client_use_token(cl, args.token_file);
    if (rc == NL_CLI_OK) {
        json_t *body = json_pack("{s:f}", "budget_w", w), *answer = NULL;
        rc = cli_client_call(cl, "PUT", "/v1/facility/budget", body, &answer);
        json_decref(body);
        if (rc == NL_CLI_OK) {
            if (args.json)
                cli_print_json(answer);
            else
                render_power(answer);
        }
        json_decref(answer);
    }
    cli_client_destroy(cl);
out:
    cli_args_release(&args);
    return rc;
}

/* ---- facility limit ---- */

static const struct cli_spec limit_spec = {
        .name = "facility limit",
        .usage = "[OPTIONS] rack|row|loop|site INDEX POWER",
        .min_pos = 3,
        .max_pos = 3,
        .summary = "Set one rack's, row's, cooling loop's or site's power limit (operator role): "
                   "1.8MW, 120kW, none, or default (the facility file's). IT power for racks, rows "
                   "and loops, facility power for a site. The next scheduling pass caps the jobs "
                   "under it, weakest tier first (docs/power.md).",
};

static int cmd_facility_limit(int argc, char **argv)
{
    struct cli_args args = {0};
    int rc = cli_parse_args(&limit_spec, argc, argv, NULL, NULL, &args);
    if (rc != CLI_RUN)
        goto out;
    struct nl_err err = {0};
    double w = 0;
    char *end = NULL;
    const char *bad = NULL;
    unsigned long idx = 0;
    if (args.npos != 3)
        bad = "expected LEVEL INDEX POWER (e.g. row 3 1.8MW)";
    else if (strcmp(args.pos[0], "rack") != 0 && strcmp(args.pos[0], "row") != 0 &&
             strcmp(args.pos[0], "loop") != 0 && strcmp(args.pos[0], "site") != 0)
        bad = "level: expected rack, row, loop or site";
    else if ((idx = strtoul(args.pos[1], &end, 10), end == args.pos[1] || *end != '\0' ||
              args.pos[1][0] == '-' || idx > UINT32_MAX))
        bad = "index: expected a number from 0";
    else if (strcmp(args.pos[2], "default") != 0 && cli_parse_power(args.pos[2], &w, &err) < 0)
        bad = err.msg;
    if (bad != NULL) {
        fprintf(stderr, "nordlys facility limit: %s\n", bad);
        rc = NL_CLI_USAGE;
        goto out;
    }
    struct cli_client *cl = cli_client_create(args.url);
    rc = cli_client_use_token(cl, args.token_file);
    if (rc == NL_CLI_OK) {
        json_t *body = strcmp(args.pos[2], "default") == 0
                               ? json_pack("{s:s, s:I, s:n}", "level", args.pos[0], "index",
                                           (json_int_t)idx, "limit_w")
                               : json_pack("{s:s, s:I, s:f}", "level", args.pos[0], "index",
                                           (json_int_t)idx, "limit_w", w);
        json_t *answer = NULL;
        rc = cli_client_call(cl, "PUT", "/v1/facility/limit", body, &answer);
        json_decref(body);
        if (rc == NL_CLI_OK) {
            if (args.json) {
                cli_print_json(answer);
            } else {
                char a[CLI_FMT_MAX], b[CLI_FMT_MAX];
                double lim = cli_json_num(answer, "limit_w");
                printf("%s %lu  limit %s, draw %s; capped jobs %.0f\n", args.pos[0], idx,
                       lim > 0 ? cli_fmt_power(a, lim) : "none",
                       cli_fmt_power(b, cli_json_num(answer, "draw_w")),
                       cli_json_num(answer, "jobs_capped"));
            }
        }
        json_decref(answer);
    }
    cli_client_destroy(cl);
out:
    cli_args_release(&args);
    return rc;
}

int cmd_facility(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "limit") == 0)
        return cmd_facility_limit(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "budget") == 0)
        return cmd_facility_budget(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "add-racks") == 0)
        return cmd_facility_add_racks(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "power") == 0)
        return run_view(&facility_spec, argc - 1, argv + 1, "/v1/facility/power", render_power);
    return run_view(&facility_spec, argc, argv, "/v1/facility", render_facility);
}

/* ---- tenants ---- */

static const struct cli_spec tenants_spec = {
        .name = "tenants",
        .usage = "[OPTIONS]",
        .summary = "List tenants: tier, quota and borrowing limit, and what each uses now.",
};

static const struct col tenant_cols[] = {
        {.header = "TENANT", .key = "name", .kind = COL_STR},
        {.header = "TIER", .key = "tier", .kind = COL_STR},
        {.header = "QUOTA", .key = "quota_gpus", .kind = COL_COUNT, .right = true},
        {.header = "BORROW", .key = "borrow_gpus", .kind = COL_COUNT, .right = true},
        {.header = "WEIGHT", .key = "weight", .kind = COL_NUM, .right = true},
        {.header = "HOME", .key = "jurisdiction", .kind = COL_STR},
        {.header = "ALLOC", .key = "gpus_alloc", .kind = COL_COUNT, .right = true},
        {.header = "BORROWED", .key = "gpus_borrowed", .kind = COL_COUNT, .right = true},
        {.header = "PENDING", .key = "jobs_pending", .kind = COL_COUNT, .right = true},
        {.header = "RUNNING", .key = "jobs_running", .kind = COL_COUNT, .right = true},
};

static void render_tenants(const json_t *j)
{
    print_rows(json_object_get(j, "tenants"), tenant_cols, NCOLS(tenant_cols));
}

int cmd_tenants(int argc, char **argv)
{
    return run_view(&tenants_spec, argc, argv, "/v1/tenants", render_tenants);
}

/* ---- usage ---- */

static const struct cli_opt usage_opts[] = {
        {"by", "tenant|job", "energy accounting per tenant or per job (GET /v1/energy)"},
        {"since", "T", "jobs that ended at or after T (Unix seconds or 2026-11-29T12:00:00Z)"},
        {"until", "T", "jobs that ended before T; running jobs count when T is in the future"},
        {"grid", "G", "grid carbon intensity in gCO2/kWh for emissions (default: the facility's)"},
};

static const struct cli_spec usage_spec = {
        .name = "usage",
        .usage = "[OPTIONS]",
        .summary =
                "Accounting per tenant: GPU-hours, energy (with PUE), jobs completed and failed. "
                "With --by, --since, --until or --grid: IT and facility kWh and emissions per "
                "tenant or job over a window.",
        .opts = usage_opts,
        .nopts = 4,
};

struct usage_args {
    const char *vals[4]; /* by, since, until, grid */
};

static int on_usage_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    struct usage_args *u = ctx;
    if (idx == 0 && strcmp(val, "tenant") != 0 && strcmp(val, "job") != 0)
        return nl_err_set(err, -EINVAL, "--by: '%s' is not tenant or job", val);
    u->vals[idx] = val;
    return 0;
}

static const struct col energy_tenant_cols[] = {
        {.header = "TENANT", .key = "tenant", .kind = COL_STR},
        {.header = "TIER", .key = "tier", .kind = COL_STR},
        {.header = "JOBS", .key = "jobs", .kind = COL_COUNT, .right = true},
        {.header = "GPU-HOURS", .key = "gpu_hours", .kind = COL_TENTHS, .right = true},
        {.header = "IT", .key = "it_kwh", .kind = COL_ENERGY, .right = true},
        {.header = "FACILITY", .key = "facility_kwh", .kind = COL_ENERGY, .right = true},
        {.header = "CO2-KG", .key = "co2_kg", .kind = COL_TENTHS, .right = true},
};

static const struct col energy_job_cols[] = {
        {.header = "JOB", .key = "id", .kind = COL_COUNT, .right = true},
        {.header = "TENANT", .key = "tenant", .kind = COL_STR},
        {.header = "STATE", .key = "state", .kind = COL_STR},
        {.header = "GPU-HOURS", .key = "gpu_hours", .kind = COL_TENTHS, .right = true},
        {.header = "IT", .key = "it_kwh", .kind = COL_ENERGY, .right = true},
        {.header = "FACILITY", .key = "facility_kwh", .kind = COL_ENERGY, .right = true},
        {.header = "CO2-KG", .key = "co2_kg", .kind = COL_TENTHS, .right = true},
};

static void render_energy(const json_t *j)
{
    const json_t *jobs = json_object_get(j, "jobs");
    if (jobs != NULL)
        print_rows(jobs, energy_job_cols, NCOLS(energy_job_cols));
    else
        print_rows(json_object_get(j, "tenants"), energy_tenant_cols, NCOLS(energy_tenant_cols));
    if (json_is_true(json_object_get(j, "truncated")))
        printf("(truncated: narrow the window)\n");
}

static const struct col usage_cols[] = {
        {.header = "TENANT", .key = "name", .kind = COL_STR},
        {.header = "TIER", .key = "tier", .kind = COL_STR},
        {.header = "GPU-HOURS", .key = "gpu_hours", .kind = COL_TENTHS, .right = true},
        {.header = "ENERGY", .key = "energy_kwh", .kind = COL_ENERGY, .right = true},
        {.header = "COMPLETED", .key = "jobs_completed", .kind = COL_COUNT, .right = true},
        {.header = "FAILED", .key = "jobs_failed", .kind = COL_COUNT, .right = true},
};

static void render_usage(const json_t *j)
{
    print_rows(json_object_get(j, "tenants"), usage_cols, NCOLS(usage_cols));
}

int cmd_usage(int argc, char **argv)
{
    struct usage_args u = {0};
    struct cli_args args = {0};
    int rc = cli_parse_args(&usage_spec, argc, argv, on_usage_opt, &u, &args);
    if (rc == CLI_RUN) {
        bool energy = u.vals[0] || u.vals[1] || u.vals[2] || u.vals[3];
        static const char *const keys[] = {"by", "since", "until", "grid_gco2_per_kwh"};
        char *path = energy ? cli_path_query("/v1/energy", keys, u.vals, 4) : NULL;
        rc = cli_get_and_print(args.url, args.token_file, energy ? path : "/v1/usage", args.json,
                               energy ? render_energy : render_usage);
        free(path);
    }
    cli_args_release(&args);
    return rc;
}
