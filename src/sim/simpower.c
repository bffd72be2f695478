/* SPDX-License-Identifier: MIT */
/* simpower.c - see simpower.h. */
#include "simpower.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/rng.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

double simpower_speed(double cap_w, double demand_w)
{
    if (cap_w <= 0 || demand_w <= 0 || cap_w >= demand_w)
        return 1.0;
    double c = cap_w / demand_w, s = SIMPOWER_STATIC_FRACTION;
    if (c <= s)
        return 0.05; /* below any cap a GPU allows; a floor keeps time finite */
    double v = cbrt((c - s) / (1 - s));
    return v < 0.05 ? 0.05 : v;
}

static double unit_of(uint64_t seed, uint64_t a, uint64_t b)
{
    struct nl_rng r;
    nl_rng_seed(&r, seed * 0x9e3779b97f4a7c15ULL ^ (a * 0xbf58476d1ce4e5b9ULL) ^ (b + 0x94d049bb133111ebULL));
    return nl_rng_unit(&r);
}

double simpower_demand(uint64_t seed, uint64_t idx, double nameplate_w)
{
    return nameplate_w * (0.70 + 0.25 * unit_of(seed, idx, 0));
}

double simpower_noise(uint64_t seed, uint64_t idx, uint64_t n, double draw_w)
{
    return draw_w * (0.97 + 0.06 * unit_of(seed ^ 0x5bd1e995, idx, n + 1));
}

/* "2d12h", "90m", "36h", "0", "3600" (seconds) into microseconds; -1 when not a time. */
static int64_t parse_time(const char *s)
{
    if (strcmp(s, "0") == 0)
        return 0;
    double total = 0;
    const char *p = s;
    bool any = false;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0))
            return -1;
        double unit = 1;
        switch (*end) {
        case 'd': unit = 86400; end++; break;
        case 'h': unit = 3600; end++; break;
        case 'm': unit = 60; end++; break;
        case 's': end++; break;
        case '\0': break;
        default: return -1;
        }
        total += v * unit;
        p = end;
        any = true;
    }
    return any && total < 1e12 ? (int64_t)llround(total * 1e6) : -1;
}

static int parse_power(const char *s, double *w)
{
    if (strcasecmp(s, "none") == 0) {
        *w = 0;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    static const struct {
        const char *u;
        double k;
    } units[] = {{"W", 1}, {"kW", 1e3}, {"MW", 1e6}, {"GW", 1e9}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (end != s && strcasecmp(end, units[i].u) == 0 && v >= 0 && isfinite(v)) {
            *w = v * units[i].k;
            return 0;
        }
    return -1;
}

/*
 * The rest of "+N racks [SITE] [POWER]" after its first word w ("+N"),
 * into g; NULL, or what is wrong. SITE is anything that is not a power.
 */
static const char *parse_growth(const char *w, char **save, struct nl_facility_growth *g)
{
    char *end;
    unsigned long long n = strtoull(w + 1, &end, 10);
    if (w[1] < '0' || w[1] > '9' || *end != '\0' || n < 1 || n > 1000000)
        return "racks: +N needs a whole number of racks 1..1000000";
    g->racks = (uint32_t)n;
    const char *word = strtok_r(NULL, " \t\r", save);
    if (word == NULL || (strcmp(word, "racks") != 0 && strcmp(word, "rack") != 0))
        return "expected TIME +N racks [SITE] [POWER]";
    double p;
    while ((word = strtok_r(NULL, " \t\r", save)) != NULL) {
        if (g->site_power_w == 0 && parse_power(word, &p) == 0 && p > 0) {
            g->site_power_w = g->facility_power_w = p;
        } else if (g->site[0] == '\0' && g->site_power_w == 0) {
            if (strlen(word) >= sizeof(g->site))
                return "site: name too long";
            snprintf(g->site, sizeof(g->site), "%s", word);
        } else {
            return "expected TIME +N racks [SITE] [POWER] and nothing more";
        }
    }
    return NULL;
}

int simpower_schedule_parse(const char *text, size_t len, const char *fname,
                            struct simpower_schedule *out, struct nl_err *err)
{
    memset(out, 0, sizeof(*out));
    size_t cap = 0, line = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        char buf[256];
        if (n >= sizeof(buf)) {
            simpower_schedule_release(out);
            return nl_err_set(err, -EINVAL, "%s:%zu: line too long", fname, line);
        }
        memcpy(buf, p, n);
        buf[n] = '\0';
        p += n + (nl != NULL);
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL, *t = strtok_r(buf, " \t\r", &save), *w = strtok_r(NULL, " \t\r", &save);
        if (t == NULL)
            continue;
        int64_t t_us = parse_time(t);
        double bw = 0;
        struct nl_facility_growth g = {0};
        const char *bad = NULL;
        if (t_us < 0)
            bad = "time: not a time (0, 90m, 36h, 2d12h or seconds)";
        else if (w != NULL && w[0] == '+')
            bad = parse_growth(w, &save, &g);
        else if (w == NULL || parse_power(w, &bw) < 0)
            bad = "budget: not a power (230MW, 1.2GW, 500kW or none), nor +N racks";
        else if (strtok_r(NULL, " \t\r", &save) != NULL)
            bad = "expected TIME POWER and nothing more";
        if (bad == NULL && out->n > 0 && t_us <= out->t_us[out->n - 1])
            bad = "time: not after the line before";
        if (bad) {
            simpower_schedule_release(out);
            return nl_err_set(err, -EINVAL, "%s:%zu: %s", fname, line, bad);
        }
        if (out->n == cap) {
            cap = xgrow(cap, out->n + 1);
            out->t_us = xreallocarray(out->t_us, cap, sizeof(int64_t));
            out->budget_w = xreallocarray(out->budget_w, cap, sizeof(double));
            out->growth = xreallocarray(out->growth, cap, sizeof(*out->growth));
        }
        out->t_us[out->n] = t_us;
        out->growth[out->n] = g;
        out->budget_w[out->n++] = bw;
    }
    if (out->n == 0)
        return nl_err_set(err, -EINVAL, "%s: no TIME POWER or TIME +N racks line", fname);
    return 0;
}

void simpower_schedule_release(struct simpower_schedule *s)
{
    free(s->t_us);
    free(s->budget_w);
    free(s->growth);
    memset(s, 0, sizeof(*s));
}
