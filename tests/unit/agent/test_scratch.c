/* SPDX-License-Identifier: MIT */
/*
 * test_scratch.c - per-node scratch directories (src/agent/scratch.c) on
 * real files: the wipe removes everything inside and nothing outside (a
 * symbolic link to a file or directory outside is removed, its target
 * kept), deep trees and unreadable directories go too, and the rule wipes
 * between tenants, after sensitive jobs and for unknown tenants; a
 * sensitive job never shares a node with another tenant. Then a real job
 * through the job table gets its scratch in NORDLYS_SCRATCH and TMPDIR.
 */
/* clang-format off */
#include <errno.h>
#include <poll.h>
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

#include "agent/jobs.h"
#include "agent/scratch.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

struct fx {
    char dir[64];     /* the test's own temporary directory */
    char root[96];    /* --scratch-dir */
    char outside[96]; /* what no wipe may touch */
};

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/nl-scratch-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof(f->root), "%s/scratch", f->dir);
    snprintf(f->outside, sizeof(f->outside), "%s/outside", f->dir);
    assert_int_equal(mkdir(f->outside, 0755), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
    char p[512];
    int n = snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof(p));
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static bool exists(const char *dir, const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return lstat(p, &st) == 0;
}

static int entries(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 0", dir);
    return system(cmd) == 0 ? 0 : 1;
}

static void test_wipe_removes_inside_and_nothing_outside(void **state)
{
    struct fx *f = *state;
    char d[128], p[512];
    snprintf(d, sizeof(d), "%s/w", f->dir);
    assert_int_equal(mkdir(d, 0755), 0);
    put(f->outside, "keep.txt", "precious");
    char sub[600];
    snprintf(sub, sizeof(sub), "%s/outdir", f->outside);
    assert_int_equal(mkdir(sub, 0755), 0);
    put(sub, "inner.txt", "also precious");
    /* Inside: files, nested directories, links out (file and directory), a fifo, a locked dir. */
    put(d, "a.txt", "x");
    put(d, ".hidden", "x");
    snprintf(p, sizeof(p), "%s/n1/n2/n3", d);
    assert_int_equal(system((snprintf(sub, sizeof(sub), "mkdir -p %s", p), sub)), 0);
    put(p, "deep.txt", "x");
    snprintf(p, sizeof(p), "%s/link-file", d);
    snprintf(sub, sizeof(sub), "%s/keep.txt", f->outside);
    assert_int_equal(symlink(sub, p), 0);
    snprintf(p, sizeof(p), "%s/n1/link-dir", d);
    snprintf(sub, sizeof(sub), "%s/outdir", f->outside);
    assert_int_equal(symlink(sub, p), 0);
    snprintf(p, sizeof(p), "%s/link-dangling", d);
    assert_int_equal(symlink("/nonexistent/nordlys", p), 0);
    snprintf(p, sizeof(p), "%s/fifo", d);
    assert_int_equal(mkfifo(p, 0600), 0);
    snprintf(p, sizeof(p), "%s/locked", d);
    assert_int_equal(mkdir(p, 0755), 0);
    put(p, "in-locked.txt", "x");
    assert_int_equal(chmod(p, 0), 0);
    uint64_t removed = 0;
    struct nl_err err = {0};
    assert_int_equal(scratch_wipe(d, &removed, &err), 0);
    assert_int_equal(entries(d), 0);
    assert_true(exists(f->dir, "w")); /* the directory itself stays */
    /* a.txt .hidden n1 n2 n3 deep.txt link-file link-dir link-dangling fifo locked in-locked.txt */
    assert_int_equal(removed, 12);
    assert_true(exists(f->outside, "keep.txt"));
    assert_true(exists(f->outside, "outdir/inner.txt"));
    snprintf(p, sizeof(p), "%s/keep.txt", f->outside);
    FILE *fp = fopen(p, "r");
    char buf[32] = "";
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof(buf), fp));
    fclose(fp);
    assert_string_equal(buf, "precious");
    /* Empty: nothing to do. */
    assert_int_equal(scratch_wipe(d, &removed, &err), 0);
    assert_int_equal(removed, 0);
}

static void test_wipe_deep_tree_and_bad_tops(void **state)
{
    struct fx *f = *state;
    char d[128];
    snprintf(d, sizeof(d), "%s/deep", f->dir);
    assert_int_equal(mkdir(d, 0755), 0);
    /* Deeper than the wipe holds descriptors for: moved up and finished in later passes. */
    assert_int_equal(chdir(d), 0);
    int levels = SCRATCH_WIPE_DEPTH_MAX * 3 + 5;
    for (int i = 0; i < levels; i++) {
        assert_int_equal(mkdir("d", 0755), 0);
        assert_int_equal(chdir("d"), 0);
    }
    put(".", "bottom.txt", "x");
    assert_int_equal(chdir("/"), 0);
    uint64_t removed = 0;
    struct nl_err err = {0};
    assert_int_equal(scratch_wipe(d, &removed, &err), 0);
    assert_int_equal(entries(d), 0);
    assert_int_equal(removed, (uint64_t)levels + 1);

    /* The top itself a symbolic link: refused, the target untouched. */
    char link[128];
    put(f->outside, "t.txt", "x");
    snprintf(link, sizeof(link), "%s/toplink", f->dir);
    assert_int_equal(symlink(f->outside, link), 0);
    assert_true(scratch_wipe(link, &removed, &err) < 0);
    assert_non_null(strstr(err.msg, link));
    assert_true(exists(f->outside, "t.txt"));
    snprintf(link, sizeof(link), "%s/missing", f->dir);
    assert_int_equal(scratch_wipe(link, &removed, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "missing"));
}

/* The rule, through scratch_acquire/scratch_release. */
static void test_rule_between_tenants(void **state)
{
    struct fx *f = *state;
    struct nl_err err = {0};
    struct agent_scratch *s = scratch_new(f->root, &err);
    assert_non_null(s);
    char path[4096], node[160];
    snprintf(node, sizeof(node), "%s/n0", f->root);
    /* Left by an earlier agent life: the first job wipes it. */
    assert_int_equal(mkdir(node, 0700), 0);
    put(node, "old.txt", "x");
    assert_int_equal(scratch_acquire(s, 0, "n0", "alpha", false, 1, path, sizeof(path), &err), 0);
    assert_string_equal(path, node);
    assert_false(exists(node, "old.txt"));
    struct stat st;
    assert_int_equal(stat(node, &st), 0);
    assert_int_equal(st.st_mode & 07777, 01777);
    put(node, "a1.txt", "x");
    scratch_release(s, 0, "n0", "alpha", false, 1);
    assert_true(exists(node, "a1.txt")); /* not sensitive: kept for now */
    /* Same tenant next: kept. */
    assert_int_equal(scratch_acquire(s, 0, "n0", "alpha", false, 2, path, sizeof(path), &err), 0);
    assert_true(exists(node, "a1.txt"));
    scratch_release(s, 0, "n0", "alpha", false, 2);
    /* Another tenant: wiped before it starts. */
    assert_int_equal(scratch_acquire(s, 0, "n0", "beta", false, 3, path, sizeof(path), &err), 0);
    assert_false(exists(node, "a1.txt"));
    put(node, "b.txt", "x");
    /* Two tenants side by side (not sensitive), then alone again: wiped for either. */
    assert_int_equal(scratch_acquire(s, 0, "n0", "alpha", false, 4, path, sizeof(path), &err), 0);
    assert_true(exists(node, "b.txt"));
    scratch_release(s, 0, "n0", "beta", false, 3);
    scratch_release(s, 0, "n0", "alpha", false, 4);
    assert_int_equal(scratch_acquire(s, 0, "n0", "alpha", false, 5, path, sizeof(path), &err), 0);
    assert_false(exists(node, "b.txt"));
    scratch_release(s, 0, "n0", "alpha", false, 5);
    /* Another node is its own directory with its own state. */
    assert_int_equal(scratch_acquire(s, 1, "n1", "gamma", false, 6, path, sizeof(path), &err), 0);
    snprintf(node, sizeof(node), "%s/n1", f->root);
    assert_string_equal(path, node);
    scratch_release(s, 1, "n1", "gamma", false, 6);
    scratch_destroy(s);
}

static void test_rule_sensitive_and_unknown(void **state)
{
    struct fx *f = *state;
    struct nl_err err = {0};
    struct agent_scratch *s = scratch_new(f->root, &err);
    assert_non_null(s);
    char path[4096], node[160];
    snprintf(node, sizeof(node), "%s/n0", f->root);
    /* A sensitive job's scratch is wiped as soon as it ends, even for its own tenant. */
    assert_int_equal(scratch_acquire(s, 0, "n0", "alpha", true, 1, path, sizeof(path), &err), 0);
    put(node, "secret.txt", "x");
    /* Nobody else beside it: another tenant's job, and a job of unknown tenant, are refused. */
    assert_int_equal(scratch_acquire(s, 0, "n0", "beta", false, 2, path, sizeof(path), &err),
                     -EBUSY);
    assert_non_null(strstr(err.msg, "job 2 of tenant beta; running here: tenant alpha, sensitive"));
    assert_int_equal(scratch_acquire(s, 0, "n0", NULL, false, 3, path, sizeof(path), &err), -EBUSY);
    assert_true(exists(node, "secret.txt"));
    scratch_release(s, 0, "n0", "alpha", true, 1);
    assert_false(exists(node, "secret.txt"));
    /* A sensitive job does not join another tenant's job either. */
    assert_int_equal(scratch_acquire(s, 0, "n0", "beta", false, 4, path, sizeof(path), &err), 0);
    assert_int_equal(scratch_acquire(s, 0, "n0", "alpha", true, 5, path, sizeof(path), &err),
                     -EBUSY);
    assert_non_null(strstr(err.msg, "a sensitive job shares no node with another tenant"));
    put(node, "beta.txt", "x");
    scratch_release(s, 0, "n0", "beta", false, 4);
    /* Unknown tenant (a controller that sends none): never known to be the same, so wiped before.
     */
    assert_int_equal(scratch_acquire(s, 0, "n0", NULL, false, 6, path, sizeof(path), &err), 0);
    assert_false(exists(node, "beta.txt"));
    put(node, "u.txt", "x");
    scratch_release(s, 0, "n0", NULL, false, 6);
    assert_int_equal(scratch_acquire(s, 0, "n0", NULL, true, 7, path, sizeof(path), &err), 0);
    assert_false(exists(node, "u.txt"));
    put(node, "u2.txt", "x");
    scratch_release(s, 0, "n0", NULL, true, 7);
    assert_false(exists(node, "u2.txt"));
    scratch_destroy(s);
}

static void test_rule_fails_closed(void **state)
{
    struct fx *f = *state;
    struct nl_err err = {0};
    struct agent_scratch *s = scratch_new(f->root, &err);
    assert_non_null(s);
    char path[4096], node[160], mnt[4200];
    snprintf(node, sizeof(node), "%s/n0", f->root);
    assert_int_equal(scratch_acquire(s, 0, "n0", "alpha", false, 1, path, sizeof(path), &err), 0);
    /* Something the wipe cannot remove: a mount point (as root), else give up on this part. */
    snprintf(mnt, sizeof(mnt), "%s/mnt", node);
    assert_int_equal(mkdir(mnt, 0755), 0);
    char cmd[4400];
    snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=1m nl-scratch-test %s 2>/dev/null", mnt);
    bool mounted = geteuid() == 0 && system(cmd) == 0;
    scratch_release(s, 0, "n0", "alpha", false, 1);
    if (mounted) {
        assert_int_equal(scratch_acquire(s, 0, "n0", "beta", false, 2, path, sizeof(path), &err),
                         -EXDEV);
        assert_non_null(strstr(err.msg, "another file system"));
        snprintf(cmd, sizeof(cmd), "umount %s", mnt);
        assert_int_equal(system(cmd), 0);
        /* Still dirty: the next try wipes. */
    } else {
        print_message("not root or no mount: the fail-closed refusal is not exercised\n");
    }
    assert_int_equal(scratch_acquire(s, 0, "n0", "beta", false, 3, path, sizeof(path), &err), 0);
    assert_false(exists(node, "mnt"));
    scratch_release(s, 0, "n0", "beta", false, 3);
    scratch_destroy(s);
    /* A bad root is named. */
    snprintf(path, sizeof(path), "%s/outside/file", f->dir);
    put(f->outside, "file", "x");
    snprintf(mnt, sizeof(mnt), "%s/sub", path);
    assert_null(scratch_new(mnt, &err));
    assert_non_null(strstr(err.msg, "--scratch-dir"));
}

/* A real job through the job table: its scratch in NORDLYS_SCRATCH and TMPDIR, wiped for the next
 * tenant. */
static void test_job_gets_scratch(void **state)
{
    struct fx *f = *state;
    struct nl_err err = {0};
    struct agent_scratch *s = scratch_new(f->root, &err);
    assert_non_null(s);
    char runs[128];
    snprintf(runs, sizeof(runs), "%s/runs", f->dir);
    assert_int_equal(mkdir(runs, 0755), 0);
    struct jobs_conf c = {.output_root = f->dir, .runs_dir = runs, .scratch = s};
    struct agent_jobs *t = jobs_new(&c, &err);
    assert_non_null(t);
    char *argv[] = {"/bin/sh", "-c",
                    "echo \"$NORDLYS_SCRATCH $TMPDIR\"; ls -A \"$TMPDIR\"; touch \"$TMPDIR/mine\"",
                    NULL};
    char *env[] = {"TMPDIR=/submitted/loses", NULL};
    char node[160], want[400];
    snprintf(node, sizeof(node), "%s/n0", f->root);
    const char *tenants[] = {"alpha", "alpha", "beta"};
    const char *listing[] = {"", "mine\n", ""};
    for (int i = 0; i < 3; i++) {
        char out[160];
        snprintf(out, sizeof(out), "%s/job%d.out", f->dir, i);
        struct proto_launch l = {.job = 10 + i,
                                 .run = 1,
                                 .node = "n0",
                                 .argv = argv,
                                 .argc = 3,
                                 .env = env,
                                 .nenv = 1,
                                 .grace_s = -1,
                                 .stdout_path = out,
                                 .tenant = (char *)tenants[i]};
        jobs_launch(t, &l, 0);
        int64_t end = nl_clock_monotonic_us() + 20 * 1000000LL;
        bool done = false;
        while (!done && nl_clock_monotonic_us() < end) {
            struct pollfd p = {.fd = jobs_fd(t), .events = POLLIN};
            poll(&p, 1, 10);
            jobs_dispatch(t);
            jobs_reap(t);
            const struct proto_exit *e;
            size_t n = jobs_exits(t, 1000 + (uint64_t)i, &e);
            for (size_t k = 0; k < n; k++)
                done |= e[k].job == 10 + i;
        }
        assert_true(done);
        jobs_ack(t, 1000 + (uint64_t)i, NULL, 0);
        FILE *fp = fopen(out, "r");
        assert_non_null(fp);
        char buf[1024] = "";
        size_t got = fread(buf, 1, sizeof(buf) - 1, fp);
        buf[got] = '\0';
        fclose(fp);
        snprintf(want, sizeof(want), "%s %s\n%s", node, node, listing[i]);
        assert_string_equal(buf, want);
    }
    /* A sensitive job of another tenant beside a running one: refused by the agent's fence (126).
     */
    char *sleep_argv[] = {"/bin/sh", "-c", "exec sleep 60", NULL};
    struct proto_launch run = {.job = 20,
                               .run = 1,
                               .node = "n0",
                               .argv = sleep_argv,
                               .argc = 3,
                               .grace_s = -1,
                               .tenant = "alpha"};
    jobs_launch(t, &run, 0);
    struct proto_launch sens = {.job = 21,
                                .run = 1,
                                .node = "n0",
                                .argv = argv,
                                .argc = 3,
                                .grace_s = -1,
                                .tenant = "beta",
                                .sensitive = true};
    jobs_launch(t, &sens, 0);
    const struct proto_exit *e;
    size_t n = jobs_exits(t, 2000, &e);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].job, 21);
    assert_int_equal(e[0].exit_code, 126);
    assert_non_null(strstr(e[0].reason, "a sensitive job shares no node with another tenant"));
    jobs_ack(t, 2000, NULL, 0);
    jobs_kill_all(t, 0, "test end");
    int64_t end = nl_clock_monotonic_us() + 20 * 1000000LL;
    while (jobs_live(t) > 0 && nl_clock_monotonic_us() < end) {
        struct pollfd p = {.fd = jobs_fd(t), .events = POLLIN};
        poll(&p, 1, 10);
        jobs_dispatch(t);
        jobs_reap(t);
    }
    assert_int_equal(jobs_live(t), 0);
    jobs_destroy(t);
    while (waitpid(-1, NULL, 0) > 0)
        ;
    scratch_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_wipe_removes_inside_and_nothing_outside, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_wipe_deep_tree_and_bad_tops, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rule_between_tenants, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rule_sensitive_and_unknown, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rule_fails_closed, setup, teardown),
            cmocka_unit_test_setup_teardown(test_job_gets_scratch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
