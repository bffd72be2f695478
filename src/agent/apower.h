/* SPDX-License-Identifier: MIT */
/*
 * apower.h - the agent's side of power (docs/power.md): which of its GPUs
 * run what (for modelled GPUs), the caps the controller asks for applied
 * through gpu.h, and the GPU readings that go with each sync.
 *
 * Between the agent's loop (agent.c), which calls in at a sync answer, a
 * sync request and the end, and the GPUs (gpu.h), which it owns.
 */
#ifndef NL_AGENT_APOWER_H
#define NL_AGENT_APOWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct apower;

/* Node index of a name; >= nnodes when the agent does not stand for it. */
typedef uint32_t (*apower_index_fn)(const void *ctx, const char *node);

/* GPUs of nnodes nodes: NVML for a single real node that has it, else modelled. */
struct apower *apower_new(size_t nnodes, bool emulate, uint64_t seed);
/* Give back every limit it changed, then free. NULL-safe. */
void apower_free(struct apower *p);

/*
 * A sync answer: bring the caps to its desired state (when it had "caps"),
 * then mark its launches' GPUs busy for the model.
 */
void apower_work(struct apower *p, const struct proto_work *w, apower_index_fn idx,
                 const void *ctx, int64_t now_us);
/* Exits being reported: their GPUs are idle again for the model. */
void apower_exits(struct apower *p, const struct proto_exit *e, size_t n, apower_index_fn idx,
                  const void *ctx, int64_t now_us);
/*
 * Add GPU readings to the sync request in b (proto_encode_power): a few
 * hundred nodes per sync, in turn, so a large emulating agent's sync stays
 * small; only once the controller has shown it reads them (its answers
 * carry "caps").
 */
void apower_encode(struct apower *p, struct proto_buf *b, char *const *names, size_t nnodes,
                   int64_t now_us, size_t max_bytes);

#endif
