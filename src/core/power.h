/* SPDX-License-Identifier: MIT */
/*
 * power.h - the power model: IT draw per site, facility draw with PUE,
 * limits, and energy (internal to libnordlys).
 *
 *   IT draw     = all GPUs x idle_w + busy GPUs x (busy_w - idle_w)
 *   facility    = IT draw x PUE
 * A job may start only if the facility and its site stay within their
 * limits (PUE applied to both) with its GPUs busy. Rack limits are kept by
 * placement (place.c caps busy GPUs per rack). Energy integrates the
 * facility draw over time.
 */
#ifndef NL_CORE_POWER_H
#define NL_CORE_POWER_H

#include <stdbool.h>
#include <stdint.h>

#include "nordlys/facility.h"

struct power {
    double busy_w, idle_w, pue;
    double budget_w;                    /* facility, PUE applied; 0 = none */
    double site_limit_w[NL_SITES_MAX];  /* PUE applied; 0 = none */
    double site_idle_w[NL_SITES_MAX];   /* IT draw of the site with nothing running */
    uint64_t site_busy[NL_SITES_MAX];   /* busy GPUs */
    uint32_t nsites;
    double idle_total_w;
    uint64_t busy_total;
    double energy_wh;
    double peak_w;
    int64_t last_us;
};

void power_init(struct power *pw, const struct nl_facility *fac);
/* Would `gpus` more busy GPUs in site keep the facility and the site within limits? */
bool power_fits(const struct power *pw, uint32_t site, uint64_t gpus);
/* Add (or with negative gpus remove) busy GPUs. */
void power_add(struct power *pw, uint32_t site, int64_t gpus);
/* Integrate energy up to now. */
void power_advance(struct power *pw, int64_t now_us);
double power_it_w(const struct power *pw);
double power_facility_w(const struct power *pw);
double power_site_w(const struct power *pw, uint32_t site);
/* True when the current draw is within every limit. */
bool power_within(const struct power *pw);

#endif
