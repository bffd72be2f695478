/* SPDX-License-Identifier: MIT */
/*
 * proto.c - agent protocol encoding and decoding; see proto.h.
 *
 * Unknown fields in the controller's answers are ignored rather than
 * refused: the controller is upgraded before its agents, and an agent that
 * stopped working because the controller learned a new field would turn a
 * controller upgrade into a facility outage.
 */
#include "proto.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

/* ---- encoding ---------------------------------------------------------- */

static void buf_reserve(struct proto_buf *b, size_t more)
{
    if (b->len + more + 1 > b->cap) {
        b->cap = xgrow(b->cap, b->len + more + 1);
        b->data = xrealloc(b->data, b->cap);
    }
}

static void buf_add(struct proto_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_puts(struct proto_buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void buf_printf(struct proto_buf *b, const char *fmt,
                                                             ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    /* Only numbers go through here: 128 bytes always hold them. */
    if (n > 0)
        buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string: quotes, backslashes and control bytes escaped; other bytes as they are. */
static void buf_json_str(struct proto_buf *b, const char *s)
{
    buf_reserve(b, strlen(s) + 2);
    b->data[b->len++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            buf_add(b, esc, 2);
        } else if (*p < 0x20) {
            char esc[8];
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            buf_add(b, esc, 6);
        } else {
            buf_add(b, (const char *)p, 1);
        }
    }
    buf_add(b, "\"", 1);
}

void proto_encode_register(struct proto_buf *b, const char *agent, const char *instance,
                           char *const *nodes, size_t n, bool emulated, const char *output_root)
{
    buf_puts(b, "{\"agent\":");
    buf_json_str(b, agent);
    if (instance != NULL) {
        buf_puts(b, ",\"instance\":");
        buf_json_str(b, instance);
    }
    buf_puts(b, ",\"nodes\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_add(b, ",", 1);
        buf_json_str(b, nodes[i]);
    }
    buf_puts(b, emulated ? "],\"emulated\":true" : "],\"emulated\":false");
    if (output_root != NULL) {
        buf_puts(b, ",\"output_root\":");
        buf_json_str(b, output_root);
    }
    buf_add(b, "}", 1);
}

static void encode_exit(struct proto_buf *b, const struct proto_exit *e)
{
    buf_printf(b, "{\"job\":%" PRId64 ",\"run\":%" PRIu32 ",\"node\":", e->job, e->run);
    buf_json_str(b, e->node);
    buf_printf(b, ",\"exit_code\":%d,\"signal\":%d,\"timeout\":%s", e->exit_code, e->signal,
               e->timeout ? "true" : "false");
    buf_printf(b, ",\"cpu_s\":%.3f,\"max_rss_kb\":%ld", e->cpu_s, e->max_rss_kb);
    buf_printf(b, ",\"start_time\":%.3f,\"end_time\":%.3f", e->start_time, e->end_time);
    if (e->reason != NULL) {
        buf_puts(b, ",\"reason\":");
        buf_json_str(b, e->reason);
    }
    buf_add(b, "}", 1);
}

/* What closes a sync body after the running list: `],"exits":[` and `]}`. */
#define SYNC_TAIL_BYTES 14

void proto_encode_sync(struct proto_buf *b, const char *agent_id, uint64_t seq, bool full,
                       const struct proto_running *r, size_t nr, const struct proto_exit *e,
                       size_t ne, size_t max_bytes, size_t *nr_sent, size_t *ne_sent)
{
    size_t end = max_bytes ? b->len + max_bytes : SIZE_MAX;
    /* About 60 bytes per running entry: reserve once instead of growing 20 times. */
    buf_reserve(b, 96 + nr * 64 + ne * 256);
    buf_puts(b, "{\"agent_id\":");
    buf_json_str(b, agent_id);
    buf_printf(b, ",\"seq\":%" PRIu64 ",\"full\":%s", seq, full ? "true" : "false");
    buf_puts(b, ",\"running\":[");
    size_t i;
    for (i = 0; i < nr; i++) {
        size_t at = b->len;
        buf_printf(b, "%s{\"job\":%" PRId64 ",\"run\":%" PRIu32 ",\"node\":", i ? "," : "",
                   r[i].job, r[i].run);
        buf_json_str(b, r[i].node);
        buf_add(b, "}", 1);
        if (b->len + SYNC_TAIL_BYTES > end) {
            b->len = at; /* this entry and the rest wait for a later sync */
            b->data[at] = '\0';
            break;
        }
    }
    if (nr_sent != NULL)
        *nr_sent = i;
    /* A cut running list leaves no room worth using: exits wait too, in order. */
    bool cut = i < nr;
    buf_puts(b, "],\"exits\":[");
    for (i = 0; !cut && i < ne; i++) {
        size_t at = b->len;
        if (i > 0)
            buf_add(b, ",", 1);
        encode_exit(b, &e[i]);
        if (b->len + 2 > end) {
            b->len = at;
            b->data[at] = '\0';
            break;
        }
    }
    if (ne_sent != NULL)
        *ne_sent = i;
    buf_puts(b, "]}");
}

static void encode_numbers(struct proto_buf *b, const char *key, const double *v, uint32_t n)
{
    buf_printf(b, ",\"%s\":[", key);
    for (uint32_t g = 0; g < n; g++)
        buf_printf(b, "%s%.1f", g ? "," : "", v[g]);
    buf_add(b, "]", 1);
}

size_t proto_encode_power(struct proto_buf *b, const struct proto_power *p, size_t n,
                          size_t max_bytes)
{
    if (b->len == 0 || b->data[b->len - 1] != '}')
        return 0;
    size_t start = b->len - 1, end = max_bytes ? max_bytes : SIZE_MAX;
    b->len = start;
    buf_puts(b, ",\"power\":[");
    size_t i;
    for (i = 0; i < n; i++) {
        size_t at = b->len;
        buf_puts(b, i ? ",{\"node\":" : "{\"node\":");
        buf_json_str(b, p[i].node);
        encode_numbers(b, "w", p[i].w, p[i].ngpus);
        encode_numbers(b, "j", p[i].j, p[i].ngpus);
        encode_numbers(b, "l", p[i].limit, p[i].ngpus);
        if (p[i].has_temp)
            encode_numbers(b, "t", p[i].temp, p[i].ngpus);
        buf_add(b, "}", 1);
        if (b->len + 2 > end) {
            b->len = at;
            break;
        }
    }
    if (i == 0) {
        b->len = start; /* nothing fitted: the request as it was */
        buf_add(b, "}", 1);
        return 0;
    }
    buf_puts(b, "]}");
    return i;
}

void proto_append_output(struct proto_buf *b, const struct proto_output *o, size_t n)
{
    if (n == 0 || b->len == 0 || b->data[b->len - 1] != '}')
        return;
    b->len--; /* the body's closing brace */
    buf_puts(b, ",\"output\":[");
    for (size_t i = 0; i < n; i++) {
        buf_printf(b, "%s{\"job\":%" PRId64 ",\"run\":%" PRIu32 ",\"node\":", i ? "," : "",
                   o[i].job, o[i].run);
        buf_json_str(b, o[i].node);
        buf_printf(b, ",\"stream\":\"%s\",\"offset\":%" PRIu64 ",\"data\":\"",
                   o[i].stream ? "stderr" : "stdout", o[i].offset);
        size_t need = b64_encoded_len(o[i].len);
        buf_reserve(b, need + 8);
        b64_encode(o[i].data, o[i].len, b->data + b->len);
        b->len += need;
        buf_puts(b, "\"}");
    }
    buf_puts(b, "]}");
}

void proto_append_applied(struct proto_buf *b, const uint64_t *seqs, size_t n)
{
    if (b->len == 0 || b->data[b->len - 1] != '}')
        return;
    b->len--; /* the body's closing brace */
    buf_puts(b, ",\"applied\":[");
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s%" PRIu64, i ? "," : "", seqs[i]);
    buf_puts(b, "]}");
}

/* ---- decoding ---------------------------------------------------------- */

static json_t *parse(const char *body, size_t len, struct nl_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        nl_err_set(err, -EPROTO, "answer: bad JSON at line %d: %s", jerr.line, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        nl_err_set(err, -EPROTO, "answer: not a JSON object");
        return NULL;
    }
    return root;
}

/* An integer field in [min, max]; absent gives def (or an error when required). */
static int get_int(json_t *obj, const char *key, const char *where, int64_t min, int64_t max,
                   bool required, int64_t def, int64_t *out, struct nl_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return nl_err_set(err, -EINVAL, "%s.%s: missing", where, key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return nl_err_set(err, -EINVAL, "%s.%s: not an integer", where, key);
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return nl_err_set(err, -EINVAL,
                          "%s.%s: %" JSON_INTEGER_FORMAT " is outside [%" PRId64 ", %" PRId64 "]",
                          where, key, x, min, max);
    *out = (int64_t)x;
    return 0;
}

/* A duration in seconds: any JSON number in [0, max]; absent gives def. */
static int get_seconds(json_t *obj, const char *key, const char *where, double max, double def,
                       double *out, struct nl_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_number(v))
        return nl_err_set(err, -EINVAL, "%s.%s: not a number", where, key);
    double x = json_number_value(v);
    if (!(x >= 0 && x <= max))
        return nl_err_set(err, -EINVAL, "%s.%s: %g is outside [0, %g]", where, key, x, max);
    *out = x;
    return 0;
}

/* An optional string field copied out (NULL when absent); required ones must be non-empty. */
/* A tenant's name as tenant files allow it (nordlys/tenant.h): safe in paths and log lines. */
static bool tenant_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 31)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

static int get_str(json_t *obj, const char *key, const char *where, bool required, char **out,
                   struct nl_err *err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return nl_err_set(err, -EINVAL, "%s.%s: missing", where, key);
        return 0;
    }
    if (!json_is_string(v))
        return nl_err_set(err, -EINVAL, "%s.%s: not a string", where, key);
    if (required && json_string_length(v) == 0)
        return nl_err_set(err, -EINVAL, "%s.%s: empty", where, key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return nl_err_set(err, -EINVAL, "%s.%s: contains a NUL byte", where, key);
    *out = xstrdup(json_string_value(v));
    return 0;
}

int proto_decode_register(const char *body, size_t len, struct proto_reg_answer *out,
                          struct nl_err *err)
{
    memset(out, 0, sizeof(*out));
    json_t *root = parse(body, len, err);
    if (root == NULL)
        return err ? err->code : -EPROTO;
    int64_t sync_ms = 0, timeout_ms = 0;
    int rc = get_str(root, "agent_id", "register", true, &out->agent_id, err);
    if (rc == 0)
        rc = get_int(root, "sync_interval_ms", "register", 1, NL_PROTO_SYNC_INTERVAL_MS_MAX, false,
                     1000, &sync_ms, err);
    if (rc == 0)
        rc = get_int(root, "node_timeout_ms", "register", 1, NL_PROTO_NODE_TIMEOUT_MS_MAX, false, 0,
                     &timeout_ms, err);
    json_decref(root);
    if (rc < 0) {
        proto_reg_answer_release(out);
        return rc;
    }
    out->sync_interval_ms = (uint32_t)sync_ms;
    out->node_timeout_ms = (uint32_t)timeout_ms;
    return 0;
}

void proto_reg_answer_release(struct proto_reg_answer *a)
{
    if (a == NULL)
        return;
    free(a->agent_id);
    memset(a, 0, sizeof(*a));
}

static int decode_argv(json_t *arr, const char *where, struct proto_launch *l, struct nl_err *err)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return nl_err_set(err, -EINVAL, "%s.command: not a non-empty array", where);
    size_t n = json_array_size(arr);
    if (n > NL_PROTO_ARGS_MAX)
        return nl_err_set(err, -EINVAL, "%s.command: %zu arguments exceed %u", where, n,
                          NL_PROTO_ARGS_MAX);
    l->argv = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s))
            return nl_err_set(err, -EINVAL, "%s.command[%zu]: not a string", where, i);
        l->argv[i] = xstrdup(json_string_value(s));
        l->argc = i + 1;
    }
    return 0;
}

static int decode_env_into(json_t *obj, const char *where, char ***out, size_t *nout,
                           struct nl_err *err);

static int decode_env(json_t *obj, const char *where, struct proto_launch *l, struct nl_err *err)
{
    char w[64];
    snprintf(w, sizeof(w), "%s.env", where);
    return decode_env_into(obj, w, &l->env, &l->nenv, err);
}

/* The "tasks" list: each entry an object of variables task i adds; no list: one task. */
static int decode_tasks(json_t *o, const char *where, struct proto_launch *l, struct nl_err *err)
{
    json_t *arr = json_object_get(o, "tasks");
    size_t n = arr == NULL || json_is_null(arr) ? 1 : json_array_size(arr);
    if (arr != NULL && !json_is_null(arr) &&
        (!json_is_array(arr) || n == 0 || n > NL_PROTO_TASKS_MAX))
        return nl_err_set(err, -EINVAL, "%s.tasks: not an array of 1..%u objects", where,
                          NL_PROTO_TASKS_MAX);
    l->task_env = xcalloc(n, sizeof(*l->task_env));
    l->ntask_env = xcalloc(n, sizeof(*l->ntask_env));
    l->ntasks = n;
    for (size_t i = 0; i < n; i++) {
        json_t *t = arr && !json_is_null(arr) ? json_array_get(arr, i) : NULL;
        char w[96];
        snprintf(w, sizeof(w), "%.60s.tasks[%zu]", where, i);
        if (t != NULL && !json_is_object(t))
            return nl_err_set(err, -EINVAL, "%s: not an object", w);
        int rc = decode_env_into(t, w, &l->task_env[i], &l->ntask_env[i], err);
        if (rc < 0)
            return rc;
    }
    int rc = get_int(o, "task_base", where, 0, INT64_C(1) << 40, false, 0, &l->task_base, err);
    json_t *lb = json_object_get(o, "label");
    if (rc == 0 && lb != NULL && !json_is_null(lb) && !json_is_boolean(lb))
        rc = nl_err_set(err, -EINVAL, "%s.label: not a boolean", where);
    l->label = json_is_true(lb);
    if (rc == 0)
        rc = get_str(o, "input", where, false, &l->input_path, err);
    return rc;
}

static int decode_env_into(json_t *obj, const char *where, char ***out, size_t *nout,
                           struct nl_err *err)
{
    *nout = 0;
    if (obj == NULL || json_is_null(obj)) {
        *out = xcalloc(1, sizeof(char *));
        return 0;
    }
    if (!json_is_object(obj))
        return nl_err_set(err, -EINVAL, "%s: not an object", where);
    size_t n = json_object_size(obj);
    if (n > NL_PROTO_LAUNCH_ENV_MAX)
        return nl_err_set(err, -EINVAL, "%s: %zu variables exceed %u", where, n,
                          NL_PROTO_LAUNCH_ENV_MAX);
    *out = xcalloc(n + 1, sizeof(char *));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        if (k[0] == '\0' || strchr(k, '=') != NULL)
            return nl_err_set(err, -EINVAL, "%s: '%s' is not a variable name", where, k);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return nl_err_set(err, -EINVAL, "%s.%s: not a string", where, k);
        size_t kl = strlen(k), vl = json_string_length(v);
        char *kv = xmalloc(kl + vl + 2);
        memcpy(kv, k, kl);
        kv[kl] = '=';
        memcpy(kv + kl + 1, json_string_value(v), vl + 1);
        (*out)[(*nout)++] = kv;
    }
    return 0;
}

/* "gpus": [0, 1, ...] into a mask (absent: 0); -EINVAL naming the field. */
static int decode_gpus(json_t *v, const char *where, uint8_t *mask, struct nl_err *err)
{
    *mask = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) > 8)
        return nl_err_set(err, -EINVAL, "%s.gpus: not an array of at most 8 GPU indexes", where);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *g = json_array_get(v, i);
        if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > 7)
            return nl_err_set(err, -EINVAL, "%s.gpus[%zu]: not a GPU index 0..7", where, i);
        *mask |= (uint8_t)(1u << json_integer_value(g));
    }
    return 0;
}

static int decode_launch(json_t *o, size_t idx, struct proto_launch *l, struct nl_err *err)
{
    char where[48];
    snprintf(where, sizeof(where), "launch[%zu]", idx);
    l->grace_s = -1;
    if (!json_is_object(o))
        return nl_err_set(err, -EINVAL, "%s: not an object", where);
    int64_t run = 0;
    int rc = get_int(o, "job", where, 1, INT64_MAX, true, 0, &l->job, err);
    if (rc == 0)
        rc = get_int(o, "run", where, 1, NL_PROTO_RUN_MAX, true, 0, &run, err);
    l->run = (uint32_t)run;
    if (rc == 0)
        rc = get_str(o, "node", where, true, &l->node, err);
    if (rc == 0)
        rc = decode_argv(json_object_get(o, "command"), where, l, err);
    if (rc == 0)
        rc = decode_env(json_object_get(o, "env"), where, l, err);
    if (rc == 0)
        rc = get_str(o, "cwd", where, false, &l->cwd, err);
    if (rc == 0)
        rc = get_str(o, "stdout", where, false, &l->stdout_path, err);
    if (rc == 0)
        rc = get_str(o, "stderr", where, false, &l->stderr_path, err);
    if (rc == 0)
        rc = get_seconds(o, "time_limit_s", where, NL_PROTO_TIME_LIMIT_MAX_S, 0, &l->time_limit_s,
                         err);
    if (rc == 0)
        rc = get_seconds(o, "grace_s", where, NL_PROTO_GRACE_MAX_S, -1, &l->grace_s, err);
    /* Limits: 0 or absent is none. */
    if (rc == 0)
        rc = get_int(o, "memory_max_bytes", where, 0, (int64_t)NL_PROTO_MEMORY_BYTES_MAX, false, 0,
                     &l->memory_max_bytes, err);
    if (rc == 0)
        rc = get_int(o, "pids_max", where, 0, NL_PROTO_PIDS_MAX, false, 0, &l->pids_max, err);
    if (rc == 0)
        rc = get_int(o, "output_limit_bytes", where, 0, INT64_C(1) << 62, false, 0,
                     &l->output_limit_bytes, err);
    if (rc == 0)
        rc = get_str(o, "user", where, false, &l->user, err);
    if (rc == 0 && l->user != NULL && l->user[0] == '\0')
        rc = nl_err_set(err, -EINVAL, "%s.user: empty", where);
    json_t *ar = json_object_get(o, "allow_root");
    if (rc == 0 && ar != NULL && !json_is_null(ar) && !json_is_boolean(ar))
        rc = nl_err_set(err, -EINVAL, "%s.allow_root: not a boolean", where);
    l->allow_root = json_is_true(ar);
    if (rc == 0)
        rc = get_str(o, "tenant", where, false, &l->tenant, err);
    if (rc == 0 && l->tenant != NULL && !tenant_name_ok(l->tenant))
        rc = nl_err_set(err, -EINVAL, "%s.tenant: not a tenant name (1-31 of a-z 0-9 _ -)", where);
    json_t *sv = json_object_get(o, "sensitive");
    if (rc == 0 && sv != NULL && !json_is_null(sv) && !json_is_boolean(sv))
        rc = nl_err_set(err, -EINVAL, "%s.sensitive: not a boolean", where);
    l->sensitive = json_is_true(sv);
    if (rc == 0)
        rc = decode_tasks(o, where, l, err);
    if (rc == 0)
        rc = decode_gpus(json_object_get(o, "gpus"), where, &l->gpus, err);
    json_t *pw = json_object_get(o, "power_w");
    if (rc == 0 && pw != NULL && !json_is_null(pw) &&
        (!json_is_number(pw) || !(json_number_value(pw) >= 0 && json_number_value(pw) <= 1e5)))
        rc = nl_err_set(err, -EINVAL, "%s.power_w: not a number of watts (0..100000)", where);
    l->power_w = json_is_number(pw) ? json_number_value(pw) : 0;
    int64_t ws = 0;
    if (rc == 0)
        rc = get_int(o, "warn_signal", where, 0, NL_PROTO_SIGNAL_MAX, false, 0, &ws, err);
    l->warn_signal = (int)ws;
    if (rc == 0)
        rc = get_int(o, "warn_before_s", where, 0, NL_PROTO_TIME_LIMIT_MAX_S, false, 0,
                     &l->warn_before_s, err);
    json_t *so = json_object_get(o, "ship_output");
    if (rc == 0 && so != NULL && !json_is_null(so) && !json_is_boolean(so))
        rc = nl_err_set(err, -EINVAL, "%s.ship_output: not a boolean", where);
    l->ship_output = json_is_true(so);
    return rc;
}

static int decode_cap(json_t *o, size_t idx, struct proto_cap *c, struct nl_err *err)
{
    char where[48];
    snprintf(where, sizeof(where), "caps[%zu]", idx);
    if (!json_is_object(o))
        return nl_err_set(err, -EINVAL, "%s: not an object", where);
    int rc = get_int(o, "job", where, 1, INT64_MAX, true, 0, &c->job, err);
    if (rc == 0)
        rc = get_str(o, "node", where, true, &c->node, err);
    if (rc == 0)
        rc = decode_gpus(json_object_get(o, "gpus"), where, &c->gpus, err);
    json_t *w = json_object_get(o, "cap_w");
    if (rc == 0 && (!json_is_number(w) || !(json_number_value(w) > 0 && json_number_value(w) <= 1e5)))
        rc = nl_err_set(err, -EINVAL, "%s.cap_w: not a number of watts (0..100000]", where);
    if (rc == 0)
        c->cap_w = json_number_value(w);
    return rc;
}

static int get_array(json_t *root, const char *key, size_t max, json_t **out, struct nl_err *err);

/* A "signal" or "limit" entry of a sync answer (issue 12). */
static int decode_control(json_t *o, const char *key, size_t idx, struct proto_control *c,
                          struct nl_err *err)
{
    char where[48];
    snprintf(where, sizeof(where), "%s[%zu]", key, idx);
    if (!json_is_object(o))
        return nl_err_set(err, -EINVAL, "%s: not an object", where);
    int64_t run = 0, sig = 0;
    int rc = get_int(o, "job", where, 1, INT64_MAX, true, 0, &c->job, err);
    if (rc == 0)
        rc = get_int(o, "run", where, 1, NL_PROTO_RUN_MAX, true, 0, &run, err);
    c->run = (uint32_t)run;
    if (rc == 0 && strcmp(key, "signal") == 0)
        rc = get_int(o, "signal", where, 1, NL_PROTO_SIGNAL_MAX, true, 0, &sig, err);
    c->signal = (int)sig;
    int64_t seq = 0;
    if (rc == 0)
        rc = get_int(o, "seq", where, 1, INT64_MAX, false, 0, &seq, err);
    c->seq = (uint64_t)seq;
    if (rc == 0 && strcmp(key, "limit") == 0) {
        rc = get_seconds(o, "time_limit_s", where, NL_PROTO_TIME_LIMIT_MAX_S, 0, &c->time_limit_s,
                         err);
        if (rc == 0 && c->time_limit_s <= 0)
            rc = nl_err_set(err, -EINVAL, "%s.time_limit_s: missing or not positive", where);
    }
    return rc;
}

static int decode_controls(json_t *root, const char *key, struct proto_control **out, size_t *n,
                           struct nl_err *err)
{
    json_t *a = NULL;
    int rc = get_array(root, key, NL_PROTO_SYNC_ENTRIES_MAX, &a, err);
    if (rc < 0 || a == NULL || json_array_size(a) == 0)
        return rc;
    *out = xcalloc(json_array_size(a), sizeof(**out));
    for (size_t i = 0; i < json_array_size(a) && rc == 0; i++) {
        *n = i + 1;
        rc = decode_control(json_array_get(a, i), key, i, &(*out)[i], err);
    }
    return rc;
}

static int decode_kill(json_t *o, size_t idx, struct proto_kill *k, struct nl_err *err)
{
    char where[48];
    snprintf(where, sizeof(where), "kill[%zu]", idx);
    if (!json_is_object(o))
        return nl_err_set(err, -EINVAL, "%s: not an object", where);
    int64_t run = 0;
    int rc = get_int(o, "job", where, 1, INT64_MAX, true, 0, &k->job, err);
    if (rc == 0)
        rc = get_int(o, "run", where, 1, NL_PROTO_RUN_MAX, true, 0, &run, err);
    k->run = (uint32_t)run;
    if (rc == 0)
        rc = get_seconds(o, "grace_s", where, NL_PROTO_GRACE_MAX_S, 0, &k->grace_s, err);
    if (rc == 0)
        rc = get_str(o, "reason", where, false, &k->reason, err);
    return rc;
}

static int decode_hold(json_t *o, size_t idx, struct proto_hold *h, struct nl_err *err)
{
    char where[48];
    snprintf(where, sizeof(where), "hold[%zu]", idx);
    if (!json_is_object(o))
        return nl_err_set(err, -EINVAL, "%s: not an object", where);
    int64_t run = 0;
    int rc = get_int(o, "job", where, 1, INT64_MAX, true, 0, &h->job, err);
    if (rc == 0)
        rc = get_int(o, "run", where, 1, NL_PROTO_RUN_MAX, true, 0, &run, err);
    h->run = (uint32_t)run;
    if (rc == 0)
        rc = get_str(o, "node", where, true, &h->node, err);
    return rc;
}

/* The array under key, or NULL when absent; an error when present but not an array. */
static int get_array(json_t *root, const char *key, size_t max, json_t **out, struct nl_err *err)
{
    json_t *v = json_object_get(root, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return nl_err_set(err, -EINVAL, "%s: not an array", key);
    if (json_array_size(v) > max)
        return nl_err_set(err, -EINVAL, "%s: %zu entries exceed %zu", key, json_array_size(v), max);
    *out = v;
    return 0;
}

int proto_decode_sync(const char *body, size_t len, struct proto_work *out, struct nl_err *err)
{
    memset(out, 0, sizeof(*out));
    json_t *root = parse(body, len, err);
    if (root == NULL)
        return err ? err->code : -EPROTO;
    json_t *la = NULL, *ka = NULL, *ha = NULL, *ca = NULL;
    /*
     * An older controller sends no full_next: nothing is asked, but such a
     * controller also reads every running list as complete (knows_full).
     */
    json_t *fn = json_object_get(root, "full_next");
    int rc = 0;
    if (fn != NULL && !json_is_null(fn) && !json_is_boolean(fn))
        rc = nl_err_set(err, -EINVAL, "full_next: not a boolean");
    out->full_next = json_is_true(fn);
    out->knows_full = json_is_boolean(fn);
    if (rc == 0)
        rc = get_array(root, "launch", NL_PROTO_SYNC_ENTRIES_MAX, &la, err);
    if (rc == 0)
        rc = get_array(root, "kill", NL_PROTO_SYNC_ENTRIES_MAX, &ka, err);
    if (rc == 0)
        rc = get_array(root, "hold", NL_PROTO_SYNC_ENTRIES_MAX, &ha, err);
    if (rc == 0)
        rc = get_array(root, "caps", NL_PROTO_SYNC_ENTRIES_MAX, &ca, err);
    out->has_caps = ca != NULL;
    out->power_temp = json_is_true(json_object_get(root, "power_temp"));
    if (rc == 0 && ca != NULL && json_array_size(ca) > 0) {
        out->caps = xcalloc(json_array_size(ca), sizeof(*out->caps));
        for (size_t i = 0; i < json_array_size(ca) && rc == 0; i++) {
            out->ncaps = i + 1;
            rc = decode_cap(json_array_get(ca, i), i, &out->caps[i], err);
        }
    }
    if (rc == 0 && la != NULL && json_array_size(la) > 0) {
        out->launch = xcalloc(json_array_size(la), sizeof(*out->launch));
        for (size_t i = 0; i < json_array_size(la) && rc == 0; i++) {
            out->nlaunch = i + 1;
            rc = decode_launch(json_array_get(la, i), i, &out->launch[i], err);
        }
    }
    if (rc == 0 && ka != NULL && json_array_size(ka) > 0) {
        out->kill = xcalloc(json_array_size(ka), sizeof(*out->kill));
        for (size_t i = 0; i < json_array_size(ka) && rc == 0; i++) {
            out->nkill = i + 1;
            rc = decode_kill(json_array_get(ka, i), i, &out->kill[i], err);
        }
    }
    if (rc == 0 && ha != NULL && json_array_size(ha) > 0) {
        out->hold = xcalloc(json_array_size(ha), sizeof(*out->hold));
        for (size_t i = 0; i < json_array_size(ha) && rc == 0; i++) {
            out->nhold = i + 1;
            rc = decode_hold(json_array_get(ha, i), i, &out->hold[i], err);
        }
    }
    if (rc == 0)
        rc = decode_controls(root, "signal", &out->signal, &out->nsignal, err);
    if (rc == 0)
        rc = decode_controls(root, "limit", &out->limit, &out->nlimit, err);
    json_decref(root);
    if (rc < 0)
        proto_work_release(out);
    return rc;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

void proto_work_release(struct proto_work *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->nlaunch; i++) {
        struct proto_launch *l = &w->launch[i];
        free(l->node);
        free_strv(l->argv, l->argc);
        free_strv(l->env, l->nenv);
        free(l->cwd);
        free(l->stdout_path);
        free(l->stderr_path);
        free(l->user);
        free(l->tenant);
        for (size_t t = 0; l->task_env != NULL && t < l->ntasks; t++)
            free_strv(l->task_env[t], l->ntask_env[t]);
        free(l->task_env);
        free(l->ntask_env);
        free(l->input_path);
    }
    free(w->launch);
    for (size_t i = 0; i < w->ncaps; i++)
        free(w->caps[i].node);
    free(w->caps);
    for (size_t i = 0; i < w->nkill; i++)
        free(w->kill[i].reason);
    free(w->kill);
    for (size_t i = 0; i < w->nhold; i++)
        free(w->hold[i].node);
    free(w->hold);
    free(w->signal);
    free(w->limit);
    memset(w, 0, sizeof(*w));
}

int proto_decode_node_names(const char *body, size_t len, size_t limit, char ***names, size_t *n,
                            struct nl_err *err)
{
    *names = NULL;
    *n = 0;
    json_t *root = parse(body, len, err);
    if (root == NULL)
        return err ? err->code : -EPROTO;
    json_t *arr;
    int rc = get_array(root, "nodes", NL_PROTO_NODES_MAX, &arr, err);
    if (rc == 0 && arr == NULL)
        rc = nl_err_set(err, -EINVAL, "nodes: missing");
    size_t count = rc == 0 ? json_array_size(arr) : 0;
    if (count > limit)
        count = limit;
    char **v = count ? xcalloc(count, sizeof(*v)) : NULL;
    size_t got = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        char where[48];
        snprintf(where, sizeof(where), "nodes[%zu]", i);
        json_t *o = json_array_get(arr, i);
        if (!json_is_object(o))
            rc = nl_err_set(err, -EINVAL, "%s: not an object", where);
        else
            rc = get_str(o, "name", where, true, &v[got], err);
        if (rc == 0)
            got++;
    }
    json_decref(root);
    if (rc < 0) {
        free_strv(v, got);
        return rc;
    }
    *names = v;
    *n = got;
    return 0;
}

void proto_error_message(const char *body, size_t len, char *msg, size_t size)
{
    json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *m = json_object_get(json_object_get(root, "error"), "message");
    if (json_is_string(m))
        snprintf(msg, size, "%s", json_string_value(m));
    else
        snprintf(msg, size, "%.*s", (int)(len < 200 ? len : 200), body ? body : "");
    json_decref(root);
}
