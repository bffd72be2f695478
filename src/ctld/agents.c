/* SPDX-License-Identifier: MIT */
/*
 * agents.c - the agent protocol (register, sync) and the node table.
 *
 * Agents pull: each sync reports what the agent runs and what has exited,
 * and takes back the launches and kills queued for it. A node is
 * "unregistered" until an agent names it, "up" while its agent syncs, and
 * "down" when the agent has been silent for node-timeout-ms (or, after a
 * controller restart, until its agent syncs again). Down nodes are down in
 * the scheduler too, so nothing new is placed on them.
 *
 * A sync is checked completely before anything is applied, so a malformed
 * one changes nothing; its answer is held until the exits it reported are
 * committed (api_reply), so an agent stops repeating an exit only once it
 * is durable.
 *
 * Node ownership is exclusive. A registration is refused (409) when it
 * names a node that another live agent owns ("node_owned"), or when its
 * agent name is in use by a live agent of another instance
 * ("agent_name_in_use"); "live" means synced within node-timeout-ms, by
 * the monotonic clock (c->now_us). A node whose owner is dead may be taken
 * by another agent (logged). Every registration is a new incarnation of
 * its agent: a restarted agent kills all its old processes before it
 * registers (the agent side guarantees it), so the runs the controller had
 * on its nodes are lost at once (NODE_FAIL, requeued when they asked).
 *
 * THE INVARIANT: a node's previous run is never relaunched while it may
 * still be alive there. The only relaunch of a run is jobs_confirm_reloaded
 * (a restarted controller launching a rank its agent never received), and
 * it runs only on a full sync from the very registration that owned the
 * node when the controller reloaded; that agent lists every process it has
 * in a full sync. Any change of a node's owner, or a new incarnation of it,
 * first declares every run on the node lost (node_lose), so no unconfirmed
 * rank survives to be relaunched under a different owner. And a process an
 * agent lists on a node it does not own is killed.
 *
 * Syncs come full (the complete list of the agent's live runs) or as a
 * delta (only runs started since the agent's last answered sync): see
 * apply_sync. The answer says "full_next": true when the controller needs
 * a complete list next.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/proto_limits.h"
#include "common/rng.h"
#include "common/xalloc.h"
#include "ctld.h"
#include "ctld/config.h"
#include "ctld/http.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "store/store.h"

/* The protocol's limits (common/proto_limits.h), shared with the agent. */
#define AGENT_ID_MAX       NL_PROTO_AGENT_ID_MAX
#define AGENT_INSTANCE_MAX NL_PROTO_INSTANCE_MAX
#define EXIT_REASON_MAX    NL_PROTO_EXIT_REASON_MAX

struct launch {
    uint64_t job;
    uint32_t node;
};

struct kill {
    uint64_t job;
    uint32_t run;
    uint32_t grace_s;
    const char *reason; /* static */
};

struct agent {
    char *id;
    char instance[AGENT_INSTANCE_MAX + 1]; /* "" = a legacy agent (or reloaded): unique */
    bool emulated;
    bool up;
    bool nodes_down;      /* some of its nodes may not be up: the next sync raises them */
    bool reloaded;        /* loaded from the store, not heard from since this controller began */
    bool need_full;       /* the next sync must be full (after reload, registration, a gap) */
    bool has_seq;         /* last_seq is set */
    uint64_t last_seq;    /* "seq" of the last sync applied */
    int64_t last_sync_us; /* c->now_us of its last register or sync */
    int64_t last_full_us; /* c->now_us of its last applied full sync */
    int64_t vouch_us;     /* c->now_us of its last sync that vouches for its listed runs */
    char addr[48];
    char *output_root; /* where it puts relative output paths (absolute), or NULL if it did not say */
    uint32_t *nodes;
    size_t nnodes;
    struct launch *launches;
    size_t nlaunches, launches_cap;
    struct kill *kills;
    size_t nkills, kills_cap;
};

struct agents {
    uint32_t nnodes;
    int32_t *node_agent; /* per node: index into list, or -1 */
    uint8_t *node_state; /* enum node_state */
    struct agent **list;
    size_t n, cap;
    int32_t *map; /* open addressing by id hash: index into list, or -1 */
    size_t map_cap;
};

struct agents *agents_create(uint32_t nnodes)
{
    struct agents *a = xcalloc(1, sizeof(*a));
    a->nnodes = nnodes;
    a->node_agent = xcalloc(nnodes ? nnodes : 1, sizeof(*a->node_agent));
    for (uint32_t i = 0; i < nnodes; i++)
        a->node_agent[i] = -1;
    a->node_state = xcalloc(nnodes ? nnodes : 1, 1);
    a->map_cap = 64;
    a->map = xmalloc(a->map_cap * sizeof(*a->map));
    memset(a->map, 0xff, a->map_cap * sizeof(*a->map));
    return a;
}

void agents_destroy(struct agents *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->list[i]->id);
        free(a->list[i]->output_root);
        free(a->list[i]->nodes);
        free(a->list[i]->launches);
        free(a->list[i]->kills);
        free(a->list[i]);
    }
    free(a->list);
    free(a->map);
    free(a->node_agent);
    free(a->node_state);
    free(a);
}

/* ---- agents by id ---- */

static size_t map_slot(const struct agents *a, const char *id)
{
    size_t i = (size_t)nl_hash64(id, strlen(id)) & (a->map_cap - 1);
    while (a->map[i] >= 0 && strcmp(a->list[a->map[i]]->id, id) != 0)
        i = (i + 1) & (a->map_cap - 1);
    return i;
}

static struct agent *agent_find(const struct agents *a, const char *id)
{
    int32_t idx = a->map[map_slot(a, id)];
    return idx >= 0 ? a->list[idx] : NULL;
}

static int32_t agent_index(const struct agents *a, const char *id)
{
    return a->map[map_slot(a, id)];
}

static void map_grow(struct agents *a)
{
    free(a->map);
    a->map_cap *= 2;
    a->map = xmalloc(a->map_cap * sizeof(*a->map));
    memset(a->map, 0xff, a->map_cap * sizeof(*a->map));
    for (size_t i = 0; i < a->n; i++)
        a->map[map_slot(a, a->list[i]->id)] = (int32_t)i;
}

static struct agent *agent_get_or_add(struct agents *a, const char *id, bool emulated)
{
    struct agent *ag = agent_find(a, id);
    if (ag != NULL)
        return ag;
    if ((a->n + 1) * 2 > a->map_cap)
        map_grow(a);
    if (a->n == a->cap)
        a->list = xreallocarray(a->list, a->cap = xgrow(a->cap, a->n + 1), sizeof(*a->list));
    ag = xcalloc(1, sizeof(*ag));
    ag->id = xstrdup(id);
    ag->emulated = emulated;
    a->map[map_slot(a, id)] = (int32_t)a->n;
    a->list[a->n++] = ag;
    return ag;
}

/* ---- node table ---- */

enum node_state agents_node_state(const struct agents *a, uint32_t node)
{
    return node < a->nnodes ? (enum node_state)a->node_state[node] : NODE_UNREGISTERED;
}

static const struct agent *node_owner(const struct agents *a, uint32_t node)
{
    if (node >= a->nnodes || a->node_agent[node] < 0)
        return NULL;
    return a->list[a->node_agent[node]];
}

int32_t agents_node_index(const struct agents *a, uint32_t node)
{
    return node < a->nnodes ? a->node_agent[node] : -1;
}

const char *agents_node_agent(const struct agents *a, uint32_t node)
{
    const struct agent *ag = node_owner(a, node);
    return ag ? ag->id : NULL;
}

int64_t agents_node_heartbeat(const struct agents *a, uint32_t node)
{
    const struct agent *ag = node_owner(a, node);
    return ag ? ag->last_sync_us : 0;
}

const char *agents_node_addr(const struct agents *a, uint32_t node)
{
    const struct agent *ag = node_owner(a, node);
    return ag && ag->addr[0] ? ag->addr : NULL;
}

const char *agents_node_output_root(const struct agents *a, uint32_t node)
{
    const struct agent *ag = node_owner(a, node);
    return ag ? ag->output_root : NULL;
}

/* Replace ag's output root with root (borrowed; NULL or "" for unknown). */
static void set_output_root(struct agent *ag, const char *root)
{
    free(ag->output_root);
    ag->output_root = root && root[0] ? xstrdup(root) : NULL;
}

/* Take node out of service: jobs on it are lost. */
static void node_lose(struct ctld *c, uint32_t node, enum node_state state, const char *why)
{
    struct agents *a = c->agents;
    a->node_state[node] = (uint8_t)state;
    const uint64_t *jobs = NULL;
    size_t n = nl_sched_node_set_down(c->sched, node, true, &jobs);
    /* Copied: jobs_lost changes the scheduler, which ends the borrowed array's lifetime. */
    uint64_t *copy = n ? xmalloc(n * sizeof(*copy)) : NULL;
    if (n)
        memcpy(copy, jobs, n * sizeof(*copy));
    for (size_t i = 0; i < n; i++)
        jobs_lost(c, copy[i], why);
    free(copy);
}

static void node_up(struct ctld *c, uint32_t node)
{
    if (c->agents->node_state[node] != NODE_UP) {
        c->agents->node_state[node] = NODE_UP;
        nl_sched_node_set_down(c->sched, node, false, NULL);
        c->sched_dirty = true;
    }
}

void agents_queue_launch(struct ctld *c, uint64_t job, uint32_t node)
{
    struct agents *a = c->agents;
    if (node >= a->nnodes || a->node_agent[node] < 0) {
        log_warn("job=%llu node %u has no agent: the launch waits for none",
                 (unsigned long long)job, node);
        return;
    }
    struct agent *ag = a->list[a->node_agent[node]];
    if (ag->nlaunches == ag->launches_cap)
        ag->launches = xreallocarray(ag->launches,
                                     ag->launches_cap = xgrow(ag->launches_cap, ag->nlaunches + 1),
                                     sizeof(*ag->launches));
    ag->launches[ag->nlaunches++] = (struct launch){.job = job, .node = node};
}

/*
 * Queue a kill for ag. Duplicates (one per rank of a gang, a stray listed
 * twice) are allowed here and merged when the answer is built (sorted),
 * so that queueing is O(1): a linear search here made a forged sync of
 * 250,000 strays cost 22 s.
 */
static void push_kill(struct agent *ag, uint64_t job, uint32_t run, uint32_t grace_s,
                      const char *reason)
{
    if (ag->nkills == ag->kills_cap)
        ag->kills = xreallocarray(ag->kills, ag->kills_cap = xgrow(ag->kills_cap, ag->nkills + 1),
                                  sizeof(*ag->kills));
    ag->kills[ag->nkills++] =
            (struct kill){.job = job, .run = run, .grace_s = grace_s, .reason = reason};
}

void agents_queue_kill(struct ctld *c, uint64_t job, uint32_t run, uint32_t node, uint32_t grace_s,
                       const char *reason)
{
    struct agents *a = c->agents;
    if (node >= a->nnodes || a->node_agent[node] < 0)
        return;
    push_kill(a->list[a->node_agent[node]], job, run, grace_s, reason);
}

static int kill_cmp(const void *pa, const void *pb)
{
    const struct kill *x = pa, *y = pb;
    if (x->job != y->job)
        return x->job < y->job ? -1 : 1;
    if (x->run != y->run)
        return x->run < y->run ? -1 : 1;
    /* The shortest grace wins: a node failure's 0 must not wait for a cancel's grace. */
    return x->grace_s < y->grace_s ? -1 : x->grace_s > y->grace_s;
}

/* Sort the kill queue and keep one kill per run: it applies to all the agent's processes of it. */
static void merge_kills(struct agent *ag)
{
    if (ag->nkills < 2)
        return;
    qsort(ag->kills, ag->nkills, sizeof(*ag->kills), kill_cmp);
    size_t n = 1;
    for (size_t i = 1; i < ag->nkills; i++)
        if (ag->kills[i].job != ag->kills[n - 1].job || ag->kills[i].run != ag->kills[n - 1].run)
            ag->kills[n++] = ag->kills[i];
    ag->nkills = n;
}

static bool agent_live(const struct ctld *c, const struct agent *ag)
{
    return ag->up && c->now_us - ag->last_sync_us <= (int64_t)c->cfg->node_timeout_ms * 1000;
}

/*
 * Whether ag's nodes are its own against another agent: while it is live,
 * and for node-timeout-ms after a controller restart until it syncs (it
 * may be alive and not have had the time to say so).
 */
static bool agent_holds_nodes(const struct ctld *c, const struct agent *ag)
{
    return (ag->up || ag->reloaded) &&
           c->now_us - ag->last_sync_us <= (int64_t)c->cfg->node_timeout_ms * 1000;
}

/*
 * Whether ag's name is its own against a registration of another
 * instance: while it is live, and like its nodes after a controller
 * restart, since the store keeps its instance. A reloaded legacy agent
 * (no instance) does not hold its name: a registration under it is most
 * likely the same agent restarted, and nothing could tell them apart.
 */
static bool agent_holds_name(const struct ctld *c, const struct agent *ag)
{
    return agent_live(c, ag) || (ag->instance[0] != '\0' && agent_holds_nodes(c, ag));
}

int64_t agents_run_vouched(const struct ctld *c, const struct run *run)
{
    const struct agents *a = c->agents;
    int64_t best = 0;
    for (uint32_t r = 0; r < run->nnodes; r++) {
        uint32_t node = run->alloc[r].node;
        if (run->exited[r] || node >= a->nnodes || a->node_agent[node] < 0)
            continue;
        const struct agent *ag = a->list[a->node_agent[node]];
        /*
         * Listed in the agent's last full list or in a delta since, and the
         * agent has synced since without ending it: it still runs. A launch
         * handed out but never listed is not vouched for: its answer may
         * have been lost, and then only node-timeout-ms ends it.
         */
        if (ag->up && !ag->need_full && run->last_listed_us >= ag->last_full_us &&
            ag->vouch_us > best)
            best = ag->vouch_us;
    }
    return best;
}

void agents_check_timeouts(struct ctld *c)
{
    struct agents *a = c->agents;
    int64_t limit_us = (int64_t)c->cfg->node_timeout_ms * 1000;
    for (size_t i = 0; i < a->n; i++) {
        struct agent *ag = a->list[i];
        if (!ag->up || c->now_us - ag->last_sync_us <= limit_us)
            continue;
        ag->up = false;
        ag->nodes_down = true;
        log_warn("agent=%s silent for %lld ms: its %zu nodes are down", ag->id,
                 (long long)((c->now_us - ag->last_sync_us) / 1000), ag->nnodes);
        for (size_t k = 0; k < ag->nnodes; k++)
            node_lose(c, ag->nodes[k], NODE_DOWN, "its node's agent stopped syncing");
        /* Launches for a silent agent would start jobs that have already been failed over. */
        ag->nlaunches = 0;
    }
}

struct load_ctx {
    struct ctld *c;
    size_t nodes;
};

static int load_one(const struct nl_store_agent *sa, uint32_t node, void *arg)
{
    struct load_ctx *x = arg;
    struct agents *a = x->c->agents;
    if (node >= a->nnodes)
        return 0; /* the facility shrank; the agent will re-register what exists */
    const char *agent_id = sa->id;
    struct agent *ag = agent_get_or_add(a, agent_id, sa->emulated);
    if (ag->nnodes == 0) {
        snprintf(ag->instance, sizeof(ag->instance), "%s", sa->instance);
        set_output_root(ag, sa->output_root);
    }
    ag->last_sync_us = x->c->now_us;
    /* The controller restarted: it knows nothing of what the agent runs until a full list. */
    ag->need_full = true;
    ag->reloaded = true;
    ag->nodes_down = true;
    if (ag->nnodes % 64 == 0)
        ag->nodes = xreallocarray(ag->nodes, ag->nnodes + 64, sizeof(*ag->nodes));
    ag->nodes[ag->nnodes++] = node;
    a->node_agent[node] = agent_index(a, agent_id);
    a->node_state[node] = NODE_DOWN;
    x->nodes++;
    return 0;
}

int agents_load(struct ctld *c, struct nl_err *err)
{
    struct load_ctx x = {.c = c};
    int rc = nl_store_agents_load(c->store, load_one, &x, err);
    if (rc == 0)
        log_info("reloaded %zu agents with %zu nodes; they are down until they sync", c->agents->n,
                 x.nodes);
    return rc;
}

/* ---- POST /v1/agent/register ---- */

/* An agent name: people read it in logs and `nordlys nodes`, so no control characters. */
static int check_agent_id(const json_t *v, const char *field, struct api_fault *f)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > AGENT_ID_MAX ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        f->code = v ? "invalid_field" : "missing_field";
        snprintf(f->field, sizeof(f->field), "%s", field);
        snprintf(f->msg, sizeof(f->msg), "%s: expected a string of 1..%d bytes", field,
                 AGENT_ID_MAX);
        return -EINVAL;
    }
    const char *s = json_string_value(v);
    for (size_t i = 0; s[i] != '\0'; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            f->code = "invalid_field";
            snprintf(f->field, sizeof(f->field), "%s", field);
            snprintf(f->msg, sizeof(f->msg), "%s: control character (\\x%02x) at byte %zu", field,
                     (unsigned)(unsigned char)s[i], i);
            return -EINVAL;
        }
    return 0;
}

/*
 * The optional output root: the absolute directory under which the agent
 * puts relative output paths (its --output-root), so that the JOB object
 * can show where a job's output is. No control characters: people read it.
 */
static int check_output_root(const json_t *v, struct api_fault *f)
{
    if (v == NULL)
        return 0;
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t len = json_is_string(v) ? json_string_length(v) : 0;
    bool ok = len >= 1 && len <= NL_PROTO_PATH_MAX && strlen(s) == len && s[0] == '/';
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
    if (ok)
        return 0;
    f->code = "invalid_field";
    snprintf(f->field, sizeof(f->field), "output_root");
    snprintf(f->msg, sizeof(f->msg),
             "output_root: expected an absolute path of at most %u bytes, without control "
             "characters",
             NL_PROTO_PATH_MAX);
    return -EINVAL;
}

/* The optional instance: 1..AGENT_INSTANCE_MAX hex digits, kept in lower case in out. */
static int check_instance(const json_t *v, char *out, struct api_fault *f)
{
    out[0] = '\0';
    if (v == NULL)
        return 0;
    size_t len = json_is_string(v) ? json_string_length(v) : 0;
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    bool ok = len >= 1 && len <= AGENT_INSTANCE_MAX && strlen(s) == len;
    for (size_t i = 0; ok && i < len; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
             (s[i] >= 'A' && s[i] <= 'F');
    if (!ok) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "instance");
        snprintf(f->msg, sizeof(f->msg), "instance: expected a string of 1..%d hex digits",
                 AGENT_INSTANCE_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i <= len; i++)
        out[i] = (char)((s[i] >= 'A' && s[i] <= 'F') ? s[i] - 'A' + 'a' : s[i]);
    return 0;
}

static int node_arg(const struct ctld *c, const json_t *v, const char *field, uint32_t *node,
                    struct api_fault *f)
{
    int64_t idx = json_is_string(v) ? nl_facility_node_find(c->fac, json_string_value(v)) : -1;
    if (idx < 0) {
        f->code = v ? "invalid_field" : "missing_field";
        snprintf(f->field, sizeof(f->field), "%s", field);
        if (json_is_string(v)) {
            char shown[128];
            text_escape(json_string_value(v), 80, shown, sizeof(shown));
            snprintf(f->msg, sizeof(f->msg), "%.40s: unknown node '%s'", field, shown);
        } else
            snprintf(f->msg, sizeof(f->msg), "%s: expected a node name", field);
        return -EINVAL;
    }
    *node = (uint32_t)idx;
    return 0;
}

/* Parse the node list into a new array (*out, free()); -EINVAL with f on the first bad entry. */
static int parse_node_list(const struct ctld *c, const json_t *v, uint32_t **out, size_t *n,
                           struct api_fault *f)
{
    *out = NULL;
    *n = 0;
    uint32_t max = nl_facility_nodes(c->fac);
    if (max > NL_PROTO_NODES_MAX)
        max = NL_PROTO_NODES_MAX;
    if (!json_is_array(v) || json_array_size(v) > max) {
        f->code = v ? "invalid_field" : "missing_field";
        snprintf(f->field, sizeof(f->field), "nodes");
        snprintf(f->msg, sizeof(f->msg), "nodes: expected an array of at most %u node names",
                 max);
        return -EINVAL;
    }
    size_t count = json_array_size(v);
    uint32_t *nodes = xcalloc(count ? count : 1, sizeof(*nodes));
    uint8_t *seen = xcalloc(nl_facility_nodes(c->fac) / 8 + 1, 1);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char field[32];
        snprintf(field, sizeof(field), "nodes[%zu]", i);
        rc = node_arg(c, json_array_get(v, i), field, &nodes[i], f);
        if (rc == 0 && (seen[nodes[i] / 8] & (1u << (nodes[i] % 8)))) {
            f->code = "invalid_field";
            snprintf(f->field, sizeof(f->field), "%s", field);
            snprintf(f->msg, sizeof(f->msg), "%s: listed twice", field);
            rc = -EINVAL;
        }
        if (rc == 0)
            seen[nodes[i] / 8] |= (uint8_t)(1u << (nodes[i] % 8));
    }
    free(seen);
    if (rc < 0) {
        free(nodes);
        return rc;
    }
    *out = nodes;
    *n = count;
    return 0;
}

/* Rebuild the node list of every agent from node_agent (after nodes changed hands). */
static void rebuild_lists(struct agents *a)
{
    for (size_t i = 0; i < a->n; i++)
        a->list[i]->nnodes = 0;
    for (uint32_t node = 0; node < a->nnodes; node++) {
        if (a->node_agent[node] < 0)
            continue;
        struct agent *ag = a->list[a->node_agent[node]];
        if (ag->nnodes % 64 == 0)
            ag->nodes = xreallocarray(ag->nodes, ag->nnodes + 64, sizeof(*ag->nodes));
        ag->nodes[ag->nnodes++] = node;
    }
}

/*
 * Refuse a registration that would take what a live agent holds: its name
 * (unless it is the same instance, restarted) or one of its nodes. 0, or
 * -EBUSY with *code and msg set; changes nothing.
 */
static int check_conflicts(const struct ctld *c, const char *id, const char *instance,
                           const uint32_t *nodes, size_t n, const char **code, char *msg,
                           size_t size)
{
    const struct agents *a = c->agents;
    int32_t self = agent_index(a, id);
    const struct agent *same = self >= 0 ? a->list[self] : NULL;
    if (same != NULL && agent_holds_name(c, same) &&
        (instance[0] == '\0' || strcmp(same->instance, instance) != 0)) {
        *code = "agent_name_in_use";
        if (same->reloaded)
            snprintf(msg, size,
                     "agent: '%s' is in use by another instance, not heard from since a controller "
                     "restart %.1f s ago; stop that agent or choose another --agent-name",
                     id, (double)(c->now_us - same->last_sync_us) / 1e6);
        else
            snprintf(msg, size,
                     "agent: '%s' is in use by a live agent (another instance, last synced %.1f s "
                     "ago from %s); stop that agent or choose another --agent-name",
                     id, (double)(c->now_us - same->last_sync_us) / 1e6,
                     same->addr[0] ? same->addr : "?");
        return -EBUSY;
    }
    for (size_t i = 0; i < n; i++) {
        int32_t owner = a->node_agent[nodes[i]];
        if (owner < 0 || owner == self || !agent_holds_nodes(c, a->list[owner]))
            continue;
        const struct agent *o = a->list[owner];
        char name[96];
        nl_facility_node_name(c->fac, nodes[i], name, sizeof(name));
        *code = "node_owned";
        snprintf(msg, size,
                 "nodes: %s is owned by agent '%s' (%s %.1f s ago); stop that agent or remove the "
                 "node from its --nodes first",
                 name, o->id,
                 o->reloaded ? "not heard from since a controller restart" : "live, last synced",
                 (double)(c->now_us - o->last_sync_us) / 1e6);
        return -EBUSY;
    }
    return 0;
}

/*
 * Take the nodes for ag (a new incarnation). Every run on a node it names
 * is lost now: either the node was ag's and ag has killed its old
 * processes before registering, or it was a dead agent's and may still
 * hold that agent's processes, which must not be relaunched here (see THE
 * INVARIANT above). Nodes ag no longer names are unregistered.
 */
static void apply_register(struct ctld *c, struct agent *ag, const uint32_t *nodes, size_t n,
                           const char *peer)
{
    struct agents *a = c->agents;
    int32_t idx = agent_index(a, ag->id);
    for (size_t i = 0; i < n; i++) {
        int32_t owner = a->node_agent[nodes[i]];
        if (owner < 0)
            continue;
        if (owner != idx) {
            char name[96];
            nl_facility_node_name(c->fac, nodes[i], name, sizeof(name));
            log_warn("agent=%s takes node %s from agent=%s, silent for %lld ms", ag->id, name,
                     a->list[owner]->id,
                     (long long)((c->now_us - a->list[owner]->last_sync_us) / 1000));
            node_lose(c, nodes[i], NODE_DOWN, "its node was taken over by another agent");
        } else {
            node_lose(c, nodes[i], NODE_DOWN, "its agent restarted (a new incarnation)");
        }
    }
    uint32_t *old = ag->nnodes ? xmalloc(ag->nnodes * sizeof(*old)) : NULL;
    size_t nold = ag->nnodes;
    if (nold)
        memcpy(old, ag->nodes, nold * sizeof(*old));
    for (size_t i = 0; i < nold; i++)
        a->node_agent[old[i]] = -1;
    for (size_t i = 0; i < n; i++)
        a->node_agent[nodes[i]] = idx;
    for (size_t i = 0; i < nold; i++)
        if (a->node_agent[old[i]] < 0)
            node_lose(c, old[i], NODE_UNREGISTERED, "its agent no longer names its node");
    free(old);
    rebuild_lists(a);
    ag->up = true;
    ag->reloaded = false;
    ag->last_sync_us = c->now_us;
    /*
     * Launches queued for the old incarnation were for runs lost just now.
     * The kills stay: a new incarnation has no such process (harmless), and
     * a legacy agent (no instance) may not have killed its old processes.
     */
    ag->nlaunches = 0;
    ag->need_full = true;
    ag->has_seq = false;
    ag->nodes_down = false;
    snprintf(ag->addr, sizeof(ag->addr), "%s", peer);
    for (size_t i = 0; i < n; i++)
        node_up(c, nodes[i]);
}

int agents_register(struct ctld *c, const json_t *body, const char *peer, json_t **answer,
                    struct api_fault *f)
{
    static const char *const keys[] = {"agent", "nodes", "emulated", "instance", "output_root",
                                       NULL};
    uint32_t *nodes = NULL;
    size_t n = 0;
    char instance[AGENT_INSTANCE_MAX + 1];
    int rc = -EINVAL;
    *answer = NULL;
    const json_t *em = json_object_get(body, "emulated");
    if (api_check_keys(body, keys, "", f) < 0 ||
        check_agent_id(json_object_get(body, "agent"), "agent", f) < 0 ||
        check_instance(json_object_get(body, "instance"), instance, f) < 0 ||
        check_output_root(json_object_get(body, "output_root"), f) < 0 ||
        parse_node_list(c, json_object_get(body, "nodes"), &nodes, &n, f) < 0)
        goto out;
    if (em != NULL && !json_is_boolean(em)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "emulated");
        snprintf(f->msg, sizeof(f->msg), "emulated: expected true or false");
        goto out;
    }
    const char *id = json_string_value(json_object_get(body, "agent"));
    if ((rc = check_conflicts(c, id, instance, nodes, n, &f->code, f->msg, sizeof(f->msg))) < 0) {
        snprintf(f->field, sizeof(f->field), "%s",
                 strcmp(f->code, "node_owned") == 0 ? "nodes" : "agent");
        log_warn("agent=%s registration from %s refused: %s", id, peer, f->msg);
        goto out;
    }
    struct agent *ag = agent_get_or_add(c->agents, id, json_is_true(em));
    ag->emulated = json_is_true(em);
    memcpy(ag->instance, instance, sizeof(ag->instance));
    set_output_root(ag, json_string_value(json_object_get(body, "output_root")));
    apply_register(c, ag, nodes, n, peer);
    struct nl_err err = {0};
    ctld_txn(c);
    const struct nl_store_agent sa = {
            .id = id, .instance = instance, .output_root = ag->output_root, .emulated = ag->emulated};
    if (nl_store_agent_set(c->store, &sa, nodes, n, &err) < 0)
        ctld_fatal("register", &err);
    log_info("agent=%s%s%s registered %zu nodes from %s", id, instance[0] ? " instance=" : "",
             instance, n, peer);
    *answer = json_pack("{s:s, s:I, s:I}", "agent_id", id, "sync_interval_ms",
                        (json_int_t)c->cfg->sync_interval_ms, "node_timeout_ms",
                        (json_int_t)c->cfg->node_timeout_ms);
out:
    free(nodes);
    return rc;
}

void api_agent_register(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    json_t *answer = NULL;
    struct api_fault f = {0};
    int rc = agents_register(c, body, http_req_peer(req), &answer, &f);
    if (rc == -EBUSY)
        api_error(c, req, 409, f.code, f.field, "%s", f.msg);
    else if (rc < 0)
        api_fault_reply(c, req, &f);
    else
        api_reply(c, req, 200, answer);
    json_decref(body);
}

/* ---- POST /v1/agent/sync ---- */

struct seen {
    uint64_t job;
    uint32_t run;
    uint32_t node;
};

struct sync_msg {
    struct agent *ag;
    bool full; /* "running" is the complete list (absent "full" = true) */
    bool has_seq;
    uint64_t seq;
    struct seen *running;
    size_t nrunning;
    struct jobs_exit *exits;
    size_t nexits;
    uint8_t *held; /* per exit: not durable yet, the agent keeps reporting it */
};

static int job_id_arg(const json_t *v, const char *field, uint64_t *id, struct api_fault *f)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        f->code = v ? "invalid_field" : "missing_field";
        snprintf(f->field, sizeof(f->field), "%s", field);
        snprintf(f->msg, sizeof(f->msg), "%s: expected a job id (a positive integer)", field);
        return -EINVAL;
    }
    *id = (uint64_t)json_integer_value(v);
    return 0;
}

/*
 * A run number: 1 .. 2^31. Required, because a report that does not say
 * which run it is about cannot tell a stale process from the current one.
 */
static int run_arg(const json_t *v, const char *field, uint32_t *run, struct api_fault *f)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > NL_PROTO_RUN_MAX) {
        f->code = v ? "invalid_field" : "missing_field";
        snprintf(f->field, sizeof(f->field), "%s", field);
        snprintf(f->msg, sizeof(f->msg), "%s: expected a run number (a positive integer)", field);
        return -EINVAL;
    }
    *run = (uint32_t)json_integer_value(v);
    return 0;
}

/*
 * One entry of running[]. The field names ("running[7].node") are built
 * only when the entry is at fault: an agent standing for 25,000 nodes lists
 * every running rank five times a second, and formatting four names per
 * entry was a tenth of the controller's time in a sync.
 */
static int running_one(struct ctld *c, const json_t *e, const char *prefix, struct seen *s,
                       struct api_fault *f)
{
    static const char *const keys[] = {"job", "run", "node", NULL};
    char job[48] = "job", run[48] = "run", node[48] = "node";
    if (prefix != NULL) {
        snprintf(job, sizeof(job), "%sjob", prefix);
        snprintf(run, sizeof(run), "%srun", prefix);
        snprintf(node, sizeof(node), "%snode", prefix);
    }
    if (api_check_keys(e, keys, prefix ? prefix : "", f) < 0 ||
        job_id_arg(json_object_get(e, "job"), job, &s->job, f) < 0 ||
        run_arg(json_object_get(e, "run"), run, &s->run, f) < 0)
        return -EINVAL;
    return node_arg(c, json_object_get(e, "node"), node, &s->node, f);
}

static int parse_running(struct ctld *c, const json_t *v, struct sync_msg *m, struct api_fault *f)
{
    size_t n = json_array_size(v);
    m->running = xcalloc(n ? n : 1, sizeof(*m->running));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        char prefix[40];
        if (!json_is_object(e)) {
            f->code = "invalid_field";
            snprintf(f->field, sizeof(f->field), "running[%zu]", i);
            snprintf(f->msg, sizeof(f->msg), "running[%zu]: expected an object", i);
            return -EINVAL;
        }
        /* First without names; a fault is checked again with them, for the error. */
        if (running_one(c, e, NULL, &m->running[i], f) < 0) {
            snprintf(prefix, sizeof(prefix), "running[%zu].", i);
            return running_one(c, e, prefix, &m->running[i], f);
        }
        m->nrunning++;
    }
    return 0;
}

static int exit_number(const json_t *e, const char *key, const char *prefix, bool integer,
                       double *out, struct api_fault *f)
{
    const json_t *v = json_object_get(e, key);
    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (integer ? !json_is_integer(v) : !json_is_number(v)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "%s%s", prefix, key);
        snprintf(f->msg, sizeof(f->msg), "%s: expected %s", f->field,
                 integer ? "an integer" : "a number");
        return -EINVAL;
    }
    *out = json_number_value(v);
    return 0;
}

/*
 * The optional reason (why a launch failed): a string of 1..EXIT_REASON_MAX
 * bytes; *out borrows it from e.
 */
static int exit_reason(const json_t *e, const char *prefix, const char **out, struct api_fault *f)
{
    const json_t *v = json_object_get(e, "reason");
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > EXIT_REASON_MAX ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "%sreason", prefix);
        snprintf(f->msg, sizeof(f->msg), "%s: expected a string of 1..%d bytes", f->field,
                 EXIT_REASON_MAX);
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

static int parse_exit(struct ctld *c, const json_t *e, const char *prefix, struct jobs_exit *x,
                      struct api_fault *f)
{
    static const char *const keys[] = {"job",        "run",      "node",   "exit_code",
                                       "signal",     "timeout",  "cpu_s",  "max_rss_kb",
                                       "start_time", "end_time", "reason", NULL};
    char field[64];
    double code, sig, cpu, rss, t;
    if (api_check_keys(e, keys, prefix, f) < 0)
        return -EINVAL;
    snprintf(field, sizeof(field), "%sjob", prefix);
    if (job_id_arg(json_object_get(e, "job"), field, &x->job, f) < 0)
        return -EINVAL;
    snprintf(field, sizeof(field), "%srun", prefix);
    if (run_arg(json_object_get(e, "run"), field, &x->run, f) < 0)
        return -EINVAL;
    snprintf(field, sizeof(field), "%snode", prefix);
    if (node_arg(c, json_object_get(e, "node"), field, &x->node, f) < 0)
        return -EINVAL;
    if (exit_reason(e, prefix, &x->reason, f) < 0)
        return -EINVAL;
    if (exit_number(e, "exit_code", prefix, true, &code, f) < 0 ||
        exit_number(e, "signal", prefix, true, &sig, f) < 0 ||
        exit_number(e, "cpu_s", prefix, false, &cpu, f) < 0 ||
        exit_number(e, "max_rss_kb", prefix, true, &rss, f) < 0 ||
        exit_number(e, "start_time", prefix, false, &t, f) < 0 ||
        exit_number(e, "end_time", prefix, false, &t, f) < 0)
        return -EINVAL;
    const json_t *to = json_object_get(e, "timeout");
    if (to != NULL && !json_is_boolean(to)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "%stimeout", prefix);
        snprintf(f->msg, sizeof(f->msg), "%s: expected true or false", f->field);
        return -EINVAL;
    }
    x->exit_code = (int)code;
    x->signal = (int)sig;
    x->timeout = json_is_true(to);
    x->cpu_s = cpu;
    x->max_rss_kb = (int64_t)rss;
    return 0;
}

static int parse_exits(struct ctld *c, const json_t *v, struct sync_msg *m, struct api_fault *f)
{
    size_t n = json_array_size(v);
    m->exits = xcalloc(n ? n : 1, sizeof(*m->exits));
    m->held = xcalloc(n ? n : 1, sizeof(*m->held));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        char prefix[40];
        snprintf(prefix, sizeof(prefix), "exits[%zu].", i);
        if (!json_is_object(e)) {
            f->code = "invalid_field";
            snprintf(f->field, sizeof(f->field), "exits[%zu]", i);
            snprintf(f->msg, sizeof(f->msg), "exits[%zu]: expected an object", i);
            return -EINVAL;
        }
        if (parse_exit(c, e, prefix, &m->exits[i], f) < 0)
            return -EINVAL;
        m->nexits++;
    }
    return 0;
}

/* An optional array of at most NL_PROTO_SYNC_ENTRIES_MAX entries. */
static int array_field(const json_t *body, const char *key, struct api_fault *f)
{
    const json_t *v = json_object_get(body, key);
    if (v == NULL || (json_is_array(v) && json_array_size(v) <= NL_PROTO_SYNC_ENTRIES_MAX))
        return 0;
    f->code = "invalid_field";
    snprintf(f->field, sizeof(f->field), "%s", key);
    snprintf(f->msg, sizeof(f->msg), "%s: expected an array of at most %u entries", key,
             NL_PROTO_SYNC_ENTRIES_MAX);
    return -EINVAL;
}

static int parse_seq(const json_t *body, struct sync_msg *m, struct api_fault *f)
{
    const json_t *seq = json_object_get(body, "seq"), *full = json_object_get(body, "full");
    if (seq != NULL && (!json_is_integer(seq) || json_integer_value(seq) < 0)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "seq");
        snprintf(f->msg, sizeof(f->msg), "seq: expected an integer >= 0");
        return -EINVAL;
    }
    if (full != NULL && !json_is_boolean(full)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "full");
        snprintf(f->msg, sizeof(f->msg), "full: expected true or false");
        return -EINVAL;
    }
    m->has_seq = seq != NULL;
    m->seq = seq ? (uint64_t)json_integer_value(seq) : 0;
    m->full = full == NULL || json_is_true(full);
    return 0;
}

static int parse_sync(struct ctld *c, const json_t *body, struct sync_msg *m, struct api_fault *f)
{
    static const char *const keys[] = {"agent_id", "running", "exits", "seq", "full", NULL};
    const json_t *id = json_object_get(body, "agent_id");
    if (api_check_keys(body, keys, "", f) < 0 || check_agent_id(id, "agent_id", f) < 0 ||
        parse_seq(body, m, f) < 0 || array_field(body, "running", f) < 0 ||
        array_field(body, "exits", f) < 0 ||
        parse_running(c, json_object_get(body, "running"), m, f) < 0 ||
        parse_exits(c, json_object_get(body, "exits"), m, f) < 0)
        return -EINVAL;
    m->ag = agent_find(c->agents, json_string_value(id));
    return 0;
}

/* The exits the agent must report again, or NULL when there are none. */
static json_t *held_exits(const struct ctld *c, const struct sync_msg *m)
{
    json_t *hold = NULL;
    char name[96];
    for (size_t i = 0; i < m->nexits; i++) {
        if (!m->held[i])
            continue;
        if (hold == NULL)
            hold = json_array();
        nl_facility_node_name(c->fac, m->exits[i].node, name, sizeof(name));
        json_array_append_new(hold, json_pack("{s:I, s:I, s:s}", "job", (json_int_t)m->exits[i].job,
                                              "run", (json_int_t)m->exits[i].run, "node", name));
    }
    return hold;
}

/*
 * The answer: queued launches (built now, from the store), kills (the
 * queues empty) and the exits it holds.
 */
static json_t *sync_answer(struct ctld *c, struct agent *ag, const struct sync_msg *m)
{
    json_t *launch = json_array(), *kill = json_array();
    merge_kills(ag);
    for (size_t i = 0; i < ag->nlaunches; i++) {
        json_t *l = jobs_launch_json(c, ag->launches[i].job, ag->launches[i].node);
        if (l != NULL)
            json_array_append_new(launch, l);
    }
    /* A kill names its run, so it never hits a newer run of the same job on this agent. */
    for (size_t i = 0; i < ag->nkills; i++)
        json_array_append_new(
                kill, json_pack("{s:I, s:I, s:I, s:s}", "job", (json_int_t)ag->kills[i].job, "run",
                                (json_int_t)ag->kills[i].run, "grace_s",
                                (json_int_t)ag->kills[i].grace_s, "reason", ag->kills[i].reason));
    ag->nlaunches = ag->nkills = 0;
    json_t *answer = json_pack("{s:o, s:o}", "launch", launch, "kill", kill);
    json_t *hold = held_exits(c, m);
    if (hold != NULL)
        json_object_set_new(answer, "hold", hold);
    if (ag->need_full)
        json_object_set_new(answer, "full_next", json_true());
    return answer;
}

/*
 * Whether the running list of m can be read as the agent's complete set of
 * live runs: a full list always; a delta only on top of a full list this
 * controller has applied since the agent registered (or since this
 * controller started), with a sequence number that moves forward (a repeat
 * or a step back means the agent's and our view of "the last answered
 * sync" may differ).
 */
static bool delta_applies(const struct agent *ag, const struct sync_msg *m)
{
    if (ag->need_full)
        return false;
    return !m->has_seq || !ag->has_seq || m->seq > ag->last_seq;
}

static void apply_sync(struct ctld *c, struct sync_msg *m, const char *peer)
{
    struct agent *ag = m->ag;
    ag->last_sync_us = c->now_us;
    ag->reloaded = false;
    snprintf(ag->addr, sizeof(ag->addr), "%s", peer);
    if (!ag->up) {
        ag->up = true;
        ag->nodes_down = true;
        log_info("agent=%s is back: %zu nodes up", ag->id, ag->nnodes);
    }
    int32_t idx = agent_index(c->agents, ag->id);
    /* Only when some may be down: a delta sync must not cost a pass over every node. */
    if (ag->nodes_down) {
        for (size_t i = 0; i < ag->nnodes; i++)
            node_up(c, ag->nodes[i]);
        ag->nodes_down = false;
    }
    bool complete = m->full || delta_applies(ag, m);
    /* Reports about nodes the agent does not own (any more) are stale and ignored. */
    for (size_t i = 0; i < m->nexits; i++)
        if (c->agents->node_agent[m->exits[i].node] == idx)
            jobs_exit(c, &m->exits[i]);
    /* Asked after all of them: an exit later in the list may have ended the gang. */
    for (size_t i = 0; i < m->nexits; i++)
        m->held[i] =
                c->agents->node_agent[m->exits[i].node] == idx && jobs_exit_held(c, &m->exits[i]);
    for (size_t i = 0; i < m->nrunning; i++) {
        uint32_t node = m->running[i].node;
        /*
         * A process the controller does not run there (failed over, an older
         * run of a requeued job, or unknown) is killed.
         */
        const struct seen *s = &m->running[i];
        if (c->agents->node_agent[node] != idx)
            /* Not its node (any more): whatever runs there for it is not ours to keep. */
            push_kill(ag, s->job, s->run, 0, "node_not_owned");
        else if (!jobs_seen(c, s->job, s->run, node))
            push_kill(ag, s->job, s->run, 0, "unknown");
    }
    if (m->has_seq) {
        ag->has_seq = true;
        ag->last_seq = m->seq;
    }
    if (!complete) {
        /* Its listed runs were handled; the others wait for the full list asked for. */
        ag->need_full = true;
        return;
    }
    ag->vouch_us = c->now_us;
    if (!m->full)
        return;
    ag->last_full_us = c->now_us;
    ag->need_full = false;
    /* Only a complete list can tell that a reloaded rank was never launched (see jobs.c). */
    if (c->unconfirmed_runs > 0)
        jobs_confirm_reloaded(c, idx);
}

int agents_sync(struct ctld *c, const json_t *body, const char *peer, json_t **answer,
                struct api_fault *f)
{
    struct sync_msg m = {0};
    int rc = 0;
    *answer = NULL;
    if (parse_sync(c, body, &m, f) < 0) {
        rc = -EINVAL;
    } else if (m.ag == NULL) {
        f->code = "not_found";
        snprintf(f->field, sizeof(f->field), "agent_id");
        snprintf(f->msg, sizeof(f->msg), "agent_id: '%.100s' is not registered; register again",
                 json_string_value(json_object_get(body, "agent_id")));
        rc = -ENOENT;
    } else {
        apply_sync(c, &m, peer);
        *answer = sync_answer(c, m.ag, &m);
    }
    free(m.running);
    free(m.exits);
    free(m.held);
    return rc;
}

void api_agent_sync(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    json_t *answer = NULL;
    struct api_fault f = {0};
    int rc = agents_sync(c, body, http_req_peer(req), &answer, &f);
    if (rc == -ENOENT)
        api_error(c, req, 404, f.code, f.field, "%s", f.msg);
    else if (rc < 0)
        api_fault_reply(c, req, &f);
    else
        api_reply(c, req, 200, answer);
    json_decref(body);
}
