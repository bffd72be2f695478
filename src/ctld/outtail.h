/* SPDX-License-Identifier: MIT */
/*
 * outtail.h - the tail of each job's output the controller keeps in
 * memory, for GET /v1/jobs/{id}/output (`nordlys run`, `nordlys output`,
 * the dashboard).
 *
 * Agents ship what rank 0 of a job writes to its stdout and stderr in
 * their syncs, as chunks that name the run and the offset within that
 * run's output. A stream is the concatenation of the job's runs, in run
 * order: its offsets count every byte ever accounted for, so that a
 * reader that asks from where it stopped never sees a byte twice. Each
 * stream keeps its last `tail_max` bytes; a chunk that leaves a hole
 * (the agent skipped ahead, or the controller restarted and lost what it
 * held) counts the missing bytes as lost and restarts the tail after the
 * hole, so that what is held is always one contiguous range of the
 * stream. When all tails together pass `total_max`, the jobs written to
 * longest ago are forgotten whole.
 *
 * Memory only: a controller restart forgets every tail (the files stay on
 * the nodes). Pure data: it calls no other module of the controller.
 */
#ifndef NL_CTLD_OUTTAIL_H
#define NL_CTLD_OUTTAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outtail;

enum outtail_stream {
    OUTTAIL_STDOUT = 0,
    OUTTAIL_STDERR,
    OUTTAIL_STREAMS
};

/* Tails of tail_max bytes per stream, all together at most total_max. */
struct outtail *outtail_create(size_t tail_max, size_t total_max);
void outtail_destroy(struct outtail *o);

/*
 * Bytes [offset, offset + len) of run's output on stream of job (data
 * borrowed). A chunk of an older run than the last seen, or bytes already
 * held, are ignored; a newer run's output starts where the stream ends.
 */
void outtail_add(struct outtail *o, uint64_t job, uint32_t run, enum outtail_stream stream,
                 uint64_t offset, const void *data, size_t len);

/* What a read found. */
struct outtail_view {
    bool known;      /* the controller holds output of this job (else all below are 0) */
    uint64_t start;  /* the oldest stream offset still held */
    uint64_t end;    /* the stream offset after the last byte received */
    uint64_t offset; /* where the bytes returned begin: max(asked, start), at most end */
    uint64_t lost;   /* bytes of the stream never received (holes), in all */
    uint32_t run;    /* the run whose output was received last */
    size_t len;      /* bytes copied into the caller's buffer */
};

/*
 * Copy at most max bytes of job's stream from offset (or from the oldest
 * byte held, when offset is older) into buf.
 */
void outtail_read(const struct outtail *o, uint64_t job, enum outtail_stream stream,
                  uint64_t offset, void *buf, size_t max, struct outtail_view *out);

/* Bytes held by every tail together (for /metrics and tests). */
size_t outtail_bytes(const struct outtail *o);

#endif
