/* SPDX-License-Identifier: MIT */
/*
 * outtail.h - the tail of each job's output the controller keeps in
 * memory, for GET /v1/jobs/{id}/output (`nordlys run`, `nordlys output`,
 * the dashboard).
 *
 * Every node of a job has its agent ship what the job's tasks there write
 * to stdout and stderr, in syncs, as chunks that name the run, the node
 * (a source) and the offset within that node's output of the run. A job
 * of several tasks ships whole lines, each labelled with its task (the
 * keeper writes "TASK: line\n", outship.h cuts chunks at line ends), so
 * one job's stream is the merge of its sources' chunks in arrival order,
 * and two tasks' lines never mix; a job of one task has one source and
 * its stream is that task's bytes as written. The stream's offsets count
 * every byte ever accounted for, so that a reader that asks from where it
 * stopped never sees a byte twice. A newer run's output follows the older
 * one's; an older run's late chunks are ignored.
 *
 * Each stream keeps its last `tail_max` bytes, whatever the job's node
 * count: a 1,000-node job holds no more than a one-node job (and 16 bytes
 * of bookkeeping per node). A chunk that leaves a hole in its source (the
 * agent skipped ahead, or the controller restarted and lost what it held)
 * counts the missing bytes as lost, moves the stream's end past them and
 * restarts the tail there, so that what is held is always one contiguous
 * range of the stream and a reader sees the skip. When all tails together
 * pass `total_max`, the jobs written to longest ago are forgotten whole.
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
 * Bytes [offset, offset + len) of run's output on node (the source) on
 * stream of job (data borrowed). A chunk of an older run than the last
 * seen, or bytes of the source already held, are ignored.
 */
void outtail_add(struct outtail *o, uint64_t job, uint32_t run, uint32_t node,
                 enum outtail_stream stream, uint64_t offset, const void *data, size_t len);

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
