/* SPDX-License-Identifier: MIT */
/*
 * climate.c - PUE as a function of the outside temperature, from a monthly
 * climate table. No clock is read: callers pass the time.
 *
 * The model: a liquid-cooled hall rejects heat through dry coolers, free
 * cooling all year at Narvik's temperatures; fans and pumps work harder as
 * the air warms. PUE(T) = pue + pue_per_c x max(0, T - pue_free_c), with the
 * month's mean temperature T. The coefficients are an assumption stated in
 * docs/power.md, not a measurement; the temperatures are cited there.
 */
#include "nordlys/facility.h"

#include <math.h>
#include <string.h>

/*
 * Narvik, monthly mean temperature in deg C: the midpoint of the average
 * daily minimum and maximum published by climatestotravel.com (Jan -6/-2,
 * Jul 11/18, ...), consistent with Weatherbase's annual mean of 3.8 deg C.
 */
static const double narvik_c[12] = {-4.0, -1.5, 0.0, 3.0, 8.0, 11.5,
                                    14.5, 14.0, 10.5, 4.5, 1.5, -0.5};

double nl_climate_month_c(const char *climate, int month)
{
    if (climate == NULL || month < 0 || month > 11)
        return NAN;
    if (strcmp(climate, "narvik") == 0)
        return narvik_c[month];
    return NAN;
}

/* Month (0..11) of a day count since 1970-01-01, by the proleptic Gregorian calendar. */
static int month_of_days(int64_t days)
{
    /* Shift the epoch to 0000-03-01 so that leap days fall at the end of a year. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153; /* 0 = March */
    return (int)(mp < 10 ? mp + 2 : mp - 10);
}

double nl_facility_pue_at(const struct nl_facility_spec *spec, int64_t unix_us)
{
    if (spec->climate[0] == '\0')
        return spec->pue;
    int64_t day_us = 86400LL * 1000000;
    int64_t days = unix_us >= 0 ? unix_us / day_us : -((-unix_us + day_us - 1) / day_us);
    double t = nl_climate_month_c(spec->climate, month_of_days(days));
    if (isnan(t))
        return spec->pue;
    double pue = spec->pue + spec->pue_per_c * fmax(0.0, t - spec->pue_free_c);
    return pue > 3.0 ? 3.0 : pue;
}

double nl_facility_cap_min_w(const struct nl_facility_spec *spec)
{
    double f = spec->gpu_cap_min > 0 && spec->gpu_cap_min <= 1 ? spec->gpu_cap_min : 0.6;
    return f * spec->gpu_busy_w;
}
