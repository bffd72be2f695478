/* SPDX-License-Identifier: MIT */
/*
 * main.c - the nordlys command line: a table of subcommands.
 *
 * Client commands talk to nordlysd over HTTP (NORDLYS_URL or --url);
 * `nordlys sim` runs the scheduler core in-process under a virtual clock.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct cli_cmd cli_cmds[] = {
    {"submit", cmd_submit, "submit a job: nordlys submit [OPTIONS] -- CMD ARGS..."},
    {"queue", cmd_queue, "list pending and running jobs"},
    {"show", cmd_show, "show one job, and why it waits if it is pending"},
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

static void usage(FILE *out)
{
    fprintf(out, "usage: nordlys COMMAND [ARGS...]   (nordlys COMMAND --help for details)\n\n");
    for (size_t i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
        fprintf(out, "  %-10s %s\n", cli_cmds[i].name, cli_cmds[i].help);
    fprintf(out, "\nexit status: 0 ok, 1 failed, 2 usage error, 3 controller unreachable\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return NL_CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return NL_CLI_OK;
    }
    for (size_t i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
        if (strcmp(argv[1], cli_cmds[i].name) == 0)
            return cli_cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "nordlys: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return NL_CLI_USAGE;
}
