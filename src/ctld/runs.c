/* SPDX-License-Identifier: MIT */
/*
 * runs.c - per-running-job tracking, in an open-addressing hash table
 * keyed by job id (linear probing, backward-shift deletion, load <= 1/2).
 *
 * Why a table of our own: the controller looks runs up on every agent
 * report (100k running jobs, several reports per second each), and
 * nothing in libc offers a u64 map.
 */
#include "runs.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "store/store.h"

struct runs {
    struct run **slot;
    size_t cap; /* power of two */
    size_t count;
};

static size_t hash_id(uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (size_t)id;
}

struct runs *runs_create(void)
{
    struct runs *r = xcalloc(1, sizeof(*r));
    r->cap = 64;
    r->slot = xcalloc(r->cap, sizeof(*r->slot));
    return r;
}

static void run_free(struct run *run)
{
    if (run == NULL)
        return;
    free(run->alloc);
    free(run->by_node);
    free(run->exited);
    free(run->nodelist);
    free(run->exit_reason);
    free(run->unconfirmed);
    if (run->base != NULL) {
        nl_store_job_release(run->base);
        free(run->base);
    }
    free(run);
}

void runs_destroy(struct runs *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->cap; i++)
        run_free(r->slot[i]);
    free(r->slot);
    free(r);
}

static void insert_slot(struct run **slot, size_t cap, struct run *run)
{
    size_t i = hash_id(run->job) & (cap - 1);
    while (slot[i] != NULL)
        i = (i + 1) & (cap - 1);
    slot[i] = run;
}

static void grow(struct runs *r)
{
    size_t cap = r->cap * 2;
    struct run **slot = xcalloc(cap, sizeof(*slot));
    for (size_t i = 0; i < r->cap; i++)
        if (r->slot[i] != NULL)
            insert_slot(slot, cap, r->slot[i]);
    free(r->slot);
    r->slot = slot;
    r->cap = cap;
}

/*
 * Above this many ranks run_rank searches an index instead of the
 * allocation: an agent standing for all 4,096 nodes of one gang lists it
 * 4,096 times per sync, and a linear search each time was quadratic.
 */
#define RANK_INDEX_MIN 16

static int u64_cmp(const void *pa, const void *pb)
{
    uint64_t x = *(const uint64_t *)pa, y = *(const uint64_t *)pb;
    return x < y ? -1 : x > y;
}

/* by_node: node << 32 | rank, sorted, so that ranks are found by node in log time. */
static void index_ranks(struct run *run)
{
    run->by_node = xmalloc(run->nnodes * sizeof(*run->by_node));
    for (uint32_t i = 0; i < run->nnodes; i++)
        run->by_node[i] = (uint64_t)run->alloc[i].node << 32 | i;
    qsort(run->by_node, run->nnodes, sizeof(*run->by_node), u64_cmp);
}

struct run *runs_add(struct runs *r, uint64_t job, const struct nl_alloc_node *alloc, size_t n)
{
    runs_remove(r, job);
    if ((r->count + 1) * 2 > r->cap)
        grow(r);
    struct run *run = xcalloc(1, sizeof(*run));
    run->job = job;
    run->nnodes = (uint32_t)n;
    run->alloc = xcalloc(n ? n : 1, sizeof(*run->alloc));
    if (n)
        memcpy(run->alloc, alloc, n * sizeof(*alloc));
    run->exited = xcalloc(n ? n : 1, 1);
    if (n > RANK_INDEX_MIN)
        index_ranks(run);
    insert_slot(r->slot, r->cap, run);
    r->count++;
    return run;
}

static size_t find(const struct runs *r, uint64_t job)
{
    size_t i = hash_id(job) & (r->cap - 1);
    while (r->slot[i] != NULL) {
        if (r->slot[i]->job == job)
            return i;
        i = (i + 1) & (r->cap - 1);
    }
    return SIZE_MAX;
}

struct run *runs_get(const struct runs *r, uint64_t job)
{
    size_t i = find(r, job);
    return i == SIZE_MAX ? NULL : r->slot[i];
}

void runs_remove(struct runs *r, uint64_t job)
{
    size_t i = find(r, job);
    if (i == SIZE_MAX)
        return;
    run_free(r->slot[i]);
    r->slot[i] = NULL;
    r->count--;
    /* Backward shift: re-place the rest of the cluster so lookups never stop early. */
    for (size_t j = (i + 1) & (r->cap - 1); r->slot[j] != NULL; j = (j + 1) & (r->cap - 1)) {
        struct run *moved = r->slot[j];
        r->slot[j] = NULL;
        insert_slot(r->slot, r->cap, moved);
    }
}

size_t runs_count(const struct runs *r)
{
    return r->count;
}

struct run *runs_next(const struct runs *r, size_t *cursor)
{
    while (*cursor < r->cap) {
        struct run *run = r->slot[(*cursor)++];
        if (run != NULL)
            return run;
    }
    return NULL;
}

int run_rank(const struct run *run, uint32_t node)
{
    if (run->by_node == NULL) {
        for (uint32_t i = 0; i < run->nnodes; i++)
            if (run->alloc[i].node == node)
                return (int)i;
        return -1;
    }
    size_t lo = 0, hi = run->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t m = (uint32_t)(run->by_node[mid] >> 32);
        if (m == node)
            return (int)(uint32_t)run->by_node[mid];
        if (m < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}
