/* SPDX-License-Identifier: MIT */
/*
 * jsonout.h - the API's answers as text: the same bytes as jansson's
 * json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(16)), written directly
 * into one growing buffer.
 *
 * Why: every answer goes through one dump, and a submission's 201 body
 * (the whole JOB object, about 40 fields) cost about 90,000 instructions in
 * jansson 2.14's dumper, a quarter of a durable submission's controller
 * work (bench/RESULTS.md, issue 10): a callback per token, a UTF-8 decode
 * per character, and a loop check per object and array that formats its
 * address with snprintf and keeps it in a hash table. Here strings are
 * scanned a byte at a time, integers are written without printf, and
 * cycles are caught by a depth bound.
 *
 * Equality with jansson is the contract (tests/unit/ctld/test_jsonout.c
 * compares the two on many trees): what this module does not handle the
 * same way it hands to json_dumps itself, so that the answer never differs:
 * a string that is not valid UTF-8 (json_string_nocheck), a tree deeper
 * than JSONOUT_DEPTH_MAX (or a cycle), a real whose text would not fit.
 *
 * A module of the lowest layer: it calls nothing of src/ctld.
 */
#ifndef NL_CTLD_JSONOUT_H
#define NL_CTLD_JSONOUT_H

#include <jansson.h>

/* Deeper trees go to json_dumps (which also refuses cycles). */
#define JSONOUT_DEPTH_MAX 512

/*
 * The text of v (borrowed) as json_dumps(v, JSON_COMPACT |
 * JSON_REAL_PRECISION(16)) writes it, malloc'd for the caller to free;
 * NULL exactly where json_dumps returns NULL.
 */
char *jsonout_dumps(const json_t *v);

#endif
