/* SPDX-License-Identifier: MIT */
/*
 * test_statedir.c - the state directory's lock (a second holder is refused
 * with the first's pid; a dead holder's keeper is waited for) and the
 * persistent instance key.
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
        char c = statedir_lock(dir, 0, &fd, &err) == 0 ? 'y' : 'n';
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
    assert_int_equal(statedir_lock(dir, 0, &fd, &err), -EBUSY);
    char want[64];
    snprintf(want, sizeof(want), "(pid %ld holds", (long)holder);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "is in use by another nordlys-agent"));
    assert_int_equal(write(done[1], "x", 1), 1);
    assert_int_equal(waitpid(holder, NULL, 0), holder);
    /* The holder is gone, and the lock with it. */
    assert_int_equal(statedir_lock(dir, 0, &fd, &err), 0);
    close(fd);
    for (int i = 0; i < 2; i++) {
        close(go[i]);
        close(done[i]);
    }
}

/*
 * An agent that died leaves its lock held by a keeper still writing its
 * run's record (launch.h): the next agent waits for it rather than sweep
 * the directory before that record is there. Without a wait it is refused,
 * naming the dead agent; with one it gets the lock once the keeper lets go.
 */
static void test_dead_holders_keeper_is_waited_for(void **state)
{
    const char *dir = *state;
    int got[2], release[2], log[2];
    assert_int_equal(pipe(got), 0);
    assert_int_equal(pipe(release), 0);
    assert_int_equal(pipe(log), 0);
    pid_t agent = fork();
    if (agent == 0) {
        int fd;
        struct nl_err err = {0};
        if (statedir_lock(dir, 0, &fd, &err) < 0)
            _exit(1);
        pid_t keeper = fork(); /* holds the lock's copy until released, as a keeper does */
        if (keeper == 0) {
            char c;
            ssize_t n = read(release[0], &c, 1);
            (void)n;
            _exit(0);
        }
        ssize_t n = write(got[1], &keeper, sizeof(keeper));
        _exit(n == (ssize_t)sizeof(keeper) ? 0 : 1);
    }
    pid_t keeper = 0;
    assert_int_equal(read(got[0], &keeper, sizeof(keeper)), (ssize_t)sizeof(keeper));
    int status;
    assert_int_equal(waitpid(agent, &status, 0), agent);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int fd = -1;
    struct nl_err err = {0};
    assert_int_equal(statedir_lock(dir, 0, &fd, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "is gone"));
    assert_non_null(strstr(err.msg, "keepers"));
    pid_t next = fork();
    if (next == 0) {
        dup2(log[1], 2);
        _exit(statedir_lock(dir, 60, &fd, &err) == 0 ? 0 : 1);
    }
    close(log[1]);
    /* The next agent is waiting (it says so) before the keeper lets go. */
    char text[4096] = "";
    size_t len = 0;
    while (strstr(text, "waiting up to") == NULL && len < sizeof(text) - 1) {
        ssize_t n = read(log[0], text + len, sizeof(text) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        text[len] = '\0';
    }
    assert_non_null(strstr(text, "waiting up to"));
    assert_int_equal(write(release[1], "x", 1), 1);
    assert_int_equal(waitpid(next, &status, 0), next);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    waitpid(keeper, NULL, 0); /* not ours (the agent's child, reparented): may fail */
    for (int i = 0; i < 2; i++) {
        close(got[i]);
        close(release[i]);
    }
    close(log[0]);
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
            cmocka_unit_test_setup_teardown(test_dead_holders_keeper_is_waited_for, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_second_holder_is_refused_naming_the_first, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_instance_key_is_created_once_and_kept, setup,
                                            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
