/* SPDX-License-Identifier: MIT */
/*
 * test_proto.c - agent protocol JSON: the requests the agent writes are
 * read back with jansson (an independent parser), and the answers it
 * decodes are checked field by field, including the errors for bad ones.
 */
/* clang-format off */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
/* clang-format on */

#include "agent/proto.h"
#include "nordlys/err.h"

static json_t *load(const struct proto_buf *b)
{
    json_error_t jerr;
    json_t *root = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        fail_msg("agent wrote bad JSON: %s in %s", jerr.text, b->data);
    return root;
}

static void test_proto_encode_register(void **state)
{
    (void)state;
    char *nodes[] = {"narvik-osl-p000-r0001-n00", "narvik-osl-p000-r0001-n01"};
    struct proto_buf b = {0};
    proto_encode_register(&b, "host1-1234", "0123456789abcdef0123456789abcdef", nodes, 2, true,
                          "/srv/nordlys \"out\"");
    json_t *root = load(&b);
    assert_string_equal(json_string_value(json_object_get(root, "output_root")),
                        "/srv/nordlys \"out\"");
    assert_string_equal(json_string_value(json_object_get(root, "agent")), "host1-1234");
    assert_string_equal(json_string_value(json_object_get(root, "instance")),
                        "0123456789abcdef0123456789abcdef");
    json_t *arr = json_object_get(root, "nodes");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_array_get(arr, 1)), "narvik-osl-p000-r0001-n01");
    assert_true(json_is_true(json_object_get(root, "emulated")));
    json_decref(root);
    free(b.data);
    /* Without a root (and an instance) the fields are left out, not sent as null. */
    b = (struct proto_buf){0};
    proto_encode_register(&b, "a", NULL, nodes, 1, false, NULL);
    root = load(&b);
    assert_null(json_object_get(root, "output_root"));
    assert_null(json_object_get(root, "instance"));
    json_decref(root);
    free(b.data);
}

static void test_proto_encode_sync_round_trips(void **state)
{
    (void)state;
    struct proto_running run[] = {{42, 1, "n00"}, {43, 7, "n01"}};
    struct proto_exit ex[] = {
            {.job = 41,
             .run = 2,
             .node = "n00",
             .exit_code = 127,
             .signal = 0,
             .timeout = false,
             .cpu_s = 1.5,
             .max_rss_kb = 10240,
             .start_time = 1764000000.125,
             .end_time = 1764000010.25,
             .reason = "exec \"py\\thon\": No such file\n(tab\there)"},
            {.job = 40,
             .run = 1,
             .node = "n01",
             .exit_code = 128 + 9,
             .signal = 9,
             .timeout = true},
    };
    struct proto_buf b = {0};
    proto_encode_sync(&b, "agent-\"quoted\"", 17, false, run, 2, ex, 2, 0, NULL, NULL);
    json_t *root = load(&b);
    assert_string_equal(json_string_value(json_object_get(root, "agent_id")), "agent-\"quoted\"");
    assert_int_equal(json_integer_value(json_object_get(root, "seq")), 17);
    assert_true(json_is_false(json_object_get(root, "full")));
    json_t *r = json_object_get(root, "running");
    assert_int_equal(json_array_size(r), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "job")), 43);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "run")), 7);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "node")), "n01");
    json_t *e = json_array_get(json_object_get(root, "exits"), 0);
    assert_int_equal(json_integer_value(json_object_get(e, "job")), 41);
    assert_int_equal(json_integer_value(json_object_get(e, "run")), 2);
    assert_int_equal(json_integer_value(json_object_get(e, "exit_code")), 127);
    assert_true(json_is_false(json_object_get(e, "timeout")));
    assert_float_equal(json_real_value(json_object_get(e, "cpu_s")), 1.5, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(e, "max_rss_kb")), 10240);
    assert_float_equal(json_real_value(json_object_get(e, "start_time")), 1764000000.125, 1e-3);
    assert_string_equal(json_string_value(json_object_get(e, "reason")),
                        "exec \"py\\thon\": No such file\n(tab\there)");
    json_t *e2 = json_array_get(json_object_get(root, "exits"), 1);
    assert_true(json_is_true(json_object_get(e2, "timeout")));
    assert_int_equal(json_integer_value(json_object_get(e2, "signal")), 9);
    assert_null(json_object_get(e2, "reason"));
    json_decref(root);
    free(b.data);

    /* An idle agent still sends both lists, empty. */
    struct proto_buf b2 = {0};
    proto_encode_sync(&b2, "a", 1, true, NULL, 0, NULL, 0, 0, NULL, NULL);
    assert_string_equal(b2.data,
                        "{\"agent_id\":\"a\",\"seq\":1,\"full\":true,\"running\":[],\"exits\":[]}");
    free(b2.data);
}

/* A body bound cuts each list where the next entry would not fit, and says where. */
static void test_proto_encode_sync_keeps_within_the_bound(void **state)
{
    (void)state;
    struct proto_running run[] = {{42, 1, "n00"}, {43, 7, "n01"}, {44, 1, "n02"}};
    struct proto_exit ex[] = {{.job = 41, .run = 2, .node = "n00"},
                              {.job = 40, .run = 1, .node = "n01"}};
    struct proto_buf whole = {0};
    size_t nr = 9, ne = 9;
    proto_encode_sync(&whole, "a", 1, true, run, 3, ex, 2, 0, &nr, &ne);
    assert_int_equal(nr, 3);
    assert_int_equal(ne, 2);
    struct proto_buf empty = {0};
    proto_encode_sync(&empty, "a", 1, true, NULL, 0, NULL, 0, 0, NULL, NULL);
    for (size_t max = empty.len; max <= whole.len; max++) {
        struct proto_buf b = {0};
        proto_encode_sync(&b, "a", 1, true, run, 3, ex, 2, max, &nr, &ne);
        assert_true(b.len <= max);
        json_t *root = load(&b);
        assert_int_equal(json_array_size(json_object_get(root, "running")), nr);
        assert_int_equal(json_array_size(json_object_get(root, "exits")), ne);
        assert_true(ne == 0 || nr == 3); /* exits only once every running entry fits */
        if (max == whole.len)
            assert_true(nr == 3 && ne == 2);
        json_decref(root);
        free(b.data);
    }
    free(whole.data);
    free(empty.data);
}

static const char sync_answer[] =
        "{\"launch\": [{\"job\": 42, \"run\": 3, \"node\": \"narvik-n00\", \"gpus\": [0, 1],"
        " \"command\": [\"python3\", \"train.py\"], \"env\": {\"CUDA_VISIBLE_DEVICES\": \"0,1\","
        " \"NORDLYS_JOB_ID\": \"42\", \"MASTER_ADDR\": \"127.0.0.1\", \"MASTER_PORT\": \"29542\","
        " \"WORLD_SIZE\": \"2\", \"NODE_RANK\": \"0\", \"NORDLYS_NODELIST\": \"a,b\"},"
        " \"cwd\": \"/\", \"stdout\": \"/path/42.out\", \"stderr\": \"/path/42.err\","
        " \"time_limit_s\": 7200.0, \"future_field\": {\"x\": 1},"
        " \"memory_max_bytes\": 1073741824, \"pids_max\": 512, \"output_limit_bytes\": 4096,"
        " \"user\": \"alice\", \"allow_root\": true, \"tenant\": \"nor-research\","
        " \"sensitive\": true}],"
        " \"kill\": [{\"job\": 41, \"run\": 2, \"grace_s\": 60, \"reason\": \"preempt\"}],"
        " \"hold\": [{\"job\": 40, \"run\": 1, \"node\": \"narvik-n01\"}], \"full_next\": true}";

static void test_proto_decode_sync_answer(void **state)
{
    (void)state;
    struct proto_work w;
    struct nl_err err = {0};
    assert_int_equal(proto_decode_sync(sync_answer, strlen(sync_answer), &w, &err), 0);
    assert_int_equal(w.nlaunch, 1);
    const struct proto_launch *l = &w.launch[0];
    assert_int_equal(l->job, 42);
    assert_int_equal(l->run, 3);
    assert_string_equal(l->node, "narvik-n00");
    assert_int_equal(l->argc, 2);
    assert_string_equal(l->argv[1], "train.py");
    assert_null(l->argv[2]);
    assert_int_equal(l->nenv, 7);
    bool seen = false;
    for (size_t i = 0; i < l->nenv; i++)
        seen |= strcmp(l->env[i], "MASTER_PORT=29542") == 0;
    assert_true(seen);
    assert_null(l->env[7]);
    assert_string_equal(l->cwd, "/");
    assert_string_equal(l->stdout_path, "/path/42.out");
    assert_string_equal(l->stderr_path, "/path/42.err");
    assert_float_equal(l->time_limit_s, 7200.0, 1e-9);
    assert_float_equal(l->grace_s, -1, 1e-9);
    assert_int_equal(l->memory_max_bytes, 1073741824);
    assert_int_equal(l->pids_max, 512);
    assert_int_equal(l->output_limit_bytes, 4096);
    assert_string_equal(l->user, "alice");
    assert_true(l->allow_root);
    assert_string_equal(l->tenant, "nor-research");
    assert_true(l->sensitive);
    assert_true(w.full_next);
    assert_true(w.knows_full);
    assert_int_equal(w.nkill, 1);
    assert_int_equal(w.kill[0].job, 41);
    assert_int_equal(w.kill[0].run, 2);
    assert_float_equal(w.kill[0].grace_s, 60, 1e-9);
    assert_string_equal(w.kill[0].reason, "preempt");
    assert_int_equal(w.nhold, 1);
    assert_int_equal(w.hold[0].job, 40);
    assert_int_equal(w.hold[0].run, 1);
    assert_string_equal(w.hold[0].node, "narvik-n01");
    proto_work_release(&w);

    /* An older controller's answer: no full_next, no limits. */
    assert_int_equal(proto_decode_sync("{}", 2, &w, &err), 0);
    assert_int_equal(w.nlaunch + w.nkill + w.nhold, 0);
    assert_false(w.full_next);
    assert_false(w.knows_full);
    const char *old =
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"x\"]}]}";
    assert_int_equal(proto_decode_sync(old, strlen(old), &w, &err), 0);
    assert_int_equal(w.launch[0].memory_max_bytes + w.launch[0].pids_max +
                             w.launch[0].output_limit_bytes,
                     0);
    assert_null(w.launch[0].user); /* a controller before accounts names none */
    assert_false(w.launch[0].allow_root);
    assert_null(w.launch[0].tenant); /* unknown: the agent wipes scratch before its jobs */
    assert_false(w.launch[0].sensitive);
    proto_work_release(&w);
}

static void expect_sync_error(const char *body, const char *msg)
{
    struct proto_work w;
    struct nl_err err = {0};
    assert_true(proto_decode_sync(body, strlen(body), &w, &err) < 0);
    assert_string_equal(err.msg, msg);
    assert_int_equal(w.nlaunch, 0);
    assert_null(w.launch);
}

static void test_proto_decode_sync_errors_name_the_field(void **state)
{
    (void)state;
    expect_sync_error("{\"launch\": 3}", "launch: not an array");
    expect_sync_error("{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": []}]}",
                      "launch[0].command: not a non-empty array");
    expect_sync_error("{\"full_next\": 1}", "full_next: not a boolean");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"x\"],"
            " \"pids_max\": -1}]}",
            "launch[0].pids_max: -1 is outside [0, 4194304]");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"]},"
            " {\"job\": 2, \"run\": 1, \"node\": \"n\", \"command\": [\"a\", 5]}]}",
            "launch[1].command[1]: not a string");
    expect_sync_error("{\"launch\": [{\"job\": 1, \"node\": \"n\", \"command\": [\"a\"]}]}",
                      "launch[0].run: missing");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 0, \"node\": \"n\", \"command\": [\"a\"]}]}",
            "launch[0].run: 0 is outside [1, 2147483647]");
    expect_sync_error("{\"launch\": [{\"node\": \"n\", \"command\": [\"a\"]}]}",
                      "launch[0].job: missing");
    expect_sync_error("{\"launch\": [{\"job\": 0, \"node\": \"n\", \"command\": [\"a\"]}]}",
                      "launch[0].job: 0 is outside [1, 9223372036854775807]");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"],"
            " \"env\": {\"A=B\": \"x\"}}]}",
            "launch[0].env: 'A=B' is not a variable name");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"],"
            " \"env\": {\"A\": 1}}]}",
            "launch[0].env.A: not a string");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"],"
            " \"user\": \"\"}]}",
            "launch[0].user: empty");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"],"
            " \"user\": 0}]}",
            "launch[0].user: not a string");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"],"
            " \"user\": \"bob\", \"allow_root\": \"yes\"}]}",
            "launch[0].allow_root: not a boolean");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"],"
            " \"tenant\": \"../etc\"}]}",
            "launch[0].tenant: not a tenant name (1-31 of a-z 0-9 _ -)");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"],"
            " \"tenant\": \"\"}]}",
            "launch[0].tenant: not a tenant name (1-31 of a-z 0-9 _ -)");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"],"
            " \"tenant\": \"uk\", \"sensitive\": 1}]}",
            "launch[0].sensitive: not a boolean");
    expect_sync_error("{\"kill\": [{\"job\": \"7\"}]}", "kill[0].job: not an integer");
    expect_sync_error("{\"kill\": [{\"job\": 7, \"grace_s\": 1}]}", "kill[0].run: missing");
    expect_sync_error("{\"kill\": [{\"job\": 7, \"run\": 1, \"grace_s\": -1}]}",
                      "kill[0].grace_s: -1 is outside [0, 3600]");
    /* The bounds are the shared table's (common/proto_limits.h), the controller's own. */
    expect_sync_error("{\"kill\": [{\"job\": 7, \"run\": 1, \"grace_s\": 3601}]}",
                      "kill[0].grace_s: 3601 is outside [0, 3600]");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"],"
            " \"time_limit_s\": 31622401}]}",
            "launch[0].time_limit_s: 3.16224e+07 is outside [0, 3.16224e+07]");
    expect_sync_error(
            "{\"launch\": [{\"job\": 1, \"run\": 1, \"node\": \"n\", \"command\": [\"a\"],"
            " \"memory_max_bytes\": 17592186044417}]}",
            "launch[0].memory_max_bytes: 17592186044417 is outside [0, 17592186044416]");
    expect_sync_error("{\"kill\": [{\"job\": 7, \"run\": 1, \"grace_s\": \"60\"}]}",
                      "kill[0].grace_s: not a number");
    expect_sync_error("{\"hold\": [{\"job\": 7, \"run\": 1}]}", "hold[0].node: missing");
    expect_sync_error("[1]", "answer: not a JSON object");
    /* jansson words the detail; the prefix is ours. */
    struct proto_work w;
    struct nl_err err = {0};
    assert_true(proto_decode_sync("{\"launch\": [", 11, &w, &err) < 0);
    assert_non_null(strstr(err.msg, "answer: bad JSON at line 1: "));
}

/* Issue 12: output in a sync body, controls and launch fields in an answer. */
static void test_proto_output_and_controls(void **state)
{
    (void)state;
    struct proto_buf b = {0};
    proto_encode_sync(&b, "a1", 7, true, NULL, 0, NULL, 0, 0, NULL, NULL);
    struct proto_output o[2] = {
            {.job = 42,
             .run = 2,
             .node = "n0",
             .stream = 0,
             .offset = 10,
             .data = "hi\n",
             .len = 3},
            {.job = 42,
             .run = 2,
             .node = "n0",
             .stream = 1,
             .offset = 0,
             .data = "\xff\x00",
             .len = 2},
    };
    proto_append_output(&b, o, 2);
    json_t *root = load(&b);
    json_t *out = json_object_get(root, "output");
    assert_int_equal(json_array_size(out), 2);
    json_t *e = json_array_get(out, 0);
    assert_int_equal(json_integer_value(json_object_get(e, "job")), 42);
    assert_int_equal(json_integer_value(json_object_get(e, "run")), 2);
    assert_int_equal(json_integer_value(json_object_get(e, "offset")), 10);
    assert_string_equal(json_string_value(json_object_get(e, "stream")), "stdout");
    assert_string_equal(json_string_value(json_object_get(e, "data")), "aGkK");
    e = json_array_get(out, 1);
    assert_string_equal(json_string_value(json_object_get(e, "stream")), "stderr");
    assert_string_equal(json_string_value(json_object_get(e, "data")), "/wA=");
    assert_string_equal(json_string_value(json_object_get(root, "agent_id")), "a1");
    json_decref(root);
    free(b.data);

    const char *answer =
            "{\"launch\": [{\"job\": 5, \"run\": 1, \"node\": \"n\", \"command\": [\"true\"],"
            " \"warn_signal\": 10, \"warn_before_s\": 60, \"ship_output\": true}],"
            " \"signal\": [{\"job\": 5, \"run\": 1, \"signal\": 12}],"
            " \"limit\": [{\"job\": 5, \"run\": 1, \"time_limit_s\": 2.5}]}";
    struct proto_work w;
    struct nl_err err = {0};
    assert_int_equal(proto_decode_sync(answer, strlen(answer), &w, &err), 0);
    assert_int_equal(w.launch[0].warn_signal, 10);
    assert_int_equal(w.launch[0].warn_before_s, 60);
    assert_true(w.launch[0].ship_output);
    assert_int_equal(w.nsignal, 1);
    assert_int_equal(w.signal[0].job, 5);
    assert_int_equal(w.signal[0].signal, 12);
    assert_int_equal(w.nlimit, 1);
    assert_true(w.limit[0].time_limit_s == 2.5);
    assert_int_equal(w.signal[0].seq, 0); /* a controller before acknowledgements */
    proto_work_release(&w);
    /* Controls with their seq (ctld/controls.h), and the agent's acknowledgement of them. */
    const char *seqd = "{\"signal\": [{\"job\": 5, \"run\": 1, \"signal\": 10, \"seq\": 7}],"
                       " \"limit\": [{\"job\": 5, \"run\": 1, \"time_limit_s\": 9, \"seq\": 8}]}";
    assert_int_equal(proto_decode_sync(seqd, strlen(seqd), &w, &err), 0);
    assert_int_equal(w.signal[0].seq, 7);
    assert_int_equal(w.limit[0].seq, 8);
    proto_work_release(&w);
    expect_sync_error("{\"signal\": [{\"job\": 5, \"run\": 1, \"signal\": 10, \"seq\": 0}]}",
                      "signal[0].seq: 0 is outside [1, 9223372036854775807]");
    expect_sync_error(
            "{\"limit\": [{\"job\": 5, \"run\": 1, \"time_limit_s\": 1, \"seq\": \"x\"}]}",
            "limit[0].seq: not an integer");
    struct proto_buf ab = {0};
    proto_encode_sync(&ab, "a1", 3, true, NULL, 0, NULL, 0, 0, NULL, NULL);
    proto_append_applied(&ab, NULL, 0);
    root = load(&ab);
    assert_int_equal(json_array_size(json_object_get(root, "applied")), 0);
    assert_true(json_is_array(json_object_get(root, "applied")));
    json_decref(root);
    ab.len = 0;
    const uint64_t seqs[] = {7, 8};
    proto_encode_sync(&ab, "a1", 4, true, NULL, 0, NULL, 0, 0, NULL, NULL);
    proto_append_applied(&ab, seqs, 2);
    root = load(&ab);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(root, "applied"), 1)), 8);
    json_decref(root);
    free(ab.data);
    expect_sync_error("{\"signal\": [{\"job\": 5, \"run\": 1, \"signal\": 65}]}",
                      "signal[0].signal: 65 is outside [1, 64]");
    expect_sync_error("{\"limit\": [{\"job\": 5, \"run\": 1}]}",
                      "limit[0].time_limit_s: missing or not positive");
    expect_sync_error(
            "{\"launch\": [{\"job\": 5, \"run\": 1, \"node\": \"n\", \"command\": [\"x\"],"
            " \"ship_output\": 1}]}",
            "launch[0].ship_output: not a boolean");
}

static void test_proto_decode_register_and_names(void **state)
{
    (void)state;
    const char *ans = "{\"agent_id\": \"host1-1234\", \"sync_interval_ms\": 200,"
                      " \"node_timeout_ms\": 5000}";
    struct proto_reg_answer r;
    struct nl_err err = {0};
    assert_int_equal(proto_decode_register(ans, strlen(ans), &r, &err), 0);
    assert_string_equal(r.agent_id, "host1-1234");
    assert_int_equal(r.sync_interval_ms, 200);
    assert_int_equal(r.node_timeout_ms, 5000);
    proto_reg_answer_release(&r);
    const char *bad = "{\"agent_id\": \"a\", \"sync_interval_ms\": 0}";
    assert_true(proto_decode_register(bad, strlen(bad), &r, &err) < 0);
    assert_string_equal(err.msg, "register.sync_interval_ms: 0 is outside [1, 3600000]");
    assert_null(r.agent_id);

    const char *nodes = "{\"nodes\": [{\"name\": \"a\", \"gpus\": 4}, {\"name\": \"b\"},"
                        " {\"name\": \"c\"}]}";
    char **names;
    size_t n;
    assert_int_equal(proto_decode_node_names(nodes, strlen(nodes), 2, &names, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "b");
    free(names[0]);
    free(names[1]);
    free(names);
    const char *badn = "{\"nodes\": [{\"name\": \"a\"}, {\"gpus\": 4}]}";
    assert_true(proto_decode_node_names(badn, strlen(badn), 9, &names, &n, &err) < 0);
    assert_string_equal(err.msg, "nodes[1].name: missing");
    assert_null(names);

    char msg[128];
    const char *eb = "{\"error\": {\"status\": 400, \"code\": \"invalid_field\","
                     " \"field\": \"nodes\", \"message\": \"nodes: 'x' is not a node\"}}";
    proto_error_message(eb, strlen(eb), msg, sizeof(msg));
    assert_string_equal(msg, "nodes: 'x' is not a node");
}

/*
 * GPU temperatures (issue 14) go into power readings only for a controller
 * whose answers said "power_temp": an older one refuses the unknown field.
 */
static void test_proto_power_temperature(void **state)
{
    (void)state;
    struct proto_power p = {.node = "n0", .ngpus = 2, .w = {100, 200}, .temp = {31.5, 42}};
    struct proto_buf b = {0};
    proto_encode_sync(&b, "a", 1, true, NULL, 0, NULL, 0, 0, NULL, NULL);
    assert_int_equal(proto_encode_power(&b, &p, 1, 0), 1);
    assert_null(strstr(b.data, "\"t\""));
    free(b.data);
    b = (struct proto_buf){0};
    p.has_temp = true;
    proto_encode_sync(&b, "a", 1, true, NULL, 0, NULL, 0, 0, NULL, NULL);
    assert_int_equal(proto_encode_power(&b, &p, 1, 0), 1);
    assert_non_null(strstr(b.data, "\"t\":[31.5,42.0]"));
    free(b.data);
    struct proto_work w;
    struct nl_err err = {0};
    assert_int_equal(proto_decode_sync("{\"power_temp\": true}", 20, &w, &err), 0);
    assert_true(w.power_temp);
    proto_work_release(&w);
    assert_int_equal(proto_decode_sync("{}", 2, &w, &err), 0);
    assert_false(w.power_temp);
    proto_work_release(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_proto_encode_register),
            cmocka_unit_test(test_proto_output_and_controls),
            cmocka_unit_test(test_proto_encode_sync_round_trips),
            cmocka_unit_test(test_proto_encode_sync_keeps_within_the_bound),
            cmocka_unit_test(test_proto_decode_sync_answer),
            cmocka_unit_test(test_proto_power_temperature),
            cmocka_unit_test(test_proto_decode_sync_errors_name_the_field),
            cmocka_unit_test(test_proto_decode_register_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
