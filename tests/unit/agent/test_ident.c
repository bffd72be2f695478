/* SPDX-License-Identifier: MIT */
/*
 * test_ident.c - who a job runs as and what it inherits: account
 * resolution (root refused without allow_root, an unknown account named),
 * the clean environment builder, and the agent's token file checks.
 * Jobs really run as another user in test_jobs.c (as root).
 */
#define _GNU_SOURCE /* mkdtemp */
/* clang-format off */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
/* clang-format on */

#include "agent/cred.h"
#include "agent/ident.h"
#include "agent/launch.h"
#include "nordlys/err.h"

static void test_root_needs_allow_root(void **state)
{
    (void)state;
    struct ident id;
    struct nl_err err = {0};
    assert_int_equal(ident_resolve("root", false, &id, &err), -EPERM);
    assert_string_equal(err.msg, "user 'root': runs as root (uid 0), which needs the controller's "
                                 "--allow-root-jobs");
    assert_null(id.name);
    assert_int_equal(ident_resolve("root", true, &id, &err), 0);
    assert_int_equal(id.uid, 0);
    assert_int_equal(id.gid, 0);
    assert_string_equal(id.name, "root");
    assert_true(id.ngroups >= 1); /* getgrouplist lists the primary group too */
    ident_release(&id);
}

static void test_unknown_account_is_named(void **state)
{
    (void)state;
    struct ident id;
    struct nl_err err = {0};
    assert_int_equal(ident_resolve("nl-no-such-user-x", true, &id, &err), -ENOENT);
    assert_string_equal(err.msg, "user 'nl-no-such-user-x': no such account on this node");
    assert_int_equal(ident_resolve("", true, &id, &err), -EINVAL);
    assert_int_equal(ident_resolve(NULL, true, &id, &err), -EINVAL);
}

static void test_nobody_and_self(void **state)
{
    (void)state;
    struct ident id;
    struct nl_err err = {0};
    if (ident_resolve("nobody", false, &id, &err) == 0) {
        assert_true(id.uid != 0);
        assert_string_equal(id.name, "nobody");
        assert_non_null(id.home);
        assert_non_null(id.shell);
        ident_release(&id);
    }
    assert_int_equal(ident_self(&id, &err), 0);
    assert_int_equal(id.uid, geteuid());
    ident_release(&id);
    ident_release(NULL);
}

static size_t count(char **v)
{
    size_t n = 0;
    while (v[n] != NULL)
        n++;
    return n;
}

/* The environment is clean: defaults, the account, named exports, then the launch's. */
static void test_env_builder(void **state)
{
    (void)state;
    struct ident id = {
            .uid = 1000, .gid = 1000, .name = "alice", .home = "/home/alice", .shell = "/bin/bash"};
    char *agent_env[] = {"PATH=/agent/bin", "SECRET=agent-only", "KEEP=yes",
                         "HOME=/root",      "NL_TEST_TAG=t1",    NULL};
    char *exports[] = {"KEEP", "MISSING", "NL_TEST_TAG"};
    char *launch[] = {"CUDA_VISIBLE_DEVICES=0,1", "NORDLYS_JOB_ID=9", "KEEP=from-launch", NULL};
    char **env = launch_env_build(&id, agent_env, exports, 3, launch);
    const char *want[] = {"PATH=/usr/local/bin:/usr/bin:/bin",
                          "HOME=/home/alice",
                          "USER=alice",
                          "LOGNAME=alice",
                          "SHELL=/bin/bash",
                          "KEEP=from-launch", /* the launch's value, in the export's place */
                          "NL_TEST_TAG=t1",
                          "CUDA_VISIBLE_DEVICES=0,1",
                          "NORDLYS_JOB_ID=9"};
    assert_int_equal(count(env), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_string_equal(env[i], want[i]);
    launch_env_free(env);

    /* A launch may set PATH (and anything else) itself; no exports, no agent environment. */
    char *launch2[] = {"PATH=/opt/conda/bin:/usr/bin", NULL};
    env = launch_env_build(&id, NULL, NULL, 0, launch2);
    assert_int_equal(count(env), 5);
    assert_string_equal(env[0], "PATH=/opt/conda/bin:/usr/bin");
    launch_env_free(env);
}

struct tmp {
    char dir[64], file[96];
};

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_token_file_checks(void **state)
{
    (void)state;
    struct tmp t;
    snprintf(t.dir, sizeof(t.dir), "/tmp/nl-cred-XXXXXX");
    assert_non_null(mkdtemp(t.dir));
    snprintf(t.file, sizeof(t.file), "%s/token", t.dir);
    struct nl_err err = {0};
    char *tok = NULL, want[512];

    write_file(t.file, "eyJhbGciOi.eyJzdWIi.sig\n", 0644);
    assert_int_equal(cred_token_load(t.file, NULL, &tok, &err), -EPERM);
    snprintf(want, sizeof(want),
             "--token-file %s: mode 0644 lets others read the token; it must be 0600 (chmod 600 "
             "%s)",
             t.file, t.file);
    assert_string_equal(err.msg, want);
    assert_null(tok);

    assert_int_equal(chmod(t.file, 0600), 0);
    assert_int_equal(cred_token_load(t.file, "from-env", &tok, &err), 0);
    assert_string_equal(tok, "eyJhbGciOi.eyJzdWIi.sig"); /* the file wins; newline trimmed */
    free(tok);

    /* Another owner: the check names the owner (checked on a stat, as root cannot be another). */
    struct stat st;
    assert_int_equal(stat(t.file, &st), 0);
    assert_int_equal(cred_check_file(t.file, &st, st.st_uid + 1, &err), -EPERM);
    assert_non_null(strstr(err.msg, "mode 0600, owned by uid"));

    write_file(t.file, "two words\n", 0600);
    assert_int_equal(cred_token_load(t.file, NULL, &tok, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "byte 0x20 at 3"));
    write_file(t.file, "\n", 0600);
    assert_int_equal(cred_token_load(t.file, NULL, &tok, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "the token is empty"));

    char missing[128];
    snprintf(missing, sizeof(missing), "%s/none", t.dir);
    assert_int_equal(cred_token_load(missing, NULL, &tok, &err), -ENOENT);
    assert_non_null(strstr(err.msg, missing));

    /* No file: NORDLYS_TOKEN, checked the same way; neither: no token. */
    assert_int_equal(cred_token_load(NULL, "abc.def", &tok, &err), 0);
    assert_string_equal(tok, "abc.def");
    free(tok);
    assert_int_equal(cred_token_load(NULL, "a\r\nInjected: x", &tok, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "NORDLYS_TOKEN"));
    assert_int_equal(cred_token_load(NULL, NULL, &tok, &err), 0);
    assert_null(tok);

    unlink(t.file);
    rmdir(t.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_root_needs_allow_root),
            cmocka_unit_test(test_unknown_account_is_named),
            cmocka_unit_test(test_nobody_and_self),
            cmocka_unit_test(test_env_builder),
            cmocka_unit_test(test_token_file_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
