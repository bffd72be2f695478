/* SPDX-License-Identifier: MIT */
/* tree.c - the treap behind ordered scheduler queues; see tree.h. */
#include "tree.h"

#include <stdbool.h>
#include <stdlib.h>

#include "common/xalloc.h"

void tree_init(struct tree *t)
{
    t->nodes = NULL;
    t->cap = 0;
    t->root = TREE_NIL;
    t->free_list = TREE_NIL;
    t->count = 0;
}

void tree_release(struct tree *t)
{
    free(t->nodes);
    tree_init(t);
}

static bool less(const struct tree_node *a, double key, uint64_t id)
{
    return a->key < key || (a->key == key && a->id < id);
}

/* A node's heap priority: a hash of its id, so the shape depends on the entries only. */
static uint32_t tree_prio(const struct tree *t, int32_t h)
{
    return (uint32_t)((t->nodes[h].id * 0x9e3779b97f4a7c15ULL) >> 32);
}

static int32_t node_alloc(struct tree *t)
{
    if (t->free_list == TREE_NIL) {
        size_t old = t->cap;
        t->cap = xgrow(t->cap, old + 1);
        t->nodes = xreallocarray(t->nodes, t->cap, sizeof(*t->nodes));
        /* Chain the new nodes into the free list, lowest index first. */
        for (size_t i = t->cap; i-- > old;) {
            t->nodes[i].right = t->free_list;
            t->free_list = (int32_t)i;
        }
    }
    int32_t h = t->free_list;
    t->free_list = t->nodes[h].right;
    return h;
}

/* Replace child pointer of parent p that pointed at old with new_h (root when p is NIL). */
static void relink(struct tree *t, int32_t p, int32_t old, int32_t new_h)
{
    if (p == TREE_NIL)
        t->root = new_h;
    else if (t->nodes[p].left == old)
        t->nodes[p].left = new_h;
    else
        t->nodes[p].right = new_h;
    if (new_h != TREE_NIL)
        t->nodes[new_h].parent = p;
}

static uint64_t sum_of(const struct tree *t, int32_t h)
{
    return h == TREE_NIL ? 0 : t->nodes[h].sum;
}

static void resum(struct tree *t, int32_t h)
{
    struct tree_node *n = &t->nodes[h];
    n->sum = n->weight + sum_of(t, n->left) + sum_of(t, n->right);
}

/* Rotate h above its parent. */
static void rotate_up(struct tree *t, int32_t h)
{
    struct tree_node *n = &t->nodes[h];
    int32_t p = n->parent;
    struct tree_node *pn = &t->nodes[p];
    int32_t g = pn->parent;
    if (pn->left == h) {
        pn->left = n->right;
        if (n->right != TREE_NIL)
            t->nodes[n->right].parent = p;
        n->right = p;
    } else {
        pn->right = n->left;
        if (n->left != TREE_NIL)
            t->nodes[n->left].parent = p;
        n->left = p;
    }
    pn->parent = h;
    relink(t, g, p, h);
    resum(t, p);
    resum(t, h);
}

int32_t tree_insert(struct tree *t, double key, uint64_t id, uint32_t value)
{
    return tree_insert_w(t, key, id, value, 0);
}

int32_t tree_insert_w(struct tree *t, double key, uint64_t id, uint32_t value, uint32_t weight)
{
    int32_t h = node_alloc(t);
    struct tree_node *n = &t->nodes[h];
    n->key = key;
    n->id = id;
    n->value = value;
    n->weight = weight;
    n->sum = weight;
    n->left = n->right = TREE_NIL;
    /* On the way down, the last node passed on the right of the path is the predecessor,
     * the last passed on the left the successor. */
    int32_t p = TREE_NIL, cur = t->root, pred = TREE_NIL, succ = TREE_NIL;
    while (cur != TREE_NIL) {
        p = cur;
        t->nodes[cur].sum += weight;
        if (less(&t->nodes[cur], key, id)) {
            pred = cur;
            cur = t->nodes[cur].right;
        } else {
            succ = cur;
            cur = t->nodes[cur].left;
        }
    }
    n->parent = p;
    if (p == TREE_NIL)
        t->root = h;
    else if (less(&t->nodes[p], key, id))
        t->nodes[p].right = h;
    else
        t->nodes[p].left = h;
    n->next = succ;
    if (pred != TREE_NIL)
        t->nodes[pred].next = h;
    uint32_t prio = tree_prio(t, h);
    while (t->nodes[h].parent != TREE_NIL && tree_prio(t, t->nodes[h].parent) < prio)
        rotate_up(t, h);
    t->count++;
    return h;
}

/* The entry before h in order: the last of its left subtree, else its nearest left ancestor. */
static int32_t tree_prev(const struct tree *t, int32_t h)
{
    const struct tree_node *n = &t->nodes[h];
    if (n->left != TREE_NIL) {
        h = n->left;
        while (t->nodes[h].right != TREE_NIL)
            h = t->nodes[h].right;
        return h;
    }
    int32_t p = n->parent;
    while (p != TREE_NIL && t->nodes[p].left == h) {
        h = p;
        p = t->nodes[p].parent;
    }
    return p;
}

void tree_remove(struct tree *t, int32_t h)
{
    int32_t pred = tree_prev(t, h);
    if (pred != TREE_NIL)
        t->nodes[pred].next = t->nodes[h].next;
    /* Rotate the node down until it has at most one child, then splice it out. */
    for (;;) {
        struct tree_node *n = &t->nodes[h];
        if (n->left == TREE_NIL || n->right == TREE_NIL)
            break;
        int32_t c = tree_prio(t, n->left) > tree_prio(t, n->right) ? n->left : n->right;
        rotate_up(t, c);
    }
    struct tree_node *n = &t->nodes[h];
    int32_t child = n->left != TREE_NIL ? n->left : n->right;
    for (int32_t a = n->parent; a != TREE_NIL; a = t->nodes[a].parent)
        t->nodes[a].sum -= n->weight;
    relink(t, n->parent, h, child);
    n->right = t->free_list;
    t->free_list = h;
    t->count--;
}

int32_t tree_first(const struct tree *t)
{
    int32_t h = t->root;
    if (h == TREE_NIL)
        return TREE_NIL;
    while (t->nodes[h].left != TREE_NIL)
        h = t->nodes[h].left;
    return h;
}

int32_t tree_reach(const struct tree *t, uint64_t x, uint64_t *sum)
{
    if (sum_of(t, t->root) < x)
        return TREE_NIL;
    uint64_t before = 0; /* weights of entries before the current subtree */
    int32_t h = t->root;
    for (;;) {
        const struct tree_node *n = &t->nodes[h];
        uint64_t left = sum_of(t, n->left);
        if (before + left >= x) {
            h = n->left;
        } else if (before + left + n->weight >= x) {
            *sum = before + left + n->weight;
            return h;
        } else {
            before += left + n->weight;
            h = n->right;
        }
    }
}

uint64_t tree_weight(const struct tree *t)
{
    return sum_of(t, t->root);
}

size_t tree_memory_bytes(const struct tree *t)
{
    return t->cap * sizeof(*t->nodes);
}
