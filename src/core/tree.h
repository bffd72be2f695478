/* SPDX-License-Identifier: MIT */
/*
 * tree.h - an ordered set of (key, id) -> value, as a treap over a node
 * pool (internal to libnordlys).
 *
 * Entries are ordered by key ascending, then id ascending, so equal keys
 * keep a stable, deterministic order. Nodes live in one growing array and
 * are recycled through a free list: inserting allocates only when the pool
 * grows, never per entry. Node priorities come from a hash of the id, not
 * from a random source, so the shape (and the cost) is reproducible.
 *
 * Handles are int32 node indexes; TREE_NIL (-1) means none. A handle stays
 * valid until its entry is removed.
 *
 * Entries are also threaded in order: each node links to the next one.
 * Rotations keep the order, so only insert and remove touch the links, and
 * stepping to the next entry is one load. The scheduler's pass steps
 * through the pending trees once per job it looks at; finding the in-order
 * successor through the tree touched some two nodes per step, scattered
 * over the pool, and was a fifth of the simulator's time. The link takes
 * the place of a stored priority, which is a hash of the id (tree_prio),
 * so a node stays 48 bytes.
 *
 * Each entry may carry a weight; every node keeps the sum of the weights
 * of its subtree, so "the first entry at which the running sum of weights
 * reaches X" is one descent (tree_reach). The scheduler weighs running
 * jobs by their GPUs to find when enough GPUs will have been released.
 */
#ifndef NL_CORE_TREE_H
#define NL_CORE_TREE_H

#include <stddef.h>
#include <stdint.h>

#define TREE_NIL (-1)

struct tree_node {
    double key;
    uint64_t id;
    uint64_t sum; /* weights of this subtree */
    uint32_t value;
    uint32_t weight;
    int32_t left, right, parent;
    int32_t next; /* the next entry in order; NIL for the last */
};

struct tree {
    struct tree_node *nodes;
    size_t cap;
    int32_t root;
    int32_t free_list; /* chained through .right */
    size_t count;
};

void tree_init(struct tree *t);
void tree_release(struct tree *t);

/* Insert; returns the new entry's handle. */
int32_t tree_insert(struct tree *t, double key, uint64_t id, uint32_t value);
int32_t tree_insert_w(struct tree *t, double key, uint64_t id, uint32_t value, uint32_t weight);
/*
 * The first entry (in order) at which the running sum of weights reaches
 * x (x >= 1); NIL when the total is below x. *sum gets the running sum up
 * to and including that entry.
 */
int32_t tree_reach(const struct tree *t, uint64_t x, uint64_t *sum);
uint64_t tree_weight(const struct tree *t);
/* Remove the entry behind handle h. */
void tree_remove(struct tree *t, int32_t h);

int32_t tree_first(const struct tree *t);

static inline const struct tree_node *tree_get(const struct tree *t, int32_t h)
{
    return &t->nodes[h];
}

static inline int32_t tree_next(const struct tree *t, int32_t h)
{
    return t->nodes[h].next;
}

/* Bytes held by the pool. */
size_t tree_memory_bytes(const struct tree *t);

#endif
