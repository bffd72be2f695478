/* SPDX-License-Identifier: MIT */
/*
 * sched_grow.c - a scheduler catching up with a facility that grew
 * (nl_facility_grow): expansion racks join while jobs run.
 *
 * Growth only ever adds racks after all existing ones (to the last site or
 * as new sites), so every index the scheduler holds (allocations, GPU
 * owners, running trees, reservations, rack lists) stays valid; this only
 * extends the per-node, per-rack, per-pod and per-GPU arrays and files the
 * new racks as free. Nothing is rebuilt: the cost is the new racks plus an
 * occasional geometric reallocation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "sched_int.h"

/* Extend a per-unit array from old to n elements of size (capacity *cap, grown geometrically). */
static void *extend(void *ptr, size_t old, size_t n, size_t *cap, size_t size)
{
    if (n > *cap) {
        size_t c = xgrow(*cap > old ? *cap : old, n);
        ptr = xreallocarray(ptr, c, size);
        *cap = c;
    }
    memset((char *)ptr + old * size, 0, (n - old) * size);
    return ptr;
}

int nl_sched_grow(struct nl_sched *s, struct nl_err *err)
{
    uint32_t old_sites = s->nsites;
    uint32_t old_nodes = s->grow_nodes;
    uint64_t old_gpus = s->gpus_total;
    uint32_t nodes = nl_facility_nodes(s->fac);
    if (nl_facility_nsites(s->fac) < old_sites || nodes < old_nodes ||
        nl_facility_gpus(s->fac) < old_gpus)
        return nl_err_set(err, -EINVAL, "facility: smaller than the scheduler's (it only grows)");
    const struct nl_facility_spec *fs = nl_facility_spec(s->fac);
    s->nsites = nl_facility_nsites(s->fac);
    s->gpus_total = nl_facility_gpus(s->fac);
    for (uint32_t i = 0; i < s->nsites; i++) {
        nl_facility_site(s->fac, i, &s->site[i]);
        s->all_sites |= 1u << i;
        if (s->site[i].gpus_per_node > s->maxG)
            s->maxG = s->site[i].gpus_per_node;
        if (s->site[i].gpus_per_rack > s->maxR)
            s->maxR = s->site[i].gpus_per_rack;
    }
    place_grow(s->pl, fs->rack_power_w, fs->gpu_busy_w, fs->gpu_idle_w);
    power_grow(&s->pw);
    s->gpu_owner = extend(s->gpu_owner, old_gpus, s->gpus_total, &s->grow_gpu_cap,
                          sizeof(uint32_t));
    size_t cap = s->grow_node_cap;
    s->unit_free = extend(s->unit_free, old_nodes, nodes, &cap, sizeof(uint16_t));
    cap = s->grow_node_cap;
    s->node_seen = extend(s->node_seen, old_nodes, nodes, &cap, 1);
    cap = s->grow_node_cap;
    s->unit_mark = extend(s->unit_mark, old_nodes, nodes, &cap, 1);
    cap = s->grow_node_cap;
    s->rs.per_node = extend(s->rs.per_node, old_nodes, nodes, &cap, 1);
    s->grow_node_cap = cap;
    s->grow_nodes = nodes;
    if (s->nsites > old_sites) {
        /* Per-site scratch sized by the site count: reservations, and estimates (resized lazily). */
        size_t nresv = (size_t)s->cfg.reservations * s->nsites + s->cfg.shaped_max;
        s->resv = xreallocarray(s->resv, nresv ? nresv : 1, sizeof(*s->resv));
        free(s->est_ev);
        s->est_ev = NULL;
        s->est_per_site = 0;
        /* A pending job may use a new site its residency allows. */
        for (size_t i = 0; i < s->jobs_used; i++)
            if (s->jobs[i].id != 0 && s->jobs[i].state == NL_JOB_PENDING)
                s->jobs[i].site_mask = sched_site_mask(s, &s->jobs[i].spec);
    }
    /* What failed or was walked before may fit now. */
    s->nfc = 0;
    s->memo.valid = false;
    s->walk_gen++;
    return 0;
}
