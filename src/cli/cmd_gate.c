/* SPDX-License-Identifier: MIT */
/*
 * cmd_gate.c - `nordlys hold` and `nordlys release`: keep pending jobs
 * from starting, and let them go again (issue 12). Like cancel, every id
 * is checked before anything is sent, and a refusal of one (not pending,
 * not held, another tenant's) is reported while the rest still go. An
 * array job held as a whole makes no more tasks; a task is named ID_INDEX.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "common/xalloc.h"
#include "jobref.h"
#include "nordlys/err.h"
#include "opt.h"

static const struct cli_spec hold_spec = {
        .name = "hold",
        .usage = "[OPTIONS] ID...",
        .summary = "Hold pending jobs: they stay PENDING (reason Held) and never start until "
                   "released.\nAn array job held as a whole makes no more tasks; ID_INDEX holds "
                   "one task.",
        .min_pos = 1,
        .max_pos = SIZE_MAX,
};

static const struct cli_spec release_spec = {
        .name = "release",
        .usage = "[OPTIONS] ID...",
        .summary = "Release held jobs: they may start again (once their dependencies are met).",
        .min_pos = 1,
        .max_pos = SIZE_MAX,
};

/* Hold (POST) or release (DELETE) every job named in args, in order. */
static int hold_all(const struct cli_args *args, bool hold)
{
    const char *verb = hold ? "hold" : "release";
    int64_t *ids = xcalloc(args->npos, sizeof(*ids));
    int64_t *index = xcalloc(args->npos, sizeof(*index));
    struct cli_client *c = NULL;
    int rc = NL_CLI_OK;
    for (size_t i = 0; i < args->npos; i++) {
        struct nl_err err = {0};
        if (cli_jobref_parse(args->pos[i], &ids[i], &index[i], &err) < 0) {
            fprintf(stderr, "nordlys %s: %s\n", verb, err.msg);
            rc = NL_CLI_USAGE;
            goto out;
        }
    }
    c = cli_client_create(args->url);
    if ((rc = cli_client_use_token(c, args->token_file)) != NL_CLI_OK)
        goto out;
    for (size_t i = 0; i < args->npos; i++) {
        int64_t id = 0;
        int one = cli_jobref_resolve(c, ids[i], index[i], &id);
        json_t *answer = NULL;
        if (one == NL_CLI_OK) {
            char path[64];
            snprintf(path, sizeof(path), "/v1/jobs/%lld/hold", (long long)id);
            one = cli_client_call(c, hold ? "POST" : "DELETE", path, NULL, &answer);
        }
        if (one == NL_CLI_OK && args->json)
            cli_print_json(answer);
        else if (one == NL_CLI_OK)
            printf("%s job %s\n", hold ? "held" : "released", args->pos[i]);
        json_decref(answer);
        if (one == NL_CLI_UNREACHABLE) {
            rc = one;
            goto out;
        }
        if (one != NL_CLI_OK)
            rc = one;
    }
out:
    cli_client_destroy(c);
    free(index);
    free(ids);
    return rc;
}

static void print_cancelled(const json_t *answer)
{
    const json_t *job = json_object_get(answer, "job");
    const char *state = cli_json_str(job, "state");
    char ref[320];
    cli_jobref_format(job, ref, sizeof(ref));
    if (strcmp(state, "CANCELLED") == 0)
        printf("cancelled job %s\n", ref);
    else
        printf("cancelling job %s (%s)\n", ref, state);
}

int cli_jobref_cancel(struct cli_client *c, char *const *refs, size_t n, bool json)
{
    int64_t *ids = xcalloc(n ? n : 1, sizeof(*ids)), *index = xcalloc(n ? n : 1, sizeof(*index));
    int rc = NL_CLI_OK;
    for (size_t i = 0; i < n && rc == NL_CLI_OK; i++) {
        struct nl_err err = {0};
        if (cli_jobref_parse(refs[i], &ids[i], &index[i], &err) < 0) {
            fprintf(stderr, "nordlys cancel: %s\n", err.msg);
            rc = NL_CLI_USAGE;
        }
    }
    for (size_t i = 0; i < n && rc != NL_CLI_USAGE; i++) {
        char path[96];
        json_t *answer = NULL;
        cli_jobref_path(ids[i], index[i], path, sizeof(path));
        int one = cli_client_call(c, "DELETE", path, NULL, &answer);
        if (one == NL_CLI_OK && json)
            cli_print_json(answer);
        else if (one == NL_CLI_OK)
            print_cancelled(answer);
        json_decref(answer);
        if (one != NL_CLI_OK)
            rc = one;
        if (one == NL_CLI_UNREACHABLE)
            break;
    }
    free(index);
    free(ids);
    return rc;
}

static int hold_cmd(const struct cli_spec *spec, int argc, char **argv, bool hold)
{
    struct cli_args args = {0};
    int rc = cli_parse_args(spec, argc, argv, NULL, NULL, &args);
    if (rc == CLI_RUN)
        rc = hold_all(&args, hold);
    cli_args_release(&args);
    return rc;
}

int cmd_hold(int argc, char **argv)
{
    return hold_cmd(&hold_spec, argc, argv, true);
}

int cmd_release(int argc, char **argv)
{
    return hold_cmd(&release_spec, argc, argv, false);
}
