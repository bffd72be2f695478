/* SPDX-License-Identifier: MIT */
/*
 * cmd_events.c - `nordlys events ID`: a job's state history (GET
 * /v1/jobs/ID/events, issue 14), one line an event, oldest first.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "jobref.h"
#include "nordlys/err.h"
#include "opt.h"
#include "table.h"

static const struct cli_spec events_spec = {
        .name = "events",
        .usage = "[OPTIONS] ID",
        .summary = "A job's state history: submitted, held and released, each run started (on "
                   "which nodes) and how it ended (preempted, requeued, or the job's end).",
        .min_pos = 1,
        .max_pos = 1,
};

/* Append "; " (unless buf is empty) and the formatted text to buf, which has *n bytes used. */
static void add(char *buf, size_t size, size_t *n, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void add(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
    if (*n + 3 >= size)
        return;
    if (*n > 0)
        *n += (size_t)snprintf(buf + *n, size - *n, "; ");
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *n, size - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n = *n + (size_t)w < size ? *n + (size_t)w : size - 1;
}

/* What an event says beyond its kind, into buf. */
static void event_text(const json_t *e, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    double run = cli_json_num(e, "run");
    if (isfinite(run))
        add(buf, size, &n, "run %.0f", run);
    const json_t *nodes = json_object_get(e, "nodes");
    size_t i;
    const json_t *v;
    json_array_foreach(nodes, i, v)
    {
        const char *name = json_string_value(v) ? json_string_value(v) : "?";
        if (i == 0)
            add(buf, size, &n, "on %s", name);
        else if (n + 3 < size)
            n += (size_t)snprintf(buf + n, size - n, ", %s", name);
        n = n < size ? n : size - 1;
    }
    if (json_is_string(json_object_get(e, "state")))
        add(buf, size, &n, "%s", cli_json_str(e, "state"));
    double code = cli_json_num(e, "exit_code"), sig = cli_json_num(e, "exit_signal");
    if (isfinite(code))
        add(buf, size, &n, "exit %.0f", code);
    if (isfinite(sig) && sig > 0)
        add(buf, size, &n, "signal %.0f", sig);
    if (json_is_string(json_object_get(e, "reason")))
        add(buf, size, &n, "%s", cli_json_str(e, "reason"));
    if (json_is_string(json_object_get(e, "detail")))
        add(buf, size, &n, "%s", cli_json_str(e, "detail"));
}

static void render_events(const json_t *j)
{
    printf("job %.0f  %s\n", cli_json_num(j, "id"), cli_json_str(j, "state"));
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(j, "events"), i, e)
    {
        char when[CLI_FMT_MAX], text[1024];
        double t = cli_json_num(e, "time");
        event_text(e, text, sizeof(text));
        printf("  %-19s  %-14s %s\n", isfinite(t) ? cli_fmt_time(when, t) : "-",
               cli_json_str(e, "kind"), text);
    }
}

int cmd_events(int argc, char **argv)
{
    struct cli_args args = {0};
    int rc = cli_parse_args(&events_spec, argc, argv, NULL, NULL, &args);
    if (rc == CLI_RUN) {
        struct nl_err err = {0};
        int64_t id = 0, index = -1;
        if (cli_jobref_parse(args.pos[0], &id, &index, &err) < 0 || index >= 0) {
            fprintf(stderr, "nordlys events: %s\n",
                    index >= 0 ? "ID: an array task's events are under its own job id "
                                 "(nordlys show ID_N names it)"
                               : err.msg);
            rc = NL_CLI_USAGE;
        } else {
            char path[96];
            snprintf(path, sizeof(path), "/v1/jobs/%" PRId64 "/events", id);
            rc = cli_get_and_print(args.url, args.token_file, path, args.json, render_events);
        }
    }
    cli_args_release(&args);
    return rc;
}
