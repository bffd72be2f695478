/* SPDX-License-Identifier: MIT */
/*
 * test_exec.c - the exit-status contract of the real `nordlys` binary
 * (path in argv[1]): 2 for usage errors before anything is sent, 3 with the
 * URL and the reason when the controller cannot be reached (at once, or,
 * for submit, once its retries are spent), 0 for --help.
 * The "controller" is a loopback port that is bound but never listens, so
 * every connection is refused and no other process can take the port.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* cmocka.h needs the standard headers above included first. */
#include <cmocka.h>

#include "common/xalloc.h"

#define OUT_MAX  16384
#define ARGS_MAX 12

static const char *nordlys_bin;

struct run_result {
    int status; /* exit status */
    char out[OUT_MAX];
    char err[OUT_MAX];
};

struct closed {
    int fd;
    char url[64];
};

static int closed_setup(void **state)
{
    struct closed *c = xcalloc(1, sizeof(*c));
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof(sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(c->fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    *state = c;
    return 0;
}

static int closed_teardown(void **state)
{
    struct closed *c = *state;
    close(c->fd);
    free(c);
    return 0;
}

static void read_file(int fd, char *buf)
{
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, OUT_MAX - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
}

static int temp_fd(void)
{
    char path[] = "/tmp/nl-test-cli-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

/*
 * Run nordlys with args (NULL-terminated, without argv[0]); env_url, when
 * not NULL, becomes NORDLYS_URL, otherwise NORDLYS_URL is unset.
 */
static void run(struct run_result *r, const char *env_url, const char *const *args)
{
    char *argv[ARGS_MAX + 2] = {(char *)nordlys_bin};
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(i < ARGS_MAX);
        argv[i + 1] = (char *)args[i];
    }
    int out = temp_fd();
    int err = temp_fd();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out, 1);
        dup2(err, 2);
        if (env_url != NULL)
            setenv("NORDLYS_URL", env_url, 1);
        else
            unsetenv("NORDLYS_URL");
        execv(nordlys_bin, argv);
        _exit(127);
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws)); /* a crash or a sanitizer abort is a failure */
    r->status = WEXITSTATUS(ws);
    read_file(out, r->out);
    read_file(err, r->err);
}

static void test_cli_exec_unreachable_every_command(void **state)
{
    struct closed *c = *state;
    static const char *const cmds[][6] = {
            /* submit retries a refused connection unless told not to: see the next test. */
            {"submit", "--retry-s", "0", "--", "true", NULL},
            {"queue", NULL},
            {"queue", "--json", "--all", NULL},
            {"show", "1", NULL},
            {"cancel", "1", "2", NULL},
            {"nodes", NULL},
            {"facility", NULL},
            {"tenants", NULL},
            {"usage", "--json", NULL},
    };
    char want[160];
    snprintf(want, sizeof(want), "nordlys: cannot reach controller at %s: Connection refused\n",
             c->url);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *args[10] = {0};
        size_t n = 0;
        args[n++] = cmds[i][0];
        args[n++] = "--url";
        args[n++] = c->url;
        for (size_t k = 1; cmds[i][k] != NULL; k++)
            args[n++] = cmds[i][k];
        struct run_result r;
        run(&r, NULL, args);
        if (r.status != 3 || strcmp(r.err, want) != 0)
            fail_msg("nordlys %s: exit %d, stderr '%s'", cmds[i][0], r.status, r.err);
        assert_string_equal(r.out, "");
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A refused connection carried no request: submit tries again under the
 * same key until --retry-s is spent, says so once, and then exits 3 with
 * the reason.
 */
static void test_cli_exec_submit_retries_then_gives_up(void **state)
{
    struct closed *c = *state;
    const char *args[] = {"submit", "--url", c->url, "--retry-s", "1", "--idempotency-key",
                          "k-1",    "--",    "true", NULL};
    struct run_result r;
    double t0 = now_s();
    run(&r, NULL, args);
    double took = now_s() - t0;
    if (r.status != 3)
        fail_msg("exit %d, stderr '%s'", r.status, r.err);
    char want[512];
    snprintf(want, sizeof(want),
             "nordlys: cannot reach controller at %s: Connection refused; retrying for up to 1 s "
             "(Idempotency-Key k-1)\n"
             "nordlys: cannot reach controller at %s: Connection refused (after retries)\n",
             c->url, c->url);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
    /*
     * It waited out its budget. How much longer it took is no property here (a
     * loaded machine runs it late); that it gave up at all is shown by the
     * message above and by its exit, which ctest's timeout bounds.
     */
    if (took < 0.9)
        fail_msg("submit --retry-s 1 gave up after %.2f s", took);
}

static void test_cli_exec_unreachable_url_from_env(void **state)
{
    struct closed *c = *state;
    struct run_result r;
    const char *args[] = {"facility", NULL};
    run(&r, c->url, args);
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.err, c->url));
    /* --url wins over NORDLYS_URL: a malformed env value is then never looked at. */
    const char *args2[] = {"queue", "--url", c->url, NULL};
    run(&r, "not-a-url", args2);
    assert_int_equal(r.status, 3);
}

/* Usage errors come before any request: exit 2 even though the URL is dead. */
static void test_cli_exec_usage_errors_name_the_flag(void **state)
{
    struct closed *c = *state;

    static const struct {
        const char *args[6];
        const char *msg;
    } cases[] = {
            {{"submit", "--time", "2x", "--", "true", NULL},
             "nordlys submit: --time: '2x' is not a time limit (use minutes, MM:SS, HH:MM:SS, "
             "D-HH[:MM[:SS]], or 90s, 90m, 2h, 1h30m, 1d)\n"},
            {{"submit", "--gpus", "-1", "--", "true", NULL},
             "nordlys submit: --gpus: -1 is below the minimum 1\n"},
            {{"submit", "--env", "X", "--", "true", NULL},
             "nordlys submit: --env: 'X' is not KEY=VALUE\n"},
            {{"submit", "--idempotency-key", "", "--", "true", NULL},
             "nordlys submit: --idempotency-key: must not be empty\n"},
            {{"submit", "--idempotency-key", "a\tb", "--", "true", NULL},
             "nordlys submit: --idempotency-key: character 2 (0x09) is not printable ASCII\n"},
            {{"submit", "--retry-s", "-1", "--", "true", NULL},
             "nordlys submit: --retry-s: -1 is below the minimum 0\n"},
            {{"submit", "--gpus", "2", NULL},
             "nordlys submit: missing arguments (usage: nordlys submit [OPTIONS] -- CMD [ARGS...])\n"},
            {{"queue", "--bogus", NULL}, "nordlys queue: unknown option '--bogus'\n"},
            {{"queue", "--limit", "0", NULL}, "nordlys queue: --limit: 0 is below the minimum 1\n"},
            {{"show", "abc", NULL}, "nordlys show: job id: 'abc' is not a number\n"},
            {{"show", NULL},
             "nordlys show: missing arguments (usage: nordlys show [OPTIONS] ID)\n"},
            {{"show", "1", "2", NULL}, "nordlys show: unexpected argument '2'\n"},
            {{"cancel", "1", "x", NULL}, "nordlys cancel: job id: 'x' is not a number\n"},
            {{"nodes", "--state", NULL}, "nordlys nodes: --state: missing value (S)\n"},
            {{"facility", "extra", NULL}, "nordlys facility: unexpected argument 'extra'\n"},
            {{"tenants", "--json=1", NULL}, "nordlys tenants: --json: takes no value\n"},
            {{"usage", "--url", "127.0.0.1:1", NULL},
             "nordlys usage: --url: '127.0.0.1:1' is not an http:// or https:// URL\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run_result r;
        run(&r, c->url, cases[i].args);
        /* The first line is the error; a hint to try --help follows. */
        char *nl = strchr(r.err, '\n');
        if (nl != NULL)
            nl[1] = '\0';
        if (r.status != 2 || strcmp(r.err, cases[i].msg) != 0)
            fail_msg("nordlys %s: exit %d, stderr '%s', want '%s'", cases[i].args[0], r.status,
                     r.err, cases[i].msg);
        assert_string_equal(r.out, "");
    }
}

static void test_cli_exec_top_level_usage(void **state)
{
    (void)state;
    struct run_result r;
    const char *none[] = {NULL};
    run(&r, NULL, none);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "usage: nordlys COMMAND"));
    const char *unknown[] = {"frobnicate", NULL};
    run(&r, NULL, unknown);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
    const char *help[] = {"--help", NULL};
    run(&r, NULL, help);
    assert_int_equal(r.status, 0);
    static const char *const names[] = {"submit", "queue",    "show",    "cancel",
                                        "nodes",  "facility", "tenants", "usage"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_non_null(strstr(r.out, names[i]));
}

static void test_cli_exec_help_every_command(void **state)
{
    (void)state;
    static const char *const names[] = {"submit", "queue",    "show",    "cancel",
                                        "nodes",  "facility", "tenants", "usage"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct run_result r;
        const char *args[] = {names[i], "--help", NULL};
        run(&r, "http://127.0.0.1:1", args);
        assert_int_equal(r.status, 0);
        char want[64];
        snprintf(want, sizeof(want), "usage: nordlys %s ", names[i]);
        assert_memory_equal(r.out, want, strlen(want));
        assert_non_null(strstr(r.out, "--json"));
        assert_non_null(strstr(r.out, "--url URL"));
        assert_string_equal(r.err, "");
    }
    struct run_result r;
    const char *args[] = {"submit", "--help", NULL};
    run(&r, NULL, args);
    static const char *const flags[] = {
            "--gpus N",    "--tenant T",    "--time LIMIT",          "--residency R",
            "--sensitive", "--preemptible", "--no-requeue",          "--grace SECONDS",
            "--name X",    "--env K=V",     "--idempotency-key KEY", "--retry-s SECONDS"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        assert_non_null(strstr(r.out, flags[i]));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-nordlys\n", argv[0]);
        return 2;
    }
    nordlys_bin = argv[1];
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_cli_exec_unreachable_every_command, closed_setup,
                                            closed_teardown),
            cmocka_unit_test_setup_teardown(test_cli_exec_submit_retries_then_gives_up,
                                            closed_setup, closed_teardown),
            cmocka_unit_test_setup_teardown(test_cli_exec_unreachable_url_from_env, closed_setup,
                                            closed_teardown),
            cmocka_unit_test_setup_teardown(test_cli_exec_usage_errors_name_the_flag, closed_setup,
                                            closed_teardown),
            cmocka_unit_test(test_cli_exec_top_level_usage),
            cmocka_unit_test(test_cli_exec_help_every_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
