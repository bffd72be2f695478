/* SPDX-License-Identifier: MIT */
/*
 * resv.c - node drain and operators' reservations; see resv.h for how
 * they stay out of the placement indexes' way.
 */
#include "resv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/tenant.h"
#include "sched_int.h"

void resv_init(struct nl_sched *s)
{
    s->rs.per_node = xcalloc(nl_facility_nodes(s->fac) ? nl_facility_nodes(s->fac) : 1, 1);
}

void resv_release(struct nl_sched *s)
{
    for (size_t i = 0; i < s->rs.n; i++)
        free(s->rs.r[i].nodes);
    free(s->rs.r);
    free(s->rs.per_node);
    free(s->rs.out);
    memset(&s->rs, 0, sizeof(s->rs));
}

/* --- drain ------------------------------------------------------------------------ */

int nl_sched_node_set_drain(struct nl_sched *s, uint32_t node, bool drain)
{
    if (node >= nl_facility_nodes(s->fac))
        return -EINVAL;
    place_set_flag(s->pl, node, PLACE_F_DRAIN, drain);
    return 0;
}

bool nl_sched_node_drained(const struct nl_sched *s, uint32_t node)
{
    return node < nl_facility_nodes(s->fac) && (place_node_flags(s->pl, node) & PLACE_F_DRAIN);
}

/* --- the table -------------------------------------------------------------------- */

static bool has_node(const struct mresv *r, uint32_t node)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->nodes[mid] == node)
            return true;
        if (r->nodes[mid] < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The live reservation whose window overlaps [start, end) and holds node, or NULL. */
static const struct mresv *overlapping(const struct nl_sched *s, uint32_t node, int64_t start,
                                       int64_t end)
{
    if (s->rs.per_node[node] == 0)
        return NULL;
    for (size_t i = 0; i < s->rs.n; i++) {
        const struct mresv *r = &s->rs.r[i];
        if (r->start_us < end && start < r->end_us && has_node(r, node))
            return r;
    }
    return NULL;
}

int nl_sched_resv_add(struct nl_sched *s, const struct nl_resv_spec *spec, struct nl_err *err)
{
    uint32_t nn = nl_facility_nodes(s->fac);
    if (spec->nnodes == 0)
        return nl_err_set(err, -EINVAL, "nodes: a reservation needs at least one node");
    if (spec->end_us <= spec->start_us)
        return nl_err_set(err, -EINVAL, "duration: the end must be after the start");
    if (spec->tenant != NL_RESV_NO_TENANT && spec->tenant >= nl_tenants_count(s->tenants))
        return nl_err_set(err, -EINVAL, "tenant: no tenant %u", spec->tenant);
    for (size_t i = 0; i < s->rs.n; i++)
        if (s->rs.r[i].id == spec->id)
            return nl_err_set(err, -EEXIST, "reservation %llu exists",
                              (unsigned long long)spec->id);
    uint32_t *nodes = xreallocarray(NULL, spec->nnodes, sizeof(uint32_t));
    memcpy(nodes, spec->nodes, spec->nnodes * sizeof(uint32_t));
    qsort(nodes, spec->nnodes, sizeof(uint32_t), cmp_u32);
    int rc = 0;
    uint32_t site = 0;
    for (size_t i = 0; i < spec->nnodes && rc == 0; i++) {
        const struct mresv *o;
        if (nodes[i] >= nn)
            rc = nl_err_set(err, -EINVAL, "nodes: node %u does not exist", nodes[i]);
        else if (i > 0 && nodes[i] == nodes[i - 1])
            rc = nl_err_set(err, -EINVAL, "nodes: node %u is named twice", nodes[i]);
        else if (i > 0 && nl_facility_node_site(s->fac, nodes[i]) != site)
            rc = nl_err_set(err, -EINVAL, "nodes: a reservation's nodes must be in one site");
        else if (s->rs.per_node[nodes[i]] == UINT8_MAX)
            rc = nl_err_set(err, -EBUSY, "nodes: node %u is in too many reservations", nodes[i]);
        else if ((o = overlapping(s, nodes[i], spec->start_us, spec->end_us)) != NULL)
            rc = nl_err_set(err, -EBUSY,
                            "nodes: node %u is in reservation %llu, whose window overlaps",
                            nodes[i], (unsigned long long)o->id);
        if (i == 0 && rc == 0)
            site = nl_facility_node_site(s->fac, nodes[0]);
    }
    if (rc < 0) {
        free(nodes);
        return rc;
    }
    if (s->rs.n == s->rs.cap) {
        s->rs.cap = xgrow(s->rs.cap, s->rs.n + 1);
        s->rs.r = xreallocarray(s->rs.r, s->rs.cap, sizeof(*s->rs.r));
    }
    s->rs.r[s->rs.n++] = (struct mresv){.id = spec->id,
                                        .start_us = spec->start_us,
                                        .end_us = spec->end_us,
                                        .tenant = spec->tenant,
                                        .site = site,
                                        .nodes = nodes,
                                        .n = spec->nnodes,
                                        .fail_min = UINT32_MAX};
    for (size_t i = 0; i < spec->nnodes; i++)
        if (s->rs.per_node[nodes[i]]++ == 0)
            place_set_flag(s->pl, nodes[i], PLACE_F_RESV, true);
    return 0;
}

static void remove_at(struct nl_sched *s, size_t i)
{
    struct mresv *r = &s->rs.r[i];
    for (size_t k = 0; k < r->n; k++)
        if (--s->rs.per_node[r->nodes[k]] == 0)
            place_set_flag(s->pl, r->nodes[k], PLACE_F_RESV, false);
    free(r->nodes);
    s->rs.r[i] = s->rs.r[--s->rs.n];
}

int nl_sched_resv_del(struct nl_sched *s, uint64_t id)
{
    for (size_t i = 0; i < s->rs.n; i++)
        if (s->rs.r[i].id == id) {
            remove_at(s, i);
            return 0;
        }
    return -ENOENT;
}

size_t nl_sched_resv_count(const struct nl_sched *s)
{
    return s->rs.n;
}

/* --- choosing nodes for --gpus N ------------------------------------------------------ */

struct cand {
    int64_t free_at;
    uint32_t node;
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->free_at != y->free_at)
        return x->free_at < y->free_at ? -1 : 1;
    return (x->node > y->node) - (x->node < y->node);
}

size_t nl_sched_resv_pick(const struct nl_sched *s, uint32_t gpus, int64_t start_us,
                          int64_t end_us, uint32_t site_mask, uint32_t *nodes, size_t cap,
                          struct nl_err *err)
{
    uint32_t nn = nl_facility_nodes(s->fac);
    if (gpus == 0) {
        nl_err_set(err, -EINVAL, "gpus: must be at least 1");
        return 0;
    }
    /* When each node's GPUs come back: the latest time limit of the jobs on it. */
    int64_t *free_at = xcalloc(nn ? nn : 1, sizeof(int64_t));
    for (size_t i = 0; i < s->jobs_used; i++) {
        const struct job *j = &s->jobs[i];
        if (j->id == 0 || (j->state != NL_JOB_RUNNING && j->state != NL_JOB_PREEMPTING))
            continue;
        for (uint32_t k = 0; k < j->nalloc; k++)
            if (j->expect_end_us > free_at[j->alloc[k].node])
                free_at[j->alloc[k].node] = j->expect_end_us;
    }
    size_t got = 0;
    struct cand *c = xreallocarray(NULL, nn ? nn : 1, sizeof(*c));
    for (uint32_t site = 0; site < s->nsites && got == 0; site++) {
        if (!(site_mask & (1u << site)))
            continue;
        const struct nl_site_info *si = &s->site[site];
        size_t want = (gpus + si->gpus_per_node - 1) / si->gpus_per_node;
        size_t nc = 0;
        uint32_t n1 = si->first_node + si->nnodes;
        for (uint32_t n = si->first_node; n < n1; n++) {
            if (place_node_flags(s->pl, n) & (PLACE_F_DOWN | PLACE_F_DRAIN) ||
                overlapping(s, n, start_us, end_us) != NULL)
                continue;
            c[nc++] = (struct cand){free_at[n] > s->now_us ? free_at[n] : s->now_us, n};
        }
        if (nc < want || want > cap)
            continue;
        qsort(c, nc, sizeof(*c), cmp_cand);
        for (size_t i = 0; i < want; i++)
            nodes[i] = c[i].node;
        got = want;
    }
    free(c);
    free(free_at);
    if (got == 0)
        nl_err_set(err, -ENOSPC,
                   "gpus: no site has %u GPUs in whole nodes that are up, not drained and"
                   " not reserved for that time",
                   gpus);
    return got;
}

/* --- the pass ----------------------------------------------------------------------- */

/* Does r admit j (ending at end) now? */
static bool admits(const struct mresv *r, const struct job *j, int64_t now_us, int64_t end)
{
    if (now_us < r->start_us)
        return end <= r->start_us;
    return r->tenant != NL_RESV_NO_TENANT && r->tenant == j->spec.tenant;
}

/* Would a reservation admit anyone now? (Maintenance under way admits nobody.) */
static bool open_now(const struct mresv *r, int64_t now_us)
{
    return now_us < r->start_us || r->tenant != NL_RESV_NO_TENANT;
}

/* Free mask of node for a job admitted by r: every other reservation of node must admit it too. */
static uint8_t usable(const struct nl_sched *s, const struct mresv *r, uint32_t node,
                      const struct job *j, int64_t now_us, int64_t end)
{
    uint8_t m = place_node_free_except(s->pl, node, PLACE_F_RESV);
    if (m == 0 || s->rs.per_node[node] == 1)
        return m;
    for (size_t i = 0; i < s->rs.n; i++) {
        const struct mresv *o = &s->rs.r[i];
        if (o != r && has_node(o, node) && !admits(o, j, now_us, end))
            return 0;
    }
    return m;
}

void resv_pass_begin(struct nl_sched *s, int64_t now_us)
{
    s->rs.room = 0;
    for (size_t i = s->rs.n; i-- > 0;)
        if (s->rs.r[i].end_us <= now_us)
            remove_at(s, i);
    for (size_t i = 0; i < s->rs.n; i++) {
        struct mresv *r = &s->rs.r[i];
        r->room = 0;
        r->fail_min = UINT32_MAX;
        for (size_t k = 0; k < r->n; k++)
            r->room += place_gpus_in(place_node_free_except(s->pl, r->nodes[k], PLACE_F_RESV));
        if (open_now(r, now_us))
            s->rs.room += r->room;
    }
}

static void out_push(struct nl_sched *s, size_t *k, uint32_t node, uint8_t mask)
{
    if (*k == s->rs.out_cap) {
        s->rs.out_cap = xgrow(s->rs.out_cap, *k + 1);
        s->rs.out = xreallocarray(s->rs.out, s->rs.out_cap, sizeof(*s->rs.out));
    }
    s->rs.out[(*k)++] = (struct nl_alloc_node){node, mask};
}

/* Lowest `take` bits of mask. */
static uint8_t low_bits(uint8_t mask, uint32_t take)
{
    uint8_t m = 0;
    for (uint32_t b = 0; b < 8 && take > 0; b++)
        if (mask & (1u << b)) {
            m |= (uint8_t)(1u << b);
            take--;
        }
    return m;
}

/*
 * Place j on r's nodes: a job that fits one node takes the best-fit node
 * (fewest free GPUs that suffice); a larger one takes wholly free nodes,
 * then (unless sensitive) the fullest partial ones. Reservations are a
 * few nodes: a scan, no index.
 */
static size_t place_in(struct nl_sched *s, const struct mresv *r, const struct job *j,
                       int64_t now_us, int64_t end)
{
    uint32_t G = s->site[r->site].gpus_per_node;
    uint8_t full = (uint8_t)((1u << G) - 1);
    bool whole = j->spec.sensitive;
    size_t k = 0;
    if (j->spec.gpus <= G) {
        uint32_t need = whole ? G : j->spec.gpus, best_c = G + 1, best = UINT32_MAX;
        uint8_t best_m = 0;
        for (size_t i = 0; i < r->n; i++) {
            uint8_t m = usable(s, r, r->nodes[i], j, now_us, end);
            uint32_t cnt = place_gpus_in(m);
            if (cnt >= need && cnt < best_c && (!whole || m == full)) {
                best_c = cnt;
                best = r->nodes[i];
                best_m = m;
            }
        }
        if (best != UINT32_MAX)
            out_push(s, &k, best, low_bits(best_m, need));
        return k;
    }
    uint32_t left = j->spec.gpus;
    for (int pass = 0; pass < 2 && left > 0; pass++) {
        for (size_t i = 0; i < r->n && left > 0; i++) {
            uint8_t m = usable(s, r, r->nodes[i], j, now_us, end);
            if (m == 0 || (pass == 0) != (m == full))
                continue;
            if (pass == 1 && whole)
                break;
            uint32_t take = place_gpus_in(m) < left ? place_gpus_in(m) : left;
            out_push(s, &k, r->nodes[i], whole ? full : low_bits(m, take));
            left -= take;
        }
    }
    return left == 0 ? k : 0;
}

size_t resv_find(struct nl_sched *s, const struct job *j, int64_t now_us,
                 const struct nl_alloc_node **a, uint32_t *site, size_t *which)
{
    if (s->rs.n == 0 || s->rs.room < j->spec.gpus)
        return 0;
    int64_t end = now_us + j->spec.time_limit_us;
    for (size_t i = 0; i < s->rs.n; i++) {
        struct mresv *r = &s->rs.r[i];
        if (r->room < j->spec.gpus || j->spec.gpus >= r->fail_min ||
            !(j->site_mask & (1u << r->site)) || !admits(r, j, now_us, end))
            continue;
        size_t k = place_in(s, r, j, now_us, end);
        if (k == 0) {
            if (!j->spec.sensitive)
                r->fail_min = j->spec.gpus; /* a larger job finds no room either */
            continue;
        }
        *a = s->rs.out;
        *site = r->site;
        *which = i;
        return k;
    }
    return 0;
}

void resv_taken(struct nl_sched *s, size_t which, uint64_t held)
{
    struct mresv *r = &s->rs.r[which];
    r->room = r->room > held ? r->room - held : 0;
    s->rs.room = s->rs.room > held ? s->rs.room - held : 0;
}

uint64_t resv_check(const struct nl_sched *s)
{
    uint64_t bad = 0;
    uint32_t nn = nl_facility_nodes(s->fac);
    uint32_t *count = xcalloc(nn ? nn : 1, sizeof(uint32_t));
    for (size_t i = 0; i < s->rs.n; i++) {
        const struct mresv *r = &s->rs.r[i];
        for (size_t k = 0; k < r->n; k++) {
            count[r->nodes[k]]++;
            bad += k > 0 && r->nodes[k] <= r->nodes[k - 1];
            bad += nl_facility_node_site(s->fac, r->nodes[k]) != r->site;
            for (size_t o = i + 1; o < s->rs.n; o++) {
                const struct mresv *x = &s->rs.r[o];
                bad += x->start_us < r->end_us && r->start_us < x->end_us &&
                       has_node(x, r->nodes[k]);
            }
        }
    }
    for (uint32_t n = 0; n < nn; n++) {
        bool flag = (place_node_flags(s->pl, n) & PLACE_F_RESV) != 0;
        bad += count[n] != s->rs.per_node[n] || flag != (count[n] > 0);
    }
    free(count);
    return bad;
}
