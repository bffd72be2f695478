/* SPDX-License-Identifier: MIT */
/* idmap.c - see idmap.h. */
#include "idmap.h"

#include <stdlib.h>

#include "common/xalloc.h"

static size_t slot_of(uint64_t id, size_t cap)
{
    return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 17) & (cap - 1);
}

void idmap_init(struct idmap *m)
{
    m->cap = 64;
    m->n = 0;
    m->keys = xcalloc(m->cap, sizeof(*m->keys));
    m->vals = xcalloc(m->cap, sizeof(*m->vals));
}

void idmap_release(struct idmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}

static void grow(struct idmap *m)
{
    uint64_t *ok = m->keys;
    uint32_t *ov = m->vals;
    size_t oc = m->cap;
    m->cap *= 2;
    m->keys = xcalloc(m->cap, sizeof(*m->keys));
    m->vals = xcalloc(m->cap, sizeof(*m->vals));
    m->n = 0;
    for (size_t i = 0; i < oc; i++)
        if (ok[i] != 0)
            idmap_put(m, ok[i], ov[i]);
    free(ok);
    free(ov);
}

void idmap_put(struct idmap *m, uint64_t id, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap) /* keep the load at most 1/2 */
        grow(m);
    size_t i = slot_of(id, m->cap);
    while (m->keys[i] != 0 && m->keys[i] != id)
        i = (i + 1) & (m->cap - 1);
    if (m->keys[i] == 0)
        m->n++;
    m->keys[i] = id;
    m->vals[i] = val;
}

int64_t idmap_get(const struct idmap *m, uint64_t id)
{
    size_t i = slot_of(id, m->cap);
    while (m->keys[i] != 0) {
        if (m->keys[i] == id)
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

void idmap_del(struct idmap *m, uint64_t id)
{
    size_t mask = m->cap - 1, i = slot_of(id, m->cap);
    while (m->keys[i] != id) {
        if (m->keys[i] == 0)
            return;
        i = (i + 1) & mask;
    }
    /* Shift later members of the probe run back so that no hole breaks a lookup. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->keys[j] == 0)
            break;
        size_t home = slot_of(m->keys[j], m->cap);
        int between = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (between)
            continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
    m->keys[i] = 0;
    m->n--;
}

size_t idmap_memory_bytes(const struct idmap *m)
{
    return m->cap * (sizeof(*m->keys) + sizeof(*m->vals));
}
