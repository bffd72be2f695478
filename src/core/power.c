/* SPDX-License-Identifier: MIT */
/* power.c - see power.h. */
#include "power.h"

#include <math.h>
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

static void power_layout(struct power *pw, uint32_t old_sites, uint32_t old_racks);

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
    pw->spec_budget_w = spec->power_budget_w;
    pw->rack_limit_w = spec->rack_power_w;
    pw->row_limit_w = spec->racks_per_row > 0 ? spec->row_power_w : 0;
    pw->loop_limit_w = spec->racks_per_loop > 0 ? spec->loop_power_w : 0;
    power_layout(pw, 0, 0);
}

/*
 * Number rows and loops, size the per-rack arrays, and count the racks from
 * old_racks on (and the sites from old_sites on) at idle draw. Rows and
 * loops never span sites: each site numbers its own from where the last
 * stopped. Growth only adds racks after all others (nl_facility_grow), so
 * the existing racks keep their rows and loops and only new ones appear.
 */
static void power_layout(struct power *pw, uint32_t old_sites, uint32_t old_racks)
{
    const struct nl_facility *fac = pw->fac;
    const struct nl_facility_spec *spec = nl_facility_spec(fac);
    uint32_t old_rows = pw->nrows, old_loops = pw->nloops;
    pw->nsites = nl_facility_nsites(fac);
    pw->nracks = nl_facility_racks(fac);
    pw->rack_mw = xreallocarray(pw->rack_mw, pw->nracks, sizeof(int64_t));
    pw->rack_row = xreallocarray(pw->rack_row, pw->nracks, sizeof(uint32_t));
    pw->rack_loop = xreallocarray(pw->rack_loop, pw->nracks, sizeof(uint32_t));
    uint32_t rpr = spec->racks_per_row > 0 ? spec->racks_per_row : 1;
    uint32_t rpl = spec->racks_per_loop > 0 ? spec->racks_per_loop : 1;
    pw->nrows = pw->nloops = 0;
    for (uint32_t i = 0; i < pw->nsites; i++) {
        struct nl_site_info si;
        nl_facility_site(fac, i, &si);
        pw->site_limit_w[i] = si.power_w;
        for (uint32_t r = 0; r < si.nracks; r++) {
            pw->rack_row[si.first_rack + r] = pw->nrows + r / rpr;
            pw->rack_loop[si.first_rack + r] = pw->nloops + r / rpl;
        }
        pw->nrows += (si.nracks + rpr - 1) / rpr;
        pw->nloops += (si.nracks + rpl - 1) / rpl;
    }
    pw->row_mw = xreallocarray(pw->row_mw, pw->nrows ? pw->nrows : 1, sizeof(int64_t));
    pw->loop_mw = xreallocarray(pw->loop_mw, pw->nloops ? pw->nloops : 1, sizeof(int64_t));
    memset(pw->row_mw + old_rows, 0, (pw->nrows - old_rows) * sizeof(int64_t));
    memset(pw->loop_mw + old_loops, 0, (pw->nloops - old_loops) * sizeof(int64_t));
    for (uint32_t i = old_sites; i < pw->nsites; i++)
        pw->site_mw[i] = 0;
    for (uint32_t r = old_racks; r < pw->nracks; r++) {
        uint32_t site = nl_facility_rack_site(fac, r);
        struct nl_site_info si;
        nl_facility_site(fac, site, &si);
        int64_t idle = (int64_t)si.gpus_per_rack * pw->idle_mw;
        pw->rack_mw[r] = idle;
        pw->row_mw[pw->rack_row[r]] += idle;
        pw->loop_mw[pw->rack_loop[r]] += idle;
        pw->site_mw[site] += idle;
        pw->it_mw += idle;
    }
}

void power_grow(struct power *pw)
{
    /* The expansion's power raises the budget in force (an operator's too); none stays none. */
    double added = nl_facility_spec(pw->fac)->power_budget_w - pw->spec_budget_w;
    if (pw->budget_w > 0)
        pw->budget_w += added;
    pw->spec_budget_w = nl_facility_spec(pw->fac)->power_budget_w;
    power_layout(pw, pw->nsites, pw->nracks);
}

void power_free(struct power *pw)
{
    free(pw->rack_mw);
    free(pw->row_mw);
    free(pw->loop_mw);
    free(pw->rack_row);
    free(pw->rack_loop);
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
    for (size_t i = 0; i < n; i++) {
        struct nl_node_pos pos;
        nl_facility_node_pos(pw->fac, a[i].node, &pos);
        if (over(pw->rack_mw[pos.rack], pw->rack_limit_w) ||
            over(pw->row_mw[pw->rack_row[pos.rack]], pw->row_limit_w) ||
            over(pw->loop_mw[pw->rack_loop[pos.rack]], pw->loop_limit_w))
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
    if (pw->rack_limit_w <= 0 && pw->row_limit_w <= 0 && pw->loop_limit_w <= 0)
        return true;
    /* Try it and take it back: integer sums come back exactly. */
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
    if (pw->rack_limit_w > 0)
        for (uint32_t r = 0; r < pw->nracks; r++)
            if (over(pw->rack_mw[r], pw->rack_limit_w))
                return false;
    if (pw->row_limit_w > 0)
        for (uint32_t r = 0; r < pw->nrows; r++)
            if (over(pw->row_mw[r], pw->row_limit_w))
                return false;
    if (pw->loop_limit_w > 0)
        for (uint32_t r = 0; r < pw->nloops; r++)
            if (over(pw->loop_mw[r], pw->loop_limit_w))
                return false;
    return true;
}

bool power_within_alloc(const struct power *pw, uint32_t site, const struct nl_alloc_node *a,
                        size_t n)
{
    return !over_pue(pw, pw->it_mw, pw->budget_w) &&
           !over_pue(pw, pw->site_mw[site], pw->site_limit_w[site]) && !units_over(pw, a, n);
}
