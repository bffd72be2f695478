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

/*
 * Parse list (NULL-terminated, "submit" first) and compare the request
 * with the JSON text want. The expected requests are written out in full,
 * so a field that appears, disappears or changes type fails the test.
 */
static void check_request(const char **list, const char *want)
{
    int argc = 0;
    while (list[argc] != NULL)
        argc++;
    struct cli_submit s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    int rc = cli_submit_parse(argc, (char **)list, &s, &args, &err);
    if (rc != 0)
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
static void check_error(const char **list, const char *msg)
{
    int argc = 0;
    while (list[argc] != NULL)
        argc++;
    struct cli_submit s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    assert_int_equal(cli_submit_parse(argc, (char **)list, &s, &args, &err), -EINVAL);
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
    const char *a[] = {"submit", "--grace", "0", "--time", "3600", "--", "sleep", "1", NULL};
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
    const char *no_cmd[] = {"submit", "--gpus", "2", NULL};
    check_error(no_cmd, "missing arguments (usage: nordlys submit [OPTIONS] -- CMD [ARGS...])");
    const char *only_dashes[] = {"submit", "--", NULL};
    check_error(only_dashes,
                "missing arguments (usage: nordlys submit [OPTIONS] -- CMD [ARGS...])");
    const char *time[] = {"submit", "--time", "2x", "--", "true", NULL};
    check_error(time, "--time: '2x' is not a duration (use 2h, 90m, 1h30m or seconds)");
    const char *gpus[] = {"submit", "--gpus", "0", "--", "true", NULL};
    check_error(gpus, "--gpus: 0 is below the minimum 1");
    const char *gpus2[] = {"submit", "--gpus", "many", "--", "true", NULL};
    check_error(gpus2, "--gpus: 'many' is not a number");
    const char *env[] = {"submit", "--env", "NOVALUE", "--", "true", NULL};
    check_error(env, "--env: 'NOVALUE' is not KEY=VALUE");
    const char *grace[] = {"submit", "--grace", "-1", "--", "true", NULL};
    check_error(grace, "--grace: '-1' is not a duration (use 2h, 90m, 1h30m or seconds)");
    const char *unknown[] = {"submit", "--gpu", "2", "--", "true", NULL};
    check_error(unknown, "unknown option '--gpu'");
    const char *flagval[] = {"submit", "--sensitive=yes", "--", "true", NULL};
    check_error(flagval, "--sensitive: takes no value");
    const char *missing[] = {"submit", "--tenant", NULL};
    check_error(missing, "--tenant: missing value (T)");
}

int main(void)
{
    unsetenv("NORDLYS_URL");
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cli_submit_json_minimal_leaves_defaults_to_controller),
            cmocka_unit_test(test_cli_submit_json_every_flag),
            cmocka_unit_test(test_cli_submit_json_command_without_dashdash),
            cmocka_unit_test(test_cli_submit_json_grace_zero_and_seconds),
            cmocka_unit_test(test_cli_submit_json_env_last_wins),
            cmocka_unit_test(test_cli_submit_json_escapes_strings),
            cmocka_unit_test(test_cli_submit_parse_bad_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
