/* SPDX-License-Identifier: MIT */
/*
 * order.h - the order in which pending jobs are considered (internal).
 *
 *   priority = w_tier * tier_f + w_fair * fair_f + w_age * age_f + w_size * size_f
 *
 * tier_f and fair_f belong to the tenant; age_f and size_f to the job. Since
 * every job ages at the same rate, age_f = (now - submit) / age_ref orders
 * jobs exactly as -submit / age_ref does, so each job gets a static key
 *     k = w_size * size_f - w_age * submit / age_ref
 * fixed at submission, and its priority at time now is
 *     tenant_offset + k + w_age * now / age_ref.
 * Each tenant keeps its pending jobs in a tree sorted by k; a pass merges
 * the tenants' trees with a small heap keyed by offset + k of each head.
 * A pass therefore never sorts the whole queue: it pays O(log tenants) per
 * job it looks at, and stops looking when nothing more can start.
 */
#ifndef NL_CORE_ORDER_H
#define NL_CORE_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tree.h"

struct order_head {
    double key; /* tenant offset + static key of its current job */
    uint32_t tenant;
    int32_t node;
};

struct order {
    struct tree *q; /* per tenant */
    size_t ntenants;
    struct order_head *heap;
    size_t hn;
    const double *offset; /* borrowed during an iteration */
};

void order_init(struct order *o, size_t ntenants);
void order_release(struct order *o);
/* Add a pending job; returns its handle in the tenant's tree. */
int32_t order_add(struct order *o, uint32_t tenant, double static_key, uint64_t id, uint32_t slot);
void order_del(struct order *o, uint32_t tenant, int32_t handle);
size_t order_count(const struct order *o);

/* Start an iteration in priority order with per-tenant offsets (borrowed until it ends). */
void order_begin(struct order *o, const double *offset);
/* Next job: its slot and offset + static key; false at the end. */
bool order_next(struct order *o, uint32_t *slot, double *key);
/* The slot order_next will give next (UINT32_MAX at the end), to prefetch its job. */
uint32_t order_peek(const struct order *o);
/* Drop the rest of an iteration's state (no-op if finished). */
void order_end(struct order *o);

size_t order_memory_bytes(const struct order *o);

#endif
