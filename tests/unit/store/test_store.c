/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - the SQLite store on real files in a temporary directory:
 * schema and migrations, ids never reused, transactions, every record
 * field round-tripping, live-job reload, list filters, agents, usage,
 * and a commit surviving SIGKILL of the process that made it.
 */
/* cmocka.h needs the standard headers before it. */
/* clang-format off */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
/* clang-format on */

#include "nordlys/err.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    char path[96];
    struct nl_store *st;
};

static struct nl_store *open_store(const char *path)
{
    struct nl_store_opts opts = {.path = path};
    struct nl_err err = {0};
    struct nl_store *st = nl_store_open(&opts, &err);
    if (st == NULL)
        fail_msg("open %s: %s", path, err.msg);
    return st;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/nl-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
    f->st = open_store(f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    nl_store_close(f->st);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* A request record with every field set away from its default. */
static void make_job(struct nl_store_job *j, const char *name, const char *tenant, int64_t t)
{
    nl_store_job_init(j);
    snprintf(j->name, sizeof(j->name), "%s", name);
    snprintf(j->tenant, sizeof(j->tenant), "%s", tenant);
    j->spec.gpus = 8;
    j->spec.time_limit_us = 7200LL * 1000000;
    snprintf(j->spec.residency.code, sizeof(j->spec.residency.code), "NO");
    j->spec.sensitive = true;
    j->spec.preemptible = true;
    j->spec.requeue = false;
    j->spec.grace_us = 30LL * 1000000;
    j->command_json = "[\"python3\",\"train.py\"]";
    j->env_json = "{\"K\":\"V\"}";
    j->cwd = "/home/me";
    j->state = NL_JOB_PENDING;
    j->submit_us = t;
}

static uint64_t insert(struct nl_store *st, const char *name, const char *tenant, int64_t t)
{
    struct nl_store_job j;
    make_job(&j, name, tenant, t);
    uint64_t id = 0;
    struct nl_err err = {0};
    assert_int_equal(nl_store_job_insert(st, &j, &id, &err), 0);
    return id;
}

static void begin(struct nl_store *st)
{
    assert_int_equal(nl_store_begin(st, NULL), 0);
}

static void commit(struct nl_store *st)
{
    assert_int_equal(nl_store_commit(st, NULL), 0);
}

static void test_open_sets_schema_version(void **state)
{
    struct fixture *f = *state;
    assert_true(nl_store_schema_version() >= 1);
    assert_int_equal(nl_store_last_id(f->st), 0);
    assert_false(nl_store_in_txn(f->st));
}

static void test_open_refuses_newer_schema(void **state)
{
    struct fixture *f = *state;
    nl_store_close(f->st);
    f->st = NULL;
    /* user_version is the big-endian 32-bit integer at offset 60 of the header. */
    int fd = open(f->path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char v[4] = {0, 0, 0, 99};
    assert_int_equal(pwrite(fd, v, 4, 60), 4);
    close(fd);
    struct nl_store_opts opts = {.path = f->path};
    struct nl_err err = {0};
    assert_null(nl_store_open(&opts, &err));
    assert_int_equal(err.code, -EPROTO);
    assert_non_null(strstr(err.msg, "schema version 99"));
}

static void test_open_bad_path_names_it(void **state)
{
    (void)state;
    struct nl_store_opts opts = {.path = "/nonexistent-dir/x/state.db"};
    struct nl_err err = {0};
    assert_null(nl_store_open(&opts, &err));
    assert_true(err.code < 0);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x/state.db"));
}

static void test_write_outside_txn_fails(void **state)
{
    struct fixture *f = *state;
    struct nl_store_job j;
    make_job(&j, "a", "t", 1);
    uint64_t id = 0;
    struct nl_err err = {0};
    assert_int_equal(nl_store_job_insert(f->st, &j, &id, &err), -EPERM);
    assert_non_null(strstr(err.msg, "no transaction"));
    assert_int_equal(nl_store_commit(f->st, NULL), -EPERM);
    begin(f->st);
    assert_int_equal(nl_store_begin(f->st, NULL), -EBUSY);
    nl_store_rollback(f->st);
}

static void test_insert_ids_never_reused(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    uint64_t a = insert(f->st, "a", "t", 1);
    uint64_t b = insert(f->st, "b", "t", 2);
    assert_int_equal(nl_store_txn_writes(f->st), 2);
    commit(f->st);
    assert_true(b > a);
    /* Ended and forgotten jobs keep their ids: a new store handle continues above them. */
    nl_store_close(f->st);
    f->st = open_store(f->path);
    assert_int_equal(nl_store_last_id(f->st), b);
    begin(f->st);
    uint64_t c = insert(f->st, "c", "t", 3);
    commit(f->st);
    assert_true(c > b);
}

static void test_rollback_discards(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    uint64_t a = insert(f->st, "a", "t", 1);
    nl_store_rollback(f->st);
    struct nl_store_job j;
    nl_store_job_init(&j);
    assert_int_equal(nl_store_job_get(f->st, a, &j, NULL), -ENOENT);
    assert_false(nl_store_in_txn(f->st));
    nl_store_job_release(&j);
}

/* The id announced before an insert is the one it takes; paths go in with the same INSERT. */
static void test_next_id_names_the_insert(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(nl_store_next_id(f->st), 1);
    begin(f->st);
    uint64_t want = nl_store_next_id(f->st);
    struct nl_store_job j;
    make_job(&j, "a", "t", 1);
    j.stdout_path = "/s/jobs/1/stdout";
    j.stderr_path = "/s/jobs/1/stderr";
    uint64_t id = 0;
    assert_int_equal(nl_store_job_insert(f->st, &j, &id, NULL), 0);
    assert_int_equal(id, want);
    assert_int_equal(nl_store_txn_writes(f->st), 1);
    uint64_t rolled = insert(f->st, "b", "t", 2);
    assert_int_equal(nl_store_next_id(f->st), rolled + 1);
    nl_store_rollback(f->st);
    /* The rollback gives both ids back, as SQLite's own sequence does. */
    assert_int_equal(nl_store_next_id(f->st), want);
    begin(f->st);
    assert_int_equal(nl_store_job_insert(f->st, &j, &id, NULL), 0);
    assert_int_equal(id, want);
    commit(f->st);
    struct nl_store_job got;
    nl_store_job_init(&got);
    assert_int_equal(nl_store_job_get(f->st, id, &got, NULL), 0);
    assert_string_equal(got.stdout_path, "/s/jobs/1/stdout");
    assert_string_equal(got.stderr_path, "/s/jobs/1/stderr");
    nl_store_job_release(&got);
    nl_store_close(f->st);
    f->st = open_store(f->path);
    assert_int_equal(nl_store_next_id(f->st), id + 1);
}

static void test_get_roundtrips_every_field(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    uint64_t id = insert(f->st, "train-7b", "nor-research", 1764000000500000);
    assert_int_equal(
            nl_store_job_set_output(f->st, id, "/s/jobs/1/stdout", "/s/jobs/1/stderr", NULL), 0);
    commit(f->st);
    struct nl_store_job j;
    nl_store_job_init(&j);
    assert_int_equal(nl_store_job_get(f->st, id, &j, NULL), 0);
    assert_int_equal(j.id, id);
    assert_string_equal(j.name, "train-7b");
    assert_string_equal(j.tenant, "nor-research");
    assert_int_equal(j.spec.gpus, 8);
    assert_int_equal(j.spec.time_limit_us, 7200LL * 1000000);
    assert_string_equal(j.spec.residency.code, "NO");
    assert_true(j.spec.sensitive);
    assert_true(j.spec.preemptible);
    assert_false(j.spec.requeue);
    assert_int_equal(j.spec.grace_us, 30LL * 1000000);
    assert_string_equal(j.command_json, "[\"python3\",\"train.py\"]");
    assert_string_equal(j.env_json, "{\"K\":\"V\"}");
    assert_string_equal(j.cwd, "/home/me");
    assert_int_equal(j.state, NL_JOB_PENDING);
    assert_int_equal(j.submit_us, 1764000000500000);
    assert_int_equal(j.start_us, 0);
    assert_false(j.has_exit);
    assert_string_equal(j.stdout_path, "/s/jobs/1/stdout");
    assert_string_equal(j.stderr_path, "/s/jobs/1/stderr");
    assert_int_equal(j.nalloc, 0);
    nl_store_job_release(&j);
}

static void test_start_requeue_end_lifecycle(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    uint64_t id = insert(f->st, "a", "t", 10);
    commit(f->st);

    const struct nl_alloc_node alloc[] = {{.node = 3, .mask = 0x0f}, {.node = 4, .mask = 0x03}};
    begin(f->st);
    uint32_t run = 0;
    assert_int_equal(nl_store_job_start(f->st, id, 20, alloc, 2, &run, NULL), 0);
    assert_int_equal(run, 1);
    commit(f->st);
    struct nl_store_job j;
    nl_store_job_init(&j);
    assert_int_equal(nl_store_job_get(f->st, id, &j, NULL), 0);
    assert_int_equal(j.state, NL_JOB_RUNNING);
    assert_int_equal(j.runs, 1);
    assert_int_equal(j.start_us, 20);
    assert_int_equal(j.nalloc, 2);
    assert_int_equal(j.alloc[0].node, 3);
    assert_int_equal(j.alloc[0].mask, 0x0f);
    assert_int_equal(j.alloc[1].node, 4);
    assert_int_equal(j.alloc[1].mask, 0x03);

    begin(f->st);
    assert_int_equal(nl_store_job_kill_requested(f->st, id, NULL), 0);
    commit(f->st);
    assert_int_equal(nl_store_job_get(f->st, id, &j, NULL), 0);
    assert_true(j.kill_requested);

    begin(f->st);
    assert_int_equal(nl_store_job_set_state(f->st, id, NL_JOB_PREEMPTING, 0, NULL), 0);
    assert_int_equal(nl_store_job_requeue(f->st, id, true, 1000, 2.5, NULL), 0);
    commit(f->st);
    assert_int_equal(nl_store_job_get(f->st, id, &j, NULL), 0);
    assert_int_equal(j.state, NL_JOB_PENDING);
    assert_int_equal(j.preemptions, 1);
    assert_int_equal(j.run_us, 1000);
    assert_int_equal(j.nalloc, 0);
    assert_int_equal(j.start_us, 0);
    assert_false(j.kill_requested);

    begin(f->st);
    assert_int_equal(nl_store_job_start(f->st, id, 30, alloc, 1, &run, NULL), 0);
    assert_int_equal(run, 2); /* the run number survives the requeue */
    struct nl_store_end e = {.state = NL_JOB_FAILED,
                             .reason = "exec /no/such: No such file or directory",
                             .end_us = 40,
                             .has_exit = true,
                             .exit_code = 3,
                             .exit_signal = 0,
                             .run_us = 10,
                             .energy_wh = 3.0,
                             .cpu_s = 1.5,
                             .max_rss_kb = 1024};
    assert_int_equal(nl_store_job_end(f->st, id, &e, NULL), 0);
    commit(f->st);
    assert_int_equal(nl_store_job_get(f->st, id, &j, NULL), 0);
    assert_int_equal(j.state, NL_JOB_FAILED);
    assert_int_equal(j.end_us, 40);
    assert_true(j.has_exit);
    assert_int_equal(j.exit_code, 3);
    assert_int_equal(j.run_us, 1010); /* 1000 from the first run plus 10 */
    assert_int_equal(j.max_rss_kb, 1024);
    assert_int_equal(j.nalloc, 1); /* kept as history */
    assert_int_equal(j.runs, 2);
    assert_string_equal(j.exit_reason, "exec /no/such: No such file or directory");
    nl_store_job_release(&j);
}

static void test_update_missing_job_is_enoent(void **state)
{
    struct fixture *f = *state;
    struct nl_err err = {0};
    begin(f->st);
    assert_int_equal(nl_store_job_start(f->st, 999, 1, NULL, 0, NULL, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "999"));
    struct nl_store_end e = {.state = NL_JOB_RUNNING};
    assert_int_equal(nl_store_job_end(f->st, 999, &e, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "state"));
    nl_store_rollback(f->st);
}

static int collect(const struct nl_store_job *j, void *arg)
{
    uint64_t *ids = arg;
    ids[++ids[0]] = j->id;
    return 0;
}

static void test_live_loads_only_live_jobs_in_order(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    uint64_t a = insert(f->st, "a", "t", 1);
    uint64_t b = insert(f->st, "b", "t", 2);
    uint64_t c = insert(f->st, "c", "t", 3);
    uint64_t d = insert(f->st, "d", "t", 4);
    const struct nl_alloc_node n0 = {.node = 0, .mask = 1};
    assert_int_equal(nl_store_job_start(f->st, b, 5, &n0, 1, NULL, NULL), 0);
    assert_int_equal(nl_store_job_set_state(f->st, c, NL_JOB_CANCELLED, 6, NULL), 0);
    assert_int_equal(nl_store_job_start(f->st, d, 5, &n0, 1, NULL, NULL), 0);
    assert_int_equal(nl_store_job_set_state(f->st, d, NL_JOB_PREEMPTING, 0, NULL), 0);
    commit(f->st);
    uint64_t ids[8] = {0};
    assert_int_equal(nl_store_jobs_live(f->st, collect, ids, NULL), 0);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], a);
    assert_int_equal(ids[2], b);
    assert_int_equal(ids[3], d);
}

static void test_list_filters_newest_first(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    uint64_t a = insert(f->st, "a", "x", 1);
    uint64_t b = insert(f->st, "b", "y", 2);
    uint64_t c = insert(f->st, "c", "x", 3);
    assert_int_equal(nl_store_job_set_state(f->st, c, NL_JOB_CANCELLED, 6, NULL), 0);
    commit(f->st);
    uint64_t ids[8] = {0};
    struct nl_store_filter all = {0};
    assert_int_equal(nl_store_jobs_list(f->st, &all, collect, ids, NULL), 0);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], c);
    assert_int_equal(ids[3], a);

    memset(ids, 0, sizeof(ids));
    struct nl_store_filter tx = {.tenant = "x"};
    assert_int_equal(nl_store_jobs_list(f->st, &tx, collect, ids, NULL), 0);
    assert_int_equal(ids[0], 2);

    memset(ids, 0, sizeof(ids));
    struct nl_store_filter pend = {.states = 1u << NL_JOB_PENDING};
    assert_int_equal(nl_store_jobs_list(f->st, &pend, collect, ids, NULL), 0);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], b);

    memset(ids, 0, sizeof(ids));
    struct nl_store_filter two = {
            .states = (1u << NL_JOB_PENDING) | (1u << NL_JOB_CANCELLED), .tenant = "x", .limit = 1};
    assert_int_equal(nl_store_jobs_list(f->st, &two, collect, ids, NULL), 0);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], c);

    memset(ids, 0, sizeof(ids));
    struct nl_store_filter page = {.before_id = c};
    assert_int_equal(nl_store_jobs_list(f->st, &page, collect, ids, NULL), 0);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], b);
}

static int stop_at_first(const struct nl_store_job *j, void *arg)
{
    (void)j;
    (*(int *)arg)++;
    return 7;
}

static void test_walk_stops_on_callback_value(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    insert(f->st, "a", "x", 1);
    insert(f->st, "b", "x", 2);
    commit(f->st);
    int calls = 0;
    struct nl_store_filter all = {0};
    assert_int_equal(nl_store_jobs_list(f->st, &all, stop_at_first, &calls, NULL), 7);
    assert_int_equal(calls, 1);
    /* The statement was reset: a second walk starts from the top again. */
    assert_int_equal(nl_store_jobs_list(f->st, &all, stop_at_first, &calls, NULL), 7);
    assert_int_equal(calls, 2);
}

struct agent_rows {
    int n;
    char agent[8][32];
    uint32_t node[8];
};

static int collect_agent(const char *agent_id, bool emulated, uint32_t node, void *arg)
{
    (void)emulated;
    struct agent_rows *r = arg;
    snprintf(r->agent[r->n], sizeof(r->agent[0]), "%s", agent_id);
    r->node[r->n++] = node;
    return 0;
}

static void test_agents_replace_and_take_nodes(void **state)
{
    struct fixture *f = *state;
    const uint32_t a_nodes[] = {0, 1, 2};
    const uint32_t b_nodes[] = {2, 3};
    const uint32_t a_again[] = {1};
    begin(f->st);
    assert_int_equal(nl_store_agent_set(f->st, "a", false, a_nodes, 3, NULL), 0);
    assert_int_equal(nl_store_agent_set(f->st, "b", true, b_nodes, 2, NULL), 0);
    assert_int_equal(nl_store_agent_set(f->st, "a", false, a_again, 1, NULL), 0);
    commit(f->st);
    struct agent_rows r = {0};
    assert_int_equal(nl_store_agents_load(f->st, collect_agent, &r, NULL), 0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.agent[0], "a");
    assert_int_equal(r.node[0], 1);
    assert_string_equal(r.agent[1], "b");
    assert_int_equal(r.node[1], 2);
    assert_int_equal(r.node[2], 3);

    /* An agent that loses all its nodes to another is forgotten. */
    const uint32_t all[] = {1, 2, 3};
    begin(f->st);
    assert_int_equal(nl_store_agent_set(f->st, "c", false, all, 3, NULL), 0);
    commit(f->st);
    memset(&r, 0, sizeof(r));
    assert_int_equal(nl_store_agents_load(f->st, collect_agent, &r, NULL), 0);
    assert_int_equal(r.n, 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(r.agent[i], "c");
}

static int collect_usage(const struct nl_store_usage *u, void *arg)
{
    struct nl_store_usage *out = arg;
    if (strcmp(u->tenant, "x") == 0)
        *out = (struct nl_store_usage){.gpu_hours = u->gpu_hours,
                                       .energy_wh = u->energy_wh,
                                       .jobs_completed = u->jobs_completed,
                                       .jobs_failed = u->jobs_failed};
    return 0;
}

static void test_usage_sums_ended_runs(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    uint64_t a = insert(f->st, "a", "x", 1);
    uint64_t b = insert(f->st, "b", "x", 1);
    insert(f->st, "c", "y", 1);
    struct nl_store_end ok = {
            .state = NL_JOB_COMPLETED, .end_us = 2, .run_us = 3600LL * 1000000, .energy_wh = 100};
    struct nl_store_end bad = {
            .state = NL_JOB_TIMEOUT, .end_us = 2, .run_us = 1800LL * 1000000, .energy_wh = 50};
    assert_int_equal(nl_store_job_end(f->st, a, &ok, NULL), 0);
    assert_int_equal(nl_store_job_end(f->st, b, &bad, NULL), 0);
    commit(f->st);
    struct nl_store_usage u = {0};
    assert_int_equal(nl_store_usage(f->st, collect_usage, &u, NULL), 0);
    assert_true(u.gpu_hours > 11.99 && u.gpu_hours < 12.01); /* 8 GPUs x 1.5 h */
    assert_true(u.energy_wh > 149.9 && u.energy_wh < 150.1);
    assert_int_equal(u.jobs_completed, 1);
    assert_int_equal(u.jobs_failed, 1);
}

/*
 * The durability promise at the store's level: a child commits a job and
 * is killed with SIGKILL before it can close anything; the job is there.
 */
static void test_commit_survives_sigkill(void **state)
{
    struct fixture *f = *state;
    nl_store_close(f->st);
    f->st = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct nl_store *st = open_store(f->path);
        if (nl_store_begin(st, NULL) < 0)
            _exit(2);
        struct nl_store_job j;
        make_job(&j, "durable", "t", 1);
        uint64_t id;
        if (nl_store_job_insert(st, &j, &id, NULL) < 0 || nl_store_commit(st, NULL) < 0)
            _exit(3);
        /* An uncommitted second job must not survive. */
        if (nl_store_begin(st, NULL) < 0 || nl_store_job_insert(st, &j, &id, NULL) < 0)
            _exit(4);
        kill(getpid(), SIGKILL);
        _exit(5);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    f->st = open_store(f->path);
    uint64_t ids[8] = {0};
    assert_int_equal(nl_store_jobs_live(f->st, collect, ids, NULL), 0);
    assert_int_equal(ids[0], 1);
    struct nl_store_job j;
    nl_store_job_init(&j);
    assert_int_equal(nl_store_job_get(f->st, ids[1], &j, NULL), 0);
    assert_string_equal(j.name, "durable");
    nl_store_job_release(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_open_sets_schema_version, setup, teardown),
            cmocka_unit_test_setup_teardown(test_open_refuses_newer_schema, setup, teardown),
            cmocka_unit_test_setup_teardown(test_open_bad_path_names_it, setup, teardown),
            cmocka_unit_test_setup_teardown(test_write_outside_txn_fails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_insert_ids_never_reused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rollback_discards, setup, teardown),
            cmocka_unit_test_setup_teardown(test_next_id_names_the_insert, setup, teardown),
            cmocka_unit_test_setup_teardown(test_get_roundtrips_every_field, setup, teardown),
            cmocka_unit_test_setup_teardown(test_start_requeue_end_lifecycle, setup, teardown),
            cmocka_unit_test_setup_teardown(test_update_missing_job_is_enoent, setup, teardown),
            cmocka_unit_test_setup_teardown(test_live_loads_only_live_jobs_in_order, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_list_filters_newest_first, setup, teardown),
            cmocka_unit_test_setup_teardown(test_walk_stops_on_callback_value, setup, teardown),
            cmocka_unit_test_setup_teardown(test_agents_replace_and_take_nodes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_usage_sums_ended_runs, setup, teardown),
            cmocka_unit_test_setup_teardown(test_commit_survives_sigkill, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
