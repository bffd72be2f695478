/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the real clock, in microseconds (int64_t), for daemons and tools.
 * libnordlys never reads a clock: its callers pass time in.
 */
#ifndef NL_COMMON_CLOCK_H
#define NL_COMMON_CLOCK_H

#include <stdint.h>

int64_t nl_clock_realtime_us(void);  /* microseconds since the Unix epoch */
int64_t nl_clock_monotonic_us(void); /* for measuring intervals */

#endif
