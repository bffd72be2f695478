/* SPDX-License-Identifier: MIT */
/* test_opt.c - option tables and value parsers of the nordlys client commands. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the standard headers above included first. */
#include <cmocka.h>

#include "cli/opt.h"
#include "nordlys/err.h"

enum {
    T_GPUS,
    T_NAME,
    T_FLAG,
    T_COUNT
};

static const struct cli_opt t_opts[T_COUNT] = {
        [T_GPUS] = {"gpus", "N", "gpus"},
        [T_NAME] = {"name", "X", "name"},
        [T_FLAG] = {"flag", NULL, "a flag"},
};

static const struct cli_spec t_spec = {
        .name = "t",
        .usage = "[OPTIONS] ARG...",
        .summary = "test",
        .opts = t_opts,
        .nopts = T_COUNT,
        .min_pos = 0,
        .max_pos = 3,
};

struct seen {
    const char *gpus;
    const char *name;
    int flags;
    int calls;
};

static int on_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    struct seen *s = ctx;
    (void)err;
    s->calls++;
    if (idx == T_GPUS)
        s->gpus = val;
    else if (idx == T_NAME)
        s->name = val;
    else
        s->flags++;
    return 0;
}

/* Parse a NULL-terminated argument list; argv[0] is the subcommand name. */
static int parse(const struct cli_spec *spec, const char *const *list, struct seen *s,
                 struct cli_args *args, struct nl_err *err)
{
    int argc = 0;
    while (list[argc] != NULL)
        argc++;
    return cli_opt_parse(spec, argc, (char **)list, on_opt, s, args, err);
}

static int setup(void **state)
{
    (void)state;
    unsetenv("NORDLYS_URL");
    return 0;
}

static void test_cli_opt_parse_both_long_forms(void **state)
{
    (void)state;
    const char *argv[] = {"t", "--gpus", "8", "--name=x=y", "--flag", "a", "b", NULL};
    struct seen s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    assert_int_equal(parse(&t_spec, argv, &s, &args, &err), 0);
    assert_string_equal(s.gpus, "8");
    assert_string_equal(s.name, "x=y");
    assert_int_equal(s.flags, 1);
    assert_int_equal(args.npos, 2);
    assert_string_equal(args.pos[0], "a");
    assert_string_equal(args.pos[1], "b");
    assert_string_equal(args.url, CLI_DEFAULT_URL);
    /* The one default port of nordlysd, the agent and the CLI (docs/api.md). */
    assert_string_equal(CLI_DEFAULT_URL, "http://127.0.0.1:7420");
    assert_false(args.json);
    cli_args_release(&args);
}

static void test_cli_opt_parse_options_after_positionals(void **state)
{
    (void)state;
    const char *argv[] = {"t", "a", "--json", "b", "--", "--flag", NULL};
    struct seen s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    assert_int_equal(parse(&t_spec, argv, &s, &args, &err), 0);
    assert_true(args.json);
    assert_int_equal(s.flags, 0); /* after "--" it is an argument */
    assert_int_equal(args.npos, 3);
    assert_string_equal(args.pos[2], "--flag");
    cli_args_release(&args);
}

static void test_cli_opt_parse_stop_at_positional(void **state)
{
    (void)state;
    struct cli_spec spec = t_spec;
    spec.stop_at_pos = true;
    spec.max_pos = SIZE_MAX;
    const char *argv[] = {"t", "--flag", "python3", "--flag", "--gpus", "2", NULL};
    struct seen s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    assert_int_equal(parse(&spec, argv, &s, &args, &err), 0);
    assert_int_equal(s.flags, 1);
    assert_null(s.gpus);
    assert_int_equal(args.npos, 4);
    assert_string_equal(args.pos[0], "python3");
    assert_string_equal(args.pos[3], "2");
    cli_args_release(&args);
}

/*
 * Slurm's letters: "-G 8" and "-G8" as --gpus 8, "-l" as a flag; after the
 * first positional of a command (stop_at_pos) "-l" is the command's own.
 */
static const struct cli_letter t_letters[] = {{'G', "gpus"}, {'J', "name"}, {'l', "flag"}};

static void test_cli_opt_parse_letters(void **state)
{
    (void)state;
    struct cli_spec spec = t_spec;
    spec.letters = t_letters;
    spec.nletters = sizeof(t_letters) / sizeof(t_letters[0]);
    spec.stop_at_pos = true;
    spec.max_pos = SIZE_MAX;
    const char *argv[] = {"t", "-G", "8", "-Jx-y", "-l", "ls", "-l", "-G", "2", NULL};
    struct seen s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    assert_int_equal(parse(&spec, argv, &s, &args, &err), 0);
    assert_string_equal(s.gpus, "8");
    assert_string_equal(s.name, "x-y");
    assert_int_equal(s.flags, 1);
    assert_int_equal(args.npos, 4);
    assert_string_equal(args.pos[0], "ls");
    assert_string_equal(args.pos[1], "-l");
    cli_args_release(&args);

    static const struct {
        const char *argv[4];
        const char *msg;
    } bad[] = {
            {{"t", "-x", NULL}, "unknown option '-x'"},
            {{"t", "-G", NULL}, "-G (--gpus): missing value (N)"},
            {{"t", "-lG", "8", NULL}, "-l (--flag) takes no value: write '-lG' as -l -G"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct seen s2 = {0};
        struct cli_args a2 = {0};
        struct nl_err e2 = {0};
        assert_int_equal(parse(&spec, bad[i].argv, &s2, &a2, &e2), -EINVAL);
        assert_string_equal(e2.msg, bad[i].msg);
        cli_args_release(&a2);
    }
    /* A letter names its option in --help. */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cli_opt_usage(&spec, out);
    fclose(out);
    assert_non_null(strstr(text, "  -G, --gpus N "));
    assert_non_null(strstr(text, "      --url URL "));
    free(text);
}

/* Each bad command line must fail with a message that names what is wrong. */
static void test_cli_opt_parse_errors_name_the_flag(void **state)
{
    (void)state;

    static const struct {
        const char *argv[6];
        const char *msg;
    } cases[] = {
            {{"t", "--gpu", "8", NULL}, "unknown option '--gpu'"},
            {{"t", "--gpu=8", NULL}, "unknown option '--gpu'"},
            {{"t", "--name", NULL}, "--name: missing value (X)"},
            {{"t", "--flag=1", NULL}, "--flag: takes no value"},
            {{"t", "--json=yes", NULL}, "--json: takes no value"},
            {{"t", "-g", "8", NULL}, "unknown option '-g' (options are long: --name)"},
            {{"t", "--url", "ftp://x", NULL}, "--url: 'ftp://x' is not an http:// or https:// URL"},
            {{"t", "a", "b", "c", "d", NULL}, "unexpected argument 'd'"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct seen s = {0};
        struct cli_args args = {0};
        struct nl_err err = {0};
        assert_int_equal(parse(&t_spec, cases[i].argv, &s, &args, &err), -EINVAL);
        assert_string_equal(err.msg, cases[i].msg);
        cli_args_release(&args);
    }
}

static void test_cli_opt_parse_missing_positional(void **state)
{
    (void)state;
    struct cli_spec spec = t_spec;
    spec.min_pos = 1;
    const char *argv[] = {"t", "--flag", NULL};
    struct seen s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    assert_int_equal(parse(&spec, argv, &s, &args, &err), -EINVAL);
    assert_string_equal(err.msg, "missing arguments (usage: nordlys t [OPTIONS] ARG...)");
    cli_args_release(&args);
}

static void test_cli_opt_parse_help_wins(void **state)
{
    (void)state;
    const char *argv[] = {"t", "--flag", "--help", "--gpu", "x", NULL};
    struct seen s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    assert_int_equal(parse(&t_spec, argv, &s, &args, &err), 0);
    assert_true(args.help);
    cli_args_release(&args);

    const char *argv2[] = {"t", "-h", NULL};
    struct cli_args args2 = {0};
    assert_int_equal(parse(&t_spec, argv2, &s, &args2, &err), 0);
    assert_true(args2.help);
    cli_args_release(&args2);
}

static void test_cli_opt_parse_url_precedence(void **state)
{
    (void)state;
    struct seen s = {0};
    struct nl_err err = {0};
    setenv("NORDLYS_URL", "http://10.0.0.1:9000", 1);
    const char *argv[] = {"t", NULL};
    struct cli_args args = {0};
    assert_int_equal(parse(&t_spec, argv, &s, &args, &err), 0);
    assert_string_equal(args.url, "http://10.0.0.1:9000");
    cli_args_release(&args);

    const char *argv2[] = {"t", "--url", "https://ctl:8470/", NULL};
    struct cli_args args2 = {0};
    assert_int_equal(parse(&t_spec, argv2, &s, &args2, &err), 0);
    assert_string_equal(args2.url, "https://ctl:8470/");
    cli_args_release(&args2);

    setenv("NORDLYS_URL", "ctl:8470", 1);
    struct cli_args args3 = {0};
    assert_int_equal(parse(&t_spec, argv, &s, &args3, &err), -EINVAL);
    assert_string_equal(err.msg, "NORDLYS_URL: 'ctl:8470' is not an http:// or https:// URL");
    cli_args_release(&args3);
    unsetenv("NORDLYS_URL");
}

static void test_cli_parse_duration_accepts(void **state)
{
    (void)state;

    static const struct {
        const char *s;
        int64_t want;
    } ok[] = {
            {"3600", 3600},
            {"1", 1},
            {"2h", 7200},
            {"90m", 5400},
            {"1h30m", 5400},
            {"45s", 45},
            {"1d", 86400},
            {"1d2h3m4s", 93784},
            {"2h5s", 7205},
            {"0h1m", 60},
            {"315360000", 315360000},
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        struct nl_err err = {0};
        assert_int_equal(cli_parse_duration("--time", ok[i].s, &v, &err), 0);
        assert_int_equal(v, ok[i].want);
    }
}

static void test_cli_parse_duration_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {"",   "2x",   "h",   "1h30", "30m1h", "1h1h",
                                      "-5", "1.5h", " 2h", "2h ",  "2H",    "m5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 77;
        struct nl_err err = {0};
        assert_int_equal(cli_parse_duration("--time", bad[i], &v, &err), -EINVAL);
        assert_int_equal(v, 77); /* untouched on failure */
        char want[128];
        snprintf(want, sizeof(want),
                 "--time: '%s' is not a duration (use 2h, 90m, 1h30m or seconds)", bad[i]);
        assert_string_equal(err.msg, want);
    }
    int64_t v = 0;
    struct nl_err err = {0};
    assert_int_equal(cli_parse_duration("--time", "0", &v, &err), -EINVAL);
    assert_string_equal(err.msg, "--time: '0' must be longer than zero");
    assert_int_equal(cli_parse_duration("--time", "3651d", &v, &err), -EINVAL);
    assert_string_equal(err.msg, "--time: '3651d' is longer than 10 years");
    assert_int_equal(cli_parse_duration("--time", "99999999999999999999999", &v, &err), -EINVAL);
    assert_string_equal(err.msg, "--time: '99999999999999999999999' is longer than 10 years");
    assert_int_equal(cli_parse_duration("--grace", "315360001", &v, &err), -EINVAL);
    assert_string_equal(err.msg, "--grace: '315360001' is longer than 10 years");
}

static void test_cli_parse_time_limit_slurm_forms(void **state)
{
    (void)state;

    static const struct {
        const char *s;
        int64_t want;
    } ok[] = {
            {"90", 90 * 60}, /* a bare number is minutes, as in Slurm */
            {"1", 60},
            {"05:30", 5 * 60 + 30}, /* MM:SS */
            {"90:00", 90 * 60},     /* the leading field may pass 59 */
            {"01:00:00", 3600},     /* HH:MM:SS */
            {"36:00:00", 36 * 3600},
            {"1-00:00:00", 86400}, /* D-HH:MM:SS */
            {"2-12", 2 * 86400 + 12 * 3600},
            {"1-2:30", 86400 + 2 * 3600 + 30 * 60},
            {"0-0:0:1", 1},
            {"90s", 90},
            {"90m", 5400},
            {"2h", 7200},
            {"1h30m", 5400},
            {"1d", 86400},
            {"366d", 366 * 86400},
            {"527040", 366 * 86400},
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        struct nl_err err = {0};
        assert_int_equal(cli_parse_time_limit("--time", ok[i].s, &v, &err), 0);
        assert_int_equal(v, ok[i].want);
    }
}

static void test_cli_parse_time_limit_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {"",       "x",    "1:2:3:4", "1-2-3", "1:60",
                                      "1:2:60", "1-24", "-1",      "1-",    ":30",
                                      "1:",     "1.5",  "1h30",    "2H",    " 90",
                                      "90 ",    "1d-2", "2h:30",   "1-2h",  "10000000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 77;
        struct nl_err err = {0};
        assert_int_equal(cli_parse_time_limit("--time", bad[i], &v, &err), -EINVAL);
        assert_int_equal(v, 77);
        char want[192];
        snprintf(want, sizeof(want),
                 "--time: '%s' is not a time limit (use minutes, MM:SS, HH:MM:SS, "
                 "D-HH[:MM[:SS]], or 90s, 90m, 2h, 1h30m, 1d)",
                 bad[i]);
        assert_string_equal(err.msg, want);
    }
    int64_t v = 0;
    struct nl_err err = {0};
    assert_int_equal(cli_parse_time_limit("--time", "0", &v, &err), -EINVAL);
    assert_string_equal(err.msg, "--time: '0' must be longer than zero");
    assert_int_equal(cli_parse_time_limit("--time", "00:00:00", &v, &err), -EINVAL);
    assert_string_equal(err.msg, "--time: '00:00:00' must be longer than zero");
    assert_int_equal(cli_parse_time_limit("--time", "367-00", &v, &err), -EINVAL);
    assert_string_equal(err.msg, "--time: '367-00' is longer than the 366 days a job may run");
    assert_int_equal(cli_parse_time_limit("-t", "9999d", &v, &err), -EINVAL);
    assert_string_equal(err.msg, "-t: '9999d' is longer than the 366 days a job may run");
}

static void test_cli_parse_int_bounds_and_junk(void **state)
{
    (void)state;
    int64_t v = 0;
    struct nl_err err = {0};
    assert_int_equal(cli_parse_int("--gpus", "8", 1, 100, &v, &err), 0);
    assert_int_equal(v, 8);
    assert_int_equal(cli_parse_int("--gpus", "100", 1, 100, &v, &err), 0);
    assert_int_equal(v, 100);

    static const struct {
        const char *s;
        const char *msg;
    } bad[] = {
            {"0", "--gpus: 0 is below the minimum 1"},
            {"101", "--gpus: 101 is above the maximum 100"},
            {"99999999999999999999", "--gpus: 99999999999999999999 is above the maximum 100"},
            {"-3", "--gpus: -3 is below the minimum 1"},
            {"x", "--gpus: 'x' is not a number"},
            {"8x", "--gpus: '8x' is not a number"},
            {" 8", "--gpus: ' 8' is not a number"},
            {"+8", "--gpus: '+8' is not a number"},
            {"", "--gpus: '' is not a number"},
            {"-", "--gpus: '-' is not a number"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 55;
        assert_int_equal(cli_parse_int("--gpus", bad[i].s, 1, 100, &v, &err), -EINVAL);
        assert_string_equal(err.msg, bad[i].msg);
        assert_int_equal(v, 55);
    }
}

static void test_cli_parse_env_forms(void **state)
{
    (void)state;
    size_t k = 0;
    struct nl_err err = {0};
    assert_int_equal(cli_parse_env("--env", "A=1", &k, &err), 0);
    assert_int_equal(k, 1);
    assert_int_equal(cli_parse_env("--env", "HF_HOME=", &k, &err), 0);
    assert_int_equal(k, 7);
    assert_int_equal(cli_parse_env("--env", "_X9=a=b", &k, &err), 0);
    assert_int_equal(k, 3);

    static const struct {
        const char *s;
        const char *msg;
    } bad[] = {
            {"NOEQ", "--env: 'NOEQ' is not KEY=VALUE"},
            {"=x", "--env: '=x' has an empty name"},
            {"1A=x", "--env: '1A' is not a valid variable name"},
            {"A-B=1", "--env: 'A-B' is not a valid variable name"},
            {"A B=1", "--env: 'A B' is not a valid variable name"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cli_parse_env("--env", bad[i].s, &k, &err), -EINVAL);
        assert_string_equal(err.msg, bad[i].msg);
    }
}

static void test_cli_parse_job_id_positive_only(void **state)
{
    (void)state;
    int64_t id = 0;
    struct nl_err err = {0};
    assert_int_equal(cli_parse_job_id("42", &id, &err), 0);
    assert_int_equal(id, 42);
    assert_int_equal(cli_parse_job_id("0", &id, &err), -EINVAL);
    assert_string_equal(err.msg, "job id: 0 is below the minimum 1");
    assert_int_equal(cli_parse_job_id("abc", &id, &err), -EINVAL);
    assert_string_equal(err.msg, "job id: 'abc' is not a number");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(test_cli_opt_parse_both_long_forms, setup),
            cmocka_unit_test_setup(test_cli_opt_parse_options_after_positionals, setup),
            cmocka_unit_test_setup(test_cli_opt_parse_stop_at_positional, setup),
            cmocka_unit_test_setup(test_cli_opt_parse_letters, setup),
            cmocka_unit_test_setup(test_cli_opt_parse_errors_name_the_flag, setup),
            cmocka_unit_test_setup(test_cli_opt_parse_missing_positional, setup),
            cmocka_unit_test_setup(test_cli_opt_parse_help_wins, setup),
            cmocka_unit_test_setup(test_cli_opt_parse_url_precedence, setup),
            cmocka_unit_test(test_cli_parse_duration_accepts),
            cmocka_unit_test(test_cli_parse_duration_rejects),
            cmocka_unit_test(test_cli_parse_time_limit_slurm_forms),
            cmocka_unit_test(test_cli_parse_time_limit_rejects),
            cmocka_unit_test(test_cli_parse_int_bounds_and_junk),
            cmocka_unit_test(test_cli_parse_env_forms),
            cmocka_unit_test(test_cli_parse_job_id_positive_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
