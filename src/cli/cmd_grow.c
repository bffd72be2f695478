/* SPDX-License-Identifier: MIT */
/*
 * cmd_grow.c - `nordlys facility add-racks SITE COUNT`: expansion online
 * (issue 11), one POST /v1/facility/racks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "nordlys/err.h"
#include "opt.h"
#include "table.h"

enum grow_opt {
    GOPT_JUR,
    GOPT_RPP,
    GOPT_NPR,
    GOPT_GPN,
    GOPT_POWER,
    GOPT_COUNT
};

static const struct cli_opt grow_opts[GOPT_COUNT] = {
        [GOPT_JUR] = {"jurisdiction", "CC", "a new site's jurisdiction (default: the last site's)"},
        [GOPT_RPP] = {"racks-per-pod", "N", "a new site's racks per pod (default: the last site's)"},
        [GOPT_NPR] = {"nodes-per-rack", "N", "a new site's nodes per rack (default: the last site's)"},
        [GOPT_GPN] = {"gpus-per-node", "N", "a new site's GPUs per node (default: the last site's)"},
        [GOPT_POWER] = {"power", "POWER",
                        "power the racks bring (290MW, 500kW): added to the site's limit and the "
                        "facility's budget"},
};

static const struct cli_spec grow_spec = {
        .name = "facility add-racks",
        .usage = "[OPTIONS] SITE COUNT",
        .summary = "Add COUNT racks, with their nodes, GPUs and power, to the running facility "
                   "(operator role).\n"
                   "They join SITE if it is the last site (taking its shape), or make a new site "
                   "SITE after it; no node is renumbered. The new nodes are down until an agent "
                   "registers for them (nordlys-agent --nodes or --emulate); the controller keeps "
                   "them across restarts (docs/power.md, Expansion online).",
        .opts = grow_opts,
        .nopts = GOPT_COUNT,
        .min_pos = 2,
        .max_pos = 2,
};

struct grow_opts {
    const char *v[GOPT_COUNT];
};

static int on_grow_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    (void)err;
    ((struct grow_opts *)ctx)->v[idx] = val;
    return 0;
}

/* The request body, or NULL with err naming the bad argument. */
static json_t *grow_body(const struct cli_args *args, const struct grow_opts *o, struct nl_err *err)
{
    int64_t racks = 0, n = 0;
    if (cli_parse_int("COUNT", args->pos[1], 1, 20000, &racks, err) < 0)
        return NULL;
    json_t *body = json_pack("{s:s, s:I}", "site", args->pos[0], "racks", (json_int_t)racks);
    static const struct {
        enum grow_opt opt;
        const char *flag, *field;
        int64_t max;
    } ints[] = {{GOPT_RPP, "--racks-per-pod", "racks_per_pod", 1024},
                {GOPT_NPR, "--nodes-per-rack", "nodes_per_rack", 64},
                {GOPT_GPN, "--gpus-per-node", "gpus_per_node", 8}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (o->v[ints[i].opt] == NULL)
            continue;
        if (cli_parse_int(ints[i].flag, o->v[ints[i].opt], 1, ints[i].max, &n, err) < 0) {
            json_decref(body);
            return NULL;
        }
        json_object_set_new(body, ints[i].field, json_integer(n));
    }
    if (o->v[GOPT_JUR] != NULL)
        json_object_set_new(body, "jurisdiction", json_string(o->v[GOPT_JUR]));
    if (o->v[GOPT_POWER] != NULL) {
        double w = 0;
        if (cli_parse_power(o->v[GOPT_POWER], &w, err) < 0) {
            nl_err_set(err, -EINVAL, "--power: '%s' is not a power (a number with W, kW, MW or GW)",
                       o->v[GOPT_POWER]);
            json_decref(body);
            return NULL;
        }
        json_object_set_new(body, "power_w", json_real(w));
    }
    return body;
}

static void render_grown(const json_t *a)
{
    char b[CLI_FMT_MAX], c[CLI_FMT_MAX];
    const char *site = json_string_value(json_object_get(a, "site"));
    printf("added          %.0f racks, %.0f nodes, %s GPUs to site %s\n",
           cli_json_num(a, "racks_added"), cli_json_num(a, "nodes_added"),
           cli_fmt_count(b, cli_json_num(a, "gpus_added")), site ? site : "?");
    printf("new nodes      %s .. %s\n", json_string_value(json_object_get(a, "first_node")),
           json_string_value(json_object_get(a, "last_node")));
    double budget = cli_json_num(a, "budget_w");
    printf("facility       %.0f racks, %s GPUs, budget %s\n", cli_json_num(a, "racks"),
           cli_fmt_count(b, cli_json_num(a, "gpus")),
           budget > 0 ? cli_fmt_power(c, budget) : "none");
}

int cmd_facility_add_racks(int argc, char **argv)
{
    struct grow_opts o = {0};
    struct cli_args args = {0};
    int rc = cli_parse_args(&grow_spec, argc, argv, on_grow_opt, &o, &args);
    if (rc != CLI_RUN)
        goto out;
    struct nl_err err = {0};
    json_t *body = grow_body(&args, &o, &err);
    if (body == NULL) {
        fprintf(stderr, "nordlys facility add-racks: %s\n", err.msg);
        rc = NL_CLI_USAGE;
        goto out;
    }
    struct cli_client *cl = cli_client_create(args.url);
    rc = cli_client_use_token(cl, args.token_file);
    if (rc == NL_CLI_OK) {
        json_t *answer = NULL;
        rc = cli_client_call(cl, "POST", "/v1/facility/racks", body, &answer);
        if (rc == NL_CLI_OK && args.json)
            cli_print_json(answer);
        else if (rc == NL_CLI_OK)
            render_grown(answer);
        json_decref(answer);
    }
    json_decref(body);
    cli_client_destroy(cl);
out:
    cli_args_release(&args);
    return rc;
}
