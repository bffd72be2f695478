/* SPDX-License-Identifier: MIT */
/*
 * fuzz_script.c - libFuzzer target for what `nordlys submit` reads from a
 * user's files and words: a batch script's header (cli_script_parse, with
 * its #NORDLYS and #SBATCH directives), a --time value
 * (cli_parse_time_limit) and an --export list (cli_export_build).
 *
 * What must hold: a refusal always says why; a parsed script's directives
 * point into the option table, on a header line, with a value exactly when
 * the option takes one; its job command is recognised again by
 * cli_script_describe; a time limit is within (0, 366 days].
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/export.h"
#include "cli/opt.h"
#include "cli/script.h"
#include "common/proto_limits.h"
#include "nordlys/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct cli_opt opts[] = {
        {"gpus", "N", ""},         {"name", "X", ""},   {"time", "LIMIT", ""},
        {"cwd", "DIR", ""},        {"tenant", "T", ""}, {"nodes", "N", ""},
        {"no-requeue", NULL, ""},  {"hold", NULL, ""},  {"export", "SPEC", ""},
        {"output", "PATTERN", ""},
};
static const struct cli_spec spec = {
        .name = "submit",
        .usage = "",
        .summary = "",
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .max_pos = SIZE_MAX,
};

static void check_script(const char *text, size_t size)
{
    struct cli_script *sc = NULL;
    struct nl_err err = {0};
    if (cli_script_parse("fuzz.sh", text, size, &spec, &sc, &err) < 0) {
        if (err.msg[0] == '\0' || sc != NULL)
            abort();
        return;
    }
    for (size_t i = 0; i < sc->ndirs; i++) {
        const struct cli_script_directive *d = &sc->dirs[i];
        if (d->opt >= spec.nopts || d->line < 2 || d->written == NULL)
            abort();
        if ((d->val != NULL) != (opts[d->opt].metavar != NULL))
            abort();
    }
    char *args[] = {(char *)"a"};
    json_t *cmd = cli_script_command(sc, args, 1);
    char *desc = cli_script_describe(cmd);
    if (desc == NULL)
        abort();
    free(desc);
    json_decref(cmd);
    cli_script_destroy(sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    check_script(text, size);

    /* The same bytes as one word: a --time value and an --export list. */
    struct nl_err err = {0};
    int64_t s = 0;
    if (cli_parse_time_limit("--time", text, &s, &err) == 0) {
        if (s <= 0 || s > (int64_t)NL_PROTO_TIME_LIMIT_MAX_S)
            abort();
    } else if (err.msg[0] == '\0') {
        abort();
    }
    char *envp[] = {(char *)"PATH=/bin", (char *)"NORDLYS_TOKEN=t", (char *)"A=1", NULL};
    json_t *env = NULL;
    err.msg[0] = '\0';
    if (cli_export_build(text, envp, &env, &err) == 0) {
        if (json_object_get(env, "NORDLYS_TOKEN") != NULL)
            abort();
        json_decref(env);
    } else if (err.msg[0] == '\0' || env != NULL) {
        abort();
    }
    free(text);
    return 0;
}
