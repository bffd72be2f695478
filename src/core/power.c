/* SPDX-License-Identifier: MIT */
/* power.c - see power.h. */
#include "power.h"

#include <string.h>

/* Float slack for limit comparisons: a milliwatt on a 10 GW budget. */
#define POWER_EPS_W 1e-3

void power_init(struct power *pw, const struct nl_facility *fac)
{
    const struct nl_facility_spec *spec = nl_facility_spec(fac);
    memset(pw, 0, sizeof(*pw));
    pw->busy_w = spec->gpu_busy_w;
    pw->idle_w = spec->gpu_idle_w;
    pw->pue = spec->pue;
    pw->budget_w = spec->power_budget_w;
    pw->nsites = nl_facility_nsites(fac);
    for (uint32_t i = 0; i < pw->nsites; i++) {
        struct nl_site_info si;
        nl_facility_site(fac, i, &si);
        pw->site_limit_w[i] = si.power_w;
        pw->site_idle_w[i] = (double)si.ngpus * pw->idle_w;
        pw->idle_total_w += pw->site_idle_w[i];
    }
}

static double site_it(const struct power *pw, uint32_t site, uint64_t busy)
{
    return pw->site_idle_w[site] + (double)busy * (pw->busy_w - pw->idle_w);
}

bool power_fits(const struct power *pw, uint32_t site, uint64_t gpus)
{
    double delta = (double)gpus * (pw->busy_w - pw->idle_w);
    if (pw->budget_w > 0 && (power_it_w(pw) + delta) * pw->pue > pw->budget_w + POWER_EPS_W)
        return false;
    if (pw->site_limit_w[site] > 0 &&
        site_it(pw, site, pw->site_busy[site] + gpus) * pw->pue > pw->site_limit_w[site] + POWER_EPS_W)
        return false;
    return true;
}

void power_add(struct power *pw, uint32_t site, int64_t gpus)
{
    pw->site_busy[site] = (uint64_t)((int64_t)pw->site_busy[site] + gpus);
    pw->busy_total = (uint64_t)((int64_t)pw->busy_total + gpus);
    double w = power_facility_w(pw);
    if (w > pw->peak_w)
        pw->peak_w = w;
}

void power_advance(struct power *pw, int64_t now_us)
{
    if (now_us > pw->last_us)
        pw->energy_wh += power_facility_w(pw) * (double)(now_us - pw->last_us) / 3.6e9;
    if (now_us > pw->last_us)
        pw->last_us = now_us;
}

double power_it_w(const struct power *pw)
{
    return pw->idle_total_w + (double)pw->busy_total * (pw->busy_w - pw->idle_w);
}

double power_facility_w(const struct power *pw)
{
    return power_it_w(pw) * pw->pue;
}

double power_site_w(const struct power *pw, uint32_t site)
{
    return site_it(pw, site, pw->site_busy[site]) * pw->pue;
}

bool power_within(const struct power *pw)
{
    if (pw->budget_w > 0 && power_facility_w(pw) > pw->budget_w + POWER_EPS_W)
        return false;
    for (uint32_t i = 0; i < pw->nsites; i++)
        if (pw->site_limit_w[i] > 0 && power_site_w(pw, i) > pw->site_limit_w[i] + POWER_EPS_W)
            return false;
    return true;
}
