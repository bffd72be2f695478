/* SPDX-License-Identifier: MIT */
/*
 * test_audit.c - the audit log in the store: records chain by seq and prev;
 * a record is in the table only once the COMMIT of its iteration's
 * transaction (the durability rule) is done; a refusal alone opens that
 * transaction; a rolled-back transaction takes the head back; a restart
 * (a new store and log on the same file) goes on from the last row; the
 * copy STATE/audit.log is rewritten from the table at open; records built
 * directly (audit_append_fields) are the same lines as dumped ones.
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

#include "ctld/audit.h"
#include "ctld/durable.h"
#include "ctld/now.h"
#include "nordlys/err.h"
#include "store/store.h"

struct fixture {
    char dir[64], db[96], log[96];
    struct nl_store *st;
    struct audit *a;
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

static void open_both(struct fixture *f)
{
    struct nl_err err = {0};
    f->st = open_store(f->db);
    f->a = audit_open(f->st, f->log, &err);
    if (f->a == NULL)
        fail_msg("audit_open: %s", err.msg);
}

static void close_both(struct fixture *f)
{
    audit_close(f->a);
    nl_store_close(f->st);
    f->a = NULL;
    f->st = NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/nl-audit-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/state.db", f->dir);
    snprintf(f->log, sizeof(f->log), "%s/audit.log", f->dir);
    open_both(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close_both(f);
    const char *suffix[] = {"/state.db", "/state.db-wal", "/state.db-shm", "/audit.log",
                            "/audit.log.before-table"};
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s%s", f->dir, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void add(struct audit *a, const char *action)
{
    json_t *r = json_pack("{s:s, s:i, s:s}", "action", action, "status", 201, "who", "\u00e5se");
    audit_append(a, r);
    json_decref(r);
}

/* Commit what is buffered in its own transaction, as the durability rule does. */
static void commit(struct fixture *f)
{
    struct nl_err err = {0};
    if (!nl_store_in_txn(f->st))
        assert_int_equal(nl_store_begin(f->st, &err), 0);
    assert_int_equal(audit_write(f->a, &err), 0);
    assert_int_equal(nl_store_commit(f->st, &err), 0);
    audit_settle(f->a, true);
}

struct rows {
    size_t n;
    uint64_t seq[8];
    char line[8][512];
};

static int collect(uint64_t seq, const char *line, size_t len, void *arg)
{
    struct rows *r = arg;
    if (r->n < 8) {
        r->seq[r->n] = seq;
        snprintf(r->line[r->n], sizeof(r->line[0]), "%.*s", (int)len, line);
    }
    r->n++;
    return 0;
}

static void rows_of(struct nl_store *st, struct rows *r)
{
    struct nl_err err = {0};
    memset(r, 0, sizeof(*r));
    assert_int_equal(nl_store_audit_walk(st, 0, collect, r, &err), 0);
}

/* Records chain: seq 1, 2, 3; prev of each is the hash of the line before. */
static void test_chain(void **state)
{
    struct fixture *f = *state;
    add(f->a, "a");
    add(f->a, "b");
    assert_true(audit_pending(f->a));
    assert_int_equal(audit_seq(f->a), 0); /* not committed yet */
    commit(f);
    assert_false(audit_pending(f->a));
    add(f->a, "c");
    commit(f);
    struct rows r;
    rows_of(f->st, &r);
    assert_int_equal(r.n, 3);
    assert_non_null(strstr(r.line[0], "\"prev\":\"\""));
    for (size_t i = 1; i < 3; i++) {
        char h[AUDIT_HASH_HEX], want[100];
        audit_hash(r.line[i - 1], strlen(r.line[i - 1]), h);
        snprintf(want, sizeof(want), "\"prev\":\"%s\"", h);
        assert_non_null(strstr(r.line[i], want));
        assert_int_equal(r.seq[i], i + 1);
    }
    /* Each line is exactly the compact dump of its object: seq, the record's fields, prev. */
    for (size_t i = 0; i < 3; i++) {
        json_t *o = json_loads(r.line[i], 0, NULL);
        assert_non_null(o);
        assert_string_equal(json_object_iter_key(json_object_iter(o)), "seq");
        char *again = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        assert_string_equal(again, r.line[i]);
        free(again);
        json_decref(o);
    }
    char h[AUDIT_HASH_HEX];
    audit_hash(r.line[2], strlen(r.line[2]), h);
    assert_int_equal(audit_seq(f->a), 3);
    assert_string_equal(audit_head(f->a), h);
    json_t *lines = NULL;
    struct nl_err err = {0};
    assert_int_equal(audit_lines(f->a, 1 << 20, &lines, &err), 0);
    assert_int_equal(json_array_size(lines), 3);
    assert_string_equal(json_string_value(json_array_get(lines, 2)), r.line[2]);
    json_decref(lines);
    assert_int_equal(audit_lines(f->a, 10, &lines, &err), -EFBIG);
}

/* A restart goes on from the table's last row; the copy is rewritten from the table. */
static void test_restart_continues(void **state)
{
    struct fixture *f = *state;
    add(f->a, "a");
    add(f->a, "b");
    commit(f);
    char head[AUDIT_HASH_HEX];
    snprintf(head, sizeof(head), "%s", audit_head(f->a));
    close_both(f);
    /* A copy that lost its end (never synced) is whole again after the start. */
    FILE *log = fopen(f->log, "w");
    fclose(log);
    open_both(f);
    assert_int_equal(audit_seq(f->a), 2);
    assert_string_equal(audit_head(f->a), head);
    add(f->a, "c");
    commit(f);
    struct rows r;
    rows_of(f->st, &r);
    assert_int_equal(r.n, 3);
    char want[100];
    snprintf(want, sizeof(want), "\"prev\":\"%s\"", head);
    assert_non_null(strstr(r.line[2], want));
    assert_non_null(strstr(r.line[2], "\"seq\":3"));
    /* The copy: the three lines, each as in the table. */
    log = fopen(f->log, "r");
    char line[512];
    for (size_t i = 0; i < 3; i++) {
        assert_non_null(fgets(line, sizeof(line), log));
        line[strcspn(line, "\n")] = '\0';
        assert_string_equal(line, r.line[i]);
    }
    assert_null(fgets(line, sizeof(line), log));
    fclose(log);
    struct stat st;
    assert_int_equal(stat(f->log, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

/* A rolled-back transaction takes its records away and the head back. */
static void test_rollback_keeps_head(void **state)
{
    struct fixture *f = *state;
    struct nl_err err = {0};
    add(f->a, "a");
    commit(f);
    char head[AUDIT_HASH_HEX];
    snprintf(head, sizeof(head), "%s", audit_head(f->a));
    add(f->a, "lost 1");
    add(f->a, "lost 2");
    assert_int_equal(nl_store_begin(f->st, &err), 0);
    assert_int_equal(audit_write(f->a, &err), 0);
    nl_store_rollback(f->st); /* as a failed COMMIT does */
    audit_settle(f->a, false);
    assert_false(audit_pending(f->a));
    assert_int_equal(audit_seq(f->a), 1);
    assert_string_equal(audit_head(f->a), head);
    add(f->a, "b");
    commit(f);
    struct rows r;
    rows_of(f->st, &r);
    assert_int_equal(r.n, 2);
    char want[100];
    snprintf(want, sizeof(want), "\"prev\":\"%s\"", head);
    assert_non_null(strstr(r.line[1], want));
    assert_non_null(strstr(r.line[1], "\"action\":\"b\""));
}

static bool pending_cb(void *arg)
{
    return audit_pending(arg);
}

static int write_cb(void *arg, struct nl_err *err)
{
    return audit_write(arg, err);
}

static void settle_cb(void *arg, bool committed)
{
    audit_settle(arg, committed);
}

/* Through the durability rule: a record alone (a refusal) opens and commits a transaction. */
static void test_durable_commits_record_alone(void **state)
{
    struct fixture *f = *state;
    struct now clock;
    now_init(&clock);
    struct durable *d = durable_create(f->st, &clock);
    const struct durable_log log = {
            .pending = pending_cb, .write = write_cb, .settle = settle_cb, .arg = f->a};
    durable_attach_log(d, &log);
    add(f->a, "refused");
    assert_false(nl_store_in_txn(f->st));
    double commit_s = -1;
    struct nl_err err = {0};
    assert_int_equal(durable_commit(d, &commit_s, &err), 0);
    assert_true(commit_s >= 0);
    assert_false(nl_store_in_txn(f->st));
    assert_int_equal(audit_seq(f->a), 1);
    /* Nothing pending: nothing committed, no transaction left open. */
    assert_int_equal(durable_commit(d, &commit_s, &err), 0);
    assert_false(nl_store_in_txn(f->st));
    durable_destroy(d);
    /* Durable: a second connection to the file sees the row. */
    struct nl_store *other = open_store(f->db);
    struct rows r;
    rows_of(other, &r);
    nl_store_close(other);
    assert_int_equal(r.n, 1);
    assert_non_null(strstr(r.line[0], "\"action\":\"refused\""));
}

/* A log file from before the table is kept aside, not overwritten. */
static void test_old_file_kept(void **state)
{
    struct fixture *f = *state;
    close_both(f);
    FILE *log = fopen(f->log, "w");
    fputs("{\"seq\":1,\"prev\":\"\"}\n", log);
    fclose(log);
    open_both(f);
    char old[128];
    snprintf(old, sizeof(old), "%s.before-table", f->log);
    struct stat st;
    assert_int_equal(stat(old, &st), 0);
    assert_int_equal(st.st_size, 20);
    assert_int_equal(stat(f->log, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(audit_seq(f->a), 0);
}

/* The copy cannot be written (here: no such directory): the log works without it. */
static void test_copy_unwritable(void **state)
{
    struct fixture *f = *state;
    audit_close(f->a);
    struct nl_err err = {0};
    f->a = audit_open(f->st, "/nonexistent-nl-dir/audit.log", &err);
    assert_non_null(f->a);
    add(f->a, "a");
    commit(f);
    assert_int_equal(audit_seq(f->a), 1);
}

/* audit_json_string of s: the same bytes as jansson's compact, ASCII-only dump of it. */
static void same_as_jansson(const char *s)
{
    json_t *j = json_string(s);
    assert_non_null(j);
    char *want = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    audit_json_string(&buf, &len, &cap, s, strlen(s));
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    free(buf);
    free(want);
    json_decref(j);
}

static void test_json_string(void **state)
{
    (void)state;
    char one[2] = {0};
    for (int ch = 1; ch < 0x80; ch++) {
        one[0] = (char)ch;
        same_as_jansson(one);
    }
    same_as_jansson("");
    same_as_jansson("POST /api/v1/jobs");
    same_as_jansson("\u00e5se \"q\" \\ /\t\n\x7f\x01");
    same_as_jansson("\u20ac \u0800 \uffff \U0001F600 \U0010FFFF \u07ff");
    /* Invalid UTF-8 (jansson refuses it): each bad byte as U+FFFD, the rest kept. */
    const char *bad[][2] = {
            {"a\xff"
             "b",
             "\"a\\uFFFDb\""},
            {"\xc3", "\"\\uFFFD\""},                                  /* cut short */
            {"\xc0\xaf", "\"\\uFFFD\\uFFFD\""},                       /* overlong '/' */
            {"\xed\xa0\x80", "\"\\uFFFD\\uFFFD\\uFFFD\""},            /* a surrogate */
            {"\xf4\x90\x80\x80", "\"\\uFFFD\\uFFFD\\uFFFD\\uFFFD\""}, /* past U+10FFFF */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        audit_json_string(&buf, &len, &cap, bad[i][0], strlen(bad[i][0]));
        assert_int_equal(len, strlen(bad[i][1]));
        assert_memory_equal(buf, bad[i][1], len);
        free(buf);
    }
}

/* A record built by audit_append_fields: the same line, byte for byte, as audit_append's. */
static void test_fields_same_line(void **state)
{
    struct fixture *f = *state;
    json_t *r = json_pack("{s:s, s:s, s:i, s:I, s:s}", "time", "2026-11-29T14:00:00.000001Z", "who",
                          "\u00e5se \"x\"\n", "status", 201, "n", (json_int_t)-1234567890123LL,
                          "message", "caf\u00e9 \U0001F600");
    audit_append(f->a, r);
    json_decref(r);
    struct audit_field fl[] = {
            {.key = "time", .str = "2026-11-29T14:00:00.000001Z"},
            {.key = "who", .str = "\u00e5se \"x\"\n"},
            {.key = "status", .num = 201},
            {.key = "n", .num = -1234567890123LL},
            {.key = "message", .str = "caf\u00e9 \U0001F600"},
    };
    audit_append_fields(f->a, fl, 5);
    audit_append_fields(f->a, fl, 0);
    commit(f);
    struct rows rw;
    rows_of(f->st, &rw);
    assert_int_equal(rw.n, 3);
    /* The same fields: lines 1 and 2 differ only in seq and prev. */
    const char *a = strchr(rw.line[0], ','), *b = strchr(rw.line[1], ',');
    const char *ap = strstr(a, ",\"prev\":"), *bp = strstr(b, ",\"prev\":");
    assert_int_equal(ap - a, bp - b);
    assert_memory_equal(a, b, (size_t)(ap - a));
    assert_string_equal(
            rw.line[0],
            "{\"seq\":1,\"time\":\"2026-11-29T14:00:00.000001Z\",\"who\":"
            "\"\\u00E5se \\\"x\\\"\\n\",\"status\":201,\"n\":-1234567890123,\"message\":"
            "\"caf\\u00E9 \\uD83D\\uDE00\",\"prev\":\"\"}");
    /* Every line is the compact dump of its object, as `nordlys audit verify` reads them. */
    for (size_t i = 0; i < 3; i++) {
        json_t *o = json_loads(rw.line[i], 0, NULL);
        assert_non_null(o);
        char *again = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        assert_string_equal(again, rw.line[i]);
        free(again);
        json_decref(o);
        if (i > 0) {
            char h[AUDIT_HASH_HEX], want[100];
            audit_hash(rw.line[i - 1], strlen(rw.line[i - 1]), h);
            snprintf(want, sizeof(want), "\"prev\":\"%s\"", h);
            assert_non_null(strstr(rw.line[i], want));
        }
    }
    assert_string_equal(rw.line[2] + strlen("{\"seq\":3"), strstr(rw.line[2], ",\"prev\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
            cmocka_unit_test_setup_teardown(test_restart_continues, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rollback_keeps_head, setup, teardown),
            cmocka_unit_test_setup_teardown(test_durable_commits_record_alone, setup, teardown),
            cmocka_unit_test_setup_teardown(test_old_file_kept, setup, teardown),
            cmocka_unit_test_setup_teardown(test_copy_unwritable, setup, teardown),
            cmocka_unit_test(test_json_string),
            cmocka_unit_test_setup_teardown(test_fields_same_line, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
