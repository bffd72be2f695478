/* SPDX-License-Identifier: MIT */
/*
 * agent_proto.c - the JSON of the agent protocol (see agent_proto.h).
 *
 * A body is checked completely before anything is applied, so a malformed
 * one changes nothing.
 */
#include "agent_proto.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "common/outpat.h"
#include "common/proto_limits.h"
#include "common/xalloc.h"
#include "ctld/fault.h"
#include "ctld/life.h"
#include "ctld/nodes.h"
#include "nordlys/facility.h"
#include "store/store.h"

/* ---- POST /v1/agent/register ---- */

/* An agent name: people read it in logs and `nordlys nodes`, so no control characters. */
static int check_agent_id(const json_t *v, const char *field, struct fault *f)
{
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > NL_PROTO_AGENT_ID_MAX ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        f->code = v ? "invalid_field" : "missing_field";
        snprintf(f->field, sizeof(f->field), "%s", field);
        snprintf(f->msg, sizeof(f->msg), "%s: expected a string of 1..%d bytes", field,
                 NL_PROTO_AGENT_ID_MAX);
        return -EINVAL;
    }
    const char *s = json_string_value(v);
    for (size_t i = 0; s[i] != '\0'; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            f->code = "invalid_field";
            snprintf(f->field, sizeof(f->field), "%s", field);
            snprintf(f->msg, sizeof(f->msg), "%s: control character (\\x%02x) at byte %zu", field,
                     (unsigned)(unsigned char)s[i], i);
            return -EINVAL;
        }
    return 0;
}

/*
 * The optional output root: the absolute directory under which the agent
 * puts relative output paths (its --output-root), so that the JOB object
 * can show where a job's output is. No control characters: people read it.
 */
static int check_output_root(const json_t *v, struct fault *f)
{
    if (v == NULL)
        return 0;
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t len = json_is_string(v) ? json_string_length(v) : 0;
    bool ok = len >= 1 && len <= NL_PROTO_PATH_MAX && strlen(s) == len && s[0] == '/';
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
    if (ok)
        return 0;
    f->code = "invalid_field";
    snprintf(f->field, sizeof(f->field), "output_root");
    snprintf(f->msg, sizeof(f->msg),
             "output_root: expected an absolute path of at most %u bytes, without control "
             "characters",
             NL_PROTO_PATH_MAX);
    return -EINVAL;
}

/* The optional instance: 1..NL_PROTO_INSTANCE_MAX hex digits, kept in lower case in out. */
static int check_instance(const json_t *v, char *out, struct fault *f)
{
    out[0] = '\0';
    if (v == NULL)
        return 0;
    size_t len = json_is_string(v) ? json_string_length(v) : 0;
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    bool ok = len >= 1 && len <= NL_PROTO_INSTANCE_MAX && strlen(s) == len;
    for (size_t i = 0; ok && i < len; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
             (s[i] >= 'A' && s[i] <= 'F');
    if (!ok) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "instance");
        snprintf(f->msg, sizeof(f->msg), "instance: expected a string of 1..%d hex digits",
                 NL_PROTO_INSTANCE_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i <= len; i++)
        out[i] = (char)((s[i] >= 'A' && s[i] <= 'F') ? s[i] - 'A' + 'a' : s[i]);
    return 0;
}

static int node_arg(const struct nl_facility *fac, const json_t *v, const char *field,
                    uint32_t *node, struct fault *f)
{
    int64_t idx = json_is_string(v) ? nl_facility_node_find(fac, json_string_value(v)) : -1;
    if (idx < 0) {
        f->code = v ? "invalid_field" : "missing_field";
        snprintf(f->field, sizeof(f->field), "%s", field);
        if (json_is_string(v)) {
            char shown[128];
            fault_escape(json_string_value(v), 80, shown, sizeof(shown));
            snprintf(f->msg, sizeof(f->msg), "%.40s: unknown node '%s'", field, shown);
        } else
            snprintf(f->msg, sizeof(f->msg), "%s: expected a node name", field);
        return -EINVAL;
    }
    *node = (uint32_t)idx;
    return 0;
}

/* Parse the node list into a new array (*out, free()); -EINVAL with f on the first bad entry. */
static int parse_node_list(const struct nl_facility *fac, const json_t *v, uint32_t **out,
                           size_t *n, struct fault *f)
{
    *out = NULL;
    *n = 0;
    uint32_t max = nl_facility_nodes(fac);
    if (max > NL_PROTO_NODES_MAX)
        max = NL_PROTO_NODES_MAX;
    if (!json_is_array(v) || json_array_size(v) > max) {
        f->code = v ? "invalid_field" : "missing_field";
        snprintf(f->field, sizeof(f->field), "nodes");
        snprintf(f->msg, sizeof(f->msg), "nodes: expected an array of at most %u node names", max);
        return -EINVAL;
    }
    size_t count = json_array_size(v);
    uint32_t *nodes = xcalloc(count ? count : 1, sizeof(*nodes));
    uint8_t *seen = xcalloc(nl_facility_nodes(fac) / 8 + 1, 1);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char field[32];
        snprintf(field, sizeof(field), "nodes[%zu]", i);
        rc = node_arg(fac, json_array_get(v, i), field, &nodes[i], f);
        if (rc == 0 && (seen[nodes[i] / 8] & (1u << (nodes[i] % 8)))) {
            f->code = "invalid_field";
            snprintf(f->field, sizeof(f->field), "%s", field);
            snprintf(f->msg, sizeof(f->msg), "%s: listed twice", field);
            rc = -EINVAL;
        }
        if (rc == 0)
            seen[nodes[i] / 8] |= (uint8_t)(1u << (nodes[i] % 8));
    }
    free(seen);
    if (rc < 0) {
        free(nodes);
        return rc;
    }
    *out = nodes;
    *n = count;
    return 0;
}

int agent_proto_parse_register(const json_t *body, const struct nl_facility *fac,
                               struct agent_proto_register *out, struct fault *f)
{
    static const char *const keys[] = {"agent",    "nodes",       "emulated",
                                       "instance", "output_root", NULL};
    memset(out, 0, sizeof(*out));
    const json_t *em = json_object_get(body, "emulated");
    if (fault_check_keys(body, keys, "", f) < 0 ||
        check_agent_id(json_object_get(body, "agent"), "agent", f) < 0 ||
        check_instance(json_object_get(body, "instance"), out->instance, f) < 0 ||
        check_output_root(json_object_get(body, "output_root"), f) < 0 ||
        parse_node_list(fac, json_object_get(body, "nodes"), &out->nodes, &out->nnodes, f) < 0)
        return -EINVAL;
    if (em != NULL && !json_is_boolean(em)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "emulated");
        snprintf(f->msg, sizeof(f->msg), "emulated: expected true or false");
        agent_proto_register_release(out);
        return -EINVAL;
    }
    out->agent = json_string_value(json_object_get(body, "agent"));
    out->output_root = json_string_value(json_object_get(body, "output_root"));
    out->emulated = json_is_true(em);
    return 0;
}

void agent_proto_register_release(struct agent_proto_register *r)
{
    free(r->nodes);
    r->nodes = NULL;
    r->nnodes = 0;
}

json_t *agent_proto_register_answer(const char *agent_id, uint64_t sync_interval_ms,
                                    uint64_t node_timeout_ms)
{
    return json_pack("{s:s, s:I, s:I}", "agent_id", agent_id, "sync_interval_ms",
                     (json_int_t)sync_interval_ms, "node_timeout_ms", (json_int_t)node_timeout_ms);
}

/* ---- POST /v1/agent/sync ---- */

static int job_id_arg(const json_t *v, const char *field, uint64_t *id, struct fault *f)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        f->code = v ? "invalid_field" : "missing_field";
        snprintf(f->field, sizeof(f->field), "%s", field);
        snprintf(f->msg, sizeof(f->msg), "%s: expected a job id (a positive integer)", field);
        return -EINVAL;
    }
    *id = (uint64_t)json_integer_value(v);
    return 0;
}

/*
 * A run number: 1 .. 2^31. Required, because a report that does not say
 * which run it is about cannot tell a stale process from the current one.
 */
static int run_arg(const json_t *v, const char *field, uint32_t *run, struct fault *f)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > NL_PROTO_RUN_MAX) {
        f->code = v ? "invalid_field" : "missing_field";
        snprintf(f->field, sizeof(f->field), "%s", field);
        snprintf(f->msg, sizeof(f->msg), "%s: expected a run number (a positive integer)", field);
        return -EINVAL;
    }
    *run = (uint32_t)json_integer_value(v);
    return 0;
}

/*
 * One entry of running[]. The field names ("running[7].node") are built
 * only when the entry is at fault: an agent standing for 25,000 nodes lists
 * every running rank five times a second, and formatting four names per
 * entry was a tenth of the controller's time in a sync.
 */
static int running_one(const struct nl_facility *fac, const json_t *e, const char *prefix,
                       struct agent_proto_seen *s, struct fault *f)
{
    static const char *const keys[] = {"job", "run", "node", NULL};
    char job[48] = "job", run[48] = "run", node[48] = "node";
    if (prefix != NULL) {
        snprintf(job, sizeof(job), "%sjob", prefix);
        snprintf(run, sizeof(run), "%srun", prefix);
        snprintf(node, sizeof(node), "%snode", prefix);
    }
    if (fault_check_keys(e, keys, prefix ? prefix : "", f) < 0 ||
        job_id_arg(json_object_get(e, "job"), job, &s->job, f) < 0 ||
        run_arg(json_object_get(e, "run"), run, &s->run, f) < 0)
        return -EINVAL;
    return node_arg(fac, json_object_get(e, "node"), node, &s->node, f);
}

static int parse_running(const struct nl_facility *fac, const json_t *v, struct agent_proto_sync *m,
                         struct fault *f)
{
    size_t n = json_array_size(v);
    m->running = xcalloc(n ? n : 1, sizeof(*m->running));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        char prefix[40];
        if (!json_is_object(e)) {
            f->code = "invalid_field";
            snprintf(f->field, sizeof(f->field), "running[%zu]", i);
            snprintf(f->msg, sizeof(f->msg), "running[%zu]: expected an object", i);
            return -EINVAL;
        }
        /* First without names; a fault is checked again with them, for the error. */
        if (running_one(fac, e, NULL, &m->running[i], f) < 0) {
            snprintf(prefix, sizeof(prefix), "running[%zu].", i);
            return running_one(fac, e, prefix, &m->running[i], f);
        }
        m->nrunning++;
    }
    return 0;
}

static int exit_number(const json_t *e, const char *key, const char *prefix, bool integer,
                       double *out, struct fault *f)
{
    const json_t *v = json_object_get(e, key);
    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (integer ? !json_is_integer(v) : !json_is_number(v)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "%s%s", prefix, key);
        snprintf(f->msg, sizeof(f->msg), "%s: expected %s", f->field,
                 integer ? "an integer" : "a number");
        return -EINVAL;
    }
    *out = json_number_value(v);
    return 0;
}

/*
 * The optional reason (why a launch failed): a string of 1..NL_PROTO_EXIT_REASON_MAX
 * bytes; *out borrows it from e.
 */
static int exit_reason(const json_t *e, const char *prefix, const char **out, struct fault *f)
{
    const json_t *v = json_object_get(e, "reason");
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > NL_PROTO_EXIT_REASON_MAX ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "%sreason", prefix);
        snprintf(f->msg, sizeof(f->msg), "%s: expected a string of 1..%d bytes", f->field,
                 NL_PROTO_EXIT_REASON_MAX);
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

static int parse_exit(const struct nl_facility *fac, const json_t *e, const char *prefix,
                      struct life_exit *x, struct fault *f)
{
    static const char *const keys[] = {"job",        "run",      "node",   "exit_code",
                                       "signal",     "timeout",  "cpu_s",  "max_rss_kb",
                                       "start_time", "end_time", "reason", NULL};
    char field[64];
    double code, sig, cpu, rss, t;
    if (fault_check_keys(e, keys, prefix, f) < 0)
        return -EINVAL;
    snprintf(field, sizeof(field), "%sjob", prefix);
    if (job_id_arg(json_object_get(e, "job"), field, &x->job, f) < 0)
        return -EINVAL;
    snprintf(field, sizeof(field), "%srun", prefix);
    if (run_arg(json_object_get(e, "run"), field, &x->run, f) < 0)
        return -EINVAL;
    snprintf(field, sizeof(field), "%snode", prefix);
    if (node_arg(fac, json_object_get(e, "node"), field, &x->node, f) < 0)
        return -EINVAL;
    if (exit_reason(e, prefix, &x->reason, f) < 0)
        return -EINVAL;
    if (exit_number(e, "exit_code", prefix, true, &code, f) < 0 ||
        exit_number(e, "signal", prefix, true, &sig, f) < 0 ||
        exit_number(e, "cpu_s", prefix, false, &cpu, f) < 0 ||
        exit_number(e, "max_rss_kb", prefix, true, &rss, f) < 0 ||
        exit_number(e, "start_time", prefix, false, &t, f) < 0 ||
        exit_number(e, "end_time", prefix, false, &t, f) < 0)
        return -EINVAL;
    const json_t *to = json_object_get(e, "timeout");
    if (to != NULL && !json_is_boolean(to)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "%stimeout", prefix);
        snprintf(f->msg, sizeof(f->msg), "%s: expected true or false", f->field);
        return -EINVAL;
    }
    /* The casts below are undefined outside their types' ranges: refuse such numbers. */
    const char *big = code < INT_MIN || code > INT_MAX ? "exit_code"
                      : sig < INT_MIN || sig > INT_MAX ? "signal"
                      : rss >= 0x1p63                  ? "max_rss_kb"
                                                       : NULL;
    if (big != NULL) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "%s%s", prefix, big);
        snprintf(f->msg, sizeof(f->msg), "%s: out of range", f->field);
        return -EINVAL;
    }
    x->exit_code = (int)code;
    x->signal = (int)sig;
    x->timeout = json_is_true(to);
    x->cpu_s = cpu;
    x->max_rss_kb = (int64_t)rss;
    return 0;
}

static int parse_exits(const struct nl_facility *fac, const json_t *v, struct agent_proto_sync *m,
                       struct fault *f)
{
    size_t n = json_array_size(v);
    m->exits = xcalloc(n ? n : 1, sizeof(*m->exits));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        char prefix[40];
        snprintf(prefix, sizeof(prefix), "exits[%zu].", i);
        if (!json_is_object(e)) {
            f->code = "invalid_field";
            snprintf(f->field, sizeof(f->field), "exits[%zu]", i);
            snprintf(f->msg, sizeof(f->msg), "exits[%zu]: expected an object", i);
            return -EINVAL;
        }
        if (parse_exit(fac, e, prefix, &m->exits[i], f) < 0)
            return -EINVAL;
        m->nexits++;
    }
    return 0;
}

/* An optional array of at most NL_PROTO_SYNC_ENTRIES_MAX entries. */
static int array_field(const json_t *body, const char *key, struct fault *f)
{
    const json_t *v = json_object_get(body, key);
    if (v == NULL || (json_is_array(v) && json_array_size(v) <= NL_PROTO_SYNC_ENTRIES_MAX))
        return 0;
    f->code = "invalid_field";
    snprintf(f->field, sizeof(f->field), "%s", key);
    snprintf(f->msg, sizeof(f->msg), "%s: expected an array of at most %u entries", key,
             NL_PROTO_SYNC_ENTRIES_MAX);
    return -EINVAL;
}

static int parse_seq(const json_t *body, struct agent_proto_sync *m, struct fault *f)
{
    const json_t *seq = json_object_get(body, "seq"), *full = json_object_get(body, "full");
    if (seq != NULL && (!json_is_integer(seq) || json_integer_value(seq) < 0)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "seq");
        snprintf(f->msg, sizeof(f->msg), "seq: expected an integer >= 0");
        return -EINVAL;
    }
    if (full != NULL && !json_is_boolean(full)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "full");
        snprintf(f->msg, sizeof(f->msg), "full: expected true or false");
        return -EINVAL;
    }
    m->has_seq = seq != NULL;
    m->seq = seq ? (uint64_t)json_integer_value(seq) : 0;
    m->full = full == NULL || json_is_true(full);
    return 0;
}

/* A GPU reading array "key" of e: up to 8 numbers >= 0 (absent: zeros); -EINVAL naming it. */
static int power_numbers(const json_t *e, const char *key, size_t i, bool required, double *out,
                         uint32_t *n, struct fault *f)
{
    const json_t *v = json_object_get(e, key);
    if (v == NULL && !required)
        return 0;
    size_t k = json_array_size(v);
    bool ok = json_is_array(v) && k >= 1 && k <= 8;
    for (size_t g = 0; ok && g < k; g++)
        ok = json_is_number(json_array_get(v, g)) && json_number_value(json_array_get(v, g)) >= 0;
    if (!ok) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "power[%zu].%s", i, key);
        snprintf(f->msg, sizeof(f->msg), "%s: expected 1 to 8 numbers >= 0", f->field);
        return -EINVAL;
    }
    for (size_t g = 0; g < k; g++)
        out[g] = json_number_value(json_array_get(v, g));
    if (n != NULL)
        *n = (uint32_t)k;
    return 0;
}

static int parse_power(const struct nl_facility *fac, const json_t *v, struct agent_proto_sync *m,
                       struct fault *f)
{
    if (v == NULL)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > NL_PROTO_NODES_MAX) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "power");
        snprintf(f->msg, sizeof(f->msg), "power: expected an array of at most %u nodes",
                 (unsigned)NL_PROTO_NODES_MAX);
        return -EINVAL;
    }
    size_t n = json_array_size(v);
    m->power = xcalloc(n ? n : 1, sizeof(*m->power));
    static const char *const keys[] = {"node", "w", "j", "l", "t", NULL};
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        struct agent_proto_power *p = &m->power[i];
        char prefix[40], node[48];
        snprintf(prefix, sizeof(prefix), "power[%zu].", i);
        snprintf(node, sizeof(node), "power[%zu].node", i);
        if (!json_is_object(e) || fault_check_keys(e, keys, prefix, f) < 0 ||
            node_arg(fac, json_object_get(e, "node"), node, &p->node, f) < 0 ||
            power_numbers(e, "w", i, true, p->w, &p->ngpus, f) < 0 ||
            power_numbers(e, "j", i, false, p->j, NULL, f) < 0 ||
            power_numbers(e, "l", i, false, p->limit, NULL, f) < 0 ||
            power_numbers(e, "t", i, false, p->temp, NULL, f) < 0) {
            if (!json_is_object(e)) {
                f->code = "invalid_field";
                snprintf(f->field, sizeof(f->field), "power[%zu]", i);
                snprintf(f->msg, sizeof(f->msg), "power[%zu]: expected an object", i);
            }
            return -EINVAL;
        }
        m->npower++;
    }
    return 0;
}

/*
 * One output[] entry (issue 12): its data is base64 of at most
 * NL_PROTO_OUTPUT_CHUNK_MAX bytes, decoded at *used in m->outbuf.
 */
static int parse_output_one(const struct nl_facility *fac, const json_t *e, size_t i,
                            struct agent_proto_output *o, uint8_t *buf, struct fault *f)
{
    static const char *const keys[] = {"job", "run", "node", "stream", "offset", "data", NULL};
    char prefix[48], field[64];
    snprintf(prefix, sizeof(prefix), "output[%zu].", i);
    if (!json_is_object(e)) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "output[%zu]", i);
        snprintf(f->msg, sizeof(f->msg), "output[%zu]: expected an object", i);
        return -EINVAL;
    }
    if (fault_check_keys(e, keys, prefix, f) < 0)
        return -EINVAL;
    snprintf(field, sizeof(field), "%sjob", prefix);
    if (job_id_arg(json_object_get(e, "job"), field, &o->job, f) < 0)
        return -EINVAL;
    snprintf(field, sizeof(field), "%srun", prefix);
    if (run_arg(json_object_get(e, "run"), field, &o->run, f) < 0)
        return -EINVAL;
    snprintf(field, sizeof(field), "%snode", prefix);
    if (node_arg(fac, json_object_get(e, "node"), field, &o->node, f) < 0)
        return -EINVAL;
    const char *stream = json_string_value(json_object_get(e, "stream"));
    const json_t *off = json_object_get(e, "offset"), *data = json_object_get(e, "data");
    const char *bad = NULL;
    if (stream == NULL || (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0))
        bad = "stream";
    else if (!json_is_integer(off) || json_integer_value(off) < 0)
        bad = "offset";
    else if (!json_is_string(data) ||
             json_string_length(data) > (NL_PROTO_OUTPUT_CHUNK_MAX + 2) / 3 * 4)
        bad = "data";
    long n = bad ? -1 : b64_decode(json_string_value(data), json_string_length(data), buf);
    if (bad == NULL && n < 0)
        bad = "data";
    if (bad != NULL) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "%s%s", prefix, bad);
        snprintf(f->msg, sizeof(f->msg), "%s: expected %s", f->field,
                 strcmp(bad, "stream") == 0   ? "\"stdout\" or \"stderr\""
                 : strcmp(bad, "offset") == 0 ? "an integer >= 0"
                                              : "base64 of at most 65536 bytes");
        return -EINVAL;
    }
    o->stream = strcmp(stream, "stderr") == 0;
    o->offset = (uint64_t)json_integer_value(off);
    o->data = buf;
    o->len = (size_t)n;
    return 0;
}

static int parse_output(const struct nl_facility *fac, const json_t *v, struct agent_proto_sync *m,
                        struct fault *f)
{
    size_t n = json_array_size(v), total = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_object_get(json_array_get(v, i), "data");
        total += json_is_string(d) ? json_string_length(d) / 4 * 3 : 0;
    }
    if (total > NL_PROTO_OUTPUT_SYNC_MAX + NL_PROTO_OUTPUT_CHUNK_MAX) {
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "output");
        snprintf(f->msg, sizeof(f->msg), "output: more than %u bytes in one sync",
                 NL_PROTO_OUTPUT_SYNC_MAX);
        return -EINVAL;
    }
    m->output = xcalloc(n ? n : 1, sizeof(*m->output));
    m->outbuf = xmalloc(total ? total : 1);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (parse_output_one(fac, json_array_get(v, i), i, &m->output[i], m->outbuf + used, f) < 0)
            return -EINVAL;
        used += m->output[i].len;
        m->noutput++;
    }
    return 0;
}

int agent_proto_parse_sync(const json_t *body, const struct nl_facility *fac,
                           struct agent_proto_sync *m, struct fault *f)
{
    static const char *const keys[] = {"agent_id", "running", "exits", "seq",
                                       "full",     "output",  "power", NULL};
    const json_t *id = json_object_get(body, "agent_id");
    if (fault_check_keys(body, keys, "", f) < 0 || check_agent_id(id, "agent_id", f) < 0 ||
        parse_seq(body, m, f) < 0 || array_field(body, "running", f) < 0 ||
        array_field(body, "exits", f) < 0 ||
        parse_running(fac, json_object_get(body, "running"), m, f) < 0 ||
        parse_exits(fac, json_object_get(body, "exits"), m, f) < 0 ||
        array_field(body, "output", f) < 0 ||
        parse_output(fac, json_object_get(body, "output"), m, f) < 0 ||
        parse_power(fac, json_object_get(body, "power"), m, f) < 0)
        return -EINVAL;
    m->agent_id = json_string_value(id);
    return 0;
}

void agent_proto_sync_release(struct agent_proto_sync *s)
{
    free(s->running);
    free(s->exits);
    free(s->power);
    free(s->output);
    free(s->outbuf);
    memset(s, 0, sizeof(*s));
}

/* ---- answers ---- */

static json_t *gpu_list(uint8_t mask, char *cvd, size_t size);

struct agent_proto_answer {
    const struct nl_facility *fac;
    bool allow_root;
    json_t *launch, *kill, *hold, *caps;
    json_t *signal, *limit; /* controls (issue 12), NULL while there are none */
};

struct agent_proto_answer *agent_proto_answer_create(const struct nl_facility *fac, bool allow_root)
{
    struct agent_proto_answer *a = xcalloc(1, sizeof(*a));
    a->fac = fac;
    a->allow_root = allow_root;
    a->launch = json_array();
    a->kill = json_array();
    a->caps = json_array();
    return a;
}

void agent_proto_answer_cap(struct agent_proto_answer *a, uint32_t node, uint64_t job, uint8_t mask,
                            double cap_w)
{
    char name[96], cvd[32];
    nl_facility_node_name(a->fac, node, name, sizeof(name));
    json_array_append_new(a->caps, json_pack("{s:I, s:s, s:o, s:f}", "job", (json_int_t)job, "node",
                                             name, "gpus", gpu_list(mask, cvd, sizeof(cvd)),
                                             "cap_w", cap_w));
}

static json_t *gpu_list(uint8_t mask, char *cvd, size_t size)
{
    json_t *a = json_array();
    size_t n = 0;
    cvd[0] = '\0';
    for (int g = 0; g < 8; g++)
        if (mask & (1u << g)) {
            json_array_append_new(a, json_integer(g));
            n += (size_t)snprintf(cvd + n, size - n, "%s%d", n ? "," : "", g);
        }
    return a;
}

/*
 * The environment of a rank (one node of the run): the request's
 * (env_json, as stored) and ours over it. What torch.distributed's env://
 * rendezvous and torchrun read, for every job (a one-node job too), with
 * NORDLYS_* names that say the same for programs that must not confuse
 * them with a launcher's own. The world is the job's tasks: nnodes x
 * tasks_per_node. The per-task values (RANK, LOCAL_RANK, the task's GPUs)
 * are task 0's here, which is all an agent before tasks runs; each task's
 * own are in the launch's "tasks" (task_envs). docs/users.md has the table.
 */
static json_t *launch_env(const struct life_launch *l, const char *env_json, const char *cvd,
                          uint32_t tpn)
{
    json_t *env = env_json ? json_loads(env_json, 0, NULL) : NULL;
    if (!json_is_object(env)) {
        json_decref(env);
        env = json_object();
    }
    char buf[32];
    json_object_set_new(env, "CUDA_VISIBLE_DEVICES", json_string(cvd));
    json_object_set_new(env, "NORDLYS_NODE_GPUS", json_string(cvd));
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)l->job);
    json_object_set_new(env, "NORDLYS_JOB_ID", json_string(buf));
    snprintf(buf, sizeof(buf), "%u", l->run);
    json_object_set_new(env, "NORDLYS_RUN", json_string(buf));
    json_object_set_new(env, "NORDLYS_NODELIST", json_string(l->nodelist ? l->nodelist : ""));
    json_object_set_new(env, "MASTER_ADDR", json_string(l->master_addr));
    snprintf(buf, sizeof(buf), "%u", l->master_port);
    json_object_set_new(env, "MASTER_PORT", json_string(buf));
    static const char *const node_vars[] = {"NODE_RANK", "GROUP_RANK", "NORDLYS_NODE_RANK"};
    snprintf(buf, sizeof(buf), "%u", l->rank);
    for (size_t i = 0; i < sizeof(node_vars) / sizeof(node_vars[0]); i++)
        json_object_set_new(env, node_vars[i], json_string(buf));
    snprintf(buf, sizeof(buf), "%u", l->nnodes);
    json_object_set_new(env, "NORDLYS_NNODES", json_string(buf));
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)l->nnodes * tpn);
    json_object_set_new(env, "WORLD_SIZE", json_string(buf));
    json_object_set_new(env, "NORDLYS_WORLD_SIZE", json_string(buf));
    snprintf(buf, sizeof(buf), "%u", tpn);
    json_object_set_new(env, "LOCAL_WORLD_SIZE", json_string(buf));
    json_object_set_new(env, "NORDLYS_TASKS_PER_NODE", json_string(buf));
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)l->rank * tpn);
    json_object_set_new(env, "RANK", json_string(buf));
    json_object_set_new(env, "NORDLYS_RANK", json_string(buf));
    json_object_set_new(env, "LOCAL_RANK", json_string("0"));
    json_object_set_new(env, "NORDLYS_LOCAL_RANK", json_string("0"));
    json_object_set_new(env, "NORDLYS_GPUS", json_string(cvd));
    return env;
}

/*
 * Each task's additions to its rank's environment: its global and local
 * rank, and its share of the node's GPUs. When tpn divides the node's k
 * GPUs, task i sees GPUs [i k/tpn, (i+1) k/tpn) of the node's list (its
 * own, as srun --gpus-per-task would give); otherwise every task sees all
 * of them and picks by LOCAL_RANK, as torchrun's workers do.
 */
static json_t *task_envs(const struct life_launch *l, uint32_t tpn, uint8_t mask)
{
    int gpus[8];
    int k = 0;
    for (int g = 0; g < 8; g++)
        if (mask & (1u << g))
            gpus[k++] = g;
    json_t *a = json_array();
    for (uint32_t i = 0; i < tpn; i++) {
        char rank[24], local[16], cvd[32] = "";
        snprintf(rank, sizeof(rank), "%llu", (unsigned long long)l->rank * tpn + i);
        snprintf(local, sizeof(local), "%u", i);
        int lo = 0, hi = k;
        if (k > 0 && (uint32_t)k % tpn == 0) {
            lo = (int)(i * ((uint32_t)k / tpn));
            hi = lo + (int)((uint32_t)k / tpn);
        }
        size_t n = 0;
        for (int g = lo; g < hi; g++)
            n += (size_t)snprintf(cvd + n, sizeof(cvd) - n, "%s%d", n ? "," : "", gpus[g]);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "RANK", rank,
                                           "NORDLYS_RANK", rank, "LOCAL_RANK", local,
                                           "NORDLYS_LOCAL_RANK", local, "CUDA_VISIBLE_DEVICES", cvd,
                                           "NORDLYS_GPUS", cvd));
    }
    return a;
}

/*
 * An output path for the agent: the stored pattern (its %j and %x were
 * expanded at submission) with %a now; %t and %% are the agent's. A job
 * outside an array has index 0.
 */
static json_t *launch_output(const char *stored, const struct nl_store_job *rec)
{
    if (stored == NULL)
        return json_string("/dev/null");
    char buf[NL_PROTO_PATH_MAX], index[16] = "0";
    if (rec->array_job != 0)
        snprintf(index, sizeof(index), "%u", rec->array_index);
    struct nl_outpat_vals pv = {.array = index, .task = -1};
    if (nl_outpat_expand(stored, &pv, buf, sizeof(buf)) < 0)
        return json_string(stored);
    return json_string(buf);
}

void agent_proto_answer_launch(struct agent_proto_answer *a, const struct life_launch *l)
{
    const struct nl_store_job *rec = l->rec;
    char name[96], cvd[32];
    nl_facility_node_name(a->fac, l->node, name, sizeof(name));
    json_t *cmd = json_loads(rec->command_json, 0, NULL);
    json_t *gpus = gpu_list(l->gpu_mask, cvd, sizeof(cvd));
    uint32_t tpn = rec->tasks_per_node > 0 ? rec->tasks_per_node : 1;
    json_t *o = json_pack(
            "{s:o, s:o, s:s, s:o, s:o, s:f, s:f, s:I, s:I, s:s, s:o}", "command",
            cmd ? cmd : json_array(), "env", launch_env(l, rec->env_json, cvd, tpn), "cwd",
            rec->cwd ? rec->cwd : "/", "stdout", launch_output(rec->stdout_path, rec), "stderr",
            launch_output(rec->stderr_path, rec), "time_limit_s", (double)rec->spec.time_limit_us / 1e6,
            "grace_s", (double)rec->spec.grace_us / 1e6, "job", (json_int_t)l->job, "run",
            (json_int_t)l->run, "node", name, "gpus", gpus);
    /*
     * Its tasks (docs/agent.md): one process each, with these additions to
     * env; "task_base" numbers them (%t, labels) in the job; "label" asks
     * for one stream whose lines say their task, which a job of one task
     * does without. Only rank 0's task 0 reads the job's input.
     */
    if (o != NULL) {
        json_object_set_new(o, "tasks", task_envs(l, tpn, l->gpu_mask));
        json_object_set_new(o, "task_base", json_integer((json_int_t)l->rank * tpn));
        json_object_set_new(o, "label", json_boolean((uint64_t)l->nnodes * tpn > 1));
        if (l->rank == 0 && rec->input_path != NULL)
            json_object_set_new(o, "input", json_string(rec->input_path));
    }
    /* The job's cgroup limits on each node; absent = no limit. */
    if (o != NULL && rec->memory_max_bytes > 0)
        json_object_set_new(o, "memory_max_bytes", json_integer((json_int_t)rec->memory_max_bytes));
    if (o != NULL && rec->pids_max > 0)
        json_object_set_new(o, "pids_max", json_integer((json_int_t)rec->pids_max));
    /* Whose data the node's scratch will hold, for the agent's wipe between tenants. */
    if (o != NULL) {
        json_object_set_new(o, "tenant", json_string(rec->tenant));
        json_object_set_new(o, "sensitive", json_boolean(rec->spec.sensitive));
    }
    /*
     * The account the agent runs the job as (the submitter's token's
     * unix_user, else its sub); jobs stored before tokens have none, and
     * the agent then runs them as itself. Root only with the admin's
     * --allow-root-jobs: the agent refuses a root job without it.
     */
    if (o != NULL && rec->run_as[0] != '\0')
        json_object_set_new(o, "user", json_string(rec->run_as));
    if (o != NULL)
        json_object_set_new(o, "allow_root", json_boolean(a->allow_root));
    /* What the job is expected to draw per GPU: an emulated GPU models it (docs/power.md). */
    if (o != NULL && l->power_w > 0)
        json_object_set_new(o, "power_w", json_real(l->power_w));
    /* --signal SIG@SECONDS: the agent sends SIG that long before the time limit. */
    if (o != NULL && rec->warn_signal > 0) {
        json_object_set_new(o, "warn_signal", json_integer(rec->warn_signal));
        json_object_set_new(o, "warn_before_s", json_integer((json_int_t)rec->warn_before_s));
    }
    /* Every rank's output is shipped to the controller (GET /v1/jobs/{id}/output, outtail.h). */
    if (o != NULL)
        json_object_set_new(o, "ship_output", json_true());
    if (o != NULL)
        json_array_append_new(a->launch, o);
}

void agent_proto_answer_kill(struct agent_proto_answer *a, const struct nodes_kill *k)
{
    json_array_append_new(a->kill, json_pack("{s:I, s:I, s:I, s:s}", "job", (json_int_t)k->job,
                                             "run", (json_int_t)k->run, "grace_s",
                                             (json_int_t)k->grace_s, "reason", k->reason));
}

void agent_proto_answer_control(struct agent_proto_answer *a, const struct nodes_control *c)
{
    if (c->signal > 0) {
        if (a->signal == NULL)
            a->signal = json_array();
        json_array_append_new(a->signal, json_pack("{s:I, s:I, s:i}", "job", (json_int_t)c->job,
                                                   "run", (json_int_t)c->run, "signal", c->signal));
    } else {
        if (a->limit == NULL)
            a->limit = json_array();
        json_array_append_new(a->limit,
                              json_pack("{s:I, s:I, s:f}", "job", (json_int_t)c->job, "run",
                                        (json_int_t)c->run, "time_limit_s", c->time_limit_s));
    }
}

void agent_proto_answer_hold(struct agent_proto_answer *a, const struct life_exit *x)
{
    char name[96];
    if (a->hold == NULL)
        a->hold = json_array();
    nl_facility_node_name(a->fac, x->node, name, sizeof(name));
    json_array_append_new(a->hold, json_pack("{s:I, s:I, s:s}", "job", (json_int_t)x->job, "run",
                                             (json_int_t)x->run, "node", name));
}

json_t *agent_proto_answer_finish(struct agent_proto_answer *a, bool full_next)
{
    /* caps: the whole desired state; an agent restores any GPU not listed (docs/power.md). */
    json_t *answer = json_pack("{s:o, s:o, s:o}", "launch", a->launch, "kill", a->kill, "caps",
                               a->caps);
    /* power[].t is read (issue 14): an agent sends temperatures only to a controller that says so. */
    json_object_set_new(answer, "power_temp", json_true());
    if (a->hold != NULL)
        json_object_set_new(answer, "hold", a->hold);
    if (a->signal != NULL)
        json_object_set_new(answer, "signal", a->signal);
    if (a->limit != NULL)
        json_object_set_new(answer, "limit", a->limit);
    /*
     * Always present: an agent sends deltas only to a controller that says
     * full_next at all, so an older controller, which reads every running
     * list as complete, never gets one.
     */
    json_object_set_new(answer, "full_next", json_boolean(full_next));
    free(a);
    return answer;
}
