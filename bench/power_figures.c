/* SPDX-License-Identifier: MIT */
/*
 * power_figures.c - the figures of the power study in docs/power.md, drawn
 * with the simulator's own SVG charts (src/sim/svg.c) from the runs table
 * bench/power-study.sh writes (runs.tsv: seed, budget, oversubscription,
 * answer, then the measured columns), averaged over the seeds:
 *   power-throughput.svg       useful GPU-hours per day
 *   power-wait-<tier>.svg      p95 wait of the sovereign, anchor and regional tiers
 *   power-over.svg             the modelled real draw's largest excess over the budget
 *   power-over-hours.svg       hours the real draw spent above the budget
 *
 *   power_figures DIR < runs.tsv
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/svg.h"

#define MAXC 16 /* budget x oversubscription cells */
#define MAXG 4  /* answers */

/* Columns of runs.tsv after seed, budget, pct, answer (power-study.sh). */
enum { C_GPH, C_UTIL, C_SOV, C_ANC, C_REG, C_JCT, C_CAPS, C_PRE, C_CLP, C_CLC, C_PEAK, C_OVER_S,
       C_OVER_W, C_VIOL, NCOL };

static char cats[MAXC][24], groups[MAXG][24];
static const char *cat_p[MAXC], *group_p[MAXG];
static size_t ncat, ngroup;
static double sum[MAXC][MAXG][NCOL], cnt[MAXC][MAXG], budget_mw[MAXC];

static size_t find(char (*names)[24], size_t *n, size_t max, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    if (*n == max)
        return max;
    snprintf(names[*n], 24, "%s", name);
    return (*n)++;
}

static int write_chart(const char *dir, const char *file, const struct svg_bar_chart *c)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "power_figures: %s: %s\n", path, strerror(errno));
        return -1;
    }
    svg_bar_chart_write(f, c);
    return fclose(f) == 0 ? 0 : -1;
}

static int chart(const char *dir, const char *file, const char *title, const char *unit, int col,
                 double scale, int log_s, const double *marks, const char *mark_label)
{
    double v[MAXC * MAXG];
    for (size_t k = 0; k < ncat; k++)
        for (size_t g = 0; g < ngroup; g++)
            v[k * ngroup + g] = cnt[k][g] > 0 ? sum[k][g][col] / cnt[k][g] * scale : NAN;
    struct svg_bar_chart c = {title, unit, cat_p, ncat, group_p, ngroup, v, log_s != 0, marks,
                              mark_label};
    return write_chart(dir, file, &c);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: power_figures DIR < runs.tsv\n");
        return 2;
    }
    char line[1024];
    size_t lineno = 0;
    while (fgets(line, sizeof(line), stdin) != NULL) {
        lineno++;
        char seed[16], budget[8], pct[8], mode[16];
        double c[NCOL];
        int got = sscanf(line,
                         "%15s %7s %7s %15s %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf",
                         seed, budget, pct, mode, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6],
                         &c[7], &c[8], &c[9], &c[10], &c[11], &c[12], &c[13]);
        if (got != 4 + NCOL) {
            fprintf(stderr, "power_figures: stdin:%zu: expected %d columns, found %d\n", lineno,
                    4 + NCOL, got);
            return 1;
        }
        char cat[24];
        snprintf(cat, sizeof(cat), "%s/+%s%%", budget, pct);
        size_t k = find(cats, &ncat, MAXC, cat), g = find(groups, &ngroup, MAXG, mode);
        if (k == MAXC || g == MAXG) {
            fprintf(stderr, "power_figures: stdin:%zu: more than %d cells or %d answers\n", lineno,
                    MAXC, MAXG);
            return 1;
        }
        budget_mw[k] = atof(budget);
        for (int i = 0; i < NCOL; i++)
            sum[k][g][i] += c[i];
        cnt[k][g]++;
    }
    if (ncat == 0) {
        fprintf(stderr, "power_figures: no runs on stdin\n");
        return 1;
    }
    for (size_t k = 0; k < ncat; k++)
        cat_p[k] = cats[k];
    for (size_t g = 0; g < ngroup; g++)
        group_p[g] = groups[g];
    const char *dir = argv[1];
    int rc = 0;
    rc |= chart(dir, "power-throughput.svg",
                "Useful GPU-hours per day (thousands), by day-2 budget (MW) / oversubscription",
                "k", C_GPH, 1e-3, 0, NULL, NULL);
    rc |= chart(dir, "power-wait-sovereign.svg", "Sovereign tier: p95 wait (log scale)", "",
                C_SOV, 1, 1, NULL, NULL);
    rc |= chart(dir, "power-wait-anchor.svg", "Anchor tier: p95 wait (log scale)", "", C_ANC, 1,
                1, NULL, NULL);
    rc |= chart(dir, "power-wait-regional.svg", "Regional tier: p95 wait (log scale)", "", C_REG,
                1, 1, NULL, NULL);
    rc |= chart(dir, "power-peak.svg",
                "Peak modelled real draw (MW); dashed: the day-2 budget (230 MW on days 1 and 3)",
                "MW", C_PEAK, 1e-6, 0, budget_mw, "day-2 budget");
    rc |= chart(dir, "power-over.svg", "Real draw: largest excess over the budget (MW)", "MW",
                C_OVER_W, 1e-6, 0, NULL, NULL);
    rc |= chart(dir, "power-over-hours.svg", "Real draw: hours above the budget", "h", C_OVER_S,
                1.0 / 3600, 0, NULL, NULL);
    return rc ? 1 : 0;
}
