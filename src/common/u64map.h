/* SPDX-License-Identifier: MIT */
/*
 * u64map.h - a hash map from nonzero uint64_t keys to uint64_t values: the
 * scheduler's job id -> slot, the agent's job keys and pids -> records.
 *
 * Open addressing with linear probing and backward-shift deletion: no
 * tombstones, so lookups stay short after millions of insert/delete
 * cycles. The load stays at most 1/2. Key 0 is reserved as "empty". A
 * zeroed struct is an empty map; nl_u64map_release frees it.
 */
#ifndef NL_COMMON_U64MAP_H
#define NL_COMMON_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_u64map {
    uint64_t *keys;
    uint64_t *vals;
    size_t cap; /* a power of two, or 0 before the first insert */
    size_t n;
};

/* Insert or replace key (nonzero). */
void nl_u64map_put(struct nl_u64map *m, uint64_t key, uint64_t val);
/* True and *val (if val is non-NULL) set when key is present. */
bool nl_u64map_get(const struct nl_u64map *m, uint64_t key, uint64_t *val);
/* Remove key; true and *val (if non-NULL) set to its value when it was present. */
bool nl_u64map_del(struct nl_u64map *m, uint64_t key, uint64_t *val);
/* Free the arrays and zero m. */
void nl_u64map_release(struct nl_u64map *m);
size_t nl_u64map_memory_bytes(const struct nl_u64map *m);

#endif
