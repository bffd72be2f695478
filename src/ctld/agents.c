/* SPDX-License-Identifier: MIT */
/*
 * agents.c - the agent protocol's orchestration (register, sync) between
 * the node registry (nodes.c), the job life cycle (life.c) and the JSON
 * layer (agent_proto.c).
 *
 * Agents pull: each sync reports what the agent runs and what has exited,
 * and takes back the launches and kills queued for it. A node is
 * "unregistered" until an agent names it, "up" while its agent syncs, and
 * "down" when the agent has been silent for node-timeout-ms (or, after a
 * controller restart, until its agent syncs again). Down nodes are down in
 * the scheduler too (life_node_down), so nothing new is placed on them.
 *
 * A sync is checked completely before anything is applied, so a malformed
 * one changes nothing; its answer is held until the exits it reported are
 * committed (durable.h), so an agent stops repeating an exit only once it
 * is durable.
 *
 * Node ownership is exclusive. A registration is refused (409) when it
 * names a node that another live agent owns ("node_owned"), or when its
 * agent name is in use by a live agent of another instance
 * ("agent_name_in_use"); "live" means synced within node-timeout-ms, by
 * the monotonic clock (now.h). A node whose owner is dead may be taken
 * by another agent (logged). Every registration is a new incarnation of
 * its agent: a restarted agent kills all its old processes before it
 * registers (the agent side guarantees it), so the runs the controller had
 * on its nodes are lost at once (NODE_FAIL, requeued when they asked).
 *
 * THE INVARIANT: a node's previous run is never relaunched while it may
 * still be alive there. The only relaunch of a run is life_confirm_reloaded
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
#include "agents.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "ctld/agent_proto.h"
#include "ctld/durable.h"
#include "ctld/fault.h"
#include "ctld/life.h"
#include "ctld/nodes.h"
#include "ctld/now.h"
#include "ctld/outtail.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "store/store.h"

struct agents {
    struct agents_deps d;
};

struct agents *agents_create(const struct agents_deps *deps)
{
    struct agents *a = xcalloc(1, sizeof(*a));
    a->d = *deps;
    return a;
}

void agents_destroy(struct agents *a)
{
    free(a);
}

/* Take node out of service: jobs on it are lost. */
static void node_lose(struct agents *a, uint32_t node, enum node_state state, const char *why)
{
    nodes_set_state(a->d.nodes, node, state);
    life_node_down(a->d.life, node, why);
}

static void node_up(struct agents *a, uint32_t node)
{
    if (nodes_state(a->d.nodes, node) != NODE_UP) {
        nodes_set_state(a->d.nodes, node, NODE_UP);
        life_node_up(a->d.life, node);
    }
}

void agents_check_timeouts(struct agents *a)
{
    int64_t now = a->d.clock->us, limit_us = (int64_t)a->d.node_timeout_ms * 1000;
    for (size_t i = 0; i < nodes_agent_count(a->d.nodes); i++) {
        struct agent *ag = nodes_agent_at(a->d.nodes, i);
        if (!ag->up || now - ag->last_sync_us <= limit_us)
            continue;
        ag->up = false;
        ag->nodes_down = true;
        log_warn("agent=%s silent for %lld ms: its %zu nodes are down", ag->id,
                 (long long)((now - ag->last_sync_us) / 1000), ag->nnodes);
        for (size_t k = 0; k < ag->nnodes; k++)
            node_lose(a, ag->nodes[k], NODE_DOWN, "its node's agent stopped syncing");
        /* Launches for a silent agent would start jobs that have already been failed over. */
        nodes_drop_launches(a->d.nodes, (int32_t)i);
    }
}

struct load_ctx {
    struct agents *a;
    size_t nodes;
};

static int load_one(const struct nl_store_agent *sa, uint32_t node, void *arg)
{
    struct load_ctx *x = arg;
    struct nodes *n = x->a->d.nodes;
    if (node >= nodes_count(n))
        return 0; /* the facility shrank; the agent will re-register what exists */
    struct agent *ag = nodes_agent_get_or_add(n, sa->id, sa->emulated);
    if (ag->nnodes == 0) {
        snprintf(ag->instance, sizeof(ag->instance), "%s", sa->instance);
        nodes_agent_set_output_root(ag, sa->output_root);
    }
    ag->last_sync_us = x->a->d.clock->us;
    /* The controller restarted: it knows nothing of what the agent runs until a full list. */
    ag->need_full = true;
    ag->reloaded = true;
    ag->nodes_down = true;
    nodes_agent_load_node(n, ag, node);
    x->nodes++;
    return 0;
}

int agents_load(struct agents *a, struct nl_err *err)
{
    struct load_ctx x = {.a = a};
    int rc = nl_store_agents_load(a->d.store, load_one, &x, err);
    if (rc == 0)
        log_info("reloaded %zu agents with %zu nodes; they are down until they sync",
                 nodes_agent_count(a->d.nodes), x.nodes);
    return rc;
}

/* ---- POST /v1/agent/register ---- */

/*
 * Refuse a registration that would take what a live agent holds: its name
 * (unless it is the same instance, restarted) or one of its nodes. 0, or
 * -EBUSY with *code and msg set; changes nothing.
 */
static int check_conflicts(const struct agents *a, const char *id, const char *instance,
                           const uint32_t *nodes, size_t n, const char **code, char *msg,
                           size_t size)
{
    const struct nodes *reg = a->d.nodes;
    int64_t now = a->d.clock->us;
    int32_t self = nodes_agent_index(reg, id);
    const struct agent *same = self >= 0 ? nodes_agent_at(reg, (size_t)self) : NULL;
    if (same != NULL && nodes_agent_holds_name(reg, same, now) &&
        (instance[0] == '\0' || strcmp(same->instance, instance) != 0)) {
        *code = "agent_name_in_use";
        if (same->reloaded)
            snprintf(msg, size,
                     "agent: '%s' is in use by another instance, not heard from since a controller "
                     "restart %.1f s ago; stop that agent or choose another --agent-name",
                     id, (double)(now - same->last_sync_us) / 1e6);
        else
            snprintf(msg, size,
                     "agent: '%s' is in use by a live agent (another instance, last synced %.1f s "
                     "ago from %s); stop that agent or choose another --agent-name",
                     id, (double)(now - same->last_sync_us) / 1e6,
                     same->addr[0] ? same->addr : "?");
        return -EBUSY;
    }
    for (size_t i = 0; i < n; i++) {
        int32_t owner = nodes_owner_index(reg, nodes[i]);
        const struct agent *o = owner >= 0 ? nodes_agent_at(reg, (size_t)owner) : NULL;
        if (o == NULL || owner == self || !nodes_agent_holds_nodes(reg, o, now))
            continue;
        char name[96];
        nl_facility_node_name(a->d.fac, nodes[i], name, sizeof(name));
        *code = "node_owned";
        snprintf(msg, size,
                 "nodes: %s is owned by agent '%s' (%s %.1f s ago); stop that agent or remove the "
                 "node from its --nodes first",
                 name, o->id,
                 o->reloaded ? "not heard from since a controller restart" : "live, last synced",
                 (double)(now - o->last_sync_us) / 1e6);
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
static void apply_register(struct agents *a, struct agent *ag, const uint32_t *nodes, size_t n,
                           const char *peer)
{
    struct nodes *reg = a->d.nodes;
    int64_t now = a->d.clock->us;
    int32_t idx = nodes_agent_index(reg, ag->id);
    for (size_t i = 0; i < n; i++) {
        int32_t owner = nodes_owner_index(reg, nodes[i]);
        if (owner < 0)
            continue;
        if (owner != idx) {
            const struct agent *o = nodes_agent_at(reg, (size_t)owner);
            char name[96];
            nl_facility_node_name(a->d.fac, nodes[i], name, sizeof(name));
            log_warn("agent=%s takes node %s from agent=%s, silent for %lld ms", ag->id, name,
                     o->id, (long long)((now - o->last_sync_us) / 1000));
            node_lose(a, nodes[i], NODE_DOWN, "its node was taken over by another agent");
        } else {
            node_lose(a, nodes[i], NODE_DOWN, "its agent restarted (a new incarnation)");
        }
    }
    uint32_t *dropped = NULL;
    size_t ndropped = 0;
    nodes_assign(reg, idx, nodes, n, &dropped, &ndropped);
    for (size_t i = 0; i < ndropped; i++)
        node_lose(a, dropped[i], NODE_UNREGISTERED, "its agent no longer names its node");
    free(dropped);
    ag->up = true;
    ag->reloaded = false;
    ag->last_sync_us = now;
    /*
     * Launches queued for the old incarnation were for runs lost just now.
     * The kills stay: a new incarnation has no such process (harmless), and
     * a legacy agent (no instance) may not have killed its old processes.
     */
    nodes_drop_launches(reg, idx);
    ag->need_full = true;
    ag->has_seq = false;
    ag->nodes_down = false;
    snprintf(ag->addr, sizeof(ag->addr), "%s", peer);
    for (size_t i = 0; i < n; i++)
        node_up(a, nodes[i]);
}

/* -EACCES with f naming the first of nodes[n] who's credential does not cover, else 0. */
static int check_covered(const struct agents *a, const struct agents_caller *who,
                         const uint32_t *nodes, size_t n, const char *agent, struct fault *f)
{
    if (who->covers == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char name[96];
        nl_facility_node_name(a->d.fac, nodes[i], name, sizeof(name));
        if (!who->covers(who->arg, name)) {
            f->code = "forbidden";
            snprintf(f->field, sizeof(f->field), "nodes");
            snprintf(f->msg, sizeof(f->msg),
                     "node %s: not among the nodes the agent token covers (agent %.100s)", name,
                     agent);
            return -EACCES;
        }
    }
    return 0;
}

int agents_register(struct agents *a, const json_t *body, const struct agents_caller *who,
                    json_t **answer, struct fault *f)
{
    struct agent_proto_register r;
    *answer = NULL;
    const char *peer = who->peer;
    int rc = agent_proto_parse_register(body, a->d.fac, &r, f);
    if (rc < 0)
        return rc;
    if ((rc = check_covered(a, who, r.nodes, r.nnodes, r.agent, f)) < 0) {
        log_warn("agent=%s registration from %s refused: %s", r.agent, peer, f->msg);
        agent_proto_register_release(&r);
        return rc;
    }
    if ((rc = check_conflicts(a, r.agent, r.instance, r.nodes, r.nnodes, &f->code, f->msg,
                              sizeof(f->msg))) < 0) {
        snprintf(f->field, sizeof(f->field), "%s",
                 strcmp(f->code, "node_owned") == 0 ? "nodes" : "agent");
        log_warn("agent=%s registration from %s refused: %s", r.agent, peer, f->msg);
        agent_proto_register_release(&r);
        return rc;
    }
    struct agent *ag = nodes_agent_get_or_add(a->d.nodes, r.agent, r.emulated);
    ag->emulated = r.emulated;
    memcpy(ag->instance, r.instance, sizeof(ag->instance));
    nodes_agent_set_output_root(ag, r.output_root);
    apply_register(a, ag, r.nodes, r.nnodes, peer);
    struct nl_err err = {0};
    durable_txn(a->d.dur);
    const struct nl_store_agent sa = {.id = r.agent,
                                      .instance = r.instance,
                                      .output_root = ag->output_root,
                                      .emulated = ag->emulated};
    durable_check(nl_store_agent_set(a->d.store, &sa, r.nodes, r.nnodes, &err), "register", &err);
    log_info("agent=%s%s%s registered %zu nodes from %s", r.agent,
             r.instance[0] ? " instance=" : "", r.instance, r.nnodes, peer);
    *answer = agent_proto_register_answer(r.agent, a->d.sync_interval_ms, a->d.node_timeout_ms);
    agent_proto_register_release(&r);
    return 0;
}

/* ---- POST /v1/agent/sync ---- */

/*
 * The answer: queued launches (built now, from the job's record), kills
 * (the outbox empties) and the exits it holds.
 */
static json_t *sync_answer(struct agents *a, int32_t idx, const struct agent_proto_sync *m,
                           const uint8_t *held)
{
    const struct agent *ag = nodes_agent_at(a->d.nodes, (size_t)idx);
    struct agent_proto_answer *ans = agent_proto_answer_create(a->d.fac, a->d.allow_root_jobs);
    const struct nodes_launch *launches;
    const struct nodes_kill *kills;
    size_t nl, nk;
    nodes_outbox(a->d.nodes, idx, &launches, &nl, &kills, &nk);
    for (size_t i = 0; i < nl; i++) {
        struct life_launch l;
        if (life_launch(a->d.life, launches[i].job, launches[i].node, &l) < 0)
            continue;
        agent_proto_answer_launch(ans, &l);
        life_launch_done(a->d.life, &l);
    }
    for (size_t i = 0; i < nk; i++)
        agent_proto_answer_kill(ans, &kills[i]);
    const struct nodes_control *controls;
    size_t nc;
    nodes_controls(a->d.nodes, idx, &controls, &nc);
    for (size_t i = 0; i < nc; i++)
        agent_proto_answer_control(ans, &controls[i]);
    nodes_outbox_clear(a->d.nodes, idx);
    for (size_t i = 0; i < m->nexits; i++)
        if (held[i])
            agent_proto_answer_hold(ans, &m->exits[i]);
    /* Power caps on its nodes: the whole desired state, none when nothing is capped. */
    bool any = life_any_capped(a->d.life);
    for (size_t i = 0; any && i < ag->nnodes; i++) {
        struct life_cap caps[8];
        size_t ncaps = life_node_caps(a->d.life, ag->nodes[i], caps);
        for (size_t k = 0; k < ncaps; k++)
            agent_proto_answer_cap(ans, ag->nodes[i], caps[k].job, caps[k].mask, caps[k].cap_w);
    }
    return agent_proto_answer_finish(ans, ag->need_full);
}

/*
 * Whether the running list of m can be read as the agent's complete set of
 * live runs: a full list always; a delta only on top of a full list this
 * controller has applied since the agent registered (or since this
 * controller started), with a sequence number that moves forward (a repeat
 * or a step back means the agent's and our view of "the last answered
 * sync" may differ).
 */
static bool delta_applies(const struct agent *ag, const struct agent_proto_sync *m)
{
    if (ag->need_full)
        return false;
    return !m->has_seq || !ag->has_seq || m->seq > ag->last_seq;
}

static void apply_sync(struct agents *a, int32_t idx, const struct agent_proto_sync *m,
                       uint8_t *held, const char *peer)
{
    struct nodes *reg = a->d.nodes;
    struct agent *ag = nodes_agent_at(reg, (size_t)idx);
    int64_t now = a->d.clock->us;
    ag->last_sync_us = now;
    ag->reloaded = false;
    snprintf(ag->addr, sizeof(ag->addr), "%s", peer);
    if (!ag->up) {
        ag->up = true;
        ag->nodes_down = true;
        log_info("agent=%s is back: %zu nodes up", ag->id, ag->nnodes);
    }
    /* Only when some may be down: a delta sync must not cost a pass over every node. */
    if (ag->nodes_down) {
        for (size_t i = 0; i < ag->nnodes; i++)
            node_up(a, ag->nodes[i]);
        ag->nodes_down = false;
    }
    bool complete = m->full || delta_applies(ag, m);
    /*
     * Output before exits: a run's last bytes come in the sync that reports
     * its end or earlier (the agent holds the exit until they are shipped),
     * so a job that has ended has all its output here. Only the run that
     * runs on an owned node may write a job's output; every node of it
     * does (outtail.h merges them).
     */
    for (size_t i = 0; a->d.out != NULL && i < m->noutput; i++) {
        const struct agent_proto_output *o = &m->output[i];
        if (nodes_owner_index(reg, o->node) == idx &&
            life_runs_on(a->d.life, o->job, o->run, o->node))
            outtail_add(a->d.out, o->job, o->run, o->node, (enum outtail_stream)o->stream,
                        o->offset, o->data, o->len);
    }
    /* Reports about nodes the agent does not own (any more) are stale and ignored. */
    for (size_t i = 0; i < m->nexits; i++)
        if (nodes_owner_index(reg, m->exits[i].node) == idx)
            life_exit(a->d.life, &m->exits[i]);
    /* Asked after all of them: an exit later in the list may have ended the gang. */
    for (size_t i = 0; i < m->nexits; i++)
        held[i] = nodes_owner_index(reg, m->exits[i].node) == idx &&
                  life_exit_held(a->d.life, &m->exits[i]);
    for (size_t i = 0; i < m->nrunning; i++) {
        /*
         * A process the controller does not run there (failed over, an older
         * run of a requeued job, or unknown) is killed.
         */
        const struct agent_proto_seen *s = &m->running[i];
        if (nodes_owner_index(reg, s->node) != idx)
            /* Not its node (any more): whatever runs there for it is not ours to keep. */
            nodes_push_kill(reg, idx, s->job, s->run, 0, "node_not_owned");
        else if (!life_seen(a->d.life, s->job, s->run, s->node))
            nodes_push_kill(reg, idx, s->job, s->run, 0, "unknown");
    }
    for (size_t i = 0; i < m->npower; i++)
        if (nodes_owner_index(reg, m->power[i].node) == idx)
            life_power_report(a->d.life, m->power[i].node, m->power[i].w, m->power[i].temp,
                              m->power[i].ngpus);
    if (m->has_seq) {
        ag->has_seq = true;
        ag->last_seq = m->seq;
    }
    if (!complete) {
        /* Its listed runs were handled; the others wait for the full list asked for. */
        ag->need_full = true;
        return;
    }
    ag->vouch_us = now;
    if (!m->full)
        return;
    ag->last_full_us = now;
    ag->need_full = false;
    /* Only a complete list can tell that a reloaded rank was never launched (see life.c). */
    if (life_has_unconfirmed(a->d.life))
        life_confirm_reloaded(a->d.life, idx);
}

int agents_sync(struct agents *a, const json_t *body, const struct agents_caller *who,
                json_t **answer, struct fault *f)
{
    const char *peer = who->peer;
    struct agent_proto_sync m;
    memset(&m, 0, sizeof(m));
    *answer = NULL;
    int rc = agent_proto_parse_sync(body, a->d.fac, &m, f);
    int32_t idx = rc == 0 ? nodes_agent_index(a->d.nodes, m.agent_id) : -1;
    if (rc == 0 && idx < 0) {
        f->code = "not_found";
        snprintf(f->field, sizeof(f->field), "agent_id");
        snprintf(f->msg, sizeof(f->msg), "agent_id: '%.100s' is not registered; register again",
                 m.agent_id);
        rc = -ENOENT;
    } else if (rc == 0) {
        const struct agent *ag = nodes_agent_at(a->d.nodes, (size_t)idx);
        rc = check_covered(a, who, ag->nodes, ag->nnodes, ag->id, f);
    }
    if (rc == 0) {
        uint8_t *held = xcalloc(m.nexits ? m.nexits : 1, 1);
        apply_sync(a, idx, &m, held, peer);
        *answer = sync_answer(a, idx, &m, held);
        free(held);
    }
    agent_proto_sync_release(&m);
    return rc;
}
