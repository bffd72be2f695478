/* SPDX-License-Identifier: MIT */
/*
 * place.c - free-GPU indexes and gang placement; see place.h for the
 * structure. Invariants, checked by place_check():
 *   - rack_free[r] = sum over up nodes of popcount(full & ~alloc);
 *   - rack_lvl[r][k] = number of nodes of r whose usable free count is k;
 *   - rack r is in rf list [site][rack_free[r]], in nk list [site][k] iff
 *     rack_lvl[r][k] > 0 (0 < k < G), and in full list
 *     [site][rack_free[r]] iff rack_lvl[r][G] > 0;
 *   - site free_nodes = sum over its racks of rack_lvl[r][G];
 *   - pod_free_racks[p] = racks of p with rack_free == gpus_per_rack, and
 *     p is in pod list [site][pod_free_racks[p]].
 */
#include "place.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "nordlys/facility.h"

#define NIL (-1)

/* Link slots per rack: 0 = by free count, 1..G-1 = has a node with k free, FULL = has a free node. */
#define SLOT_RF   0
#define SLOT_FULL (NL_GPUS_PER_NODE_MAX)
#define NSLOTS    (NL_GPUS_PER_NODE_MAX + 1)

struct link {
    int32_t prev, next;
};

struct site_ix {
    uint32_t G, npr, R, rpp;
    uint32_t first_rack, nracks, first_node, first_pod, npods;
    uint8_t full_mask;
    uint32_t rack_cap; /* most GPUs a rack may run within its power limit */
    int32_t *rf_head;   /* [R + 1] */
    int32_t *nk_head;   /* [G + 1] */
    int32_t *full_head; /* [R + 1] */
    int32_t *pod_head;  /* [rpp + 1] */
    uint64_t free;      /* usable free GPUs */
    uint64_t down_gpus;
    uint64_t closed_gpus; /* GPUs of nodes with any PLACE_F_* flag */
    uint64_t free_nodes; /* usable, wholly free nodes */
    uint32_t free_racks;
};

struct place {
    const struct nl_facility *fac;
    uint32_t nsites, nnodes, nracks, npods;
    size_t node_cap, rack_cap, pod_cap; /* allocated lengths of the per-node/rack/pod arrays */
    struct site_ix site[NL_SITES_MAX];
    uint32_t *rack_site;   /* rack -> site */
    uint8_t *node_alloc;   /* allocated-GPU mask */
    uint8_t *node_down;    /* PLACE_F_* flags: any of them makes the node's GPUs unusable */
    uint16_t *rack_free;
    uint16_t *rack_alloc;
    uint8_t *rack_lvl;     /* [nracks][NSLOTS]: nodes per free level 0..G */
    struct link *rlink;    /* [nracks][NSLOTS] */
    uint16_t *pod_free_racks;
    struct link *plink;
    uint32_t *rack_mark;   /* epoch marks for multi-rack searches */
    uint32_t epoch;
    uint32_t *hold_mark;   /* hold_epoch when held this pass */
    int64_t *hold_until;
    uint32_t hold_epoch;
    int64_t req_end;       /* end_us of the request being placed */
    struct nl_alloc_node *out;
    size_t out_cap;
    uint32_t *racks_pick;
    size_t racks_pick_cap;
};

#define B2(n) n, n + 1, n + 1, n + 2
#define B4(n) B2(n), B2(n + 1), B2(n + 1), B2(n + 2)
#define B6(n) B4(n), B4(n + 1), B4(n + 1), B4(n + 2)
const uint8_t place_popcount8[256] = {B6(0), B6(1), B6(1), B6(2)};

static inline uint32_t popc(uint8_t m)
{
    return place_popcount8[m];
}

/* --- intrusive bucket lists ------------------------------------------------ */

static void list_push(struct link *links, size_t stride, size_t slot, int32_t *head, int32_t e)
{
    struct link *l = &links[(size_t)e * stride + slot];
    l->prev = NIL;
    l->next = *head;
    if (*head != NIL)
        links[(size_t)*head * stride + slot].prev = e;
    *head = e;
}

static void list_del(struct link *links, size_t stride, size_t slot, int32_t *head, int32_t e)
{
    struct link *l = &links[(size_t)e * stride + slot];
    if (l->prev != NIL)
        links[(size_t)l->prev * stride + slot].next = l->next;
    else
        *head = l->next;
    if (l->next != NIL)
        links[(size_t)l->next * stride + slot].prev = l->prev;
}

static inline uint8_t *lvl(const struct place *p, uint32_t r)
{
    return &p->rack_lvl[(size_t)r * NSLOTS];
}

static inline uint32_t node_free_count(const struct place *p, const struct site_ix *s, uint32_t n)
{
    return p->node_down[n] ? 0 : popc(s->full_mask & (uint8_t)~p->node_alloc[n]);
}

static void rack_unfile(struct place *p, struct site_ix *s, uint32_t r)
{
    uint32_t lr = r - s->first_rack;
    (void)lr;
    list_del(p->rlink, NSLOTS, SLOT_RF, &s->rf_head[p->rack_free[r]], (int32_t)r);
    for (uint32_t k = 1; k < s->G; k++)
        if (lvl(p, r)[k] > 0)
            list_del(p->rlink, NSLOTS, k, &s->nk_head[k], (int32_t)r);
    if (lvl(p, r)[s->G] > 0)
        list_del(p->rlink, NSLOTS, SLOT_FULL, &s->full_head[p->rack_free[r]], (int32_t)r);
}

static void rack_file(struct place *p, struct site_ix *s, uint32_t r)
{
    list_push(p->rlink, NSLOTS, SLOT_RF, &s->rf_head[p->rack_free[r]], (int32_t)r);
    for (uint32_t k = 1; k < s->G; k++)
        if (lvl(p, r)[k] > 0)
            list_push(p->rlink, NSLOTS, k, &s->nk_head[k], (int32_t)r);
    if (lvl(p, r)[s->G] > 0)
        list_push(p->rlink, NSLOTS, SLOT_FULL, &s->full_head[p->rack_free[r]], (int32_t)r);
}

static void pod_refile(struct place *p, struct site_ix *s, uint32_t pod, int delta)
{
    list_del(p->plink, 1, 0, &s->pod_head[p->pod_free_racks[pod]], (int32_t)pod);
    p->pod_free_racks[pod] = (uint16_t)(p->pod_free_racks[pod] + delta);
    list_push(p->plink, 1, 0, &s->pod_head[p->pod_free_racks[pod]], (int32_t)pod);
}

static inline uint32_t rack_pod(const struct site_ix *s, uint32_t r)
{
    return s->first_pod + (r - s->first_rack) / s->rpp;
}

/* Change node n's allocated mask / down flag; keeps every index in step. */
static void node_update(struct place *p, uint32_t n, uint8_t new_alloc, uint8_t new_down)
{
    uint32_t r_local_site = 0;
    uint32_t site = nl_facility_node_site(p->fac, n);
    struct site_ix *s = &p->site[site];
    (void)r_local_site;
    uint32_t r = s->first_rack + (n - s->first_node) / s->npr;
    uint32_t old_lvl = node_free_count(p, s, n);
    bool was_full = p->rack_free[r] == s->R;
    rack_unfile(p, s, r);
    p->rack_alloc[r] = (uint16_t)(p->rack_alloc[r] - popc(p->node_alloc[n]) + popc(new_alloc));
    if ((p->node_down[n] ^ new_down) & PLACE_F_DOWN)
        s->down_gpus = (new_down & PLACE_F_DOWN) ? s->down_gpus + s->G : s->down_gpus - s->G;
    if ((p->node_down[n] != 0) != (new_down != 0))
        s->closed_gpus = new_down ? s->closed_gpus + s->G : s->closed_gpus - s->G;
    p->node_alloc[n] = new_alloc;
    p->node_down[n] = new_down;
    uint32_t new_lvl = node_free_count(p, s, n);
    lvl(p, r)[old_lvl]--;
    lvl(p, r)[new_lvl]++;
    p->rack_free[r] = (uint16_t)(p->rack_free[r] - old_lvl + new_lvl);
    s->free = s->free - old_lvl + new_lvl;
    s->free_nodes = s->free_nodes - (old_lvl == s->G) + (new_lvl == s->G);
    rack_file(p, s, r);
    bool is_full = p->rack_free[r] == s->R;
    if (was_full != is_full) {
        s->free_racks = is_full ? s->free_racks + 1 : s->free_racks - 1;
        pod_refile(p, s, rack_pod(s, r), is_full ? 1 : -1);
    }
}

/* --- life cycle -------------------------------------------------------------- */

static void site_init(struct place *p, uint32_t i, double rack_power_w, double busy_w,
                      double idle_w)
{
    struct nl_site_info si;
    nl_facility_site(p->fac, i, &si);
    struct site_ix *s = &p->site[i];
    s->G = si.gpus_per_node;
    s->npr = si.nodes_per_rack;
    s->R = si.gpus_per_rack;
    s->rpp = si.racks_per_pod;
    s->first_rack = si.first_rack;
    s->nracks = si.nracks;
    s->first_node = si.first_node;
    s->first_pod = si.first_pod;
    s->npods = si.npods;
    s->full_mask = (uint8_t)((1u << s->G) - 1);
    s->rack_cap = s->R;
    if (rack_power_w > 0 && busy_w > idle_w) {
        /* IT draw of a rack = R x idle + busy GPUs x (busy - idle) must stay within the limit. */
        double cap = (rack_power_w - s->R * idle_w) / (busy_w - idle_w);
        if (cap < s->R)
            s->rack_cap = cap < 0 ? 0 : (uint32_t)cap;
    }
    s->rf_head = xmalloc((s->R + 1) * sizeof(int32_t));
    s->full_head = xmalloc((s->R + 1) * sizeof(int32_t));
    s->nk_head = xmalloc((s->G + 1) * sizeof(int32_t));
    s->pod_head = xmalloc((s->rpp + 1) * sizeof(int32_t));
    for (uint32_t f = 0; f <= s->R; f++)
        s->rf_head[f] = s->full_head[f] = NIL;
    for (uint32_t k = 0; k <= s->G; k++)
        s->nk_head[k] = NIL;
    for (uint32_t c = 0; c <= s->rpp; c++)
        s->pod_head[c] = NIL;
    /* Every rack starts wholly free, filed in descending index order so list heads are lowest. */
    for (uint32_t r = s->first_rack + s->nracks; r-- > s->first_rack;) {
        p->rack_site[r] = i;
        p->rack_free[r] = (uint16_t)s->R;
        lvl(p, r)[s->G] = (uint8_t)s->npr;
        rack_file(p, s, r);
    }
    for (uint32_t pod = s->first_pod + s->npods; pod-- > s->first_pod;) {
        uint32_t racks = s->rpp;
        if (pod == s->first_pod + s->npods - 1 && s->nracks % s->rpp != 0)
            racks = s->nracks % s->rpp;
        p->pod_free_racks[pod] = (uint16_t)racks;
        list_push(p->plink, 1, 0, &s->pod_head[racks], (int32_t)pod);
    }
    s->free = si.ngpus;
    s->free_nodes = (uint64_t)s->nracks * s->npr;
    s->free_racks = s->nracks;
}

/* Grow a per-unit array from old to cap elements of size, zeroing the new ones. */
static void *grow_zero(void *ptr, size_t old, size_t cap, size_t size)
{
    ptr = xreallocarray(ptr, cap ? cap : 1, size);
    memset((char *)ptr + old * size, 0, (cap - old) * size);
    return ptr;
}

/*
 * Size the per-node, per-rack and per-pod arrays for p->nnodes, nracks and
 * npods. Capacities grow geometrically (xgrow), so a facility that grows
 * by many small steps copies each array O(log steps) times.
 */
static void arrays_fit(struct place *p)
{
    if (p->nnodes > p->node_cap || p->node_alloc == NULL) {
        size_t cap = p->node_alloc == NULL ? p->nnodes : xgrow(p->node_cap, p->nnodes);
        p->node_alloc = grow_zero(p->node_alloc, p->node_cap, cap, 1);
        p->node_down = grow_zero(p->node_down, p->node_cap, cap, 1);
        p->node_cap = cap;
    }
    if (p->nracks > p->rack_cap || p->rack_site == NULL) {
        size_t o = p->rack_cap;
        size_t cap = p->rack_site == NULL ? p->nracks : xgrow(o, p->nracks);
        p->rack_site = grow_zero(p->rack_site, o, cap, sizeof(uint32_t));
        p->rack_free = grow_zero(p->rack_free, o, cap, sizeof(uint16_t));
        p->rack_alloc = grow_zero(p->rack_alloc, o, cap, sizeof(uint16_t));
        p->rack_lvl = grow_zero(p->rack_lvl, o * NSLOTS, cap * NSLOTS, 1);
        p->rlink = grow_zero(p->rlink, o * NSLOTS, cap * NSLOTS, sizeof(struct link));
        p->rack_mark = grow_zero(p->rack_mark, o, cap, sizeof(uint32_t));
        p->hold_mark = grow_zero(p->hold_mark, o, cap, sizeof(uint32_t));
        p->hold_until = grow_zero(p->hold_until, o, cap, sizeof(int64_t));
        p->rack_cap = cap;
    }
    if (p->npods > p->pod_cap || p->pod_free_racks == NULL) {
        size_t cap = p->pod_free_racks == NULL ? p->npods : xgrow(p->pod_cap, p->npods);
        p->pod_free_racks = grow_zero(p->pod_free_racks, p->pod_cap, cap, sizeof(uint16_t));
        p->plink = grow_zero(p->plink, p->pod_cap, cap, sizeof(struct link));
        p->pod_cap = cap;
    }
}

/*
 * The last site gained racks after its old end: file them wholly free. Its
 * last pod, if partial, takes the first of them; the rest make new pods.
 */
static void site_extend(struct place *p, uint32_t i)
{
    struct nl_site_info si;
    nl_facility_site(p->fac, i, &si);
    struct site_ix *s = &p->site[i];
    uint32_t old_racks = s->nracks, old_pods = s->npods;
    if (si.nracks == old_racks)
        return;
    s->nracks = si.nracks;
    s->npods = si.npods;
    for (uint32_t pod = s->first_pod + old_pods; pod < s->first_pod + s->npods; pod++) {
        p->pod_free_racks[pod] = 0;
        list_push(p->plink, 1, 0, &s->pod_head[0], (int32_t)pod);
    }
    for (uint32_t r = s->first_rack + s->nracks; r-- > s->first_rack + old_racks;) {
        p->rack_site[r] = i;
        p->rack_free[r] = (uint16_t)s->R;
        lvl(p, r)[s->G] = (uint8_t)s->npr;
        rack_file(p, s, r);
        pod_refile(p, s, rack_pod(s, r), 1);
    }
    uint32_t added = s->nracks - old_racks;
    s->free += (uint64_t)added * s->R;
    s->free_nodes += (uint64_t)added * s->npr;
    s->free_racks += added;
}

void place_grow(struct place *p, double rack_power_w, double busy_w, double idle_w)
{
    uint32_t old_sites = p->nsites;
    p->nsites = nl_facility_nsites(p->fac);
    p->nnodes = nl_facility_nodes(p->fac);
    p->nracks = nl_facility_racks(p->fac);
    p->npods = nl_facility_pods(p->fac);
    arrays_fit(p);
    if (old_sites > 0)
        site_extend(p, old_sites - 1);
    for (uint32_t i = old_sites; i < p->nsites; i++)
        site_init(p, i, rack_power_w, busy_w, idle_w);
}

struct place *place_create(const struct nl_facility *fac, double rack_power_w, double busy_w,
                           double idle_w)
{
    struct place *p = xcalloc(1, sizeof(*p));
    p->fac = fac;
    p->nsites = nl_facility_nsites(fac);
    p->nnodes = nl_facility_nodes(fac);
    p->nracks = nl_facility_racks(fac);
    p->npods = nl_facility_pods(fac);
    arrays_fit(p);
    p->hold_epoch = 1;
    for (uint32_t i = 0; i < p->nsites; i++)
        site_init(p, i, rack_power_w, busy_w, idle_w);
    return p;
}

void place_destroy(struct place *p)
{
    if (p == NULL)
        return;
    for (uint32_t i = 0; i < p->nsites; i++) {
        free(p->site[i].rf_head);
        free(p->site[i].full_head);
        free(p->site[i].nk_head);
        free(p->site[i].pod_head);
    }
    free(p->node_alloc);
    free(p->node_down);
    free(p->rack_site);
    free(p->rack_free);
    free(p->rack_alloc);
    free(p->rack_lvl);
    free(p->rlink);
    free(p->rack_mark);
    free(p->hold_mark);
    free(p->hold_until);
    free(p->pod_free_racks);
    free(p->plink);
    free(p->out);
    free(p->racks_pick);
    free(p);
}

/* --- finding ------------------------------------------------------------------ */

static void out_reserve(struct place *p, size_t n)
{
    if (n > p->out_cap) {
        p->out_cap = xgrow(p->out_cap, n);
        p->out = xreallocarray(p->out, p->out_cap, sizeof(*p->out));
    }
}

static inline bool rack_ok(const struct place *p, const struct site_ix *s, uint32_t r, uint32_t k)
{
    if (p->hold_mark[r] == p->hold_epoch && p->req_end > p->hold_until[r])
        return false; /* draining for a reservation that this job would outlast */
    return p->rack_alloc[r] + k <= s->rack_cap;
}

/* Lowest `take` free GPUs of node n as a mask. */
static uint8_t pick_bits(const struct place *p, const struct site_ix *s, uint32_t n, uint32_t take)
{
    uint8_t free_m = s->full_mask & (uint8_t)~p->node_alloc[n];
    uint8_t m = 0;
    for (uint32_t b = 0; b < s->G && take > 0; b++) {
        if (free_m & (1u << b)) {
            m |= (uint8_t)(1u << b);
            take--;
        }
    }
    return m;
}

/* First node of rack r whose usable free count is exactly k. */
static uint32_t rack_node_at_level(const struct place *p, const struct site_ix *s, uint32_t r,
                                   uint32_t k)
{
    uint32_t n0 = s->first_node + (r - s->first_rack) * s->npr;
    for (uint32_t n = n0; n < n0 + s->npr; n++)
        if (node_free_count(p, s, n) == k)
            return n;
    return UINT32_MAX; /* unreachable while the indexes are consistent */
}

/*
 * A job that fits in one node: best fit, the node with the fewest free GPUs
 * that still suffice; a wholly free node comes from the fullest rack that
 * has one, so that free racks stay whole for gang jobs. Returns the level
 * found (G + 1 when none) and the rack in *rack.
 */
static uint32_t small_candidate(const struct place *p, const struct site_ix *s, uint32_t g,
                                bool whole, uint32_t *rack, uint32_t *rank)
{
    if (!whole) {
        for (uint32_t k = g; k < s->G; k++) {
            for (int32_t r = s->nk_head[k]; r != NIL; r = p->rlink[(size_t)r * NSLOTS + k].next) {
                if (rack_ok(p, s, (uint32_t)r, g)) {
                    *rack = (uint32_t)r;
                    *rank = k;
                    return k;
                }
            }
        }
    }
    uint32_t need = whole ? s->G : g;
    for (uint32_t f = s->G; f <= s->R; f++) {
        for (int32_t r = s->full_head[f]; r != NIL;
             r = p->rlink[(size_t)r * NSLOTS + SLOT_FULL].next) {
            if (rack_ok(p, s, (uint32_t)r, need)) {
                *rack = (uint32_t)r;
                *rank = s->G + f; /* any partial node beats a whole one; fuller racks first */
                return s->G;
            }
        }
    }
    return s->G + 1;
}

static size_t find_small(struct place *p, const struct place_req *req, uint32_t *site_out)
{
    uint32_t best_rank = UINT32_MAX, best_rack = 0, best_lvl = 0, best_site = 0;
    for (uint32_t i = 0; i < p->nsites; i++) {
        const struct site_ix *s = &p->site[i];
        if (!(req->site_mask & (1u << i)) || req->gpus > s->G || s->free < req->gpus)
            continue;
        uint32_t rack = 0, rank = UINT32_MAX;
        uint32_t k = small_candidate(p, s, req->gpus, req->sensitive, &rack, &rank);
        if (k <= s->G && rank < best_rank) {
            best_rank = rank;
            best_rack = rack;
            best_lvl = k;
            best_site = i;
        }
    }
    if (best_rank == UINT32_MAX)
        return 0;
    const struct site_ix *s = &p->site[best_site];
    uint32_t n = rack_node_at_level(p, s, best_rack, best_lvl);
    out_reserve(p, 1);
    p->out[0].node = n;
    p->out[0].mask = pick_bits(p, s, n, req->sensitive ? s->G : req->gpus);
    *site_out = best_site;
    return 1;
}

/*
 * Take `need` GPUs from rack r, fullest-free nodes first (fewest nodes);
 * whole nodes only when `whole`. Appends to p->out at *k. Returns GPUs taken.
 */
static uint32_t take_from_rack(struct place *p, const struct site_ix *s, uint32_t r,
                               uint32_t need, bool whole, size_t *k)
{
    uint32_t n0 = s->first_node + (r - s->first_rack) * s->npr;
    uint32_t got = 0;
    for (uint32_t level = s->G; level >= 1 && got < need; level--) {
        if (lvl(p, r)[level] == 0)
            continue;
        if (whole && level < s->G)
            break;
        for (uint32_t n = n0; n < n0 + s->npr && got < need; n++) {
            if (node_free_count(p, s, n) != level)
                continue;
            uint32_t take = need - got < level ? need - got : level;
            if (whole)
                take = s->G;
            p->out[*k].node = n;
            p->out[*k].mask = pick_bits(p, s, n, take);
            (*k)++;
            got += take;
        }
    }
    return got;
}

/* Whole nodes a rack offers (usable, wholly free). */
static inline uint32_t rack_free_nodes(const struct place *p, const struct site_ix *s, uint32_t r)
{
    return lvl(p, r)[s->G];
}

/* Best-fit rack in site s for `need` GPUs (whole nodes: `nodes`), skipping marked racks. */
static int32_t best_rack(struct place *p, const struct site_ix *s, uint32_t need, bool whole,
                         uint32_t from_f)
{
    uint32_t nodes = whole ? (need + s->G - 1) / s->G : 0;
    for (uint32_t f = from_f; f <= s->R; f++) {
        for (int32_t r = s->rf_head[f]; r != NIL; r = p->rlink[(size_t)r * NSLOTS + SLOT_RF].next) {
            if (p->rack_mark[r] == p->epoch || !rack_ok(p, s, (uint32_t)r, need))
                continue;
            if (whole && rack_free_nodes(p, s, (uint32_t)r) < nodes)
                continue;
            return r;
        }
    }
    return NIL;
}

static size_t find_rack(struct place *p, const struct place_req *req, uint32_t *site_out)
{
    int32_t best = NIL;
    uint32_t best_f = UINT32_MAX, best_site = 0;
    p->epoch++;
    for (uint32_t i = 0; i < p->nsites; i++) {
        const struct site_ix *s = &p->site[i];
        if (!(req->site_mask & (1u << i)) || req->gpus > s->R || s->free < req->gpus)
            continue;
        int32_t r = best_rack(p, s, req->gpus, req->sensitive, req->gpus);
        if (r != NIL && p->rack_free[r] < best_f) {
            best = r;
            best_f = p->rack_free[r];
            best_site = i;
        }
    }
    if (best == NIL)
        return 0;
    const struct site_ix *s = &p->site[best_site];
    out_reserve(p, s->npr);
    size_t k = 0;
    take_from_rack(p, s, (uint32_t)best, req->gpus, req->sensitive, &k);
    *site_out = best_site;
    return k;
}

/* Wholly free racks of pod, marked and appended to racks_pick, up to want. */
static uint32_t pick_pod_racks(struct place *p, const struct site_ix *s, uint32_t pod,
                               uint32_t want, size_t *npick)
{
    uint32_t r0 = s->first_rack + (pod - s->first_pod) * s->rpp;
    uint32_t r1 = r0 + s->rpp;
    if (r1 > s->first_rack + s->nracks)
        r1 = s->first_rack + s->nracks;
    uint32_t got = 0;
    for (uint32_t r = r0; r < r1 && got < want; r++) {
        if (p->rack_free[r] == s->R && p->rack_mark[r] != p->epoch && rack_ok(p, s, r, s->R)) {
            p->rack_mark[r] = p->epoch;
            p->racks_pick[(*npick)++] = r;
            got++;
        }
    }
    return got;
}

/* Best-fit rack for a remainder inside one pod (unmarked), or NIL. */
static int32_t pod_rem_rack(struct place *p, const struct site_ix *s, uint32_t pod, uint32_t rem,
                            bool whole)
{
    uint32_t r0 = s->first_rack + (pod - s->first_pod) * s->rpp;
    uint32_t r1 = r0 + s->rpp;
    if (r1 > s->first_rack + s->nracks)
        r1 = s->first_rack + s->nracks;
    int32_t best = NIL;
    for (uint32_t r = r0; r < r1; r++) {
        if (p->rack_mark[r] == p->epoch || p->rack_free[r] < rem || !rack_ok(p, s, r, rem))
            continue;
        if (whole && rack_free_nodes(p, s, r) < (rem + s->G - 1) / s->G)
            continue;
        if (best == NIL || p->rack_free[r] < p->rack_free[best])
            best = (int32_t)r;
    }
    return best;
}

/*
 * Jobs larger than a rack: nfull wholly free racks plus, for the remainder,
 * a best-fit rack; all in one pod when one pod can hold it (best fit by the
 * pod's number of free racks), else in as few pods as possible.
 */
static bool large_in_site(struct place *p, const struct site_ix *s, const struct place_req *req,
                          size_t *npick, int32_t *rem_rack)
{
    uint32_t nfull = req->gpus / s->R, rem = req->gpus % s->R;
    if (s->free_racks < nfull || s->free < req->gpus)
        return false;
    /* One pod. */
    for (uint32_t c = nfull; c <= s->rpp; c++) {
        for (int32_t pod = s->pod_head[c]; pod != NIL; pod = p->plink[pod].next) {
            p->epoch++;
            *npick = 0;
            if (pick_pod_racks(p, s, (uint32_t)pod, nfull, npick) < nfull)
                continue; /* some of its free racks are held for a reservation */
            *rem_rack = rem ? pod_rem_rack(p, s, (uint32_t)pod, rem, req->sensitive) : NIL;
            if (rem == 0 || *rem_rack != NIL)
                return true;
        }
    }
    /* Several pods: the pods with the most free racks first. */
    p->epoch++;
    *npick = 0;
    uint32_t got = 0;
    for (uint32_t c = s->rpp; c >= 1 && got < nfull; c--)
        for (int32_t pod = s->pod_head[c]; pod != NIL && got < nfull; pod = p->plink[pod].next)
            got += pick_pod_racks(p, s, (uint32_t)pod, nfull - got, npick);
    if (got < nfull)
        return false;
    *rem_rack = NIL;
    if (rem == 0)
        return true;
    *rem_rack = best_rack(p, s, rem, req->sensitive, rem);
    return *rem_rack != NIL;
}

static size_t find_large(struct place *p, const struct place_req *req, uint32_t *site_out)
{
    for (uint32_t i = 0; i < p->nsites; i++) {
        const struct site_ix *s = &p->site[i];
        if (!(req->site_mask & (1u << i)))
            continue;
        size_t need_racks = req->gpus / s->R + 1;
        if (need_racks > p->racks_pick_cap) {
            p->racks_pick_cap = xgrow(p->racks_pick_cap, need_racks);
            p->racks_pick = xreallocarray(p->racks_pick, p->racks_pick_cap, sizeof(uint32_t));
        }
        size_t npick = 0;
        int32_t rem_rack = NIL;
        if (!large_in_site(p, s, req, &npick, &rem_rack))
            continue;
        out_reserve(p, (npick + 1) * s->npr);
        size_t k = 0;
        for (size_t j = 0; j < npick; j++)
            take_from_rack(p, s, p->racks_pick[j], s->R, false, &k);
        if (rem_rack != NIL)
            take_from_rack(p, s, (uint32_t)rem_rack, req->gpus % s->R, req->sensitive, &k);
        *site_out = i;
        return k;
    }
    return 0;
}

/*
 * The baselines' placement: a job that fits one node takes the best-fit
 * node (as Slurm's cons_tres would); a larger one takes free GPUs rack by
 * rack, the racks with most free first, with no regard for NVLink domains
 * or pods.
 */
static size_t find_blind(struct place *p, const struct place_req *req, uint32_t *site_out)
{
    for (uint32_t i = 0; i < p->nsites; i++) {
        const struct site_ix *s = &p->site[i];
        if (!(req->site_mask & (1u << i)) || s->free < req->gpus)
            continue;
        out_reserve(p, req->gpus);
        size_t k = 0;
        uint32_t got = 0;
        for (uint32_t f = s->R; f >= 1 && got < req->gpus; f--) {
            for (int32_t r = s->rf_head[f]; r != NIL && got < req->gpus;
                 r = p->rlink[(size_t)r * NSLOTS + SLOT_RF].next) {
                uint32_t room = s->rack_cap > p->rack_alloc[r] ? s->rack_cap - p->rack_alloc[r] : 0;
                uint32_t want = req->gpus - got < room ? req->gpus - got : room;
                if (want == 0 || (req->sensitive && rack_free_nodes(p, s, (uint32_t)r) == 0))
                    continue;
                got += take_from_rack(p, s, (uint32_t)r, want, req->sensitive, &k);
            }
        }
        if (got >= req->gpus) {
            *site_out = i;
            return k;
        }
    }
    return 0;
}

/* --- shaped jobs: exactly N nodes of g GPUs ----------------------------------- */

/*
 * Nodes of rack r a shaped request can use now: those with at least lo
 * free GPUs (g, or G when it takes whole nodes), as many as the rack's
 * power cap lets take GPUs each start, none when the rack is held for a
 * reservation this job would outlast.
 */
static uint32_t shaped_room(const struct place *p, const struct site_ix *s, uint32_t r, uint32_t lo,
                            uint32_t take)
{
    if (p->hold_mark[r] == p->hold_epoch && p->req_end > p->hold_until[r])
        return 0;
    uint32_t fit = 0;
    for (uint32_t k = lo; k <= s->G; k++)
        fit += lvl(p, r)[k];
    uint32_t cap = s->rack_cap > p->rack_alloc[r] ? (s->rack_cap - p->rack_alloc[r]) / take : 0;
    return fit < cap ? fit : cap;
}

/*
 * Append up to want nodes of rack r with at least lo free GPUs, taking
 * `take` GPUs of each: the nodes with the fewest free GPUs first (best
 * fit, as for small jobs). Returns how many it took.
 */
static uint32_t take_shaped(struct place *p, const struct site_ix *s, uint32_t r, uint32_t want,
                            uint32_t lo, uint32_t take, size_t *k)
{
    uint32_t n0 = s->first_node + (r - s->first_rack) * s->npr;
    uint32_t got = 0;
    size_t k0 = *k;
    for (uint32_t level = lo; level <= s->G && got < want; level++) {
        if (lvl(p, r)[level] == 0)
            continue;
        for (uint32_t n = n0; n < n0 + s->npr && got < want; n++) {
            if (node_free_count(p, s, n) != level)
                continue;
            p->out[*k].node = n;
            p->out[*k].mask = pick_bits(p, s, n, take);
            (*k)++;
            got++;
        }
    }
    /*
     * In node order (at most a rack's nodes: insertion sort), so that a
     * shaped allocation, taken rack after rack, is sorted: ranks follow the
     * nodes, and place_shape_ok sees distinct nodes in one pass.
     */
    for (size_t i = k0 + 1; i < *k; i++)
        for (size_t x = i; x > k0 && p->out[x - 1].node > p->out[x].node; x--) {
            struct nl_alloc_node t = p->out[x];
            p->out[x] = p->out[x - 1];
            p->out[x - 1] = t;
        }
    return got;
}

/* Take req->nodes nodes from racks [r0, r1) of site s, in rack order. */
static size_t take_shaped_span(struct place *p, const struct site_ix *s,
                               const struct place_req *req, uint32_t r0, uint32_t r1)
{
    uint32_t lo = req->sensitive ? s->G : req->gpn, take = lo;
    size_t k = 0;
    uint32_t got = 0;
    for (uint32_t r = r0; r < r1 && got < req->nodes; r++) {
        uint32_t room = shaped_room(p, s, r, lo, take);
        if (room > 0)
            got += take_shaped(p, s, r, room < req->nodes - got ? room : req->nodes - got, lo, take,
                               &k);
    }
    return k;
}

/*
 * Cheap upper bounds before any walk: the site's nodes with lo free GPUs
 * number at most free / lo, and at most its wholly free nodes when lo is
 * a whole node. A full facility answers most shaped jobs here, in O(1).
 */
static bool shaped_possible(const struct site_ix *s, const struct place_req *req, uint32_t lo)
{
    if (req->gpn > s->G || s->free < req->gpus || s->free / lo < req->nodes)
        return false;
    return lo < s->G || s->free_nodes >= req->nodes;
}

/*
 * A shaped job: exactly req->nodes nodes with req->gpn GPUs each (whole
 * nodes when sensitive), in one site, kept close: one rack when one can
 * hold it (best fit: the rack with the fewest free GPUs that can), else
 * one pod (the pod with the fewest usable nodes that suffice). Only
 * without topology (the baselines, or a job past its topology wait) does
 * it take usable nodes anywhere in a site. The rack search reads the
 * by-free-count lists; the pod search walks the site's racks, which only
 * shaped multi-rack jobs pay for.
 */
static size_t find_shaped(struct place *p, const struct place_req *req, uint32_t *site_out)
{
    int32_t best = NIL;
    uint32_t best_f = UINT32_MAX, best_site = 0;
    for (uint32_t i = 0; i < p->nsites; i++) {
        const struct site_ix *s = &p->site[i];
        uint32_t lo = req->sensitive ? s->G : req->gpn;
        if (!(req->site_mask & (1u << i)) || !shaped_possible(s, req, lo))
            continue;
        int32_t here = NIL;
        for (uint32_t f = req->nodes * lo; f <= s->R && here == NIL; f++)
            for (int32_t r = s->rf_head[f]; r != NIL && here == NIL;
                 r = p->rlink[(size_t)r * NSLOTS + SLOT_RF].next)
                if (shaped_room(p, s, (uint32_t)r, lo, lo) >= req->nodes)
                    here = r;
        if (here != NIL && p->rack_free[here] < best_f) {
            best = here;
            best_f = p->rack_free[here];
            best_site = i;
        }
    }
    out_reserve(p, req->nodes);
    if (best != NIL) {
        const struct site_ix *s = &p->site[best_site];
        uint32_t lo = req->sensitive ? s->G : req->gpn;
        size_t k = 0;
        take_shaped(p, s, (uint32_t)best, req->nodes, lo, lo, &k);
        *site_out = best_site;
        return k;
    }
    for (uint32_t i = 0; i < p->nsites; i++) {
        const struct site_ix *s = &p->site[i];
        uint32_t lo = req->sensitive ? s->G : req->gpn;
        if (!(req->site_mask & (1u << i)) || !shaped_possible(s, req, lo))
            continue;
        uint32_t end = s->first_rack + s->nracks;
        if (!req->topology) {
            uint64_t room = 0;
            for (uint32_t r = s->first_rack; r < end && room < req->nodes; r++)
                room += shaped_room(p, s, r, lo, lo);
            if (room < req->nodes)
                continue;
            *site_out = i;
            return take_shaped_span(p, s, req, s->first_rack, end);
        }
        uint32_t best_pod = UINT32_MAX;
        uint64_t best_room = UINT64_MAX;
        for (uint32_t pod = 0; pod < s->npods; pod++) {
            uint32_t r0 = s->first_rack + pod * s->rpp;
            uint32_t r1 = r0 + s->rpp < end ? r0 + s->rpp : end;
            uint64_t room = 0;
            for (uint32_t r = r0; r < r1; r++)
                room += shaped_room(p, s, r, lo, lo);
            if (room >= req->nodes && room < best_room) {
                best_room = room;
                best_pod = pod;
            }
        }
        if (best_pod != UINT32_MAX) {
            uint32_t r0 = s->first_rack + best_pod * s->rpp;
            *site_out = i;
            return take_shaped_span(p, s, req, r0, r0 + s->rpp < end ? r0 + s->rpp : end);
        }
    }
    return 0;
}

void place_hold_clear(struct place *p)
{
    p->hold_epoch++;
}

void place_hold_racks(struct place *p, uint32_t site, uint32_t racks, int64_t until_us)
{
    const struct site_ix *s = &p->site[site];
    uint32_t got = 0;
    for (uint32_t f = s->R + 1; f-- > 0 && got < racks;) {
        for (int32_t r = s->rf_head[f]; r != NIL && got < racks;
             r = p->rlink[(size_t)r * NSLOTS + SLOT_RF].next) {
            if (p->hold_mark[r] == p->hold_epoch)
                continue;
            p->hold_mark[r] = p->hold_epoch;
            p->hold_until[r] = until_us;
            got++;
        }
    }
}

size_t place_find(struct place *p, const struct place_req *req, const struct nl_alloc_node **out,
                  uint32_t *site, enum nl_reason *why)
{
    size_t n = 0;
    p->req_end = req->end_us;
    uint32_t maxG = 0, maxR = 0;
    uint64_t free = 0;
    for (uint32_t i = 0; i < p->nsites; i++) {
        if (!(req->site_mask & (1u << i)))
            continue;
        free += p->site[i].free;
        if (p->site[i].G > maxG)
            maxG = p->site[i].G;
        if (p->site[i].R > maxR)
            maxR = p->site[i].R;
    }
    /*
     * A job that fits one node stays on one node under every policy (one
     * process, no cross-node launch); only larger jobs differ by policy.
     */
    if (free >= req->gpus && req->gpus > 0) {
        if (req->nodes > 0)
            n = find_shaped(p, req, site);
        else if (req->gpus <= maxG)
            n = find_small(p, req, site);
        else if (!req->topology)
            n = find_blind(p, req, site);
        else if (req->gpus <= maxR)
            n = find_rack(p, req, site);
        else
            n = find_large(p, req, site);
    }
    if (n == 0)
        *why = free >= req->gpus ? NL_REASON_TOPOLOGY : NL_REASON_RESOURCES;
    *out = p->out;
    return n;
}

uint32_t place_gpus_held(const struct place *p, uint32_t site, const struct nl_job_spec *spec)
{
    uint32_t G = p->site[site].G;
    if (!spec->sensitive)
        return spec->gpus;
    return nl_job_shaped(spec) ? spec->nodes * G : (spec->gpus + G - 1) / G * G;
}

bool place_shape_ok(const struct place *p, const struct nl_job_spec *spec,
                    const struct nl_alloc_node *a, size_t n)
{
    if (!nl_job_shaped(spec))
        return true;
    if (n != spec->nodes)
        return false;
    /* Placement hands out nodes in ascending order: then they are distinct at a glance. */
    bool ascending = true;
    for (size_t i = 1; i < n && ascending; i++)
        ascending = a[i - 1].node < a[i].node;
    for (size_t i = 0; i < n; i++) {
        if (a[i].node >= p->nnodes)
            return false;
        uint32_t G = p->site[nl_facility_node_site(p->fac, a[i].node)].G;
        if (popc(a[i].mask) != (spec->sensitive ? G : spec->gpus_per_node))
            return false;
        /* Otherwise (an allocation adopted from elsewhere) by comparing each pair. */
        for (size_t k = 0; !ascending && k < i; k++)
            if (a[k].node == a[i].node)
                return false;
    }
    return true;
}

/* --- changing ------------------------------------------------------------------ */

bool place_can_take(const struct place *p, const struct nl_alloc_node *a, size_t n)
{
    if (n == 0)
        return false;
    uint32_t site0 = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        if (a[i].node >= p->nnodes || a[i].mask == 0)
            return false;
        uint32_t site = nl_facility_node_site(p->fac, a[i].node);
        if (site0 == UINT32_MAX)
            site0 = site;
        const struct site_ix *s = &p->site[site];
        if (site != site0 || (a[i].mask & ~s->full_mask) || (p->node_alloc[a[i].node] & a[i].mask))
            return false;
    }
    return true;
}

uint64_t place_take(struct place *p, const struct nl_alloc_node *a, size_t n)
{
    uint64_t clash = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t node = a[i].node;
        clash += popc(p->node_alloc[node] & a[i].mask);
        node_update(p, node, p->node_alloc[node] | a[i].mask, p->node_down[node]);
    }
    return clash;
}

uint64_t place_release(struct place *p, const struct nl_alloc_node *a, size_t n)
{
    uint64_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t node = a[i].node;
        missing += popc((uint8_t)(a[i].mask & ~p->node_alloc[node]));
        node_update(p, node, p->node_alloc[node] & (uint8_t)~a[i].mask, p->node_down[node]);
    }
    return missing;
}

void place_set_flag(struct place *p, uint32_t node, uint8_t flag, bool on)
{
    uint8_t f = on ? (uint8_t)(p->node_down[node] | flag) : (uint8_t)(p->node_down[node] & ~flag);
    if (f != p->node_down[node])
        node_update(p, node, p->node_alloc[node], f);
}

void place_set_down(struct place *p, uint32_t node, bool down)
{
    place_set_flag(p, node, PLACE_F_DOWN, down);
}

bool place_node_down(const struct place *p, uint32_t node)
{
    return (p->node_down[node] & PLACE_F_DOWN) != 0;
}

uint8_t place_node_flags(const struct place *p, uint32_t node)
{
    return p->node_down[node];
}

uint8_t place_node_free_except(const struct place *p, uint32_t node, uint8_t ignore)
{
    const struct site_ix *s = &p->site[nl_facility_node_site(p->fac, node)];
    return (p->node_down[node] & ~ignore) ? 0 : (uint8_t)(s->full_mask & ~p->node_alloc[node]);
}

uint32_t place_node_gpus(const struct place *p, uint32_t node)
{
    return p->site[nl_facility_node_site(p->fac, node)].G;
}

uint8_t place_node_alloc(const struct place *p, uint32_t node)
{
    return p->node_alloc[node];
}

uint8_t place_node_free(const struct place *p, uint32_t node)
{
    const struct site_ix *s = &p->site[nl_facility_node_site(p->fac, node)];
    return p->node_down[node] ? 0 : (uint8_t)(s->full_mask & ~p->node_alloc[node]);
}

uint64_t place_site_free(const struct place *p, uint32_t site)
{
    return p->site[site].free;
}

uint64_t place_site_down_gpus(const struct place *p, uint32_t site)
{
    return p->site[site].down_gpus;
}

uint64_t place_site_closed_gpus(const struct place *p, uint32_t site)
{
    return p->site[site].closed_gpus;
}

uint32_t place_site_free_racks(const struct place *p, uint32_t site)
{
    return p->site[site].free_racks;
}

uint32_t place_rack_free(const struct place *p, uint32_t rack)
{
    return p->rack_free[rack];
}

uint32_t place_rack_free_nodes(const struct place *p, uint32_t rack)
{
    return rack_free_nodes(p, &p->site[p->rack_site[rack]], rack);
}

uint64_t place_site_free_nodes(const struct place *p, uint32_t site)
{
    return p->site[site].free_nodes;
}

uint32_t place_rack_alloc(const struct place *p, uint32_t rack)
{
    return p->rack_alloc[rack];
}

/* --- checking ------------------------------------------------------------------ */

static bool list_has(const struct link *links, size_t stride, size_t slot, int32_t head, int32_t e)
{
    for (int32_t x = head; x != NIL; x = links[(size_t)x * stride + slot].next)
        if (x == e)
            return true;
    return false;
}

static bool check_rack(const struct place *p, const struct site_ix *s, uint32_t r)
{
    uint32_t n0 = s->first_node + (r - s->first_rack) * s->npr;
    uint32_t free = 0, alloc = 0;
    uint8_t levels[NSLOTS] = {0};
    for (uint32_t n = n0; n < n0 + s->npr; n++) {
        uint32_t f = node_free_count(p, s, n);
        free += f;
        alloc += popc(p->node_alloc[n]);
        levels[f]++;
    }
    if (free != p->rack_free[r] || alloc != p->rack_alloc[r])
        return false;
    if (memcmp(levels, lvl(p, r), s->G + 1) != 0)
        return false;
    if (!list_has(p->rlink, NSLOTS, SLOT_RF, s->rf_head[free], (int32_t)r))
        return false;
    for (uint32_t k = 1; k < s->G; k++)
        if ((levels[k] > 0) != list_has(p->rlink, NSLOTS, k, s->nk_head[k], (int32_t)r))
            return false;
    return (levels[s->G] > 0) ==
           list_has(p->rlink, NSLOTS, SLOT_FULL, s->full_head[free], (int32_t)r);
}

bool place_check(const struct place *p)
{
    for (uint32_t i = 0; i < p->nsites; i++) {
        const struct site_ix *s = &p->site[i];
        uint64_t free = 0;
        uint64_t free_nodes = 0;
        uint32_t free_racks = 0;
        for (uint32_t r = s->first_rack; r < s->first_rack + s->nracks; r++) {
            if (!check_rack(p, s, r))
                return false;
            free += p->rack_free[r];
            free_nodes += rack_free_nodes(p, s, r);
            free_racks += p->rack_free[r] == s->R;
        }
        if (free != s->free || free_nodes != s->free_nodes || free_racks != s->free_racks)
            return false;
        uint64_t closed = 0, down = 0;
        for (uint32_t n = s->first_node; n < s->first_node + s->nracks * s->npr; n++) {
            closed += p->node_down[n] ? s->G : 0;
            down += (p->node_down[n] & PLACE_F_DOWN) ? s->G : 0;
        }
        if (closed != s->closed_gpus || down != s->down_gpus)
            return false;
        for (uint32_t pod = s->first_pod; pod < s->first_pod + s->npods; pod++) {
            uint32_t r0 = s->first_rack + (pod - s->first_pod) * s->rpp;
            uint32_t c = 0;
            for (uint32_t r = r0; r < r0 + s->rpp && r < s->first_rack + s->nracks; r++)
                c += p->rack_free[r] == s->R;
            if (c != p->pod_free_racks[pod] ||
                !list_has(p->plink, 1, 0, s->pod_head[c], (int32_t)pod))
                return false;
        }
    }
    return true;
}

size_t place_memory_bytes(const struct place *p)
{
    size_t b = sizeof(*p);
    b += (size_t)p->nnodes * 2;
    b += (size_t)p->nracks * (sizeof(uint32_t) * 3 + sizeof(int64_t) + sizeof(uint16_t) * 2 +
                              NSLOTS + NSLOTS * sizeof(struct link));
    b += (size_t)p->npods * (sizeof(uint16_t) + sizeof(struct link));
    for (uint32_t i = 0; i < p->nsites; i++)
        b += (2 * (p->site[i].R + 1) + p->site[i].G + 1 + p->site[i].rpp + 1) * sizeof(int32_t);
    b += p->out_cap * sizeof(*p->out) + p->racks_pick_cap * sizeof(uint32_t);
    return b;
}
