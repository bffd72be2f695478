/* SPDX-License-Identifier: MIT */
/*
 * power.h - the power model: IT draw at every level of the power hierarchy
 * (facility > site > row > rack, and cooling loops over runs of racks),
 * facility draw with PUE, limits, and energy (internal to libnordlys).
 *
 *   IT draw of a unit = its GPUs x idle_w + over running jobs, their GPUs
 *                       in it x (the job's per-GPU draw - idle_w)
 *   facility draw     = IT draw x PUE
 * A job's per-GPU draw is what the scheduler counts for it: its expected
 * (or measured) draw, lowered to its cap when capped (docs/power.md).
 * Facility and site limits are facility power (PUE applied); rack, row and
 * loop limits are IT power (a loop rejects the heat of its racks' IT draw).
 *
 * Draws are kept in integer milliwatts so that adding and removing a job
 * restores the sums exactly, and the from-scratch check in sched_check.c
 * compares equal.
 */
#ifndef NL_CORE_POWER_H
#define NL_CORE_POWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nordlys/facility.h"
#include "nordlys/sched.h"

struct power {
    const struct nl_facility *fac;
    double busy_w, idle_w, cap_min_w, pue;
    int64_t idle_mw;                    /* idle_w in mW */
    double budget_w;                    /* facility, PUE applied; 0 = none */
    double margin;                      /* share of facility and site limits held back */
    double site_limit_w[NL_SITES_MAX];  /* PUE applied; 0 = none */
    int64_t site_mw[NL_SITES_MAX];      /* IT draw of each site now */
    uint64_t site_busy[NL_SITES_MAX];   /* GPUs held by jobs */
    uint32_t nsites;
    int64_t it_mw;                      /* IT draw of the facility now */
    uint64_t busy_total;
    double rack_limit_w, row_limit_w, loop_limit_w; /* the facility file's, IT; 0 = none */
    uint32_t nracks, nrows, nloops;
    int64_t *rack_mw, *row_mw, *loop_mw;
    /*
     * Each unit's own limit (IT; 0 = none): the facility file's, until an
     * operator sets one (power_set_limit). The units of all three levels
     * share one index: racks [0, nracks), then rows, then loops.
     */
    double *unit_lim_w;
    uint64_t *unit_gpus;                /* GPUs under each unit */
    uint32_t nbind;                     /* units whose limit is below their GPUs at nameplate */
    uint32_t *rack_row, *rack_loop;     /* per rack: its row and loop (global indexes) */
    double energy_wh;
    double site_energy_wh[NL_SITES_MAX]; /* facility level (PUE applied) */
    double peak_w;
    int64_t last_us;
};

void power_init(struct power *pw, const struct nl_facility *fac);
void power_free(struct power *pw);

/* A level of the power hierarchy an operator may set a limit on (power_set_limit). */
enum power_level { POWER_RACK, POWER_ROW, POWER_LOOP, POWER_SITE };

/* Units of a level (racks, rows, loops, sites). */
uint32_t power_level_units(const struct power *pw, enum power_level lv);
/*
 * Set unit idx of level lv to limit_w (IT for racks, rows and loops; facility
 * power, PUE applied, for sites); limit_w < 0 restores the facility file's.
 * Returns the limit now in force (0 = none), or -1 when idx is out of range.
 */
double power_set_limit(struct power *pw, enum power_level lv, uint32_t idx, double limit_w);
double power_limit(const struct power *pw, enum power_level lv, uint32_t idx);
/* IT draw of a unit now (W). */
double power_unit_w(const struct power *pw, enum power_level lv, uint32_t idx);
/* Index of unit idx of level lv in the shared rack/row/loop index. */
uint32_t power_unit_index(const struct power *pw, enum power_level lv, uint32_t idx);
/* Can unit u of the shared index ever exceed its limit (its GPUs at nameplate would)? */
bool power_unit_binds(const struct power *pw, uint32_t u);
/* IT draw of a unit of the shared index now (mW). */
int64_t power_unit_mw(const struct power *pw, uint32_t u);

/* A per-GPU draw in W, rounded down to the milliwatt the sums keep. */
int64_t power_mw(double w);

/*
 * Would a[0..n) in site, each GPU drawing draw_mw, keep every level within
 * its limit? Levels already over their limit stay refused.
 */
bool power_fits(struct power *pw, uint32_t site, const struct nl_alloc_node *a, size_t n,
                int64_t draw_mw);
/* power_fits for the racks, rows and loops of a[0..n) alone. */
bool power_fits_units(struct power *pw, const struct nl_alloc_node *a, size_t n, int64_t draw_mw);
/* Add (sign +1) or remove (sign -1) a job on a[0..n) in site drawing draw_mw per GPU. */
void power_job(struct power *pw, uint32_t site, const struct nl_alloc_node *a, size_t n,
               int64_t draw_mw, int sign);
/* A running job's per-GPU draw changes from old_mw to new_mw (a cap, a measurement). */
void power_job_change(struct power *pw, uint32_t site, const struct nl_alloc_node *a, size_t n,
                      int64_t old_mw, int64_t new_mw);
/* Integrate energy up to now. */
void power_advance(struct power *pw, int64_t now_us);
double power_it_w(const struct power *pw);
double power_facility_w(const struct power *pw);
double power_site_w(const struct power *pw, uint32_t site);
/* True when every level is within its limit (facility, sites, rows, racks, loops). O(units) when some unit can bind. */
bool power_within(const struct power *pw);
/* Within limits at the facility, site, and the racks, rows and loops of a[0..n) (an O(n) check). */
bool power_within_alloc(const struct power *pw, uint32_t site, const struct nl_alloc_node *a,
                        size_t n);
/* True when every rack, row and loop is within its limit. */
bool power_within_units(const struct power *pw);
/* True when the facility and every site are within their limits (what capping restores). */
bool power_within_sites(const struct power *pw);

#endif
