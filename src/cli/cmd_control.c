/* SPDX-License-Identifier: MIT */
/*
 * cmd_control.c - controlling submitted jobs (issue 12):
 *
 *   nordlys cancel ID... | --name N --state S --tenant T --user U
 *   nordlys requeue ID...
 *   nordlys update ID [--time T] [--gpus N] [--name X] [--grace S] [--requeue|--no-requeue]
 *   nordlys signal ID SIG
 *
 * Each is one request per job (or one DELETE /v1/jobs with filters) of
 * docs/api.md; the controller checks roles, tenants and states and names
 * the field it refuses, which is printed as it came.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "common/signame.h"
#include "common/xalloc.h"
#include "jobref.h"
#include "nordlys/err.h"
#include "opt.h"

/* Parse every positional argument as a job id into a new array; NULL with the message printed. */
static int64_t *parse_ids(const char *cmd, const struct cli_args *args, size_t first)
{
    int64_t *ids = xcalloc(args->npos ? args->npos : 1, sizeof(*ids));
    for (size_t i = first; i < args->npos; i++) {
        struct nl_err err = {0};
        if (cli_parse_job_id(args->pos[i], &ids[i], &err) < 0) {
            fprintf(stderr, "nordlys %s: %s\n", cmd, err.msg);
            free(ids);
            return NULL;
        }
    }
    return ids;
}

/*
 * METHOD /v1/jobs/ID[suffix] for each of ids, printing each answer with
 * print (or as JSON). A refusal is reported and the rest still go; an
 * unreachable controller stops at once.
 */
static int each_job(struct cli_client *c, const char *method, const char *suffix,
                    const json_t *body, const int64_t *ids, size_t n, bool json,
                    void (*print)(int64_t id, const json_t *answer))
{
    int rc = NL_CLI_OK;
    for (size_t i = 0; i < n; i++) {
        char path[96];
        json_t *answer = NULL;
        snprintf(path, sizeof(path), "/v1/jobs/%lld%s", (long long)ids[i], suffix);
        int one = cli_client_call(c, method, path, body, &answer);
        if (one == NL_CLI_OK && json)
            cli_print_json(answer);
        else if (one == NL_CLI_OK)
            print(ids[i], answer);
        json_decref(answer);
        if (one == NL_CLI_UNREACHABLE)
            return one;
        if (one != NL_CLI_OK)
            rc = one;
    }
    return rc;
}

/* ---- cancel ---- */

enum {
    CAN_NAME,
    CAN_STATE,
    CAN_TENANT,
    CAN_USER,
    CAN_COUNT
};

static const struct cli_opt cancel_opts[CAN_COUNT] = {
        [CAN_NAME] = {"name", "NAME", "cancel every live job named NAME"},
        [CAN_STATE] = {"state", "S[,S]", "only jobs in these states: PENDING, RUNNING, PREEMPTING"},
        [CAN_TENANT] = {"tenant", "T", "only tenant T's jobs (a user: one of their own tenants)"},
        [CAN_USER] = {"user", "U", "only jobs that run as Unix account U"},
};

static const struct cli_spec cancel_spec = {
        .name = "cancel",
        .usage = "[OPTIONS] [ID...]",
        .summary = "Cancel jobs: a pending job ends at once, a running one is killed.\n"
                   "Give ids, or filters (--name, --state, --tenant, --user; all of them must\n"
                   "match) to cancel every live job that matches, in one request; a user\n"
                   "only ever cancels their own tenants' jobs.\n"
                   "With --json, prints the API's answer for each job (or the filter's) in turn.",
        .opts = cancel_opts,
        .nopts = CAN_COUNT,
        .max_pos = SIZE_MAX,
};

struct cancel_filter {
    const char *v[CAN_COUNT];
};

static int cancel_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    (void)err;
    ((struct cancel_filter *)ctx)->v[idx] = val;
    return 0;
}

static int cancel_filtered(struct cli_client *c, const struct cancel_filter *f, bool json)
{
    static const char *const keys[CAN_COUNT] = {"name", "state", "tenant", "user"};
    char *path = cli_path_query("/v1/jobs", keys, f->v, CAN_COUNT);
    json_t *answer = NULL;
    int rc = cli_client_call(c, "DELETE", path, NULL, &answer);
    free(path);
    if (rc == NL_CLI_OK && json) {
        cli_print_json(answer);
    } else if (rc == NL_CLI_OK) {
        double n = cli_json_num(answer, "cancelled"), ended = cli_json_num(answer, "ended");
        printf("cancelled %.0f job%s (%.0f ended now, %.0f being killed)", n, n == 1 ? "" : "s",
               ended, cli_json_num(answer, "killing"));
        const json_t *ids = json_object_get(answer, "jobs");
        for (size_t i = 0; i < json_array_size(ids) && i < 20; i++)
            printf("%s%lld", i ? " " : ": ", (long long)json_integer_value(json_array_get(ids, i)));
        printf("%s\n", json_array_size(ids) > 20 ? " ..." : "");
        if (cli_json_bool(answer, "truncated"))
            printf("more jobs match: run it again\n");
    }
    json_decref(answer);
    return rc;
}

int cmd_cancel(int argc, char **argv)
{
    struct cli_args args = {0};
    struct cancel_filter f = {0};
    struct cli_client *c = NULL;
    int rc = cli_parse_args(&cancel_spec, argc, argv, cancel_opt, &f, &args);
    if (rc != CLI_RUN)
        goto out;
    bool filtered = f.v[CAN_NAME] || f.v[CAN_STATE] || f.v[CAN_TENANT] || f.v[CAN_USER];
    if (args.npos == 0 && !filtered) {
        fprintf(stderr, "nordlys cancel: give job ids, or --name, --state, --tenant or --user "
                        "(see nordlys cancel --help)\n");
        rc = NL_CLI_USAGE;
        goto out;
    }
    if (args.npos > 0 && filtered) {
        fprintf(stderr, "nordlys cancel: give job ids or filters, not both\n");
        rc = NL_CLI_USAGE;
        goto out;
    }
    /* Ids are ID or ID_INDEX (an array's task), all checked before anything is sent. */
    for (size_t i = 0; i < args.npos; i++) {
        struct nl_err err = {0};
        int64_t id, index;
        if (cli_jobref_parse(args.pos[i], &id, &index, &err) < 0) {
            fprintf(stderr, "nordlys cancel: %s\n", err.msg);
            rc = NL_CLI_USAGE;
            goto out;
        }
    }
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) != NL_CLI_OK)
        goto out;
    rc = filtered ? cancel_filtered(c, &f, args.json)
                  : cli_jobref_cancel(c, args.pos, args.npos, args.json);
out:
    cli_client_destroy(c);
    cli_args_release(&args);
    return rc;
}

/* ---- requeue ---- */

static const struct cli_spec requeue_spec = {
        .name = "requeue",
        .usage = "[OPTIONS] ID...",
        .summary = "Put jobs back in the queue, under their ids (as scontrol requeue does).\n"
                   "A running job is killed first (SIGTERM, SIGKILL after its grace) and waits\n"
                   "again once it has stopped: its next start is a new run. A finished job\n"
                   "(COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL) waits again at once.",
        .min_pos = 1,
        .max_pos = SIZE_MAX,
};

static void print_requeued(int64_t id, const json_t *answer)
{
    const json_t *job = json_object_get(answer, "job");
    if (strcmp(cli_json_str(job, "requeue"), "killing") == 0)
        printf("requeueing job %lld: stopping run %.0f first\n", (long long)id,
               cli_json_num(job, "run"));
    else
        printf("requeued job %lld (%s)\n", (long long)id, cli_json_str(job, "state"));
}

int cmd_requeue(int argc, char **argv)
{
    struct cli_args args = {0};
    int64_t *ids = NULL;
    struct cli_client *c = NULL;
    int rc = cli_parse_args(&requeue_spec, argc, argv, NULL, NULL, &args);
    if (rc != CLI_RUN)
        goto out;
    if ((ids = parse_ids("requeue", &args, 0)) == NULL) {
        rc = NL_CLI_USAGE;
        goto out;
    }
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) == NL_CLI_OK)
        rc = each_job(c, "POST", "/requeue", NULL, ids, args.npos, args.json, print_requeued);
out:
    cli_client_destroy(c);
    free(ids);
    cli_args_release(&args);
    return rc;
}

/* ---- update ---- */

enum {
    UPD_TIME,
    UPD_GPUS,
    UPD_NAME,
    UPD_GRACE,
    UPD_REQUEUE,
    UPD_NO_REQUEUE,
    UPD_COUNT
};

static const struct cli_opt update_opts[UPD_COUNT] = {
        [UPD_TIME] = {"time", "LIMIT",
                      "new time limit, as submit's --time (a running job: lower only)"},
        [UPD_GPUS] = {"gpus", "N", "new GPU count (pending jobs; checked against the facility)"},
        [UPD_NAME] = {"name", "X", "new name"},
        [UPD_GRACE] = {"grace", "SECONDS", "new grace between SIGTERM and SIGKILL (pending jobs)"},
        [UPD_REQUEUE] = {"requeue", NULL, "requeue after preemption or node loss (pending jobs)"},
        [UPD_NO_REQUEUE] = {"no-requeue", NULL, "do not requeue (pending jobs)"},
};

static const struct cli_spec update_spec = {
        .name = "update",
        .usage = "[OPTIONS] ID",
        .summary = "Change a job: a PENDING job's name, time limit, GPUs, grace and requeue;\n"
                   "a RUNNING job's name, and its time limit downwards (as Slurm lets users).\n"
                   "What a job's state does not allow is refused naming the field.",
        .opts = update_opts,
        .nopts = UPD_COUNT,
        .min_pos = 1,
        .max_pos = 1,
};

static int update_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    json_t *body = ctx;
    int64_t v = 0;
    int rc = 0;
    switch (idx) {
    case UPD_TIME:
        /* As submit's --time: Slurm's forms, a bare number is minutes. */
        if ((rc = cli_parse_time_limit("--time", val, &v, err)) == 0)
            json_object_set_new(body, "time_limit_s", json_integer(v));
        return rc;
    case UPD_GPUS:
        if ((rc = cli_parse_int("--gpus", val, 1, INT32_MAX, &v, err)) == 0)
            json_object_set_new(body, "gpus", json_integer(v));
        return rc;
    case UPD_NAME:
        json_object_set_new(body, "name", json_string(val));
        return 0;
    case UPD_GRACE:
        if (strcmp(val, "0") != 0 && (rc = cli_parse_duration("--grace", val, &v, err)) < 0)
            return rc;
        json_object_set_new(body, "grace_s", json_integer(v));
        return 0;
    case UPD_REQUEUE:
    case UPD_NO_REQUEUE:
        json_object_set_new(body, "requeue", json_boolean(idx == UPD_REQUEUE));
        return 0;
    default:
        return nl_err_set(err, -EINVAL, "unknown option");
    }
}

static void print_updated(int64_t id, const json_t *answer)
{
    const json_t *job = json_object_get(answer, "job");
    printf("updated job %lld (%s): name %s, %.0f GPUs, time limit %.0f s\n", (long long)id,
           cli_json_str(job, "state"), cli_json_str(job, "name"), cli_json_num(job, "gpus"),
           cli_json_num(job, "time_limit_s"));
}

int cmd_update(int argc, char **argv)
{
    struct cli_args args = {0};
    json_t *body = json_object();
    int64_t *ids = NULL;
    struct cli_client *c = NULL;
    int rc = cli_parse_args(&update_spec, argc, argv, update_opt, body, &args);
    if (rc != CLI_RUN)
        goto out;
    if (json_object_size(body) == 0) {
        fprintf(stderr, "nordlys update: nothing to change: give --time, --gpus, --name, --grace "
                        "or --requeue/--no-requeue\n");
        rc = NL_CLI_USAGE;
        goto out;
    }
    if ((ids = parse_ids("update", &args, 0)) == NULL) {
        rc = NL_CLI_USAGE;
        goto out;
    }
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) == NL_CLI_OK)
        rc = each_job(c, "PATCH", "", body, ids, 1, args.json, print_updated);
out:
    cli_client_destroy(c);
    free(ids);
    json_decref(body);
    cli_args_release(&args);
    return rc;
}

/* ---- signal ---- */

static const struct cli_spec signal_spec = {
        .name = "signal",
        .usage = "[OPTIONS] ID SIG",
        .summary = "Send SIG (a name, USR1 or SIGUSR1, or a number) to a running job's processes\n"
                   "on every node (each node's process group). Allowed: HUP INT QUIT ABRT USR1\n"
                   "USR2 ALRM TERM CONT STOP TSTP WINCH URG and RTMIN..RTMAX; to end a job, use\n"
                   "nordlys cancel (SIGKILL is refused).",
        .min_pos = 2,
        .max_pos = 2,
};

static void print_signalled(int64_t id, const json_t *answer)
{
    const json_t *sig = json_object_get(json_object_get(answer, "job"), "signal");
    printf("sent SIG%s to job %lld (%.0f node%s)\n", cli_json_str(sig, "signal"), (long long)id,
           cli_json_num(sig, "ranks"), cli_json_num(sig, "ranks") == 1 ? "" : "s");
}

int cmd_signal(int argc, char **argv)
{
    struct cli_args args = {0};
    int64_t *ids = NULL;
    struct cli_client *c = NULL;
    json_t *body = NULL;
    int rc = cli_parse_args(&signal_spec, argc, argv, NULL, NULL, &args);
    if (rc != CLI_RUN)
        goto out;
    int sig = signame_parse(args.pos[1]);
    if (sig < 0) {
        fprintf(stderr, "nordlys signal: '%s' is %s; one of %s\n", args.pos[1],
                sig == -2 ? "a signal that may not be sent (nordlys cancel ends a job)"
                          : "not a signal",
                signame_allowed());
        rc = NL_CLI_USAGE;
        goto out;
    }
    args.npos = 1; /* the id only */
    if ((ids = parse_ids("signal", &args, 0)) == NULL) {
        rc = NL_CLI_USAGE;
        goto out;
    }
    body = json_pack("{s:i}", "signal", sig);
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) == NL_CLI_OK)
        rc = each_job(c, "POST", "/signal", body, ids, 1, args.json, print_signalled);
out:
    json_decref(body);
    cli_client_destroy(c);
    free(ids);
    cli_args_release(&args);
    return rc;
}
