/* SPDX-License-Identifier: MIT */
/* test_submit.c - `nordlys submit`: from argv to the POST /v1/jobs body of docs/api.md. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the standard headers above included first. */
#include <cmocka.h>

#include "cli/cmd_submit.h"
#include "cli/opt.h"
#include "nordlys/err.h"

/* Parse list (NULL-terminated, "submit" first) into s and args; returns what the parser did. */
static int parse_list(const char *const *list, struct cli_submit *s, struct cli_args *args,
                      struct nl_err *err)
{
    int argc = 0;
    while (list[argc] != NULL)
        argc++;
    return cli_submit_parse(argc, (char **)list, s, args, err);
}

/*
 * Parse list and compare the request with the JSON text want. The
 * expected requests are written out in full, so a field that appears,
 * disappears or changes type fails the test.
 */
static void check_request(const char *const *list, const char *want)
{
    struct cli_submit s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    if (parse_list(list, &s, &args, &err) != 0)
        fail_msg("parse failed: %s", err.msg);
    json_t *got = cli_submit_json(&s);
    json_error_t jerr;
    json_t *exp = json_loads(want, 0, &jerr);
    assert_non_null(exp);
    if (!json_equal(got, exp)) {
        char *g = json_dumps(got, JSON_SORT_KEYS);
        fail_msg("request differs:\n got  %s\n want %s", g, want);
    }
    json_decref(exp);
    json_decref(got);
    cli_args_release(&args);
    cli_submit_release(&s);
}

/* Parse list and expect a usage error with exactly msg. */
static void check_error(const char *const *list, const char *msg)
{
    struct cli_submit s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    assert_int_equal(parse_list(list, &s, &args, &err), -EINVAL);
    assert_string_equal(err.msg, msg);
    cli_args_release(&args);
    cli_submit_release(&s);
}

static void test_cli_submit_json_minimal_leaves_defaults_to_controller(void **state)
{
    (void)state;
    const char *argv[] = {"submit", "--", "true", NULL};
    check_request(argv, "{\"command\": [\"true\"]}");
}

static void test_cli_submit_json_every_flag(void **state)
{
    (void)state;
    const char *argv[] = {
            "submit",     "--gpus",      "8",        "--tenant",    "nor-research",  "--time",
            "1h30m",      "--residency", "NO",       "--sensitive", "--preemptible", "--no-requeue",
            "--grace=2m", "--name",      "train-7b", "--env",       "A=1",           "--env",
            "B=x=y",      "--cwd",       "/home/me", "--",          "python3",       "train.py",
            "--lr",       "3e-4",        NULL};
    check_request(argv, "{\"name\": \"train-7b\", \"tenant\": \"nor-research\", \"gpus\": 8,"
                        " \"time_limit_s\": 5400, \"residency\": \"NO\", \"sensitive\": true,"
                        " \"preemptible\": true, \"requeue\": false, \"grace_s\": 120,"
                        " \"command\": [\"python3\", \"train.py\", \"--lr\", \"3e-4\"],"
                        " \"env\": {\"A\": \"1\", \"B\": \"x=y\"}, \"cwd\": \"/home/me\"}");
}

/* Issue 12: shape, tasks, output patterns and input, each its own field. */
static void test_cli_submit_json_shape_and_output(void **state)
{
    (void)state;
    const char *argv[] = {"submit",      "--nodes",
                          "2",           "--gpus-per-node",
                          "4",           "--tasks-per-node",
                          "4",           "--output",
                          "o-%j-%t.out", "--error",
                          "e-%j.err",    "--input",
                          "/data/in",    "--",
                          "python3",     "train.py",
                          NULL};
    check_request(argv, "{\"nodes\": 2, \"gpus_per_node\": 4, \"tasks_per_node\": 4,"
                        " \"stdout\": \"o-%j-%t.out\", \"stderr\": \"e-%j.err\","
                        " \"input\": \"/data/in\", \"command\": [\"python3\", \"train.py\"]}");
}

static void test_cli_submit_json_command_without_dashdash(void **state)
{
    (void)state;
    /* The first non-option starts the command: "--gpus" after it belongs to the job. */
    const char *argv[] = {"submit", "--gpus", "2", "torchrun", "--gpus", "4", NULL};
    check_request(argv, "{\"gpus\": 2, \"command\": [\"torchrun\", \"--gpus\", \"4\"]}");
}

static void test_cli_submit_json_grace_zero_and_seconds(void **state)
{
    (void)state;
    /* --grace stays in seconds; --time's bare number is minutes, as in Slurm. */
    const char *a[] = {"submit", "--grace", "0", "--time", "60", "--", "sleep", "1", NULL};
    check_request(a, "{\"grace_s\": 0, \"time_limit_s\": 3600, \"command\": [\"sleep\", \"1\"]}");
    const char *b[] = {"submit", "--grace", "60", "--", "x", NULL};
    check_request(b, "{\"grace_s\": 60, \"command\": [\"x\"]}");
}

static void test_cli_submit_json_env_last_wins(void **state)
{
    (void)state;
    const char *argv[] = {"submit", "--env", "K=1", "--env", "K=2",
                          "--env",  "E=",    "--",  "env",   NULL};
    check_request(argv, "{\"env\": {\"K\": \"2\", \"E\": \"\"}, \"command\": [\"env\"]}");
}

static void test_cli_submit_json_escapes_strings(void **state)
{
    (void)state;
    const char *argv[] = {"submit", "--name", "a \"quoted\"\tname", "--",
                          "sh",     "-c",     "echo \"hi\" \\ ü",   NULL};
    check_request(argv, "{\"name\": \"a \\\"quoted\\\"\\tname\","
                        " \"command\": [\"sh\", \"-c\", \"echo \\\"hi\\\" \\\\ ü\"]}");
}

static void test_cli_submit_parse_bad_flags(void **state)
{
    (void)state;

    static const struct {
        const char *argv[8];
        const char *msg;
    } cases[] = {
            {{"submit", "--gpus", "2", NULL},
             "missing arguments (usage: nordlys submit [OPTIONS] -- CMD [ARGS...])"},
            {{"submit", "--", NULL},
             "missing arguments (usage: nordlys submit [OPTIONS] -- CMD [ARGS...])"},
            {{"submit", "--time", "2x", "--", "true", NULL},
             "--time: '2x' is not a time limit (use minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]], "
             "or 90s, 90m, 2h, 1h30m, 1d)"},
            {{"submit", "--gpus", "0", "--", "true", NULL}, "--gpus: 0 is below the minimum 1"},
            {{"submit", "--gpus", "many", "--", "true", NULL}, "--gpus: 'many' is not a number"},
            {{"submit", "--env", "NOVALUE", "--", "true", NULL},
             "--env: 'NOVALUE' is not KEY=VALUE"},
            {{"submit", "--grace", "-1", "--", "true", NULL},
             "--grace: '-1' is not a duration (use 2h, 90m, 1h30m or seconds)"},
            {{"submit", "--gpu", "2", "--", "true", NULL}, "unknown option '--gpu'"},
            {{"submit", "--sensitive=yes", "--", "true", NULL}, "--sensitive: takes no value"},
            {{"submit", "--tenant", NULL}, "--tenant: missing value (T)"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_error(cases[i].argv, cases[i].msg);
}

int main(void)
{
    unsetenv("NORDLYS_URL");
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cli_submit_json_minimal_leaves_defaults_to_controller),
            cmocka_unit_test(test_cli_submit_json_every_flag),
            cmocka_unit_test(test_cli_submit_json_shape_and_output),
            cmocka_unit_test(test_cli_submit_json_command_without_dashdash),
            cmocka_unit_test(test_cli_submit_json_grace_zero_and_seconds),
            cmocka_unit_test(test_cli_submit_json_env_last_wins),
            cmocka_unit_test(test_cli_submit_json_escapes_strings),
            cmocka_unit_test(test_cli_submit_parse_bad_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
