/* SPDX-License-Identifier: MIT */
/*
 * opt.c - option tables, --help and value parsers for the client commands.
 *
 * We do not use getopt_long: it keeps global state (optind), prints its own
 * messages in its own words, and would need _GNU_SOURCE. A table walk is
 * short, re-entrant (the unit tests call it many times in one process) and
 * lets every message name the flag in our format.
 */
#include "opt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "common/proto_limits.h"
#include "common/signame.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

/* Ten years: far beyond any real job limit, so "--time 9999999h" is caught as a typo. */
#define CLI_DURATION_MAX_S (10LL * 365 * 24 * 3600)

/* The options every client command has; they are parsed here, not by the command. */
static const struct cli_opt common_opts[] = {
        {"url", "URL", "controller to talk to (default $NORDLYS_URL, else " CLI_DEFAULT_URL ")"},
        {"json", NULL, "print the API's JSON answer instead of a table"},
        {"token-file", "FILE",
         "bearer token file, mode 0600 (default $NORDLYS_TOKEN, else ~/.config/nordlys/token)"},
        {"help", NULL, "show this help"},
        {"ca-file", "FILE",
         "CA to verify an https:// controller with (default $NORDLYS_CA, else the system's)"},
};

/* Describe mode (opt.h): set only by main.c around one command call. */
static cli_describe_fn describe_fn;
static void *describe_ctx;

void cli_opt_describe(cli_describe_fn fn, void *ctx)
{
    describe_fn = fn;
    describe_ctx = ctx;
}

const struct cli_opt *cli_opt_common(size_t *n)
{
    *n = sizeof(common_opts) / sizeof(common_opts[0]);
    return common_opts;
}

static bool is_http_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, size_t n, const char *name,
                                      size_t len, size_t *idx)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) {
            *idx = i;
            return &opts[i];
        }
    }
    return NULL;
}

const struct cli_opt *cli_opt_find(const struct cli_spec *spec, const char *name, size_t len,
                                   size_t *idx)
{
    return find_opt(spec->opts, spec->nopts, name, len, idx);
}

const struct cli_opt *cli_opt_find_letter(const struct cli_spec *spec, char c, size_t *idx)
{
    for (size_t i = 0; c != 0 && i < spec->nletters; i++)
        if (spec->letters[i].c == c)
            return cli_opt_find(spec, spec->letters[i].name, strlen(spec->letters[i].name), idx);
    return NULL;
}

char cli_opt_letter(const struct cli_spec *spec, const struct cli_opt *o)
{
    for (size_t i = 0; i < spec->nletters; i++)
        if (strcmp(spec->letters[i].name, o->name) == 0)
            return spec->letters[i].c;
    return 0;
}

/* Handle --url/--json/--help. Returns 1 when name was not a common option. */
static int parse_common(struct cli_args *args, size_t idx, const char *val, struct nl_err *err)
{
    switch (idx) {
    case 0:
        if (val == NULL || !is_http_url(val))
            return nl_err_set(err, -EINVAL, "--url: '%s' is not an http:// or https:// URL", val);
        args->url = val;
        return 0;
    case 1:
        args->json = true;
        return 0;
    case 2:
        if (val == NULL || val[0] == '\0')
            return nl_err_set(err, -EINVAL, "--token-file: missing value");
        args->token_file = val;
        return 0;
    case 4:
        /* The client reads NORDLYS_CA; the flag sets it for this run only. */
        setenv("NORDLYS_CA", val, 1);
        return 0;
    default:
        args->help = true;
        return 0;
    }
}

/*
 * Parse one "--name[=value]" at argv[*i], consuming the next argument as
 * the value when the option takes one and no '=' was given.
 */
static int parse_long(const struct cli_spec *spec, int argc, char **argv, int *i, cli_opt_fn fn,
                      void *ctx, struct cli_args *args, struct nl_err *err)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    size_t idx = 0;
    bool common = false;
    const struct cli_opt *o = find_opt(spec->opts, spec->nopts, name, len, &idx);
    if (o == NULL) {
        o = find_opt(common_opts, sizeof(common_opts) / sizeof(common_opts[0]), name, len, &idx);
        common = true;
    }
    if (o == NULL)
        return nl_err_set(err, -EINVAL, "unknown option '--%.*s'", (int)len, name);

    const char *val = NULL;
    if (o->metavar == NULL) {
        if (eq != NULL)
            return nl_err_set(err, -EINVAL, "--%s: takes no value", o->name);
    } else if (eq != NULL) {
        val = eq + 1;
    } else if (*i + 1 < argc) {
        val = argv[++*i];
    } else {
        return nl_err_set(err, -EINVAL, "--%s: missing value (%s)", o->name, o->metavar);
    }
    if (common)
        return parse_common(args, idx, val, err);
    if (fn == NULL)
        return nl_err_set(err, -EINVAL, "unknown option '--%s'", o->name);
    return fn(ctx, idx, val, err);
}

/*
 * Parse one "-X", "-X VALUE" or "-XVALUE" at argv[*i], X an option's
 * letter (nordlys submit -N 2 -G 8 -t 1:00:00, as sbatch). Flags stand
 * alone: "-lH" is refused, naming -l.
 */
static int parse_letter(const struct cli_spec *spec, int argc, char **argv, int *i, cli_opt_fn fn,
                        void *ctx, struct nl_err *err)
{
    const char *a = argv[*i];
    size_t idx = 0;
    const struct cli_opt *o = cli_opt_find_letter(spec, a[1], &idx);
    if (o == NULL || fn == NULL)
        return nl_err_set(err, -EINVAL, "unknown option '%s'%s", a,
                          spec->nletters > 0 ? "" : " (options are long: --name)");
    const char *val = NULL;
    if (o->metavar == NULL) {
        if (a[2] != '\0')
            return nl_err_set(err, -EINVAL, "-%c (--%s) takes no value: write '%s' as -%c -%s",
                              a[1], o->name, a, a[1], a + 2);
    } else if (a[2] != '\0') {
        val = a + 2;
    } else if (*i + 1 < argc) {
        val = argv[++*i];
    } else {
        return nl_err_set(err, -EINVAL, "-%c (--%s): missing value (%s)", a[1], o->name,
                          o->metavar);
    }
    return fn(ctx, idx, val, err);
}

static int check_positionals(const struct cli_spec *spec, const struct cli_args *args,
                             struct nl_err *err)
{
    if (args->npos < spec->min_pos)
        return nl_err_set(err, -EINVAL, "missing arguments (usage: nordlys %s %s)", spec->name,
                          spec->usage);
    if (args->npos > spec->max_pos)
        return nl_err_set(err, -EINVAL, "unexpected argument '%s'", args->pos[spec->max_pos]);
    return 0;
}

int cli_opt_parse(const struct cli_spec *spec, int argc, char **argv, cli_opt_fn fn, void *ctx,
                  struct cli_args *args, struct nl_err *err)
{
    args->pos = xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(*args->pos));
    args->npos = 0;

    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = true;
        } else if (!only_pos && strcmp(a, "-h") == 0) {
            args->help = true;
        } else if (!only_pos && strncmp(a, "--", 2) == 0) {
            int rc = parse_long(spec, argc, argv, &i, fn, ctx, args, err);
            if (rc < 0)
                return rc;
        } else if (!only_pos && a[0] == '-' && a[1] != '\0') {
            int rc = parse_letter(spec, argc, argv, &i, fn, ctx, err);
            if (rc < 0)
                return rc;
        } else {
            args->pos[args->npos++] = argv[i];
            only_pos = only_pos || spec->stop_at_pos;
        }
        /* --help wins over anything after it, so "--help --gpus x" still helps. */
        if (args->help)
            return 0;
    }
    /* The environment is read only when --url is absent, so --url can override a bad one. */
    if (args->url == NULL) {
        const char *env = getenv("NORDLYS_URL");
        if (env != NULL && env[0] != '\0' && !is_http_url(env))
            return nl_err_set(err, -EINVAL, "NORDLYS_URL: '%s' is not an http:// or https:// URL",
                              env);
        args->url = env != NULL && env[0] != '\0' ? env : CLI_DEFAULT_URL;
    }
    return check_positionals(spec, args, err);
}

void cli_args_release(struct cli_args *args)
{
    if (args == NULL)
        return;
    free(args->pos);
    args->pos = NULL;
    args->npos = 0;
}

static void print_opt(FILE *out, const struct cli_opt *o, char letter)
{
    char head[64];
    snprintf(head, sizeof(head), "%c%c%s--%s%s%s", letter ? '-' : ' ', letter ? letter : ' ',
             letter ? ", " : "  ", o->name, o->metavar != NULL ? " " : "",
             o->metavar != NULL ? o->metavar : "");
    fprintf(out, "  %-26s %s\n", head, o->help);
}

void cli_opt_usage(const struct cli_spec *spec, FILE *out)
{
    fprintf(out, "usage: nordlys %s %s\n\n%s\n", spec->name, spec->usage, spec->summary);
    fprintf(out, "\noptions:\n");
    for (size_t i = 0; i < spec->nopts; i++)
        print_opt(out, &spec->opts[i], cli_opt_letter(spec, &spec->opts[i]));
    for (size_t i = 0; i < sizeof(common_opts) / sizeof(common_opts[0]); i++)
        print_opt(out, &common_opts[i], 0);
    fprintf(out, "\nexit status: 0 ok, 1 failed, 2 usage error, 3 controller unreachable\n");
}

int cli_parse_args(const struct cli_spec *spec, int argc, char **argv, cli_opt_fn fn, void *ctx,
                   struct cli_args *args)
{
    struct nl_err err = {0};
    if (describe_fn != NULL) {
        describe_fn(spec, describe_ctx);
        return NL_CLI_OK;
    }
    if (cli_opt_parse(spec, argc, argv, fn, ctx, args, &err) < 0) {
        fprintf(stderr, "nordlys %s: %s\n", spec->name, err.msg);
        fprintf(stderr, "try 'nordlys %s --help'\n", spec->name);
        return NL_CLI_USAGE;
    }
    if (args->help) {
        cli_opt_usage(spec, stdout);
        return NL_CLI_OK;
    }
    return CLI_RUN;
}

/* Seconds per unit letter, or 0 for a letter that is not a unit. */
static int64_t unit_s(char c)
{
    switch (c) {
    case 'd':
        return 86400;
    case 'h':
        return 3600;
    case 'm':
        return 60;
    case 's':
        return 1;
    default:
        return 0;
    }
}

/* What units_s found wrong, when it returns below zero. */
enum {
    UNITS_BAD = -1,
    UNITS_TOO_LONG = -2,
};

/*
 * "90s", "2h", "1h30m", "1d2h3m4s": numbers with units in descending
 * order; a bare number is seconds when bare_s is set (else it is refused).
 * Returns the total in seconds (0 is possible), UNITS_BAD or UNITS_TOO_LONG
 * (past CLI_DURATION_MAX_S).
 */
static int64_t units_s(const char *s, bool bare_s)
{
    const char *p = s;
    int64_t total = 0;
    int64_t last_unit = INT64_MAX;
    if (*p == '\0')
        return UNITS_BAD;
    while (*p != '\0') {
        if (*p < '0' || *p > '9')
            return UNITS_BAD;
        int64_t n = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (n > CLI_DURATION_MAX_S)
                return UNITS_TOO_LONG;
            n = n * 10 + (*p - '0');
        }
        /* A bare number is seconds, but only as the whole string ("90", not "1h30"). */
        bool bare = *p == '\0' && p == s + strspn(s, "0123456789");
        int64_t u = bare ? (bare_s ? 1 : 0) : unit_s(*p);
        if (u == 0 || u >= last_unit)
            return UNITS_BAD;
        if (*p != '\0')
            p++;
        last_unit = u;
        if (n > CLI_DURATION_MAX_S / u)
            return UNITS_TOO_LONG;
        total += n * u;
        if (total > CLI_DURATION_MAX_S)
            return UNITS_TOO_LONG;
    }
    return total;
}

int cli_parse_duration(const char *flag, const char *s, int64_t *out_s, struct nl_err *err)
{
    int64_t total = units_s(s, true);
    if (total == UNITS_BAD)
        return nl_err_set(err, -EINVAL,
                          "%s: '%s' is not a duration (use 2h, 90m, 1h30m or seconds)", flag, s);
    if (total == UNITS_TOO_LONG)
        return nl_err_set(err, -EINVAL, "%s: '%s' is longer than 10 years", flag, s);
    if (total == 0)
        return nl_err_set(err, -EINVAL, "%s: '%s' must be longer than zero", flag, s);
    *out_s = total;
    return 0;
}

/*
 * Read the digits at *p into *n (at most 9 of them: 999,999,999 minutes is
 * past any bound, and nine digits cannot overflow). Returns false when
 * there is no digit or too many.
 */
static bool read_field(const char **p, int64_t *n)
{
    const char *start = *p;
    int64_t v = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++) {
        if (*p - start >= 9)
            return false;
        v = v * 10 + (**p - '0');
    }
    *n = v;
    return *p > start;
}

/*
 * Slurm's forms: [D-]A[:B[:C]]. Without a day, one field is minutes, two
 * are MM:SS and three HH:MM:SS; with a day, the fields are HH[:MM[:SS]].
 * Returns the seconds, or UNITS_BAD when s is not one of them.
 */
static int64_t slurm_time_s(const char *s)
{
    const char *p = s;
    int64_t days = 0, f[3] = {0, 0, 0};
    bool has_days = false;
    if (!read_field(&p, &f[0]))
        return UNITS_BAD;
    if (*p == '-') {
        has_days = true;
        days = f[0];
        p++;
        if (!read_field(&p, &f[0]) || f[0] >= 24)
            return UNITS_BAD;
    }
    size_t n = 1;
    while (*p == ':' && n < 3) {
        p++;
        if (!read_field(&p, &f[n]) || f[n] >= 60)
            return UNITS_BAD;
        n++;
    }
    if (*p != '\0')
        return UNITS_BAD;
    if (has_days) /* D-HH, D-HH:MM, D-HH:MM:SS */
        return days * 86400 + f[0] * 3600 + f[1] * 60 + f[2];
    if (n == 1) /* minutes */
        return f[0] * 60;
    if (n == 2) /* MM:SS */
        return f[0] * 60 + f[1];
    return f[0] * 3600 + f[1] * 60 + f[2]; /* HH:MM:SS */
}

int cli_parse_time_limit(const char *flag, const char *s, int64_t *out_s, struct nl_err *err)
{
    /* A unit letter anywhere means the "2h" form; digits, ':' and '-' alone are Slurm's. */
    int64_t v = strpbrk(s, "smhd") != NULL ? units_s(s, false) : slurm_time_s(s);
    if (v == UNITS_BAD)
        return nl_err_set(err, -EINVAL,
                          "%s: '%s' is not a time limit (use minutes, MM:SS, HH:MM:SS, "
                          "D-HH[:MM[:SS]], or 90s, 90m, 2h, 1h30m, 1d)",
                          flag, s);
    if (v == 0)
        return nl_err_set(err, -EINVAL, "%s: '%s' must be longer than zero", flag, s);
    if (v == UNITS_TOO_LONG || v > (int64_t)NL_PROTO_TIME_LIMIT_MAX_S)
        return nl_err_set(err, -EINVAL, "%s: '%s' is longer than the 366 days a job may run", flag,
                          s);
    *out_s = v;
    return 0;
}

int cli_parse_int(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out,
                  struct nl_err *err)
{
    /* strtoll alone would accept " 8", "+8" and "8x"; a count is digits only. */
    const char *digits = s[0] == '-' ? s + 1 : s;
    if (digits[0] < '0' || digits[0] > '9')
        return nl_err_set(err, -EINVAL, "%s: '%s' is not a number", flag, s);
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        return nl_err_set(err, -EINVAL, "%s: '%s' is not a number", flag, s);
    if ((errno == ERANGE && v < 0) || v < min)
        return nl_err_set(err, -EINVAL, "%s: %s is below the minimum %lld", flag, s,
                          (long long)min);
    if (errno == ERANGE || v > max)
        return nl_err_set(err, -EINVAL, "%s: %s is above the maximum %lld", flag, s,
                          (long long)max);
    *out = v;
    return 0;
}

static bool is_name_char(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

int cli_parse_env(const char *flag, const char *s, size_t *key_len, struct nl_err *err)
{
    const char *eq = strchr(s, '=');
    if (eq == NULL)
        return nl_err_set(err, -EINVAL, "%s: '%s' is not KEY=VALUE", flag, s);
    if (eq == s)
        return nl_err_set(err, -EINVAL, "%s: '%s' has an empty name", flag, s);
    for (const char *p = s; p < eq; p++)
        if (!is_name_char(*p, p == s))
            return nl_err_set(err, -EINVAL, "%s: '%.*s' is not a valid variable name", flag,
                              (int)(eq - s), s);
    *key_len = (size_t)(eq - s);
    return 0;
}

int cli_parse_job_id(const char *s, int64_t *out, struct nl_err *err)
{
    return cli_parse_int("job id", s, 1, INT64_MAX, out, err);
}

int cli_parse_signal_at(const char *s, int *sig, int64_t *before_s, struct nl_err *err)
{
    char name[32];
    const char *at = strchr(s, '@');
    size_t n = at ? (size_t)(at - s) : strlen(s);
    if (n == 0 || n >= sizeof(name))
        return nl_err_set(err, -EINVAL, "--signal: '%.40s' is not SIG[@SECONDS]", s);
    memcpy(name, s, n);
    name[n] = '\0';
    int v = signame_parse(name);
    if (v < 0)
        return nl_err_set(err, -EINVAL, "--signal: '%s' is %s; one of %s", name,
                          v == -2 ? "a signal that may not be sent" : "not a signal",
                          signame_allowed());
    *sig = v;
    *before_s = 60;
    if (at != NULL)
        return cli_parse_int("--signal", at + 1, 1, 366 * 24 * 3600, before_s, err);
    return 0;
}
