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

struct reload {
    struct nodes *reg;
    controls_live_fn live;
    void *arg;
    uint64_t *stale; /* seqs to delete once the walk is done */
    size_t nstale, cap;
};

static int reload_one(const struct nl_store_control *row, void *arg)
{
    struct reload *x = arg;
    int32_t idx = nodes_agent_index(x->reg, row->agent);
    if (idx < 0 || !x->live(x->arg, row->job, row->run)) {
        if (x->nstale == x->cap)
            x->stale = xreallocarray(x->stale, x->cap = xgrow(x->cap, x->nstale + 1),
                                     sizeof(*x->stale));
        x->stale[x->nstale++] = row->seq;
        return 0;
    }
    const struct nodes_control c = {.seq = row->seq,
                                    .job = row->job,
                                    .run = row->run,
                                    .signal = row->signal,
                                    .time_limit_s = row->time_limit_s};
    nodes_push_control(x->reg, idx, &c);
    return 0;
}

int controls_reload(struct nodes *reg, struct nl_store *st, struct durable *dur,
                    controls_live_fn live, void *arg, struct nl_err *err)
{
    struct reload x = {.reg = reg, .live = live, .arg = arg};
    int rc = nl_store_controls_load(st, reload_one, &x, err);
    if (rc == 0 && x.nstale > 0) {
        /* Its run ended (or its agent is gone) while we were down: nothing to deliver. */
        durable_txn(dur);
        for (size_t i = 0; i < x.nstale; i++)
            durable_check(nl_store_control_delete(st, x.stale[i], err), "run control", err);
        log_info("run controls: %zu of runs that are over dropped", x.nstale);
    }
    free(x.stale);
    return rc;
}
