/* SPDX-License-Identifier: MIT */
/*
 * api_control.c - controlling jobs after their submission (issue 12):
 *
 *   POST   /v1/jobs/{id}/requeue   back to PENDING (a running job is killed first)
 *   PATCH  /v1/jobs/{id}           change name, gpus, time limit, grace, requeue
 *   POST   /v1/jobs/{id}/signal    a signal to the job's processes on every node
 *   DELETE /v1/jobs?name=&state=&tenant=&user=   cancel every live job that matches
 *   GET    /v1/jobs/{id}/output    the tail of stdout or stderr: every task's, or one's
 *
 * Each checks the caller's tenant as cancel does (a user acts on the jobs
 * of their tenants only, and another tenant's job is "no such job" to
 * them), and names the field a refusal is about. The writes are audited
 * by api_reply like every write (c->call.target and tenant set here).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "common/b64.h"
#include "common/proto_limits.h"
#include "common/signame.h"
#include "common/xalloc.h"
#include "ctld/auth.h"
#include "ctld/config.h"
#include "ctld/ctld.h"
#include "ctld/fault.h"
#include "ctld/gate.h"
#include "ctld/http.h"
#include "ctld/job_json.h"
#include "ctld/life.h"
#include "ctld/outtail.h"
#include "ctld/routes.h"
#include "nordlys/err.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "store/store.h"

/* Bytes one output read returns at most: the whole tail. */
#define OUTPUT_READ_MAX NL_PROTO_OUTPUT_TAIL_MAX

/*
 * The job of p->id into rec, for an action on it: 0, or answered (404 for
 * none and for another tenant's, as GET /v1/jobs/{id} does) and -1.
 */
static int job_for(struct ctld *c, struct http_req *req, const struct route_params *p,
                   struct nl_store_job *rec)
{
    struct nl_err err = {0};
    if (nl_store_job_get(c->store, p->id, rec, &err) < 0) {
        api_err_reply(c, req, &err, err.code == -ENOENT ? "id" : NULL);
        return -1;
    }
    snprintf(c->call.tenant, sizeof(c->call.tenant), "%s", rec->tenant);
    snprintf(c->call.target, sizeof(c->call.target), "job %llu", (unsigned long long)p->id);
    if (!auth_sees_tenant(c->call.who, rec->tenant)) {
        api_error(c, req, 404, "not_found", "id", "job %llu: no such job",
                  (unsigned long long)p->id);
        return -1;
    }
    return 0;
}

/* Answer with the job as stored now, plus one field saying what happened. */
static void reply_job(struct ctld *c, struct http_req *req, uint64_t id, const char *key,
                      json_t *what)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    if (nl_store_job_get(c->store, id, &rec, &err) < 0) {
        json_decref(what);
        api_err_reply(c, req, &err, NULL);
    } else {
        json_t *job = job_json(c, &rec);
        json_object_set_new(job, key, what);
        api_reply(c, req, 200, json_pack("{s:o}", "job", job));
    }
    nl_store_job_release(&rec);
}

/*
 * An error of the life cycle or the scheduler, whose message starts with
 * its field ("gpus: 96 exceeds ..."): -EALREADY and -EBUSY are a state's
 * refusal (409); a bad reference inside a request (-ENOENT) is the
 * request's fault (400). The field is the API's name for it.
 */
static void life_err_reply(struct ctld *c, struct http_req *req, struct nl_err *err)
{
    char field[48];
    snprintf(field, sizeof(field), "%.40s", err->msg);
    char *colon = strchr(field, ':');
    if (colon != NULL)
        *colon = '\0';
    if (strcmp(field, "time_limit") == 0)
        snprintf(field, sizeof(field), "time_limit_s");
    if (colon == NULL || strchr(field, ' ') != NULL)
        field[0] = '\0';
    if (err->code == -EALREADY || err->code == -EBUSY)
        return api_error(c, req, 409, "conflict", field[0] ? field : NULL, "%s", err->msg);
    if (err->code == -ENOENT)
        err->code = -EINVAL;
    api_err_reply(c, req, err, field[0] ? field : NULL);
}

/* ---- requeue ---- */

void api_job_requeue(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct nl_err err = {0};
    if (job_for(c, req, p, &rec) < 0)
        goto out;
    if (rec.state == NL_JOB_PENDING) {
        api_error(c, req, 409, "conflict", "state", "job %llu: already PENDING",
                  (unsigned long long)p->id);
        goto out;
    }
    if (nl_job_state_terminal(rec.state)) {
        /* Back in the queue: the tenant's queue bound holds as for a submission. */
        int ti = nl_tenants_find(c->tenants, rec.tenant);
        struct nl_tenant_usage use = {0};
        if (ti >= 0)
            nl_sched_tenant_usage(c->sched, (uint32_t)ti, &use);
        if (use.jobs_pending >= c->cfg->tenant_queue_max) {
            api_error(c, req, 429, "queue_full", "tenant",
                      "tenant %s: %llu jobs pending, the most a tenant may queue", rec.tenant,
                      (unsigned long long)use.jobs_pending);
            goto out;
        }
    }
    int rc = life_requeue(c->life, &rec, &err);
    if (rc < 0) {
        life_err_reply(c, req, &err);
        goto out;
    }
    reply_job(c, req, p->id, "requeue", json_string(rc == 0 ? "pending" : "killing"));
out:
    nl_store_job_release(&rec);
}

/* ---- update ---- */

/* The fields PATCH /v1/jobs/{id} takes. */
static const char *const update_keys[] = {"name",    "gpus",    "time_limit_s",
                                          "grace_s", "requeue", NULL};

void api_job_update(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    struct nl_store_job rec, want;
    nl_store_job_init(&rec);
    nl_store_job_init(&want);
    struct fault f = {0};
    struct nl_err err = {0};
    if (job_for(c, req, p, &rec) < 0)
        goto out;
    if (fault_check_keys(body, update_keys, "", &f) < 0) {
        api_fault_reply(c, req, &f);
        goto out;
    }
    if (json_object_size(body) == 0) {
        api_error(c, req, 400, "invalid_field", NULL,
                  "body: names no field to change (name, gpus, time_limit_s, grace_s, requeue)");
        goto out;
    }
    /* The job request's own rules check each field, against a request of just those fields. */
    json_t *probe = json_deep_copy(body);
    json_object_set_new(probe, "command", json_pack("[s]", "true"));
    json_object_set_new(probe, "tenant", json_string(rec.tenant));
    int prc = job_request_parse(probe, c->tenants, &want, &f);
    json_decref(probe);
    if (prc < 0) {
        api_fault_reply(c, req, &f);
        goto out;
    }
    const json_t *name = json_object_get(body, "name"), *gpus = json_object_get(body, "gpus");
    const json_t *limit = json_object_get(body, "time_limit_s");
    const json_t *grace = json_object_get(body, "grace_s"), *rq = json_object_get(body, "requeue");
    /* What a state allows: PENDING everything; RUNNING a new name and a lower time limit. */
    if (rec.state != NL_JOB_PENDING) {
        bool running = rec.state == NL_JOB_RUNNING;
        const char *field = gpus                ? "gpus"
                            : grace             ? "grace_s"
                            : rq                ? "requeue"
                            : !running && limit ? "time_limit_s"
                            : !running && name  ? "name"
                                                : NULL;
        if (field != NULL) {
            api_error(c, req, 409, "conflict", field, "%s: job %llu is %s; %s", field,
                      (unsigned long long)p->id, nl_job_state_name(rec.state),
                      running ? "a running job takes only a lower time_limit_s and a new name"
                              : "only a PENDING or RUNNING job may be updated");
            goto out;
        }
        if (limit != NULL && want.spec.time_limit_us > rec.spec.time_limit_us) {
            api_error(c, req, 409, "conflict", "time_limit_s",
                      "time_limit_s: job %llu is RUNNING; its time limit may only be lowered "
                      "(from %.0f s)",
                      (unsigned long long)p->id, (double)rec.spec.time_limit_us / 1e6);
            goto out;
        }
    }
    if (name)
        snprintf(rec.name, sizeof(rec.name), "%s", want.name);
    if (gpus)
        rec.spec.gpus = want.spec.gpus;
    if (limit)
        rec.spec.time_limit_us = want.spec.time_limit_us;
    if (grace)
        rec.spec.grace_us = want.spec.grace_us;
    if (rq)
        rec.spec.requeue = want.spec.requeue;
    /* A job the gate keeps (held, waiting, an array job) is not in the scheduler yet. */
    int rc = gate_has(c->gate, rec.id) ? gate_update(c->gate, &rec, &err)
                                       : life_update(c->life, &rec, &err);
    if (rc < 0) {
        life_err_reply(c, req, &err);
        goto out;
    }
    json_t *changed = json_array();
    for (size_t i = 0; update_keys[i] != NULL; i++)
        if (json_object_get(body, update_keys[i]) != NULL)
            json_array_append_new(changed, json_string(update_keys[i]));
    reply_job(c, req, p->id, "updated", changed);
out:
    nl_store_job_release(&want);
    nl_store_job_release(&rec);
    json_decref(body);
}

/* ---- signal ---- */

void api_job_signal(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    static const char *const keys[] = {"signal", NULL};
    json_t *body = api_body_object(c, req);
    if (body == NULL)
        return;
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    struct fault f = {0};
    struct nl_err err = {0};
    if (job_for(c, req, p, &rec) < 0)
        goto out;
    if (fault_check_keys(body, keys, "", &f) < 0) {
        api_fault_reply(c, req, &f);
        goto out;
    }
    const json_t *sv = json_object_get(body, "signal");
    char num[24];
    const char *text = json_string_value(sv);
    if (json_is_integer(sv)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(sv));
        text = num;
    }
    int sig = signame_parse(text);
    if (sig < 0) {
        api_error(c, req, 400, "invalid_field", "signal", "signal: %s; one of %s",
                  sv == NULL  ? "missing"
                  : sig == -2 ? "may not be sent (end a job with DELETE /v1/jobs/{id})"
                              : "not a signal",
                  signame_allowed());
        goto out;
    }
    if (rec.state != NL_JOB_RUNNING) {
        api_error(c, req, 409, "conflict", "state",
                  "job %llu: is %s; only a RUNNING job is signalled", (unsigned long long)p->id,
                  nl_job_state_name(rec.state));
        goto out;
    }
    int ranks = life_signal(c->life, p->id, sig, &err);
    if (ranks < 0) {
        api_error(c, req, 409, "conflict", "state", "%s", err.msg);
        goto out;
    }
    char name[16];
    signame_name(sig, name, sizeof(name));
    reply_job(c, req, p->id, "signal",
              json_pack("{s:s, s:i, s:i}", "signal", name, "number", sig, "ranks", ranks));
out:
    nl_store_job_release(&rec);
    json_decref(body);
}

/* ---- cancel by filter ---- */

struct match_ctx {
    const char *name, *user;
    uint64_t *ids;
    size_t n, cap;
};

static int match_one(const struct nl_store_job *rec, void *arg)
{
    struct match_ctx *x = arg;
    if ((x->name != NULL && strcmp(rec->name, x->name) != 0) ||
        (x->user != NULL && strcmp(rec->run_as, x->user) != 0))
        return 0;
    if (x->n == x->cap)
        x->ids = xreallocarray(x->ids, x->cap = xgrow(x->cap, x->n + 1), sizeof(*x->ids));
    x->ids[x->n++] = rec->id;
    return 0;
}

#define LIVE_BITS ((1u << NL_JOB_PENDING) | (1u << NL_JOB_RUNNING) | (1u << NL_JOB_PREEMPTING))

/* ?state= for a cancel: live states only (PENDING, RUNNING, PREEMPTING). */
static int cancel_states(const char *text, unsigned *states, struct nl_err *err)
{
    int rc = api_parse_states(text, states, err);
    if (rc < 0)
        return rc;
    for (int s = 0; s < 32; s++)
        if ((*states & (1u << s)) && ((1u << s) & LIVE_BITS) == 0)
            return nl_err_set(err, -EINVAL,
                              "state: %s jobs have ended; only PENDING, RUNNING and PREEMPTING "
                              "jobs can be cancelled",
                              nl_job_state_name((enum nl_job_state)s));
    return 0;
}

void api_jobs_cancel(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    (void)p;
    const char *name = http_req_query(req, "name"), *tenant = http_req_query(req, "tenant");
    const char *state = http_req_query(req, "state"), *user = http_req_query(req, "user");
    struct nl_err err = {0};
    if (name == NULL && tenant == NULL && state == NULL && user == NULL)
        return api_error(c, req, 400, "invalid_field", NULL,
                         "query: give at least one of name, tenant, state and user (cancelling "
                         "every job takes ?state=PENDING,RUNNING,PREEMPTING)");
    struct nl_store_filter f = {.states = LIVE_BITS, .limit = CTLD_LIST_LIMIT_MAX};
    if (state != NULL && cancel_states(state, &f.states, &err) < 0)
        return api_err_reply(c, req, &err, "state");
    const struct auth_identity *who = c->call.who;
    snprintf(c->call.target, sizeof(c->call.target), "jobs%s%.30s%s%.20s%s%.30s%s%.30s",
             name ? " name=" : "", name ? name : "", tenant ? " tenant=" : "", tenant ? tenant : "",
             user ? " user=" : "", user ? user : "", state ? " state=" : "", state ? state : "");
    if (tenant != NULL) {
        snprintf(c->call.tenant, sizeof(c->call.tenant), "%s", tenant);
        if (!auth_sees_tenant(who, tenant))
            return api_error(c, req, 403, "forbidden", "tenant",
                             "tenant: %s may not cancel the jobs of tenant %.64s", who->token.sub,
                             tenant);
    }
    struct match_ctx x = {.name = name, .user = user};
    /* A user without ?tenant= acts on their tenants' jobs only: one list each. */
    size_t nt = tenant == NULL && who->token.role == TOKEN_ROLE_USER ? who->token.ntenants : 0;
    for (size_t i = 0; i < (nt ? nt : 1); i++) {
        f.tenant = nt ? who->token.tenants[i] : tenant;
        if (nl_store_jobs_list(c->store, &f, match_one, &x, &err) < 0) {
            free(x.ids);
            return api_err_reply(c, req, &err, NULL);
        }
    }
    size_t now = 0, killing = 0;
    json_t *ids = json_array();
    for (size_t i = 0; i < x.n; i++) {
        int rc = gate_has(c->gate, x.ids[i]) ? gate_cancel(c->gate, x.ids[i], &err)
                                             : life_cancel(c->life, x.ids[i], &err);
        if (rc < 0)
            continue; /* ended meanwhile (a task of an array cancelled before it, say) */
        rc == 0 ? now++ : killing++;
        json_array_append_new(ids, json_integer((json_int_t)x.ids[i]));
    }
    free(x.ids);
    api_reply(c, req, 200,
              json_pack("{s:o, s:I, s:I, s:I, s:b}", "jobs", ids, "cancelled",
                        (json_int_t)(now + killing), "ended", (json_int_t)now, "killing",
                        (json_int_t)killing, "truncated", x.n >= CTLD_LIST_LIMIT_MAX));
}

/* ---- output ---- */

static int query_u64(const char *text, uint64_t *out)
{
    char *end = NULL;
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return -1;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/*
 * Tasks of rec's run: its nodes (the allocation, else the shape asked
 * for) times tasks per node; 0 when not known yet (pending, no shape).
 */
static uint64_t job_tasks(const struct nl_store_job *rec)
{
    uint64_t nodes = rec->nalloc > 0 ? rec->nalloc : rec->spec.nodes;
    return nodes * (rec->tasks_per_node > 0 ? rec->tasks_per_node : 1);
}

/*
 * Keep only task's lines of the labelled bytes buf[0, *len), without
 * their "TASK: " labels, in place. Returns how many bytes of the stream
 * that covers: up to the last newline unless upto_end (the bytes reach
 * the stream's end, which ends in a whole line), so that a reader never
 * gets half a line it cannot tell the task of.
 */
static size_t keep_task(uint8_t *buf, size_t *len, uint64_t task, bool upto_end)
{
    size_t n = *len, out = 0;
    if (!upto_end) {
        while (n > 0 && buf[n - 1] != '\n')
            n--;
        if (n == 0)
            n = *len; /* a line longer than the read: its pieces go by their labels */
    }
    char label[32];
    int ll = snprintf(label, sizeof(label), "%llu: ", (unsigned long long)task);
    for (size_t at = 0; at < n;) {
        const uint8_t *nl = memchr(buf + at, '\n', n - at);
        size_t end = nl ? (size_t)(nl - buf) + 1 : n;
        if (end - at >= (size_t)ll && memcmp(buf + at, label, (size_t)ll) == 0) {
            memmove(buf + out, buf + at + ll, end - at - (size_t)ll);
            out += end - at - (size_t)ll;
        }
        at = end;
    }
    *len = out;
    return n;
}

void api_job_output(struct ctld *c, struct http_req *req, const struct route_params *p)
{
    struct nl_store_job rec;
    nl_store_job_init(&rec);
    const char *stream = http_req_query(req, "stream"), *offset = http_req_query(req, "offset");
    const char *limit = http_req_query(req, "limit"), *tail = http_req_query(req, "tail");
    const char *task = http_req_query(req, "task");
    uint64_t off = 0, max = OUTPUT_READ_MAX, last = 0, one = 0;
    if (stream != NULL && strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0)
        return api_error(c, req, 400, "invalid_field", "stream",
                         "stream: '%.20s' is not stdout or stderr", stream);
    if (offset != NULL && query_u64(offset, &off) < 0)
        return api_error(c, req, 400, "invalid_field", "offset",
                         "offset: '%.40s' is not a byte offset (an integer >= 0)", offset);
    if (limit != NULL && (query_u64(limit, &max) < 0 || max < 1 || max > OUTPUT_READ_MAX))
        return api_error(c, req, 400, "invalid_field", "limit", "limit: '%.40s' is not 1..%u",
                         limit, OUTPUT_READ_MAX);
    if (tail != NULL && (query_u64(tail, &last) < 0 || last > OUTPUT_READ_MAX))
        return api_error(c, req, 400, "invalid_field", "tail", "tail: '%.40s' is not 0..%u", tail,
                         OUTPUT_READ_MAX);
    if (tail != NULL && offset != NULL)
        return api_error(c, req, 400, "invalid_field", "tail",
                         "tail: give offset or tail, not both");
    if (task != NULL && (query_u64(task, &one) < 0 || one >= UINT32_MAX))
        return api_error(c, req, 400, "invalid_field", "task",
                         "task: '%.40s' is not a task number (an integer >= 0)", task);
    if (job_for(c, req, p, &rec) < 0)
        goto out;
    uint64_t ntasks = job_tasks(&rec);
    if (task != NULL && ntasks > 0 && one >= ntasks) {
        api_error(c, req, 400, "invalid_field", "task",
                  "task: %llu is not a task of job %llu (it has %llu: 0..%llu)",
                  (unsigned long long)one, (unsigned long long)p->id, (unsigned long long)ntasks,
                  (unsigned long long)ntasks - 1);
        goto out;
    }
    /* A job of several tasks has every line labelled "TASK: " (outtail.h). */
    bool labelled = ntasks > 1;
    enum outtail_stream s =
            stream && strcmp(stream, "stderr") == 0 ? OUTTAIL_STDERR : OUTTAIL_STDOUT;
    struct outtail_view v;
    if (tail != NULL) {
        outtail_read(c->out, p->id, s, UINT64_MAX, NULL, 0, &v);
        off = v.end > last ? v.end - last : 0;
    }
    uint8_t *buf = xmalloc(max);
    outtail_read(c->out, p->id, s, off, buf, max, &v);
    size_t len = v.len;
    if (task != NULL && labelled)
        v.len = keep_task(buf, &len, one, v.offset + v.len == v.end);
    else if (task != NULL && one > 0)
        len = 0; /* a job of one task: task 0's is all there is */
    char *text = xmalloc(b64_encoded_len(len) + 1);
    b64_encode(buf, len, text);
    free(buf);
    bool ended = nl_job_state_terminal(rec.state);
    json_t *o = json_pack(
            "{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:b}", "job",
            (json_int_t)p->id, "stream", s == OUTTAIL_STDERR ? "stderr" : "stdout", "state",
            nl_job_state_name(rec.state), "offset", (json_int_t)v.offset, "next_offset",
            (json_int_t)(v.offset + v.len), "start", (json_int_t)v.start, "end", (json_int_t)v.end,
            "skipped", (json_int_t)(v.offset > off ? v.offset - off : 0), "lost",
            (json_int_t)v.lost, "run", (json_int_t)v.run, "encoding", "base64", "data", text,
            /* Every byte shipped is here once the job has ended (docs/api.md). */
            "complete", ended && v.offset + v.len == v.end);
    json_object_set_new(o, "labelled", json_boolean(labelled && task == NULL));
    if (task != NULL)
        json_object_set_new(o, "task", json_integer((json_int_t)one));
    free(text);
    api_reply(c, req, 200, o);
out:
    nl_store_job_release(&rec);
}
