/* SPDX-License-Identifier: MIT */
/*
 * nodes.c - the node registry (see nodes.h): agents in a table with an
 * open-addressing index by name, the owner and state of every node, and
 * one outbox per agent.
 */
#include "nodes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "common/xalloc.h"

/* An agent and its outbox. */
struct slot {
    struct agent ag; /* first: a struct agent * is a struct slot * */
    struct nodes_launch *launches;
    size_t nlaunches, launches_cap;
    struct nodes_kill *kills;
    size_t nkills, kills_cap;
    struct nodes_control *controls;
    size_t ncontrols, controls_cap;
};

struct nodes {
    uint32_t nnodes;
    int64_t timeout_us;
    int32_t *node_agent; /* per node: index into list, or -1 */
    uint8_t *node_state; /* enum node_state */
    struct slot **list;
    size_t n, cap;
    int32_t *map; /* open addressing by id hash: index into list, or -1 */
    size_t map_cap;
};

struct nodes *nodes_create(uint32_t nnodes, int64_t timeout_us)
{
    struct nodes *a = xcalloc(1, sizeof(*a));
    a->nnodes = nnodes;
    a->timeout_us = timeout_us;
    a->node_agent = xcalloc(nnodes ? nnodes : 1, sizeof(*a->node_agent));
    for (uint32_t i = 0; i < nnodes; i++)
        a->node_agent[i] = -1;
    a->node_state = xcalloc(nnodes ? nnodes : 1, 1);
    a->map_cap = 64;
    a->map = xmalloc(a->map_cap * sizeof(*a->map));
    memset(a->map, 0xff, a->map_cap * sizeof(*a->map));
    return a;
}

void nodes_grow(struct nodes *a, uint32_t nnodes)
{
    if (nnodes <= a->nnodes)
        return;
    a->node_agent = xreallocarray(a->node_agent, nnodes, sizeof(*a->node_agent));
    a->node_state = xreallocarray(a->node_state, nnodes, 1);
    for (uint32_t i = a->nnodes; i < nnodes; i++) {
        a->node_agent[i] = -1;
        a->node_state[i] = NODE_UNREGISTERED;
    }
    a->nnodes = nnodes;
}

void nodes_destroy(struct nodes *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->list[i]->ag.id);
        free(a->list[i]->ag.output_root);
        free(a->list[i]->ag.nodes);
        free(a->list[i]->launches);
        free(a->list[i]->kills);
        free(a->list[i]->controls);
        free(a->list[i]);
    }
    free(a->list);
    free(a->map);
    free(a->node_agent);
    free(a->node_state);
    free(a);
}

/* ---- agents by id ---- */

static size_t map_slot(const struct nodes *a, const char *id)
{
    size_t i = (size_t)nl_hash64(id, strlen(id)) & (a->map_cap - 1);
    while (a->map[i] >= 0 && strcmp(a->list[a->map[i]]->ag.id, id) != 0)
        i = (i + 1) & (a->map_cap - 1);
    return i;
}

struct agent *nodes_agent_find(const struct nodes *a, const char *id)
{
    int32_t idx = a->map[map_slot(a, id)];
    return idx >= 0 ? &a->list[idx]->ag : NULL;
}

int32_t nodes_agent_index(const struct nodes *a, const char *id)
{
    return a->map[map_slot(a, id)];
}

size_t nodes_agent_count(const struct nodes *a)
{
    return a->n;
}

struct agent *nodes_agent_at(const struct nodes *a, size_t idx)
{
    return idx < a->n ? &a->list[idx]->ag : NULL;
}

static void map_grow(struct nodes *a)
{
    free(a->map);
    a->map_cap *= 2;
    a->map = xmalloc(a->map_cap * sizeof(*a->map));
    memset(a->map, 0xff, a->map_cap * sizeof(*a->map));
    for (size_t i = 0; i < a->n; i++)
        a->map[map_slot(a, a->list[i]->ag.id)] = (int32_t)i;
}

struct agent *nodes_agent_get_or_add(struct nodes *a, const char *id, bool emulated)
{
    struct agent *found = nodes_agent_find(a, id);
    if (found != NULL)
        return found;
    if ((a->n + 1) * 2 > a->map_cap)
        map_grow(a);
    if (a->n == a->cap)
        a->list = xreallocarray(a->list, a->cap = xgrow(a->cap, a->n + 1), sizeof(*a->list));
    struct slot *s = xcalloc(1, sizeof(*s));
    s->ag.id = xstrdup(id);
    s->ag.emulated = emulated;
    a->map[map_slot(a, id)] = (int32_t)a->n;
    a->list[a->n++] = s;
    return &s->ag;
}

void nodes_agent_set_output_root(struct agent *ag, const char *root)
{
    free(ag->output_root);
    ag->output_root = root && root[0] ? xstrdup(root) : NULL;
}

static void add_node(struct agent *ag, uint32_t node)
{
    if (ag->nnodes % 64 == 0)
        ag->nodes = xreallocarray(ag->nodes, ag->nnodes + 64, sizeof(*ag->nodes));
    ag->nodes[ag->nnodes++] = node;
}

void nodes_agent_load_node(struct nodes *a, struct agent *ag, uint32_t node)
{
    if (node >= a->nnodes)
        return;
    add_node(ag, node);
    a->node_agent[node] = nodes_agent_index(a, ag->id);
    a->node_state[node] = NODE_DOWN;
}

/* Every agent's node list from the node table (ascending). */
static void rebuild_lists(struct nodes *a)
{
    for (size_t i = 0; i < a->n; i++)
        a->list[i]->ag.nnodes = 0;
    for (uint32_t node = 0; node < a->nnodes; node++)
        if (a->node_agent[node] >= 0)
            add_node(&a->list[a->node_agent[node]]->ag, node);
}

void nodes_assign(struct nodes *a, int32_t idx, const uint32_t *nodes, size_t count,
                  uint32_t **dropped, size_t *ndropped)
{
    struct agent *ag = &a->list[idx]->ag;
    uint32_t *old = ag->nnodes ? xmalloc(ag->nnodes * sizeof(*old)) : NULL;
    size_t nold = ag->nnodes, nd = 0;
    if (nold)
        memcpy(old, ag->nodes, nold * sizeof(*old));
    for (size_t i = 0; i < nold; i++)
        a->node_agent[old[i]] = -1;
    for (size_t i = 0; i < count; i++)
        a->node_agent[nodes[i]] = idx;
    for (size_t i = 0; i < nold; i++)
        if (a->node_agent[old[i]] < 0)
            old[nd++] = old[i];
    rebuild_lists(a);
    *dropped = old;
    *ndropped = nd;
}

bool nodes_agent_live(const struct nodes *a, const struct agent *ag, int64_t now_us)
{
    return ag->up && now_us - ag->last_sync_us <= a->timeout_us;
}

bool nodes_agent_holds_nodes(const struct nodes *a, const struct agent *ag, int64_t now_us)
{
    return (ag->up || ag->reloaded) && now_us - ag->last_sync_us <= a->timeout_us;
}

bool nodes_agent_holds_name(const struct nodes *a, const struct agent *ag, int64_t now_us)
{
    return nodes_agent_live(a, ag, now_us) ||
           (ag->instance[0] != '\0' && nodes_agent_holds_nodes(a, ag, now_us));
}

/* ---- node table ---- */

uint32_t nodes_count(const struct nodes *a)
{
    return a->nnodes;
}

enum node_state nodes_state(const struct nodes *a, uint32_t node)
{
    return node < a->nnodes ? (enum node_state)a->node_state[node] : NODE_UNREGISTERED;
}

void nodes_set_state(struct nodes *a, uint32_t node, enum node_state state)
{
    if (node < a->nnodes)
        a->node_state[node] = (uint8_t)state;
}

static const struct agent *node_owner(const struct nodes *a, uint32_t node)
{
    if (node >= a->nnodes || a->node_agent[node] < 0)
        return NULL;
    return &a->list[a->node_agent[node]]->ag;
}

int32_t nodes_owner_index(const struct nodes *a, uint32_t node)
{
    return node < a->nnodes ? a->node_agent[node] : -1;
}

const char *nodes_node_agent(const struct nodes *a, uint32_t node)
{
    const struct agent *ag = node_owner(a, node);
    return ag ? ag->id : NULL;
}

int64_t nodes_node_heartbeat(const struct nodes *a, uint32_t node)
{
    const struct agent *ag = node_owner(a, node);
    return ag ? ag->last_sync_us : 0;
}

const char *nodes_node_addr(const struct nodes *a, uint32_t node)
{
    const struct agent *ag = node_owner(a, node);
    return ag && ag->addr[0] ? ag->addr : NULL;
}

const char *nodes_node_output_root(const struct nodes *a, uint32_t node)
{
    const struct agent *ag = node_owner(a, node);
    return ag ? ag->output_root : NULL;
}

int64_t nodes_vouched(const struct nodes *a, uint32_t node, int64_t listed_us)
{
    const struct agent *ag = node_owner(a, node);
    /*
     * Listed in the agent's last full list or in a delta since, and the
     * agent has synced since without ending it: it still runs.
     */
    if (ag != NULL && ag->up && !ag->need_full && listed_us >= ag->last_full_us)
        return ag->vouch_us;
    return 0;
}

/* ---- outboxes ---- */

int nodes_queue_launch(struct nodes *a, uint64_t job, uint32_t node)
{
    if (node >= a->nnodes || a->node_agent[node] < 0)
        return -ENOENT;
    struct slot *s = a->list[a->node_agent[node]];
    if (s->nlaunches == s->launches_cap)
        s->launches = xreallocarray(s->launches,
                                    s->launches_cap = xgrow(s->launches_cap, s->nlaunches + 1),
                                    sizeof(*s->launches));
    s->launches[s->nlaunches++] = (struct nodes_launch){.job = job, .node = node};
    return 0;
}

/*
 * Queue a kill. Duplicates (one per rank of a gang, a stray listed twice)
 * are allowed here and merged when the outbox is read (sorted), so that
 * queueing is O(1): a linear search here made a forged sync of 250,000
 * strays cost 22 s.
 */
void nodes_push_kill(struct nodes *a, int32_t idx, uint64_t job, uint32_t run, uint32_t grace_s,
                     const char *reason)
{
    if (idx < 0 || (size_t)idx >= a->n)
        return;
    struct slot *s = a->list[idx];
    if (s->nkills == s->kills_cap)
        s->kills = xreallocarray(s->kills, s->kills_cap = xgrow(s->kills_cap, s->nkills + 1),
                                 sizeof(*s->kills));
    s->kills[s->nkills++] =
            (struct nodes_kill){.job = job, .run = run, .grace_s = grace_s, .reason = reason};
}

void nodes_queue_kill(struct nodes *a, uint64_t job, uint32_t run, uint32_t node, uint32_t grace_s,
                      const char *reason)
{
    if (node < a->nnodes)
        nodes_push_kill(a, a->node_agent[node], job, run, grace_s, reason);
}

static int kill_cmp(const void *pa, const void *pb)
{
    const struct nodes_kill *x = pa, *y = pb;
    if (x->job != y->job)
        return x->job < y->job ? -1 : 1;
    if (x->run != y->run)
        return x->run < y->run ? -1 : 1;
    /* The shortest grace wins: a node failure's 0 must not wait for a cancel's grace. */
    return x->grace_s < y->grace_s ? -1 : x->grace_s > y->grace_s;
}

/* Sort the kill queue and keep one kill per run: it applies to all the agent's processes of it. */
static void merge_kills(struct slot *s)
{
    if (s->nkills < 2)
        return;
    qsort(s->kills, s->nkills, sizeof(*s->kills), kill_cmp);
    size_t n = 1;
    for (size_t i = 1; i < s->nkills; i++)
        if (s->kills[i].job != s->kills[n - 1].job || s->kills[i].run != s->kills[n - 1].run)
            s->kills[n++] = s->kills[i];
    s->nkills = n;
}

void nodes_outbox(struct nodes *a, int32_t idx, const struct nodes_launch **launches,
                  size_t *nlaunches, const struct nodes_kill **kills, size_t *nkills)
{
    struct slot *s = a->list[idx];
    merge_kills(s);
    *launches = s->launches;
    *nlaunches = s->nlaunches;
    *kills = s->kills;
    *nkills = s->nkills;
}

void nodes_outbox_clear(struct nodes *a, int32_t idx)
{
    a->list[idx]->nlaunches = 0;
    a->list[idx]->nkills = 0;
}

uint64_t nodes_push_control(struct nodes *a, int32_t idx, const struct nodes_control *c)
{
    struct slot *s = a->list[idx];
    /* An agent applies a control to every node of the run it has: once per agent. */
    for (size_t i = 0; i < s->ncontrols; i++)
        if (s->controls[i].job == c->job && s->controls[i].run == c->run &&
            s->controls[i].signal == c->signal) {
            uint64_t old = s->controls[i].seq;
            /* Moved to the end: the outbox stays in seq order, the order the agent applies. */
            memmove(&s->controls[i], &s->controls[i + 1],
                    (s->ncontrols - i - 1) * sizeof(*s->controls));
            s->controls[s->ncontrols - 1] = *c;
            return old;
        }
    if (s->ncontrols == s->controls_cap)
        s->controls = xreallocarray(s->controls,
                                    s->controls_cap = xgrow(s->controls_cap, s->ncontrols + 1),
                                    sizeof(*s->controls));
    s->controls[s->ncontrols++] = *c;
    return 0;
}

bool nodes_control_remove(struct nodes *a, int32_t idx, uint64_t seq)
{
    struct slot *s = a->list[idx];
    for (size_t i = 0; i < s->ncontrols; i++)
        if (s->controls[i].seq == seq) {
            memmove(&s->controls[i], &s->controls[i + 1],
                    (s->ncontrols - i - 1) * sizeof(*s->controls));
            s->ncontrols--;
            return true;
        }
    return false;
}

void nodes_controls(const struct nodes *a, int32_t idx, const struct nodes_control **c,
                    size_t *count)
{
    *c = a->list[idx]->controls;
    *count = a->list[idx]->ncontrols;
}

void nodes_drop_launches(struct nodes *a, int32_t idx)
{
    a->list[idx]->nlaunches = 0;
}
