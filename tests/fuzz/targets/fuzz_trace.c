/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trace.c - libFuzzer target for trace files: the CSV rows
 * (trace_parse) and the whole fit onto a facility
 * (nl_workload_parse_trace), at its own arrival times and scaled to a
 * load, as `nordlys sim --trace` reads a file someone hands it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/tenant.h"
#include "sim/trace.h"
#include "sim/workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nl_facility *fac;
static struct nl_tenants *tenants;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fac == NULL) {
        struct nl_facility_spec spec;
        struct nl_err err = {0};
        if (nl_facility_preset("dev", &spec, &err) < 0 ||
            (fac = nl_facility_create(&spec, &err)) == NULL ||
            (tenants = nl_tenants_default(nl_facility_gpus(fac))) == NULL)
            abort();
    }
    const char *text = (const char *)data;
    struct nl_err err = {0};
    struct trace_row *rows = NULL;
    size_t n = 0;
    if (trace_parse(text, size, "fuzz.csv", 0, &rows, &n, &err) == 0) {
        if (n == 0)
            abort();
        free(rows);
    } else if (err.msg[0] == '\0' || rows != NULL) {
        abort();
    }

    static const double loads[] = {0, 0.9};
    for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
        struct nl_workload_opts o = {.load = loads[i], .seed = 7};
        struct nl_workload w;
        nl_err_clear(&err);
        if (nl_workload_parse_trace(text, size, "fuzz.csv", fac, tenants, &o, &w, &err) == 0) {
            for (size_t k = 1; k < w.n; k++)
                if (w.jobs[k].submit_us < w.jobs[k - 1].submit_us)
                    abort(); /* sorted by submit time, as promised */
            nl_workload_release(&w);
        } else if (err.msg[0] == '\0') {
            abort();
        }
    }
    return 0;
}
