/* SPDX-License-Identifier: MIT */
/*
 * test_opt.c - the agent's option table: defaults, NORDLYS_* environment,
 * flags over environment, and errors that name the flag or variable.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
/* clang-format on */

#include "agent/opt.h"
#include "nordlys/err.h"

static int parse(struct agent_conf *c, char **argv, char **envp, struct nl_err *err)
{
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    memset(c, 0, sizeof(*c));
    nl_err_clear(err);
    return agent_conf_parse(c, argc, argv, envp, "host-1", err);
}

static void test_agent_conf_parse_defaults(void **state)
{
    (void)state;
    struct agent_conf c;
    struct nl_err err;
    char *argv[] = {"nordlys-agent", "--nodes", "a-p000-r0000-n00,a-p000-r0000-n01", NULL};
    assert_int_equal(parse(&c, argv, NULL, &err), 0);
    assert_string_equal(c.controller, "http://127.0.0.1:7420");
    assert_int_equal(c.nnodes, 2);
    assert_string_equal(c.nodes[1], "a-p000-r0000-n01");
    assert_int_equal(c.emulate, 0);
    assert_false(c.noop);
    assert_string_equal(c.state_dir, "/var/lib/nordlys/agent");
    assert_int_equal(c.sync_interval_ms, 0);
    assert_string_equal(c.agent_name, "host-1");
    assert_true(c.agent_name_default); /* the agent appends its instance key */
    assert_string_equal(c.output_root, "/var/lib/nordlys/agent/output");
    assert_int_equal(c.output_limit_mb, 10240);
    assert_string_equal(c.cgroup_root, "auto");
    agent_conf_release(&c);
}

static void test_agent_conf_parse_env_then_flags(void **state)
{
    (void)state;
    struct agent_conf c;
    struct nl_err err;
    char *envp[] = {"NORDLYS_EMULATE=25000",        "NORDLYS_NOOP=1",
                    "NORDLYS_SYNC_INTERVAL_MS=500", "NORDLYS_CONTROLLER=http://10.0.0.1:9000",
                    "NORDLYS_AGENT_NAME=env-name",  NULL};
    char *argv[] = {"nordlys-agent",
                    "--sync-interval-ms=1000",
                    "--agent-name",
                    "flag-name",
                    "--state-dir",
                    "/tmp/x",
                    NULL};
    assert_int_equal(parse(&c, argv, envp, &err), 0);
    assert_int_equal(c.emulate, 25000);
    assert_true(c.noop);
    assert_int_equal(c.sync_interval_ms, 1000); /* the flag wins over the environment */
    assert_string_equal(c.agent_name, "flag-name");
    assert_false(c.agent_name_default);
    assert_string_equal(c.controller, "http://10.0.0.1:9000");
    assert_string_equal(c.state_dir, "/tmp/x");
    agent_conf_release(&c);

    /* Issue 10: credentials, CA, the job environment's exports, --run-as-self. */
    char *envp2[] = {"NORDLYS_TOKEN=tok.en", "NORDLYS_CA=/etc/nordlys/ca.pem",
                     "NORDLYS_EXPORT_ENV=FROM_ENV", NULL};
    char *argv2[] = {"nordlys-agent",
                     "--nodes",
                     "n1",
                     "--token-file",
                     "/etc/nordlys/agent.token",
                     "--export-env",
                     "NL_TEST_TAG,HTTP_PROXY",
                     "--run-as-self",
                     NULL};
    assert_int_equal(parse(&c, argv2, envp2, &err), 0);
    assert_string_equal(c.token_file, "/etc/nordlys/agent.token");
    assert_string_equal(c.token_env, "tok.en"); /* kept; the file is used first (cred.h) */
    assert_string_equal(c.ca_file, "/etc/nordlys/ca.pem");
    assert_int_equal(c.nexport_env, 2);
    assert_string_equal(c.export_env[0], "NL_TEST_TAG");
    assert_string_equal(c.export_env[1], "HTTP_PROXY");
    assert_true(c.run_as_self);
    agent_conf_release(&c);
}

/* Each bad input is refused with a message naming where it came from; conf stays empty. */
static void expect_error(char **argv, char **envp, const char *msg)
{
    struct agent_conf c;
    struct nl_err err;
    assert_int_equal(parse(&c, argv, envp, &err), -22);
    assert_string_equal(err.msg, msg);
    assert_null(c.controller);
    assert_null(c.nodes);
}

static void test_agent_conf_parse_errors_name_the_field(void **state)
{
    (void)state;
    char *a1[] = {"agent", "--emulate", "lots", NULL};
    expect_error(a1, NULL, "--emulate: 'lots' is not a number");
    char *e2[] = {"NORDLYS_SYNC_INTERVAL_MS=5", NULL};
    char *a2[] = {"agent", "--nodes", "n1", NULL};
    expect_error(a2, e2, "NORDLYS_SYNC_INTERVAL_MS: 5 is below the minimum 10");
    char *a3[] = {"agent", "--nodes", "n1,n2,n1", NULL};
    expect_error(a3, NULL, "--nodes: 'n1' is given twice");
    char *a4[] = {"agent", NULL};
    expect_error(a4, NULL, "--nodes: give --nodes or --emulate");
    char *a5[] = {"agent", "--nodes", "n1", "--noop", NULL};
    expect_error(a5, NULL, "--noop: only with --emulate");
    char *x1[] = {"agent", "--nodes", "n1", "--export-env", "OK,1BAD", NULL};
    expect_error(x1, NULL, "--export-env: '1BAD' is not a variable name");
    char *x2[] = {"agent", "--nodes", "n1", "--export-env", "A,,B", NULL};
    expect_error(x2, NULL, "--export-env: '' is not a variable name");
    char *x3[] = {"agent", "--nodes", "n1", "--token-file", "", NULL};
    expect_error(x3, NULL, "--token-file: empty");
    char *a6[] = {"agent", "--nodes", "n1", "--emulate", "4", NULL};
    expect_error(a6, NULL, "--emulate: not together with --nodes");
    char *a7[] = {"agent", "--nodes", "n1", "--contoller", "x", NULL};
    expect_error(a7, NULL, "unknown option '--contoller'");
    char *a8[] = {"agent", "--nodes", NULL};
    expect_error(a8, NULL, "--nodes: missing value");
    char *a9[] = {"agent", "--nodes", "n1", "--controller", "ftp://x", NULL};
    expect_error(a9, NULL, "--controller: 'ftp://x' is not an http:// or https:// URL");
    char *a10[] = {"agent", "--nodes", "n/1", NULL};
    expect_error(a10, NULL, "--nodes: 'n/1' is not a node name");
    char *a11[] = {"agent", "--emulate", "3000000", NULL};
    expect_error(a11, NULL, "--emulate: 3000000 exceeds the maximum 65536");
    char *e12[] = {"NORDLYS_NOOP=maybe", NULL};
    char *a12[] = {"agent", "--emulate", "3", NULL};
    expect_error(a12, e12, "NORDLYS_NOOP: 'maybe' is not a boolean (use 1 or 0)");
    char *a13[] = {"agent", "--nodes", "n1", "stray", NULL};
    expect_error(a13, NULL, "unexpected argument 'stray'");
    char *a14[] = {"agent", "--nodes", "n1", "--cgroup-root", "rel/path", NULL};
    expect_error(a14, NULL, "--cgroup-root: 'rel/path' is not auto, none or an absolute path");
}

static void test_agent_conf_parse_help_needs_nothing_else(void **state)
{
    (void)state;
    struct agent_conf c;
    struct nl_err err;
    char *argv[] = {"agent", "-h", NULL};
    assert_int_equal(parse(&c, argv, NULL, &err), 0);
    assert_true(c.help);
    agent_conf_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_agent_conf_parse_defaults),
            cmocka_unit_test(test_agent_conf_parse_env_then_flags),
            cmocka_unit_test(test_agent_conf_parse_errors_name_the_field),
            cmocka_unit_test(test_agent_conf_parse_help_needs_nothing_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
