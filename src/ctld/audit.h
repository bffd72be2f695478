/* SPDX-License-Identifier: MIT */
/*
 * audit.h - the audit log, STATE/audit.log: one JSON object a line, for
 * every state-changing action and every refusal, append-only. Each record
 * carries "seq" (1, 2, ...) and "prev", the SHA-256 (hex) of the previous
 * line's bytes ("" for the first), so that altering, removing or
 * reordering a record breaks the chain where it was done (nordlys audit
 * verify finds it). Records are buffered and written with fsync by
 * audit_sync, which the durability rule calls before each COMMIT
 * (durable_attach_log): an answer is released only once its record is on
 * disk.
 *
 * A module of the lowest layer: it calls nothing of src/ctld.
 */
#ifndef NL_CTLD_AUDIT_H
#define NL_CTLD_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct audit;
struct nl_err;

#define AUDIT_HASH_HEX 65 /* SHA-256 in hex, with its NUL */

/*
 * Open (or create, mode 0600) the log at path and find its last record's
 * seq and hash. A torn last line (a crash mid-write, never synced, so
 * never answered) is cut off. NULL with err naming the file.
 */
struct audit *audit_open(const char *path, struct nl_err *err);
void audit_close(struct audit *a);

/* Add rec (borrowed; its fields in order, then seq and prev are added) to the buffer. */
void audit_append(struct audit *a, json_t *rec);
/* Records buffered and not yet synced. */
bool audit_pending(const struct audit *a);
/*
 * Write the buffer and fsync. On failure the file is cut back to its last
 * synced length and the buffered records are dropped (their answers
 * become 503s): the chain on disk stays whole.
 */
int audit_sync(struct audit *a, struct nl_err *err);

const char *audit_path(const struct audit *a);
/* The last synced record's seq (0: none) and the hash of its line ("" when none). */
uint64_t audit_seq(const struct audit *a);
const char *audit_head(const struct audit *a);

/* SHA-256 of len bytes at data, in hex (out holds AUDIT_HASH_HEX). */
void audit_hash(const void *data, size_t len, char out[AUDIT_HASH_HEX]);

#endif
