/* SPDX-License-Identifier: MIT */
/* outship.c - shipping a run's output in syncs (see outship.h). */
#define _GNU_SOURCE
#include "outship.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/proto_limits.h"

void outship_init(struct outship *s, int64_t base)
{
    *s = (struct outship){.base = base};
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
    if (size > s->acked + NL_PROTO_OUTPUT_TAIL_MAX)
        s->acked = size - NL_PROTO_OUTPUT_TAIL_MAX;
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

bool outship_pending(const struct outship *s, int fd)
{
    return fd >= 0 && run_bytes(s, fd) > s->acked;
}
