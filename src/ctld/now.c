/* SPDX-License-Identifier: MIT */
/* now.c - the controller's clock (see now.h). */
#include "now.h"

#include "common/clock.h"

void now_init(struct now *n)
{
    n->us = 0;
    n->base_us = nl_clock_realtime_us() - nl_clock_monotonic_us();
    now_read(n);
}

int64_t now_read(struct now *n)
{
    int64_t t = n->base_us + nl_clock_monotonic_us();
    if (t > n->us)
        n->us = t;
    return n->us;
}

void now_raise(struct now *n, int64_t t)
{
    now_read(n);
    if (t > n->us) {
        n->base_us += t - n->us;
        n->us = t;
    }
}
