/* SPDX-License-Identifier: MIT */
/*
 * fuzz_facility.c - libFuzzer target for facility files (nl_facility_parse,
 * the conf.c format beneath it): a spec that parses is checked and built
 * into a facility, and its node names are read back through the name
 * parser the agent protocol uses, as the controller does with a file an
 * operator hands it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nordlys/err.h"
#include "nordlys/facility.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nl_facility_spec spec;
    struct nl_err err = {0};
    if (nl_facility_parse((const char *)data, size, "fuzz.conf", &spec, &err) < 0) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    struct nl_facility *fac = nl_facility_create(&spec, &err);
    if (fac == NULL)
        return 0;
    /* The first and last node's names must find their nodes again. */
    uint32_t nodes = nl_facility_nodes(fac);
    uint32_t probe[2] = {0, nodes ? nodes - 1 : 0};
    for (int i = 0; i < 2 && nodes > 0; i++) {
        char name[256];
        nl_facility_node_name(fac, probe[i], name, sizeof(name));
        int64_t back = nl_facility_node_find(fac, name);
        if (back != (int64_t)probe[i])
            abort();
    }
    nl_facility_destroy(fac);
    return 0;
}
