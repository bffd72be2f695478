/* SPDX-License-Identifier: MIT */
/*
 * test_outship.c - shipping one output stream: a file's bytes from its
 * base, resends until acknowledged; a spool of lines goes out in whole
 * lines only, resumes at a line's start after a skip ahead, and has its
 * acknowledged bytes freed. On a real memfd, as the agent's spools are.
 */
#define _GNU_SOURCE
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
/* clang-format on */

#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/outship.h"
#include "common/proto_limits.h"

static int spool(void)
{
    int fd = memfd_create("test-spool", MFD_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static void put(int fd, const char *s)
{
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* A file's stream: bytes from its base, as they are; a lost answer sends them again. */
static void test_outship_bytes(void **state)
{
    (void)state;
    int fd = spool();
    put(fd, "old run\n");
    struct outship s;
    outship_init(&s, 8, false);
    put(fd, "abc");
    char buf[64];
    uint64_t off = 99;
    assert_int_equal(outship_take(&s, fd, 1, buf, sizeof(buf), &off), 3);
    assert_int_equal(off, 0);
    assert_memory_equal(buf, "abc", 3);
    /* Sync 1's answer lost: sync 2 sends the same bytes, and what came since. */
    put(fd, "de");
    assert_int_equal(outship_take(&s, fd, 2, buf, sizeof(buf), &off), 5);
    assert_int_equal(off, 0);
    outship_ack(&s, 2);
    assert_false(outship_pending(&s, fd));
    close(fd);
}

/* A spool of lines: whole lines only; after a skip ahead, from the next line's start. */
static void test_outship_lines(void **state)
{
    (void)state;
    int fd = spool();
    struct outship s;
    outship_init(&s, 0, true);
    put(fd, "0: one\n1: two\n0: thr");
    char buf[64];
    uint64_t off = 99;
    size_t n = outship_take(&s, fd, 1, buf, sizeof(buf), &off);
    assert_int_equal(n, 14);
    assert_int_equal(off, 0);
    assert_memory_equal(buf, "0: one\n1: two\n", 14);
    outship_ack(&s, 1);
    assert_true(outship_pending(&s, fd)); /* "0: thr" waits for its end */
    /* A read that cannot hold one whole line takes nothing. */
    assert_int_equal(outship_take(&s, fd, 2, buf, 4, &off), 0);
    put(fd, "ee\n");
    n = outship_take(&s, fd, 3, buf, sizeof(buf), &off);
    assert_int_equal(n, 9);
    assert_int_equal(off, 14);
    assert_memory_equal(buf, "0: three\n", 9);
    outship_ack(&s, 3);
    assert_false(outship_pending(&s, fd));
    /* A backlog past the controller's tail: skipped ahead, to the start of a line. */
    static char big[(NL_PROTO_OUTPUT_TAIL_MAX + 4096) / 10 * 10]; /* lines of 10 bytes */
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = i % 10 == 9 ? '\n' : 'x';
    size_t total = 23;
    for (size_t w = 0; w < sizeof(big);) {
        ssize_t k = write(fd, big + w, sizeof(big) - w);
        assert_true(k > 0);
        w += (size_t)k;
    }
    total += sizeof(big);
    n = outship_take(&s, fd, 4, buf, sizeof(buf), &off);
    assert_true(n > 0);
    assert_true(off >= total - NL_PROTO_OUTPUT_TAIL_MAX);
    assert_int_equal((off - 23) % 10, 0); /* the start of a line */
    assert_int_equal(buf[n - 1], '\n');
    outship_ack(&s, 4);
    /* What the controller has is freed: the spool holds no more than what is left. */
    outship_trim(&s, fd);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, (off_t)total);
    assert_true((uint64_t)st.st_blocks * 512 <= total - off + 8192);
    /* Drain the rest: whole lines, in order, to the end. */
    uint64_t seq = 5, next = off + n;
    while ((n = outship_take(&s, fd, seq, buf, sizeof(buf), &off)) > 0) {
        assert_int_equal(off, next);
        assert_int_equal(buf[n - 1], '\n');
        next = off + n;
        outship_ack(&s, seq++);
    }
    assert_int_equal(next, total);
    /* The run has ended: a last line without its newline goes as it is. */
    put(fd, "1: cut sh");
    assert_int_equal(outship_take(&s, fd, seq, buf, sizeof(buf), &off), 0);
    outship_final(&s);
    assert_int_equal(outship_take(&s, fd, seq, buf, sizeof(buf), &off), 9);
    assert_int_equal(off, total);
    assert_memory_equal(buf, "1: cut sh", 9);
    outship_ack(&s, seq);
    assert_false(outship_pending(&s, fd));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_outship_bytes),
            cmocka_unit_test(test_outship_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
