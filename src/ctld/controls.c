/* SPDX-License-Identifier: MIT */
/*
 * controls.c - reliable delivery of signals and time limits to agents
 * (see controls.h).
 */
#include "controls.h"

#include <stdlib.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "ctld/durable.h"
#include "nordlys/err.h"
#include "store/store_controls.h"

static int idx_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Queue c for the agent with index idx, its row first: the row's seq is the control's. */
static void queue_one(struct nodes *reg, struct nl_store *st, int32_t idx,
                      const struct nodes_control *c)
{
    struct nl_err err = {0};
    const struct agent *ag = nodes_agent_at(reg, (size_t)idx);
    const struct nl_store_control row = {.agent = ag->id,
                                         .job = c->job,
                                         .run = c->run,
                                         .signal = c->signal,
                                         .time_limit_s = c->signal > 0 ? 0 : c->time_limit_s};
    struct nodes_control q = *c;
    durable_check(nl_store_control_add(st, &row, &q.seq, &err), "run control", &err);
    uint64_t replaced = nodes_push_control(reg, idx, &q);
    if (replaced != 0)
        durable_check(nl_store_control_delete(st, replaced, &err), "run control", &err);
}

size_t controls_queue(struct nodes *reg, struct nl_store *st, struct durable *dur,
                      const uint32_t *nodes, size_t n, const struct nodes_control *c)
{
    int32_t *owners = xcalloc(n ? n : 1, sizeof(*owners));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t idx = nodes_owner_index(reg, nodes[i]);
        if (idx >= 0)
            owners[k++] = idx;
    }
    /* An agent applies a control to every rank of the run it has: once per agent. */
    qsort(owners, k, sizeof(*owners), idx_cmp);
    size_t agents = 0;
    if (k > 0)
        durable_txn(dur);
    for (size_t i = 0; i < k; i++)
        if (i == 0 || owners[i] != owners[i - 1]) {
            queue_one(reg, st, owners[i], c);
            agents++;
        }
    free(owners);
    return agents;
}

void controls_done(struct nodes *reg, struct nl_store *st, struct durable *dur, int32_t idx,
                   uint64_t seq)
{
    if (!nodes_control_remove(reg, idx, seq))
        return; /* acknowledged before (its answer was lost), or not this agent's */
    struct nl_err err = {0};
    durable_txn(dur);
    durable_check(nl_store_control_delete(st, seq, &err), "run control", &err);
}

static int reload_one(const struct nl_store_control *row, void *arg)
{
    struct nodes *reg = arg;
    int32_t idx = nodes_agent_index(reg, row->agent);
    if (idx < 0) {
        log_warn("run control %llu for unknown agent '%s' (job=%llu run=%u) not queued",
                 (unsigned long long)row->seq, row->agent, (unsigned long long)row->job, row->run);
        return 0;
    }
    const struct nodes_control c = {.seq = row->seq,
                                    .job = row->job,
                                    .run = row->run,
                                    .signal = row->signal,
                                    .time_limit_s = row->time_limit_s};
    nodes_push_control(reg, idx, &c);
    return 0;
}

int controls_reload(struct nodes *reg, struct nl_store *st, struct nl_err *err)
{
    return nl_store_controls_load(st, reload_one, reg, err);
}
