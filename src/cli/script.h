/* SPDX-License-Identifier: MIT */
/*
 * script.h - batch scripts for `nordlys submit script.sh`: their #NORDLYS
 * and #SBATCH directives, and the command that runs them on a node.
 *
 * A batch script is a file whose first bytes are "#!". Its header, the
 * lines after the "#!" line up to the first line that is neither a comment
 * nor blank (sbatch stops there too), may hold directive lines:
 *
 *     #NORDLYS --gpus 4 --name train      nordlys submit's own options
 *     #SBATCH --job-name=train -N 2       the common sbatch options, mapped
 *
 * Each directive names an option of `nordlys submit` (an #SBATCH option
 * through the table in script.c: --job-name is --name, --chdir --cwd,
 * --account --tenant, --gres=gpu:N --gpus-per-node N, ...), found in the
 * command's option table, so the values go through the very parsers the
 * command line uses. An option the
 * table does not have is an error naming FILE:LINE, never skipped: a
 * directive that silently does nothing is a job that runs wrong.
 *
 * The script travels with the job (a node need not share the submitter's
 * file system): cli_script_command wraps it into a command line for
 * /bin/sh that feeds the text to the script's own #! interpreter through a
 * here-document on fd 3, on the job's first node only, as sbatch runs a
 * batch script. Nothing is written to the node's disk.
 *
 * No I/O here except cli_script_load, which reads the file.
 */
#ifndef NL_CLI_SCRIPT_H
#define NL_CLI_SCRIPT_H

#include <jansson.h>
#include <stddef.h>

struct cli_spec;
struct nl_err;

/* One directive: an option of the spec given to cli_script_parse. */
struct cli_script_directive {
    unsigned line; /* 1-based line in the file */
    size_t opt;    /* index in spec->opts */
    char *val;     /* the value (owned), NULL for a flag */
    char *written; /* as written, for messages: "#SBATCH -J" (owned) */
};

/* A parsed script; owned by the caller, freed with cli_script_destroy. */
struct cli_script {
    char *path; /* as given (owned) */
    char *text; /* the whole file, NUL-terminated (owned) */
    size_t len;
    char *interp;     /* the #! interpreter: "/bin/bash" (owned) */
    char *interp_arg; /* its one argument, as Linux passes it ("-l"), or NULL */
    struct cli_script_directive *dirs;
    size_t ndirs;
};

/*
 * Read path if it is a batch script (a regular file starting with "#!").
 * Returns 1 and sets *text and *len (owned, NUL-terminated) for a script; 0
 * when path is not a readable file or does not start with "#!" (it is then
 * a command to run as it is); -EINVAL with err naming the file when it is
 * larger than NL_PROTO_SCRIPT_MAX or holds a NUL byte.
 */
int cli_script_load(const char *path, char **text, size_t *len, struct nl_err *err);

/*
 * Parse text (len bytes, a "#!" script read from path) against spec, the
 * option table of `nordlys submit`. On success *out is a new script that
 * owns copies of path and text. Returns 0, or -EINVAL with err naming
 * "PATH:LINE: " and what is wrong: an unknown directive, an option that
 * this build of nordlys does not support, a missing value, a bad #! line.
 * Values are not checked here; the caller feeds them to its option parser
 * and prefixes its errors with the directive's line.
 */
int cli_script_parse(const char *path, const char *text, size_t len, const struct cli_spec *spec,
                     struct cli_script **out, struct nl_err *err);

/*
 * The job command that runs sc on the job's first node with args as its
 * arguments: a new JSON array of strings (a new reference).
 */
json_t *cli_script_command(const struct cli_script *sc, char *const *args, size_t nargs);

/*
 * For `nordlys show`: when command (a job's "command" array) is one that
 * cli_script_command made, a new string (free it) that says so without
 * the script's text: "batch script job.sh (1234 bytes, /bin/bash) a1 b";
 * else NULL.
 */
char *cli_script_describe(const json_t *command);

/* Free sc and everything it owns. NULL-safe. */
void cli_script_destroy(struct cli_script *sc);

#endif
