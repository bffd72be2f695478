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
 * What streams is rank 0's output (the job's first node), as the
 * controller keeps it: the last 1 MiB of each stream; a reader that falls
 * further behind is told how many bytes it skipped.
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

/* One stream being followed. */
struct follow_stream {
    const char *name; /* "stdout", "stderr" */
    FILE *to;
    uint64_t offset; /* the next byte wanted */
    bool complete;   /* the job has ended and every byte is here */
};

/*
 * Fetch what is new on st and write it out. Returns NL_CLI_OK with *got
 * the bytes written and *state the job's state (copied into state, size
 * bytes), or the request's failure.
 */
static int follow_once(struct cli_client *c, int64_t id, struct follow_stream *st, size_t *got,
                       char *state, size_t size, bool *transient, struct nl_err *err)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/jobs/%lld/output?stream=%s&offset=%llu", (long long)id,
             st->name, (unsigned long long)st->offset);
    json_t *a = NULL;
    struct cli_outcome oc = {0};
    int rc = cli_client_send(c, "GET", path, NULL, NULL, &a, &oc, err);
    *got = 0;
    /* Worth waiting out: the controller down or restarting, a 503 while its store cannot write. */
    *transient = rc != NL_CLI_OK && cli_retry_worth(oc.kind, oc.status);
    if (rc != NL_CLI_OK)
        return rc;
    const char *data = cli_json_str(a, "data");
    size_t len = strcmp(data, "-") == 0 ? 0 : strlen(data);
    uint8_t *bytes = xmalloc(len / 4 * 3 + 1);
    long n = b64_decode(data, len, bytes);
    double skipped = cli_json_num(a, "skipped");
    if (skipped > 0)
        fprintf(stderr,
                "nordlys: %.0f bytes of the job's %s were skipped (the controller keeps "
                "the last 1 MiB)\n",
                skipped, st->name);
    if (n > 0) {
        fwrite(bytes, 1, (size_t)n, st->to);
        fflush(st->to);
        *got = (size_t)n;
    }
    free(bytes);
    double next = cli_json_num(a, "next_offset");
    if (next == next) /* not NAN */
        st->offset = (uint64_t)next;
    st->complete = cli_json_bool(a, "complete");
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
static int follow(struct cli_client *c, int64_t id, bool until_end, bool cancel_on_interrupt,
                  bool want_err)
{
    struct follow_stream st[2] = {{"stdout", stdout, 0, false}, {"stderr", stderr, 0, false}};
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
            rc = follow_once(c, id, &st[i], &got, state, sizeof(state), &transient, &err);
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

/* ---- nordlys run ---- */

static const struct cli_spec run_spec = {
        .name = "run",
        .usage = "[SUBMIT OPTIONS] -- CMD [ARGS...]",
        .summary = "Submit a job (with nordlys submit's options), wait for it, stream its output\n"
                   "(rank 0's stdout and stderr) as it is written, and exit with the job's\n"
                   "status: its exit code; 128+N when signal N killed it; 124 TIMEOUT;\n"
                   "125 NODE_FAIL; 130 CANCELLED. Ctrl-C cancels the job (a second one leaves\n"
                   "at once).",
};

int cmd_run(int argc, char **argv)
{
    struct cli_submitted sub = {0};
    catch_interrupts();
    int rc = cli_submit_main(argc, argv, &run_spec, &sub);
    if (rc != NL_CLI_OK || sub.id <= 0)
        return rc;
    if (sub.json)
        fprintf(stderr, "nordlys: --json has no meaning for run; streaming job %lld\n",
                (long long)sub.id);
    struct cli_client *c = cli_client_create(sub.url);
    rc = cli_client_use_token(c, sub.token_file[0] ? sub.token_file : NULL);
    if (rc == NL_CLI_OK)
        rc = follow(c, sub.id, true, true, true);
    if (rc == NL_CLI_OK)
        rc = job_status(c, sub.id);
    cli_client_destroy(c);
    return rc;
}

/* ---- nordlys output ---- */

enum {
    OUT_FOLLOW,
    OUT_STDERR,
    OUT_COUNT
};

static const struct cli_opt output_opts[OUT_COUNT] = {
        [OUT_FOLLOW] = {"follow", NULL, "keep writing new output until the job has ended"},
        [OUT_STDERR] = {"stderr", NULL, "also the job's stderr (to this command's stderr)"},
};

static const struct cli_spec output_spec = {
        .name = "output",
        .usage = "[OPTIONS] ID",
        .summary = "Write a job's output as the controller holds it: the last 1 MiB of rank 0's\n"
                   "stdout (and stderr with --stderr); --follow goes on until the job has ended.",
        .opts = output_opts,
        .nopts = OUT_COUNT,
        .min_pos = 1,
        .max_pos = 1,
};

static int output_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    (void)val;
    (void)err;
    ((bool *)ctx)[idx] = true;
    return 0;
}

int cmd_output(int argc, char **argv)
{
    struct cli_args args = {0};
    bool flags[OUT_COUNT] = {false};
    struct cli_client *c = NULL;
    int64_t id = 0;
    int rc = cli_parse_args(&output_spec, argc, argv, output_opt, flags, &args);
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
        rc = follow(c, id, flags[OUT_FOLLOW], false, flags[OUT_STDERR]);
out:
    cli_client_destroy(c);
    cli_args_release(&args);
    return rc;
}
