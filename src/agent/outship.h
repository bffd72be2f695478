/* SPDX-License-Identifier: MIT */
/*
 * outship.h - shipping one output stream of a run to the controller, in
 * the agent's syncs (issue 12; GET /v1/jobs/{id}/output).
 *
 * A stream's offsets count from the run's own start in the file (base: a
 * requeued run appends to what earlier runs wrote, which is not this
 * run's). Bytes go out from the last offset the controller acknowledged,
 * so a sync whose answer is lost is followed by a resend of the same
 * bytes at the same offsets (the controller drops what it holds). A
 * backlog larger than NL_PROTO_OUTPUT_TAIL_MAX is skipped ahead to its
 * last NL_PROTO_OUTPUT_TAIL_MAX bytes: the controller would keep no more.
 *
 * A stream of lines (a spool of labelled lines, launch.h) goes out in
 * whole lines only: a chunk ends at its last newline, and a skip ahead
 * goes on to the start of the next line, so that the controller can merge
 * the chunks of a job's nodes without ever cutting a line (outtail.h).
 * Its acknowledged bytes are freed (outship_trim: a spool is memory).
 * Pure bookkeeping plus pread and fallocate on a descriptor the caller owns.
 */
#ifndef NL_AGENT_OUTSHIP_H
#define NL_AGENT_OUTSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outship {
    int64_t base;      /* the file's size when the run started */
    uint64_t acked;    /* bytes of the run up to which the controller has answered */
    uint64_t sent_end; /* where the bytes of sync sent_seq ended */
    uint64_t sent_seq; /* the last sync that carried bytes of it, 0 if none pending */
    uint64_t trimmed;  /* bytes freed from the file (lines) */
    bool lines;        /* whole lines only (see above) */
    bool final;        /* lines: the run has ended, the rest goes as it is */
    bool align;        /* lines: skipped ahead into a line, whose rest is not shipped */
};

/* A stream whose run's output starts at base in its file; lines: a spool of whole lines. */
void outship_init(struct outship *s, int64_t base, bool lines);
/*
 * Read at most max new bytes of fd for sync seq into buf: how many (0 when
 * none, or on a read error), *offset their offset within the run.
 */
size_t outship_take(struct outship *s, int fd, uint64_t seq, void *buf, size_t max,
                    uint64_t *offset);
/* The answer to sync seq arrived: what it carried is acknowledged. */
void outship_ack(struct outship *s, uint64_t seq);
/*
 * The run has ended and its file will not grow: a stream of lines ships
 * what is left as it is, a last line without its newline too (a keeper
 * cut short), so that the run's exit is never held for a line that will
 * not end.
 */
void outship_final(struct outship *s);
/* Free fd's bytes the controller has (a stream of lines; a no-op on others). */
void outship_trim(struct outship *s, int fd);
/* Whether fd holds bytes of the run not yet acknowledged. */
bool outship_pending(const struct outship *s, int fd);

#endif
