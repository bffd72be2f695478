/* SPDX-License-Identifier: MIT */
/*
 * map.h - an open-addressing hash map from nonzero uint64_t keys to
 * borrowed pointers, for the agent's job tables (job/node keys, pids).
 *
 * Linear probing with backward-shift deletion, so there are no tombstones
 * and lookups stay short however many jobs come and go. Key 0 is reserved
 * as "empty". Values are borrowed: the map never frees them.
 */
#ifndef NL_AGENT_MAP_H
#define NL_AGENT_MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
    uint64_t *keys;
    void **vals;
    size_t cap; /* a power of two, or 0 before the first insert */
    size_t n;
};

/* The value for key, or NULL. */
void *u64map_get(const struct u64map *m, uint64_t key);
/* Insert or replace key (nonzero). */
void u64map_put(struct u64map *m, uint64_t key, void *val);
/* Remove key if present; returns its value or NULL. */
void *u64map_del(struct u64map *m, uint64_t key);
/* Free the arrays (not the values) and zero m. */
void u64map_release(struct u64map *m);

#endif
