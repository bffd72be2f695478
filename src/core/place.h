/* SPDX-License-Identifier: MIT */
/*
 * place.h - free-GPU state of the facility and gang placement over it
 * (internal to libnordlys).
 *
 * State per node is two bytes (allocated-GPU mask, PLACE_F_* flags); per rack a
 * free count, an allocated count, a histogram of its nodes' free levels
 * and the links of the bucket lists it is filed in. Racks are filed per
 * site in three families of lists:
 *   - by free GPUs (0..gpus_per_rack): best-fit rack for jobs of one rack;
 *   - by "has a node with exactly k free GPUs" (0 < k < gpus_per_node):
 *     best-fit node for small jobs;
 *   - by free GPUs again, for racks that have a wholly free node: a small
 *     job that needs a whole node goes to the fullest such rack.
 * Pods are filed by their number of wholly free racks, for multi-rack jobs.
 * So a decision reads O(gpus_per_rack + racks_per_pod) list heads, never
 * all nodes. Every change re-files the racks it touches in O(gpus_per_node).
 */
#ifndef NL_CORE_PLACE_H
#define NL_CORE_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nordlys/sched.h"

struct nl_facility;

/*
 * GPUs in a node mask. A table, not __builtin_popcount: without -mpopcnt
 * (which we do not assume) gcc calls a libgcc routine, which profiled at
 * 16% of a simulation.
 */
extern const uint8_t place_popcount8[256];

static inline uint32_t place_gpus_in(uint8_t mask)
{
    return place_popcount8[mask];
}

struct place_req {
    uint32_t gpus;
    uint32_t site_mask; /* eligible sites */
    bool sensitive;     /* whole nodes only */
    bool topology;      /* false: the baselines' placement, blind to racks and pods */
    int64_t end_us;     /* when it would end: racks held until earlier are closed to it */
    uint32_t nodes;     /* > 0: exactly this many nodes of gpn GPUs each (gpus = nodes x gpn) */
    uint32_t gpn;
};

/* Returns a new placement state with every node up and free; destroy with place_destroy. */
struct place *place_create(const struct nl_facility *fac, double rack_power_w, double busy_w,
                           double idle_w);
void place_destroy(struct place *p);
/*
 * The facility grew (nl_facility_grow): index its new racks, nodes and pods,
 * all free and up, beside the existing state, which is kept as it is. The
 * power arguments are place_create's.
 */
void place_grow(struct place *p, double rack_power_w, double busy_w, double idle_w);

/*
 * Find an allocation for req without changing anything. Returns the
 * number of node entries and sets *out to a borrowed array valid until the
 * next place_find, and *site to the chosen site; returns 0 when nothing
 * fits, with *why NL_REASON_RESOURCES (not enough free GPUs in the
 * eligible sites) or NL_REASON_TOPOLOGY (enough, but not in that shape).
 */
size_t place_find(struct place *p, const struct place_req *req, const struct nl_alloc_node **out,
                  uint32_t *site, enum nl_reason *why);

/* GPUs an allocation for spec holds in site: whole nodes when sensitive. */
uint32_t place_gpus_held(const struct place *p, uint32_t site, const struct nl_job_spec *spec);

/*
 * True when allocation a[0..n) has spec's shape: exactly spec->nodes
 * distinct nodes with gpus_per_node GPUs each (the site's whole node when
 * sensitive). Always true for a job without a shape.
 */
bool place_shape_ok(const struct place *p, const struct nl_job_spec *spec,
                    const struct nl_alloc_node *a, size_t n);

/* True when every GPU in a is free, on existing nodes, and all in one site. */
bool place_can_take(const struct place *p, const struct nl_alloc_node *a, size_t n);
/* Mark a's GPUs allocated. Returns how many of them were already allocated (0 unless a bug). */
uint64_t place_take(struct place *p, const struct nl_alloc_node *a, size_t n);
/* Mark a's GPUs free. Returns how many of them were not allocated (0 unless a bug). */
uint64_t place_release(struct place *p, const struct nl_alloc_node *a, size_t n);

/*
 * Rack holds: a reservation for a gang job keeps racks draining until its
 * shadow time. place_hold_clear drops every hold (at the start of a pass);
 * place_hold_racks holds the `racks` emptiest racks of site until until_us
 * (racks already held are skipped). A held rack is closed to any request
 * whose end_us is later than the hold.
 */
void place_hold_clear(struct place *p);
void place_hold_racks(struct place *p, uint32_t site, uint32_t racks, int64_t until_us);

/*
 * Why a node's GPUs are closed to placement: the indexes count a node
 * with any flag as having no free GPU, so a closed node costs a search
 * nothing. Only DOWN counts in down_gpus; a DRAIN node keeps its jobs, a
 * RESV node is placed on only through its reservation (resv.c).
 */
#define PLACE_F_DOWN  0x1
#define PLACE_F_DRAIN 0x2
#define PLACE_F_RESV  0x4

void place_set_flag(struct place *p, uint32_t node, uint8_t flag, bool on);
uint8_t place_node_flags(const struct place *p, uint32_t node);
/* Free mask of node as if the flags in ignore were clear (0 when another flag is set). */
uint8_t place_node_free_except(const struct place *p, uint32_t node, uint8_t ignore);
uint32_t place_node_gpus(const struct place *p, uint32_t node);
void place_set_down(struct place *p, uint32_t node, bool down);
bool place_node_down(const struct place *p, uint32_t node);
uint8_t place_node_alloc(const struct place *p, uint32_t node);
/* Usable free mask: 0 for a down node. */
uint8_t place_node_free(const struct place *p, uint32_t node);

uint64_t place_site_free(const struct place *p, uint32_t site);
uint64_t place_site_down_gpus(const struct place *p, uint32_t site);
/* GPUs of the site's down, drained or reserved nodes. */
uint64_t place_site_closed_gpus(const struct place *p, uint32_t site);
uint32_t place_site_free_racks(const struct place *p, uint32_t site);
uint32_t place_rack_alloc(const struct place *p, uint32_t rack);
/* Usable free GPUs of a rack (its up nodes). */
uint32_t place_rack_free(const struct place *p, uint32_t rack);
/* Usable, wholly free nodes of a rack, of a site: what a sensitive job can use. */
uint32_t place_rack_free_nodes(const struct place *p, uint32_t rack);
uint64_t place_site_free_nodes(const struct place *p, uint32_t site);

/* Recount everything from the node masks and compare with the indexes; true when consistent. */
bool place_check(const struct place *p);
size_t place_memory_bytes(const struct place *p);

#endif
