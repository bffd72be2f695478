/* SPDX-License-Identifier: MIT */
/*
 * idmap.h - job id -> slot, open addressing with linear probing and
 * backward-shift deletion (no tombstones, so lookups stay short after
 * millions of submit/finish cycles). Id 0 is reserved as "empty".
 */
#ifndef NL_CORE_IDMAP_H
#define NL_CORE_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap; /* power of two */
    size_t n;
};

void idmap_init(struct idmap *m);
void idmap_release(struct idmap *m);
/* Insert or replace. id must be non-zero. */
void idmap_put(struct idmap *m, uint64_t id, uint32_t val);
/* Slot of id, or -1. */
int64_t idmap_get(const struct idmap *m, uint64_t id);
void idmap_del(struct idmap *m, uint64_t id);
size_t idmap_memory_bytes(const struct idmap *m);

#endif
