/* SPDX-License-Identifier: MIT */
/*
 * now.h - the controller's clock: the monotonic clock, shifted once (at
 * start) to read as Unix time.
 *
 * Every timeout and liveness decision is a difference of two readings of
 * it, so a step of the wall clock (NTP, an operator's date) neither marks
 * live nodes down (+) nor freezes failure detection (-). Timestamps people
 * read are taken from it too: they are wall-clock time as of the start,
 * drifting only by steps made since. A plain value record: the composition
 * root owns one, and lower modules borrow it to read us.
 */
#ifndef NL_CTLD_NOW_H
#define NL_CTLD_NOW_H

#include <stdint.h>

struct now {
    int64_t us;      /* the last reading (never goes backwards) */
    int64_t base_us; /* realtime minus monotonic at start (raised by now_raise) */
};

/* Start the clock at the wall clock's reading. */
void now_init(struct now *n);
/* Advance and return n->us. */
int64_t now_read(struct now *n);
/* Move the clock forward to t if it is behind (a store written with a later clock). */
void now_raise(struct now *n, int64_t t);

#endif
