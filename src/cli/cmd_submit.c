/* SPDX-License-Identifier: MIT */
/*
 * cmd_submit.c - `nordlys submit`: send one job request, print its id.
 *
 * The first argument that is not an option starts the job's command, so
 * "nordlys submit --gpus 2 python3 train.py --lr 3e-4" passes "--lr" to
 * the job, not to us; "--" makes that explicit and is what the docs show.
 */
#include "cmd_submit.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "nordlys/err.h"
#include "opt.h"

enum {
    OPT_GPUS,
    OPT_TENANT,
    OPT_TIME,
    OPT_RESIDENCY,
    OPT_SENSITIVE,
    OPT_PREEMPTIBLE,
    OPT_NO_REQUEUE,
    OPT_GRACE,
    OPT_NAME,
    OPT_ENV,
    OPT_CWD,
    OPT_PARSABLE,
    OPT_COUNT,
};

static const struct cli_opt submit_opts[OPT_COUNT] = {
        [OPT_GPUS] = {"gpus", "N", "GPUs for the job, all at once (default 1)"},
        [OPT_TENANT] = {"tenant", "T", "tenant to charge (default: the facility's first tenant)"},
        [OPT_TIME] = {"time", "LIMIT", "time limit: 2h, 90m, 1h30m or seconds (default 1h)"},
        [OPT_RESIDENCY] = {"residency", "R", "where it may run: NO, EEA, UK or any (default any)"},
        [OPT_SENSITIVE] = {"sensitive", NULL, "whole nodes only, shared with no other tenant"},
        [OPT_PREEMPTIBLE] = {"preemptible", NULL, "may be preempted to reclaim quota"},
        [OPT_NO_REQUEUE] = {"no-requeue", NULL, "do not requeue after preemption or node loss"},
        [OPT_GRACE] = {"grace", "SECONDS",
                       "time between SIGTERM and SIGKILL on preemption (default 60)"},
        [OPT_NAME] = {"name", "X", "job name (default \"job\")"},
        [OPT_ENV] = {"env", "K=V", "set an environment variable for the job (repeatable)"},
        [OPT_CWD] = {"cwd", "DIR", "working directory of the job (default: the current one)"},
        [OPT_PARSABLE] = {"parsable", NULL, "print only the job id"},
};

static const struct cli_spec submit_spec = {
        .name = "submit",
        .usage = "[OPTIONS] -- CMD [ARGS...]",
        .summary =
                "Submit a job that runs CMD on its GPUs. The job is durable once this prints its id.",
        .opts = submit_opts,
        .nopts = OPT_COUNT,
        .min_pos = 1,
        .max_pos = SIZE_MAX,
        .stop_at_pos = true,
};

static int parse_grace(const char *val, int64_t *out, struct nl_err *err)
{
    /* Zero is a real choice (kill at once), which a duration may not be. */
    if (strcmp(val, "0") == 0) {
        *out = 0;
        return 0;
    }
    return cli_parse_duration("--grace", val, out, err);
}

static int add_env(struct cli_submit *s, const char *val, struct nl_err *err)
{
    size_t klen = 0;
    int rc = cli_parse_env("--env", val, &klen, err);
    if (rc < 0)
        return rc;
    if (s->env == NULL)
        s->env = json_object();
    /* Later assignments win, as in a shell. */
    json_object_setn_new_nocheck(s->env, val, klen, json_string(val + klen + 1));
    return 0;
}

static int on_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    struct cli_submit *s = ctx;
    switch (idx) {
    case OPT_GPUS:
        return cli_parse_int("--gpus", val, 1, INT32_MAX, &s->gpus, err);
    case OPT_TENANT:
        s->tenant = val;
        return 0;
    case OPT_TIME:
        return cli_parse_duration("--time", val, &s->time_limit_s, err);
    case OPT_RESIDENCY:
        s->residency = val;
        return 0;
    case OPT_SENSITIVE:
        s->sensitive = true;
        return 0;
    case OPT_PREEMPTIBLE:
        s->preemptible = true;
        return 0;
    case OPT_NO_REQUEUE:
        s->no_requeue = true;
        return 0;
    case OPT_GRACE:
        s->has_grace = true;
        return parse_grace(val, &s->grace_s, err);
    case OPT_NAME:
        s->name = val;
        return 0;
    case OPT_ENV:
        return add_env(s, val, err);
    case OPT_CWD:
        s->cwd = val;
        return 0;
    case OPT_PARSABLE:
        s->parsable = true;
        return 0;
    default:
        return nl_err_set(err, -EINVAL, "unknown option");
    }
}

int cli_submit_parse(int argc, char **argv, struct cli_submit *s, struct cli_args *args,
                     struct nl_err *err)
{
    int rc = cli_opt_parse(&submit_spec, argc, argv, on_opt, s, args, err);
    if (rc < 0)
        return rc;
    s->command = args->pos;
    s->ncommand = args->npos;
    return 0;
}

json_t *cli_submit_json(const struct cli_submit *s)
{
    json_t *req = json_object();
    if (s->name != NULL)
        json_object_set_new(req, "name", json_string(s->name));
    if (s->tenant != NULL)
        json_object_set_new(req, "tenant", json_string(s->tenant));
    if (s->gpus > 0)
        json_object_set_new(req, "gpus", json_integer(s->gpus));
    if (s->time_limit_s > 0)
        json_object_set_new(req, "time_limit_s", json_integer(s->time_limit_s));
    if (s->residency != NULL)
        json_object_set_new(req, "residency", json_string(s->residency));
    if (s->sensitive)
        json_object_set_new(req, "sensitive", json_true());
    if (s->preemptible)
        json_object_set_new(req, "preemptible", json_true());
    if (s->no_requeue)
        json_object_set_new(req, "requeue", json_false());
    if (s->has_grace)
        json_object_set_new(req, "grace_s", json_integer(s->grace_s));
    json_t *cmd = json_array();
    for (size_t i = 0; i < s->ncommand; i++)
        json_array_append_new(cmd, json_string(s->command[i]));
    json_object_set_new(req, "command", cmd);
    if (s->env != NULL)
        json_object_set(req, "env", s->env);
    if (s->cwd != NULL)
        json_object_set_new(req, "cwd", json_string(s->cwd));
    return req;
}

void cli_submit_release(struct cli_submit *s)
{
    if (s == NULL)
        return;
    json_decref(s->env);
    s->env = NULL;
}

static void print_submitted(const struct cli_submit *s, const json_t *answer)
{
    const json_t *job = json_object_get(answer, "job");
    double id = cli_json_num(job, "id");
    if (s->parsable) {
        printf("%.0f\n", id);
        return;
    }
    printf("submitted job %.0f", id);
    const char *state = cli_json_str(job, "state");
    if (strcmp(state, "-") != 0)
        printf(" (%s)", state);
    printf("\n");
}

int cmd_submit(int argc, char **argv)
{
    struct cli_submit s = {0};
    struct cli_args args = {0};
    struct cli_client *c = NULL;
    json_t *req = NULL;
    json_t *answer = NULL;
    char cwd[PATH_MAX];
    int rc = cli_parse_args(&submit_spec, argc, argv, on_opt, &s, &args);
    if (rc != CLI_RUN)
        goto out;
    s.command = args.pos;
    s.ncommand = args.npos;
    /* Like sbatch, a job starts where it was submitted unless told otherwise. */
    if (s.cwd == NULL && getcwd(cwd, sizeof(cwd)) != NULL)
        s.cwd = cwd;

    req = cli_submit_json(&s);
    c = cli_client_create(args.url);
    rc = cli_client_call(c, "POST", "/v1/jobs", req, &answer);
    if (rc != NL_CLI_OK)
        goto out;
    if (args.json)
        cli_print_json(answer);
    else
        print_submitted(&s, answer);
out:
    json_decref(answer);
    cli_client_destroy(c);
    json_decref(req);
    cli_args_release(&args);
    cli_submit_release(&s);
    return rc;
}
