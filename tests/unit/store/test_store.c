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
#include "fixture.h"

static int setup(void **state)
{
    struct fixture *f = fixture_open("nl-store");
    *state = f;
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
    j->memory_max_bytes = 5ull << 40; /* above 32 bits: the column is 64-bit */
    j->pids_max = 4096;
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
    assert_int_equal(j.memory_max_bytes, 5ull << 40);
    assert_int_equal(j.pids_max, 4096);
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
    char instance[8][72];
    char root[8][64];
    uint32_t node[8];
};

static int collect_agent(const struct nl_store_agent *a, uint32_t node, void *arg)
{
    struct agent_rows *r = arg;
    snprintf(r->agent[r->n], sizeof(r->agent[0]), "%s", a->id);
    snprintf(r->instance[r->n], sizeof(r->instance[0]), "%s", a->instance);
    snprintf(r->root[r->n], sizeof(r->root[0]), "%s", a->output_root);
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
    const struct nl_store_agent a1 = {.id = "a", .instance = "aa01", .output_root = "/a/out"};
    const struct nl_store_agent b = {.id = "b", .emulated = true};
    const struct nl_store_agent a2 = {.id = "a", .instance = "aa02", .output_root = "/a/out2"};
    assert_int_equal(nl_store_agent_set(f->st, &a1, a_nodes, 3, NULL), 0);
    assert_int_equal(nl_store_agent_set(f->st, &b, b_nodes, 2, NULL), 0);
    assert_int_equal(nl_store_agent_set(f->st, &a2, a_again, 1, NULL), 0);
    commit(f->st);
    struct agent_rows r = {0};
    assert_int_equal(nl_store_agents_load(f->st, collect_agent, &r, NULL), 0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.agent[0], "a");
    assert_string_equal(r.instance[0], "aa02"); /* the latest registration's */
    assert_string_equal(r.root[0], "/a/out2");
    assert_int_equal(r.node[0], 1);
    assert_string_equal(r.agent[1], "b");
    assert_string_equal(r.instance[1], ""); /* none sent */
    assert_string_equal(r.root[1], "");
    assert_int_equal(r.node[1], 2);
    assert_int_equal(r.node[2], 3);

    /* An agent that loses all its nodes to another is forgotten. */
    const uint32_t all[] = {1, 2, 3};
    begin(f->st);
    const struct nl_store_agent c = {.id = "c", .instance = "cc"};
    assert_int_equal(nl_store_agent_set(f->st, &c, all, 3, NULL), 0);
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

/* ---- what open accepts: ours, new, or refused with the reason ---- */

static void write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* Close the fixture's store and overwrite 4 big-endian bytes of its header at off. */
static void poke_header(struct fixture *f, off_t off, uint32_t v)
{
    nl_store_close(f->st);
    f->st = NULL;
    int fd = open(f->path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    assert_int_equal(pwrite(fd, b, 4, off), 4);
    close(fd);
}

static void expect_refused(const char *path, const char *what)
{
    struct nl_store_opts opts = {.path = path};
    struct nl_err err = {0};
    assert_null(nl_store_open(&opts, &err));
    assert_int_equal(err.code, -EMEDIUMTYPE);
    if (strstr(err.msg, path) == NULL || strstr(err.msg, what) == NULL)
        fail_msg("expected '%s' naming %s, got: %s", what, path, err.msg);
}

static void test_open_refuses_empty_file(void **state)
{
    struct fixture *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/empty.db", f->dir);
    write_file(path, "", 0);
    expect_refused(path, "empty (0 bytes)");
    unlink(path);
}

static void test_open_refuses_non_sqlite_file(void **state)
{
    struct fixture *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/text.db", f->dir);
    const char text[] = "this is a log file, not a database, and it is long enough\n";
    write_file(path, text, sizeof(text) - 1);
    expect_refused(path, "not a SQLite database");
    unlink(path);
}

static void test_open_refuses_foreign_sqlite(void **state)
{
    struct fixture *f = *state;
    poke_header(f, 68, 0x12345678); /* application_id */
    expect_refused(f->path, "another application (application_id 0x12345678");
}

static void test_open_refuses_empty_sqlite(void **state)
{
    struct fixture *f = *state;
    nl_store_close(f->st);
    f->st = NULL;
    /* A valid SQLite header of a database with no tables (as sqlite3 leaves one). */
    unsigned char page[4096] = "SQLite format 3";
    page[16] = 0x10; /* page size 4096 */
    page[17] = 0x00;
    page[18] = page[19] = 1;
    page[21] = 64, page[22] = 32, page[23] = 32;
    page[31] = 1;     /* one page */
    page[47] = 4;     /* schema format 4 */
    page[59] = 1;     /* text encoding UTF-8 */
    page[100] = 0x0d; /* an empty table leaf: the schema */
    page[105] = 0x10; /* cell content starts at 4096 (0x1000) */
    char path[128];
    snprintf(path, sizeof(path), "%s/blank.db", f->dir);
    write_file(path, page, sizeof(page));
    expect_refused(path, "empty SQLite database (no tables)");
    unlink(path);
}

static void test_open_accepts_legacy_nordlys(void **state)
{
    struct fixture *f = *state;
    /* A version 2 database from before application_id: ours by its jobs table. */
    poke_header(f, 68, 0);
    poke_header(f, 60, 2);
    f->st = open_store(f->path);
    nl_store_close(f->st);
    f->st = NULL;
    /* The open has stamped it: foreign-looking version numbers no longer matter. */
    int fd = open(f->path, O_RDONLY);
    unsigned char b[4];
    assert_int_equal(pread(fd, b, 4, 68), 4);
    close(fd);
    assert_memory_equal(b, "NLYS", 4);
    f->st = open_store(f->path);
}

static void test_migration_adds_missing_limit_columns(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    uint64_t id = insert(f->st, "old", "t", 1);
    commit(f->st);
    nl_store_close(f->st);
    f->st = NULL;
    /* A version 2 database, as a build before the limits wrote it (the sqlite3 shell makes it). */
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "sqlite3 %s 'ALTER TABLE jobs DROP COLUMN memory_max_bytes;"
             " ALTER TABLE jobs DROP COLUMN pids_max; ALTER TABLE agents DROP COLUMN instance;"
             " ALTER TABLE agents DROP COLUMN output_root;"
             " DROP TABLE idempotency; DROP TABLE meta;"
             " PRAGMA application_id = 0; PRAGMA user_version = 2' 2>/dev/null",
             f->path);
    if (system("command -v sqlite3 > /dev/null 2>&1") != 0 || system(cmd) != 0)
        skip();
    f->st = open_store(f->path);
    struct nl_store_job j;
    nl_store_job_init(&j);
    assert_int_equal(nl_store_job_get(f->st, id, &j, NULL), 0);
    assert_int_equal(j.memory_max_bytes, 0); /* the old job: no limit */
    nl_store_job_release(&j);
    begin(f->st);
    uint64_t id2 = insert(f->st, "new", "t", 2);
    commit(f->st);
    assert_int_equal(nl_store_job_get(f->st, id2, &j, NULL), 0);
    assert_int_equal(j.memory_max_bytes, 5ull << 40);
    assert_int_equal(j.pids_max, 4096);
    nl_store_job_release(&j);
    struct nl_store_idem got;
    assert_int_equal(nl_store_idem_get(f->st, "t", "k", 0, &got, NULL), -ENOENT);
    /* agents.instance was added too. */
    const uint32_t nodes[] = {0};
    begin(f->st);
    const struct nl_store_agent a = {.id = "a", .instance = "ab", .output_root = "/out"};
    assert_int_equal(nl_store_agent_set(f->st, &a, nodes, 1, NULL), 0);
    commit(f->st);
}

static void test_init_moves_refused_file_aside(void **state)
{
    struct fixture *f = *state;
    char path[128], aside[160];
    snprintf(path, sizeof(path), "%s/init.db", f->dir);
    write_file(path, "", 0);
    struct nl_store_opts opts = {.path = path, .init = true};
    struct nl_err err = {0};
    struct nl_store *st = nl_store_open(&opts, &err);
    if (st == NULL)
        fail_msg("init: %s", err.msg);
    assert_int_equal(nl_store_last_id(st), 0);
    nl_store_close(st);
    /* The refused file is kept, not deleted. */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "ls %s/init.db.refused-* > /dev/null 2>&1", f->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "rm -f %s/init.db*", f->dir);
    assert_int_equal(system(cmd), 0);
    (void)aside;
}

static void test_init_keeps_a_nordlys_database(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    uint64_t id = insert(f->st, "kept", "t", 1);
    commit(f->st);
    nl_store_close(f->st);
    struct nl_store_opts opts = {.path = f->path, .init = true};
    f->st = nl_store_open(&opts, NULL);
    assert_non_null(f->st);
    assert_int_equal(nl_store_last_id(f->st), id);
}

static void test_ids_reserve_skips_used_ids(void **state)
{
    struct fixture *f = *state;
    nl_store_ids_reserve(f->st, 41);
    begin(f->st);
    assert_int_equal(insert(f->st, "a", "t", 1), 42);
    nl_store_rollback(f->st);
    begin(f->st);
    assert_int_equal(insert(f->st, "a", "t", 1), 42);
    commit(f->st);
    nl_store_ids_reserve(f->st, 10); /* below: no effect */
    begin(f->st);
    assert_int_equal(insert(f->st, "b", "t", 1), 43);
    commit(f->st);
}

/* ---- idempotency keys ---- */

static void test_idem_put_get_in_txn_and_after(void **state)
{
    struct fixture *f = *state;
    struct nl_store_idem got, put = {.created_us = 1000};
    snprintf(put.request_hash, sizeof(put.request_hash), "abc123");
    assert_int_equal(nl_store_idem_get(f->st, "t", "k1", 0, &got, NULL), -ENOENT);
    assert_int_equal(nl_store_idem_put(f->st, "t", "k1", &put, NULL), -EPERM);
    begin(f->st);
    put.job = insert(f->st, "a", "t", 1);
    assert_int_equal(nl_store_idem_put(f->st, "t", "k1", &put, NULL), 0);
    /* The transaction sees its own key: a retry in the same iteration finds it. */
    assert_int_equal(nl_store_idem_get(f->st, "t", "k1", 0, &got, NULL), 0);
    assert_int_equal(got.job, put.job);
    commit(f->st);
    assert_int_equal(nl_store_idem_get(f->st, "t", "k1", 0, &got, NULL), 0);
    assert_int_equal(got.job, put.job);
    assert_string_equal(got.request_hash, "abc123");
    assert_int_equal(got.created_us, 1000);
    /* Keys are per tenant. */
    assert_int_equal(nl_store_idem_get(f->st, "u", "k1", 0, &got, NULL), -ENOENT);
    /* Older than the window: not found, even before it is deleted. */
    assert_int_equal(nl_store_idem_get(f->st, "t", "k1", 1001, &got, NULL), -ENOENT);
}

static void test_idem_rolled_back_with_its_job(void **state)
{
    struct fixture *f = *state;
    struct nl_store_idem got, put = {.created_us = 5};
    begin(f->st);
    put.job = insert(f->st, "a", "t", 1);
    assert_int_equal(nl_store_idem_put(f->st, "t", "k", &put, NULL), 0);
    nl_store_rollback(f->st);
    assert_int_equal(nl_store_idem_get(f->st, "t", "k", 0, &got, NULL), -ENOENT);
}

static void test_idem_expire_in_bounded_batches(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    uint64_t job = insert(f->st, "a", "t", 1);
    for (int i = 0; i < 25; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        struct nl_store_idem put = {.job = job, .created_us = 100 + i};
        snprintf(put.request_hash, sizeof(put.request_hash), "h");
        assert_int_equal(nl_store_idem_put(f->st, "t", key, &put, NULL), 0);
    }
    commit(f->st);
    size_t n = 0;
    begin(f->st);
    assert_int_equal(nl_store_idem_expire(f->st, 120, 10, &n, NULL), 0);
    assert_int_equal(n, 10);
    assert_int_equal(nl_store_idem_expire(f->st, 120, 10, &n, NULL), 0);
    assert_int_equal(n, 10);
    assert_int_equal(nl_store_idem_expire(f->st, 120, 10, &n, NULL), 0);
    assert_int_equal(n, 0);
    commit(f->st);
    struct nl_store_idem got;
    assert_int_equal(nl_store_idem_get(f->st, "t", "k19", 0, &got, NULL), -ENOENT);
    assert_int_equal(nl_store_idem_get(f->st, "t", "k20", 0, &got, NULL), 0);
}

static void test_count_matches_list_filters(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    for (int i = 0; i < 7; i++)
        insert(f->st, "a", i % 2 ? "odd" : "even", i + 1);
    assert_int_equal(nl_store_job_set_state(f->st, 1, NL_JOB_CANCELLED, 9, NULL), 0);
    commit(f->st);
    uint64_t n = 0;
    struct nl_store_filter all = {0};
    assert_int_equal(nl_store_jobs_count(f->st, &all, &n, NULL), 0);
    assert_int_equal(n, 7);
    struct nl_store_filter pend = {.states = 1u << NL_JOB_PENDING, .limit = 1, .before_id = 2};
    assert_int_equal(nl_store_jobs_count(f->st, &pend, &n, NULL), 0);
    assert_int_equal(n, 6);
    struct nl_store_filter even = {.states = (1u << NL_JOB_PENDING) | (1u << NL_JOB_CANCELLED),
                                   .tenant = "even"};
    assert_int_equal(nl_store_jobs_count(f->st, &even, &n, NULL), 0);
    assert_int_equal(n, 4);
    struct nl_store_filter live_even = {.states = 1u << NL_JOB_PENDING, .tenant = "even"};
    assert_int_equal(nl_store_jobs_count(f->st, &live_even, &n, NULL), 0);
    assert_int_equal(n, 3);
    struct nl_store_filter odd = {.tenant = "odd"};
    assert_int_equal(nl_store_jobs_count(f->st, &odd, &n, NULL), 0);
    assert_int_equal(n, 3);
    struct nl_store_filter ended = {.states = 1u << NL_JOB_CANCELLED};
    assert_int_equal(nl_store_jobs_count(f->st, &ended, &n, NULL), 0);
    assert_int_equal(n, 1);
}

/* The first integer that the sqlite3 shell prints for sql on path; -1 without the shell. */
static long shell_int(const char *path, const char *sql)
{
    char cmd[768];
    snprintf(cmd, sizeof(cmd), "sqlite3 %s \"%s\" 2>/dev/null", path, sql);
    if (system("command -v sqlite3 > /dev/null 2>&1") != 0)
        return -1;
    FILE *p = popen(cmd, "r");
    long v = -1;
    if (p == NULL || fscanf(p, "%ld", &v) != 1)
        v = -1;
    if (p != NULL)
        pclose(p);
    return v;
}

/*
 * A job's start writes its row without building temporary b-trees for the
 * partial indexes' WHERE (schema version 5; bench/RESULTS.md, issue 9's
 * drain): only the state CHECK's list is left. A version 4 database, whose
 * indexes say IN, is migrated to that, and the counts through the indexes
 * stay right.
 */
static void test_start_builds_no_temp_btree_for_indexes(void **state)
{
    struct fixture *f = *state;
    begin(f->st);
    for (int i = 0; i < 4; i++)
        insert(f->st, "a", "t", i + 1);
    assert_int_equal(nl_store_job_set_state(f->st, 1, NL_JOB_CANCELLED, 9, NULL), 0);
    commit(f->st);
    nl_store_close(f->st);
    f->st = NULL;
    char cmd[768];
    /* As a version 4 build left it. */
    snprintf(cmd, sizeof(cmd),
             "sqlite3 %s \"DROP INDEX jobs_live; DROP INDEX jobs_ended;"
             " CREATE INDEX jobs_live ON jobs(id)"
             " WHERE state IN ('PENDING', 'RUNNING', 'PREEMPTING');"
             " CREATE INDEX jobs_ended ON jobs(state, tenant)"
             " WHERE state NOT IN ('PENDING', 'RUNNING', 'PREEMPTING');"
             " PRAGMA user_version = 4\" 2>/dev/null",
             f->path);
    if (shell_int(f->path, "SELECT 1") != 1 || system(cmd) != 0)
        skip();
    f->st = open_store(f->path);
    nl_store_close(f->st);
    f->st = NULL;
    assert_int_equal(shell_int(f->path, "PRAGMA user_version"), nl_store_schema_version());
    /* EXPLAIN's rows of the start's UPDATE that open a temporary b-tree: the CHECK's one. */
    long n = -1;
    snprintf(cmd, sizeof(cmd),
             "sqlite3 %s \"EXPLAIN UPDATE jobs SET state = 'RUNNING', start_us = 5,"
             " runs = runs + 1 WHERE id = 2\" | grep -c OpenEphemeral",
             f->path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%ld", &n), 1);
    pclose(p);
    assert_int_equal(n, 1);
    f->st = open_store(f->path);
    uint64_t count = 0;
    struct nl_store_filter ended = {.states = 1u << NL_JOB_CANCELLED};
    assert_int_equal(nl_store_jobs_count(f->st, &ended, &count, NULL), 0);
    assert_int_equal(count, 1);
    struct nl_store_filter pend = {.states = 1u << NL_JOB_PENDING};
    assert_int_equal(nl_store_jobs_count(f->st, &pend, &count, NULL), 0);
    assert_int_equal(count, 3);
    begin(f->st);
    uint32_t run = 0;
    const struct nl_alloc_node a = {.node = 0, .mask = 1};
    assert_int_equal(nl_store_job_start(f->st, 2, 10, &a, 1, &run, NULL), 0);
    assert_int_equal(run, 1);
    assert_int_equal(nl_store_job_start(f->st, 99, 10, &a, 1, &run, NULL), -ENOENT);
    commit(f->st);
    assert_int_equal(nl_store_jobs_count(f->st, &pend, &count, NULL), 0);
    assert_int_equal(count, 2);
}

static void test_probe_commits_on_a_healthy_store(void **state)
{
    struct fixture *f = *state;
    struct nl_err err = {0};
    if (nl_store_probe(f->st, &err) < 0)
        fail_msg("probe: %s", err.msg);
    begin(f->st);
    assert_int_equal(nl_store_probe(f->st, NULL), -EBUSY);
    nl_store_rollback(f->st);
}

struct audit_rows {
    size_t n;
    uint64_t seq[4];
    char line[4][64];
};

static int audit_row(uint64_t seq, const char *line, size_t len, void *arg)
{
    struct audit_rows *r = arg;
    if (r->n < 4) {
        r->seq[r->n] = seq;
        snprintf(r->line[r->n], sizeof(r->line[0]), "%.*s", (int)len, line);
    }
    r->n++;
    return 0;
}

/*
 * Audit rows: inserted in a transaction only, read back in seq order, the
 * last one found after a reopen; a seq is never replaced; a rollback takes
 * rows away.
 */
static void test_audit_rows(void **state)
{
    struct fixture *f = *state;
    struct nl_err err = {0};
    uint64_t seq = 99;
    char *line = (char *)"x";
    assert_int_equal(nl_store_audit_last(f->st, &seq, &line, &err), 0);
    assert_int_equal(seq, 0);
    assert_null(line);
    assert_int_equal(nl_store_audit_append(f->st, 1, "{}", 2, &err), -EPERM);
    assert_int_equal(nl_store_begin(f->st, &err), 0);
    assert_int_equal(nl_store_audit_append(f->st, 1, "{\"seq\":1}xx", 9, &err), 0);
    assert_int_equal(nl_store_audit_append(f->st, 2, "{\"seq\":2}", 9, &err), 0);
    assert_int_equal(nl_store_txn_writes(f->st), 2);
    assert_int_equal(nl_store_commit(f->st, &err), 0);
    assert_int_equal(nl_store_begin(f->st, &err), 0);
    assert_true(nl_store_audit_append(f->st, 2, "{\"seq\":2,\"x\":1}", 15, &err) < 0);
    nl_store_rollback(f->st);
    assert_int_equal(nl_store_begin(f->st, &err), 0);
    assert_int_equal(nl_store_audit_append(f->st, 3, "{\"seq\":3}", 9, &err), 0);
    nl_store_rollback(f->st);
    nl_store_close(f->st);
    f->st = open_store(f->path);
    assert_int_equal(nl_store_audit_last(f->st, &seq, &line, &err), 0);
    assert_int_equal(seq, 2);
    assert_string_equal(line, "{\"seq\":2}");
    free(line);
    struct audit_rows r = {0};
    assert_int_equal(nl_store_audit_walk(f->st, 0, audit_row, &r, &err), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.seq[0], 1);
    assert_string_equal(r.line[0], "{\"seq\":1}");
    assert_string_equal(r.line[1], "{\"seq\":2}");
    memset(&r, 0, sizeof(r));
    assert_int_equal(nl_store_audit_walk(f->st, 1, audit_row, &r, &err), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.seq[0], 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_open_sets_schema_version, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_audit_rows, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_open_refuses_newer_schema, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_open_bad_path_names_it, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_write_outside_txn_fails, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_insert_ids_never_reused, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_rollback_discards, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_next_id_names_the_insert, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_get_roundtrips_every_field, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_start_requeue_end_lifecycle, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_update_missing_job_is_enoent, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_live_loads_only_live_jobs_in_order, setup,
                                            fixture_teardown),
            cmocka_unit_test_setup_teardown(test_list_filters_newest_first, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_walk_stops_on_callback_value, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_agents_replace_and_take_nodes, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_usage_sums_ended_runs, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_commit_survives_sigkill, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_open_refuses_empty_file, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_open_refuses_non_sqlite_file, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_open_refuses_foreign_sqlite, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_open_refuses_empty_sqlite, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_open_accepts_legacy_nordlys, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_start_builds_no_temp_btree_for_indexes, setup,
                                            fixture_teardown),
            cmocka_unit_test_setup_teardown(test_migration_adds_missing_limit_columns, setup,
                                            fixture_teardown),
            cmocka_unit_test_setup_teardown(test_init_moves_refused_file_aside, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_init_keeps_a_nordlys_database, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_ids_reserve_skips_used_ids, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_idem_put_get_in_txn_and_after, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_idem_rolled_back_with_its_job, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_idem_expire_in_bounded_batches, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_count_matches_list_filters, setup, fixture_teardown),
            cmocka_unit_test_setup_teardown(test_probe_commits_on_a_healthy_store, setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
