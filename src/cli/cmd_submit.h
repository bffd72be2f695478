/* SPDX-License-Identifier: MIT */
/*
 * cmd_submit.h - `nordlys submit`: command line to job request.
 *
 * Split in two pure steps so that the unit tests see exactly what would be
 * sent: cli_submit_parse turns argv into a struct cli_submit, and
 * cli_submit_json turns that into the POST /v1/jobs body of docs/api.md.
 * Fields the user did not give are left out of the request, so that the
 * controller's documented defaults apply (gpus 1, time limit 1 h, ...).
 */
#ifndef NL_CLI_CMD_SUBMIT_H
#define NL_CLI_CMD_SUBMIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cli_args;
struct cli_script;
struct nl_err;

/* A parsed submit command line. Initialise with {0}; release with cli_submit_release. */
struct cli_submit {
    const char *name;      /* --name, NULL when not given (borrows argv, as do the others) */
    const char *tenant;    /* --tenant */
    const char *residency; /* --residency; the controller checks the value */
    const char *cwd;       /* --cwd; cmd_submit fills in the current directory */
    int64_t gpus;          /* --gpus, 0 when not given */
    int64_t time_limit_s;  /* --time, 0 when not given */
    int64_t grace_s;       /* --grace, meaningful when has_grace */
    int64_t power_w;       /* --power-w, 0 when not given */
    bool has_grace;
    bool sensitive;       /* --sensitive */
    bool preemptible;     /* --preemptible */
    bool no_requeue;      /* --no-requeue */
    bool parsable;        /* --parsable: print only the job id */
    const char *idem_key; /* --idempotency-key, NULL: cmd_submit makes a random one */
    int64_t retry_s;      /* --retry-s, meaningful when has_retry_s */
    bool has_retry_s;
    const char *array;      /* --array SPEC (issue 12), NULL when not given */
    const char *dependency; /* --dependency, NULL when not given */
    bool hold;              /* --hold */
    json_t *env;            /* --env K=V..., an object (owned), NULL when none */
    int warn_signal;        /* --signal SIG@SECONDS: the signal, 0 when not given */
    int64_t warn_before_s;  /* and its SECONDS before the time limit */
    char **command;         /* the command and its arguments (borrows argv) */
    size_t ncommand;
    /* Batch scripts and the environment (cli_submit_script, cli_submit_export). */
    const char *export_spec;   /* --export, NULL when not given (ALL) */
    struct cli_script *script; /* command[0]'s script when it is one (owned), else NULL */
    uint64_t seen;             /* bit i: option i was on the command line (directives yield) */
    unsigned extra;            /* bit i: another command's flag i was given (cli_submit_main) */
    /* Shape, tasks, output patterns and stdin (docs/users.md, "Shapes, tasks and ranks"). */
    int64_t nodes;          /* --nodes, 0 when not given */
    int64_t gpus_per_node;  /* --gpus-per-node, 0 when not given */
    int64_t tasks_per_node; /* --tasks-per-node, 0 when not given */
    const char *output;     /* --output PATTERN */
    const char *error;      /* --error PATTERN */
    const char *input;      /* --input FILE */
};

/*
 * Parse argv (argv[0] is "submit") into s and args. Returns 0 (also after
 * --help, with args->help set), or a negative code with err naming the flag
 * ("--time: '2x' is not a duration ..."). A missing command is an error.
 * Release s and args afterwards in both cases.
 */
int cli_submit_parse(int argc, char **argv, struct cli_submit *s, struct cli_args *args,
                     struct nl_err *err);

/*
 * When s->command[0] is a batch script (script.h), read it, apply its
 * directives to s for every option the command line did not give, and
 * make the job run the script (s->script). Does nothing for a plain
 * command. Returns 0, or a negative code with err naming "FILE:LINE: ".
 */
int cli_submit_script(struct cli_submit *s, struct nl_err *err);

/*
 * Add the submitter's environment envp (NULL-terminated "K=V" strings) to
 * s->env as --export says (ALL by default, like sbatch): variables that
 * --env sets keep their --env value; NORDLYS_TOKEN, the caller's
 * credentials, is never exported. Returns 0, or -EINVAL naming the
 * variable that the protocol cannot carry (common/proto_limits.h).
 */
int cli_submit_export(struct cli_submit *s, char *const *envp, struct nl_err *err);

/* How long submit retries a request whose answer was lost, unless --retry-s says otherwise. */
#define CLI_SUBMIT_RETRY_S_DEFAULT 30

/* Returns the job request for s, a new reference (json_decref it). */
json_t *cli_submit_json(const struct cli_submit *s);

void cli_submit_release(struct cli_submit *s);

/* What cli_submit_main submitted, for a command that goes on with the job. */
/* Flags another command adds to submit's options (`nordlys run --label`): at most this many. */
#define CLI_SUBMIT_EXTRA_MAX 4

struct cli_submitted {
    unsigned extra; /* bit i: the caller's as->opts[i] was given */
    int64_t id;
    char url[1024];
    char token_file[1024]; /* "" when none was given */
    bool json;             /* --json was given */
};

struct cli_spec;
/*
 * The whole of `nordlys submit`: parse argv, submit, print. With as (a
 * spec whose name, usage and summary replace submit's), the options are
 * submit's plus as->opts (flags, at most CLI_SUBMIT_EXTRA_MAX; out->extra
 * says which were given) and its letters (as->letters, as many at most),
 * and messages and --help speak of as->name; with out, nothing
 * is printed on success and out says what was submitted. Returns the exit
 * status; NL_CLI_OK with out->id 0 after --help.
 */
int cli_submit_main(int argc, char **argv, const struct cli_spec *as, struct cli_submitted *out);

#endif
