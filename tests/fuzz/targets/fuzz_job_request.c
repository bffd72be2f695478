/* SPDX-License-Identifier: MIT */
/*
 * fuzz_job_request.c - libFuzzer target for the body of POST /v1/jobs:
 * bytes -> jansson as api_body_object reads them -> job_request_parse ->
 * nl_sched_validate, the path every job request from a client takes
 * before anything is stored. Any crash, sanitizer report or leak is a bug.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctld/fault.h"
#include "ctld/job_json.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "store/store.h"

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
static struct nl_tenants *tenants;
static struct nl_sched *sched;

/* The dev facility and the reference tenants: what `nordlysd` runs with by default. */
static void setup(void)
{
    struct nl_facility_spec spec;
    struct nl_err err = {0};
    if (nl_facility_preset("dev", &spec, &err) < 0 || (fac = nl_facility_create(&spec, &err)) == NULL)
        abort();
    tenants = nl_tenants_default(nl_facility_gpus(fac));
    sched = nl_sched_create(fac, tenants, NULL, &err);
    if (tenants == NULL || sched == NULL)
        abort();
}

/*
 * What is stored is read back when the job is launched (agent_proto.c
 * loads command_json and env_json with no flags): it must load as the
 * array and object it was.
 */
static void check_stored(const struct nl_store_job *rec)
{
    json_t *cmd = json_loads(rec->command_json, 0, NULL);
    json_t *env = rec->env_json ? json_loads(rec->env_json, 0, NULL) : json_object();
    if (!json_is_array(cmd) || json_array_size(cmd) == 0 || !json_is_object(env))
        abort();
    json_decref(cmd);
    json_decref(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sched == NULL)
        setup();
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL)
        return 0;
    if (json_is_object(body)) {
        struct nl_store_job rec;
        struct fault f;
        struct nl_err err = {0};
        memset(&f, 0, sizeof(f));
        nl_store_job_init(&rec);
        if (job_request_parse(body, tenants, &rec, &f) == 0) {
            (void)nl_sched_validate(sched, &rec.spec, &err);
            check_stored(&rec);
        }
        else
            check_fault(&f);
        nl_store_job_release(&rec);
    }
    json_decref(body);
    return 0;
}
