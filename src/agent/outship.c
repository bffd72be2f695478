/* SPDX-License-Identifier: MIT */
/* outship.c - shipping a run's output in syncs (see outship.h). */
#define _GNU_SOURCE
#include "outship.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/proto_limits.h"

void outship_init(struct outship *s, int64_t base, bool lines)
{
    *s = (struct outship){.base = base, .lines = lines};
}

/* Bytes of the run in fd (its size past base), 0 when it cannot be read. */
static uint64_t run_bytes(const struct outship *s, int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < s->base)
        return 0;
    return (uint64_t)(st.st_size - s->base);
}

size_t outship_take(struct outship *s, int fd, uint64_t seq, void *buf, size_t max,
                    uint64_t *offset)
{
    uint64_t size = run_bytes(s, fd);
    /* The controller keeps the last NL_PROTO_OUTPUT_TAIL_MAX bytes: older ones need no trip. */
    if (size > s->acked + NL_PROTO_OUTPUT_TAIL_MAX) {
        s->acked = size - NL_PROTO_OUTPUT_TAIL_MAX;
        s->align = s->lines;
    }
    /* A second take for the same sync goes on where the first stopped. */
    uint64_t from = s->sent_seq == seq && s->sent_end > s->acked ? s->sent_end : s->acked;
    if (size <= from || max == 0)
        return 0;
    size_t want = size - from < max ? (size_t)(size - from) : max;
    ssize_t n = pread(fd, buf, want, s->base + (int64_t)from);
    if (n <= 0) {
        /*
         * Unreadable, or shorter than it said (truncated under us): these
         * bytes are given up, so that a run's exit, which waits for its
         * output, is never held for ever.
         */
        s->acked = size;
        s->sent_seq = 0;
        return 0;
    }
    if (s->lines && s->align && from == s->acked) {
        /* Skipped into a line: its rest goes with it, to the next line's start. */
        const char *nl = memchr(buf, '\n', (size_t)n);
        if (nl == NULL) {
            s->acked = from + (uint64_t)n;
            return 0;
        }
        size_t cut = (size_t)(nl - (const char *)buf) + 1;
        s->align = false;
        s->acked = from += cut;
        n -= (ssize_t)cut;
        memmove(buf, (char *)buf + cut, (size_t)n);
    }
    s->align = false;
    if (s->lines && !s->final) {
        /* Whole lines, to the last newline; one not ended yet waits (the keeper ends each). */
        size_t k = (size_t)n;
        while (k > 0 && ((const char *)buf)[k - 1] != '\n')
            k--;
        if (k == 0)
            return 0;
        n = (ssize_t)k;
    }
    *offset = from;
    s->sent_end = from + (uint64_t)n;
    s->sent_seq = seq;
    return (size_t)n;
}

void outship_ack(struct outship *s, uint64_t seq)
{
    if (s->sent_seq != 0 && s->sent_seq == seq) {
        s->acked = s->sent_end;
        s->sent_seq = 0;
    }
}

void outship_final(struct outship *s)
{
    s->final = true;
}

void outship_trim(struct outship *s, int fd)
{
    /* Whole pages: a spool is a memfd, whose freed ranges give their memory back. */
    uint64_t upto = s->acked & ~(uint64_t)4095;
    if (!s->lines || fd < 0 || upto <= s->trimmed)
        return;
    /* A failure (a kernel without hole punching on memfd) keeps the bytes: not tried again. */
    int rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)s->trimmed,
                       (off_t)(upto - s->trimmed));
    (void)rc;
    s->trimmed = upto;
}

bool outship_pending(const struct outship *s, int fd)
{
    return fd >= 0 && run_bytes(s, fd) > s->acked;
}
