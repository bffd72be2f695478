/* SPDX-License-Identifier: MIT */
/*
 * job.c - the job state machine as one transition table, and job requests.
 *
 * The table is the single authority on which state changes exist; the
 * scheduler asks it before every change and never assigns a state directly.
 */
#include "nordlys/job.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nordlys/err.h"
#include "nordlys/facility.h"

static const char *const state_names[NL_JOB_STATE_COUNT] = {
        [NL_JOB_NONE] = "NONE",           [NL_JOB_PENDING] = "PENDING",
        [NL_JOB_RUNNING] = "RUNNING",     [NL_JOB_PREEMPTING] = "PREEMPTING",
        [NL_JOB_COMPLETED] = "COMPLETED", [NL_JOB_FAILED] = "FAILED",
        [NL_JOB_CANCELLED] = "CANCELLED", [NL_JOB_TIMEOUT] = "TIMEOUT",
        [NL_JOB_NODE_FAIL] = "NODE_FAIL",
};

static const char *const event_names[NL_JEV_COUNT] = {
        [NL_JEV_NONE] = "none",       [NL_JEV_START] = "start",   [NL_JEV_PREEMPT] = "preempt",
        [NL_JEV_REQUEUE] = "requeue", [NL_JEV_COMPLETE] = "complete", [NL_JEV_FAIL] = "fail",
        [NL_JEV_CANCEL] = "cancel",   [NL_JEV_TIMEOUT] = "timeout", [NL_JEV_NODE_FAIL] = "node_fail",
};

/* transitions[from][event] = to; NL_JOB_NONE marks "not allowed". */
static const enum nl_job_state transitions[NL_JOB_STATE_COUNT][NL_JEV_COUNT] = {
        [NL_JOB_PENDING] =
                {
                        [NL_JEV_START] = NL_JOB_RUNNING,
                        [NL_JEV_CANCEL] = NL_JOB_CANCELLED,
                },
        [NL_JOB_RUNNING] =
                {
                        [NL_JEV_PREEMPT] = NL_JOB_PREEMPTING,
                        [NL_JEV_COMPLETE] = NL_JOB_COMPLETED,
                        [NL_JEV_FAIL] = NL_JOB_FAILED,
                        [NL_JEV_CANCEL] = NL_JOB_CANCELLED,
                        [NL_JEV_TIMEOUT] = NL_JOB_TIMEOUT,
                        [NL_JEV_NODE_FAIL] = NL_JOB_NODE_FAIL,
                        [NL_JEV_REQUEUE] = NL_JOB_PENDING, /* node failure of a requeue job */
                },
        [NL_JOB_PREEMPTING] =
                {
                        [NL_JEV_REQUEUE] = NL_JOB_PENDING,
                        [NL_JEV_CANCEL] = NL_JOB_CANCELLED,
                        /* A preempted job that may not requeue ends as it exited. */
                        [NL_JEV_COMPLETE] = NL_JOB_COMPLETED,
                        [NL_JEV_FAIL] = NL_JOB_FAILED,
                        [NL_JEV_TIMEOUT] = NL_JOB_TIMEOUT,
                        [NL_JEV_NODE_FAIL] = NL_JOB_NODE_FAIL,
                },
};

const char *nl_job_state_name(enum nl_job_state s)
{
    if ((unsigned)s >= NL_JOB_STATE_COUNT)
        return "NONE";
    return state_names[s];
}

const char *nl_job_event_name(enum nl_job_event ev)
{
    if ((unsigned)ev >= NL_JEV_COUNT)
        return "none";
    return event_names[ev];
}

int nl_job_state_parse(const char *name, enum nl_job_state *out)
{
    for (int i = NL_JOB_PENDING; i < NL_JOB_STATE_COUNT; i++) {
        if (strcasecmp(name, state_names[i]) == 0) {
            *out = (enum nl_job_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

bool nl_job_state_terminal(enum nl_job_state s)
{
    return s >= NL_JOB_COMPLETED && s < NL_JOB_STATE_COUNT;
}

int nl_job_transition(enum nl_job_state from, enum nl_job_event ev, enum nl_job_state *to,
                      struct nl_err *err)
{
    enum nl_job_state next = NL_JOB_NONE;
    if ((unsigned)from < NL_JOB_STATE_COUNT && (unsigned)ev < NL_JEV_COUNT)
        next = transitions[from][ev];
    if (next == NL_JOB_NONE)
        return nl_err_set(err, -EINVAL, "state: cannot %s a %s job", nl_job_event_name(ev),
                          nl_job_state_name(from));
    *to = next;
    return 0;
}

int nl_residency_parse(const char *text, struct nl_residency *out, struct nl_err *err)
{
    if (strcasecmp(text, "any") == 0) {
        snprintf(out->code, sizeof(out->code), "any");
        return 0;
    }
    if (strcasecmp(text, "EEA") == 0) {
        snprintf(out->code, sizeof(out->code), "EEA");
        return 0;
    }
    if (strlen(text) == 2 && isalpha((unsigned char)text[0]) && isalpha((unsigned char)text[1])) {
        out->code[0] = (char)toupper((unsigned char)text[0]);
        out->code[1] = (char)toupper((unsigned char)text[1]);
        /* Every byte set: a spec is compared and copied as bytes (the simulator's determinism). */
        out->code[2] = '\0';
        out->code[3] = '\0';
        return 0;
    }
    return nl_err_set(err, -EINVAL,
                      "residency: '%s' is not 'any', 'EEA' or a two-letter jurisdiction", text);
}

bool nl_residency_allows(const struct nl_residency *r, const char *jurisdiction, bool eea)
{
    if (strcmp(r->code, "any") == 0 || r->code[0] == '\0')
        return true;
    if (strcmp(r->code, "EEA") == 0)
        return eea;
    return strcmp(r->code, jurisdiction) == 0;
}

int nl_job_shape_resolve(struct nl_job_spec *spec, bool gpus_given, struct nl_err *err)
{
    uint32_t nodes = spec->nodes, gpn = spec->gpus_per_node;
    if (nodes == 0 && gpn == 0)
        return 0;
    if (nodes > NL_JOB_NODES_MAX)
        return nl_err_set(err, -EINVAL, "nodes: %u exceeds %u", nodes, NL_JOB_NODES_MAX);
    if (gpn > NL_GPUS_PER_NODE_MAX)
        return nl_err_set(err, -EINVAL, "gpus_per_node: %u exceeds %u (the most GPUs of any node)",
                          gpn, NL_GPUS_PER_NODE_MAX);
    if (nodes == 0)
        nodes = 1;
    if (gpn == 0) {
        if (gpus_given && spec->gpus % nodes != 0)
            return nl_err_set(err, -EINVAL, "gpus: %u is not a multiple of nodes (%u)", spec->gpus,
                              nodes);
        gpn = gpus_given ? spec->gpus / nodes : 1;
        if (gpn == 0)
            return nl_err_set(err, -EINVAL, "gpus: %u is fewer than nodes (%u)", spec->gpus, nodes);
        if (gpn > NL_GPUS_PER_NODE_MAX)
            return nl_err_set(err, -EINVAL,
                              "gpus: %u over %u nodes is %u per node, more than %u (the most GPUs "
                              "of any node)",
                              spec->gpus, nodes, gpn, NL_GPUS_PER_NODE_MAX);
    }
    if (gpus_given && spec->gpus != nodes * gpn)
        return nl_err_set(err, -EINVAL, "gpus: %u is not nodes x gpus_per_node (%u x %u = %u)",
                          spec->gpus, nodes, gpn, nodes * gpn);
    spec->nodes = nodes;
    spec->gpus_per_node = gpn;
    spec->gpus = nodes * gpn;
    return 0;
}

void nl_job_spec_init(struct nl_job_spec *spec)
{
    memset(spec, 0, sizeof(*spec));
    spec->gpus = 1;
    spec->time_limit_us = 3600LL * 1000000;
    snprintf(spec->residency.code, sizeof(spec->residency.code), "any");
    spec->requeue = true;
    spec->grace_us = 60LL * 1000000;
}
