/* SPDX-License-Identifier: MIT */
/*
 * cmd_facility.c - `nordlys nodes`, `facility`, `tenants` and `usage`:
 * read-only views of the controller's state, one GET each.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "commands.h"
#include "nordlys/err.h"
#include "opt.h"
#include "table.h"

/* A node's job list is cut to this many ids in the table (an emulated node runs few). */
#define CLI_NODE_JOBS_MAX 4

/* ---- nodes ---- */

static const struct cli_opt nodes_opts[] = {
        {"state", "S", "only nodes in state S: up, down or unregistered"},
};

static const struct cli_spec nodes_spec = {
        .name = "nodes",
        .usage = "[OPTIONS]",
        .summary = "List the facility's nodes, their free GPUs, jobs and last heartbeat.",
        .opts = nodes_opts,
        .nopts = 1,
};

static int on_nodes_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    (void)idx;
    (void)err;
    *(const char **)ctx = val;
    return 0;
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

static void render_nodes(const json_t *j)
{
    static const char *const hdr[] = {"NAME", "SITE", "RACK",  "STATE",    "GPUS",
                                      "FREE", "JOBS", "AGENT", "HEARTBEAT"};
    struct cli_table *t = cli_table_create(9, hdr);
    cli_table_align_right(t, 4);
    cli_table_align_right(t, 5);
    double now = (double)time(NULL);
    const json_t *nodes = json_object_get(j, "nodes");
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        const json_t *n = json_array_get(nodes, i);
        char b[CLI_FMT_MAX];
        cli_table_add(t, cli_json_str(n, "name"));
        cli_table_add(t, cli_json_str(n, "site"));
        const json_t *rack = json_object_get(n, "rack");
        if (json_is_string(rack))
            cli_table_add(t, json_string_value(rack));
        else
            cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "rack")));
        cli_table_add(t, cli_json_str(n, "state"));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "gpus")));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "free")));
        add_jobs_cell(t, json_object_get(n, "jobs"));
        cli_table_add(t, cli_json_str(n, "agent"));
        add_ago_cell(t, cli_json_num(n, "last_heartbeat"), now);
    }
    cli_table_print(t, stdout);
    cli_table_destroy(t);
}

int cmd_nodes(int argc, char **argv)
{
    const char *state = NULL;
    struct cli_args args = {0};
    int rc = cli_parse_args(&nodes_spec, argc, argv, on_nodes_opt, &state, &args);
    if (rc == CLI_RUN) {
        static const char *const keys[] = {"state"};
        const char *vals[] = {state};
        char *path = cli_path_query("/v1/nodes", keys, vals, 1);
        rc = cli_get_and_print(args.url, path, args.json, render_nodes);
        free(path);
    }
    cli_args_release(&args);
    return rc;
}

/* ---- facility ---- */

static const struct cli_spec facility_spec = {
        .name = "facility",
        .usage = "[OPTIONS]",
        .summary = "Show the facility: GPUs in use, jobs, power against its budget, its sites.",
};

static void render_sites(const json_t *sites)
{
    static const char *const hdr[] = {"SITE",  "JURISDICTION", "EEA",  "GPUS",
                                      "RACKS", "NODES",        "POWER"};
    struct cli_table *t = cli_table_create(7, hdr);
    for (size_t c = 3; c < 7; c++)
        cli_table_align_right(t, c);
    for (size_t i = 0; i < json_array_size(sites); i++) {
        const json_t *s = json_array_get(sites, i);
        char b[CLI_FMT_MAX];
        cli_table_add(t, cli_json_str(s, "name"));
        cli_table_add(t, cli_json_str(s, "jurisdiction"));
        cli_table_add(t, cli_json_bool(s, "eea") ? "yes" : "no");
        cli_table_add(t, cli_fmt_count(b, cli_json_num(s, "gpus")));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(s, "racks")));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(s, "nodes")));
        cli_table_add(t, cli_fmt_power(b, cli_json_num(s, "power_w")));
    }
    cli_table_print(t, stdout);
    cli_table_destroy(t);
}

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
    render_sites(json_object_get(f, "sites"));
}

int cmd_facility(int argc, char **argv)
{
    struct cli_args args = {0};
    int rc = cli_parse_args(&facility_spec, argc, argv, NULL, NULL, &args);
    if (rc == CLI_RUN)
        rc = cli_get_and_print(args.url, "/v1/facility", args.json, render_facility);
    cli_args_release(&args);
    return rc;
}

/* ---- tenants ---- */

static const struct cli_spec tenants_spec = {
        .name = "tenants",
        .usage = "[OPTIONS]",
        .summary = "List tenants: tier, quota and borrowing limit, and what each uses now.",
};

static void render_tenants(const json_t *j)
{
    static const char *const hdr[] = {"TENANT", "TIER",  "QUOTA",    "BORROW",  "WEIGHT",
                                      "HOME",   "ALLOC", "BORROWED", "PENDING", "RUNNING"};
    struct cli_table *t = cli_table_create(10, hdr);
    for (size_t c = 2; c < 10; c++)
        if (c != 5)
            cli_table_align_right(t, c);
    const json_t *tenants = json_object_get(j, "tenants");
    for (size_t i = 0; i < json_array_size(tenants); i++) {
        const json_t *n = json_array_get(tenants, i);
        char b[CLI_FMT_MAX];
        cli_table_add(t, cli_json_str(n, "name"));
        cli_table_add(t, cli_json_str(n, "tier"));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "quota_gpus")));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "borrow_gpus")));
        double w = cli_json_num(n, "weight");
        if (isfinite(w))
            cli_table_addf(t, "%g", w);
        else
            cli_table_add(t, NULL);
        cli_table_add(t, cli_json_str(n, "jurisdiction"));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "gpus_alloc")));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "gpus_borrowed")));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "jobs_pending")));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "jobs_running")));
    }
    cli_table_print(t, stdout);
    cli_table_destroy(t);
}

int cmd_tenants(int argc, char **argv)
{
    struct cli_args args = {0};
    int rc = cli_parse_args(&tenants_spec, argc, argv, NULL, NULL, &args);
    if (rc == CLI_RUN)
        rc = cli_get_and_print(args.url, "/v1/tenants", args.json, render_tenants);
    cli_args_release(&args);
    return rc;
}

/* ---- usage ---- */

static const struct cli_spec usage_spec = {
        .name = "usage",
        .usage = "[OPTIONS]",
        .summary =
                "Accounting per tenant: GPU-hours, energy (with PUE), jobs completed and failed.",
};

static void render_usage(const json_t *j)
{
    static const char *const hdr[] = {"TENANT", "TIER",      "GPU-HOURS",
                                      "ENERGY", "COMPLETED", "FAILED"};
    struct cli_table *t = cli_table_create(6, hdr);
    for (size_t c = 2; c < 6; c++)
        cli_table_align_right(t, c);
    const json_t *tenants = json_object_get(j, "tenants");
    for (size_t i = 0; i < json_array_size(tenants); i++) {
        const json_t *n = json_array_get(tenants, i);
        char b[CLI_FMT_MAX];
        cli_table_add(t, cli_json_str(n, "name"));
        cli_table_add(t, cli_json_str(n, "tier"));
        cli_table_addf(t, "%.1f", cli_json_num(n, "gpu_hours"));
        cli_table_add(t, cli_fmt_energy(b, cli_json_num(n, "energy_kwh")));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "jobs_completed")));
        cli_table_add(t, cli_fmt_count(b, cli_json_num(n, "jobs_failed")));
    }
    cli_table_print(t, stdout);
    cli_table_destroy(t);
}

int cmd_usage(int argc, char **argv)
{
    struct cli_args args = {0};
    int rc = cli_parse_args(&usage_spec, argc, argv, NULL, NULL, &args);
    if (rc == CLI_RUN)
        rc = cli_get_and_print(args.url, "/v1/usage", args.json, render_usage);
    cli_args_release(&args);
    return rc;
}
