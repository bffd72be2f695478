/* SPDX-License-Identifier: MIT */
/*
 * cmd_run.c - `nordlys run [submit options] -- CMD` (srun's attached
 * run) and `nordlys output ID`.
 *
 * run submits as `nordlys submit` does (the very same options and
 * request), then follows the job: it polls GET /v1/jobs/{id}/output for
 * stdout and stderr from where it stopped, writes the new bytes to its own
 * stdout and stderr as they come, and once the job has ended and both
 * streams are complete (docs/api.md) exits with the job's status:
 *
 *   COMPLETED      0
 *   FAILED         the job's exit code (128 + N when signal N killed it;
 *                  1 when it never ran and has none)
 *   TIMEOUT        124 (as timeout(1))
 *   CANCELLED      130 (128 + SIGINT: Ctrl-C is the usual way)
 *   NODE_FAIL      125 (its node was lost and it did not requeue)
 *
 * Before the job exists the command's own statuses apply (2 usage, 3 the
 * controller unreachable, 1 refused). The first Ctrl-C (SIGINT, also
 * SIGTERM and SIGHUP) cancels the job and goes on streaming until it has
 * ended; a second one leaves at once (130) and the job's end is not
 * awaited. A controller that stops answering is polled again with backoff
 * until it answers.
 *
 * What streams is every task's output, as the controller keeps it: the
 * last 1 MiB of each stream, every node's merged; a reader that falls
 * further behind is told how many bytes it skipped. A job of several
 * tasks has each line labelled "TASK: " (docs/api.md, "Job output"):
 * lines are written whole, never two tasks' bytes in one line, without
 * their labels (srun's default) or with them (--label, srun's -l, which
 * also labels a job of one task "0: "). `nordlys output --task T` writes
 * task T's lines alone.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "cmd_submit.h"
#include "commands.h"
#include "common/b64.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "opt.h"
#include "retry.h"

/* Exit statuses of `nordlys run` for a job that did not end by its own exit (see above). */
#define RUN_EXIT_TIMEOUT   124
#define RUN_EXIT_NODE_FAIL 125
#define RUN_EXIT_CANCELLED 130

/* Polling: quick while output flows, slower while the job is quiet or waits. */
#define POLL_MIN_MS 100
#define POLL_MAX_MS 1000

static volatile sig_atomic_t interrupts;

static void on_interrupt(int sig)
{
    (void)sig;
    if (++interrupts >= 2)
        _exit(RUN_EXIT_CANCELLED); /* the second one: leave now, the job is being cancelled */
}

static void catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a sleep or a request ends early, and the loop sees the interrupt. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL); /* an interrupt ends it early, on purpose */
}

/* What to follow and how to write it. */
struct follow_opts {
    bool until_end;           /* until the job has ended (else what is there now) */
    bool cancel_on_interrupt; /* Ctrl-C cancels the job, once */
    bool want_err;            /* stderr too */
    bool label;               /* every line "TASK: line" */
    int64_t task;             /* one task's lines alone, or -1 for all */
};

/* One stream being followed. */
struct follow_stream {
    const char *name; /* "stdout", "stderr" */
    FILE *to;
    uint64_t offset; /* the next byte wanted */
    bool complete;   /* the job has ended and every byte is here */
    bool mid_line;   /* an unlabelled stream: the last byte written ended no line */
    char *part;      /* a labelled stream: the start of a line not yet whole */
    size_t npart, cap_part;
};

/* Bytes of a label "DIGITS: " at the start of line[0, len), 0 when it has none. */
static size_t label_len(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && i < 20 && line[i] >= '0' && line[i] <= '9')
        i++;
    return i > 0 && i + 1 < len && line[i] == ':' && line[i + 1] == ' ' ? i + 2 : 0;
}

/*
 * Write what came of a stream whose lines are labelled by the controller:
 * whole lines only (the start of one not yet ended waits in st->part),
 * each in one write, with its label or without it.
 */
static void write_labelled(struct follow_stream *st, const char *p, size_t n, bool label)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) + 1 : n;
        if (st->npart + take > st->cap_part) {
            st->cap_part = st->npart + take + 256;
            st->part = xrealloc(st->part, st->cap_part);
        }
        memcpy(st->part + st->npart, p, take);
        st->npart += take;
        p += take;
        n -= take;
        if (nl == NULL)
            break;
        size_t skip = label ? 0 : label_len(st->part, st->npart);
        fwrite(st->part + skip, 1, st->npart - skip, st->to);
        st->npart = 0;
    }
}

/* Write what came of a stream of one task (unlabelled); with label, "TASK: " starts each line. */
static void write_plain(struct follow_stream *st, const char *p, size_t n, bool label, int64_t task)
{
    if (!label) {
        fwrite(p, 1, n, st->to);
        if (n > 0)
            st->mid_line = p[n - 1] != '\n';
        return;
    }
    while (n > 0) {
        if (!st->mid_line)
            fprintf(st->to, "%lld: ", (long long)task);
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) + 1 : n;
        fwrite(p, 1, take, st->to);
        st->mid_line = nl == NULL;
        p += take;
        n -= take;
    }
}

/* The start of a line that will not be completed here (the end): written as it is. */
static void flush_part(struct follow_stream *st, bool label)
{
    if (st->npart == 0)
        return;
    size_t skip = label ? 0 : label_len(st->part, st->npart);
    fwrite(st->part + skip, 1, st->npart - skip, st->to);
    fflush(st->to);
    st->npart = 0;
}

/*
 * Fetch what is new on st and write it out. Returns NL_CLI_OK with *got
 * the bytes the stream moved on by and *state the job's state (copied into state, size
 * bytes), or the request's failure.
 */
static int follow_once(struct cli_client *c, int64_t id, struct follow_stream *st,
                       const struct follow_opts *fo, size_t *got, char *state, size_t size,
                       bool *transient, struct nl_err *err)
{
    char path[160];
    int len = snprintf(path, sizeof(path), "/v1/jobs/%lld/output?stream=%s&offset=%llu",
                       (long long)id, st->name, (unsigned long long)st->offset);
    if (fo->task >= 0)
        snprintf(path + len, sizeof(path) - (size_t)len, "&task=%lld", (long long)fo->task);
    json_t *a = NULL;
    struct cli_outcome oc = {0};
    int rc = cli_client_send(c, "GET", path, NULL, NULL, &a, &oc, err);
    *got = 0;
    /* Worth waiting out: the controller down or restarting, a 503 while its store cannot write. */
    *transient = rc != NL_CLI_OK && cli_retry_worth(oc.kind, oc.status);
    if (rc != NL_CLI_OK)
        return rc;
    const char *data = cli_json_str(a, "data");
    size_t dlen = strcmp(data, "-") == 0 ? 0 : strlen(data);
    uint8_t *bytes = xmalloc(dlen / 4 * 3 + 1);
    long n = b64_decode(data, dlen, bytes);
    double skipped = cli_json_num(a, "skipped");
    bool labelled = cli_json_bool(a, "labelled");
    const char *p = (const char *)bytes;
    if (skipped > 0) {
        fprintf(stderr,
                "nordlys: %.0f bytes of the job's %s were skipped (the controller keeps "
                "the last 1 MiB)\n",
                skipped, st->name);
        /* The tail may begin inside a line, whose task cannot be told: it goes. */
        st->npart = 0;
        if (labelled && n > 0 && label_len(p, (size_t)n) == 0) {
            const char *nl = memchr(p, '\n', (size_t)n);
            long cut = nl ? (long)(nl - p) + 1 : n;
            p += cut;
            n -= cut;
        }
    }
    if (n > 0) {
        if (labelled)
            write_labelled(st, p, (size_t)n, fo->label);
        else
            write_plain(st, p, (size_t)n, fo->label, fo->task >= 0 ? fo->task : 0);
        fflush(st->to);
    }
    free(bytes);
    double next = cli_json_num(a, "next_offset");
    /* Progress is the stream's, not what was written: --task may write none of it. */
    if (next == next && (uint64_t)next > st->offset)
        *got = (size_t)((uint64_t)next - st->offset);
    if (next == next) /* not NAN */
        st->offset = (uint64_t)next;
    st->complete = cli_json_bool(a, "complete");
    if (st->complete)
        flush_part(st, fo->label);
    snprintf(state, size, "%s", cli_json_str(a, "state"));
    json_decref(a);
    return NL_CLI_OK;
}

static bool terminal(const char *state)
{
    static const char *const ends[] = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"};
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
        if (strcmp(state, ends[i]) == 0)
            return true;
    return false;
}

/* The exit status for a job that has ended (the table at the top). */
static int job_status(struct cli_client *c, int64_t id)
{
    char path[64];
    snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)id);
    json_t *a = NULL;
    int rc;
    for (unsigned attempt = 0;; attempt++) {
        struct cli_outcome oc = {0};
        struct nl_err err = {0};
        rc = cli_client_send(c, "GET", path, NULL, NULL, &a, &oc, &err);
        if (rc == NL_CLI_OK)
            break;
        if (!cli_retry_worth(oc.kind, oc.status)) {
            fprintf(stderr, "nordlys: %s\n", err.msg);
            return rc;
        }
        if (attempt % 10 == 0)
            fprintf(stderr, "nordlys: %s; trying again\n", err.msg);
        sleep_ms(POLL_MAX_MS);
    }
    const json_t *job = json_object_get(a, "job");
    const char *state = cli_json_str(job, "state");
    double code = cli_json_num(job, "exit_code"), sig = cli_json_num(job, "exit_signal");
    int status = 1;
    if (strcmp(state, "COMPLETED") == 0)
        status = 0;
    else if (strcmp(state, "TIMEOUT") == 0)
        status = RUN_EXIT_TIMEOUT;
    else if (strcmp(state, "CANCELLED") == 0)
        status = RUN_EXIT_CANCELLED;
    else if (strcmp(state, "NODE_FAIL") == 0)
        status = RUN_EXIT_NODE_FAIL;
    else if (sig == sig && sig > 0)
        status = 128 + (int)sig;
    else if (code == code && code > 0)
        status = (int)code & 255 ? (int)code & 255 : 1;
    const char *reason = cli_json_str(job, "exit_reason");
    if (status != 0 && (strcmp(state, "FAILED") != 0 || strcmp(reason, "-") != 0))
        fprintf(stderr, "nordlys: job %lld ended %s%s%s\n", (long long)id, state,
                strcmp(reason, "-") != 0 ? ": " : "", strcmp(reason, "-") != 0 ? reason : "");
    json_decref(a);
    return status;
}

/*
 * Follow job id's output until it has ended (or, when until_end is false,
 * until what is there now has been written). Ctrl-C cancels it once when
 * cancel_on_interrupt. Returns NL_CLI_OK when the job has ended or what
 * there was is written, or a failure of the first request.
 */
static int follow_streams(struct cli_client *c, int64_t id, const struct follow_opts *fo,
                          struct follow_stream *st)
{
    bool until_end = fo->until_end, cancel_on_interrupt = fo->cancel_on_interrupt,
         want_err = fo->want_err;
    int64_t wait_ms = POLL_MIN_MS;
    bool cancelled = false, answered = false;
    unsigned failures = 0;
    for (;;) {
        if (interrupts > 0 && cancel_on_interrupt && !cancelled) {
            cancelled = true;
            fprintf(stderr, "nordlys: cancelling job %lld (Ctrl-C again to leave at once)\n",
                    (long long)id);
            char path[64];
            snprintf(path, sizeof(path), "/v1/jobs/%lld", (long long)id);
            json_t *a = NULL;
            struct nl_err err = {0};
            if (cli_client_request(c, "DELETE", path, NULL, &a, &err) != NL_CLI_OK)
                fprintf(stderr, "nordlys: cancel: %s\n", err.msg);
            json_decref(a);
        }
        size_t total = 0;
        char state[32] = "";
        int rc = NL_CLI_OK;
        for (int i = 0; i < (want_err ? 2 : 1) && rc == NL_CLI_OK; i++) {
            size_t got = 0;
            bool transient = false;
            struct nl_err err = {0};
            rc = follow_once(c, id, &st[i], fo, &got, state, sizeof(state), &transient, &err);
            total += got;
            if (rc != NL_CLI_OK && (!answered || !transient)) {
                fprintf(stderr, "nordlys: %s\n", err.msg);
                return rc;
            }
            if (rc != NL_CLI_OK && failures++ % 10 == 0)
                fprintf(stderr, "nordlys: %s; trying again\n", err.msg);
        }
        if (rc == NL_CLI_OK) {
            answered = true;
            failures = 0;
        }
        bool done = st[0].complete && (!want_err || st[1].complete) && terminal(state);
        if (rc == NL_CLI_OK && (done || (!until_end && total == 0)))
            return NL_CLI_OK;
        /* More may be waiting right away when this poll brought some. */
        wait_ms = total > 0 ? POLL_MIN_MS : wait_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : wait_ms * 2;
        if (total == 0 || rc != NL_CLI_OK)
            sleep_ms(wait_ms);
    }
}

static int follow(struct cli_client *c, int64_t id, const struct follow_opts *fo)
{
    struct follow_stream st[2] = {{.name = "stdout", .to = stdout},
                                  {.name = "stderr", .to = stderr}};
    int rc = follow_streams(c, id, fo, st);
    for (int i = 0; i < 2; i++)
        flush_part(&st[i], fo->label);
    free(st[0].part);
    free(st[1].part);
    return rc;
}

/* ---- nordlys run ---- */

/* run's own flags, after submit's (cli_submit_main); bit i of cli_submitted.extra. */
enum {
    RUN_LABEL
};
static const struct cli_opt run_opts[] = {
        [RUN_LABEL] = {"label", NULL, "start each output line with its task's number, \"0: \""},
};

/* srun's -l. */
static const struct cli_letter run_letters[] = {{'l', "label"}};

static const struct cli_spec run_spec = {
        .name = "run",
        .usage = "[OPTIONS] -- CMD [ARGS...]",
        .summary = "Submit a job (with nordlys submit's options), wait for it, stream its output\n"
                   "(every task's stdout and stderr, in whole lines) as it is written, and exit\n"
                   "with the job's status: its exit code; 128+N when signal N killed it;\n"
                   "124 TIMEOUT; 125 NODE_FAIL; 130 CANCELLED. Ctrl-C cancels the job (a\n"
                   "second one leaves at once). The options are nordlys submit's, and --label.",
        .opts = run_opts,
        .nopts = sizeof(run_opts) / sizeof(run_opts[0]),
        .letters = run_letters,
        .nletters = sizeof(run_letters) / sizeof(run_letters[0]),
};

int cmd_run(int argc, char **argv)
{
    struct cli_submitted sub = {0};
    catch_interrupts();
    struct follow_opts fo = {
            .until_end = true, .cancel_on_interrupt = true, .want_err = true, .task = -1};
    int rc = cli_submit_main(argc, argv, &run_spec, &sub);
    if (rc != NL_CLI_OK || sub.id <= 0)
        return rc;
    fo.label = (sub.extra & (1u << RUN_LABEL)) != 0;
    if (sub.json)
        fprintf(stderr, "nordlys: --json has no meaning for run; streaming job %lld\n",
                (long long)sub.id);
    struct cli_client *c = cli_client_create(sub.url);
    rc = cli_client_use_token(c, sub.token_file[0] ? sub.token_file : NULL);
    if (rc == NL_CLI_OK)
        rc = follow(c, sub.id, &fo);
    if (rc == NL_CLI_OK)
        rc = job_status(c, sub.id);
    cli_client_destroy(c);
    return rc;
}

/* ---- nordlys output ---- */

enum {
    OUT_FOLLOW,
    OUT_STDERR,
    OUT_LABEL,
    OUT_TASK,
    OUT_COUNT
};

static const struct cli_opt output_opts[OUT_COUNT] = {
        [OUT_FOLLOW] = {"follow", NULL, "keep writing new output until the job has ended"},
        [OUT_STDERR] = {"stderr", NULL, "also the job's stderr (to this command's stderr)"},
        [OUT_LABEL] = {"label", NULL, "start each line with its task's number, \"0: \""},
        [OUT_TASK] = {"task", "T", "task T's lines alone (T counts from 0 over the job)"},
};

static const struct cli_spec output_spec = {
        .name = "output",
        .usage = "[OPTIONS] ID",
        .summary = "Write a job's output as the controller holds it: the last 1 MiB of its\n"
                   "stdout (and stderr with --stderr), every task's lines whole, merged;\n"
                   "--follow goes on until the job has ended.",
        .opts = output_opts,
        .nopts = OUT_COUNT,
        .min_pos = 1,
        .max_pos = 1,
};

static int output_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    struct follow_opts *fo = ctx;
    switch (idx) {
    case OUT_FOLLOW:
        fo->until_end = true;
        return 0;
    case OUT_STDERR:
        fo->want_err = true;
        return 0;
    case OUT_LABEL:
        fo->label = true;
        return 0;
    default:
        return cli_parse_int("--task", val, 0, UINT32_MAX - 1, &fo->task, err);
    }
}

int cmd_output(int argc, char **argv)
{
    struct cli_args args = {0};
    struct follow_opts fo = {.task = -1};
    struct cli_client *c = NULL;
    int64_t id = 0;
    int rc = cli_parse_args(&output_spec, argc, argv, output_opt, &fo, &args);
    if (rc != CLI_RUN)
        goto out;
    struct nl_err err = {0};
    if (cli_parse_job_id(args.pos[0], &id, &err) < 0) {
        fprintf(stderr, "nordlys output: %s\n", err.msg);
        rc = NL_CLI_USAGE;
        goto out;
    }
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) == NL_CLI_OK)
        rc = follow(c, id, &fo);
out:
    cli_client_destroy(c);
    cli_args_release(&args);
    return rc;
}
