/* SPDX-License-Identifier: MIT */
/*
 * job_json.c - the job request (strictly checked) and the JOB object.
 *
 * A request is checked field by field through one table of rules; the
 * first fault names its field and nothing is kept. Checks against the
 * facility (more GPUs than any eligible site has) are nl_sched_validate's
 * business, done by the handler after this parse.
 */
#include "job_json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/outpat.h"
#include "common/proto_limits.h"
#include "common/signame.h"
#include "common/xalloc.h"
#include "ctld/ctld.h"
#include "ctld/fault.h"
#include "ctld/gate.h"
#include "ctld/jsonout.h"
#include "ctld/nodes.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "store/store.h"

/*
 * A request's limits are the agent protocol's (common/proto_limits.h), so
 * that every job accepted here can be launched by an agent. The scheduler
 * keeps its own bounds on time limit and grace: they must be the same.
 */
_Static_assert(NL_JOB_TIME_LIMIT_MAX_US == (int64_t)NL_PROTO_TIME_LIMIT_MAX_S * 1000000,
               "the scheduler's and the protocol's time limit bounds differ");
_Static_assert(NL_JOB_GRACE_MAX_US == (int64_t)NL_PROTO_GRACE_MAX_S * 1000000,
               "the scheduler's and the protocol's grace bounds differ");

struct req_ctx {
    const struct nl_tenants *tenants;
    struct nl_store_job *rec;
    struct fault *f;
};

static int fault(struct fault *f, const char *code, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fault(struct fault *f, const char *code, const char *field, const char *fmt, ...)
{
    f->code = code;
    snprintf(f->field, sizeof(f->field), "%s", field);
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(f->msg, sizeof(f->msg), "%s: %s", field, msg);
    return -EINVAL;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* A string with no NUL inside and no control characters, of 1..max bytes. */
static int plain_string(const json_t *v, const char *field, size_t max, struct fault *f)
{
    if (!json_is_string(v))
        return fault(f, "invalid_field", field, "expected a string, got %s", type_name(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > max)
        return fault(f, "invalid_field", field, "length %zu is not 1..%zu", len, max);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return fault(f, "invalid_field", field, "control character at byte %zu", i);
    return 0;
}

static int seconds(const json_t *v, const char *field, double max, bool zero_ok, int64_t *us,
                   struct fault *f)
{
    if (!json_is_number(v))
        return fault(f, "invalid_field", field, "expected a number of seconds, got %s",
                     type_name(v));
    double s = json_number_value(v);
    if (!isfinite(s) || s < 0 || (s == 0 && !zero_ok) || s > max)
        return fault(f, "invalid_field", field, "%g is not %s..%g seconds", s,
                     zero_ok ? "0" : "above 0", max);
    *us = (int64_t)llround(s * 1e6);
    return 0;
}

static int boolean(const json_t *v, const char *field, bool *out, struct fault *f)
{
    if (!json_is_boolean(v))
        return fault(f, "invalid_field", field, "expected true or false, got %s", type_name(v));
    *out = json_is_true(v);
    return 0;
}

static int rule_name(const json_t *v, struct req_ctx *x)
{
    int rc = plain_string(v, "name", NL_STORE_JOB_NAME_MAX - 1, x->f);
    if (rc == 0)
        snprintf(x->rec->name, sizeof(x->rec->name), "%s", json_string_value(v));
    return rc;
}

static int rule_tenant(const json_t *v, struct req_ctx *x)
{
    int rc = plain_string(v, "tenant", NL_NAME_MAX - 1, x->f);
    if (rc < 0)
        return rc;
    int idx = nl_tenants_find(x->tenants, json_string_value(v));
    if (idx < 0)
        return fault(x->f, "invalid_field", "tenant", "unknown tenant '%s'", json_string_value(v));
    x->rec->spec.tenant = (uint32_t)idx;
    snprintf(x->rec->tenant, sizeof(x->rec->tenant), "%s", json_string_value(v));
    return 0;
}

static int rule_gpus(const json_t *v, struct req_ctx *x)
{
    if (!json_is_integer(v))
        return fault(x->f, "invalid_field", "gpus", "expected an integer, got %s", type_name(v));
    json_int_t g = json_integer_value(v);
    if (g < 1 || g > (json_int_t)NL_GPUS_MAX)
        return fault(x->f, "invalid_field", "gpus", "%lld is not 1..%u", (long long)g, NL_GPUS_MAX);
    x->rec->spec.gpus = (uint32_t)g;
    return 0;
}

static int rule_time_limit(const json_t *v, struct req_ctx *x)
{
    return seconds(v, "time_limit_s", NL_JOB_TIME_LIMIT_MAX_US / 1e6, false,
                   &x->rec->spec.time_limit_us, x->f);
}

static int rule_grace(const json_t *v, struct req_ctx *x)
{
    return seconds(v, "grace_s", NL_JOB_GRACE_MAX_US / 1e6, true, &x->rec->spec.grace_us, x->f);
}

static int rule_residency(const json_t *v, struct req_ctx *x)
{
    int rc = plain_string(v, "residency", 8, x->f);
    if (rc < 0)
        return rc;
    struct nl_err err = {0};
    if (nl_residency_parse(json_string_value(v), &x->rec->spec.residency, &err) < 0)
        return fault(x->f, "invalid_field", "residency",
                     "'%s' is not any, EEA or a two-letter "
                     "jurisdiction",
                     json_string_value(v));
    return 0;
}

static int rule_sensitive(const json_t *v, struct req_ctx *x)
{
    return boolean(v, "sensitive", &x->rec->spec.sensitive, x->f);
}

static int rule_preemptible(const json_t *v, struct req_ctx *x)
{
    return boolean(v, "preemptible", &x->rec->spec.preemptible, x->f);
}

static int rule_requeue(const json_t *v, struct req_ctx *x)
{
    return boolean(v, "requeue", &x->rec->spec.requeue, x->f);
}

static int rule_command(const json_t *v, struct req_ctx *x)
{
    if (!json_is_array(v))
        return fault(x->f, "invalid_field", "command", "expected an array of strings, got %s",
                     type_name(v));
    size_t n = json_array_size(v);
    if (n == 0 || n > NL_PROTO_ARGS_MAX)
        return fault(x->f, "invalid_field", "command", "%zu arguments is not 1..%u", n,
                     NL_PROTO_ARGS_MAX);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(v, i);
        char field[32];
        snprintf(field, sizeof(field), "command[%zu]", i);
        if (!json_is_string(a))
            return fault(x->f, "invalid_field", field, "expected a string, got %s", type_name(a));
        if (strlen(json_string_value(a)) != json_string_length(a))
            return fault(x->f, "invalid_field", field, "contains a NUL character");
        if (i == 0 && json_string_length(a) == 0)
            return fault(x->f, "invalid_field", field, "the program name is empty");
        if (json_string_length(a) > NL_PROTO_ARG_MAX)
            return fault(x->f, "invalid_field", field, "%zu bytes is more than %u",
                         json_string_length(a), NL_PROTO_ARG_MAX);
    }
    /* Strings only: jsonout's text is json_dumps(v, JSON_COMPACT)'s, for less. */
    x->rec->command_json = jsonout_dumps(v);
    return 0;
}

static int rule_env(const json_t *v, struct req_ctx *x)
{
    if (!json_is_object(v))
        return fault(x->f, "invalid_field", "env", "expected an object of strings, got %s",
                     type_name(v));
    if (json_object_size(v) > NL_PROTO_ENV_MAX)
        return fault(x->f, "invalid_field", "env", "%zu entries is more than %u",
                     json_object_size(v), NL_PROTO_ENV_MAX);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        char field[80], shown[60]; /* "env." + shown fits fault.field: no cut inside a character */
        bool ctl = false;
        for (const char *k = key; *k && !ctl; k++)
            ctl = (unsigned char)*k < 0x20 || *k == 0x7f;
        /* A name people will read in `nordlys show`: escaped in the message, refused. */
        snprintf(field, sizeof(field), "env.%.60s", fault_escape(key, 40, shown, sizeof(shown)));
        if (key[0] == '\0' || strchr(key, '=') != NULL || ctl)
            return fault(x->f, "invalid_field", field, "not a variable name");
        if (strlen(key) > NL_PROTO_ENV_NAME_MAX)
            return fault(x->f, "invalid_field", field, "name longer than %u bytes",
                         NL_PROTO_ENV_NAME_MAX);
        if (!json_is_string(val))
            return fault(x->f, "invalid_field", field, "expected a string, got %s", type_name(val));
        if (strlen(json_string_value(val)) != json_string_length(val))
            return fault(x->f, "invalid_field", field, "contains a NUL character");
        if (json_string_length(val) > NL_PROTO_ENV_VALUE_MAX)
            return fault(x->f, "invalid_field", field, "value longer than %u bytes",
                         NL_PROTO_ENV_VALUE_MAX);
    }
    x->rec->env_json = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    return 0;
}

/* An integer of min..max, for counts and sizes. */
static int integer(const json_t *v, const char *field, json_int_t min, json_int_t max,
                   const char *unit, json_int_t *out, struct fault *f)
{
    if (!json_is_integer(v))
        return fault(f, "invalid_field", field, "expected an integer (%s), got %s", unit,
                     type_name(v));
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return fault(f, "invalid_field", field, "%lld is not %lld..%lld %s", (long long)n,
                     (long long)min, (long long)max, unit);
    *out = n;
    return 0;
}

static int rule_memory(const json_t *v, struct req_ctx *x)
{
    json_int_t mb = 0;
    int rc = integer(v, "memory_mb", 1, NL_PROTO_MEMORY_MB_MAX, "MiB", &mb, x->f);
    if (rc == 0)
        x->rec->memory_max_bytes = (uint64_t)mb * 1024u * 1024u;
    return rc;
}

static int rule_pids(const json_t *v, struct req_ctx *x)
{
    json_int_t n = 0;
    int rc = integer(v, "pids_max", 1, NL_PROTO_PIDS_MAX, "processes", &n, x->f);
    if (rc == 0)
        x->rec->pids_max = (uint32_t)n;
    return rc;
}

/* Expected draw per GPU in W; the scheduler checks it against the cap range (docs/power.md). */
static int rule_power(const json_t *v, struct req_ctx *x)
{
    if (!json_is_number(v) || !(json_number_value(v) > 0 && json_number_value(v) <= 1e5))
        return fault(x->f, "invalid_field", "power_w", "expected a number of watts per GPU (0..100000]");
    x->rec->spec.power_w = json_number_value(v);
    return 0;
}

static int rule_cwd(const json_t *v, struct req_ctx *x)
{
    int rc = plain_string(v, "cwd", NL_PROTO_PATH_MAX, x->f);
    if (rc < 0)
        return rc;
    char shown[101];
    if (json_string_value(v)[0] != '/')
        return fault(x->f, "invalid_field", "cwd", "'%s' is not an absolute path",
                     fault_escape(json_string_value(v), 100, shown, sizeof(shown)));
    x->rec->cwd = xstrdup(json_string_value(v));
    return 0;
}

/* ---- shape, tasks, output patterns and stdin (issue 12) ---- */

/* Tasks one node may run: a process per GPU of the largest node, and then some, for CPU work. */
#define JOB_TASKS_PER_NODE_MAX 256

static int count_field(const json_t *v, const char *field, json_int_t max, uint32_t *out,
                       struct fault *f)
{
    if (!json_is_integer(v))
        return fault(f, "invalid_field", field, "expected an integer, got %s", type_name(v));
    json_int_t n = json_integer_value(v);
    if (n < 1 || n > max)
        return fault(f, "invalid_field", field, "%lld is not 1..%lld", (long long)n,
                     (long long)max);
    *out = (uint32_t)n;
    return 0;
}

static int rule_nodes(const json_t *v, struct req_ctx *x)
{
    return count_field(v, "nodes", NL_JOB_NODES_MAX, &x->rec->spec.nodes, x->f);
}

static int rule_gpus_per_node(const json_t *v, struct req_ctx *x)
{
    return count_field(v, "gpus_per_node", NL_GPUS_PER_NODE_MAX, &x->rec->spec.gpus_per_node, x->f);
}

static int rule_tasks_per_node(const json_t *v, struct req_ctx *x)
{
    return count_field(v, "tasks_per_node", JOB_TASKS_PER_NODE_MAX, &x->rec->tasks_per_node, x->f);
}

/* An output pattern (common/outpat.h): a path, absolute or below the agent's output root. */
static int out_pattern(const json_t *v, const char *field, char **out, struct fault *f)
{
    int rc = plain_string(v, field, NL_PROTO_PATH_MAX - 32, f);
    if (rc < 0)
        return rc;
    const char *pat = json_string_value(v);
    char bad = 0, shown[101];
    if (nl_outpat_check(pat, &bad) < 0)
        return fault(f, "invalid_field", field,
                     "'%s': %%%c is not a pattern (%%j job, %%t task, %%a array index, %%x name, "
                     "%%%% a %%)",
                     fault_escape(pat, 100, shown, sizeof(shown)), bad ? bad : ' ');
    /* The agent refuses it too; said here, at submission, it costs the user no run. */
    if (pat[0] != '/')
        for (const char *p = pat; *p != '\0'; p = strchr(p, '/') ? strchr(p, '/') + 1 : "")
            if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
                return fault(f, "invalid_field", field,
                             "'%s': a relative path must stay below the output root (no '..')",
                             fault_escape(pat, 100, shown, sizeof(shown)));
    free(*out);
    *out = xstrdup(pat);
    return 0;
}

static int rule_stdout(const json_t *v, struct req_ctx *x)
{
    return out_pattern(v, "stdout", &x->rec->stdout_path, x->f);
}

static int rule_stderr(const json_t *v, struct req_ctx *x)
{
    return out_pattern(v, "stderr", &x->rec->stderr_path, x->f);
}

static int rule_input(const json_t *v, struct req_ctx *x)
{
    int rc = plain_string(v, "input", NL_PROTO_PATH_MAX, x->f);
    if (rc == 0)
        x->rec->input_path = xstrdup(json_string_value(v));
    return rc;
}

/*
 * "signal": {"signal": "USR1" or 10, "before_s": 60} (`--signal
 * USR1@60`): the agent sends it that long before the time limit.
 */
static int rule_signal(const json_t *v, struct req_ctx *x)
{
    static const char *const keys[] = {"signal", "before_s", NULL};
    if (!json_is_object(v))
        return fault(x->f, "invalid_field", "signal",
                     "expected {\"signal\": NAME, \"before_s\": SECONDS}, got %s", type_name(v));
    if (fault_check_keys(v, keys, "signal.", x->f) < 0)
        return -EINVAL;
    const json_t *sv = json_object_get(v, "signal");
    char num[16];
    const char *text = json_string_value(sv);
    if (json_is_integer(sv)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(sv));
        text = num;
    }
    int sig = signame_parse(text);
    if (sig < 0)
        return fault(x->f, "invalid_field", "signal.signal", "%s; one of %s",
                     sig == -2 ? "a signal that may not be sent" : "not a signal",
                     signame_allowed());
    json_int_t before = 60;
    const json_t *bv = json_object_get(v, "before_s");
    if (bv != NULL &&
        integer(bv, "signal.before_s", 1, NL_PROTO_TIME_LIMIT_MAX_S, "seconds", &before, x->f) < 0)
        return -EINVAL;
    x->rec->warn_signal = sig;
    x->rec->warn_before_s = before;
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(const json_t *v, struct req_ctx *x);
} job_rules[] = {
        {"name", rule_name},
        {"tenant", rule_tenant},
        {"gpus", rule_gpus},
        {"time_limit_s", rule_time_limit},
        {"residency", rule_residency},
        {"sensitive", rule_sensitive},
        {"preemptible", rule_preemptible},
        {"requeue", rule_requeue},
        {"grace_s", rule_grace},
        {"command", rule_command},
        {"env", rule_env},
        {"cwd", rule_cwd},
        {"memory_mb", rule_memory},
        {"pids_max", rule_pids},
        {"nodes", rule_nodes},
        {"gpus_per_node", rule_gpus_per_node},
        {"tasks_per_node", rule_tasks_per_node},
        {"stdout", rule_stdout},
        {"stderr", rule_stderr},
        {"input", rule_input},
        {"power_w", rule_power},
        {"signal", rule_signal},
};

#define NRULES (sizeof(job_rules) / sizeof(job_rules[0]))

int job_request_parse(const json_t *body, const struct nl_tenants *tenants,
                      struct nl_store_job *rec, struct fault *f)
{
    const char *allowed[NRULES + 1];
    for (size_t i = 0; i < NRULES; i++)
        allowed[i] = job_rules[i].name;
    allowed[NRULES] = NULL;
    if (fault_check_keys(body, allowed, "", f) < 0)
        return -EINVAL;
    /* Defaults of docs/api.md: the first tenant, name "job", nl_job_spec_init's values. */
    nl_store_job_release(rec);
    snprintf(rec->name, sizeof(rec->name), "job");
    const struct nl_tenant_spec *first = nl_tenants_get(tenants, 0);
    snprintf(rec->tenant, sizeof(rec->tenant), "%s", first ? first->name : "");
    rec->state = NL_JOB_PENDING;
    struct req_ctx x = {.tenants = tenants, .rec = rec, .f = f};
    for (size_t i = 0; i < NRULES; i++) {
        const json_t *v = json_object_get(body, job_rules[i].name);
        if (v != NULL && job_rules[i].fn(v, &x) < 0) {
            nl_store_job_release(rec);
            return -EINVAL;
        }
    }
    if (rec->command_json == NULL) {
        nl_store_job_release(rec);
        fault(f, "missing_field", "command", "required (a non-empty array of strings)");
        return -EINVAL;
    }
    /* As sbatch: stderr goes where stdout does unless it is named too. */
    if (rec->stdout_path != NULL && rec->stderr_path == NULL)
        rec->stderr_path = xstrdup(rec->stdout_path);
    /* A shape completes what the request left out (nodes alone, gpus_per_node alone). */
    struct nl_err err = {0};
    if (nl_job_shape_resolve(&rec->spec, json_object_get(body, "gpus") != NULL, &err) < 0) {
        const char *colon = strchr(err.msg, ':');
        char field[32];
        snprintf(field, sizeof(field), "%.*s", colon ? (int)(colon - err.msg) : 0, err.msg);
        nl_store_job_release(rec);
        f->code = "invalid_field";
        snprintf(f->field, sizeof(f->field), "%s", field);
        snprintf(f->msg, sizeof(f->msg), "%s", err.msg);
        return -EINVAL;
    }
    return 0;
}

/* ---- the JOB object ---- */

static json_t *load_json(const char *text)
{
    if (text == NULL)
        return json_null();
    json_t *v = json_loads(text, 0, NULL);
    return v ? v : json_null();
}

static json_t *node_names(const struct ctld *c, const struct nl_store_job *rec)
{
    json_t *a = json_array();
    char name[96];
    for (size_t i = 0; i < rec->nalloc; i++) {
        if (rec->alloc[i].node >= nl_facility_nodes(c->fac))
            continue;
        nl_facility_node_name(c->fac, rec->alloc[i].node, name, sizeof(name));
        json_array_append_new(a, json_string(name));
    }
    return a;
}

static void add_live(struct ctld *c, const struct nl_store_job *rec, json_t *o)
{
    struct nl_job_info info;
    bool live =
            !nl_job_state_terminal(rec->state) && nl_sched_job_info(c->sched, rec->id, &info) == 0;
    bool pending = live && info.state == NL_JOB_PENDING;
    json_object_set_new(o, "reason",
                        pending ? json_string(nl_reason_name(info.reason)) : json_null());
    json_object_set_new(o, "reason_text",
                        pending ? json_string(nl_reason_text(info.reason)) : json_null());
    json_object_set_new(o, "est_start_time",
                        pending ? job_json_time(info.est_start_us) : json_null());
    json_object_set_new(o, "borrowed", json_boolean(live && info.borrowed));
    json_object_set_new(o, "priority", live ? json_real(info.priority) : json_null());
    bool running = live && (info.state == NL_JOB_RUNNING || info.state == NL_JOB_PREEMPTING);
    json_object_set_new(o, "power_cap_w",
                        running && info.power_cap_w > 0 ? json_real(info.power_cap_w) : json_null());
    json_object_set_new(o, "power_draw_w", running ? json_real(info.power_w) : json_null());
}

static void add_exit(const struct nl_store_job *rec, json_t *o)
{
    json_object_set_new(o, "exit_code", rec->has_exit ? json_integer(rec->exit_code) : json_null());
    json_object_set_new(o, "exit_signal",
                        rec->has_exit ? json_integer(rec->exit_signal) : json_null());
    /* Escaped again: a record written before reasons were escaped on arrival. */
    char *reason = rec->exit_reason ? fault_escape_dup(rec->exit_reason) : NULL;
    json_object_set_new(o, "exit_reason", reason ? json_string(reason) : json_null());
    free(reason);
    json_object_set_new(o, "run_s", json_real((double)rec->run_us / 1e6));
    json_object_set_new(o, "energy_kwh", json_real(rec->energy_wh / 1000.0));
    json_object_set_new(o, "cpu_s", json_real(rec->cpu_s));
    json_object_set_new(o, "max_rss_kb", json_integer(rec->max_rss_kb));
}

/*
 * An output path for the JOB object: as stored when absolute; a relative
 * one (the default: under the output root of the agent that runs the
 * job) whole, when the agent of the job's first node said where its root
 * is, so that people and scripts on that node can open it; else as stored.
 */
static json_t *output_path(struct ctld *c, const struct nl_store_job *rec, const char *path)
{
    if (path == NULL)
        return json_null();
    const char *root = NULL;
    if (path[0] != '/' && rec->nalloc > 0)
        root = nodes_node_output_root(c->nodes, rec->alloc[0].node);
    if (root == NULL)
        return json_string(path);
    size_t size = strlen(root) + strlen(path) + 2;
    char *whole = xmalloc(size);
    snprintf(whole, size, "%s/%s", root, path);
    json_t *v = json_string(whole);
    free(whole);
    return v;
}

json_t *job_json_time(int64_t us)
{
    return us > 0 ? json_real((double)us / 1e6) : json_null();
}

const char *job_tier_name(const struct ctld *c, uint32_t tenant)
{
    const struct nl_tenant_spec *t = nl_tenants_get(c->tenants, tenant);
    const struct nl_tier_spec *tier = t ? nl_tenants_tier(c->tenants, t->tier) : NULL;
    return tier ? tier->name : "";
}

json_t *job_json(struct ctld *c, const struct nl_store_job *rec)
{
    const struct nl_job_spec *sp = &rec->spec;
    int tenant = nl_tenants_find(c->tenants, rec->tenant);
    json_t *o =
            json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:f, s:s, s:b, s:b, s:b, s:f}", "id",
                      (json_int_t)rec->id, "name", rec->name, "tenant", rec->tenant, "tier",
                      tenant >= 0 ? job_tier_name(c, (uint32_t)tenant) : "", "state",
                      nl_job_state_name(rec->state), "gpus", (json_int_t)sp->gpus, "time_limit_s",
                      (double)sp->time_limit_us / 1e6, "residency", sp->residency.code, "sensitive",
                      sp->sensitive, "preemptible", sp->preemptible, "requeue", sp->requeue,
                      "grace_s", (double)sp->grace_us / 1e6);
    json_object_set_new(o, "command", load_json(rec->command_json));
    json_object_set_new(o, "env", rec->env_json ? load_json(rec->env_json) : json_object());
    json_object_set_new(o, "cwd", rec->cwd ? json_string(rec->cwd) : json_null());
    /* The Unix account it runs as (the submitter's token's unix_user, else its user). */
    json_object_set_new(o, "user", rec->run_as[0] ? json_string(rec->run_as) : json_null());
    json_object_set_new(o, "memory_mb",
                        rec->memory_max_bytes
                                ? json_integer((json_int_t)(rec->memory_max_bytes / (1024 * 1024)))
                                : json_null());
    json_object_set_new(o, "pids_max", rec->pids_max ? json_integer(rec->pids_max) : json_null());
    json_object_set_new(o, "power_w", sp->power_w > 0 ? json_real(sp->power_w) : json_null());
    json_t *warn = json_null();
    if (rec->warn_signal > 0) {
        char name[16];
        signame_name(rec->warn_signal, name, sizeof(name));
        warn = json_pack("{s:s, s:i, s:I}", "signal", name, "number", rec->warn_signal, "before_s",
                         (json_int_t)rec->warn_before_s);
    }
    json_object_set_new(o, "signal", warn);
    json_object_set_new(o, "submit_time", job_json_time(rec->submit_us));
    json_object_set_new(o, "start_time", job_json_time(rec->start_us));
    json_object_set_new(o, "end_time", job_json_time(rec->end_us));
    add_live(c, rec, o);
    json_object_set_new(o, "nodes", node_names(c, rec));
    json_t *site = json_null();
    if (rec->nalloc > 0 && rec->alloc[0].node < nl_facility_nodes(c->fac)) {
        struct nl_site_info si;
        nl_facility_site(c->fac, nl_facility_node_site(c->fac, rec->alloc[0].node), &si);
        site = json_string(si.name);
    }
    json_object_set_new(o, "site", site);
    json_object_set_new(o, "preemptions", json_integer(rec->preemptions));
    json_object_set_new(o, "run", json_integer(rec->runs));
    add_exit(rec, o);
    json_object_set_new(o, "stdout", output_path(c, rec, rec->stdout_path));
    json_object_set_new(o, "stderr", output_path(c, rec, rec->stderr_path));
    /* Its shape (null: gpus split freely), tasks and stdin. */
    json_object_set_new(o, "shape",
                        nl_job_shaped(sp)
                                ? json_pack("{s:I, s:I}", "nodes", (json_int_t)sp->nodes,
                                            "gpus_per_node", (json_int_t)sp->gpus_per_node)
                                : json_null());
    json_object_set_new(o, "tasks_per_node", json_integer(rec->tasks_per_node));
    json_object_set_new(o, "input", rec->input_path ? json_string(rec->input_path) : json_null());
    /* Last: a job the gate keeps has its reason from the gate, an array job no output. */
    gate_job_json(c->gate, rec, o);
    return o;
}
