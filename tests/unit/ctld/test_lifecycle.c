/* SPDX-License-Identifier: MIT */
/*
 * test_lifecycle.c - a job's life in the controller, without daemons: the
 * real controller (ctld_create: scheduler, SQLite store in a temporary
 * directory, node table, run table), driven through the same functions the
 * HTTP handlers call (job_request_parse + jobs_submit, agents_register,
 * agents_sync, life_cancel) and the same timed work the loop runs.
 *
 * Time moves by ctld_clock_raise, so node timeouts are reached without
 * waiting. Restart and reload destroy the controller and build a fresh one
 * from the same state directory.
 *
 * Covered: submit, start (a pass), launch environment, exit, cancel with
 * the job's grace, preemption, PREEMPTING restored on restart, node loss,
 * restart and reload (a launch lost with the old controller is relaunched
 * with the same run number), exclusive node ownership, a restarted agent
 * (its runs requeued at once), delta syncs.
 */
/* cmocka.h needs the standard headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "ctld/agents.h"
#include "ctld/config.h"
#include "ctld/ctld.h"
#include "ctld/fault.h"
#include "ctld/job_json.h"
#include "ctld/life.h"
#include "ctld/nodes.h"
#include "ctld/now.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "store/store.h"

/* The test speaks for its agents from loopback with a credential that covers every node. */
static const struct agents_caller local_caller = {.peer = "127.0.0.1"};

#define SEC 1000000LL

struct fx {
    char dir[64];
    struct ctld_config cfg;
    struct ctld *c;
    char node[4][64]; /* the dev facility's four nodes */
};

static void fx_open(struct fx *f)
{
    struct nl_err err = {0};
    f->c = ctld_create(&f->cfg, &err);
    if (f->c == NULL)
        fail_msg("ctld_create: %s", err.msg);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/nl-lifecycle-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->cfg.facility = "dev";
    f->cfg.tenants = "";
    f->cfg.state_dir = f->dir;
    f->cfg.listen = "127.0.0.1:0";
    f->cfg.sched_interval_ms = 10;
    f->cfg.node_timeout_ms = 5000;
    f->cfg.sync_interval_ms = 100;
    f->cfg.synchronous = "normal";
    fx_open(f);
    assert_int_equal(nl_facility_nodes(f->c->fac), 4);
    for (uint32_t i = 0; i < 4; i++)
        nl_facility_node_name(f->c->fac, i, f->node[i], sizeof(f->node[i]));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ctld_destroy(f->c);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* A restart: the old controller is gone (as after SIGKILL, its writes committed), a new one
 * reloads. */
static void fx_restart(struct fx *f)
{
    ctld_destroy(f->c);
    fx_open(f);
}

static void advance(struct fx *f, int64_t us)
{
    now_raise(&f->c->clock, f->c->clock.us + us);
}

/* One loop iteration's end: commit, then timers (node timeouts, lost runs, a pass). */
static void tick(struct fx *f)
{
    ctld_commit(f->c);
    f->c->next_check_us = 0;
    f->c->next_pass_us = 0;
    life_mark_dirty(f->c->life);
    ctld_timers(f->c);
    ctld_commit(f->c);
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (v == NULL)
        fail_msg("bad test JSON: %s: %s", jerr.text, text);
    return v;
}

static uint64_t submit(struct fx *f, const char *body)
{
    json_t *b = parse(body);
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct fault fault = {0};
    struct nl_err err = {0};
    if (job_request_parse(b, f->c->tenants, &rec, &fault) < 0)
        fail_msg("request refused: %s", fault.msg);
    assert_int_equal(nl_sched_validate(f->c->sched, &rec.spec, &err), 0);
    rec.submit_us = now_read(&f->c->clock);
    assert_int_equal(life_submit(f->c->life, &rec, &err), 0);
    uint64_t id = rec.id;
    nl_store_job_release(&rec);
    json_decref(b);
    ctld_commit(f->c);
    return id;
}

/* Register agent (instance may be NULL) for nodes "0 1 .."; returns 0 or the error code. */
static int reg(struct fx *f, const char *agent, const char *instance, const char *idx,
               struct fault *fault)
{
    char body[1024];
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"agent\":\"%s\",", agent);
    if (instance != NULL)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "\"instance\":\"%s\",", instance);
    n += (size_t)snprintf(body + n, sizeof(body) - n, "\"nodes\":[");
    for (const char *p = idx; *p; p++)
        if (*p >= '0' && *p <= '3')
            n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"%s\"",
                                  body[n - 1] == '[' ? "" : ",", f->node[*p - '0']);
    snprintf(body + n, sizeof(body) - n, "]}");
    json_t *b = parse(body), *answer = NULL;
    struct fault local = {0};
    int rc = agents_register(f->c->agents, b, &local_caller, &answer, fault ? fault : &local);
    json_decref(answer);
    json_decref(b);
    ctld_commit(f->c);
    return rc;
}

/* One sync; extra is the rest of the body (",\"running\":[...]"); returns the answer. */
static json_t *sync_agent(struct fx *f, const char *agent, const char *extra)
{
    char body[4096];
    snprintf(body, sizeof(body), "{\"agent_id\":\"%s\"%s}", agent, extra);
    json_t *b = parse(body), *answer = NULL;
    struct fault fault = {0};
    now_read(&f->c->clock);
    if (agents_sync(f->c->agents, b, &local_caller, &answer, &fault) < 0)
        fail_msg("sync refused: %s", fault.msg);
    json_decref(b);
    ctld_commit(f->c);
    return answer;
}

static enum nl_job_state stored_state(struct fx *f, uint64_t id, uint32_t *runs)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    assert_int_equal(nl_store_job_get(f->c->store, id, &rec, &err), 0);
    enum nl_job_state s = rec.state;
    if (runs != NULL)
        *runs = rec.runs;
    nl_store_job_release(&rec);
    return s;
}

/* The launch for job in answer (borrowed), or NULL. */
static const json_t *launch_of(const json_t *answer, uint64_t job)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(answer, "launch"), i,
                       l) if ((uint64_t)json_integer_value(json_object_get(l, "job")) ==
                              job) return l;
    return NULL;
}

static const json_t *kill_of(const json_t *answer, uint64_t job)
{
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(answer, "kill"), i,
                       k) if ((uint64_t)json_integer_value(json_object_get(k, "job")) ==
                              job) return k;
    return NULL;
}

static const char *env_of(const json_t *launch, const char *name)
{
    return json_string_value(json_object_get(json_object_get(launch, "env"), name));
}

/* Register "a" on all four nodes, submit a job, start it, deliver its launch. */
static uint64_t start_one(struct fx *f, const char *request, json_t **answer)
{
    uint64_t id = submit(f, request);
    assert_int_equal(stored_state(f, id, NULL), NL_JOB_PENDING);
    tick(f);
    assert_int_equal(stored_state(f, id, NULL), NL_JOB_RUNNING);
    *answer = sync_agent(f, "a", "");
    assert_non_null(launch_of(*answer, id));
    return id;
}

static void running_entry(char *buf, size_t size, const json_t *launch)
{
    snprintf(buf, size, "{\"job\":%lld,\"run\":%lld,\"node\":\"%s\"}",
             (long long)json_integer_value(json_object_get(launch, "job")),
             (long long)json_integer_value(json_object_get(launch, "run")),
             json_string_value(json_object_get(launch, "node")));
}

static void test_submit_start_exit(void **state)
{
    struct fx *f = *state;
    assert_int_equal(reg(f, "a", "aa01", "0123", NULL), 0);
    json_t *answer;
    uint64_t id = start_one(f, "{\"gpus\":8,\"command\":[\"true\"],\"grace_s\":3}", &answer);
    assert_int_equal(json_array_size(json_object_get(answer, "launch")), 2);
    const json_t *l = launch_of(answer, id);
    /* torch.distributed's env:// works unmodified. */
    assert_string_equal(env_of(l, "WORLD_SIZE"), "2");
    assert_string_equal(env_of(l, "NORDLYS_WORLD_SIZE"), "2");
    assert_string_equal(env_of(l, "RANK"), env_of(l, "NODE_RANK"));
    assert_string_equal(env_of(l, "GROUP_RANK"), env_of(l, "NODE_RANK"));
    assert_string_equal(env_of(l, "NORDLYS_RANK"), env_of(l, "NODE_RANK"));
    assert_string_equal(env_of(l, "LOCAL_RANK"), "0");
    assert_string_equal(env_of(l, "NORDLYS_LOCAL_RANK"), "0");
    assert_string_equal(env_of(l, "LOCAL_WORLD_SIZE"), "1");
    assert_non_null(env_of(l, "MASTER_ADDR"));
    /*
     * MASTER_PORT: the run's port under this controller's salt, from the
     * first GPU rank 0 holds on its node; the same for both ranks.
     */
    const json_t *l2 = json_array_get(json_object_get(answer, "launch"), 1);
    const json_t *r0 = strcmp(env_of(l, "NODE_RANK"), "0") == 0 ? l : l2;
    unsigned first = (unsigned)atoi(env_of(r0, "NORDLYS_NODE_GPUS"));
    char port[16];
    snprintf(port, sizeof(port), "%u",
             life_master_port(life_master_port_salt(f->dir), id, (uint8_t)(1u << first)));
    assert_string_equal(env_of(l, "MASTER_PORT"), port);
    assert_string_equal(env_of(l2, "MASTER_PORT"), port);
    /* Both ranks exit 0, one sync each: COMPLETED. */
    char exits[1024];
    size_t i;
    json_t *e;
    size_t n = (size_t)snprintf(exits, sizeof(exits), ",\"exits\":[");
    json_array_foreach(json_object_get(answer, "launch"), i, e) n += (size_t)snprintf(
            exits + n, sizeof(exits) - n,
            "%s{\"job\":%llu,\"run\":1,\"node\":\"%s\",\"exit_code\":0}", i ? "," : "",
            (unsigned long long)id, json_string_value(json_object_get(e, "node")));
    snprintf(exits + n, sizeof(exits) - n, "]");
    json_decref(answer);
    json_decref(sync_agent(f, "a", exits));
    assert_int_equal(stored_state(f, id, NULL), NL_JOB_COMPLETED);
}

/* An agent's exit reason with control characters is stored escaped. */
static void test_exit_reason_escaped(void **state)
{
    struct fx *f = *state;
    assert_int_equal(reg(f, "a", NULL, "0123", NULL), 0);
    json_t *answer;
    uint64_t id = start_one(f, "{\"gpus\":4,\"command\":[\"nope\"]}", &answer);
    const json_t *l = launch_of(answer, id);
    char body[512];
    snprintf(body, sizeof(body),
             ",\"exits\":[{\"job\":%llu,\"run\":1,\"node\":\"%s\",\"exit_code\":127,"
             "\"reason\":\"exec: \\u001b[31mno such file\"}]",
             (unsigned long long)id, json_string_value(json_object_get(l, "node")));
    json_decref(answer);
    json_decref(sync_agent(f, "a", body));
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    assert_int_equal(nl_store_job_get(f->c->store, id, &rec, &err), 0);
    assert_int_equal(rec.state, NL_JOB_FAILED);
    assert_string_equal(rec.exit_reason, "exec: \\x1b[31mno such file");
    nl_store_job_release(&rec);
}

static void test_cancel_uses_job_grace(void **state)
{
    struct fx *f = *state;
    assert_int_equal(reg(f, "a", "aa01", "0123", NULL), 0);
    json_t *answer;
    uint64_t id =
            start_one(f, "{\"gpus\":4,\"command\":[\"sleep\",\"100\"],\"grace_s\":7}", &answer);
    char running[256], body[512];
    running_entry(running, sizeof(running), launch_of(answer, id));
    json_decref(answer);
    struct nl_err err = {0};
    assert_int_equal(life_cancel(f->c->life, id, &err), 1);
    tick(f);
    snprintf(body, sizeof(body), ",\"running\":[%s]", running);
    answer = sync_agent(f, "a", body);
    const json_t *k = kill_of(answer, id);
    assert_non_null(k);
    assert_int_equal(json_integer_value(json_object_get(k, "grace_s")), 7);
    assert_string_equal(json_string_value(json_object_get(k, "reason")), "cancel");
    json_decref(answer);
    /* No resend before grace + node timeout; one after, by the clock alone. */
    advance(f, 2 * SEC);
    tick(f);
    answer = sync_agent(f, "a", body);
    assert_null(kill_of(answer, id));
    json_decref(answer);
    for (int i = 0; i < 4; i++) { /* keep the agent alive across 12 s */
        advance(f, 3 * SEC);
        json_decref(sync_agent(f, "a", body));
    }
    tick(f);
    answer = sync_agent(f, "a", body);
    assert_non_null(kill_of(answer, id));
    json_decref(answer);
    /* The rank ends on SIGTERM, on the node the scheduler chose. */
    json_t *r = parse(running);
    snprintf(body, sizeof(body),
             ",\"exits\":[{\"job\":%llu,\"run\":1,\"node\":\"%s\",\"signal\":15}]",
             (unsigned long long)id, json_string_value(json_object_get(r, "node")));
    json_decref(r);
    json_decref(sync_agent(f, "a", body));
    assert_int_equal(stored_state(f, id, NULL), NL_JOB_CANCELLED);
}

/*
 * A borrower (uk, quota 0) holds all 16 GPUs; a sovereign job within its
 * quota arrives: the borrower is PREEMPTING and killed with its own grace;
 * after a controller restart it is PREEMPTING still, its kill goes out
 * again, and its exit requeues it.
 */
static void test_preempt_and_restart(void **state)
{
    struct fx *f = *state;
    assert_int_equal(reg(f, "a", "aa01", "0123", NULL), 0);
    json_t *answer;
    uint64_t b = start_one(f,
                           "{\"tenant\":\"uk\",\"gpus\":16,\"command\":[\"sleep\",\"100\"],"
                           "\"grace_s\":3,\"requeue\":true,\"preemptible\":true}",
                           &answer);
    char running[4][256], body[1200];
    size_t i, n = 0;
    json_t *l;
    json_array_foreach(json_object_get(answer, "launch"), i, l)
            running_entry(running[i], sizeof(running[i]), l);
    assert_int_equal(json_array_size(json_object_get(answer, "launch")), 4);
    json_decref(answer);
    snprintf(body, sizeof(body), ",\"running\":[%s,%s,%s,%s]", running[0], running[1], running[2],
             running[3]);
    uint64_t s = submit(f, "{\"tenant\":\"nor-research\",\"gpus\":4,\"command\":[\"true\"]}");
    tick(f);
    assert_int_equal(stored_state(f, b, NULL), NL_JOB_PREEMPTING);
    answer = sync_agent(f, "a", body);
    const json_t *k = kill_of(answer, b);
    assert_non_null(k);
    assert_int_equal(json_integer_value(json_object_get(k, "grace_s")), 3);
    assert_string_equal(json_string_value(json_object_get(k, "reason")), "preempt");
    json_decref(answer);

    fx_restart(f);
    struct nl_job_info info;
    assert_int_equal(nl_sched_job_info(f->c->sched, b, &info), 0);
    assert_int_equal(info.state, NL_JOB_PREEMPTING);
    /* Planned with its grace's end, not its time limit's. */
    assert_true(info.expect_end_us <= f->c->clock.us + 3 * SEC + SEC);
    /* The kill is repeated in the answer to the first sync that lists the run. */
    answer = sync_agent(f, "a", body);
    assert_true(json_is_false(json_object_get(answer, "full_next")));
    k = kill_of(answer, b);
    assert_non_null(k);
    assert_int_equal(json_integer_value(json_object_get(k, "grace_s")), 3);
    assert_string_equal(json_string_value(json_object_get(k, "reason")), "preempt");
    json_decref(answer);
    tick(f); /* and not again before its grace and a node timeout have passed */
    answer = sync_agent(f, "a", body);
    assert_null(kill_of(answer, b));
    json_decref(answer);
    n = (size_t)snprintf(body, sizeof(body), ",\"exits\":[");
    for (int r = 0; r < 4; r++) {
        json_t *e = parse(running[r]);
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "%s{\"job\":%llu,\"run\":1,\"node\":\"%s\",\"signal\":15}",
                              r ? "," : "", (unsigned long long)b,
                              json_string_value(json_object_get(e, "node")));
        json_decref(e);
    }
    snprintf(body + n, sizeof(body) - n, "]");
    json_decref(sync_agent(f, "a", body));
    assert_int_equal(stored_state(f, b, NULL), NL_JOB_PENDING);
    tick(f);
    assert_int_equal(stored_state(f, s, NULL), NL_JOB_RUNNING);
}

/* An agent silent for node-timeout-ms: its nodes go down, its job is requeued (it asked). */
static void test_node_loss(void **state)
{
    struct fx *f = *state;
    assert_int_equal(reg(f, "a", "aa01", "0123", NULL), 0);
    json_t *answer;
    uint64_t id =
            start_one(f, "{\"gpus\":4,\"command\":[\"sleep\",\"100\"],\"requeue\":true}", &answer);
    uint64_t once = submit(f, "{\"gpus\":4,\"command\":[\"sleep\",\"100\"],\"requeue\":false}");
    tick(f);
    json_decref(answer);
    answer = sync_agent(f, "a", "");
    json_decref(answer);
    assert_int_equal(stored_state(f, once, NULL), NL_JOB_RUNNING);
    advance(f, 6 * SEC);
    tick(f);
    assert_int_equal(nodes_state(f->c->nodes, 0), NODE_DOWN);
    uint32_t runs = 0;
    assert_int_equal(stored_state(f, id, &runs), NL_JOB_PENDING);
    assert_int_equal(runs, 1);
    assert_int_equal(stored_state(f, once, NULL), NL_JOB_NODE_FAIL);
}

/*
 * Restart and reload: a run its agent lists stays RUNNING; a run whose
 * launch was lost with the old controller is launched again (same run
 * number) at the agent's first full sync.
 */
static void test_restart_reload(void **state)
{
    struct fx *f = *state;
    assert_int_equal(reg(f, "a", "aa01", "0123", NULL), 0);
    json_t *answer;
    uint64_t kept = start_one(f, "{\"gpus\":4,\"command\":[\"sleep\",\"100\"]}", &answer);
    char running[256], body[512];
    running_entry(running, sizeof(running), launch_of(answer, kept));
    json_decref(answer);
    uint64_t lost_launch = submit(f, "{\"gpus\":4,\"command\":[\"sleep\",\"100\"]}");
    tick(f); /* started and committed, but its launch never reaches the agent */
    assert_int_equal(stored_state(f, lost_launch, NULL), NL_JOB_RUNNING);

    fx_restart(f);
    assert_int_equal(life_run_count(f->c->life), 2);
    /* A delta first: the controller needs the complete list, and relaunches nothing yet. */
    snprintf(body, sizeof(body), ",\"seq\":9,\"full\":false,\"running\":[]");
    answer = sync_agent(f, "a", body);
    assert_true(json_is_true(json_object_get(answer, "full_next")));
    assert_null(launch_of(answer, lost_launch));
    json_decref(answer);
    snprintf(body, sizeof(body), ",\"seq\":10,\"full\":true,\"running\":[%s]", running);
    answer = sync_agent(f, "a", body);
    assert_true(json_is_false(json_object_get(answer, "full_next")));
    assert_null(launch_of(answer, kept));
    assert_null(kill_of(answer, kept));
    const json_t *l = launch_of(answer, lost_launch);
    assert_non_null(l);
    assert_int_equal(json_integer_value(json_object_get(l, "run")), 1);
    json_decref(answer);
    assert_int_equal(stored_state(f, kept, NULL), NL_JOB_RUNNING);
    assert_int_equal(stored_state(f, lost_launch, NULL), NL_JOB_RUNNING);
}

/* Ownership: a live agent's nodes and name are its own; a dead owner's node may be taken. */
static void test_node_ownership(void **state)
{
    struct fx *f = *state;
    struct fault fault = {0};
    assert_int_equal(reg(f, "a", "aa01", "01", NULL), 0);
    assert_int_equal(reg(f, "b", "bb01", "12", &fault), -EBUSY);
    assert_string_equal(fault.code, "node_owned");
    assert_non_null(strstr(fault.msg, f->node[1]));
    assert_non_null(strstr(fault.msg, "'a'"));
    memset(&fault, 0, sizeof(fault));
    assert_int_equal(reg(f, "a", "cc01", "23", &fault), -EBUSY);
    assert_string_equal(fault.code, "agent_name_in_use");
    assert_int_equal(reg(f, "a", NULL, "23", &fault), -EBUSY); /* a legacy agent: unique */
    assert_int_equal(reg(f, "b", "bb01", "23", NULL), 0);
    /* Control characters in a name are refused, naming the field. */
    memset(&fault, 0, sizeof(fault));
    assert_int_equal(reg(f, "x\\ty", "dd01", "", &fault), -EINVAL);
    assert_string_equal(fault.field, "agent");
    /* a falls silent: b may take its node. */
    advance(f, 3 * SEC);
    json_decref(sync_agent(f, "b", ""));
    advance(f, 3 * SEC);
    assert_int_equal(reg(f, "b", "bb01", "123", NULL), 0);
    assert_string_equal(nodes_node_agent(f->c->nodes, 1), "b");
    assert_string_equal(nodes_node_agent(f->c->nodes, 0), "a");
}

/*
 * After a controller restart, an agent not heard from yet keeps its nodes
 * for node-timeout-ms against other agents, and its name against other
 * instances (the store keeps its instance); the same instance restarted
 * takes its name back at once. A legacy agent's name (no instance) is free.
 */
static void test_reloaded_owner(void **state)
{
    struct fx *f = *state;
    struct fault fault = {0};
    assert_int_equal(reg(f, "a", "aa01", "01", NULL), 0);
    assert_int_equal(reg(f, "l", NULL, "3", NULL), 0);
    fx_restart(f);
    assert_int_equal(reg(f, "b", "bb01", "12", &fault), -EBUSY);
    assert_string_equal(fault.code, "node_owned");
    assert_non_null(strstr(fault.msg, "controller restart"));
    memset(&fault, 0, sizeof(fault));
    assert_int_equal(reg(f, "a", "aa02", "01", &fault), -EBUSY);
    assert_string_equal(fault.code, "agent_name_in_use");
    assert_non_null(strstr(fault.msg, "controller restart"));
    assert_int_equal(reg(f, "a", NULL, "01", &fault), -EBUSY);
    assert_int_equal(reg(f, "a", "AA01", "01", NULL), 0); /* hex, any case */
    assert_int_equal(reg(f, "l", NULL, "3", NULL), 0);
    fx_restart(f);
    advance(f, 6 * SEC);
    assert_int_equal(reg(f, "b", "bb01", "12", NULL), 0);
    assert_string_equal(nodes_node_agent(f->c->nodes, 1), "b");
}

/* A restarted agent (same instance) is accepted, and its runs are lost at once: requeued. */
static void test_agent_restart_requeues(void **state)
{
    struct fx *f = *state;
    assert_int_equal(reg(f, "a", "aa01", "0123", NULL), 0);
    json_t *answer;
    uint64_t id =
            start_one(f, "{\"gpus\":4,\"command\":[\"sleep\",\"100\"],\"requeue\":true}", &answer);
    char running[256], body[512];
    running_entry(running, sizeof(running), launch_of(answer, id));
    json_decref(answer);
    assert_int_equal(reg(f, "a", "aa01", "0123", NULL), 0);
    uint32_t runs = 0;
    assert_int_equal(stored_state(f, id, &runs), NL_JOB_PENDING);
    /* Started again (run 2); a kill, if any, is for the old run only. */
    tick(f);
    assert_int_equal(stored_state(f, id, &runs), NL_JOB_RUNNING);
    assert_int_equal(runs, 2);
    answer = sync_agent(f, "a", "");
    const json_t *l = launch_of(answer, id);
    assert_non_null(l);
    assert_int_equal(json_integer_value(json_object_get(l, "run")), 2);
    const json_t *k = kill_of(answer, id);
    assert_true(k == NULL || json_integer_value(json_object_get(k, "run")) == 1);
    json_decref(answer);
    /* Should the old run still be listed, it is killed, never kept. */
    snprintf(body, sizeof(body), ",\"running\":[%s]", running);
    answer = sync_agent(f, "a", body);
    assert_non_null(kill_of(answer, id));
    json_decref(answer);
}

/*
 * Delta syncs: runs not mentioned are still running and the agent is
 * alive; a delta that does not move seq forward asks for a full list.
 */
static void test_delta_sync(void **state)
{
    struct fx *f = *state;
    assert_int_equal(reg(f, "a", "aa01", "0123", NULL), 0);
    json_t *answer;
    uint64_t id =
            start_one(f, "{\"gpus\":4,\"command\":[\"sleep\",\"100\"],\"requeue\":false}", &answer);
    char running[256], body[512];
    running_entry(running, sizeof(running), launch_of(answer, id));
    json_decref(answer);
    snprintf(body, sizeof(body), ",\"seq\":1,\"full\":true,\"running\":[%s]", running);
    answer = sync_agent(f, "a", body);
    assert_true(json_is_false(json_object_get(answer, "full_next")));
    json_decref(answer);
    for (int seq = 2; seq < 6; seq++) { /* 12 s of deltas: longer than node-timeout-ms */
        advance(f, 3 * SEC);
        snprintf(body, sizeof(body), ",\"seq\":%d,\"full\":false", seq);
        answer = sync_agent(f, "a", body);
        assert_true(json_is_false(json_object_get(answer, "full_next")));
        json_decref(answer);
        tick(f);
    }
    assert_int_equal(stored_state(f, id, NULL), NL_JOB_RUNNING);
    answer = sync_agent(f, "a", ",\"seq\":5,\"full\":false");
    assert_true(json_is_true(json_object_get(answer, "full_next")));
    json_decref(answer);
    /* A full list without the run: it is gone, and lost after node-timeout-ms. */
    answer = sync_agent(f, "a", ",\"seq\":6,\"full\":true,\"running\":[]");
    json_decref(answer);
    for (int seq = 7; seq < 10; seq++) {
        advance(f, 3 * SEC);
        snprintf(body, sizeof(body), ",\"seq\":%d,\"full\":false", seq);
        json_decref(sync_agent(f, "a", body));
        tick(f);
    }
    assert_int_equal(stored_state(f, id, NULL), NL_JOB_NODE_FAIL);
}

/*
 * A launch whose answer was lost: deltas that never list it do not vouch
 * for it, so it is lost after node-timeout-ms as with full lists.
 */
static void test_delta_lost_launch(void **state)
{
    struct fx *f = *state;
    assert_int_equal(reg(f, "a", "aa01", "0123", NULL), 0);
    json_decref(sync_agent(f, "a", ",\"seq\":1,\"full\":true,\"running\":[]"));
    uint64_t id = submit(f, "{\"gpus\":4,\"command\":[\"true\"],\"requeue\":false}");
    tick(f);
    json_t *answer = sync_agent(f, "a", ",\"seq\":2,\"full\":false");
    assert_non_null(launch_of(answer, id)); /* and the answer is lost on the way */
    json_decref(answer);
    char body[128];
    for (int seq = 3; seq < 7; seq++) {
        advance(f, 2 * SEC);
        snprintf(body, sizeof(body), ",\"seq\":%d,\"full\":false", seq);
        json_decref(sync_agent(f, "a", body));
        tick(f);
    }
    assert_int_equal(stored_state(f, id, NULL), NL_JOB_NODE_FAIL);
}

/* Request fields: memory_mb and pids_max, checked and kept; control characters refused. */
static void test_request_limits(void **state)
{
    struct fx *f = *state;

    static const struct {
        const char *body, *field;
    } bad[] = {
            {"{\"command\":[\"x\"],\"memory_mb\":0}", "memory_mb"},
            {"{\"command\":[\"x\"],\"memory_mb\":16777217}", "memory_mb"},
            {"{\"command\":[\"x\"],\"memory_mb\":1.5}", "memory_mb"},
            {"{\"command\":[\"x\"],\"pids_max\":0}", "pids_max"},
            {"{\"command\":[\"x\"],\"pids_max\":4194305}", "pids_max"},
            {"{\"command\":[\"x\"],\"name\":\"a\\u0007b\"}", "name"},
            {"{\"command\":[\"x\"],\"env\":{\"A\\u0001\":\"v\"}}", "env.A\\x01"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *b = parse(bad[i].body);
        struct nl_store_job rec;
        nl_store_job_init(&rec);
        struct fault fault = {0};
        assert_int_equal(job_request_parse(b, f->c->tenants, &rec, &fault), -EINVAL);
        assert_string_equal(fault.field, bad[i].field);
        assert_non_null(strstr(fault.msg, bad[i].field));
        nl_store_job_release(&rec);
        json_decref(b);
    }
    json_t *b = parse("{\"command\":[\"x\"],\"memory_mb\":2048,\"pids_max\":100}");
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct fault fault = {0};
    assert_int_equal(job_request_parse(b, f->c->tenants, &rec, &fault), 0);
    assert_true(rec.memory_max_bytes == 2048ull * 1024 * 1024);
    assert_int_equal(rec.pids_max, 100);
    json_t *o = job_json(f->c, &rec);
    assert_int_equal(json_integer_value(json_object_get(o, "memory_mb")), 2048);
    assert_int_equal(json_integer_value(json_object_get(o, "pids_max")), 100);
    json_decref(o);
    nl_store_job_release(&rec);
    json_decref(b);
}

/* The JOB object's stdout of job id (a new string). */
static char *job_stdout(struct fx *f, uint64_t id)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    assert_int_equal(nl_store_job_get(f->c->store, id, &rec, &err), 0);
    json_t *o = job_json(f->c, &rec);
    char *out = strdup(json_string_value(json_object_get(o, "stdout")));
    json_decref(o);
    nl_store_job_release(&rec);
    return out;
}

/*
 * Output paths: relative by default (each agent puts them under its own
 * --output-root), shown whole once the job's agent said where its root is
 * (kept across a restart); absolute under the controller's --output-root.
 */
/*
 * MASTER_PORT = 20000 + 1250 x G + (job + salt) mod 1250, G the first GPU
 * rank 0 holds on its node: in 20000..29999, never in the kernel's
 * ephemeral range (32768 and up), where the old 29500 + job mod 10000
 * reached from job 3268 on. Runs with rank 0 on one node at once hold
 * different GPUs there, so they never share a port, whatever their ids
 * (the old 20000 + (job + salt) mod 10000 gave jobs 1 and 10001 one port).
 * The salt is the state directory's: the same directory however it is
 * named, another for another directory, so two controllers on one host
 * give their first jobs different ports.
 */
static void test_master_port(void **state)
{
    struct fx *f = *state;
    assert_int_equal(life_master_port(0, 1, 0x01), 20001);
    assert_int_equal(life_master_port(0, 1249, 0x01), 21249);
    assert_int_equal(life_master_port(0, 1250, 0x01), 20000);
    assert_int_equal(life_master_port(0, 1, 0x02), 21251);
    assert_int_equal(life_master_port(0, 1, 0xf0), 25001); /* GPUs 4-7: band 4 */
    assert_int_equal(life_master_port(0, 1, 0x80), 28751);
    assert_int_equal(life_master_port(1249, 1, 0x01), 20000);
    assert_int_equal(life_master_port(9876, 5, 0x01), life_master_port(9876 % 1250, 5, 0x01));
    for (uint64_t job = 1; job < 30000; job += 7) {
        unsigned p = life_master_port(9876, job, (uint8_t)(1u << (job % 8)));
        assert_true(p >= 20000 && p < 30000);
    }
    /*
     * Any two runs that can hold rank 0 on one node at once (disjoint GPU
     * masks there), whatever their ids: different ports.
     */
    for (uint64_t a = 1; a < 40000; a += 1249) {
        for (uint64_t b = a + 1; b < a + 30000; b += 1250) {
            for (unsigned ga = 0; ga < 8; ga++) {
                for (unsigned gb = 0; gb < 8; gb++) {
                    if (ga == gb)
                        continue;
                    assert_int_not_equal(life_master_port(4321, a, (uint8_t)(1u << ga)),
                                         life_master_port(4321, b, (uint8_t)(3u << gb)));
                }
            }
        }
    }
    uint32_t salt = life_master_port_salt(f->dir);
    assert_true(salt < 10000);
    char other[sizeof(f->dir) + 16];
    snprintf(other, sizeof(other), "%s/./", f->dir);
    assert_int_equal(life_master_port_salt(other), salt);
    snprintf(other, sizeof(other), "%s/link", f->dir);
    assert_int_equal(symlink(f->dir, other), 0);
    assert_int_equal(life_master_port_salt(other), salt);
    /* Two fixed directories (not mkdtemp's random names: a chance equality would flake). */
    assert_int_not_equal(life_master_port_salt("/var/lib/nordlys"),
                         life_master_port_salt("/srv/nordlys"));
}

/*
 * Two one-GPU jobs on one node at once: each gets the port of the first
 * GPU it holds there (the second job's is GPU 1, band 1), so they differ.
 */
static void test_master_port_one_node(void **state)
{
    struct fx *f = *state;
    assert_int_equal(reg(f, "a", "aa01", "0", NULL), 0);
    uint64_t id[2];
    for (int i = 0; i < 2; i++)
        id[i] = submit(f, "{\"gpus\":1,\"command\":[\"sleep\",\"100\"]}");
    tick(f);
    json_t *answer = sync_agent(f, "a", "");
    unsigned port[2];
    for (int i = 0; i < 2; i++) {
        const json_t *l = launch_of(answer, id[i]);
        assert_non_null(l);
        unsigned gpu = (unsigned)atoi(env_of(l, "NORDLYS_NODE_GPUS"));
        port[i] = (unsigned)atoi(env_of(l, "MASTER_PORT"));
        assert_int_equal(port[i], life_master_port(life_master_port_salt(f->dir), id[i],
                                                   (uint8_t)(1u << gpu)));
    }
    assert_int_not_equal(port[0], port[1]);
    json_decref(answer);
}

static void test_output_paths(void **state)
{
    struct fx *f = *state;
    char body[512], want[128];
    snprintf(body, sizeof(body),
             "{\"agent\":\"a\",\"instance\":\"aa01\",\"output_root\":\"/srv/out\","
             "\"nodes\":[\"%s\",\"%s\",\"%s\",\"%s\"]}",
             f->node[0], f->node[1], f->node[2], f->node[3]);
    json_t *b = parse(body), *answer = NULL;
    struct fault fault = {0};
    assert_int_equal(agents_register(f->c->agents, b, &local_caller, &answer, &fault), 0);
    json_decref(answer);
    json_decref(b);
    ctld_commit(f->c);
    uint64_t id = start_one(f, "{\"command\":[\"true\"]}", &answer);
    snprintf(want, sizeof(want), "%llu/stdout", (unsigned long long)id);
    assert_string_equal(json_string_value(json_object_get(launch_of(answer, id), "stdout")), want);
    json_decref(answer);
    snprintf(want, sizeof(want), "/srv/out/%llu/stdout", (unsigned long long)id);
    char *got = job_stdout(f, id);
    assert_string_equal(got, want);
    free(got);
    fx_restart(f);
    got = job_stdout(f, id);
    assert_string_equal(got, want);
    free(got);

    /* A relative root is refused, naming the field. */
    b = parse("{\"agent\":\"z\",\"output_root\":\"out\",\"nodes\":[]}");
    assert_int_equal(agents_register(f->c->agents, b, &local_caller, &answer, &fault), -EINVAL);
    assert_string_equal(fault.field, "output_root");
    json_decref(b);

    /* The controller's --output-root: absolute paths, as given to every agent. */
    f->cfg.output_root = "/shared/out";
    fx_restart(f);
    uint64_t id2 = submit(f, "{\"command\":[\"true\"]}");
    snprintf(want, sizeof(want), "/shared/out/%llu/stdout", (unsigned long long)id2);
    got = job_stdout(f, id2);
    assert_string_equal(got, want);
    free(got);
    f->cfg.output_root = NULL;
}

int main(void)
{
    nl_log_init("test", NL_LOG_WARN, 0);
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_submit_start_exit, setup, teardown),
            cmocka_unit_test_setup_teardown(test_master_port, setup, teardown),
            cmocka_unit_test_setup_teardown(test_master_port_one_node, setup, teardown),
            cmocka_unit_test_setup_teardown(test_output_paths, setup, teardown),
            cmocka_unit_test_setup_teardown(test_exit_reason_escaped, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cancel_uses_job_grace, setup, teardown),
            cmocka_unit_test_setup_teardown(test_preempt_and_restart, setup, teardown),
            cmocka_unit_test_setup_teardown(test_node_loss, setup, teardown),
            cmocka_unit_test_setup_teardown(test_restart_reload, setup, teardown),
            cmocka_unit_test_setup_teardown(test_node_ownership, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reloaded_owner, setup, teardown),
            cmocka_unit_test_setup_teardown(test_agent_restart_requeues, setup, teardown),
            cmocka_unit_test_setup_teardown(test_delta_sync, setup, teardown),
            cmocka_unit_test_setup_teardown(test_delta_lost_launch, setup, teardown),
            cmocka_unit_test_setup_teardown(test_request_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
