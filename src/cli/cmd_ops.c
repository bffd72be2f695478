/* SPDX-License-Identifier: MIT */
/*
 * cmd_ops.c - operators' commands and history (issue 12): `nordlys drain`,
 * `resume`, `reservation create|list|delete`, `history`, and the
 * estimated starts `nordlys queue --start` prints (cli_queue_start).
 *
 * Times on the command line are local, like Slurm's: "now", "now+2h" or
 * "+2h", "-1d" (ago), "2026-12-01", "2026-12-01T08:00[:SS]", or Unix
 * seconds as "@1764576000". The API takes and gives Unix seconds.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "cmd_ops.h"
#include "commands.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "opt.h"
#include "rowfmt.h"
#include "table.h"

/* ---- times ---- */

int cli_parse_when(const char *flag, const char *s, double now, double *out, struct nl_err *err)
{
    if (strcmp(s, "now") == 0) {
        *out = now;
        return 0;
    }
    const char *rel = strncmp(s, "now", 3) == 0 ? s + 3 : s;
    if (rel[0] == '+' || rel[0] == '-') {
        int64_t d = 0;
        if (cli_parse_duration(flag, rel + 1, &d, err) < 0)
            return -EINVAL;
        *out = now + (rel[0] == '+' ? (double)d : -(double)d);
        return 0;
    }
    if (s[0] == '@') {
        char *end = NULL;
        double v = strtod(s + 1, &end);
        if (s[1] == '\0' || *end != '\0' || !(v >= 0))
            return nl_err_set(err, -EINVAL, "%s: '%.40s' is not @UNIX-SECONDS", flag, s);
        *out = v;
        return 0;
    }
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    int got = sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n);
    if (got == 3 && s[n] == 'T' && sscanf(s + n + 1, "%2d:%2d%n", &h, &mi, &got) == 2) {
        n += 1 + got;
        if (s[n] == ':' && sscanf(s + n + 1, "%2d%n", &sec, &got) == 1)
            n += 1 + got;
        got = 3;
    }
    if (got != 3 || s[n] != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60)
        return nl_err_set(err, -EINVAL,
                          "%s: '%.40s' is not a time (now, now+2h, -1d, 2026-12-01,"
                          " 2026-12-01T08:00, @UNIX-SECONDS)",
                          flag, s);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1)
        return nl_err_set(err, -EINVAL, "%s: '%.40s' is not a time", flag, s);
    *out = (double)t;
    return 0;
}

/* ---- shared ---- */

static int call_and(const struct cli_args *args, const char *method, const char *path,
                    const json_t *body, json_t **answer)
{
    struct cli_client *c = cli_client_create(args->url);
    int rc = cli_client_use_token(c, args->token_file);
    if (rc == NL_CLI_OK)
        rc = cli_client_call(c, method, path, body, answer);
    cli_client_destroy(c);
    return rc;
}

static json_t *names_array(char **names, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        /* "a,b" in one argument names two nodes, as Slurm's node lists do. */
        char *copy = xstrdup(names[i]), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(a, json_string(t));
        free(copy);
    }
    return a;
}

/* ---- drain, resume ---- */

enum { DOPT_REASON, DOPT_COUNT };

static const struct cli_opt drain_opts[DOPT_COUNT] = {
        [DOPT_REASON] = {"reason", "TEXT", "why (required): shown in `nordlys nodes`, audited"},
};

static const struct cli_spec drain_spec = {
        .name = "drain",
        .usage = "[OPTIONS] --reason TEXT NODE...",
        .summary = "Drain nodes (operator or admin): their running jobs run on until they end,\n"
                   "no new job starts on them. `nordlys nodes` shows them DRAINING, then DRAINED.",
        .opts = drain_opts,
        .nopts = DOPT_COUNT,
        .min_pos = 1,
        .max_pos = SIZE_MAX,
};

static const struct cli_spec resume_spec = {
        .name = "resume",
        .usage = "[OPTIONS] NODE...",
        .summary = "Undrain nodes (operator or admin): new jobs may start on them again.",
        .min_pos = 1,
        .max_pos = SIZE_MAX,
};

static int on_reason(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    (void)idx;
    (void)err;
    *(const char **)ctx = val;
    return 0;
}

static int drain_or_resume(const struct cli_spec *spec, int argc, char **argv, bool drain)
{
    const char *reason = NULL;
    struct cli_args args = {0};
    json_t *answer = NULL, *body = NULL;
    int rc = cli_parse_args(spec, argc, argv, drain ? on_reason : NULL, &reason, &args);
    if (rc != CLI_RUN)
        goto out;
    if (drain && (reason == NULL || reason[0] == '\0')) {
        fprintf(stderr, "nordlys drain: --reason TEXT is required\n");
        rc = NL_CLI_USAGE;
        goto out;
    }
    body = json_pack("{s:o}", "nodes", names_array(args.pos, args.npos));
    if (drain)
        json_object_set_new(body, "reason", json_string(reason));
    rc = call_and(&args, "POST", drain ? "/v1/nodes/drain" : "/v1/nodes/resume", body, &answer);
    if (rc == NL_CLI_OK && args.json) {
        cli_print_json(answer);
    } else if (rc == NL_CLI_OK) {
        const json_t *nodes = json_object_get(answer, "nodes");
        for (size_t i = 0; i < json_array_size(nodes); i++)
            printf("%s %s\n", drain ? "drained" : "resumed",
                   json_string_value(json_array_get(nodes, i)));
    }
out:
    json_decref(body);
    json_decref(answer);
    cli_args_release(&args);
    return rc;
}

int cmd_drain(int argc, char **argv)
{
    return drain_or_resume(&drain_spec, argc, argv, true);
}

int cmd_resume(int argc, char **argv)
{
    return drain_or_resume(&resume_spec, argc, argv, false);
}

/* ---- reservation ---- */

enum { ROPT_NODES, ROPT_GPUS, ROPT_START, ROPT_DURATION, ROPT_TENANT, ROPT_NAME, ROPT_COUNT };

static const struct cli_opt resv_opts[ROPT_COUNT] = {
        [ROPT_NODES] = {"nodes", "LIST", "create: these nodes (comma list of names)"},
        [ROPT_GPUS] = {"gpus", "N",
                       "create: whole nodes for N GPUs, chosen now (those free first, see docs)"},
        [ROPT_START] = {"start", "T", "create: when it begins (now, now+2h, 2026-12-01T08:00, ...)"},
        [ROPT_DURATION] = {"duration", "D", "create: how long (90m, 2h, 1d, 3600)"},
        [ROPT_TENANT] = {"tenant", "T", "create: only tenant T's jobs run on it (default: nobody,"
                                        " maintenance)"},
        [ROPT_NAME] = {"name", "NAME", "create: a name for people"},
};

static const struct cli_spec resv_spec = {
        .name = "reservation",
        .usage = "[OPTIONS] create|list|delete [ID...]",
        .summary = "Reserve nodes for a time window (operator or admin; list: anyone).\n"
                   "Before the start, only jobs whose time limit ends by then run on them;\n"
                   "during it, only --tenant's jobs (or none, for maintenance).",
        .opts = resv_opts,
        .nopts = ROPT_COUNT,
        .min_pos = 1,
        .max_pos = SIZE_MAX,
};

struct resv_opts {
    const char *v[ROPT_COUNT];
};

static int on_resv_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    (void)err;
    ((struct resv_opts *)ctx)->v[idx] = val;
    return 0;
}

static const char *const resv_fields[] = {"id",         "name",  "tenant", "state",
                                          "start_time", "end_time", "duration_s", "nodes",
                                          "by",         "created_time", NULL};

static void render_resvs(const json_t *list)
{
    struct cli_rowfmt f = {0};
    struct nl_err err = {0};
    if (cli_rowfmt_parse(&f, "id,name,tenant,state,start_time,end_time,nodes", resv_fields,
                         &err) == 0) {
        cli_rowfmt_print(&f, list);
        cli_rowfmt_release(&f);
    }
}

static int resv_create(const struct cli_args *args, const struct resv_opts *o)
{
    struct nl_err err = {0};
    double now = (double)time(NULL), start = 0;
    int64_t dur = 0, gpus = 0;
    if ((o->v[ROPT_NODES] == NULL) == (o->v[ROPT_GPUS] == NULL)) {
        fprintf(stderr, "nordlys reservation create: give --nodes LIST or --gpus N\n");
        return NL_CLI_USAGE;
    }
    if (o->v[ROPT_START] == NULL || o->v[ROPT_DURATION] == NULL) {
        fprintf(stderr, "nordlys reservation create: --start and --duration are required\n");
        return NL_CLI_USAGE;
    }
    if (cli_parse_when("--start", o->v[ROPT_START], now, &start, &err) < 0 ||
        cli_parse_duration("--duration", o->v[ROPT_DURATION], &dur, &err) < 0 ||
        (o->v[ROPT_GPUS] && cli_parse_int("--gpus", o->v[ROPT_GPUS], 1, INT32_MAX, &gpus, &err) < 0)) {
        fprintf(stderr, "nordlys reservation create: %s\n", err.msg);
        return NL_CLI_USAGE;
    }
    json_t *body = json_pack("{s:f, s:I}", "start", start, "duration", (json_int_t)dur);
    if (o->v[ROPT_NODES]) {
        char *list = (char *)o->v[ROPT_NODES];
        json_object_set_new(body, "nodes", names_array(&list, 1));
    } else {
        json_object_set_new(body, "gpus", json_integer(gpus));
    }
    if (o->v[ROPT_TENANT])
        json_object_set_new(body, "tenant", json_string(o->v[ROPT_TENANT]));
    if (o->v[ROPT_NAME])
        json_object_set_new(body, "name", json_string(o->v[ROPT_NAME]));
    json_t *answer = NULL;
    int rc = call_and(args, "POST", "/v1/reservations", body, &answer);
    if (rc == NL_CLI_OK && args->json) {
        cli_print_json(answer);
    } else if (rc == NL_CLI_OK) {
        json_t *one = json_array();
        json_array_append(one, json_object_get(answer, "reservation"));
        render_resvs(one);
        json_decref(one);
    }
    json_decref(body);
    json_decref(answer);
    return rc;
}

int cmd_reservation(int argc, char **argv)
{
    struct resv_opts o = {0};
    struct cli_args args = {0};
    json_t *answer = NULL;
    int rc = cli_parse_args(&resv_spec, argc, argv, on_resv_opt, &o, &args);
    if (rc != CLI_RUN)
        goto out;
    const char *verb = args.pos[0];
    if (strcmp(verb, "create") == 0 && args.npos == 1) {
        rc = resv_create(&args, &o);
    } else if (strcmp(verb, "list") == 0 && args.npos == 1) {
        rc = call_and(&args, "GET", "/v1/reservations", NULL, &answer);
        if (rc == NL_CLI_OK && args.json)
            cli_print_json(answer);
        else if (rc == NL_CLI_OK)
            render_resvs(json_object_get(answer, "reservations"));
    } else if (strcmp(verb, "delete") == 0 && args.npos >= 2) {
        rc = NL_CLI_OK;
        for (size_t i = 1; i < args.npos; i++) {
            struct nl_err err = {0};
            int64_t id = 0;
            if (cli_parse_int("reservation id", args.pos[i], 1, INT64_MAX, &id, &err) < 0) {
                fprintf(stderr, "nordlys reservation delete: %s\n", err.msg);
                rc = NL_CLI_USAGE;
                break;
            }
            char path[64];
            snprintf(path, sizeof(path), "/v1/reservations/%lld", (long long)id);
            json_decref(answer);
            answer = NULL;
            int one = call_and(&args, "DELETE", path, NULL, &answer);
            if (one == NL_CLI_OK)
                printf("deleted reservation %lld\n", (long long)id);
            else
                rc = one;
        }
    } else {
        fprintf(stderr, "nordlys reservation: create (no id), list (no id) or delete ID...\n");
        rc = NL_CLI_USAGE;
    }
out:
    json_decref(answer);
    cli_args_release(&args);
    return rc;
}

/* ---- history ---- */

enum { HOPT_SINCE, HOPT_UNTIL, HOPT_USER, HOPT_TENANT, HOPT_STATE, HOPT_FORMAT, HOPT_CSV,
       HOPT_LIMIT, HOPT_ALL, HOPT_COUNT };

static const struct cli_opt hist_opts[HOPT_COUNT] = {
        [HOPT_SINCE] = {"since", "T", "runs that ended at or after T (default: -1d)"},
        [HOPT_UNTIL] = {"until", "T", "runs that ended before T (default: no bound)"},
        [HOPT_USER] = {"user", "U", "only runs of jobs that ran as Unix user U"},
        [HOPT_TENANT] = {"tenant", "T", "only runs of tenant T"},
        [HOPT_STATE] = {"state", "S", "only runs that ended in S (comma list: COMPLETED,FAILED,"
                                      "CANCELLED,TIMEOUT,NODE_FAIL,PREEMPTED,REQUEUED)"},
        [HOPT_FORMAT] = {"format", "FIELDS", "columns, a comma list (see --help text)"},
        [HOPT_CSV] = {"csv", NULL, "CSV instead of a table (times as Unix seconds)"},
        [HOPT_LIMIT] = {"limit", "N", "at most N runs, latest end first (default 1000)"},
        [HOPT_ALL] = {"all", NULL, "every run in the window, page by page"},
};

static const struct cli_spec hist_spec = {
        .name = "history",
        .usage = "[OPTIONS]",
        .summary = "Finished runs, one row per run (a requeued job has one per start), latest\n"
                   "end first. Fields for --format: id, run, name, user, tenant, gpus, state,\n"
                   "submit_time, start_time, end_time, elapsed, exit_code, exit_signal, nodes,\n"
                   "reason.",
        .opts = hist_opts,
        .nopts = HOPT_COUNT,
};

static const char *const hist_fields[] = {
        "id",         "run",      "name",      "user",      "tenant",      "gpus",  "state",
        "submit_time", "start_time", "end_time", "elapsed", "elapsed_s", "exit_code",
        "exit_signal", "nodes",   "reason",    NULL};

/* Runs a page of `history --all` asks for (without --limit). */
#define HIST_ALL_PAGE 5000

#define HIST_DEFAULT_FORMAT "id,run,name,user,tenant,state,gpus,start_time,end_time,elapsed,exit_code,nodes"

struct hist_opts {
    const char *v[HOPT_COUNT];
    bool csv, all;
};

static int on_hist_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    (void)err;
    struct hist_opts *h = ctx;
    if (idx == HOPT_CSV)
        h->csv = true;
    else if (idx == HOPT_ALL)
        h->all = true;
    else
        h->v[idx] = val;
    return 0;
}

int cmd_history(int argc, char **argv)
{
    struct hist_opts h = {0};
    struct cli_args args = {0};
    struct cli_rowfmt f = {0};
    struct nl_err err = {0};
    json_t *runs = json_array(), *page = NULL;
    struct cli_client *c = NULL;
    int rc = cli_parse_args(&hist_spec, argc, argv, on_hist_opt, &h, &args);
    if (rc != CLI_RUN)
        goto out;
    double now = (double)time(NULL), since = now - 86400, until = 0;
    int64_t limit = 0;
    f.csv = h.csv;
    if ((h.v[HOPT_SINCE] && cli_parse_when("--since", h.v[HOPT_SINCE], now, &since, &err) < 0) ||
        (h.v[HOPT_UNTIL] && cli_parse_when("--until", h.v[HOPT_UNTIL], now, &until, &err) < 0) ||
        (h.v[HOPT_LIMIT] && cli_parse_int("--limit", h.v[HOPT_LIMIT], 1, 100000, &limit, &err) < 0) ||
        cli_rowfmt_parse(&f, h.v[HOPT_FORMAT] ? h.v[HOPT_FORMAT] : HIST_DEFAULT_FORMAT,
                         hist_fields, &err) < 0) {
        fprintf(stderr, "nordlys history: %s\n", err.msg);
        rc = NL_CLI_USAGE;
        goto out;
    }
    char s_since[32], s_until[32], s_limit[24];
    snprintf(s_since, sizeof(s_since), "%.6f", since);
    snprintf(s_until, sizeof(s_until), "%.6f", until);
    snprintf(s_limit, sizeof(s_limit), "%lld", (long long)limit);
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) != NL_CLI_OK)
        goto out;
    /* --all reads the window page by page, and prints each page as it comes. */
    if (h.all && limit == 0)
        snprintf(s_limit, sizeof(s_limit), "%d", HIST_ALL_PAGE);
    struct cli_rowstream out = {.f = &f};
    size_t printed = 0;
    char *cursor = NULL;
    do {
        static const char *const keys[] = {"since", "until", "user", "tenant", "state", "limit",
                                           "after"};
        const char *vals[] = {s_since, h.v[HOPT_UNTIL] ? s_until : NULL, h.v[HOPT_USER],
                              h.v[HOPT_TENANT], h.v[HOPT_STATE],
                              limit || h.all ? s_limit : NULL, cursor};
        char *path = cli_path_query("/v1/history", keys, vals, 7);
        json_decref(page);
        page = NULL;
        rc = cli_client_call(c, "GET", path, NULL, &page);
        free(path);
        free(cursor);
        cursor = NULL;
        if (rc != NL_CLI_OK)
            goto out;
        json_t *rows = json_object_get(page, "runs");
        const char *next = json_string_value(json_object_get(page, "next"));
        if (!h.all)
            json_array_extend(runs, rows);
        else if (args.json)
            for (size_t i = 0; i < json_array_size(rows); i++, printed++) {
                /* One run a line, in one JSON document: {"runs":[ ... ]} */
                char *t = json_dumps(json_array_get(rows, i), JSON_COMPACT | JSON_REAL_PRECISION(16));
                printf("%s%s", printed ? ",\n" : "{\"runs\":[\n", t ? t : "null");
                free(t);
            }
        else
            cli_rowstream_page(&out, rows);
        if (next != NULL && h.all)
            cursor = xstrdup(next);
    } while (cursor != NULL);
    if (h.all) {
        if (args.json)
            printf("%s]}\n", printed ? "\n" : "{\"runs\":[");
        else if (!out.started)
            cli_rowstream_page(&out, runs);
    } else if (args.json) {
        json_t *o = json_pack("{s:O}", "runs", runs);
        cli_print_json(o);
        json_decref(o);
    } else {
        cli_rowfmt_print(&f, runs);
        if (json_string_value(json_object_get(page, "next")) != NULL)
            fprintf(stderr, "(more runs in this window: --limit N or --all)\n");
    }
out:
    cli_rowfmt_release(&f);
    json_decref(runs);
    json_decref(page);
    cli_client_destroy(c);
    cli_args_release(&args);
    return rc;
}

/* ---- queue --start ---- */

#define START_DEFAULT_FORMAT "rank,id,name,tenant,gpus,time_limit_s,est_start_time,reason"

const char *const cli_job_fields[] = {
        "rank",        "id",        "name",      "tenant",     "tier",      "user",
        "state",       "reason",    "reason_text", "est_start_time", "priority", "gpus",
        "time_limit_s", "residency", "submit_time", "start_time", "end_time", "elapsed",
        "nodes",       "site",      "preemptions", "run",      "exit_code", "exit_signal",
        "exit_reason", "run_s",     "energy_kwh", "borrowed",  "cwd",       "stdout",
        "stderr",      NULL};

int cli_queue_start(const struct cli_args *args, int64_t top, const char *format, bool csv)
{
    struct cli_rowfmt f = {.csv = csv};
    struct nl_err err = {0};
    if (cli_rowfmt_parse(&f, format ? format : START_DEFAULT_FORMAT, cli_job_fields, &err) < 0) {
        fprintf(stderr, "nordlys queue: %s\n", err.msg);
        return NL_CLI_USAGE;
    }
    char path[64];
    snprintf(path, sizeof(path), "/v1/estimates?top=%lld", (long long)(top > 0 ? top : 100));
    json_t *answer = NULL;
    int rc = call_and(args, "GET", path, NULL, &answer);
    if (rc == NL_CLI_OK && args->json)
        cli_print_json(answer);
    else if (rc == NL_CLI_OK)
        cli_rowfmt_print(&f, json_object_get(answer, "jobs"));
    json_decref(answer);
    cli_rowfmt_release(&f);
    return rc;
}
