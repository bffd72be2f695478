/* SPDX-License-Identifier: MIT */
/*
 * test_statedir.c - the state directory's lock (a second holder is refused
 * with the first's pid) and the persistent instance key.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
/* clang-format on */

#include "agent/statedir.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

static int setup(void **state)
{
    char *dir = xstrdup("/tmp/nl-statedir-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", (char *)*state);
    assert_int_equal(system(cmd), 0);
    free(*state);
    return 0;
}

static void test_second_holder_is_refused_naming_the_first(void **state)
{
    const char *dir = *state;
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    pid_t holder = fork();
    if (holder == 0) {
        int fd;
        struct nl_err err = {0};
        char c = statedir_lock(dir, &fd, &err) == 0 ? 'y' : 'n';
        ssize_t n = write(go[1], &c, 1);
        n = read(done[0], &c, 1); /* hold the lock until the parent has tried */
        (void)n;
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(go[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    int fd = -1;
    struct nl_err err = {0};
    assert_int_equal(statedir_lock(dir, &fd, &err), -EBUSY);
    char want[64];
    snprintf(want, sizeof(want), "(pid %ld holds", (long)holder);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "is in use by another nordlys-agent"));
    assert_int_equal(write(done[1], "x", 1), 1);
    assert_int_equal(waitpid(holder, NULL, 0), holder);
    /* The holder is gone, and the lock with it. */
    assert_int_equal(statedir_lock(dir, &fd, &err), 0);
    close(fd);
    for (int i = 0; i < 2; i++) {
        close(go[i]);
        close(done[i]);
    }
}

static void test_instance_key_is_created_once_and_kept(void **state)
{
    const char *dir = *state;
    char a[STATEDIR_INSTANCE_LEN], b[STATEDIR_INSTANCE_LEN];
    struct nl_err err = {0};
    assert_int_equal(statedir_instance(dir, a, &err), 0);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_int_equal(statedir_instance(dir, b, &err), 0);
    assert_string_equal(a, b);
    char path[256];
    snprintf(path, sizeof(path), "%s/instance", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *f = fopen(path, "w");
    fputs("not-a-key\n", f);
    fclose(f);
    assert_int_equal(statedir_instance(dir, b, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "not an instance key"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_second_holder_is_refused_naming_the_first, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_instance_key_is_created_once_and_kept, setup,
                                            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
