/* SPDX-License-Identifier: MIT */
/* power.c - see power.h. */
#include "power.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "place.h"

/* Float slack for limit comparisons: a milliwatt on a 10 GW budget. */
#define POWER_EPS_W 1e-3

int64_t power_mw(double w)
{
    return (int64_t)floor(w * 1000.0);
}

void power_init(struct power *pw, const struct nl_facility *fac)
{
    const struct nl_facility_spec *spec = nl_facility_spec(fac);
    memset(pw, 0, sizeof(*pw));
    pw->fac = fac;
    pw->busy_w = spec->gpu_busy_w;
    pw->idle_w = spec->gpu_idle_w;
    pw->idle_mw = power_mw(spec->gpu_idle_w);
    pw->cap_min_w = nl_facility_cap_min_w(spec);
    pw->pue = spec->pue;
    pw->budget_w = spec->power_budget_w;
    pw->rack_limit_w = spec->rack_power_w;
    pw->row_limit_w = spec->racks_per_row > 0 ? spec->row_power_w : 0;
    pw->loop_limit_w = spec->racks_per_loop > 0 ? spec->loop_power_w : 0;
    pw->nsites = nl_facility_nsites(fac);
    pw->nracks = nl_facility_racks(fac);
    pw->rack_mw = xcalloc(pw->nracks, sizeof(int64_t));
    pw->rack_row = xcalloc(pw->nracks, sizeof(uint32_t));
    pw->rack_loop = xcalloc(pw->nracks, sizeof(uint32_t));
    /* Rows and loops never span sites: each site numbers its own from where the last stopped. */
    uint32_t rpr = spec->racks_per_row > 0 ? spec->racks_per_row : 1;
    uint32_t rpl = spec->racks_per_loop > 0 ? spec->racks_per_loop : 1;
    for (uint32_t i = 0; i < pw->nsites; i++) {
        struct nl_site_info si;
        nl_facility_site(fac, i, &si);
        pw->site_limit_w[i] = si.power_w;
        pw->site_mw[i] = (int64_t)si.ngpus * pw->idle_mw;
        pw->it_mw += pw->site_mw[i];
        for (uint32_t r = 0; r < si.nracks; r++) {
            pw->rack_mw[si.first_rack + r] = (int64_t)si.gpus_per_rack * pw->idle_mw;
            pw->rack_row[si.first_rack + r] = pw->nrows + r / rpr;
            pw->rack_loop[si.first_rack + r] = pw->nloops + r / rpl;
        }
        pw->nrows += (si.nracks + rpr - 1) / rpr;
        pw->nloops += (si.nracks + rpl - 1) / rpl;
    }
    pw->row_mw = xcalloc(pw->nrows, sizeof(int64_t));
    pw->loop_mw = xcalloc(pw->nloops, sizeof(int64_t));
    for (uint32_t r = 0; r < pw->nracks; r++) {
        pw->row_mw[pw->rack_row[r]] += pw->rack_mw[r];
        pw->loop_mw[pw->rack_loop[r]] += pw->rack_mw[r];
    }
    size_t nu = (size_t)pw->nracks + pw->nrows + pw->nloops;
    pw->unit_lim_w = xcalloc(nu > 0 ? nu : 1, sizeof(double));
    pw->unit_gpus = xcalloc(nu > 0 ? nu : 1, sizeof(uint64_t));
    for (uint32_t i = 0; i < pw->nsites; i++) {
        struct nl_site_info si;
        nl_facility_site(fac, i, &si);
        for (uint32_t r = si.first_rack; r < si.first_rack + si.nracks; r++) {
            pw->unit_gpus[r] += si.gpus_per_rack;
            pw->unit_gpus[pw->nracks + pw->rack_row[r]] += si.gpus_per_rack;
            pw->unit_gpus[pw->nracks + pw->nrows + pw->rack_loop[r]] += si.gpus_per_rack;
        }
    }
    for (uint32_t lv = POWER_RACK; lv <= POWER_LOOP; lv++)
        for (uint32_t k = 0; k < power_level_units(pw, lv); k++)
            power_set_limit(pw, lv, k, -1);
}

uint32_t power_level_units(const struct power *pw, enum power_level lv)
{
    switch (lv) {
    case POWER_RACK: return pw->nracks;
    case POWER_ROW: return pw->nrows;
    case POWER_LOOP: return pw->nloops;
    case POWER_SITE: return pw->nsites;
    }
    return 0;
}

uint32_t power_unit_index(const struct power *pw, enum power_level lv, uint32_t idx)
{
    return idx + (lv >= POWER_ROW ? pw->nracks : 0) + (lv >= POWER_LOOP ? pw->nrows : 0);
}

int64_t power_unit_mw(const struct power *pw, uint32_t u)
{
    if (u < pw->nracks)
        return pw->rack_mw[u];
    if (u < pw->nracks + pw->nrows)
        return pw->row_mw[u - pw->nracks];
    return pw->loop_mw[u - pw->nracks - pw->nrows];
}

/* Can unit u's draw ever reach its limit? Not when every GPU under it at nameplate fits. */
static bool binds(const struct power *pw, uint32_t u)
{
    double l = pw->unit_lim_w[u];
    return l > 0 && l < (double)pw->unit_gpus[u] * pw->busy_w + POWER_EPS_W;
}

bool power_unit_binds(const struct power *pw, uint32_t u)
{
    return binds(pw, u);
}

double power_set_limit(struct power *pw, enum power_level lv, uint32_t idx, double limit_w)
{
    if (idx >= power_level_units(pw, lv))
        return -1;
    if (lv == POWER_SITE) {
        struct nl_site_info si;
        nl_facility_site(pw->fac, idx, &si);
        pw->site_limit_w[idx] = limit_w < 0 ? si.power_w : limit_w;
        return pw->site_limit_w[idx];
    }
    static const size_t dflt[] = {offsetof(struct power, rack_limit_w),
                                  offsetof(struct power, row_limit_w),
                                  offsetof(struct power, loop_limit_w)};
    uint32_t u = power_unit_index(pw, lv, idx);
    pw->nbind -= binds(pw, u);
    pw->unit_lim_w[u] = limit_w < 0 ? *(const double *)((const char *)pw + dflt[lv]) : limit_w;
    pw->nbind += binds(pw, u);
    return pw->unit_lim_w[u];
}

double power_limit(const struct power *pw, enum power_level lv, uint32_t idx)
{
    if (idx >= power_level_units(pw, lv))
        return 0;
    return lv == POWER_SITE ? pw->site_limit_w[idx] : pw->unit_lim_w[power_unit_index(pw, lv, idx)];
}

double power_unit_w(const struct power *pw, enum power_level lv, uint32_t idx)
{
    if (idx >= power_level_units(pw, lv))
        return 0;
    if (lv == POWER_SITE)
        return (double)pw->site_mw[idx] / 1000.0;
    return (double)power_unit_mw(pw, power_unit_index(pw, lv, idx)) / 1000.0;
}

void power_free(struct power *pw)
{
    free(pw->rack_mw);
    free(pw->row_mw);
    free(pw->loop_mw);
    free(pw->rack_row);
    free(pw->rack_loop);
    free(pw->unit_lim_w);
    free(pw->unit_gpus);
    pw->unit_lim_w = NULL;
    pw->unit_gpus = NULL;
    pw->rack_mw = pw->row_mw = pw->loop_mw = NULL;
    pw->rack_row = pw->rack_loop = NULL;
}

static bool over(int64_t mw, double limit_w)
{
    return limit_w > 0 && (double)mw / 1000.0 > limit_w + POWER_EPS_W;
}

/* Facility and site limits are planned with the margin held back (sched.h: power_margin). */
static bool over_pue(const struct power *pw, int64_t mw, double limit_w)
{
    return limit_w > 0 && (double)mw / 1000.0 * pw->pue > limit_w * (1 - pw->margin) + POWER_EPS_W;
}

/* Add delta_mw per GPU of a[0..n) to its racks, rows and loops; returns the GPUs. */
static uint64_t spread(struct power *pw, const struct nl_alloc_node *a, size_t n, int64_t delta_mw)
{
    uint64_t gpus = 0;
    for (size_t i = 0; i < n; i++) {
        struct nl_node_pos pos;
        nl_facility_node_pos(pw->fac, a[i].node, &pos);
        uint32_t g = place_gpus_in(a[i].mask);
        int64_t d = (int64_t)g * delta_mw;
        pw->rack_mw[pos.rack] += d;
        pw->row_mw[pw->rack_row[pos.rack]] += d;
        pw->loop_mw[pw->rack_loop[pos.rack]] += d;
        gpus += g;
    }
    return gpus;
}

/* Any rack, row or loop of a[0..n) over its limit? */
static bool units_over(const struct power *pw, const struct nl_alloc_node *a, size_t n)
{
    const double *lim = pw->unit_lim_w;
    uint32_t row0 = pw->nracks, loop0 = pw->nracks + pw->nrows;
    for (size_t i = 0; i < n; i++) {
        struct nl_node_pos pos;
        nl_facility_node_pos(pw->fac, a[i].node, &pos);
        uint32_t row = pw->rack_row[pos.rack], loop = pw->rack_loop[pos.rack];
        if (over(pw->rack_mw[pos.rack], lim[pos.rack]) ||
            over(pw->row_mw[row], lim[row0 + row]) || over(pw->loop_mw[loop], lim[loop0 + loop]))
            return true;
    }
    return false;
}

bool power_fits(struct power *pw, uint32_t site, const struct nl_alloc_node *a, size_t n,
                int64_t draw_mw)
{
    int64_t delta = draw_mw - pw->idle_mw;
    uint64_t gpus = 0;
    for (size_t i = 0; i < n; i++)
        gpus += place_gpus_in(a[i].mask);
    int64_t add = (int64_t)gpus * delta;
    if (over_pue(pw, pw->it_mw + add, pw->budget_w) ||
        over_pue(pw, pw->site_mw[site] + add, pw->site_limit_w[site]))
        return false;
    if (pw->nbind == 0)
        return true; /* no rack, row or loop can reach its limit */
    /* Try it and take it back: integer sums come back exactly. */
    spread(pw, a, n, delta);
    bool bad = units_over(pw, a, n);
    spread(pw, a, n, -delta);
    return !bad;
}

bool power_fits_units(struct power *pw, const struct nl_alloc_node *a, size_t n, int64_t draw_mw)
{
    if (pw->nbind == 0)
        return true;
    int64_t delta = draw_mw - pw->idle_mw;
    spread(pw, a, n, delta);
    bool bad = units_over(pw, a, n);
    spread(pw, a, n, -delta);
    return !bad;
}

void power_job(struct power *pw, uint32_t site, const struct nl_alloc_node *a, size_t n,
               int64_t draw_mw, int sign)
{
    int64_t delta = sign * (draw_mw - pw->idle_mw);
    uint64_t gpus = spread(pw, a, n, delta);
    pw->site_mw[site] += (int64_t)gpus * delta;
    pw->it_mw += (int64_t)gpus * delta;
    pw->site_busy[site] = (uint64_t)((int64_t)pw->site_busy[site] + sign * (int64_t)gpus);
    pw->busy_total = (uint64_t)((int64_t)pw->busy_total + sign * (int64_t)gpus);
    double w = power_facility_w(pw);
    if (w > pw->peak_w)
        pw->peak_w = w;
}

void power_job_change(struct power *pw, uint32_t site, const struct nl_alloc_node *a, size_t n,
                      int64_t old_mw, int64_t new_mw)
{
    if (old_mw == new_mw)
        return;
    uint64_t gpus = spread(pw, a, n, new_mw - old_mw);
    pw->site_mw[site] += (int64_t)gpus * (new_mw - old_mw);
    pw->it_mw += (int64_t)gpus * (new_mw - old_mw);
    double w = power_facility_w(pw);
    if (w > pw->peak_w)
        pw->peak_w = w;
}

void power_advance(struct power *pw, int64_t now_us)
{
    if (now_us > pw->last_us) {
        double h = (double)(now_us - pw->last_us) / 3.6e9;
        pw->energy_wh += power_facility_w(pw) * h;
        for (uint32_t i = 0; i < pw->nsites; i++)
            pw->site_energy_wh[i] += power_site_w(pw, i) * h;
    }
    if (now_us > pw->last_us)
        pw->last_us = now_us;
}

double power_it_w(const struct power *pw)
{
    return (double)pw->it_mw / 1000.0;
}

double power_facility_w(const struct power *pw)
{
    return power_it_w(pw) * pw->pue;
}

double power_site_w(const struct power *pw, uint32_t site)
{
    return (double)pw->site_mw[site] / 1000.0 * pw->pue;
}

bool power_within_sites(const struct power *pw)
{
    if (over_pue(pw, pw->it_mw, pw->budget_w))
        return false;
    for (uint32_t i = 0; i < pw->nsites; i++)
        if (over_pue(pw, pw->site_mw[i], pw->site_limit_w[i]))
            return false;
    return true;
}

bool power_within(const struct power *pw)
{
    if (!power_within_sites(pw))
        return false;
    return power_within_units(pw);
}

bool power_within_units(const struct power *pw)
{
    if (pw->nbind == 0)
        return true;
    uint32_t nu = pw->nracks + pw->nrows + pw->nloops;
    for (uint32_t u = 0; u < nu; u++)
        if (over(power_unit_mw(pw, u), pw->unit_lim_w[u]))
            return false;
    return true;
}

bool power_within_alloc(const struct power *pw, uint32_t site, const struct nl_alloc_node *a,
                        size_t n)
{
    return !over_pue(pw, pw->it_mw, pw->budget_w) &&
           !over_pue(pw, pw->site_mw[site], pw->site_limit_w[site]) &&
           (pw->nbind == 0 || !units_over(pw, a, n));
}
