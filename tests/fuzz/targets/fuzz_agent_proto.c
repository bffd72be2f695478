/* SPDX-License-Identifier: MIT */
/*
 * fuzz_agent_proto.c - libFuzzer target for the controller's side of the
 * agent protocol: a body of POST /v1/agent/register or /v1/agent/sync
 * (read as api_body_object reads it) through agent_proto_parse_register
 * and agent_proto_parse_sync against the dev facility's node names. Both
 * parsers see every input: a register-shaped body is a bad sync and the
 * other way round, and both refusals must be clean.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctld/agent_proto.h"
#include "ctld/fault.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A refusal becomes the API's error object (api.c's error_object packs
 * field and message as JSON strings): both must be valid UTF-8, or the
 * client gets an empty body instead of the reason.
 */
static void check_fault(const struct fault *f)
{
    if (f->code == NULL || f->msg[0] == '\0')
        abort(); /* a refusal must say why */
    json_t *e = json_pack("{s:s, s:s, s:s}", "code", f->code, "field", f->field, "message", f->msg);
    if (e == NULL) {
        fprintf(stderr, "fault not valid UTF-8: field '%s' message '%s'\n", f->field, f->msg);
        abort();
    }
    json_decref(e);
}

static struct nl_facility *fac;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fac == NULL) {
        struct nl_facility_spec spec;
        struct nl_err err = {0};
        if (nl_facility_preset("dev", &spec, &err) < 0 ||
            (fac = nl_facility_create(&spec, &err)) == NULL)
            abort();
    }
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL)
        return 0;
    if (json_is_object(body)) {
        struct fault f;
        memset(&f, 0, sizeof(f));
        struct agent_proto_register r;
        /* As agents.c: a refused registration leaves nothing to release. */
        if (agent_proto_parse_register(body, fac, &r, &f) == 0)
            agent_proto_register_release(&r);
        else
            check_fault(&f);

        memset(&f, 0, sizeof(f));
        struct agent_proto_sync m;
        memset(&m, 0, sizeof(m));
        if (agent_proto_parse_sync(body, fac, &m, &f) < 0)
            check_fault(&f);
        agent_proto_sync_release(&m); /* as agents.c: released either way */
    }
    json_decref(body);
    return 0;
}
