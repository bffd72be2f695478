/* SPDX-License-Identifier: MIT */
/*
 * controls.h - signals and time-limit changes for running jobs, delivered
 * to their agents reliably (issue 12: `nordlys signal`, `nordlys update
 * --time` of a running job).
 *
 * A control rides in the answer to every sync of the agent until a later
 * sync acknowledges its seq ("applied"); so an answer lost on the way (a
 * dropped connection, a timeout) costs a resend, not the control. The
 * agent applies a seq at most once per run (agent/jobs.c), so a resend of
 * a control it did apply, whose acknowledgement we had not seen, is not
 * applied twice. Each control is a row of the store (store_controls.h),
 * written in the same transaction as the request that asked for it, so
 * one acknowledged to the user survives a controller restart: the reload
 * queues it again. A control whose run has ended is dropped.
 *
 * Stateless: the queue is the node registry's outbox (nodes.h), the
 * durable copy the store's; these functions keep the two in step.
 */
#ifndef NL_CTLD_CONTROLS_H
#define NL_CTLD_CONTROLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctld/nodes.h"

struct durable;
struct nl_err;
struct nl_store;

/*
 * Queue c (its seq ignored) for every agent that owns one of nodes[0..n)
 * (the ranks of the run that have not ended), once per agent, in this
 * iteration's transaction. Returns how many agents it went to.
 */
size_t controls_queue(struct nodes *reg, struct nl_store *st, struct durable *dur,
                      const uint32_t *nodes, size_t n, const struct nodes_control *c);
/* The agent with index idx has applied (or has no run for) control seq: forget it. */
void controls_done(struct nodes *reg, struct nl_store *st, struct durable *dur, int32_t idx,
                   uint64_t seq);
/* Whether run of job is still its current run (the caller's: life.h). */
typedef bool (*controls_live_fn)(void *arg, uint64_t job, uint32_t run);
/*
 * Queue the stored controls again (start, rebuild; after the agents and
 * the runs are loaded). Those of runs that are over, or for an agent no
 * longer known, are deleted in this iteration's transaction instead.
 */
int controls_reload(struct nodes *reg, struct nl_store *st, struct durable *dur,
                    controls_live_fn live, void *arg, struct nl_err *err);

#endif
