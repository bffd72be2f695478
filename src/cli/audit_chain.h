/* SPDX-License-Identifier: MIT */
/*
 * audit_chain.h - checking the audit log's hash chain (docs/security.md):
 * record i (line i, from 1) must carry "seq" = seq of line i-1 plus one
 * and "prev" = the SHA-256 (hex) of line i-1's bytes ("" for the first
 * record of a log that starts at seq 1). The first line that breaks
 * either is named, with what that means: a line altered (its successor's
 * prev does not match it, or it is not a record), a record removed (seq
 * jumps forward) or records reordered (seq goes back).
 */
#ifndef NL_CLI_AUDIT_CHAIN_H
#define NL_CLI_AUDIT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

struct audit_bad {
    size_t line; /* 1-based line of the first bad record; 0 = the chain holds */
    int64_t seq; /* its seq as written (-1 when unreadable) */
    char why[256];
};

/*
 * Check lines[0..n-1] (each one record, without its newline; borrowed).
 * head, when not NULL, is the hash the controller holds for its last
 * record (GET /v1/audit): it also catches an altered last line. Returns 0
 * when the chain holds, else -1 with *bad filled.
 */
int audit_chain_check(const char *const *lines, const size_t *lens, size_t n, const char *head,
                      struct audit_bad *bad);

/* SHA-256 of len bytes at data as 64 hex digits and a NUL. */
void audit_chain_hash(const char *data, size_t len, char out[65]);

#endif
