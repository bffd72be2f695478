/* SPDX-License-Identifier: MIT */
/*
 * resv.h - node drain and operators' reservations inside the scheduler
 * (internal to libnordlys; the API is nl_sched_resv_* and
 * nl_sched_node_set_drain in nordlys/sched.h).
 *
 * A drained node carries PLACE_F_DRAIN: its running jobs stay, the
 * placement indexes count no free GPU on it, so placement costs nothing
 * more. A node in a reservation (from its creation to its end) carries
 * PLACE_F_RESV: ordinary placement never sees it either, and a job reaches
 * it only through resv_find, which looks at the reservations that admit
 * that job: before a reservation's start, a job whose time limit ends by
 * then; while it runs, only its tenant's jobs (nobody's for maintenance).
 * A pass costs O(nodes in reservations) at its start (resv_pass_begin) and
 * O(nodes of one reservation) per admitted job that tries it, bounded by a
 * per-pass "smallest job that found no room" per reservation.
 */
#ifndef NL_CORE_RESV_H
#define NL_CORE_RESV_H

#include <stddef.h>
#include <stdint.h>

#include "nordlys/sched.h"

struct job;

/* One operator reservation. */
struct mresv {
    uint64_t id;
    int64_t start_us, end_us;
    uint32_t tenant; /* NL_RESV_NO_TENANT: maintenance, nobody runs on it while active */
    uint32_t site;   /* every node of a reservation is in one site */
    uint32_t *nodes; /* ascending, owned */
    size_t n;
    uint64_t room;     /* this pass: free GPUs on its nodes, less what it placed */
    uint32_t fail_min; /* this pass: smallest job it had no room for (UINT32_MAX: none) */
};

struct resvs {
    struct mresv *r;
    size_t n, cap;
    uint8_t *per_node; /* reservations holding each node (PLACE_F_RESV while > 0) */
    uint64_t room;     /* this pass: room of the reservations that admit anyone now */
    struct nl_alloc_node *out;
    size_t out_cap;
};

void resv_init(struct nl_sched *s);
void resv_release(struct nl_sched *s);
/* Drop reservations that ended by now_us, reopen their nodes, and count each one's room. */
void resv_pass_begin(struct nl_sched *s, int64_t now_us);
/*
 * An allocation for j on the nodes of one reservation that admits it now
 * (and every other reservation of those nodes admits it too): the entry
 * count, *a (borrowed until the next call), *site and *which (the
 * reservation's index, for resv_taken). 0 when none has room.
 */
size_t resv_find(struct nl_sched *s, const struct job *j, int64_t now_us,
                 const struct nl_alloc_node **a, uint32_t *site, size_t *which);
/* j's start took `held` GPUs of reservation which (from resv_find). */
void resv_taken(struct nl_sched *s, size_t which, uint64_t held);
/*
 * Recount from scratch (O(reserved nodes x reservations)): each node's
 * count and PLACE_F_RESV flag against the reservations holding it, and no
 * two overlapping windows on one node. Returns the disagreements.
 */
uint64_t resv_check(const struct nl_sched *s);

#endif
