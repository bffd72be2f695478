/* SPDX-License-Identifier: MIT */
/*
 * main.c - the nordlys command line: a table of subcommands.
 *
 * Client commands talk to nordlysd over HTTP (NORDLYS_URL or --url);
 * `nordlys sim` runs the scheduler core in-process under a virtual clock.
 *
 * Three meta commands read the table instead of running a command:
 * `--version`, `help [--man CMD | --man-dir DIR | CMD]` and
 * `completion bash`. The man pages and the completion come from each
 * command's own option table, learned by calling the command in describe
 * mode (opt.h, cli_opt_describe): the table its --help prints.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "common/version.h"
#include "common/xalloc.h"
#include "manual.h"
#include "opt.h"

struct cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct cli_cmd cli_cmds[] = {
    {"submit", cmd_submit, "submit a job: nordlys submit [OPTIONS] -- CMD ARGS..."},
    {"queue", cmd_queue, "list pending and running jobs"},
    {"show", cmd_show, "show one job, and why it waits if it is pending"},
    {"events", cmd_events, "a job's state history: held, started on which nodes, ended"},
    {"run", cmd_run, "submit, wait and stream output: nordlys run [OPTIONS] -- CMD ARGS..."},
    {"cancel", cmd_cancel, "cancel jobs, by id or by --name/--state/--tenant/--user"},
    {"requeue", cmd_requeue, "put a running or finished job back in the queue"},
    {"update", cmd_update, "change a pending job (a running one's time limit, lower)"},
    {"signal", cmd_signal, "send a signal to a running job's processes"},
    {"output", cmd_output, "a job's output as the controller holds it (--follow)"},
    {"hold", cmd_hold, "hold pending jobs: they do not start until released"},
    {"release", cmd_release, "release held jobs"},
    {"nodes", cmd_nodes, "list nodes, free GPUs and heartbeats"},
    {"facility", cmd_facility, "GPUs, jobs and power against the budget"},
    {"tenants", cmd_tenants, "tenants, quotas and current use"},
    {"usage", cmd_usage, "accounting per tenant: GPU-hours and energy"},
    {"history", cmd_history, "finished runs by time window, user, tenant, state"},
    {"drain", cmd_drain, "drain nodes (operator): running jobs finish, nothing new starts"},
    {"resume", cmd_resume, "undrain nodes (operator)"},
    {"reservation", cmd_reservation, "reserve nodes for a window: create, list, delete"},
    {"token", cmd_token, "mint a token (admin): nordlys token create --user U --role R ..."},
    {"audit", cmd_audit, "check the audit log's chain (verify) or export its records"},
    {"sim", cmd_sim, "replay a trace or a synthetic workload on a facility"},
};

/*
 * Commands whose options belong to a subcommand ("token create"): the word
 * describe() puts after the name to reach the option table.
 */
static const struct {
    const char *name;
    const char *sub;
} cli_subs[] = {
        {"token", "create"},
};

#define NCMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

/* The meta commands, for the completion's first word. */
static const char *const meta_words[] = {"help", "completion", "--version", "--help", NULL};

static void usage(FILE *out)
{
    fprintf(out, "usage: nordlys COMMAND [ARGS...]   (nordlys COMMAND --help for details)\n\n");
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(out, "  %-10s %s\n", cli_cmds[i].name, cli_cmds[i].help);
    fprintf(out, "\n  %-10s %s\n", "help", "help CMD, or its man page: help --man CMD");
    fprintf(out, "  %-10s %s\n", "completion",
            "bash completion: source <(nordlys completion bash)");
    fprintf(out, "  %-10s %s\n", "--version", "print the version");
    fprintf(out, "\nexit status: 0 ok, 1 failed, 2 usage error, 3 controller unreachable\n");
}

/*
 * A copy, not the pointer: a command may build its spec on its stack (`run`
 * is submit's table under its own name), gone once the command returns.
 * The strings and the option table inside are static.
 */
static void got_spec(const struct cli_spec *spec, void *ctx)
{
    struct cli_spec **out = ctx;
    if (*out == NULL)
        *out = xmalloc(sizeof(**out));
    **out = *spec;
}

/*
 * Learn what command c looks like: its option table, by calling it in
 * describe mode, or else (a command that parses its own options) its
 * --help text, captured from stdout. Sets m; m->help_text is owned.
 */
static void describe(const struct cli_cmd *c, struct cli_manual_cmd *m)
{
    struct cli_spec *spec = NULL; /* owned by m once set */
    const char *sub = NULL;
    for (size_t i = 0; i < sizeof(cli_subs) / sizeof(cli_subs[0]); i++)
        if (strcmp(cli_subs[i].name, c->name) == 0)
            sub = cli_subs[i].sub;
    char *argv[4] = {(char *)c->name, NULL, NULL, NULL};
    int argc = 1;
    if (sub != NULL)
        argv[argc++] = (char *)sub;
    argv[argc++] = (char *)"--help";

    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    FILE *tmp = tmpfile();
    if (saved >= 0 && tmp != NULL)
        dup2(fileno(tmp), STDOUT_FILENO);
    cli_opt_describe(got_spec, &spec);
    (void)c->fn(argc, argv);
    cli_opt_describe(NULL, NULL);
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, STDOUT_FILENO);
        close(saved);
    }

    *m = (struct cli_manual_cmd){.name = c->name, .sub = sub, .oneline = c->help, .spec = spec};
    if (spec == NULL && tmp != NULL) {
        long n = ftell(tmp);
        char *text = xcalloc((size_t)(n > 0 ? n : 0) + 1, 1);
        rewind(tmp);
        if (n > 0 && fread(text, 1, (size_t)n, tmp) != (size_t)n)
            text[0] = '\0';
        m->help_text = text;
    }
    if (tmp != NULL)
        fclose(tmp);
}

static struct cli_manual_cmd *describe_all(void)
{
    struct cli_manual_cmd *ms = xcalloc(NCMDS, sizeof(*ms));
    for (size_t i = 0; i < NCMDS; i++)
        describe(&cli_cmds[i], &ms[i]);
    return ms;
}

static void free_all(struct cli_manual_cmd *ms)
{
    for (size_t i = 0; i < NCMDS; i++) {
        free((char *)ms[i].help_text);
        free((struct cli_spec *)ms[i].spec);
    }
    free(ms);
}

static const struct cli_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(name, cli_cmds[i].name) == 0)
            return &cli_cmds[i];
    return NULL;
}

/* Write nordlys.1 and nordlys-CMD.1 for every command into dir (created if missing). */
static int man_dir(const char *dir)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "nordlys help: %s: %s\n", dir, strerror(errno));
        return NL_CLI_FAILED;
    }
    struct cli_manual_cmd *ms = describe_all();
    int rc = NL_CLI_OK;
    for (size_t i = 0; i <= NCMDS && rc == NL_CLI_OK; i++) {
        char path[4096];
        if (i == NCMDS)
            snprintf(path, sizeof(path), "%s/nordlys.1", dir);
        else
            snprintf(path, sizeof(path), "%s/nordlys-%s.1", dir, ms[i].name);
        FILE *f = fopen(path, "w");
        if (f == NULL) {
            fprintf(stderr, "nordlys help: %s: %s\n", path, strerror(errno));
            rc = NL_CLI_FAILED;
            break;
        }
        if (i == NCMDS)
            cli_manual_index(f, ms, NCMDS, nl_version());
        else
            cli_manual_page(f, &ms[i], nl_version());
        if (fclose(f) != 0)
            rc = NL_CLI_FAILED;
    }
    free_all(ms);
    return rc;
}

static int cmd_help(int argc, char **argv)
{
    if (argc == 1) {
        usage(stdout);
        return NL_CLI_OK;
    }
    if (argc == 3 && strcmp(argv[1], "--man-dir") == 0)
        return man_dir(argv[2]);
    bool man = argc == 3 && strcmp(argv[1], "--man") == 0;
    const char *name = man ? argv[2] : argv[1];
    if (strcmp(name, "nordlys") == 0 && man) {
        struct cli_manual_cmd *ms = describe_all();
        cli_manual_index(stdout, ms, NCMDS, nl_version());
        free_all(ms);
        return NL_CLI_OK;
    }
    const struct cli_cmd *c = find_cmd(name);
    if (c == NULL || (!man && argc != 2)) {
        fprintf(stderr,
                "nordlys help: %s (usage: nordlys help [CMD | --man CMD | --man-dir DIR])\n",
                c == NULL ? "no such command" : "too many arguments");
        return NL_CLI_USAGE;
    }
    if (!man) {
        char *args[] = {(char *)c->name, (char *)"--help", NULL};
        return c->fn(2, args);
    }
    struct cli_manual_cmd m;
    describe(c, &m);
    cli_manual_page(stdout, &m, nl_version());
    free((char *)m.help_text);
    free((struct cli_spec *)m.spec);
    return NL_CLI_OK;
}

static int cmd_completion(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "bash") != 0) {
        fprintf(stderr, "nordlys completion: usage: nordlys completion bash\n");
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? NL_CLI_OK : NL_CLI_USAGE;
    }
    struct cli_manual_cmd *ms = describe_all();
    cli_manual_bash(stdout, ms, NCMDS, meta_words);
    free_all(ms);
    return NL_CLI_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return NL_CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return NL_CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("nordlys %s\n", nl_version());
        return NL_CLI_OK;
    }
    if (strcmp(argv[1], "help") == 0)
        return cmd_help(argc - 1, argv + 1);
    if (strcmp(argv[1], "completion") == 0)
        return cmd_completion(argc - 1, argv + 1);
    const struct cli_cmd *c = find_cmd(argv[1]);
    if (c != NULL)
        return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "nordlys: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return NL_CLI_USAGE;
}
