/* SPDX-License-Identifier: MIT */
/*
 * test_audit.c - the audit chain check: an intact log passes; an altered,
 * removed or reordered record is named (line and seq); an altered last
 * line is caught against the controller's head. Also the token file's
 * rules (mode 0600, NORDLYS_TOKEN first).
 */
/* cmocka.h needs the standard headers before it. */
/* clang-format off */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
/* clang-format on */

#include "cli/audit_chain.h"
#include "cli/token.h"
#include "nordlys/err.h"

#define N 5

static char lines[N][256];
static const char *ptr[N];
static size_t lens[N];
static char head[65];

/* A chain of N records, as the controller writes them. */
static void build(void)
{
    char prev[65] = "";
    for (int i = 0; i < N; i++) {
        snprintf(lines[i], sizeof(lines[i]),
                 "{\"seq\":%d,\"time\":\"2026-11-29T13:00:0%dZ\",\"who\":\"root\",\"status\":201,"
                 "\"prev\":\"%s\"}",
                 i + 1, i, prev);
        ptr[i] = lines[i];
        lens[i] = strlen(lines[i]);
        audit_chain_hash(lines[i], lens[i], prev);
    }
    memcpy(head, prev, sizeof(head));
}

static void test_intact(void **state)
{
    (void)state;
    build();
    struct audit_bad bad;
    assert_int_equal(audit_chain_check(ptr, lens, N, head, &bad), 0);
    assert_int_equal(bad.line, 0);
}

static void test_altered(void **state)
{
    (void)state;
    build();
    char *s = strstr(lines[2], "201");
    s[2] = '0'; /* 201 -> 200 in record 3 */
    struct audit_bad bad;
    assert_int_equal(audit_chain_check(ptr, lens, N, head, &bad), -1);
    assert_int_equal(bad.line, 3);
    assert_int_equal(bad.seq, 3);
    assert_non_null(strstr(bad.why, "altered"));
}

static void test_altered_last(void **state)
{
    (void)state;
    build();
    strstr(lines[N - 1], "root")[0] = 'R';
    struct audit_bad bad;
    assert_int_equal(audit_chain_check(ptr, lens, N, NULL, &bad), 0); /* undetectable alone */
    assert_int_equal(audit_chain_check(ptr, lens, N, head, &bad), -1);
    assert_int_equal(bad.line, N);
}

static void test_removed(void **state)
{
    (void)state;
    build();
    const char *p2[N - 1] = {ptr[0], ptr[1], ptr[3], ptr[4]};
    size_t l2[N - 1] = {lens[0], lens[1], lens[3], lens[4]};
    struct audit_bad bad;
    assert_int_equal(audit_chain_check(p2, l2, N - 1, head, &bad), -1);
    assert_int_equal(bad.line, 3);
    assert_int_equal(bad.seq, 4);
    assert_non_null(strstr(bad.why, "record 3 removed"));
}

static void test_reordered(void **state)
{
    (void)state;
    build();
    const char *p2[N] = {ptr[0], ptr[2], ptr[1], ptr[3], ptr[4]};
    size_t l2[N] = {lens[0], lens[2], lens[1], lens[3], lens[4]};
    struct audit_bad bad;
    assert_int_equal(audit_chain_check(p2, l2, N, head, &bad), -1);
    assert_int_equal(bad.line, 2);
    assert_int_equal(bad.seq, 3);
    assert_non_null(strstr(bad.why, "reordered"));
}

static const char *fake_token, *fake_home;

static char *fake_getenv(const char *name)
{
    if (strcmp(name, "NORDLYS_TOKEN") == 0)
        return (char *)fake_token;
    if (strcmp(name, "HOME") == 0)
        return (char *)fake_home;
    return NULL;
}

static void test_token_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/nl-cli-token-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/token", dir);
    FILE *f = fopen(path, "w");
    fputs("abc.def.ghi\n", f);
    fclose(f);
    char *tok = NULL;
    struct nl_err err = {0};
    fake_token = NULL;
    fake_home = dir;
    chmod(path, 0644);
    assert_int_equal(cli_token_load(path, fake_getenv, &tok, &err), -EACCES);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "0644"));
    chmod(path, 0600);
    assert_int_equal(cli_token_load(path, fake_getenv, &tok, &err), 0);
    assert_string_equal(tok, "abc.def.ghi");
    free(tok);
    fake_token = "env.tok.en";
    assert_int_equal(cli_token_load(path, fake_getenv, &tok, &err), 0);
    assert_string_equal(tok, "env.tok.en");
    free(tok);
    fake_token = NULL;
    /* No --token-file and no ~/.config/nordlys/token: no token, no error. */
    assert_int_equal(cli_token_load(NULL, fake_getenv, &tok, &err), 0);
    assert_null(tok);
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(cli_token_load(path, fake_getenv, &tok, &err), -ENOENT);
    snprintf(path, sizeof(path), "%s/token", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_intact),       cmocka_unit_test(test_altered),
            cmocka_unit_test(test_altered_last), cmocka_unit_test(test_removed),
            cmocka_unit_test(test_reordered),    cmocka_unit_test(test_token_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
