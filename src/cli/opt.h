/* SPDX-License-Identifier: MIT */
/*
 * opt.h - declarative option parsing for the nordlys client commands.
 *
 * Each subcommand describes itself once, as a struct cli_spec (usage line,
 * summary, option table); the same table drives parsing and --help, as the
 * house style asks of configuration tables. Options are GNU-style long
 * options only: "--gpus 8" or "--gpus=8", flags take no value, "--" ends
 * the options. Every command also accepts --url URL, --json and --help
 * (-h), handled here so that no command can forget them.
 *
 * Value parsers (durations, counts, K=V pairs, job ids) live here too so
 * that every message names the flag the same way: "--time: '2x' is not a
 * duration (use 2h, 90m, 1h30m or seconds)".
 *
 * Nothing here does I/O except cli_parse_args, which prints --help to
 * stdout and usage errors to stderr.
 */
#ifndef NL_CLI_OPT_H
#define NL_CLI_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct nl_err;

/* One option of a subcommand. */
struct cli_opt {
    const char *name;    /* without the dashes: "gpus" for --gpus */
    const char *metavar; /* "N" when the option takes a value, NULL for a flag */
    const char *help;
};

/*
 * A one-letter form of an option (-J for --name): Slurm's letter for the
 * same option, so that sbatch and srun habits work on the command line
 * and in #SBATCH lines alike.
 */
struct cli_letter {
    char c;
    const char *name; /* the option's long name */
};

/* What a subcommand looks like; static const tables, borrowed throughout. */
struct cli_spec {
    const char *name;    /* "submit" */
    const char *usage;   /* after "nordlys NAME ": "[OPTIONS] -- CMD ARGS..." */
    const char *summary; /* one or more lines printed under the usage line */
    const struct cli_opt *opts;
    size_t nopts;
    const struct cli_letter *letters; /* NULL: long options only */
    size_t nletters;
    size_t max_pos;   /* most positional arguments allowed; SIZE_MAX for any */
    size_t min_pos;   /* fewest positional arguments required */
    bool stop_at_pos; /* the first positional ends the options (submit's command) */
};

/*
 * Called once per option found, in command-line order: idx is its index in
 * spec->opts, val its value (NULL for a flag). Returns 0, or a negative
 * code with err naming the flag. ctx is the caller's, borrowed.
 */
typedef int (*cli_opt_fn)(void *ctx, size_t idx, const char *val, struct nl_err *err);

/*
 * The result of parsing: the options every command shares plus the
 * positional arguments. Initialise with {0}; release with cli_args_release.
 * url and pos[i] borrow argv (or the environment) and are valid as long as
 * those are.
 */
struct cli_args {
    const char *url;        /* --url, else NORDLYS_URL, else CLI_DEFAULT_URL */
    bool json;              /* --json */
    const char *token_file; /* --token-file, or NULL (NORDLYS_TOKEN, else the default file) */
    bool help;              /* --help or -h was given */
    char **pos;             /* positional arguments, in order (array owned, strings borrowed) */
    size_t npos;
};

#define CLI_DEFAULT_URL "http://127.0.0.1:7420"

/*
 * Parse argv[1..argc-1] (argv[0] is the subcommand's name) against spec.
 * Returns 0 on success (also when --help was seen: args->help is then set
 * and parsing stopped), or a negative code with err naming the flag or the
 * argument at fault: "--gpus: missing value", "unknown option '--gpu'".
 * fn may be NULL when the spec has no options of its own.
 */
int cli_opt_parse(const struct cli_spec *spec, int argc, char **argv, cli_opt_fn fn, void *ctx,
                  struct cli_args *args, struct nl_err *err);

/*
 * The option of spec called name (len bytes, without the dashes), or NULL.
 * Sets *idx to its index in spec->opts. The common options (--url, ...)
 * are not searched.
 */
const struct cli_opt *cli_opt_find(const struct cli_spec *spec, const char *name, size_t len,
                                   size_t *idx);
/* The option of spec whose letter is c (-c), or NULL; *idx its index in spec->opts. */
const struct cli_opt *cli_opt_find_letter(const struct cli_spec *spec, char c, size_t *idx);
/* The letter of spec's option o (for help and man pages), or 0. */
char cli_opt_letter(const struct cli_spec *spec, const struct cli_opt *o);

void cli_args_release(struct cli_args *args);

/* Print spec's --help text (usage, summary, every option) to out. */
void cli_opt_usage(const struct cli_spec *spec, FILE *out);

/*
 * The front door of every client command: cli_opt_parse, then --help to
 * stdout or "nordlys NAME: MESSAGE" plus a hint to stderr. Returns
 * CLI_RUN when the command should go on, else the exit status to return
 * now (NL_CLI_OK after --help, NL_CLI_USAGE after an error).
 */
enum {
    CLI_RUN = -1
};

int cli_parse_args(const struct cli_spec *spec, int argc, char **argv, cli_opt_fn fn, void *ctx,
                   struct cli_args *args);

/*
 * Describe mode, for `nordlys help --man` and `nordlys completion`: while
 * a hook is set, cli_parse_args hands it the command's spec and returns
 * NL_CLI_OK at once, parsing nothing and running nothing. main.c learns
 * every command's options by calling the command itself, so the manual and
 * the completion come from the very table --help prints, for commands
 * added later too. fn NULL ends describe mode. Process-wide: the CLI
 * binary's main thread only.
 */
typedef void (*cli_describe_fn)(const struct cli_spec *spec, void *ctx);

void cli_opt_describe(cli_describe_fn fn, void *ctx);

/* The options every client command shares (--url, --json, ...); *n is set to their count. */
const struct cli_opt *cli_opt_common(size_t *n);

/*
 * A duration for flag: "3600" (seconds), "90s", "90m", "2h", "1d", or
 * combinations in descending order such as "1h30m". Must be positive and
 * at most 10 years (a typo guard: no job limit is longer than that).
 * Stores seconds in *out_s. Returns 0 or -EINVAL with err naming flag.
 */
int cli_parse_duration(const char *flag, const char *s, int64_t *out_s, struct nl_err *err);

/*
 * A job's time limit for flag, as Slurm users write it: a bare number is
 * MINUTES ("90"), "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM", "D-HH:MM:SS",
 * or a duration with units as cli_parse_duration reads it ("90s", "2h",
 * "1h30m", "1d"). A field after ':' or '-' must be below 60 (hours after
 * "D-": below 24), so "1:75" is caught as a typo. Must be positive and at
 * most NL_PROTO_TIME_LIMIT_MAX_S (366 days), the controller's bound.
 * Stores seconds in *out_s. Returns 0 or -EINVAL with err naming flag and
 * the value ("--time: '1:2:3:4' is not a time limit (use ...)").
 */
int cli_parse_time_limit(const char *flag, const char *s, int64_t *out_s, struct nl_err *err);

/*
 * A decimal integer in [min, max] for flag. Returns 0 or -EINVAL
 * ("--gpus: 'x' is not a number", "--gpus: 0 is below the minimum 1").
 */
int cli_parse_int(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out,
                  struct nl_err *err);

/*
 * An environment assignment "KEY=VALUE" for flag: KEY is a shell-style
 * name ([A-Za-z_][A-Za-z0-9_]*), VALUE may be empty or contain '='.
 * On success *key_len is the length of KEY and the value starts at
 * s + *key_len + 1. Returns 0 or -EINVAL naming the flag.
 */
int cli_parse_env(const char *flag, const char *s, size_t *key_len, struct nl_err *err);

/* A job id (a positive integer). Returns 0 or -EINVAL: "job id: 'abc' is not a job id". */
int cli_parse_job_id(const char *s, int64_t *out, struct nl_err *err);
/*
 * "--signal SIG[@SECONDS]" (sbatch's): a signal a user may send
 * (signame.h) and the seconds before the time limit it is sent (default
 * 60); -EINVAL naming --signal otherwise.
 */
int cli_parse_signal_at(const char *s, int *sig, int64_t *before_s, struct nl_err *err);

#endif
