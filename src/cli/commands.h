/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the subcommands of the nordlys command line.
 *
 * Each takes the arguments after its own name (argv[0] is the subcommand)
 * and returns the process exit status (see NL_EXIT_* in main.c's usage):
 *   0 success, 1 the operation failed (job not found, rejected request),
 *   2 usage error, 3 the controller is unreachable.
 */
#ifndef NL_CLI_COMMANDS_H
#define NL_CLI_COMMANDS_H

enum {
    NL_CLI_OK = 0,
    NL_CLI_FAILED = 1,
    NL_CLI_USAGE = 2,
    NL_CLI_UNREACHABLE = 3,
};

int cmd_sim(int argc, char **argv);

/* Client commands: they talk to nordlysd over HTTP (docs/api.md). */
int cmd_submit(int argc, char **argv);   /* cmd_submit.c */
int cmd_queue(int argc, char **argv);    /* cmd_jobs.c */
int cmd_show(int argc, char **argv);     /* cmd_jobs.c */
int cmd_events(int argc, char **argv);   /* cmd_events.c */
int cmd_cancel(int argc, char **argv);   /* cmd_control.c */
int cmd_requeue(int argc, char **argv);  /* cmd_control.c */
int cmd_update(int argc, char **argv);   /* cmd_control.c */
int cmd_signal(int argc, char **argv);   /* cmd_control.c */
int cmd_run(int argc, char **argv);      /* cmd_run.c */
int cmd_output(int argc, char **argv);   /* cmd_run.c */
int cmd_hold(int argc, char **argv);     /* cmd_gate.c */
int cmd_release(int argc, char **argv);  /* cmd_gate.c */
int cmd_nodes(int argc, char **argv);    /* cmd_facility.c */
int cmd_facility(int argc, char **argv); /* cmd_facility.c */
int cmd_tenants(int argc, char **argv);  /* cmd_facility.c */
int cmd_usage(int argc, char **argv);    /* cmd_facility.c */
int cmd_token(int argc, char **argv);    /* cmd_security.c */
int cmd_audit(int argc, char **argv);    /* cmd_security.c */
int cmd_drain(int argc, char **argv);       /* cmd_ops.c */
int cmd_resume(int argc, char **argv);      /* cmd_ops.c */
int cmd_reservation(int argc, char **argv); /* cmd_ops.c */
int cmd_history(int argc, char **argv);     /* cmd_ops.c */

#endif
