/* SPDX-License-Identifier: MIT */
/*
 * test_outtail.c - jobs' output tails: appends in order, resends dropped,
 * a new run after the old one, a hole counted as lost, the tail bound,
 * the total bound (least recently written job forgotten), reads from an
 * offset older than the tail.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include "ctld/outtail.h"

static struct outtail_view read_all(const struct outtail *o, uint64_t job, uint64_t off, char *buf,
                                    size_t size)
{
    struct outtail_view v;
    outtail_read(o, job, OUTTAIL_STDOUT, off, buf, size - 1, &v);
    buf[v.len] = '\0';
    return v;
}

static void test_outtail_order_resend_runs(void **state)
{
    (void)state;
    struct outtail *o = outtail_create(64, 0);
    char buf[128];
    struct outtail_view v = read_all(o, 7, 0, buf, sizeof(buf));
    assert_false(v.known);
    outtail_add(o, 7, 1, 0, OUTTAIL_STDOUT, 0, "hello ", 6);
    outtail_add(o, 7, 1, 0, OUTTAIL_STDOUT, 6, "world\n", 6);
    outtail_add(o, 7, 1, 0, OUTTAIL_STDOUT, 0, "hello ", 6);          /* a resend */
    outtail_add(o, 7, 1, 0, OUTTAIL_STDOUT, 3, "lo world\nmore", 13); /* overlaps, then new */
    v = read_all(o, 7, 0, buf, sizeof(buf));
    assert_string_equal(buf, "hello world\nmore");
    assert_int_equal(v.end, 16);
    assert_int_equal(v.lost, 0);
    /* Run 2 starts where the stream ends; run 1's late bytes are ignored. */
    outtail_add(o, 7, 2, 0, OUTTAIL_STDOUT, 0, "\nrun2", 5);
    outtail_add(o, 7, 1, 0, OUTTAIL_STDOUT, 16, "late", 4);
    v = read_all(o, 7, 12, buf, sizeof(buf));
    assert_string_equal(buf, "more\nrun2");
    assert_int_equal(v.offset, 12);
    assert_int_equal(v.run, 2);
    /* A hole: counted, and the tail restarts after it. */
    outtail_add(o, 7, 2, 0, OUTTAIL_STDOUT, 10, "after", 5);
    v = read_all(o, 7, 0, buf, sizeof(buf));
    assert_string_equal(buf, "after");
    assert_int_equal(v.lost, 5);
    assert_int_equal(v.start, 26);
    assert_int_equal(v.end, 31);
    /* stderr is its own stream. */
    outtail_read(o, 7, OUTTAIL_STDERR, 0, buf, sizeof(buf), &v);
    assert_int_equal(v.len, 0);
    outtail_destroy(o);
}

static void test_outtail_bounds(void **state)
{
    (void)state;
    struct outtail *o = outtail_create(16, 40);
    char buf[64], chunk[10];
    for (int i = 0; i < 10; i++) {
        memset(chunk, 'a' + i, sizeof(chunk));
        outtail_add(o, 1, 1, 0, OUTTAIL_STDOUT, (uint64_t)i * 10, chunk, 10);
    }
    struct outtail_view v = read_all(o, 1, 0, buf, sizeof(buf));
    /* The last 16 bytes: 6 of 'i', 10 of 'j'; offset 0 is older than the tail. */
    assert_string_equal(buf, "iiiiiijjjjjjjjjj");
    assert_int_equal(v.start, 84);
    assert_int_equal(v.offset, 84);
    assert_int_equal(outtail_bytes(o), 16);
    /* A chunk larger than the tail keeps its end only. */
    outtail_add(o, 1, 1, 0, OUTTAIL_STDOUT, 100, "0123456789abcdefXYZ", 19);
    v = read_all(o, 1, 0, buf, sizeof(buf));
    assert_string_equal(buf, "3456789abcdefXYZ");
    /* Past the total, the job written to longest ago goes. */
    outtail_add(o, 2, 1, 0, OUTTAIL_STDOUT, 0, "0123456789012345", 16);
    outtail_add(o, 3, 1, 0, OUTTAIL_STDOUT, 0, "0123456789012345", 16);
    assert_true(outtail_bytes(o) <= 40);
    v = read_all(o, 1, 0, buf, sizeof(buf));
    assert_false(v.known);
    v = read_all(o, 3, 0, buf, sizeof(buf));
    assert_string_equal(buf, "0123456789012345");
    outtail_destroy(o);
}

/* Several nodes of one job: their chunks merge in arrival order, each node's offsets its own. */
static void test_outtail_nodes(void **state)
{
    (void)state;
    struct outtail *o = outtail_create(1024, 0);
    char buf[256];
    outtail_add(o, 5, 1, 3, OUTTAIL_STDOUT, 0, "0: a\n", 5);
    outtail_add(o, 5, 1, 9, OUTTAIL_STDOUT, 0, "1: b\n", 5);
    outtail_add(o, 5, 1, 1, OUTTAIL_STDOUT, 0, "2: c\n", 5);
    outtail_add(o, 5, 1, 9, OUTTAIL_STDOUT, 0, "1: b\n", 5);        /* a resend of node 9's */
    outtail_add(o, 5, 1, 3, OUTTAIL_STDOUT, 0, "0: a\n0: d\n", 10); /* overlaps, then new */
    outtail_add(o, 5, 1, 1, OUTTAIL_STDOUT, 5, "2: e\n", 5);
    struct outtail_view v = read_all(o, 5, 0, buf, sizeof(buf));
    assert_string_equal(buf, "0: a\n1: b\n2: c\n0: d\n2: e\n");
    assert_int_equal(v.lost, 0);
    /* A hole in one node's output: counted, and the stream's readers see the skip. */
    outtail_add(o, 5, 1, 9, OUTTAIL_STDOUT, 15, "1: f\n", 5);
    v = read_all(o, 5, 0, buf, sizeof(buf));
    assert_string_equal(buf, "1: f\n");
    assert_int_equal(v.lost, 10);
    assert_int_equal(v.start, 35);
    /* Run 2 on other nodes: run 1's late chunks are ignored, node 3 starts again at 0. */
    outtail_add(o, 5, 2, 3, OUTTAIL_STDOUT, 0, "0: g\n", 5);
    outtail_add(o, 5, 1, 1, OUTTAIL_STDOUT, 10, "2: late\n", 8);
    v = read_all(o, 5, 35, buf, sizeof(buf));
    assert_string_equal(buf, "1: f\n0: g\n");
    assert_int_equal(v.run, 2);
    outtail_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_outtail_order_resend_runs),
            cmocka_unit_test(test_outtail_bounds),
            cmocka_unit_test(test_outtail_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
