/* SPDX-License-Identifier: MIT */
/*
 * cmd_ops.h - what cmd_ops.c lends the other commands: local times on the
 * command line, and `nordlys queue --start`.
 */
#ifndef NL_CLI_CMD_OPS_H
#define NL_CLI_CMD_OPS_H

#include <stdbool.h>
#include <stdint.h>

struct cli_args;
struct nl_err;

/*
 * A time for flag as Unix seconds: "now", "now+2h" / "+2h", "-1d" (ago,
 * from now), "2026-12-01", "2026-12-01T08:00[:SS]" (local time) or
 * "@UNIX-SECONDS". Returns 0 or -EINVAL with err naming flag.
 */
int cli_parse_when(const char *flag, const char *s, double now, double *out, struct nl_err *err);

/* Fields `--format` knows for a job row (NULL-terminated). */
extern const char *const cli_job_fields[];

/* `nordlys queue --start`: the top pending jobs in the scheduler's order with estimated starts. */
int cli_queue_start(const struct cli_args *args, int64_t top, const char *format, bool csv);

#endif
