/* SPDX-License-Identifier: MIT */
/* order.c - per-tenant pending trees merged by a heap; see order.h. */
#include "order.h"

#include <stdlib.h>

#include "common/xalloc.h"

void order_init(struct order *o, size_t ntenants)
{
    o->ntenants = ntenants;
    o->q = xcalloc(ntenants ? ntenants : 1, sizeof(*o->q));
    for (size_t i = 0; i < ntenants; i++)
        tree_init(&o->q[i]);
    o->heap = xcalloc(ntenants ? ntenants : 1, sizeof(*o->heap));
    o->hn = 0;
    o->offset = NULL;
}

void order_release(struct order *o)
{
    for (size_t i = 0; i < o->ntenants; i++)
        tree_release(&o->q[i]);
    free(o->q);
    free(o->heap);
    o->q = NULL;
    o->heap = NULL;
}

/* Trees sort ascending; the highest key must come first, so store -key. */
int32_t order_add(struct order *o, uint32_t tenant, double static_key, uint64_t id, uint32_t slot)
{
    return tree_insert(&o->q[tenant], -static_key, id, slot);
}

void order_del(struct order *o, uint32_t tenant, int32_t handle)
{
    tree_remove(&o->q[tenant], handle);
}

size_t order_count(const struct order *o)
{
    size_t n = 0;
    for (size_t i = 0; i < o->ntenants; i++)
        n += o->q[i].count;
    return n;
}

/* a before b: higher key, then lower job id (submit order), so ties are deterministic. */
static bool head_before(const struct order *o, const struct order_head *a,
                        const struct order_head *b)
{
    if (a->key != b->key)
        return a->key > b->key;
    return tree_get(&o->q[a->tenant], a->node)->id < tree_get(&o->q[b->tenant], b->node)->id;
}

static void sift_down(struct order *o, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < o->hn && head_before(o, &o->heap[l], &o->heap[m]))
            m = l;
        if (r < o->hn && head_before(o, &o->heap[r], &o->heap[m]))
            m = r;
        if (m == i)
            return;
        struct order_head t = o->heap[i];
        o->heap[i] = o->heap[m];
        o->heap[m] = t;
        i = m;
    }
}

static void sift_up(struct order *o, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!head_before(o, &o->heap[i], &o->heap[p]))
            return;
        struct order_head t = o->heap[i];
        o->heap[i] = o->heap[p];
        o->heap[p] = t;
        i = p;
    }
}

static double head_key(const struct order *o, uint32_t tenant, int32_t node)
{
    return o->offset[tenant] - tree_get(&o->q[tenant], node)->key;
}

void order_begin(struct order *o, const double *offset)
{
    o->offset = offset;
    o->hn = 0;
    for (size_t t = 0; t < o->ntenants; t++) {
        int32_t h = tree_first(&o->q[t]);
        if (h == TREE_NIL)
            continue;
        o->heap[o->hn] = (struct order_head){head_key(o, (uint32_t)t, h), (uint32_t)t, h};
        sift_up(o, o->hn++);
    }
}

bool order_next(struct order *o, uint32_t *slot, double *key)
{
    if (o->hn == 0)
        return false;
    struct order_head *top = &o->heap[0];
    const struct tree_node *n = tree_get(&o->q[top->tenant], top->node);
    *slot = n->value;
    *key = top->key;
    /*
     * Advance this tenant to its next job before the caller can remove the
     * current one from the tree (a started job leaves the pending queue).
     */
    const struct tree *q = &o->q[top->tenant];
    int32_t next = n->next;
    if (next == TREE_NIL) {
        o->heap[0] = o->heap[--o->hn];
    } else {
        /*
         * The tenant's entry after next is needed when this tenant comes up
         * again: ask for it now, while the caller works on this job (the
         * pool is scattered, and a pass walks thousands of entries).
         */
        int32_t after = tree_get(q, next)->next;
        if (after != TREE_NIL)
            __builtin_prefetch(tree_get(q, after));
        top->node = next;
        top->key = head_key(o, top->tenant, next);
    }
    if (o->hn > 0)
        sift_down(o, 0);
    return true;
}

uint32_t order_peek(const struct order *o)
{
    if (o->hn == 0)
        return UINT32_MAX;
    return tree_get(&o->q[o->heap[0].tenant], o->heap[0].node)->value;
}

void order_end(struct order *o)
{
    o->hn = 0;
    o->offset = NULL;
}

size_t order_memory_bytes(const struct order *o)
{
    size_t b = o->ntenants * (sizeof(struct tree) + sizeof(struct order_head));
    for (size_t i = 0; i < o->ntenants; i++)
        b += tree_memory_bytes(&o->q[i]);
    return b;
}
