/* SPDX-License-Identifier: MIT */
/*
 * simpower.h - the simulator's power model (docs/power.md): what a job
 * really draws, how much slower a capped job runs, and a budget that
 * changes over time. Pure: no I/O (the caller reads schedule files).
 */
#ifndef NL_SIM_SIMPOWER_H
#define NL_SIM_SIMPOWER_H

#include <stddef.h>
#include <stdint.h>

#include "nordlys/facility.h"

struct nl_err;

/* Below this fraction of a job's demand its GPUs' clocks cannot go: static power. */
#define SIMPOWER_STATIC_FRACTION 0.4

/*
 * Speed (0..1] of a job that wants demand_w per GPU under a cap of cap_w
 * (0 = none): 1 when the cap is at or above the demand, else
 * ((c - s) / (1 - s))^(1/3) for c = cap / demand and the static fraction s:
 * dynamic power goes as f x V^2 with V following f, so as f^3 (docs/power.md
 * cites the relation and the measurements it is checked against).
 */
double simpower_speed(double cap_w, double demand_w);

/*
 * What job idx really draws per GPU, drawn once from seed: uniform in
 * 70-95 % of nameplate_w (training jobs seldom hold their GPUs at TDP).
 */
double simpower_demand(uint64_t seed, uint64_t idx, double nameplate_w);
/* A reading of draw_w: within +-3 %, from seed, job and reading number. */
double simpower_noise(uint64_t seed, uint64_t idx, uint64_t n, double draw_w);

/* A budget that changes at given times (virtual microseconds from the workload's start). */
struct simpower_schedule {
    int64_t *t_us;
    double *budget_w; /* 0 = none */
    /* Per line: racks coming online (racks > 0), else NULL / racks 0 for a budget line. */
    struct nl_facility_growth *growth;
    size_t n;
};

/*
 * Parse a schedule: one event a line, times rising ("0", "90m", "36h",
 * "2d12h"); '#' starts a comment. An event is a budget, "TIME POWER"
 * (powers "230MW", "1.2GW", "500kW", "none"), or an expansion coming
 * online, "TIME +N racks [SITE] [POWER]": N racks join SITE (the last
 * site, or a new site after it with the last one's shape and
 * jurisdiction; default the last site) and POWER is added to the site's
 * limit and the facility's budget (nl_facility_grow). -EINVAL with err
 * "FILE:LINE: what is wrong".
 */
int simpower_schedule_parse(const char *text, size_t len, const char *fname,
                            struct simpower_schedule *out, struct nl_err *err);
void simpower_schedule_release(struct simpower_schedule *s);

#endif
