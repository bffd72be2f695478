/* SPDX-License-Identifier: MIT */
/*
 * test_jobs.c - the launcher and job table with real processes: /bin/sh
 * jobs, their environment, output files, exit codes, exec failures,
 * SIGTERM-then-SIGKILL after the grace period, time limits, timed no-ops,
 * process-group clean-up, per-job cgroups (where the kernel offers them)
 * and the exit acknowledgement rules; the keeper that kills a job when its
 * agent dies, run records (written before the job starts) and the sweep
 * of a dead agent's leftovers (by keeper, group and the run's key), the
 * output limit and relative output paths, and the delta running list.
 */
#define _GNU_SOURCE /* mkdtemp */
/* clang-format off */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
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

#include "agent/cgroup.h"
#include "agent/jobs.h"
#include "agent/procs.h"
#include "agent/runrec.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

/*
 * How long any wait in this file may take before the test fails: generous
 * for a loaded machine (sanitizers, two busy cores), since every wait ends
 * as soon as its condition holds. No test bounds how fast something happens.
 */
#define DEADLINE_S 60

/* The agent's environment: only what --export-env names (exports) reaches a job. */
static char *base_env[] = {"PATH=/agent/only/bin", "AGENT_BASE=inherited",
                           "NORDLYS_JOB_ID=agent-value", "AGENT_SECRET=not-for-jobs", NULL};
static char *exports[] = {"AGENT_BASE", "NORDLYS_JOB_ID", "NOT_SET_IN_AGENT"};

struct fx {
    char dir[64];
    char runs[96];
    struct agent_jobs *t;
    struct agent_cg *cg;
};

static int setup_budget(void **state, bool noop, bool cgroups, int64_t budget_us)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/nl-agent-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    if (cgroups) {
        char name[64];
        snprintf(name, sizeof(name), "unit-test-%ld", (long)getpid());
        f->cg = agent_cg_open("auto", name);
    }
    snprintf(f->runs, sizeof(f->runs), "%s/runs", f->dir);
    assert_int_equal(mkdir(f->runs, 0755), 0);
    struct jobs_conf c = {.noop = noop,
                          .output_root = f->dir,
                          .runs_dir = f->runs,
                          .cg = f->cg,
                          .agent_env = base_env,
                          .exports = exports,
                          .nexports = 3,
                          .launch_budget_us = budget_us};
    struct nl_err err = {0};
    f->t = jobs_new(&c, &err);
    assert_non_null(f->t);
    *state = f;
    return 0;
}

static int setup_common(void **state, bool noop, bool cgroups)
{
    return setup_budget(state, noop, cgroups, 0);
}

/* A launch budget of 1 us: each turn of the loop spawns exactly one launch. */
static int setup_tiny_budget(void **state)
{
    return setup_budget(state, false, false, 1);
}

static int setup(void **state)
{
    return setup_common(state, false, false);
}

static int setup_noop(void **state)
{
    return setup_common(state, true, false);
}

static int setup_cg(void **state)
{
    return setup_common(state, false, true);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    jobs_kill_all(f->t, 0, "teardown");
    int64_t end = nl_clock_monotonic_us() + DEADLINE_S * 1000000;
    while (jobs_live(f->t) > 0 && nl_clock_monotonic_us() < end) {
        struct pollfd p = {.fd = jobs_fd(f->t), .events = POLLIN};
        poll(&p, 1, 10);
        jobs_dispatch(f->t);
        jobs_reap(f->t);
    }
    jobs_destroy(f->t);
    /* Keepers exit just after reporting their run's end: collect them all. */
    while (waitpid(-1, NULL, 0) > 0)
        ;
    agent_cg_close(f->cg);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static size_t count(char **v)
{
    size_t n = 0;
    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

static struct proto_launch mk(int64_t job, char **argv, char **env)
{
    struct proto_launch l = {.job = job,
                             .run = 1,
                             .node = "n0",
                             .argv = argv,
                             .argc = count(argv),
                             .env = env,
                             .nenv = count(env),
                             .grace_s = -1};
    return l;
}

/*
 * Drive the table until an exit of job's run is listed (run 0: any run of
 * job) or max_s passes; copy the exit into *out.
 */
static bool wait_run_exit(struct agent_jobs *t, int64_t job, uint32_t run, double max_s,
                          struct proto_exit *out)
{
    int64_t end = nl_clock_monotonic_us() + (int64_t)(max_s * 1e6);
    while (nl_clock_monotonic_us() < end) {
        struct pollfd p = {.fd = jobs_fd(t), .events = POLLIN};
        poll(&p, 1, 10);
        jobs_dispatch(t);
        jobs_reap(t);
        const struct proto_exit *e;
        size_t n = jobs_exits(t, 1000, &e);
        for (size_t i = 0; i < n; i++) {
            if (e[i].job == job && (run == 0 || e[i].run == run)) {
                *out = e[i];
                return true;
            }
        }
    }
    return false;
}

static bool wait_exit(struct agent_jobs *t, int64_t job, double max_s, struct proto_exit *out)
{
    return wait_run_exit(t, job, 0, max_s, out);
}

/*
 * Drive the table until the run record at path names the job's first
 * process (the keeper writes it again once the job exists) or max_s
 * passes; read it into *r.
 */
static bool wait_record(struct agent_jobs *t, const char *path, double max_s, struct runrec *r)
{
    int64_t end = nl_clock_monotonic_us() + (int64_t)(max_s * 1e6);
    while (nl_clock_monotonic_us() < end) {
        struct nl_err err = {0};
        if (access(path, F_OK) == 0 && runrec_read(path, r, &err) == 0 && r->pid > 0)
            return true;
        struct pollfd p = {.fd = jobs_fd(t), .events = POLLIN};
        poll(&p, 1, 10);
        jobs_dispatch(t);
        jobs_reap(t);
    }
    return false;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return xstrdup("");
    char *buf = xcalloc(1, 65536);
    size_t n = fread(buf, 1, 65535, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* Wait until path contains text (a job signalling it is ready). */
static bool wait_text(struct agent_jobs *t, const char *path, const char *text, double max_s)
{
    int64_t end = nl_clock_monotonic_us() + (int64_t)(max_s * 1e6);
    while (nl_clock_monotonic_us() < end) {
        char *s = slurp(path);
        bool ok = strstr(s, text) != NULL;
        free(s);
        if (ok)
            return true;
        struct pollfd p = {.fd = jobs_fd(t), .events = POLLIN};
        poll(&p, 1, 10);
        jobs_dispatch(t);
        jobs_reap(t);
    }
    return false;
}

static void test_launch_env_stdout_exit_code(void **state)
{
    struct fx *f = *state;
    char out[128], err[128];
    snprintf(out, sizeof(out), "%s/deep/er/7.out", f->dir);
    snprintf(err, sizeof(err), "%s/other/7.err", f->dir);
    char *argv[] = {"/bin/sh", "-c",
                    "echo \"$NORDLYS_JOB_ID $CUDA_VISIBLE_DEVICES $AGENT_BASE $WORLD_SIZE\"; "
                    "echo \"${AGENT_SECRET-unset} $PATH ${NOT_SET_IN_AGENT-unset}\"; "
                    "echo oops >&2; exit 3",
                    NULL};
    char *env[] = {"NORDLYS_JOB_ID=7", "CUDA_VISIBLE_DEVICES=0,1", "WORLD_SIZE=2", NULL};
    struct proto_launch l = mk(7, argv, env);
    l.stdout_path = out;
    l.stderr_path = err;
    jobs_launch(f->t, &l, 0);
    assert_int_equal(jobs_live(f->t), 1);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 7, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 3);
    assert_int_equal(e.signal, 0);
    assert_false(e.timeout);
    assert_null(e.reason);
    assert_string_equal(e.node, "n0");
    assert_true(e.end_time >= e.start_time);
    assert_true(e.max_rss_kb > 0);
    char *s = slurp(out);
    /*
     * The launch's NORDLYS_JOB_ID replaces the agent's exported one; of the
     * agent's other variables only the exported one reaches the job, and
     * PATH is the default, not the agent's.
     */
    assert_string_equal(s, "7 0,1 inherited 2\nunset /usr/local/bin:/usr/bin:/bin unset\n");
    free(s);
    s = slurp(err);
    assert_string_equal(s, "oops\n");
    free(s);
    assert_int_equal(jobs_live(f->t), 0);
}

/*
 * Issue 12: a launch with three tasks runs three processes, each with its
 * additions to the environment; the shared stdout is labelled line by
 * line from task_base; %t gives each task its own stderr file; only task 0
 * reads the input; the run ends 0 only when every task did.
 */
static void test_launch_tasks_labels_and_input(void **state)
{
    struct fx *f = *state;
    char out[128], err[128], in[128];
    snprintf(out, sizeof(out), "%s/t/80.out", f->dir);
    snprintf(err, sizeof(err), "%s/t/80-%%t.err", f->dir);
    snprintf(in, sizeof(in), "%s/in.txt", f->dir);
    FILE *fp = fopen(in, "w");
    assert_non_null(fp);
    fputs("a\nb\n", fp);
    fclose(fp);
    char *argv[] = {"/bin/sh", "-c",
                    "echo \"rank=$RANK local=$LOCAL_RANK world=$WORLD_SIZE read=$(wc -l)\"; "
                    "echo \"e$RANK\" >&2",
                    NULL};
    char *env[] = {"WORLD_SIZE=6", "RANK=3", "LOCAL_RANK=0", NULL};
    char *t0[] = {"RANK=3", "LOCAL_RANK=0", NULL}, *t1[] = {"RANK=4", "LOCAL_RANK=1", NULL},
         *t2[] = {"RANK=5", "LOCAL_RANK=2", NULL};
    char **tasks[] = {t0, t1, t2};
    size_t ntask_env[] = {2, 2, 2};
    struct proto_launch l = mk(80, argv, env);
    l.stdout_path = out;
    l.stderr_path = err;
    l.ntasks = 3;
    l.task_env = tasks;
    l.ntask_env = ntask_env;
    l.task_base = 3;
    l.label = true;
    l.input_path = in;
    jobs_launch(f->t, &l, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 80, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 0);
    char *s = slurp(out);
    assert_non_null(strstr(s, "3: rank=3 local=0 world=6 read=2\n"));
    assert_non_null(strstr(s, "4: rank=4 local=1 world=6 read=0\n"));
    assert_non_null(strstr(s, "5: rank=5 local=2 world=6 read=0\n"));
    assert_int_equal(strlen(s), 3 * strlen("3: rank=3 local=0 world=6 read=2\n"));
    free(s);
    for (int r = 3; r <= 5; r++) {
        char path[160], want[8];
        snprintf(path, sizeof(path), "%s/t/80-%d.err", f->dir, r);
        snprintf(want, sizeof(want), "e%d\n", r);
        s = slurp(path);
        assert_string_equal(s, want);
        free(s);
    }
    /*
     * A task that fails ends the run with its status; the others are killed, not
     * waited for: they sleep ten times longer than wait_exit waits.
     */
    char *argv2[] = {"/bin/sh", "-c", "[ \"$RANK\" = 4 ] && exit 9; exec sleep 600", NULL};
    struct proto_launch l2 = mk(81, argv2, env);
    l2.ntasks = 3;
    l2.task_env = tasks;
    l2.ntask_env = ntask_env;
    jobs_launch(f->t, &l2, 0);
    assert_true(wait_exit(f->t, 81, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 9);
    /* An input that cannot be opened fails the run, naming it. */
    struct proto_launch l3 = mk(82, argv, env);
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/no-such-input", f->dir);
    l3.input_path = missing;
    jobs_launch(f->t, &l3, 0);
    assert_true(wait_exit(f->t, 82, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 127);
    assert_non_null(e.reason);
    assert_non_null(strstr(e.reason, "input "));
    assert_non_null(strstr(e.reason, "No such file or directory"));
}

static void test_launch_cwd_and_default_output(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sh", "-c", "pwd; exit 0", NULL}; /* found through the job's PATH */
    struct proto_launch l = mk(8, argv, NULL);
    l.cwd = f->dir;
    jobs_launch(f->t, &l, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 8, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 0);
    char path[256], want[128];
    snprintf(path, sizeof(path), "%s/jobs/8/n0.out", f->dir);
    snprintf(want, sizeof(want), "%s\n", f->dir);
    char *s = slurp(path);
    assert_string_equal(s, want);
    free(s);
}

/*
 * Issue 10: as root, a job runs as the account its launch names, with that
 * account's uid, gid and environment; its output is its user's alone (a
 * 0600 file in a 0700 directory of its own) and another user's job cannot
 * read it; root needs allow_root; an unknown account fails with 126.
 */
static void test_jobs_run_as_their_user(void **state)
{
    struct fx *f = *state;
    struct passwd *pw = getpwnam("nobody");
    if (geteuid() != 0 || pw == NULL) {
        print_message("skipped: needs root and a 'nobody' account\n");
        return;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    char home[256];
    snprintf(home, sizeof(home), "%s", pw->pw_dir);
    assert_int_equal(chmod(f->dir, 0755), 0); /* the output root: the agent's, 0755 */

    char *argv[] = {"/bin/sh", "-c", "id -u; id -g; echo \"$HOME $USER $LOGNAME\"", NULL};
    struct proto_launch l = mk(11, argv, NULL);
    l.user = "nobody";
    jobs_launch(f->t, &l, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 11, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 0);
    assert_null(e.reason);
    char path[512], want[512], dir[256];
    snprintf(dir, sizeof(dir), "%s/jobs/11", f->dir);
    snprintf(path, sizeof(path), "%s/n0.out", dir);
    snprintf(want, sizeof(want), "%ld\n%ld\n%s nobody nobody\n", (long)uid, (long)gid, home);
    char *s = slurp(path);
    assert_string_equal(s, want);
    free(s);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, uid);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_uid, uid);
    assert_int_equal(st.st_mode & 07777, 0700);
    snprintf(path, sizeof(path), "%s/jobs", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(st.st_mode & 07777, 0755);

    /* Root: refused without allow_root (126, the account named), run with it. */
    char *whoami[] = {"/bin/sh", "-c", "id -u", NULL};
    struct proto_launch r = mk(12, whoami, NULL);
    r.user = "root";
    jobs_launch(f->t, &r, 0);
    assert_true(wait_exit(f->t, 12, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 126);
    assert_string_equal(e.reason, "launch: user 'root': runs as root (uid 0), which needs the "
                                  "controller's --allow-root-jobs");
    r = mk(13, whoami, NULL);
    r.user = "root";
    r.allow_root = true;
    jobs_launch(f->t, &r, 0);
    assert_true(wait_exit(f->t, 13, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 0);
    snprintf(path, sizeof(path), "%s/jobs/13/n0.out", f->dir);
    s = slurp(path);
    assert_string_equal(s, "0\n");
    free(s);

    /* An unknown account: 126 and its name. */
    r = mk(14, whoami, NULL);
    r.user = "nl-no-such-user-x";
    jobs_launch(f->t, &r, 0);
    assert_true(wait_exit(f->t, 14, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 126);
    assert_string_equal(e.reason, "launch: user 'nl-no-such-user-x': no such account on this node");

    /* nobody cannot read root's job output, nor name it as its own output file. */
    char cat[512];
    snprintf(cat, sizeof(cat), "cat %s/jobs/13/n0.out", f->dir);
    char *reader[] = {"/bin/sh", "-c", cat, NULL};
    r = mk(15, reader, NULL);
    r.user = "nobody";
    jobs_launch(f->t, &r, 0);
    assert_true(wait_exit(f->t, 15, DEADLINE_S, &e));
    assert_int_not_equal(e.exit_code, 0);
    char other[256];
    snprintf(other, sizeof(other), "%s/jobs/13/n0.out", f->dir);
    r = mk(16, whoami, NULL);
    r.user = "nobody";
    r.stdout_path = other; /* absolute: opened with nobody's rights, so refused */
    jobs_launch(f->t, &r, 0);
    assert_true(wait_exit(f->t, 16, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 127);
    assert_non_null(strstr(e.reason, "Permission denied"));
    s = slurp(other);
    assert_string_equal(s, "0\n"); /* untouched */
    free(s);
}

/*
 * The launch's end in a table driven by the calling process (no cmocka in
 * a forked child): the exit of job, 0 when it did not come in max_s.
 */
static const struct proto_exit *child_wait(struct agent_jobs *t, int64_t job, double max_s)
{
    static struct proto_exit e;
    return wait_exit(t, job, max_s, &e) ? &e : NULL;
}

/* An agent that is not root runs jobs as itself; another account only with --run-as-self. */
static void test_non_root_agent_runs_jobs_as_itself(void **state)
{
    struct fx *f = *state;
    struct passwd *pw = getpwnam("nobody");
    if (geteuid() != 0 || pw == NULL) {
        print_message("skipped: needs root (to become nobody) and a 'nobody' account\n");
        return;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    assert_int_equal(chmod(f->dir, 0755), 0);
    char root[128];
    snprintf(root, sizeof(root), "%s/nobody-root", f->dir);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(chown(root, uid, gid), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
            _exit(10);
        for (int pass = 0; pass < 2; pass++) {
            struct jobs_conf c = {.output_root = root, .run_as_self = pass == 1};
            struct nl_err err = {0};
            struct agent_jobs *t = jobs_new(&c, &err);
            if (t == NULL)
                _exit(11);
            char *argv[] = {"/bin/sh", "-c", "id -u", NULL};
            struct proto_launch l = mk(20 + pass, argv, NULL);
            l.user = "root";
            l.allow_root = true;
            jobs_launch(t, &l, 0);
            const struct proto_exit *e = child_wait(t, 20 + pass, 10);
            if (e == NULL)
                _exit(12);
            if (pass == 0 && (e->exit_code != 126 || e->reason == NULL ||
                              strcmp(e->reason, "launch: user 'root': this agent is not root and "
                                                "runs jobs only as its own user 'nobody' (start "
                                                "it as root, or with --run-as-self)") != 0))
                _exit(13);
            if (pass == 1 && e->exit_code != 0)
                _exit(14);
            l = mk(30 + pass, argv, NULL);
            l.user = "nobody"; /* its own user: always runs */
            jobs_launch(t, &l, 0);
            e = child_wait(t, 30 + pass, 10);
            if (e == NULL || e->exit_code != 0)
                _exit(15);
            jobs_destroy(t);
        }
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char path[256], want[32];
    snprintf(want, sizeof(want), "%ld\n", (long)uid);
    for (int job = 21; job <= 31; job += 10) {
        snprintf(path, sizeof(path), "%s/jobs/%d/n0.out", root, job);
        char *s = slurp(path);
        assert_string_equal(s, want); /* as nobody, whatever the launch named */
        free(s);
    }
}

/* Valid UTF-8 (the controller refuses a sync that is not). */
static bool utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != 0) {
        size_t n = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 0;
        if (n == 0)
            return false;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

/* A reason cut to its buffer never ends inside a UTF-8 sequence. */
static void test_long_reason_stays_utf8(void **state)
{
    struct fx *f = *state;
    char given[512] = "x";
    for (int i = 0; i < 150; i++)
        strcat(given, "\xc3\xa9"); /* e-acute: two bytes each, so the cut falls inside one */
    strcat(given, "/../y");
    char *argv[] = {"/bin/true", NULL};
    struct proto_launch l = mk(17, argv, NULL);
    l.stdout_path = given;
    jobs_launch(f->t, &l, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 17, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 127);
    assert_non_null(e.reason);
    assert_true(strlen(e.reason) >= 200);
    assert_true(utf8_ok(e.reason));
}

static void test_launch_exec_failure_is_127_with_reason(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/nonexistent/prog", "x", NULL};
    struct proto_launch l = mk(9, argv, NULL);
    jobs_launch(f->t, &l, 0);
    char *argv2[] = {"no-such-command-nordlys", NULL};
    struct proto_launch l2 = mk(10, argv2, NULL);
    jobs_launch(f->t, &l2, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 9, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 127);
    assert_non_null(e.reason);
    assert_string_equal(e.reason, "exec /nonexistent/prog: No such file or directory");
    assert_true(wait_exit(f->t, 10, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 127);
    assert_string_equal(e.reason, "exec no-such-command-nordlys: No such file or directory");
}

static void test_launch_chdir_and_output_failures(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/true", NULL};
    struct proto_launch l = mk(11, argv, NULL);
    l.cwd = "/nonexistent-dir";
    jobs_launch(f->t, &l, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 11, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 127);
    assert_string_equal(e.reason, "chdir /nonexistent-dir: No such file or directory");

    /* An output file that cannot be created fails before fork, naming the path. */
    struct proto_launch l2 = mk(12, argv, NULL);
    l2.stdout_path = "/proc/self/no/such.out";
    jobs_launch(f->t, &l2, 0);
    assert_int_equal(jobs_live(f->t), 0);
    assert_true(wait_exit(f->t, 12, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 127);
    assert_non_null(strstr(e.reason, "stdout /proc/self/no/such.out"));
}

static void test_kill_sigterm_then_sigkill_after_grace(void **state)
{
    struct fx *f = *state;
    char out[128];
    snprintf(out, sizeof(out), "%s/trap.out", f->dir);
    char *argv[] = {"/bin/sh", "-c",
                    "trap 'echo got-term' TERM; echo ready; while :; do sleep 0.05; done", NULL};
    struct proto_launch l = mk(13, argv, NULL);
    l.stdout_path = out;
    jobs_launch(f->t, &l, 0);
    assert_true(wait_text(f->t, out, "ready", DEADLINE_S));
    struct proto_kill k = {.job = 13, .run = 1, .grace_s = 1, .reason = "preempt"};
    int64_t t0 = nl_clock_monotonic_us();
    jobs_kill(f->t, &k, 1);
    assert_true(wait_text(f->t, out, "got-term", DEADLINE_S));
    struct proto_exit e;
    assert_true(wait_exit(f->t, 13, DEADLINE_S, &e));
    double waited = (double)(nl_clock_monotonic_us() - t0) / 1e6;
    assert_true(waited >= 0.95); /* the grace was given; no upper bound: a loaded machine is slow */
    assert_int_equal(e.signal, SIGKILL);
    assert_int_equal(e.exit_code, 128 + SIGKILL);
    assert_false(e.timeout);
    assert_null(e.reason); /* the kill reason is the controller's, not echoed */
}

static void test_kill_job_that_obeys_sigterm(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sleep", "30", NULL};
    struct proto_launch l = mk(14, argv, NULL);
    jobs_launch(f->t, &l, 0);
    struct proto_kill k = {.job = 14, .run = 1, .grace_s = 30, .reason = "cancel"};
    jobs_kill(f->t, &k, 1);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 14, DEADLINE_S, &e));
    assert_int_equal(e.signal, SIGTERM);
    assert_null(e.reason);
}

static void test_time_limit_sigterm_then_sigkill(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sleep", "30", NULL};
    struct proto_launch l = mk(15, argv, NULL);
    l.time_limit_s = 1;
    jobs_launch(f->t, &l, 0);
    char out[128];
    snprintf(out, sizeof(out), "%s/limit.out", f->dir);
    char *argv2[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done",
                     NULL};
    struct proto_launch l2 = mk(16, argv2, NULL);
    l2.time_limit_s = 1;
    l2.grace_s = 1;
    l2.stdout_path = out;
    int64_t t0 = nl_clock_monotonic_us();
    jobs_launch(f->t, &l2, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 15, DEADLINE_S, &e));
    assert_true(e.timeout);
    assert_int_equal(e.signal, SIGTERM);
    assert_true(wait_exit(f->t, 16, DEADLINE_S, &e));
    double waited = (double)(nl_clock_monotonic_us() - t0) / 1e6;
    assert_true(e.timeout);
    assert_int_equal(e.signal, SIGKILL);
    assert_true(waited >= 1.9);
    assert_null(e.reason);
}

static bool gone(pid_t pid)
{
    char path[64], buf[256] = "";
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return true;
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    const char *rp = strrchr(buf, ')');
    return rp != NULL && rp[1] == ' ' && rp[2] == 'Z'; /* a zombie is dead, just unreaped */
}

static void test_exit_kills_what_the_job_left_in_its_group(void **state)
{
    struct fx *f = *state;
    char pidfile[128], cmd[256];
    snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", f->dir);
    snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! > %s; exit 0", pidfile);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    struct proto_launch l = mk(17, argv, NULL);
    jobs_launch(f->t, &l, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 17, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 0);
    char *s = slurp(pidfile);
    pid_t bg = (pid_t)atoi(s);
    free(s);
    assert_true(bg > 0);
    int64_t end = nl_clock_monotonic_us() + DEADLINE_S * 1000000;
    while (!gone(bg) && nl_clock_monotonic_us() < end)
        usleep(10000);
    assert_true(gone(bg));
}

static void test_noop_sleep_runs_without_a_process(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sleep", "0.2", NULL};
    struct proto_launch l = mk(20, argv, NULL);
    int64_t t0 = nl_clock_monotonic_us();
    jobs_launch(f->t, &l, 0);
    /* No child exists: waitpid has nothing to wait for. */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    const struct proto_running *r;
    assert_int_equal(jobs_running(f->t, true, &r), 1);
    assert_int_equal(r[0].job, 20);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 20, DEADLINE_S, &e));
    double waited = (double)(nl_clock_monotonic_us() - t0) / 1e6;
    assert_true(waited >= 0.19); /* slept its time, and no upper bound (a loaded machine is slow) */
    assert_int_equal(e.exit_code, 0);
    assert_int_equal(e.signal, 0);

    char *limit_argv[] = {"sleep", "100", NULL};
    struct proto_launch l2 = mk(21, limit_argv, NULL);
    l2.time_limit_s = 1;
    jobs_launch(f->t, &l2, 0);
    struct proto_launch l3 = mk(22, limit_argv, NULL);
    jobs_launch(f->t, &l3, 0);
    struct proto_kill k = {.job = 22, .run = 1, .grace_s = 60};
    jobs_kill(f->t, &k, 1);
    assert_true(wait_exit(f->t, 22, DEADLINE_S, &e));
    assert_int_equal(e.signal, SIGTERM);
    assert_true(wait_exit(f->t, 21, DEADLINE_S, &e));
    assert_true(e.timeout);

    /* Anything but ["sleep", S] still runs as a real process in no-op mode. */
    char *real_argv[] = {"/bin/sh", "-c", "exit 5", NULL};
    struct proto_launch l4 = mk(23, real_argv, NULL);
    jobs_launch(f->t, &l4, 0);
    assert_true(wait_exit(f->t, 23, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 5);
}

static void test_exits_reported_until_acknowledged(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sleep", "0", NULL};
    struct proto_launch l = mk(30, argv, NULL);
    jobs_launch(f->t, &l, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 30, DEADLINE_S, &e));
    const struct proto_exit *ex;
    assert_int_equal(jobs_exits(f->t, 1, &ex), 1); /* sync 1 carries it; no answer came */
    assert_int_equal(jobs_exits(f->t, 2, &ex), 1); /* so sync 2 carries it again */
    jobs_ack(f->t, 1, NULL, 0);                    /* a late answer to 1 is not for sync 2 */
    assert_int_equal(jobs_unacked(f->t), 1);
    /* A repeated launch while the exit is unacknowledged is the same job: ignored. */
    jobs_launch(f->t, &l, 0);
    assert_int_equal(jobs_live(f->t), 0);
    /* An answer that holds the exit (a rank of a gang that runs on) does not acknowledge it. */
    struct proto_hold h = {.job = 30, .run = 1, .node = "n0"};
    jobs_ack(f->t, 2, &h, 1);
    assert_int_equal(jobs_unacked(f->t), 1);
    struct proto_hold other = {.job = 30, .run = 2, .node = "n0"};
    assert_int_equal(jobs_exits(f->t, 3, &ex), 1); /* so sync 3 carries it again */
    jobs_ack(f->t, 3, &other, 1);                  /* holding another run does not keep it */
    assert_int_equal(jobs_unacked(f->t), 0);
    assert_int_equal(jobs_exits(f->t, 4, &ex), 0);
}

static void test_running_lists_each_node_and_unknown_node_fails(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sleep", "60", NULL};
    struct proto_launch l = mk(40, argv, NULL);
    jobs_launch(f->t, &l, 0);
    l.node = "n1";
    jobs_launch(f->t, &l, 1);
    jobs_launch(f->t, &l, 1); /* duplicate */
    const struct proto_running *r;
    assert_int_equal(jobs_running(f->t, true, &r), 2);
    l.node = "elsewhere";
    jobs_launch(f->t, &l, JOBS_NODE_IDX_MAX);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 40, DEADLINE_S, &e));
    assert_string_equal(e.node, "elsewhere");
    assert_int_equal(e.exit_code, 127);
    assert_string_equal(e.reason, "node elsewhere is not served by this agent");
    struct proto_kill k = {.job = 40, .run = 0, .grace_s = 0}; /* run 0: every run */
    jobs_kill(f->t, &k, 1);
    assert_int_equal(jobs_live(f->t), 0);
    assert_int_equal(jobs_unacked(f->t), 3);
}

/* Issue 3: a requeued job started again on the same node must not run beside its old run. */
static void test_runs_of_one_job_are_kept_apart(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sleep", "60", NULL};
    struct proto_launch l = mk(60, argv, NULL);
    jobs_launch(f->t, &l, 0);
    jobs_launch(f->t, &l, 0); /* the same run again: ignored */
    assert_int_equal(jobs_live(f->t), 1);
    l.run = 2;
    jobs_launch(f->t, &l, 0); /* a newer run: the old one is killed at once */
    struct proto_exit e;
    assert_true(wait_run_exit(f->t, 60, 1, DEADLINE_S, &e));
    /* Grace 0 sends SIGTERM and SIGKILL back to back; sleep dies of whichever lands first. */
    assert_true(e.signal == SIGTERM || e.signal == SIGKILL);
    assert_null(e.reason); /* the keeper reported the end (it did not just vanish) */
    assert_int_equal(e.exit_code, 128 + e.signal);
    assert_int_equal(jobs_live(f->t), 1);
    const struct proto_running *r;
    assert_int_equal(jobs_running(f->t, true, &r), 1);
    assert_int_equal(r[0].job, 60);
    assert_int_equal(r[0].run, 2);
    l.run = 1;
    jobs_launch(f->t, &l, 0); /* an older run is never started again */
    assert_int_equal(jobs_live(f->t), 1);
    struct proto_kill stale = {.job = 60, .run = 1, .grace_s = 0, .reason = "unknown"};
    jobs_kill(f->t, &stale, 1); /* a kill of run 1 does not touch run 2 */
    assert_int_equal(jobs_live(f->t), 1);
    struct proto_kill cur = {.job = 60, .run = 2, .grace_s = 0, .reason = "cancel"};
    jobs_kill(f->t, &cur, 1);
    assert_true(wait_run_exit(f->t, 60, 2, DEADLINE_S, &e));
    assert_true(e.signal == SIGTERM || e.signal == SIGKILL);
    assert_int_equal(jobs_live(f->t), 0);
    const struct proto_exit *ex;
    assert_int_equal(jobs_exits(f->t, 7, &ex), 2);
    jobs_ack(f->t, 7, NULL, 0);
    assert_int_equal(jobs_unacked(f->t), 0);
}

/* Job ids are the controller's, up to 63 bits: every (id, node) pair is its own entry. */
static void test_job_ids_take_63_bits(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sleep", "600", NULL};
    const int64_t ids[] = {1, INT64_C(1) << 41, (INT64_C(1) << 41) + 1, INT64_C(1) << 62,
                           INT64_MAX};
    const uint32_t nodes[] = {0, 1, NL_PROTO_NODES_MAX - 1};
    for (int pass = 0; pass < 2; pass++) /* the second pass repeats every launch: ignored */
        for (size_t i = 0; i < 5; i++)
            for (size_t k = 0; k < 3; k++) {
                struct proto_launch l = mk(ids[i], argv, NULL);
                l.node = k == 0 ? "n0" : k == 1 ? "n1" : "nlast";
                jobs_launch(f->t, &l, nodes[k]);
            }
    assert_int_equal(jobs_live(f->t), 15);
    assert_int_equal(jobs_unacked(f->t), 0);
    /* A newer run of the largest id on one node replaces that entry only. */
    struct proto_launch l = mk(INT64_MAX, argv, NULL);
    l.run = 2;
    l.node = "n1";
    jobs_launch(f->t, &l, 1);
    assert_int_equal(jobs_live(f->t), 15);
    const struct proto_exit *ex;
    assert_int_equal(jobs_exits(f->t, 3, &ex), 1);
    assert_int_equal(ex[0].job, INT64_MAX);
    assert_int_equal(ex[0].run, 1);
    assert_string_equal(ex[0].node, "n1");
    jobs_ack(f->t, 3, NULL, 0);
    jobs_launch(f->t, &l, 1); /* run 2 is still known after run 1's entry is gone */
    assert_int_equal(jobs_live(f->t), 15);
    const struct proto_running *r;
    assert_int_equal(jobs_running(f->t, true, &r), 15);
}

static void test_cgroup_per_job(void **state)
{
    struct fx *f = *state;
    if (f->cg == NULL) {
        print_message("cgroup v2 not writable here: per-job cgroups not exercised\n");
        skip();
    }
    char out[128];
    snprintf(out, sizeof(out), "%s/cg.out", f->dir);
    char *argv[] = {"/bin/cat", "/proc/self/cgroup", NULL};
    struct proto_launch l = mk(50, argv, NULL);
    l.stdout_path = out;
    jobs_launch(f->t, &l, 3);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 50, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 0);
    char *s = slurp(out);
    char want[128];
    snprintf(want, sizeof(want), "/nordlys/unit-test-%ld/j50.r1.n3", (long)getpid());
    assert_non_null(strstr(s, want));
    free(s);
    char leaf[600];
    snprintf(leaf, sizeof(leaf), "%s/j50.r1.n3", agent_cg_path(f->cg));
    assert_int_equal(access(leaf, F_OK), -1); /* removed at exit */

    /* Limits from the launch land in the leaf, where the controllers are enabled. */
    char cmd[1400], lim_out[128];
    snprintf(lim_out, sizeof(lim_out), "%s/lim.out", f->dir);
    snprintf(leaf, sizeof(leaf), "%s/j51.r1.n3", agent_cg_path(f->cg));
    snprintf(cmd, sizeof(cmd), "cat %s/pids.max; cat %s/memory.max; echo ready >&2; sleep 60", leaf,
             leaf);
    char *argv2[] = {"/bin/sh", "-c", cmd, NULL};
    struct proto_launch l2 = mk(51, argv2, NULL);
    l2.stdout_path = lim_out;
    l2.stderr_path = lim_out;
    l2.pids_max = 64;
    l2.memory_max_bytes = 64 * 1024 * 1024;
    jobs_launch(f->t, &l2, 3);
    assert_true(wait_text(f->t, lim_out, "ready", DEADLINE_S));
    struct proto_kill k = {.job = 51, .run = 1, .grace_s = 0};
    jobs_kill(f->t, &k, 1);
    assert_true(wait_exit(f->t, 51, DEADLINE_S, &e));
    s = slurp(lim_out);
    if (strstr(s, "No such file") != NULL)
        print_message("pids or memory controller not enabled here: %s", s);
    else
        assert_string_equal(s, "64\n67108864\nready\n");
    free(s);
    assert_int_equal(access(leaf, F_OK), -1); /* removed after a kill too */
}

/* Wait until every pid is gone (dead or a zombie), at most max_s. */
static bool all_gone(const pid_t *pids, size_t n, double max_s)
{
    int64_t end = nl_clock_monotonic_us() + (int64_t)(max_s * 1e6);
    for (;;) {
        size_t left = 0;
        for (size_t i = 0; i < n; i++)
            left += !gone(pids[i]);
        if (left == 0)
            return true;
        if (nl_clock_monotonic_us() >= end)
            return false;
        usleep(10000);
    }
}

static size_t count_lines(const char *path)
{
    char *s = slurp(path);
    size_t n = 0;
    for (const char *p = s; *p != '\0'; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/*
 * Issue 9: an agent killed with SIGKILL takes its jobs with it. The job
 * leaves a child in its process group and one in a session of its own;
 * the keeper must kill all three when the agent (a forked copy of this
 * test, holding a job table) dies.
 */
static void test_keeper_kills_the_job_when_the_agent_dies(void **state)
{
    struct fx *f = *state;
    char pids[128], cmd[512];
    snprintf(pids, sizeof(pids), "%s/pids", f->dir);
    snprintf(cmd, sizeof(cmd),
             "sleep 60 & echo $! >> %s; setsid sleep 60 & echo $! >> %s; echo $$ >> %s; wait", pids,
             pids, pids);
    pid_t agent = fork();
    assert_true(agent >= 0);
    if (agent == 0) {
        struct jobs_conf c = {.output_root = f->dir, .agent_env = base_env};
        struct nl_err err = {0};
        struct agent_jobs *t = jobs_new(&c, &err);
        char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        struct proto_launch l = mk(70, argv, NULL);
        jobs_launch(t, &l, 0);
        for (;;)
            pause(); /* until the test kills this "agent" */
    }
    int64_t end = nl_clock_monotonic_us() + DEADLINE_S * 1000000;
    while (count_lines(pids) < 3 && nl_clock_monotonic_us() < end)
        usleep(10000);
    assert_int_equal(count_lines(pids), 3);
    char *s = slurp(pids);
    pid_t p[3];
    assert_int_equal(sscanf(s, "%d %d %d", &p[0], &p[1], &p[2]), 3);
    free(s);
    assert_false(gone(p[0]) || gone(p[1]) || gone(p[2]));
    kill(agent, SIGKILL);
    assert_int_equal(waitpid(agent, NULL, 0), agent);
    assert_true(all_gone(p, 3, DEADLINE_S));
}

static void test_run_record_lives_until_the_end_is_acknowledged(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sleep", "60", NULL};
    struct proto_launch l = mk(71, argv, NULL);
    jobs_launch(f->t, &l, 2);
    char path[256];
    snprintf(path, sizeof(path), "%s/71.1.2", f->runs);
    struct runrec r;
    assert_true(wait_record(f->t, path, DEADLINE_S, &r));
    assert_int_equal(r.job, 71);
    assert_int_equal(r.run, 1);
    assert_string_equal(r.node, "n0");
    assert_true(procs_same(r.pid, r.start_ticks));
    assert_true(procs_same(r.keeper, r.keeper_ticks));
    char boot[64];
    procs_boot_id(boot, sizeof(boot));
    assert_string_equal(r.boot_id, boot);
    struct proto_kill k = {.job = 71, .run = 1, .grace_s = 0};
    jobs_kill(f->t, &k, 1);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 71, DEADLINE_S, &e));
    assert_int_equal(access(path, F_OK), 0); /* ended, but not yet reported */
    const struct proto_exit *ex;
    assert_int_equal(jobs_exits(f->t, 9, &ex), 1);
    jobs_ack(f->t, 9, NULL, 0);
    assert_int_equal(access(path, F_OK), -1);
}

/*
 * The second line of defence: a keeper killed outright takes the job's
 * first process with it (PDEATHSIG), and the agent reports the run ended.
 */
static void test_killed_keeper_takes_its_job_along(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sleep", "60", NULL};
    struct proto_launch l = mk(75, argv, NULL);
    jobs_launch(f->t, &l, 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/75.1.0", f->runs);
    struct runrec r;
    assert_true(wait_record(f->t, path, DEADLINE_S, &r));
    assert_true(procs_same(r.pid, r.start_ticks));
    assert_int_equal(kill(r.keeper, SIGKILL), 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 75, DEADLINE_S, &e));
    assert_int_equal(e.signal, SIGKILL);
    assert_string_equal(e.reason, "the run's keeper process died");
    pid_t job[] = {r.pid};
    assert_true(all_gone(job, 1, DEADLINE_S));
}

/*
 * A launch returns once the keeper is forked: the run is live and listed
 * as running at once, but its job's start (the keeper's STARTED) is only
 * learnt in jobs_dispatch, in the loop.
 */
static void test_launch_returns_before_the_job_starts(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sleep", "60", NULL};
    struct proto_launch l = mk(81, argv, NULL);
    jobs_launch(f->t, &l, 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/81.1.0", f->runs);
    assert_int_equal(jobs_live(f->t), 1);
    const struct proto_running *run;
    assert_int_equal(jobs_running(f->t, true, &run), 1);
    assert_int_equal(run[0].job, 81);
    struct runrec r;
    assert_true(wait_record(f->t, path, DEADLINE_S, &r));
    assert_true(procs_same(r.pid, r.start_ticks));
    assert_true(procs_same(r.keeper, r.keeper_ticks));
    struct proto_kill k = {.job = 81, .run = 1, .grace_s = 0};
    jobs_kill(f->t, &k, 1);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 81, DEADLINE_S, &e));
    pid_t job[] = {r.pid};
    assert_true(all_gone(job, 1, DEADLINE_S));
}

/*
 * A kill that arrives before the keeper's STARTED waits in the keeper's
 * socket: the keeper kills the job as soon as it exists, long before the
 * job's 60 s are up.
 */
static void test_kill_while_starting_kills_the_job(void **state)
{
    struct fx *f = *state;
    char pidfile[128], cmd[256];
    snprintf(pidfile, sizeof(pidfile), "%s/starting.pid", f->dir);
    snprintf(cmd, sizeof(cmd), "echo $$ > %s; exec sleep 60", pidfile);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    struct proto_launch l = mk(82, argv, NULL);
    jobs_launch(f->t, &l, 0);
    struct proto_kill k = {.job = 82, .run = 1, .grace_s = 0};
    jobs_kill(f->t, &k, 1); /* no dispatch between: the run is still starting */
    struct proto_exit e;
    assert_true(wait_exit(f->t, 82, DEADLINE_S, &e));
    assert_true(e.signal == SIGTERM || e.signal == SIGKILL);
    assert_int_equal(e.exit_code, 128 + e.signal);
    /* Killed before it wrote its pid, or killed with it: either way, nothing is left. */
    char *text = slurp(pidfile);
    if (text != NULL && atoi(text) > 0) {
        pid_t job[] = {(pid_t)atoi(text)};
        assert_true(all_gone(job, 1, DEADLINE_S));
    }
    free(text);
}

/*
 * The launch budget: past it, launches wait in a queue and the table stays
 * readable; each jobs_start_queued spawns one budget's worth (one launch
 * for a 1 us budget) and returns, so the loop serves its timer and sends
 * its sync between batches. Queued runs are live and listed as running,
 * each once; a queued run that is killed ends without a process.
 */
static void test_launch_budget_queues_and_drains_in_batches(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sleep", "60", NULL};
    for (int64_t id = 91; id <= 95; id++) {
        struct proto_launch l = mk(id, argv, NULL);
        jobs_launch(f->t, &l, 0);
    }
    /* The first fit the fresh budget; the other four wait. */
    assert_int_equal(jobs_queued(f->t), 4);
    assert_int_equal(jobs_live(f->t), 5);
    const struct proto_running *run;
    size_t n = jobs_running(f->t, true, &run);
    assert_int_equal(n, 5);
    for (int64_t id = 91; id <= 95; id++) {
        size_t seen = 0;
        for (size_t i = 0; i < n; i++)
            seen += run[i].job == id;
        assert_int_equal(seen, 1);
    }
    struct pollfd p = {.fd = jobs_fd(f->t), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 1); /* the loop will come back for the queue */
    assert_int_equal(jobs_start_queued(f->t), 1);
    assert_int_equal(jobs_queued(f->t), 3);
    /* A kill of a queued run: it ends at once, as sleep would by SIGTERM, and is never spawned. */
    struct proto_kill k = {.job = 95, .run = 1, .grace_s = 0};
    jobs_kill(f->t, &k, 1);
    assert_int_equal(jobs_queued(f->t), 2);
    const struct proto_exit *ex;
    assert_int_equal(jobs_exits(f->t, 1, &ex), 1);
    assert_int_equal(ex[0].job, 95);
    assert_int_equal(ex[0].signal, SIGTERM);
    assert_int_equal(jobs_start_queued(f->t), 1);
    assert_int_equal(jobs_start_queued(f->t), 1);
    assert_int_equal(jobs_queued(f->t), 0);
    assert_int_equal(jobs_start_queued(f->t), 0);
    /* Every spawned run starts: its keeper's STARTED arrives and its record is written. */
    for (int64_t id = 91; id <= 94; id++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%lld.1.0", f->runs, (long long)id);
        struct runrec r;
        assert_true(wait_record(f->t, path, DEADLINE_S, &r));
        assert_true(procs_same(r.pid, r.start_ticks));
    }
    assert_int_equal(jobs_live(f->t), 4);
}

/*
 * A child in a process group of its own that leaves a grandchild in it;
 * pidfile gets the grandchild.
 */
static pid_t spawn_group(const char *pidfile)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "sleep 60 & echo $! > %s; wait", pidfile);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    int64_t end = nl_clock_monotonic_us() + DEADLINE_S * 1000000;
    while (count_lines(pidfile) < 1 && nl_clock_monotonic_us() < end)
        usleep(10000);
    return pid;
}

static struct runrec record_of(pid_t pid, int64_t job)
{
    struct runrec r = {.job = job, .run = 1, .pid = pid};
    snprintf(r.node, sizeof(r.node), "n0");
    struct procs_stat st;
    assert_int_equal(procs_stat(pid, &st), 0);
    r.start_ticks = st.start_ticks;
    procs_boot_id(r.boot_id, sizeof(r.boot_id));
    return r;
}

/*
 * The start-up sweep kills a recorded run's group (leader and the child it
 * left), and spares a process whose pid matches a record but whose start
 * time does not (a reused pid), and everything recorded in another boot.
 */
static void test_sweep_kills_leftovers_and_spares_strangers(void **state)
{
    struct fx *f = *state;
    char pidfile[128];
    snprintf(pidfile, sizeof(pidfile), "%s/gc.pid", f->dir);
    pid_t leader = spawn_group(pidfile);
    char *s = slurp(pidfile);
    pid_t grandchild = (pid_t)atoi(s);
    free(s);
    assert_true(grandchild > 0);
    struct nl_err err = {0};
    struct runrec ours = record_of(leader, 80);
    assert_int_equal(runrec_write(f->runs, "80.1.0", &ours, &err), 0);

    pid_t stranger = fork();
    if (stranger == 0) {
        setpgid(0, 0);
        execl("/bin/sleep", "sleep", "60", (char *)NULL);
        _exit(127);
    }
    setpgid(stranger, stranger);
    struct procs_stat st;
    int64_t end = nl_clock_monotonic_us() + DEADLINE_S * 1000000;
    while (procs_stat(stranger, &st) < 0 && nl_clock_monotonic_us() < end)
        usleep(1000);
    struct runrec reused = record_of(stranger, 81);
    reused.start_ticks += 1; /* the recorded run was an earlier process under this pid */
    assert_int_equal(runrec_write(f->runs, "81.1.0", &reused, &err), 0);
    struct runrec old_boot = record_of(stranger, 82);
    snprintf(old_boot.boot_id, sizeof(old_boot.boot_id), "another-boot");
    assert_int_equal(runrec_write(f->runs, "82.1.0", &old_boot, &err), 0);

    assert_int_equal(runrec_sweep(f->runs, 10, &err), 3);
    pid_t killed[] = {leader, grandchild};
    assert_true(all_gone(killed, 2, DEADLINE_S));
    assert_false(gone(stranger));
    char path[256];
    for (int job = 80; job <= 82; job++) {
        snprintf(path, sizeof(path), "%s/%d.1.0", f->runs, job);
        assert_int_equal(access(path, F_OK), -1);
    }
    kill(stranger, SIGKILL);
    waitpid(stranger, NULL, 0);
    waitpid(leader, NULL, 0);
    assert_int_equal(runrec_sweep(f->runs, 1, &err), 0); /* nothing left */
}

static void test_output_limit_kills_the_job(void **state)
{
    struct fx *f = *state;
    /* What an earlier run left in the file does not count against this one. */
    char prev[128];
    snprintf(prev, sizeof(prev), "%s/jobs/72/n0.out", f->dir);
    char *mk_prev[] = {"/bin/sh", "-c", "head -c 5000 /dev/zero", NULL};
    struct proto_launch l0 = mk(72, mk_prev, NULL);
    jobs_launch(f->t, &l0, 0);
    struct proto_exit e0;
    assert_true(wait_run_exit(f->t, 72, 1, 10, &e0));
    assert_int_equal(e0.exit_code, 0);
    char *ok_argv[] = {"/bin/sh", "-c", "head -c 900 /dev/zero; sleep 1.5; echo done >&2", NULL};
    struct proto_launch l1 = mk(72, ok_argv, NULL);
    l1.run = 2;
    l1.output_limit_bytes = 1000;
    jobs_launch(f->t, &l1, 0);
    assert_true(wait_run_exit(f->t, 72, 2, 10, &e0));
    assert_int_equal(e0.exit_code, 0);
    assert_null(e0.reason);

    char *argv[] = {"/bin/sh", "-c", "head -c 100000 /dev/zero; echo written >&2; sleep 60", NULL};
    struct proto_launch l = mk(72, argv, NULL);
    l.run = 3;
    l.output_limit_bytes = 1000;
    jobs_launch(f->t, &l, 0);
    struct proto_exit e;
    assert_true(wait_run_exit(f->t, 72, 3, DEADLINE_S, &e));
    assert_non_null(e.reason);
    assert_string_equal(e.reason, "output limit of 1000 bytes exceeded");
    assert_true(e.signal == SIGTERM || e.signal == SIGKILL);

    /* Every task's own file counts (a %t pattern), not task 0's alone. */
    char pat[128];
    snprintf(pat, sizeof(pat), "%s/lim/73-%%t.out", f->dir);
    char *t1_argv[] = {"/bin/sh", "-c",
                       "[ \"$RANK\" = 1 ] && head -c 100000 /dev/zero; exec sleep 60", NULL};
    char *a0[] = {"RANK=0", NULL}, *a1[] = {"RANK=1", NULL};
    char **tasks[] = {a0, a1};
    size_t ntask_env[] = {1, 1};
    struct proto_launch lt = mk(73, t1_argv, NULL);
    lt.stdout_path = pat;
    lt.ntasks = 2;
    lt.task_env = tasks;
    lt.ntask_env = ntask_env;
    lt.output_limit_bytes = 1000;
    jobs_launch(f->t, &lt, 0);
    assert_true(wait_run_exit(f->t, 73, 1, DEADLINE_S, &e));
    assert_non_null(e.reason);
    assert_string_equal(e.reason, "output limit of 1000 bytes exceeded");
}

static void test_relative_output_paths_live_under_the_output_root(void **state)
{
    struct fx *f = *state;
    char buf[256];
    assert_int_equal(jobs_output_path("/out", 5, "n0", "rel/a.out", "out", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/out/rel/a.out");
    assert_int_equal(jobs_output_path("/out", 5, "n0", NULL, "err", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/out/jobs/5/n0.err");
    assert_int_equal(jobs_output_path("/out", 5, "n0", "", "out", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/out/jobs/5/n0.out");
    assert_int_equal(jobs_output_path("/out", 5, "n0", "/abs/x", "out", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/abs/x");
    assert_int_equal(jobs_output_path("/out", 5, "n0", "../x", "out", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(jobs_output_path("/out", 5, "n0", "a/../../x", "out", buf, sizeof(buf)),
                     -EINVAL);
    assert_int_equal(jobs_output_path("/out", 5, "n0", "a..b/..c", "out", buf, sizeof(buf)), 0);
    assert_int_equal(jobs_output_path("/out", 5, "n0", "x", "out", buf, 4), -ENAMETOOLONG);

    char *argv[] = {"/bin/sh", "-c", "echo relative; echo rel-err >&2", NULL};
    struct proto_launch l = mk(73, argv, NULL);
    l.stdout_path = "sub/dir/r.out";
    l.stderr_path = "sub/r.err";
    jobs_launch(f->t, &l, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 73, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/sub/dir/r.out", f->dir);
    char *s = slurp(path);
    assert_string_equal(s, "relative\n");
    free(s);
    snprintf(path, sizeof(path), "%s/sub/r.err", f->dir);
    s = slurp(path);
    assert_string_equal(s, "rel-err\n");
    free(s);

    struct proto_launch bad = mk(74, argv, NULL);
    bad.stdout_path = "../escape.out";
    jobs_launch(f->t, &bad, 0);
    assert_true(wait_exit(f->t, 74, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 127);
    assert_non_null(strstr(e.reason, "stdout ../escape.out: a relative output path must stay"));
}

/* A delta lists only runs started since the last answered sync; a full list has them all. */
static void test_delta_running_list(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"sleep", "60", NULL};
    struct proto_launch l = mk(90, argv, NULL);
    jobs_launch(f->t, &l, 0);
    l.job = 91;
    jobs_launch(f->t, &l, 0);
    const struct proto_running *r;
    assert_int_equal(jobs_running(f->t, false, &r), 2);
    /* No answer came: the runs are still new in the next sync. */
    assert_int_equal(jobs_running(f->t, false, &r), 2);
    jobs_ack(f->t, 1, NULL, 0);
    assert_int_equal(jobs_running(f->t, false, &r), 0);
    jobs_ack(f->t, 2, NULL, 0);
    l.job = 92;
    jobs_launch(f->t, &l, 0);
    assert_int_equal(jobs_running(f->t, false, &r), 1);
    assert_int_equal(r[0].job, 92);
    l.job = 93; /* started while that sync is in flight: new until the next answer */
    jobs_launch(f->t, &l, 0);
    jobs_ack(f->t, 3, NULL, 0);
    assert_int_equal(jobs_running(f->t, false, &r), 1);
    assert_int_equal(r[0].job, 93);
    assert_int_equal(jobs_running(f->t, true, &r), 4);
    jobs_ack(f->t, 4, NULL, 0);
    /* A new run that ends before the next sync is listed as an exit, not as running. */
    l.job = 94;
    jobs_launch(f->t, &l, 0);
    struct proto_kill k = {.job = 94, .run = 1, .grace_s = 0};
    jobs_kill(f->t, &k, 1);
    assert_int_equal(jobs_running(f->t, false, &r), 0);
    const struct proto_exit *ex;
    assert_int_equal(jobs_exits(f->t, 5, &ex), 1);
    jobs_ack(f->t, 5, NULL, 0);
    assert_int_equal(jobs_running(f->t, false, &r), 0);
    assert_int_equal(jobs_running(f->t, true, &r), 4);
}

/* Drive the table until no run is live (or max_s passes). */
static bool wait_idle(struct agent_jobs *t, double max_s)
{
    int64_t end = nl_clock_monotonic_us() + (int64_t)(max_s * 1e6);
    while (jobs_live(t) > 0 && nl_clock_monotonic_us() < end) {
        struct pollfd p = {.fd = jobs_fd(t), .events = POLLIN};
        poll(&p, 1, 10);
        jobs_dispatch(t);
        jobs_reap(t);
    }
    return jobs_live(t) == 0;
}

/* Issue 12: a shipping run's output goes out before its exit, and is acknowledged by seq. */
static void test_output_shipped_before_the_exit(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo hello; echo oops >&2; exit 4", NULL};
    char out[128], err[128];
    snprintf(out, sizeof(out), "%s/8/stdout", f->dir);
    snprintf(err, sizeof(err), "%s/8/stderr", f->dir);
    struct proto_launch l = mk(8, argv, NULL);
    l.stdout_path = out;
    l.stderr_path = err;
    l.ship_output = true;
    jobs_launch(f->t, &l, 0);
    assert_true(wait_idle(f->t, 10));
    const struct proto_exit *e;
    assert_int_equal(jobs_exits(f->t, 1, &e), 0); /* held: its output is not acknowledged */
    const struct proto_output *o;
    size_t n = jobs_output(f->t, 1, &o);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].stream, 0);
    assert_int_equal(o[0].offset, 0);
    assert_int_equal(o[0].len, 6);
    assert_memory_equal(o[0].data, "hello\n", 6);
    assert_int_equal(o[1].stream, 1);
    assert_memory_equal(o[1].data, "oops\n", 5);
    /* No answer to sync 1: sync 2 carries the same bytes again. */
    n = jobs_output(f->t, 2, &o);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].offset, 0);
    jobs_ack(f->t, 2, NULL, 0);
    assert_int_equal(jobs_output(f->t, 3, &o), 0);
    assert_int_equal(jobs_exits(f->t, 3, &e), 1);
    assert_int_equal(e[0].exit_code, 4);
    jobs_ack(f->t, 3, NULL, 0);
    assert_int_equal(jobs_unacked(f->t), 0);
}

/* Issue 12: a signal control, the warning before the limit, and a lower limit. */
static void test_signal_warning_and_limit_controls(void **state)
{
    struct fx *f = *state;
    char mark[128], ready[128], cmd[512];
    snprintf(mark, sizeof(mark), "%s/usr1", f->dir);
    snprintf(ready, sizeof(ready), "%s/ready", f->dir);
    snprintf(cmd, sizeof(cmd),
             "trap 'echo got >%s; exit 0' USR1; echo ready >%s; while :; do sleep 0.05; done", mark,
             ready);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    struct proto_launch l = mk(9, argv, NULL);
    l.time_limit_s = 600;
    jobs_launch(f->t, &l, 0);
    /* The trap is set once the job says so: a signal before that would kill the shell. */
    assert_true(wait_text(f->t, ready, "ready", DEADLINE_S));
    struct proto_control sig = {.job = 9, .run = 1, .signal = SIGUSR1};
    jobs_control(f->t, &sig, 1, NULL, 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 9, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 0);
    char *s = slurp(mark);
    assert_string_equal(s, "got\n");
    free(s);
    unlink(mark);
    /* --signal USR1@597 on a 600 s limit: about 3 s after the start, not at the limit. */
    l = mk(10, argv, NULL);
    l.time_limit_s = 600;
    l.warn_signal = SIGUSR1;
    l.warn_before_s = 597;
    jobs_launch(f->t, &l, 0);
    assert_true(wait_exit(f->t, 10, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 0);
    assert_false(e.timeout);
    s = slurp(mark);
    assert_string_equal(s, "got\n");
    free(s);
    /* A lower limit, already past: the run ends now, for its time limit. */
    char *sleeper[] = {"/bin/sh", "-c", "exec sleep 600", NULL};
    l = mk(11, sleeper, NULL);
    l.time_limit_s = 600;
    l.grace_s = 0;
    jobs_launch(f->t, &l, 0);
    struct proto_control lim = {.job = 11, .run = 1, .time_limit_s = 0.001};
    jobs_control(f->t, NULL, 0, &lim, 1);
    assert_true(wait_exit(f->t, 11, DEADLINE_S, &e));
    assert_true(e.timeout);
}

/*
 * Controls are resent until acknowledged (ctld/controls.h): a seq the agent
 * applied is never applied again, each applied seq is listed for the next
 * sync until one is answered, and a control for a run the agent does not
 * have is acknowledged without anything done.
 */
static void test_control_seq_applied_once(void **state)
{
    struct fx *f = *state;
    char mark[128], ready[128], cmd[512];
    snprintf(mark, sizeof(mark), "%s/sigs", f->dir);
    snprintf(ready, sizeof(ready), "%s/ready", f->dir);
    snprintf(cmd, sizeof(cmd),
             "trap 'echo usr1 >>%s' USR1; trap 'echo usr2 >>%s' USR2; trap 'exit 0' TERM; "
             "echo ready >%s; while :; do sleep 0.05; done",
             mark, mark, ready);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    struct proto_launch l = mk(12, argv, NULL);
    l.time_limit_s = 600;
    jobs_launch(f->t, &l, 0);
    assert_true(wait_text(f->t, ready, "ready", DEADLINE_S));
    struct proto_control usr1 = {.seq = 5, .job = 12, .run = 1, .signal = SIGUSR1};
    jobs_control(f->t, &usr1, 1, NULL, 0);
    const uint64_t *applied;
    assert_int_equal(jobs_applied(f->t, 100, &applied), 1);
    assert_int_equal(applied[0], 5);
    /* Its line, before anything else is sent: signals of one kind pending together merge. */
    char *s = NULL;
    int64_t end = nl_clock_monotonic_us() + DEADLINE_S * 1000000;
    while ((s == NULL || strcmp(s, "usr1\n") != 0) && nl_clock_monotonic_us() < end) {
        free(s);
        poll(NULL, 0, 10);
        s = slurp(mark);
    }
    assert_non_null(s);
    assert_string_equal(s, "usr1\n");
    free(s);
    /* The answer was lost: seq 5 comes again (not applied), with USR2 as seq 6, and one for no run.
     */
    struct proto_control again[] = {usr1,
                                    {.seq = 6, .job = 12, .run = 1, .signal = SIGUSR2},
                                    {.seq = 7, .job = 999, .run = 1, .signal = SIGUSR1}};
    jobs_control(f->t, again, 3, NULL, 0);
    assert_int_equal(jobs_applied(f->t, 100, &applied), 3);
    assert_int_equal(applied[0], 5);
    assert_int_equal(applied[1], 6);
    assert_int_equal(applied[2], 7);
    /* At most max go in one sync; an answered sync forgets those it carried. */
    assert_int_equal(jobs_applied(f->t, 2, &applied), 2);
    jobs_ack(f->t, 1, NULL, 0);
    assert_int_equal(jobs_applied(f->t, 100, &applied), 1);
    assert_int_equal(applied[0], 7);
    jobs_ack(f->t, 2, NULL, 0);
    assert_int_equal(jobs_applied(f->t, 100, &applied), 0);
    /* The job's TERM trap runs after any trap still pending: every signal it got is written. */
    char reason[] = "test";
    struct proto_kill k = {.job = 12, .run = 1, .grace_s = 60, .reason = reason};
    jobs_kill(f->t, &k, 1);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 12, DEADLINE_S, &e));
    s = slurp(mark);
    assert_string_equal(s, "usr1\nusr2\n");
    free(s);
}

/*
 * The keeper holding at a test hold point (launch.c, NL_TEST_HOOKS): its
 * pid, from DIR/POINT.PID, once it has written that; 0 after max_s.
 * Drives the table meanwhile.
 */
static pid_t wait_hold(struct agent_jobs *t, const char *dir, const char *point, double max_s)
{
    int64_t end = nl_clock_monotonic_us() + (int64_t)(max_s * 1e6);
    size_t plen = strlen(point);
    while (nl_clock_monotonic_us() < end) {
        DIR *d = opendir(dir);
        struct dirent *de;
        pid_t found = 0;
        while (d != NULL && (de = readdir(d)) != NULL)
            if (strncmp(de->d_name, point, plen) == 0 && de->d_name[plen] == '.' &&
                strstr(de->d_name, ".tmp") == NULL)
                found = (pid_t)atol(de->d_name + plen + 1);
        if (d != NULL)
            closedir(d);
        if (found > 0)
            return found;
        struct pollfd p = {.fd = jobs_fd(t), .events = POLLIN};
        poll(&p, 1, 10);
        jobs_dispatch(t);
        jobs_reap(t);
    }
    return 0;
}

/*
 * Issue 9's last window: the record exists before the job's first
 * process does. A keeper stopped just before it starts the job has
 * written it (its own pid and start time, the run's key, no job pid yet);
 * agent and keeper killed there leave a record the sweep reads as never
 * started, and removes, and the job never ran.
 */
static void test_record_is_written_before_the_job_starts(void **state)
{
    struct fx *f = *state;
    char ran[128], cmd[256];
    snprintf(ran, sizeof(ran), "%s/ran", f->dir);
    snprintf(cmd, sizeof(cmd), "echo ran > %s", ran);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *env[] = {"NL_TEST_HOLD=before-exec", NULL};
    assert_int_equal(setenv("NL_TEST_KEEPER_HOLD_DIR", f->dir, 1), 0);
    struct proto_launch l = mk(83, argv, env);
    jobs_launch(f->t, &l, 0);
    pid_t keeper = wait_hold(f->t, f->dir, "before-exec", DEADLINE_S);
    unsetenv("NL_TEST_KEEPER_HOLD_DIR");
    assert_true(keeper > 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/83.1.0", f->runs);
    struct runrec r;
    struct nl_err err = {0};
    assert_int_equal(runrec_read(path, &r, &err), 0);
    assert_int_equal(r.pid, 0);
    assert_int_equal(r.keeper, keeper);
    assert_true(procs_same(r.keeper, r.keeper_ticks));
    assert_int_equal(strlen(r.key), RUNREC_KEY_LEN - 1);
    assert_int_equal(kill(keeper, SIGKILL), 0);
    pid_t k[] = {keeper};
    assert_true(all_gone(k, 1, DEADLINE_S));
    assert_int_equal(runrec_sweep(f->runs, DEADLINE_S, &err), 1);
    assert_int_equal(access(path, F_OK), -1);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 83, DEADLINE_S, &e));
    assert_int_equal(e.exit_code, 127);
    assert_non_null(strstr(e.reason, "keeper"));
    assert_int_equal(access(ran, F_OK), -1); /* the job never ran */
}

/*
 * Launch job (run 1) whose command starts a sleeper in a session of its
 * own, the keeper held just after the exec (NL_TEST_HOLD=after-exec):
 * the sleeper's pid, once it wrote it; *keeper the held keeper's.
 */
static pid_t launch_setsid_sleeper(struct fx *f, int64_t job, pid_t *keeper)
{
    char pidfile[128], cmd[512];
    snprintf(pidfile, sizeof(pidfile), "%s/sleeper.pid", f->dir);
    snprintf(cmd, sizeof(cmd), "setsid sh -c 'echo $$ > %s; exec sleep 600' & wait", pidfile);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *env[] = {"NL_TEST_HOLD=after-exec", NULL};
    assert_int_equal(setenv("NL_TEST_KEEPER_HOLD_DIR", f->dir, 1), 0);
    struct proto_launch l = mk(job, argv, env);
    jobs_launch(f->t, &l, 0);
    *keeper = wait_hold(f->t, f->dir, "after-exec", DEADLINE_S);
    unsetenv("NL_TEST_KEEPER_HOLD_DIR");
    assert_true(*keeper > 0);
    int64_t end = nl_clock_monotonic_us() + DEADLINE_S * 1000000;
    while (count_lines(pidfile) < 1 && nl_clock_monotonic_us() < end)
        usleep(10000);
    char *s = slurp(pidfile);
    pid_t sleeper = (pid_t)atoi(s);
    free(s);
    assert_true(sleeper > 0);
    return sleeper;
}

/*
 * Agent and keeper killed after the job started but before its record
 * names its pid: what the job started in a session of its own (out of its
 * group, and reparented past the dead keeper) carries the run's key in its
 * environment, and the sweep finds and kills it by that alone.
 */
static void test_sweep_finds_a_run_by_its_key(void **state)
{
    struct fx *f = *state;
    pid_t keeper, sleeper = launch_setsid_sleeper(f, 84, &keeper);
    char path[256];
    snprintf(path, sizeof(path), "%s/84.1.0", f->runs);
    struct runrec r;
    struct nl_err err = {0};
    assert_int_equal(runrec_read(path, &r, &err), 0);
    assert_int_equal(r.pid, 0);
    char key[RUNREC_KEY_LEN];
    assert_int_equal(procs_env_value(sleeper, RUNREC_ENV, key, sizeof(key)), 0);
    assert_string_equal(key, r.key);
    assert_int_equal(kill(keeper, SIGKILL), 0);
    pid_t k[] = {keeper};
    assert_true(all_gone(k, 1, DEADLINE_S));
    assert_false(gone(sleeper)); /* the scenario: it outlived its keeper */
    assert_int_equal(runrec_sweep(f->runs, DEADLINE_S, &err), 1);
    pid_t left[] = {sleeper};
    assert_true(all_gone(left, 1, DEADLINE_S));
    assert_int_equal(access(path, F_OK), -1);
}

/*
 * A keeper killed alone just after the job's exec (the agent lives): the
 * agent reports the run ended and kills what the job left out of its
 * group, found by the run's key.
 */
static void test_agent_kills_what_a_dead_keeper_left(void **state)
{
    struct fx *f = *state;
    pid_t keeper, sleeper = launch_setsid_sleeper(f, 88, &keeper);
    assert_int_equal(kill(keeper, SIGKILL), 0);
    struct proto_exit e;
    assert_true(wait_exit(f->t, 88, DEADLINE_S, &e));
    assert_non_null(strstr(e.reason, "keeper"));
    pid_t left[] = {sleeper};
    assert_true(all_gone(left, 1, DEADLINE_S));
}

/* A process in a session of its own whose environment has NORDLYS_RUN_KEY=key. */
static pid_t spawn_keyed(const char *key)
{
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        char var[128];
        snprintf(var, sizeof(var), "%s=%s", RUNREC_ENV, key);
        char *env[] = {var, NULL};
        execle("/bin/sleep", "sleep", "600", (char *)NULL, env);
        _exit(127);
    }
    /* Exec'd: its environment is the new one. */
    char got[RUNREC_KEY_LEN];
    int64_t end = nl_clock_monotonic_us() + DEADLINE_S * 1000000;
    while (procs_env_value(pid, RUNREC_ENV, got, sizeof(got)) < 0 && nl_clock_monotonic_us() < end)
        usleep(1000);
    return pid;
}

/*
 * The key handle kills only what started no earlier than the run's keeper:
 * a process carrying a record's key but older than its keeper is spared.
 * A record without a pid or keeper whose run left nothing is swept.
 */
static void test_sweep_by_key_spares_older_processes(void **state)
{
    struct fx *f = *state;
    const char *k1 = "0123456789abcdef0123456789abcdef";
    const char *k2 = "fedcba9876543210fedcba9876543210";
    pid_t run = spawn_keyed(k1), older = spawn_keyed(k2);
    struct procs_stat st;
    struct nl_err err = {0};
    struct runrec r = {.job = 85, .run = 1};
    snprintf(r.node, sizeof(r.node), "n0");
    procs_boot_id(r.boot_id, sizeof(r.boot_id));
    snprintf(r.key, sizeof(r.key), "%s", k1);
    assert_int_equal(procs_stat(run, &st), 0);
    r.keeper_ticks = st.start_ticks;
    assert_int_equal(runrec_write(f->runs, "85.1.0", &r, &err), 0);
    r.job = 86;
    snprintf(r.key, sizeof(r.key), "%s", k2);
    assert_int_equal(procs_stat(older, &st), 0);
    r.keeper_ticks = st.start_ticks + 1; /* its keeper started after it */
    assert_int_equal(runrec_write(f->runs, "86.1.0", &r, &err), 0);
    struct runrec nothing = {.job = 87, .run = 1};
    procs_boot_id(nothing.boot_id, sizeof(nothing.boot_id));
    assert_int_equal(runrec_write(f->runs, "87.1.0", &nothing, &err), 0);
    assert_int_equal(runrec_sweep(f->runs, DEADLINE_S, &err), 3);
    pid_t killed[] = {run};
    assert_true(all_gone(killed, 1, DEADLINE_S));
    assert_false(gone(older));
    kill(older, SIGKILL);
    waitpid(older, NULL, 0);
    waitpid(run, NULL, 0);
}

/*
 * A record's second version (runrec_update) never replaces it by a rename
 * over it; a keeper that died between its steps leaves a NAME.next that is
 * the record when NAME is gone, and nothing when NAME is still there.
 */
static void test_record_update_and_its_leftovers(void **state)
{
    struct fx *f = *state;
    struct nl_err err = {0};
    struct runrec r = {.job = 90, .run = 1};
    procs_boot_id(r.boot_id, sizeof(r.boot_id));
    assert_int_equal(runrec_write(f->runs, "90.1.0", &r, &err), 0);
    /* A start time no process has: whatever has this pid or group is spared. */
    r.pid = 999999;
    r.start_ticks = INT64_MAX;
    assert_int_equal(runrec_update(f->runs, "90.1.0", &r, &err), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/90.1.0", f->runs);
    struct runrec back;
    assert_int_equal(runrec_read(path, &back, &err), 0);
    assert_int_equal(back.pid, 999999);
    assert_int_equal(back.start_ticks, INT64_MAX);
    snprintf(path, sizeof(path), "%s/90.1.0" RUNREC_NEXT, f->runs);
    assert_int_equal(access(path, F_OK), -1);
    /* Died after removing the record, before the rename: the next version is the record. */
    r.job = 91;
    assert_int_equal(runrec_write(f->runs, "91.1.0" RUNREC_NEXT, &r, &err), 0);
    /* Died while writing the next version: the record stands. */
    r.job = 92;
    assert_int_equal(runrec_write(f->runs, "92.1.0", &r, &err), 0);
    assert_int_equal(runrec_write(f->runs, "92.1.0" RUNREC_NEXT, &r, &err), 0);
    assert_int_equal(runrec_sweep(f->runs, DEADLINE_S, &err), 3);
    DIR *d = opendir(f->runs);
    struct dirent *de;
    size_t left = 0;
    while ((de = readdir(d)) != NULL)
        left += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(left, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_launch_env_stdout_exit_code, setup, teardown),
            cmocka_unit_test_setup_teardown(test_launch_tasks_labels_and_input, setup, teardown),
            cmocka_unit_test_setup_teardown(test_output_shipped_before_the_exit, setup, teardown),
            cmocka_unit_test_setup_teardown(test_signal_warning_and_limit_controls, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_control_seq_applied_once, setup, teardown),
            cmocka_unit_test_setup_teardown(test_launch_cwd_and_default_output, setup, teardown),
            cmocka_unit_test_setup_teardown(test_jobs_run_as_their_user, setup, teardown),
            cmocka_unit_test_setup_teardown(test_long_reason_stays_utf8, setup, teardown),
            cmocka_unit_test_setup_teardown(test_non_root_agent_runs_jobs_as_itself, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_launch_exec_failure_is_127_with_reason, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_launch_chdir_and_output_failures, setup, teardown),
            cmocka_unit_test_setup_teardown(test_kill_sigterm_then_sigkill_after_grace, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_kill_job_that_obeys_sigterm, setup, teardown),
            cmocka_unit_test_setup_teardown(test_time_limit_sigterm_then_sigkill, setup, teardown),
            cmocka_unit_test_setup_teardown(test_exit_kills_what_the_job_left_in_its_group, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_noop_sleep_runs_without_a_process, setup_noop,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_exits_reported_until_acknowledged, setup_noop,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_running_lists_each_node_and_unknown_node_fails,
                                            setup_noop, teardown),
            cmocka_unit_test_setup_teardown(test_job_ids_take_63_bits, setup_noop, teardown),
            cmocka_unit_test_setup_teardown(test_runs_of_one_job_are_kept_apart, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cgroup_per_job, setup_cg, teardown),
            cmocka_unit_test_setup_teardown(test_keeper_kills_the_job_when_the_agent_dies, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_run_record_lives_until_the_end_is_acknowledged,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(test_sweep_kills_leftovers_and_spares_strangers, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_killed_keeper_takes_its_job_along, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_output_limit_kills_the_job, setup, teardown),
            cmocka_unit_test_setup_teardown(test_relative_output_paths_live_under_the_output_root,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(test_delta_running_list, setup_noop, teardown),
            cmocka_unit_test_setup_teardown(test_launch_returns_before_the_job_starts, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_kill_while_starting_kills_the_job, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_launch_budget_queues_and_drains_in_batches,
                                            setup_tiny_budget, teardown),
            cmocka_unit_test_setup_teardown(test_record_is_written_before_the_job_starts, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_sweep_finds_a_run_by_its_key, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sweep_by_key_spares_older_processes, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_agent_kills_what_a_dead_keeper_left, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_record_update_and_its_leftovers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
