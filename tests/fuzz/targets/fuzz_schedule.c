/* SPDX-License-Identifier: MIT */
/*
 * fuzz_schedule.c - libFuzzer target for budget schedules
 * (simpower_schedule_parse, src/sim/simpower.c), as `nordlys sim
 * --budget-schedule` reads a file someone hands it, and for what its
 * expansion lines do: each "+N racks [SITE] [POWER]" is applied to a small
 * facility (nl_facility_grow) under a scheduler with running jobs
 * (nl_sched_grow), whose indexes must still hold at the end; a growth the
 * facility refuses must say why and change nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "sim/simpower.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Racks added by one input at most: a facility of a few thousand racks stays fast. */
#define FUZZ_RACKS_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct simpower_schedule s;
    struct nl_err err = {0};
    if (simpower_schedule_parse((const char *)data, size, "fuzz.txt", &s, &err) < 0) {
        if (err.msg[0] == '\0')
            abort(); /* a refusal always says why */
        return 0;
    }
    if (s.n == 0)
        abort();
    struct nl_facility_spec spec;
    if (nl_facility_preset("dev", &spec, &err) < 0)
        abort();
    struct nl_facility *fac = nl_facility_create(&spec, &err);
    struct nl_tenants *ten = nl_tenants_default(1024);
    struct nl_sched *sch = nl_sched_create(fac, ten, NULL, &err);
    if (fac == NULL || ten == NULL || sch == NULL)
        abort();
    struct nl_job_spec js;
    nl_job_spec_init(&js);
    js.gpus = 12;
    js.time_limit_us = 3600LL * 1000000;
    const struct nl_action *act;
    nl_sched_submit(sch, 1, &js, 0, NULL);
    nl_sched_pass(sch, 0, &act);
    uint64_t added = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.growth[i].racks == 0) {
            nl_sched_set_power_budget(sch, s.budget_w[i]);
            continue;
        }
        if (added + s.growth[i].racks > FUZZ_RACKS_MAX)
            break;
        struct nl_facility_growth g = s.growth[i];
        if (g.site[0] == '\0')
            strcpy(g.site, nl_facility_spec(fac)->sites[nl_facility_nsites(fac) - 1].name);
        uint64_t gpus = nl_facility_gpus(fac);
        err.msg[0] = '\0';
        if (nl_facility_grow(fac, &g, &err) < 0) {
            if (err.msg[0] == '\0' || nl_facility_gpus(fac) != gpus)
                abort(); /* refused: says why, changes nothing */
            continue;
        }
        added += g.racks;
        if (nl_sched_grow(sch, &err) < 0)
            abort();
        js.gpus = 8;
        nl_sched_submit(sch, 2 + i, &js, (int64_t)i, NULL);
        nl_sched_pass(sch, (int64_t)i, &act);
    }
    struct nl_sched_violations v = {0}; /* nl_sched_check adds to it */
    /* The budget may sit below the new idle draw (the schedule sets it): only indexes must hold. */
    if (!nl_sched_check(sch, &v) && (v.double_alloc || v.gang || v.residency || v.quota))
        abort();
    nl_sched_destroy(sch);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
    simpower_schedule_release(&s);
    return 0;
}
