/* SPDX-License-Identifier: MIT */
/* u64map.c - see u64map.h. */
#include "u64map.h"

#include <assert.h>
#include <stdlib.h>

#include "xalloc.h"

/* A splitmix64 finaliser: job ids, keys and pids are sequential, so spread them. */
static size_t slot_of(const struct nl_u64map *m, uint64_t k)
{
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebULL;
    k ^= k >> 31;
    return (size_t)k & (m->cap - 1);
}

bool nl_u64map_get(const struct nl_u64map *m, uint64_t key, uint64_t *val)
{
    if (m->cap == 0 || key == 0)
        return false;
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            if (val != NULL)
                *val = m->vals[i];
            return true;
        }
        if (m->keys[i] == 0)
            return false;
    }
}

static void grow(struct nl_u64map *m)
{
    struct nl_u64map old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->keys = xcalloc(m->cap, sizeof(*m->keys));
    m->vals = xcalloc(m->cap, sizeof(*m->vals));
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i] != 0)
            nl_u64map_put(m, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
}

void nl_u64map_put(struct nl_u64map *m, uint64_t key, uint64_t val)
{
    assert(key != 0);
    if ((m->n + 1) * 2 > m->cap)
        grow(m);
    size_t i = slot_of(m, key);
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (m->keys[i] == 0)
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
}

bool nl_u64map_del(struct nl_u64map *m, uint64_t key, uint64_t *val)
{
    if (m->cap == 0 || key == 0)
        return false;
    size_t mask = m->cap - 1, i = slot_of(m, key);
    while (m->keys[i] != key) {
        if (m->keys[i] == 0)
            return false;
        i = (i + 1) & mask;
    }
    if (val != NULL)
        *val = m->vals[i];
    /* Backward shift: pull later members of the probe run into the hole. */
    for (size_t j = (i + 1) & mask; m->keys[j] != 0; j = (j + 1) & mask) {
        size_t home = slot_of(m, m->keys[j]);
        /* Move j into the hole unless its home lies cyclically in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = 0;
    m->n--;
    return true;
}

void nl_u64map_release(struct nl_u64map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}

size_t nl_u64map_memory_bytes(const struct nl_u64map *m)
{
    return m->cap * (sizeof(*m->keys) + sizeof(*m->vals));
}
