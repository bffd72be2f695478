/* SPDX-License-Identifier: MIT */
/*
 * sched_predict.c - planning with run times learned from each tenant's
 * history (cfg.predict; predict.h has the model). The plan replaces the
 * time limit wherever the scheduler looks ahead: the expected ends of
 * running jobs (shadow times, shaped reservations, drains, estimates) and
 * the end of a job that would backfill. The limit itself is untouched:
 * nothing here ends a job, and a job still running at its predicted end is
 * planned at its limit from the next pass on (Tsafrir et al., TPDS 2007,
 * correct an underestimate the same way).
 */
#include "sched_int.h"

void sched_predict_exit(struct nl_sched *s, const struct job *j, enum nl_exit how)
{
    /* A failed or lost run says nothing about how long the work takes. */
    if (s->pred.t == NULL || (how != NL_EXIT_OK && how != NL_EXIT_TIMEOUT))
        return;
    predict_record(&s->pred, j->spec.tenant, j->run_us, j->spec.time_limit_us);
}

void sched_predict_overdue(struct nl_sched *s, int64_t now_us)
{
    if (s->pred.t == NULL)
        return;
    for (uint32_t site = 0; site < s->nsites; site++) {
        struct tree *tr = &s->running[site];
        int32_t h = tree_first(tr);
        /* The tree is sorted by expected end: the overdue jobs are its first entries. */
        while (h != TREE_NIL && tree_get(tr, h)->key < (double)now_us) {
            struct job *j = &s->jobs[tree_get(tr, h)->value];
            int32_t next = tree_next(tr, h);
            if (j->predicted && j->state == NL_JOB_RUNNING) {
                tree_remove(tr, j->qh);
                j->predicted = false;
                j->expect_end_us = j->start_us + j->spec.time_limit_us;
                j->qh = tree_insert_w(tr, (double)j->expect_end_us, j->id, (uint32_t)(j - s->jobs),
                                      j->held);
                s->walk_gen++;
                /* It went behind; the next entry was read before the move. */
            }
            h = next;
        }
    }
}
