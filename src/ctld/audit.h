/* SPDX-License-Identifier: MIT */
/*
 * audit.h - the audit log: one JSON object a record, for every
 * state-changing action and every refusal, append-only. Each record
 * carries "seq" (1, 2, ...) and "prev", the SHA-256 (hex) of the previous
 * record's line ("" for the first), so that altering, removing or
 * reordering a record breaks the chain where it was done (nordlys audit
 * verify finds it).
 *
 * The record is the store's audit table (one row a line), written in the
 * same transaction as the changes it records: records are buffered by
 * audit_append and inserted by audit_write just before the iteration's
 * COMMIT (durable_attach_log), so that one COMMIT (one sync) makes an
 * action and its record durable together, and an answer is released only
 * once both are. A refusal that changes nothing else still opens the
 * iteration's transaction. A failed COMMIT rolls the records back with the
 * rest, and audit_settle takes the chain's head back to the store's.
 *
 * STATE/audit.log is a copy for people and tools that read files: written
 * afresh from the table at open, appended after each COMMIT, never synced
 * (a crash may lose its end; the next start rewrites it). Nothing trusts it.
 *
 * A module of the lowest layer: it calls nothing of src/ctld (only the store).
 */
#ifndef NL_CTLD_AUDIT_H
#define NL_CTLD_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audit;
struct nl_err;
struct nl_store;

#define AUDIT_HASH_HEX 65 /* SHA-256 in hex, with its NUL */

/*
 * The log in st (borrowed for the log's life; no transaction open): its
 * head (last seq, hash of its line) is read from the table, and the copy
 * at mirror (mode 0600) is rewritten from it. A file there from before the
 * table existed, with the table empty, is kept as MIRROR.before-table.
 * A copy that cannot be written (a full disk) is warned about, not fatal.
 * NULL with err naming what failed.
 */
struct audit *audit_open(struct nl_store *st, const char *mirror, struct nl_err *err);
void audit_close(struct audit *a);

/* Add rec (borrowed; an object without "seq" or "prev") to the buffer: seq, its fields, prev. */
void audit_append(struct audit *a, json_t *rec);

/*
 * One field of a record built without jansson (audit_append_fields):
 * a string (str, UTF-8) or, when str is NULL, the integer num.
 */
struct audit_field {
    const char *key; /* plain ASCII, nothing to escape */
    const char *str;
    long long num;
};

/*
 * Add the record of fields f[0..n) in that order: the same line as
 * audit_append of an object with those fields (JSON_COMPACT,
 * JSON_ENSURE_ASCII), built directly, since one is made per submission.
 * A byte that is not part of valid UTF-8 is written as U+FFFD.
 */
void audit_append_fields(struct audit *a, const struct audit_field *f, size_t n);
/*
 * Append to *buf (grown with *cap, at *len) the JSON string of the n bytes
 * at s, quoted, escaped as jansson's JSON_COMPACT | JSON_ENSURE_ASCII dump
 * escapes it (invalid UTF-8 as \ufffd).
 */
void audit_json_string(char **buf, size_t *len, size_t *cap, const char *s, size_t n);
/* Records buffered and not yet committed. */
bool audit_pending(const struct audit *a);
/* Insert the buffered records into the store's open transaction (before its COMMIT). */
int audit_write(struct audit *a, struct nl_err *err);
/*
 * After the COMMIT (committed) or the rollback of the transaction that
 * audit_write wrote to: the buffer is emptied; committed records are
 * appended to the copy; on a rollback the head is read again from the store.
 */
void audit_settle(struct audit *a, bool committed);

/* The committed records' lines, in seq order, as a new JSON array; at most max_bytes of them. */
int audit_lines(const struct audit *a, size_t max_bytes, json_t **lines, struct nl_err *err);

/* The last committed record's seq (0: none) and the hash of its line ("" when none). */
uint64_t audit_seq(const struct audit *a);
const char *audit_head(const struct audit *a);

/* SHA-256 of len bytes at data, in hex (out holds AUDIT_HASH_HEX). */
void audit_hash(const void *data, size_t len, char out[AUDIT_HASH_HEX]);

#endif
