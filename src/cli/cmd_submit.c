/* SPDX-License-Identifier: MIT */
/*
 * cmd_submit.c - `nordlys submit`: send one job request, print its id.
 *
 * The first argument that is not an option starts the job's command, so
 * "nordlys submit --gpus 2 python3 train.py --lr 3e-4" passes "--lr" to
 * the job, not to us; "--" makes that explicit and is what the docs show.
 *
 * Every submission carries an Idempotency-Key (a random UUID unless
 * --idempotency-key names one). When the answer is lost (retry.h says
 * which failures those are) the same request goes again under the same
 * key, with backoff, for up to --retry-s seconds: the controller answers a
 * repeated key with the job it made the first time, so a crash or a
 * dropped connection never leaves the user with two jobs, or none that
 * they know of.
 */
#include "cmd_submit.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "common/clock.h"
#include "common/idxset.h"
#include "common/proto_limits.h"
#include "export.h"
#include "nordlys/err.h"
#include "opt.h"
#include "retry.h"
#include "script.h"

enum {
    OPT_GPUS,
    OPT_TENANT,
    OPT_TIME,
    OPT_RESIDENCY,
    OPT_SENSITIVE,
    OPT_PREEMPTIBLE,
    OPT_NO_REQUEUE,
    OPT_GRACE,
    OPT_NAME,
    OPT_ENV,
    OPT_CWD,
    OPT_PARSABLE,
    OPT_IDEM_KEY,
    OPT_RETRY_S,
    OPT_EXPORT,
    OPT_NODES,
    OPT_GPUS_PER_NODE,
    OPT_TASKS_PER_NODE,
    OPT_OUTPUT,
    OPT_ERROR,
    OPT_INPUT,
    OPT_POWER_W,
    OPT_SIGNAL,
    OPT_ARRAY,
    OPT_DEPENDENCY,
    OPT_HOLD,
    OPT_COUNT,
};

/* cli_submit.seen has one bit per option. */
_Static_assert(OPT_COUNT <= 64, "cli_submit.seen is 64 bits");

static const struct cli_opt submit_opts[OPT_COUNT] = {
        [OPT_GPUS] = {"gpus", "N", "GPUs for the job, all at once (default 1)"},
        [OPT_TENANT] = {"tenant", "T", "tenant to charge (default: the facility's first tenant)"},
        [OPT_TIME] = {"time", "LIMIT",
                      "time limit as in Slurm: minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]], or "
                      "90s, 2h, 1h30m, 1d (default 1h)"},
        [OPT_RESIDENCY] = {"residency", "R", "where it may run: NO, EEA, UK or any (default any)"},
        [OPT_SENSITIVE] = {"sensitive", NULL, "whole nodes only, shared with no other tenant"},
        [OPT_PREEMPTIBLE] = {"preemptible", NULL, "may be preempted to reclaim quota"},
        [OPT_NO_REQUEUE] = {"no-requeue", NULL, "do not requeue after preemption or node loss"},
        [OPT_GRACE] = {"grace", "SECONDS",
                       "time between SIGTERM and SIGKILL at a kill: seconds, or 2m, 90s "
                       "(default 60; 0: at once)"},
        [OPT_NAME] = {"name", "X", "job name (default \"job\")"},
        [OPT_ENV] = {"env", "K=V", "set an environment variable for the job (repeatable)"},
        [OPT_CWD] = {"cwd", "DIR", "working directory of the job (default: the current one)"},
        [OPT_PARSABLE] = {"parsable", NULL, "print only the job id"},
        [OPT_IDEM_KEY] = {"idempotency-key", "KEY",
                          "submit under KEY (default: a new random one); the same KEY again "
                          "returns the first job instead of a new one"},
        [OPT_RETRY_S] = {"retry-s", "SECONDS",
                         "retry a lost answer with the same key for up to SECONDS "
                         "(default 30; 0: never)"},
        [OPT_EXPORT] = {"export", "ALL|NONE|VARS",
                        "the submitter's environment the job gets: ALL (default), NONE, or "
                        "VAR,VAR=value,... (ALL,VAR=value adds to ALL); never NORDLYS_TOKEN"},
        [OPT_NODES] = {"nodes", "N",
                       "exactly N nodes (with --gpus-per-node G, or --gpus split evenly)"},
        [OPT_GPUS_PER_NODE] = {"gpus-per-node", "G", "exactly G GPUs on each of its nodes"},
        [OPT_TASKS_PER_NODE] = {"tasks-per-node", "T",
                                "T processes per node, each with its RANK (default 1)"},
        [OPT_OUTPUT] = {"output", "PATTERN",
                        "stdout file: %j job (an array task's own), %t task (one file per "
                        "task), %a array index, %A array job, %x name, %% a %"},
        [OPT_ERROR] = {"error", "PATTERN", "stderr file, as --output"},
        [OPT_INPUT] = {"input", "FILE", "stdin of task 0, a file on its node (default /dev/null)"},
        [OPT_POWER_W] = {"power-w", "W",
                         "expected draw per GPU in W, within its cap range (default: the tenant's "
                         "measured history, else the GPU's nameplate; docs/power.md)"},
        [OPT_SIGNAL] = {"signal", "SIG[@SECONDS]",
                        "send SIG (USR1, 10, ...) SECONDS (default 60) before the time limit"},
        [OPT_ARRAY] = {"array", "SPEC",
                       "a job array: one task per index (0-99, 0-15:4, 1,3,5-7), %N: at most N "
                       "running at once; each task gets NORDLYS_ARRAY_TASK_ID"},
        [OPT_DEPENDENCY] = {"dependency", "DEP",
                            "start only after other jobs: afterok:ID[:ID...], afterany:ID..., "
                            "afternotok:ID..., after:ID[+MIN]..., aftercorr:ID... (arrays: "
                            "task N after task N), singleton; a comma means all of them, "
                            "'?' any one of them"},
        [OPT_HOLD] = {"hold", NULL, "submit held: it does not start until `nordlys release`"},
};

/* sbatch's letters for the same options: -A is sbatch's --account, our --tenant. */
static const struct cli_letter submit_letters[] = {
        {'G', "gpus"},  {'A', "tenant"}, {'t', "time"},       {'J', "name"},
        {'D', "cwd"},   {'N', "nodes"},  {'o', "output"},     {'e', "error"},
        {'i', "input"}, {'a', "array"},  {'d', "dependency"}, {'H', "hold"},
};

static const struct cli_spec submit_spec = {
        .name = "submit",
        .usage = "[OPTIONS] -- CMD [ARGS...]",
        .summary =
                "Submit a job that runs CMD on its GPUs. The job is durable once this prints its id.\n"
                "When CMD is a script (a file starting with #!), its #NORDLYS and #SBATCH\n"
                "directives set options (the command line wins) and its text travels with\n"
                "the job: it runs under its #! interpreter on the job's first node.",
        .opts = submit_opts,
        .nopts = OPT_COUNT,
        .letters = submit_letters,
        .nletters = sizeof(submit_letters) / sizeof(submit_letters[0]),
        .min_pos = 1,
        .max_pos = SIZE_MAX,
        .stop_at_pos = true,
};

static int parse_grace(const char *val, int64_t *out, struct nl_err *err)
{
    /* Zero is a real choice (kill at once), which a duration may not be. */
    if (strcmp(val, "0") == 0) {
        *out = 0;
        return 0;
    }
    return cli_parse_duration("--grace", val, out, err);
}

static int add_env(struct cli_submit *s, const char *val, struct nl_err *err)
{
    size_t klen = 0;
    int rc = cli_parse_env("--env", val, &klen, err);
    if (rc < 0)
        return rc;
    if (s->env == NULL)
        s->env = json_object();
    /* Later assignments win, as in a shell. */
    json_object_setn_new_nocheck(s->env, val, klen, json_string(val + klen + 1));
    return 0;
}

static int on_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    struct cli_submit *s = ctx;
    switch (idx) {
    case OPT_GPUS:
        return cli_parse_int("--gpus", val, 1, INT32_MAX, &s->gpus, err);
    case OPT_TENANT:
        s->tenant = val;
        return 0;
    case OPT_TIME:
        return cli_parse_time_limit("--time", val, &s->time_limit_s, err);
    case OPT_RESIDENCY:
        s->residency = val;
        return 0;
    case OPT_SENSITIVE:
        s->sensitive = true;
        return 0;
    case OPT_PREEMPTIBLE:
        s->preemptible = true;
        return 0;
    case OPT_NO_REQUEUE:
        s->no_requeue = true;
        return 0;
    case OPT_GRACE:
        s->has_grace = true;
        return parse_grace(val, &s->grace_s, err);
    case OPT_NAME:
        s->name = val;
        return 0;
    case OPT_ENV:
        return add_env(s, val, err);
    case OPT_CWD:
        s->cwd = val;
        return 0;
    case OPT_PARSABLE:
        s->parsable = true;
        return 0;
    case OPT_IDEM_KEY:
        s->idem_key = val;
        return cli_idem_key_check(val, err);
    case OPT_RETRY_S:
        s->has_retry_s = true;
        return cli_parse_int("--retry-s", val, 0, 24 * 3600, &s->retry_s, err);
    case OPT_EXPORT:
        s->export_spec = val;
        return 0;
    case OPT_NODES:
        return cli_parse_int("--nodes", val, 1, INT32_MAX, &s->nodes, err);
    case OPT_GPUS_PER_NODE:
        return cli_parse_int("--gpus-per-node", val, 1, INT32_MAX, &s->gpus_per_node, err);
    case OPT_TASKS_PER_NODE:
        return cli_parse_int("--tasks-per-node", val, 1, INT32_MAX, &s->tasks_per_node, err);
    case OPT_OUTPUT:
        s->output = val;
        return 0;
    case OPT_ERROR:
        s->error = val;
        return 0;
    case OPT_INPUT:
        s->input = val;
        return 0;
    case OPT_POWER_W:
        return cli_parse_int("--power-w", val, 1, 100000, &s->power_w, err);
    case OPT_SIGNAL:
        return cli_parse_signal_at(val, &s->warn_signal, &s->warn_before_s, err);
    case OPT_ARRAY: {
        /* Checked here too, so that a typo is caught before anything is sent. */
        struct nl_idxset set;
        if (nl_idxset_parse(val, &set, err) < 0)
            return err->code;
        nl_idxset_release(&set);
        s->array = val;
        return 0;
    }
    case OPT_DEPENDENCY:
        s->dependency = val;
        return 0;
    case OPT_HOLD:
        s->hold = true;
        return 0;
    default:
        return nl_err_set(err, -EINVAL, "unknown option");
    }
}

/* An option from the command line: it wins over the script's directive for it. */
static int on_cli_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    struct cli_submit *s = ctx;
    if (idx >= OPT_COUNT) { /* a flag of the command that borrows submit's options */
        s->extra |= 1u << (idx - OPT_COUNT);
        return 0;
    }
    s->seen |= UINT64_C(1) << idx;
    return on_opt(ctx, idx, val, err);
}

int cli_submit_parse(int argc, char **argv, struct cli_submit *s, struct cli_args *args,
                     struct nl_err *err)
{
    int rc = cli_opt_parse(&submit_spec, argc, argv, on_cli_opt, s, args, err);
    if (rc < 0)
        return rc;
    s->command = args->pos;
    s->ncommand = args->npos;
    return 0;
}

int cli_submit_script(struct cli_submit *s, struct nl_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = s->ncommand > 0 ? cli_script_load(s->command[0], &text, &len, err) : 0;
    if (rc <= 0)
        return rc;
    rc = cli_script_parse(s->command[0], text, len, &submit_spec, &s->script, err);
    free(text);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->script->ndirs; i++) {
        const struct cli_script_directive *d = &s->script->dirs[i];
        if (s->seen & (UINT64_C(1) << d->opt))
            continue;
        rc = on_opt(s, d->opt, d->val, err);
        if (rc < 0)
            return nl_err_prefix(err, "%s:%u: %s: ", s->script->path, d->line, d->written);
    }
    /* Like sbatch, a script's job is called after the script unless told otherwise. */
    if (s->name == NULL) {
        const char *base = strrchr(s->script->path, '/');
        s->name = base != NULL ? base + 1 : s->script->path;
    }
    return 0;
}

int cli_submit_export(struct cli_submit *s, char *const *envp, struct nl_err *err)
{
    json_t *env = NULL;
    int rc = cli_export_build(s->export_spec, envp, &env, err);
    if (rc < 0)
        return rc;
    /* --env is the more specific choice: it wins over the exported value. */
    if (s->env != NULL)
        json_object_update(env, s->env);
    json_decref(s->env);
    s->env = env;
    if (json_object_size(env) > NL_PROTO_ENV_MAX)
        return nl_err_set(err, -EINVAL, "--export: more than %u variables with --env's",
                          NL_PROTO_ENV_MAX);
    return 0;
}

json_t *cli_submit_json(const struct cli_submit *s)
{
    json_t *req = json_object();
    if (s->name != NULL)
        json_object_set_new(req, "name", json_string(s->name));
    if (s->tenant != NULL)
        json_object_set_new(req, "tenant", json_string(s->tenant));
    if (s->gpus > 0)
        json_object_set_new(req, "gpus", json_integer(s->gpus));
    if (s->time_limit_s > 0)
        json_object_set_new(req, "time_limit_s", json_integer(s->time_limit_s));
    if (s->residency != NULL)
        json_object_set_new(req, "residency", json_string(s->residency));
    if (s->sensitive)
        json_object_set_new(req, "sensitive", json_true());
    if (s->preemptible)
        json_object_set_new(req, "preemptible", json_true());
    if (s->no_requeue)
        json_object_set_new(req, "requeue", json_false());
    if (s->has_grace)
        json_object_set_new(req, "grace_s", json_integer(s->grace_s));
    if (s->power_w > 0)
        json_object_set_new(req, "power_w", json_integer(s->power_w));
    json_t *cmd = NULL;
    if (s->script != NULL) {
        cmd = cli_script_command(s->script, s->command + 1, s->ncommand - 1);
    } else {
        cmd = json_array();
        for (size_t i = 0; i < s->ncommand; i++)
            json_array_append_new(cmd, json_string(s->command[i]));
    }
    json_object_set_new(req, "command", cmd);
    if (s->env != NULL)
        json_object_set(req, "env", s->env);
    if (s->cwd != NULL)
        json_object_set_new(req, "cwd", json_string(s->cwd));
    if (s->nodes > 0)
        json_object_set_new(req, "nodes", json_integer(s->nodes));
    if (s->gpus_per_node > 0)
        json_object_set_new(req, "gpus_per_node", json_integer(s->gpus_per_node));
    if (s->tasks_per_node > 0)
        json_object_set_new(req, "tasks_per_node", json_integer(s->tasks_per_node));
    if (s->output != NULL)
        json_object_set_new(req, "stdout", json_string(s->output));
    if (s->error != NULL)
        json_object_set_new(req, "stderr", json_string(s->error));
    if (s->input != NULL)
        json_object_set_new(req, "input", json_string(s->input));
    if (s->warn_signal > 0)
        json_object_set_new(req, "signal",
                            json_pack("{s:i, s:I}", "signal", s->warn_signal, "before_s",
                                      (json_int_t)s->warn_before_s));
    if (s->array != NULL)
        json_object_set_new(req, "array", json_string(s->array));
    if (s->dependency != NULL)
        json_object_set_new(req, "dependency", json_string(s->dependency));
    if (s->hold)
        json_object_set_new(req, "hold", json_true());
    return req;
}

void cli_submit_release(struct cli_submit *s)
{
    if (s == NULL)
        return;
    json_decref(s->env);
    s->env = NULL;
    cli_script_destroy(s->script);
    s->script = NULL;
}

static void print_submitted(const struct cli_submit *s, const json_t *answer)
{
    const json_t *job = json_object_get(answer, "job");
    double id = cli_json_num(job, "id");
    if (s->parsable) {
        printf("%.0f\n", id);
        return;
    }
    printf("submitted %sjob %.0f", json_is_object(json_object_get(job, "array")) ? "array " : "",
           id);
    const char *state = cli_json_str(job, "state");
    if (strcmp(state, "-") != 0)
        printf(" (%s)", state);
    printf("\n");
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0)
        ; /* EINTR: sleep the rest */
}

/* xorshift64: the backoff's jitter needs spread, not secrecy. */
static uint64_t next_rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/*
 * POST the request under key until it is answered for good or the retry
 * budget is spent. Prints what the user must know to stderr: that it
 * retries, and when it gives up, the key that finds out later whether the
 * job exists.
 */
static int post_with_retry(struct cli_client *c, const json_t *req, const char *key,
                           int64_t retry_s, json_t **answer)
{
    char hdr[sizeof("Idempotency-Key: ") + CLI_IDEM_KEY_MAX];
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", key);
    const char *const headers[] = {hdr, NULL};
    int64_t t0 = nl_clock_monotonic_us();
    uint64_t rnd = (uint64_t)t0 ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    for (unsigned attempt = 1;; attempt++) {
        struct nl_err err = {0};
        struct cli_outcome oc;
        int rc = cli_client_send(c, "POST", "/v1/jobs", req, headers, answer, &oc, &err);
        if (rc == NL_CLI_OK)
            return rc;
        int64_t elapsed_ms = (nl_clock_monotonic_us() - t0) / 1000;
        bool worth = cli_retry_worth(oc.kind, oc.status);
        int64_t delay =
                worth ? cli_retry_delay_ms(attempt, elapsed_ms, retry_s * 1000, next_rnd(&rnd))
                      : -1;
        if (delay >= 0) {
            if (attempt == 1)
                fprintf(stderr, "nordlys: %s; retrying for up to %lld s (Idempotency-Key %s)\n",
                        err.msg, (long long)retry_s, key);
            sleep_ms(delay);
            continue;
        }
        if (!worth || oc.kind == CLI_ATTEMPT_NOT_SENT) {
            fprintf(stderr, "nordlys: %s%s\n", err.msg, attempt > 1 ? " (after retries)" : "");
        } else {
            /* The last answer was lost: the job may exist. The key finds out, safely. */
            fprintf(stderr,
                    "nordlys: %s; gave up after %u attempts in %.1f s. The job may have been "
                    "submitted: run this again with --idempotency-key %s to get it without "
                    "submitting it twice\n",
                    err.msg, attempt, (double)elapsed_ms / 1000.0, key);
        }
        return rc;
    }
}

extern char **environ;

/* The script and the environment: the parts of a submission that read files and environ. */
static int prepare(const char *cmd, struct cli_submit *s)
{
    struct nl_err err = {0};
    if (cli_submit_script(s, &err) < 0 || cli_submit_export(s, environ, &err) < 0) {
        fprintf(stderr, "nordlys %s: %s\n", cmd, err.msg);
        return NL_CLI_USAGE;
    }
    return NL_CLI_OK;
}

/* A request the controller would refuse as too large gets a reason that names its parts. */
static int check_size(const char *cmd, const struct cli_submit *s, const json_t *req)
{
    size_t total = json_dumpb(req, NULL, 0, JSON_COMPACT);
    if (total <= NL_PROTO_JOB_REQUEST_MAX)
        return NL_CLI_OK;
    size_t env = s->env != NULL ? json_dumpb(s->env, NULL, 0, JSON_COMPACT) : 0;
    fprintf(stderr,
            "nordlys %s: the job request is %zu bytes, more than the %u a controller "
            "accepts: %zu of them are the exported environment (--export=NONE or VAR,... "
            "sends less)%s\n",
            cmd, total, NL_PROTO_JOB_REQUEST_MAX, env,
            s->script != NULL ? ", the rest mostly the script" : "");
    return NL_CLI_USAGE;
}

int cmd_submit(int argc, char **argv)
{
    return cli_submit_main(argc, argv, NULL, NULL);
}

/*
 * spec (a copy of submit_spec) gets submit's options and letters followed
 * by as's. The tables outlive the call: describe mode (main.c, for man
 * pages and completion) keeps the spec it was shown. One slot per command
 * that borrows submit's options (run).
 */
static void merge_spec(const struct cli_spec *as, struct cli_spec *spec)
{
    enum {
        SUBMIT_LETTERS = sizeof(submit_letters) / sizeof(submit_letters[0])
    };

    static struct {
        const struct cli_spec *as;
        struct cli_opt opts[OPT_COUNT + CLI_SUBMIT_EXTRA_MAX];
        struct cli_letter letters[SUBMIT_LETTERS + CLI_SUBMIT_EXTRA_MAX];
    } merged[2];

    size_t n = as->nopts < CLI_SUBMIT_EXTRA_MAX ? as->nopts : CLI_SUBMIT_EXTRA_MAX;
    size_t nl = as->nletters < CLI_SUBMIT_EXTRA_MAX ? as->nletters : CLI_SUBMIT_EXTRA_MAX;
    for (size_t i = 0; i < sizeof(merged) / sizeof(merged[0]); i++) {
        if (merged[i].as != NULL && merged[i].as != as)
            continue;
        merged[i].as = as;
        memcpy(merged[i].opts, submit_opts, sizeof(submit_opts));
        if (n > 0)
            memcpy(merged[i].opts + OPT_COUNT, as->opts, n * sizeof(*as->opts));
        memcpy(merged[i].letters, submit_letters, sizeof(submit_letters));
        if (nl > 0)
            memcpy(merged[i].letters + SUBMIT_LETTERS, as->letters, nl * sizeof(*as->letters));
        spec->opts = merged[i].opts;
        spec->nopts = OPT_COUNT + n;
        spec->letters = merged[i].letters;
        spec->nletters = SUBMIT_LETTERS + nl;
        return;
    }
    /* More borrowers than slots: our bug; their flags stay unknown options. */
}

int cli_submit_main(int argc, char **argv, const struct cli_spec *as, struct cli_submitted *out)
{
    struct cli_submit s = {0};
    struct cli_args args = {0};
    struct cli_client *c = NULL;
    json_t *req = NULL;
    json_t *answer = NULL;
    char cwd[PATH_MAX];
    char key[CLI_IDEM_KEY_LEN + 1];
    struct cli_spec spec = submit_spec;
    if (as != NULL) {
        /* Another command (`nordlys run`) with submit's options: its own name, usage and words. */
        spec.name = as->name;
        spec.usage = as->usage;
        spec.summary = as->summary;
        /* ... and its own flags after them, so --help, man and completion show both. */
        merge_spec(as, &spec);
    }
    int rc = cli_parse_args(&spec, argc, argv, on_cli_opt, &s, &args);
    if (rc != CLI_RUN)
        goto out;
    s.command = args.pos;
    s.ncommand = args.npos;
    if ((rc = prepare(spec.name, &s)) != NL_CLI_OK)
        goto out;
    /*
     * Like sbatch, a job starts where it was submitted unless told otherwise,
     * and a relative --cwd (#SBATCH --chdir=run1) is taken from there too.
     */
    if ((s.cwd == NULL || s.cwd[0] != '/') && getcwd(cwd, sizeof(cwd)) != NULL) {
        size_t n = strlen(cwd);
        if (s.cwd == NULL)
            s.cwd = cwd;
        else if (n + 1 + strlen(s.cwd) < sizeof(cwd)) /* else the controller names it */
            s.cwd = strcat(strcat(cwd, n > 1 ? "/" : ""), s.cwd);
    }
    if (s.idem_key == NULL) {
        struct nl_err err = {0};
        if (cli_idem_key_new(key, &err) < 0) {
            fprintf(stderr, "nordlys: %s\n", err.msg);
            rc = NL_CLI_FAILED;
            goto out;
        }
        s.idem_key = key;
    }

    req = cli_submit_json(&s);
    if ((rc = check_size(spec.name, &s, req)) != NL_CLI_OK)
        goto out;
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) != NL_CLI_OK)
        goto out;
    rc = post_with_retry(c, req, s.idem_key, s.has_retry_s ? s.retry_s : CLI_SUBMIT_RETRY_S_DEFAULT,
                         &answer);
    if (rc != NL_CLI_OK)
        goto out;
    if (out != NULL) {
        out->id = (int64_t)cli_json_num(json_object_get(answer, "job"), "id");
        out->extra = s.extra;
        snprintf(out->url, sizeof(out->url), "%s", args.url);
        snprintf(out->token_file, sizeof(out->token_file), "%s",
                 args.token_file ? args.token_file : "");
        out->json = args.json;
    } else if (args.json)
        cli_print_json(answer);
    else
        print_submitted(&s, answer);
out:
    json_decref(answer);
    cli_client_destroy(c);
    json_decref(req);
    cli_args_release(&args);
    cli_submit_release(&s);
    return rc;
}
