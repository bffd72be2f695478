/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tenants.c - libFuzzer target for tenants files (nl_tenants_parse,
 * the conf.c format beneath it). A set that parses must find each of its
 * tenants again by name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "nordlys/err.h"
#include "nordlys/tenant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nl_err err = {0};
    struct nl_tenants *t = nl_tenants_parse((const char *)data, size, "fuzz.conf", &err);
    if (t == NULL) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    size_t n = nl_tenants_count(t);
    for (uint32_t i = 0; i < (uint32_t)n; i++)
        if (nl_tenants_find(t, nl_tenants_get(t, i)->name) != (int)i)
            abort();
    nl_tenants_destroy(t);
    return 0;
}
