/* SPDX-License-Identifier: MIT */
/*
 * cmd_jobs.c - `nordlys queue`, `nordlys show` and `nordlys cancel`.
 *
 * queue lists live jobs (pending, running, being preempted) unless --all
 * or --state says otherwise, as squeue does: finished jobs are history and
 * would bury the queue. show explains a waiting job in the controller's
 * own words (reason_text) with its estimated start. cancel checks every id
 * before sending anything, so a typo in the third id cancels nothing.
 *
 * queue never leaves rows out silently: when the listing holds fewer rows
 * than the filter matches (the answer's "total"), it says how many more
 * there are and how to see them. --all walks every page (page.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "commands.h"
#include "common/xalloc.h"
#include "jobref.h"
#include "nordlys/err.h"
#include "opt.h"
#include "cmd_ops.h"
#include "page.h"
#include "rowfmt.h"
#include "script.h"
#include "table.h"

/* The states `nordlys queue` shows by default. */
#define CLI_LIVE_STATES "PENDING,RUNNING,PREEMPTING"

/* ---- queue ---- */

enum {
    QOPT_STATE,
    QOPT_TENANT,
    QOPT_ALL,
    QOPT_LIMIT,
    QOPT_START,
    QOPT_TOP,
    QOPT_FORMAT,
    QOPT_CSV,
    QOPT_COUNT
};

static const struct cli_opt queue_opts[QOPT_COUNT] = {
        [QOPT_STATE] = {"state", "S", "only jobs in state S (a comma list: PENDING,RUNNING)"},
        [QOPT_TENANT] = {"tenant", "T", "only jobs of tenant T"},
        [QOPT_ALL] = {"all", NULL,
                      "every job, finished ones included (unless --state), page by page"},
        [QOPT_LIMIT] = {"limit", "N", "at most N jobs, newest first"},
        [QOPT_START] = {"start", NULL,
                        "the top pending jobs in the scheduler's order, with estimated starts"},
        [QOPT_TOP] = {"top", "N", "with --start: the first N (default 100)"},
        [QOPT_FORMAT] = {"format", "FIELDS",
                         "columns, a comma list of job fields (id,name,state,elapsed,...)"},
        [QOPT_CSV] = {"csv", NULL, "CSV instead of a table (times as Unix seconds)"},
};

static const struct cli_spec queue_spec = {
        .name = "queue",
        .usage = "[OPTIONS]",
        .summary = "List jobs, newest first: by default those pending or running.",
        .opts = queue_opts,
        .nopts = QOPT_COUNT,
};

struct queue_opts {
    const char *state;
    const char *tenant;
    const char *limit;
    int64_t limit_n; /* --limit as a number, 0 when not given */
    bool all;
    bool start, csv;   /* --start, --csv */
    int64_t top;       /* --top, 0 when not given */
    const char *format;
};

static int on_queue_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    struct queue_opts *q = ctx;
    int64_t n = 0;
    switch (idx) {
    case QOPT_STATE:
        q->state = val;
        return 0;
    case QOPT_TENANT:
        q->tenant = val;
        return 0;
    case QOPT_ALL:
        q->all = true;
        return 0;
    case QOPT_START:
        q->start = true;
        return 0;
    case QOPT_CSV:
        q->csv = true;
        return 0;
    case QOPT_FORMAT:
        q->format = val;
        return 0;
    case QOPT_TOP:
        return cli_parse_int("--top", val, 1, 10000, &q->top, err) < 0 ? -1 : 0;
    default:
        q->limit = val;
        if (cli_parse_int("--limit", val, 1, INT32_MAX, &n, err) < 0)
            return -1;
        q->limit_n = n;
        return 0;
    }
}

/* "node-a+3": the first node and how many more; show prints them all. */
static void add_nodes_cell(struct cli_table *t, const json_t *nodes)
{
    size_t n = json_array_size(nodes);
    const char *first = json_string_value(json_array_get(nodes, 0));
    /* Node names are at most 128 bytes by the agent's limit; %.128s keeps a bad one short. */
    if (n > 1)
        cli_table_addf(t, "%.128s+%zu", first != NULL ? first : "?", n - 1);
    else
        cli_table_addf(t, "%.128s", first != NULL ? first : "?");
}

/* The last column says where a job runs, why it waits, or how it ended. */
static void add_where_cell(struct cli_table *t, const json_t *job)
{
    const char *state = cli_json_str(job, "state");
    double exit_code = cli_json_num(job, "exit_code");
    if (strcmp(state, "PENDING") == 0)
        cli_table_addf(t, "(%s)", cli_json_str(job, "reason"));
    else if (json_array_size(json_object_get(job, "nodes")) > 0 &&
             !isfinite(cli_json_num(job, "end_time")))
        add_nodes_cell(t, json_object_get(job, "nodes"));
    else if (isfinite(exit_code))
        cli_table_addf(t, "exit %.0f", exit_code);
    else
        cli_table_add(t, NULL);
}

/* TIME is the run time so far (or in total), as squeue shows it. */
static double run_time_s(const json_t *job, double now)
{
    double start = cli_json_num(job, "start_time");
    double end = cli_json_num(job, "end_time");
    if (!isfinite(start))
        return NAN;
    return (isfinite(end) ? end : now) - start;
}

static void render_queue(const json_t *j)
{
    static const char *const hdr[] = {"ID",   "NAME", "TENANT", "STATE",
                                      "GPUS", "TIME", "LIMIT",  "NODES (REASON)"};
    struct cli_table *t = cli_table_create(8, hdr);
    cli_table_align_right(t, 0);
    cli_table_align_right(t, 4);
    cli_table_align_right(t, 5);
    cli_table_align_right(t, 6);
    double now = (double)time(NULL);
    const json_t *jobs = json_object_get(j, "jobs");
    for (size_t i = 0; i < json_array_size(jobs); i++) {
        const json_t *job = json_array_get(jobs, i);
        char b1[CLI_FMT_MAX];
        char b2[CLI_FMT_MAX];
        char ref[320];
        cli_table_add(t, cli_jobref_format(job, ref, sizeof(ref)));
        cli_table_add(t, cli_json_str(job, "name"));
        cli_table_add(t, cli_json_str(job, "tenant"));
        cli_table_add(t, cli_json_str(job, "state"));
        cli_table_add(t, cli_fmt_count(b1, cli_json_num(job, "gpus")));
        cli_table_add(t, cli_fmt_duration(b1, run_time_s(job, now)));
        cli_table_add(t, cli_fmt_duration(b2, cli_json_num(job, "time_limit_s")));
        add_where_cell(t, job);
    }
    cli_table_print(t, stdout);
    cli_table_destroy(t);
}

/* The listing's path: the filter, limit (NULL: the controller's default) and before (0: none). */
static char *queue_path(const struct queue_opts *q, const char *limit, uint64_t before)
{
    static const char *const keys[] = {"state", "tenant", "limit", "before"};
    char b[24];
    snprintf(b, sizeof(b), "%llu", (unsigned long long)before);
    const char *state = q->state != NULL ? q->state : q->all ? NULL : CLI_LIVE_STATES;
    const char *vals[] = {state, q->tenant, limit, before > 0 ? b : NULL};
    return cli_path_query("/v1/jobs", keys, vals, 4);
}

/*
 * Every page of the listing (up to --limit rows when given) in one answer
 * {"jobs": [...], "total": N} (total when the controller sends it), in *out.
 */
static int queue_walk(struct cli_client *c, const struct queue_opts *q, json_t **out)
{
    struct cli_pager pg;
    cli_pager_init(&pg, q->limit_n);
    json_t *all = json_array();
    json_t *total = NULL;
    int64_t limit;
    while ((limit = cli_pager_limit(&pg)) > 0) {
        char l[24];
        snprintf(l, sizeof(l), "%lld", (long long)limit);
        char *path = queue_path(q, l, pg.before);
        json_t *page = NULL;
        int rc = cli_client_call(c, "GET", path, NULL, &page);
        free(path);
        if (rc != NL_CLI_OK) {
            json_decref(all);
            json_decref(total);
            return rc;
        }
        const json_t *jobs = json_object_get(page, "jobs");
        size_t n = json_array_size(jobs);
        double last = cli_json_num(json_array_get(jobs, n > 0 ? n - 1 : 0), "id");
        if (total == NULL && json_is_integer(json_object_get(page, "total")))
            total = json_incref(json_object_get(page, "total"));
        json_array_extend(all, (json_t *)jobs);
        json_decref(page);
        cli_pager_advance(&pg, n, isfinite(last) && last > 0 ? (uint64_t)last : 0, limit);
    }
    *out = json_pack("{s:o}", "jobs", all);
    if (total != NULL)
        json_object_set_new(*out, "total", total);
    return NL_CLI_OK;
}

/* "... and N more" to stderr, so that a script reading the table sees only rows. */
static void queue_hint(const json_t *answer)
{
    const json_t *total = json_object_get(answer, "total");
    if (!json_is_integer(total))
        return; /* an older controller: it does not say */
    char line[128];
    if (cli_page_hint(line, sizeof(line), (int64_t)json_integer_value(total),
                      (int64_t)json_array_size(json_object_get(answer, "jobs"))))
        fprintf(stderr, "%s\n", line);
}

int cmd_queue(int argc, char **argv)
{
    struct queue_opts q = {0};
    struct cli_args args = {0};
    struct cli_client *c = NULL;
    json_t *answer = NULL;
    int rc = cli_parse_args(&queue_spec, argc, argv, on_queue_opt, &q, &args);
    if (rc != CLI_RUN)
        goto out;
    if (q.start) {
        rc = cli_queue_start(&args, q.top, q.format, q.csv);
        goto out;
    }
    struct cli_rowfmt f = {.csv = q.csv};
    struct nl_err ferr = {0};
    if ((q.format || q.csv) &&
        cli_rowfmt_parse(&f, q.format ? q.format : "id,name,tenant,state,gpus,elapsed,time_limit_s,reason",
                         cli_job_fields, &ferr) < 0) {
        fprintf(stderr, "nordlys queue: %s\n", ferr.msg);
        rc = NL_CLI_USAGE;
        goto out;
    }
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) != NL_CLI_OK)
        goto out_f;
    if (q.all) {
        rc = queue_walk(c, &q, &answer);
    } else {
        char *path = queue_path(&q, q.limit, 0);
        rc = cli_client_call(c, "GET", path, NULL, &answer);
        free(path);
    }
    if (rc != NL_CLI_OK)
        goto out_f;
    if (args.json) {
        cli_print_json(answer);
    } else {
        if (f.n > 0)
            cli_rowfmt_print(&f, json_object_get(answer, "jobs"));
        else
            render_queue(answer);
        queue_hint(answer);
    }
out_f:
    cli_rowfmt_release(&f);
out:
    json_decref(answer);
    cli_client_destroy(c);
    cli_args_release(&args);
    return rc;
}

/* ---- show ---- */

static const struct cli_spec show_spec = {
        .name = "show",
        .usage = "[OPTIONS] ID",
        .summary = "Show one job: where it runs, or why it is waiting and when it should start.",
        .min_pos = 1,
        .max_pos = 1,
};

static void show_line(const char *key, const char *val)
{
    printf("  %-13s %s\n", key, val);
}

/* "2026-11-24 09:12:01 (5m ago)" or "(in 1h30m)"; "-" when unset. */
static void show_time(const char *key, double t, double now)
{
    char when[CLI_FMT_MAX];
    char rel[CLI_FMT_MAX];
    char line[2 * CLI_FMT_MAX + 16];
    if (!isfinite(t)) {
        show_line(key, "-");
        return;
    }
    cli_fmt_time(when, t);
    if (t >= now)
        snprintf(line, sizeof(line), "%s (in %s)", when, cli_fmt_duration(rel, t - now));
    else
        snprintf(line, sizeof(line), "%s (%s ago)", when, cli_fmt_duration(rel, now - t));
    show_line(key, line);
}

/* Join a JSON array of strings (or numbers) with sep into a new string; free() it. */
static char *join_array(const json_t *arr, const char *sep)
{
    size_t n = json_array_size(arr);
    size_t cap = 1;
    /* 24 bytes hold any number printed with %.0f that a job id or count can be. */
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        cap += strlen(sep) + (json_is_string(v) ? json_string_length(v) : 24);
    }
    char *s = xmalloc(cap);
    size_t len = 0;
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        const char *pre = i > 0 ? sep : "";
        if (json_is_string(v))
            len += (size_t)snprintf(s + len, cap - len, "%s%s", pre, json_string_value(v));
        else
            len += (size_t)snprintf(s + len, cap - len, "%s%.0f", pre, json_number_value(v));
    }
    return s;
}

static void show_flags(const json_t *job)
{
    char flags[128];
    snprintf(flags, sizeof(flags), "%s%s%s", cli_json_bool(job, "sensitive") ? "sensitive " : "",
             cli_json_bool(job, "preemptible") ? "preemptible " : "",
             cli_json_bool(job, "requeue") ? "requeue" : "no-requeue");
    show_line("flags", flags);
}

/*
 * "0", "137 (signal 9)", or "-" while the job has not ended; then, when the
 * controller knows why the job ended (a launch failure, a lost node), that.
 */
static void show_exit(const json_t *job)
{
    char b[CLI_FMT_MAX];
    char line[2 * CLI_FMT_MAX];
    double sig = cli_json_num(job, "exit_signal");
    cli_fmt_count(b, cli_json_num(job, "exit_code"));
    if (isfinite(sig) && sig > 0)
        snprintf(line, sizeof(line), "%s (signal %.0f)", b, sig);
    else
        snprintf(line, sizeof(line), "%s", b);
    show_line("exit code", line);
    const char *why = json_string_value(json_object_get(job, "exit_reason"));
    if (why != NULL)
        show_line("exit reason", why);
}

static void show_waiting(const json_t *job, double now)
{
    char line[512];
    snprintf(line, sizeof(line), "%s: %s", cli_json_str(job, "reason"),
             cli_json_str(job, "reason_text"));
    show_line("waiting for", line);
    show_time("est. start", cli_json_num(job, "est_start_time"), now);
}

/* What the gate says of a job: its dependency, its array (issue 12). */
static void show_gate(const json_t *job)
{
    char line[512];
    if (json_is_string(json_object_get(job, "dependency")))
        show_line("dependency", cli_json_str(job, "dependency"));
    if (isfinite(cli_json_num(job, "array_task_id"))) {
        snprintf(line, sizeof(line), "task %.0f of array job %.0f",
                 cli_json_num(job, "array_task_id"), cli_json_num(job, "array_job_id"));
        show_line("array", line);
    }
    const json_t *arr = json_object_get(job, "array");
    if (!json_is_object(arr))
        return;
    snprintf(line, sizeof(line), "%s: %.0f tasks, %.0f made, pending %s", cli_json_str(arr, "spec"),
             cli_json_num(arr, "count"), cli_json_num(arr, "made"), cli_json_str(arr, "pending"));
    show_line("array", line);
    if (isfinite(cli_json_num(arr, "live"))) {
        snprintf(line, sizeof(line), "%.0f unfinished, %.0f completed, %.0f failed, %.0f cancelled",
                 cli_json_num(arr, "live"), cli_json_num(arr, "completed"),
                 cli_json_num(arr, "failed"), cli_json_num(arr, "cancelled_tasks"));
        show_line("tasks", line);
    }
}

static void render_show(const json_t *j)
{
    const json_t *job = json_object_get(j, "job");
    double now = (double)time(NULL);
    char b[CLI_FMT_MAX];
    char line[256];
    char ref[320];
    printf("job %s  %s\n", cli_jobref_format(job, ref, sizeof(ref)), cli_json_str(job, "name"));
    show_line("state", cli_json_str(job, "state"));
    if (strcmp(cli_json_str(job, "state"), "PENDING") == 0)
        show_waiting(job, now);
    show_gate(job);
    snprintf(line, sizeof(line), "%s (%s)%s", cli_json_str(job, "tenant"),
             cli_json_str(job, "tier"),
             cli_json_bool(job, "borrowed") ? ", borrowed capacity" : "");
    show_line("tenant", line);
    show_line("gpus", cli_fmt_count(b, cli_json_num(job, "gpus")));
    show_line("time limit", cli_fmt_duration(b, cli_json_num(job, "time_limit_s")));
    show_line("residency", cli_json_str(job, "residency"));
    show_flags(job);
    show_line("grace", cli_fmt_duration(b, cli_json_num(job, "grace_s")));
    /* A batch script's command holds its whole text: say which script instead. */
    char *s = cli_script_describe(json_object_get(job, "command"));
    if (s == NULL)
        s = join_array(json_object_get(job, "command"), " ");
    show_line("command", s);
    free(s);
    show_time("submitted", cli_json_num(job, "submit_time"), now);
    show_time("started", cli_json_num(job, "start_time"), now);
    show_time("ended", cli_json_num(job, "end_time"), now);
    show_line("run time", cli_fmt_duration(b, run_time_s(job, now)));
    s = join_array(json_object_get(job, "nodes"), ", ");
    show_line("nodes", s[0] != '\0' ? s : "-");
    free(s);
    show_line("site", cli_json_str(job, "site"));
    show_line("run", cli_fmt_count(b, cli_json_num(job, "run")));
    show_line("preemptions", cli_fmt_count(b, cli_json_num(job, "preemptions")));
    show_exit(job);
    show_line("energy", cli_fmt_energy(b, cli_json_num(job, "energy_kwh")));
    show_line("stdout", cli_json_str(job, "stdout"));
    show_line("stderr", cli_json_str(job, "stderr"));
}

int cmd_show(int argc, char **argv)
{
    struct cli_args args = {0};
    int rc = cli_parse_args(&show_spec, argc, argv, NULL, NULL, &args);
    if (rc == CLI_RUN) {
        struct nl_err err = {0};
        int64_t id = 0, index = -1;
        if (cli_jobref_parse(args.pos[0], &id, &index, &err) < 0) {
            fprintf(stderr, "nordlys show: %s\n", err.msg);
            rc = NL_CLI_USAGE;
        } else {
            char path[96];
            cli_jobref_path(id, index, path, sizeof(path));
            rc = cli_get_and_print(args.url, args.token_file, path, args.json, render_show);
        }
    }
    cli_args_release(&args);
    return rc;
}

/* cancel: cmd_control.c */
