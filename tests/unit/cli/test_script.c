/* SPDX-License-Identifier: MIT */
/*
 * test_script.c - batch scripts (#NORDLYS and #SBATCH directives, the
 * command that runs a script) and --export, from text to the job request.
 * The runner command is executed for real under /bin/sh here, as an agent
 * would start it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
/* cmocka.h needs the standard headers above included first. */
#include <cmocka.h>

#include "cli/cmd_submit.h"
#include "cli/export.h"
#include "cli/opt.h"
#include "cli/script.h"
#include "common/proto_limits.h"
#include "nordlys/err.h"

/* A submit-like table without --nodes: an #SBATCH --nodes is then "not supported". */
static const struct cli_opt test_opts[] = {
        {"gpus", "N", ""},  {"name", "X", ""},      {"time", "LIMIT", ""},
        {"cwd", "DIR", ""}, {"tenant", "T", ""},    {"no-requeue", NULL, ""},
        {"env", "K=V", ""}, {"export", "SPEC", ""}, {"gpus-per-node", "G", ""},
};
/* sbatch's letters, as nordlys submit has them (cmd_submit.c); -N's option is missing here. */
static const struct cli_letter test_letters[] = {
        {'G', "gpus"}, {'J', "name"}, {'t', "time"}, {'D', "cwd"}, {'A', "tenant"}, {'N', "nodes"},
};
static const struct cli_spec test_spec = {
        .name = "submit",
        .usage = "",
        .summary = "",
        .opts = test_opts,
        .nopts = sizeof(test_opts) / sizeof(test_opts[0]),
        .letters = test_letters,
        .nletters = sizeof(test_letters) / sizeof(test_letters[0]),
        .max_pos = SIZE_MAX,
};

static struct cli_script *parse_ok(const char *text)
{
    struct cli_script *sc = NULL;
    struct nl_err err = {0};
    if (cli_script_parse("job.sh", text, strlen(text), &test_spec, &sc, &err) != 0)
        fail_msg("parse failed: %s", err.msg);
    return sc;
}

static void expect_dir(const struct cli_script *sc, size_t i, unsigned line, const char *opt,
                       const char *val)
{
    assert_true(i < sc->ndirs);
    assert_int_equal(sc->dirs[i].line, line);
    assert_string_equal(test_opts[sc->dirs[i].opt].name, opt);
    if (val == NULL)
        assert_null(sc->dirs[i].val);
    else
        assert_string_equal(sc->dirs[i].val, val);
}

static void test_cli_script_parse_sbatch_and_nordlys_forms(void **state)
{
    (void)state;
    struct cli_script *sc = parse_ok("#!/bin/bash -l\n"
                                     "# a comment\n"
                                     "\n"
                                     "#SBATCH --job-name=train\n"
                                     "#SBATCH -J other -t 1:00:00\n"
                                     "#SBATCH --time 90   # a trailing comment\n"
                                     "#SBATCH -G4\n"
                                     "#SBATCH --chdir='/data/my dir' --account=nor\n"
                                     "#NORDLYS --gpus 2 --no-requeue\n"
                                     "#SBATCHX --not-a-directive\n"
                                     "#sbatch --nor-this\n"
                                     "echo hello\n"
                                     "#SBATCH --after-the-first-command\n");
    assert_string_equal(sc->interp, "/bin/bash");
    assert_string_equal(sc->interp_arg, "-l");
    assert_int_equal(sc->ndirs, 9);
    expect_dir(sc, 0, 4, "name", "train");
    expect_dir(sc, 1, 5, "name", "other");
    expect_dir(sc, 2, 5, "time", "1:00:00");
    expect_dir(sc, 3, 6, "time", "90");
    expect_dir(sc, 4, 7, "gpus", "4");
    expect_dir(sc, 5, 8, "cwd", "/data/my dir");
    expect_dir(sc, 6, 8, "tenant", "nor");
    expect_dir(sc, 7, 9, "gpus", "2");
    expect_dir(sc, 8, 9, "no-requeue", NULL);
    assert_string_equal(sc->dirs[1].written, "#SBATCH -J");
    cli_script_destroy(sc);

    sc = parse_ok("#!/usr/bin/env python3\r\n#SBATCH -t 5\r\nprint(1)\r\n");
    assert_string_equal(sc->interp, "/usr/bin/env");
    assert_string_equal(sc->interp_arg, "python3");
    assert_int_equal(sc->ndirs, 1);
    expect_dir(sc, 0, 2, "time", "5");
    cli_script_destroy(sc);

    /* --gres=gpu:N is --gpus-per-node N. */
    sc = parse_ok("#!/bin/sh\n#SBATCH --gres=gpu:4\n#SBATCH --gres gpu\n");
    assert_int_equal(sc->ndirs, 2);
    expect_dir(sc, 0, 2, "gpus-per-node", "4");
    expect_dir(sc, 1, 3, "gpus-per-node", "1");
    cli_script_destroy(sc);

    sc = parse_ok("#!/bin/sh");
    assert_string_equal(sc->interp, "/bin/sh");
    assert_null(sc->interp_arg);
    assert_int_equal(sc->ndirs, 0);
    cli_script_destroy(sc);
}

static void test_cli_script_parse_errors_name_the_line(void **state)
{
    (void)state;

    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
            {"#!/bin/sh\n#SBATCH --mem=4G\n",
             "job.sh:2: #SBATCH --mem is not supported by nordlys (docs/users.md lists what is)"},
            {"#!/bin/sh\n\n#SBATCH -p gpu\n",
             "job.sh:3: #SBATCH -p is not supported by nordlys (docs/users.md lists what is)"},
            {"#!/bin/sh\n#SBATCH --nodes=2\n",
             "job.sh:2: #SBATCH --nodes (nordlys submit --nodes) is not supported by this "
             "nordlys"},
            {"#!/bin/sh\n#NORDLYS -p gpu\n", "job.sh:2: #NORDLYS -p: unknown option of nordlys submit"},
            {"#!/bin/sh\n#SBATCH -N 2\n",
             "job.sh:2: #SBATCH -N is not supported by nordlys (docs/users.md lists what is)"},
            {"#!/bin/sh\n#NORDLYS --gpu 2\n", "job.sh:2: #NORDLYS --gpu: unknown option of nordlys "
                                              "submit"},
            {"#!/bin/sh\n#SBATCH --time\n", "job.sh:2: #SBATCH --time: missing value"},
            {"#!/bin/sh\n#SBATCH --gres=gpu:a100:4\n",
             "job.sh:2: #SBATCH --gres: 'gpu:a100:4' is not supported: only gpu:N (no GPU types, "
             "no other resources)"},
            {"#!/bin/sh\n#NORDLYS --no-requeue=yes\n",
             "job.sh:2: #NORDLYS --no-requeue: takes no value"},
            {"#!/bin/sh\n#SBATCH gpus=4\n",
             "job.sh:2: #SBATCH: 'gpus=4' is not an option (directives are --name VALUE)"},
            {"#!/bin/sh\n#SBATCH --job-name='x\n", "job.sh:2: unterminated ' quote"},
            {"#!\n", "job.sh:1: '#!' names no interpreter"},
            {"echo hi\n", "job.sh:1: not a script: it does not start with '#!'"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cli_script *sc = NULL;
        struct nl_err err = {0};
        assert_int_equal(cli_script_parse("job.sh", cases[i].text, strlen(cases[i].text),
                                          &test_spec, &sc, &err),
                         -EINVAL);
        assert_null(sc);
        assert_string_equal(err.msg, cases[i].msg);
    }
}

/* Write text to a new temporary file; returns its path (static buffer). */
static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/nl-test-script-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_cli_script_load_only_scripts(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    struct nl_err err = {0};
    assert_int_equal(cli_script_load("/no/such/file", &text, &len, &err), 0);
    assert_int_equal(cli_script_load("/tmp", &text, &len, &err), 0);
    const char *p = write_tmp("echo not a script\n");
    assert_int_equal(cli_script_load(p, &text, &len, &err), 0);
    unlink(p);
    p = write_tmp("#!/bin/sh\necho yes\n");
    assert_int_equal(cli_script_load(p, &text, &len, &err), 1);
    assert_string_equal(text, "#!/bin/sh\necho yes\n");
    assert_int_equal(len, strlen(text));
    free(text);
    unlink(p);

    /* One byte over the limit is refused, naming the file. */
    char *big = malloc(NL_PROTO_SCRIPT_MAX + 2);
    memset(big, 'x', NL_PROTO_SCRIPT_MAX + 1);
    memcpy(big, "#!/bin/sh\n", 10);
    big[NL_PROTO_SCRIPT_MAX + 1] = '\0';
    p = write_tmp(big);
    free(big);
    assert_int_equal(cli_script_load(p, &text, &len, &err), -EINVAL);
    char want[160];
    snprintf(want, sizeof(want), "%s: larger than %u bytes, the most a job can carry", p,
             NL_PROTO_SCRIPT_MAX);
    assert_string_equal(err.msg, want);
    unlink(p);
}

/* Parse a submit command line whose command is a script with text; returns the request. */
static json_t *submit_script(const char *text, const char *const *opts, struct nl_err *err, int *rc)
{
    const char *path = write_tmp(text);
    const char *argv[16] = {"submit"};
    int argc = 1;
    for (size_t i = 0; opts != NULL && opts[i] != NULL; i++)
        argv[argc++] = opts[i];
    argv[argc++] = path;
    argv[argc++] = "arg1";
    argv[argc] = NULL;
    struct cli_submit s = {0};
    struct cli_args args = {0};
    json_t *req = NULL;
    *rc = cli_submit_parse(argc, (char **)argv, &s, &args, err);
    if (*rc == 0)
        *rc = cli_submit_script(&s, err);
    if (*rc == 0)
        req = cli_submit_json(&s);
    unlink(path);
    cli_args_release(&args);
    cli_submit_release(&s);
    return req;
}

static void test_cli_submit_script_command_line_wins(void **state)
{
    (void)state;
    static const char text[] = "#!/bin/bash\n"
                               "#SBATCH --job-name=from-script\n"
                               "#SBATCH --time=01:00:00 --gpus=4\n"
                               "#SBATCH -D /data\n"
                               "echo hi\n";
    const char *opts[] = {"--gpus", "2", NULL};
    struct nl_err err = {0};
    int rc = 0;
    json_t *req = submit_script(text, opts, &err, &rc);
    if (rc != 0)
        fail_msg("%s", err.msg);
    assert_string_equal(json_string_value(json_object_get(req, "name")), "from-script");
    assert_int_equal(json_integer_value(json_object_get(req, "time_limit_s")), 3600);
    assert_int_equal(json_integer_value(json_object_get(req, "gpus")), 2); /* the CLI's */
    assert_string_equal(json_string_value(json_object_get(req, "cwd")), "/data");
    json_t *cmd = json_object_get(req, "command");
    assert_string_equal(json_string_value(json_array_get(cmd, 0)), "/bin/sh");
    assert_string_equal(json_string_value(json_array_get(cmd, 4)), "/bin/bash");
    assert_string_equal(json_string_value(json_array_get(cmd, 6)), text);
    assert_string_equal(json_string_value(json_array_get(cmd, 7)), "arg1");
    json_decref(req);

    /* Without --name, the job is named after the script, as sbatch does. */
    req = submit_script("#!/bin/sh\ntrue\n", NULL, &err, &rc);
    assert_int_equal(rc, 0);
    assert_memory_equal(json_string_value(json_object_get(req, "name")), "nl-test-script-", 15);
    json_decref(req);
}

static void test_cli_submit_script_bad_value_names_the_line(void **state)
{
    (void)state;
    struct nl_err err = {0};
    int rc = 0;
    json_t *req = submit_script("#!/bin/sh\n#SBATCH -t 1:75\ntrue\n", NULL, &err, &rc);
    assert_null(req);
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(err.msg, ":2: #SBATCH -t: --time: '1:75' is not a time limit"));
    /* The command line's value is used and the directive's never read. */
    const char *opts[] = {"--time", "5", NULL};
    req = submit_script("#!/bin/sh\n#SBATCH -t 1:75\ntrue\n", opts, &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(json_integer_value(json_object_get(req, "time_limit_s")), 300);
    json_decref(req);
}

/* Run cmd (a JSON array) under env extra ("K=V"), return its stdout (owned). */
static char *run_command(const json_t *cmd, const char *extra)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        char *argv[32];
        size_t n = json_array_size(cmd);
        for (size_t i = 0; i < n && i < 31; i++)
            argv[i] = (char *)json_string_value(json_array_get(cmd, i));
        argv[n < 31 ? n : 31] = NULL;
        char *envp[] = {(char *)"PATH=/usr/bin:/bin", (char *)extra, NULL};
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(fds[1]);
    static char buf[4096];
    size_t got = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    char *out = malloc(got + 16);
    snprintf(out, got + 16, "%d:%s", WEXITSTATUS(st), buf);
    return out;
}

static void test_cli_script_command_runs_under_its_interpreter(void **state)
{
    (void)state;
    /* Quotes, $, backslashes and a line like the here-document's end arrive unchanged. */
    static const char text[] = "#!/bin/sh -e\n"
                               "#SBATCH -t 5\n"
                               "printf '%s\\n' \"args: $1 $2\" '$HOME' '\\\\n'\n"
                               "echo NORDLYS_SCRIPT_END\n"
                               "exit 3\n";
    struct cli_script *sc = NULL;
    struct nl_err err = {0};
    assert_int_equal(cli_script_parse("/x/job.sh", text, strlen(text), &test_spec, &sc, &err), 0);
    char *args[] = {(char *)"a b", (char *)"c"};
    json_t *cmd = cli_script_command(sc, args, 2);
    char *out = run_command(cmd, "NORDLYS_NODE_RANK=0");
    assert_string_equal(out, "3:args: a b c\n$HOME\n\\\\n\nNORDLYS_SCRIPT_END\n");
    free(out);
    /* Not the first node: nothing runs, and that node's part ends well. */
    out = run_command(cmd, "NORDLYS_NODE_RANK=1");
    assert_string_equal(out, "0:");
    free(out);
    json_decref(cmd);
    cli_script_destroy(sc);
}

static void test_cli_export_forms(void **state)
{
    (void)state;
    char *envp[] = {(char *)"PATH=/opt/bin", (char *)"HOME=/home/u", (char *)"NORDLYS_TOKEN=secret",
                    (char *)"EMPTY=",        (char *)"noequals",     NULL};
    json_t *o = NULL;
    struct nl_err err = {0};
    assert_int_equal(cli_export_build(NULL, envp, &o, &err), 0);
    assert_int_equal(json_object_size(o), 3); /* never the token */
    assert_string_equal(json_string_value(json_object_get(o, "PATH")), "/opt/bin");
    assert_null(json_object_get(o, "NORDLYS_TOKEN"));
    json_decref(o);
    assert_int_equal(cli_export_build("NONE", envp, &o, &err), 0);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
    assert_int_equal(cli_export_build("HOME,UNSET,X=1=2", envp, &o, &err), 0);
    assert_int_equal(json_object_size(o), 2);
    assert_string_equal(json_string_value(json_object_get(o, "HOME")), "/home/u");
    assert_string_equal(json_string_value(json_object_get(o, "X")), "1=2");
    json_decref(o);
    assert_int_equal(cli_export_build("ALL,PATH=/x", envp, &o, &err), 0);
    assert_int_equal(json_object_size(o), 3);
    assert_string_equal(json_string_value(json_object_get(o, "PATH")), "/x");
    json_decref(o);

    static const struct {
        const char *spec;
        const char *msg;
    } bad[] = {
            {"NORDLYS_TOKEN",
             "--export: NORDLYS_TOKEN holds your credentials and is never exported"},
            {"HOME,,PATH", "--export: 'HOME,,PATH' has an empty item"},
            {"", "--export: empty (use ALL, NONE or VAR,VAR=value,...)"},
            {"1X=2", "--export: '1X' is not a variable name"},
            {"HOME,A-B", "--export: 'A-B' is not a variable name"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o = NULL;
        assert_int_equal(cli_export_build(bad[i].spec, envp, &o, &err), -EINVAL);
        assert_null(o);
        assert_string_equal(err.msg, bad[i].msg);
    }
}

static void test_cli_export_too_big_names_the_variable(void **state)
{
    (void)state;
    size_t n = NL_PROTO_ENV_VALUE_MAX + 1;
    char *big = malloc(n + 8);
    memcpy(big, "BIG=", 4);
    memset(big + 4, 'x', n);
    big[4 + n] = '\0';
    char *envp[] = {(char *)"A=1", big, NULL};
    json_t *o = NULL;
    struct nl_err err = {0};
    assert_int_equal(cli_export_build(NULL, envp, &o, &err), -EINVAL);
    char want[192];
    snprintf(want, sizeof(want),
             "--export: BIG is %zu bytes, more than a job's variable may hold (%u); unset it, or "
             "choose variables with --export=VAR,...",
             n, NL_PROTO_ENV_VALUE_MAX);
    assert_string_equal(err.msg, want);
    /* Leaving it out works. */
    assert_int_equal(cli_export_build("A", envp, &o, &err), 0);
    json_decref(o);
    free(big);
}

static void test_cli_submit_export_env_wins(void **state)
{
    (void)state;
    const char *argv[] = {"submit", "--env", "PATH=/mine", "--export", "ALL", "--", "true", NULL};
    char *envp[] = {(char *)"PATH=/theirs", (char *)"LANG=C", NULL};
    struct cli_submit s = {0};
    struct cli_args args = {0};
    struct nl_err err = {0};
    assert_int_equal(cli_submit_parse(7, (char **)argv, &s, &args, &err), 0);
    assert_int_equal(cli_submit_export(&s, envp, &err), 0);
    assert_string_equal(json_string_value(json_object_get(s.env, "PATH")), "/mine");
    assert_string_equal(json_string_value(json_object_get(s.env, "LANG")), "C");
    cli_args_release(&args);
    cli_submit_release(&s);
}

int main(void)
{
    unsetenv("NORDLYS_URL");
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cli_script_parse_sbatch_and_nordlys_forms),
            cmocka_unit_test(test_cli_script_parse_errors_name_the_line),
            cmocka_unit_test(test_cli_script_load_only_scripts),
            cmocka_unit_test(test_cli_submit_script_command_line_wins),
            cmocka_unit_test(test_cli_submit_script_bad_value_names_the_line),
            cmocka_unit_test(test_cli_script_command_runs_under_its_interpreter),
            cmocka_unit_test(test_cli_export_forms),
            cmocka_unit_test(test_cli_export_too_big_names_the_variable),
            cmocka_unit_test(test_cli_submit_export_env_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
