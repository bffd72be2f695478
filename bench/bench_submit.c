/* SPDX-License-Identifier: MIT */
/*
 * bench_submit.c - durable submissions per second through nordlysd's API,
 * and the API's latency, from C concurrent keep-alive connections.
 *
 *   bench_submit --url http://127.0.0.1:PORT [--conns C] [--jobs N]
 *                [--warmup W] [--body JSON] [--get PATH] [--label TEXT]
 *                [--ca-file PEM]
 *
 * An https:// URL is verified against --ca-file (else the system store),
 * as the CLI and agents do; connections are kept alive, so the figure is
 * TLS's per-request cost (record encryption), handshakes only at the start.
 *
 * One thread drives C libcurl easy handles through one multi handle, so
 * that the client costs a few microseconds per request and the figure is
 * the controller's, not the client's. Each connection has one request in
 * flight at a time (as a client that waits for its 201 does); the next
 * goes out on the same connection as soon as the answer is in. A request
 * is counted as a success only with the status the API promises (201 for
 * POST /v1/jobs, which nordlysd sends only after COMMIT; 200 for --get).
 *
 * Before and after the measured phase it reads /metrics: the jobs the
 * controller counts as committed must have grown by exactly the number of
 * 201s ("verified"), and the number of group commits gives the jobs per
 * commit. W warm-up requests run first and are not counted.
 *
 * Prints one JSON line: label, conns, jobs, ok, errors, wall_s, per_s,
 * p50_ms, p99_ms, max_ms, commits, jobs_per_commit, verified. Exit status
 * 0 when every request succeeded and the count verified, 1 otherwise, 2
 * for bad options.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stat.h"
#include "common/clock.h"
#include "common/xalloc.h"

/* More connections than this is a typo, not a benchmark (MHD allows 10,000 in all). */
#define CONNS_MAX 4096
/* One latency sample per request: 10 M doubles is 80 MB, far beyond any run here. */
#define JOBS_MAX     10000000u
#define DEFAULT_BODY "{\"name\":\"bench\",\"gpus\":1,\"command\":[\"sleep\",\"3600\"]}"

struct opts {
    const char *url;
    const char *body;
    const char *get_path; /* NULL: POST /v1/jobs */
    const char *label;
    const char *ca_file; /* NULL: the system store */
    size_t conns, jobs, warmup;
};

struct conn {
    CURL *easy;
    int64_t t0_us;
};

struct bench {
    const struct opts *o;
    CURLM *multi;
    struct conn *conns;
    struct curl_slist *headers;
    char *req_url;
    long want_status;
    size_t started, done, ok, errors;
    double *lat_ms; /* one per counted request */
    bool record;
    char first_error[256];
};

static size_t discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct bench *b = arg;
    size_t n = size * nmemb;
    /* Keep the start of an error body: it names the field the API refused. */
    if (b->first_error[0] == '\0' && n > 0 && ptr[0] == '{' && strstr(ptr, "\"error\""))
        snprintf(b->first_error, sizeof(b->first_error), "%.*s", (int)(n < 200 ? n : 200), ptr);
    return n;
}

static void conn_setup(struct bench *b, struct conn *c)
{
    c->easy = curl_easy_init();
    if (c->easy == NULL) {
        fprintf(stderr, "bench_submit: curl_easy_init failed\n");
        exit(1);
    }
    curl_easy_setopt(c->easy, CURLOPT_URL, b->req_url);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    if (b->o->ca_file != NULL)
        curl_easy_setopt(c->easy, CURLOPT_CAINFO, b->o->ca_file);
    /* The token goes with GETs too (Content-Type with them is harmless). */
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, b->headers);
    if (b->o->get_path == NULL) {
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, b->o->body);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(b->o->body));
    }
}

static void start_one(struct bench *b, struct conn *c)
{
    c->t0_us = nl_clock_monotonic_us();
    b->started++;
    curl_multi_add_handle(b->multi, c->easy);
}

static void finish_one(struct bench *b, CURLMsg *m)
{
    struct conn *c = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
    double ms = (double)(nl_clock_monotonic_us() - c->t0_us) / 1000.0;
    long status = 0;
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(b->multi, m->easy_handle);
    bool good = m->data.result == CURLE_OK && status == b->want_status;
    if (!good && b->first_error[0] == '\0')
        snprintf(b->first_error, sizeof(b->first_error), "status %ld: %s", status,
                 curl_easy_strerror(m->data.result));
    if (b->record) {
        b->lat_ms[b->done] = ms;
        if (good)
            b->ok++;
        else
            b->errors++;
    }
    b->done++;
}

/* Run n requests over the connections; recorded into lat_ms when b->record. */
static void run_phase(struct bench *b, size_t n)
{
    b->started = b->done = 0;
    size_t first = b->o->conns < n ? b->o->conns : n;
    for (size_t i = 0; i < first; i++)
        start_one(b, &b->conns[i]);
    while (b->done < n) {
        int running = 0;
        curl_multi_perform(b->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(b->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            CURL *easy = m->easy_handle;
            struct conn *c = NULL;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
            finish_one(b, m);
            if (b->started < n)
                start_one(b, c);
        }
        if (b->done < n)
            curl_multi_poll(b->multi, NULL, 0, 100, NULL);
    }
}

/* ---- /metrics ---- */

struct textbuf {
    char *p;
    size_t len, cap;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct textbuf *t = arg;
    size_t n = size * nmemb;
    if (t->len + n + 1 > t->cap) {
        t->cap = xgrow(t->cap, t->len + n + 1);
        t->p = xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, ptr, n);
    t->len += n;
    t->p[t->len] = '\0';
    return n;
}

/* The value of an unlabelled sample NAME in Prometheus text, or -1. */
static double metric_value(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, len) == 0 && p[len] == ' ')
            return strtod(p + len + 1, NULL);
    }
    return -1;
}

/* Committed jobs and group commits as the controller counts them; -1 when unreadable. */
static void read_metrics(const char *base, const char *ca_file, double *submitted, double *commits)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s/metrics", base);
    struct textbuf t = {0};
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
    if (ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
    *submitted = *commits = -1;
    if (curl_easy_perform(e) == CURLE_OK && t.p != NULL) {
        *submitted = metric_value(t.p, "nordlys_jobs_submitted_total");
        *commits = metric_value(t.p, "nordlys_store_commits_total");
    }
    curl_easy_cleanup(e);
    free(t.p);
}

/* ---- options and report ---- */

static void usage(void)
{
    fprintf(stderr, "usage: bench_submit --url URL [--conns C] [--jobs N] [--warmup W]"
                    " [--body JSON] [--get PATH] [--label TEXT] [--ca-file PEM]\n");
}

static int parse_count(const char *name, const char *text, size_t lo, size_t hi, size_t *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(text ? text : "", &end, 10);
    if (text == NULL || text[0] < '0' || text[0] > '9' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "bench_submit: %s: '%s' is not %zu..%zu\n", name, text ? text : "", lo, hi);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.body = DEFAULT_BODY, .label = "", .conns = 1, .jobs = 10000};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (strcmp(k, "--url") == 0 && v)
            o->url = v;
        else if (strcmp(k, "--body") == 0 && v)
            o->body = v;
        else if (strcmp(k, "--get") == 0 && v)
            o->get_path = v;
        else if (strcmp(k, "--label") == 0 && v)
            o->label = v;
        else if (strcmp(k, "--ca-file") == 0 && v)
            o->ca_file = v;
        else if (strcmp(k, "--conns") == 0)
            rc = parse_count("conns", v, 1, CONNS_MAX, &o->conns);
        else if (strcmp(k, "--jobs") == 0)
            rc = parse_count("jobs", v, 1, JOBS_MAX, &o->jobs);
        else if (strcmp(k, "--warmup") == 0)
            rc = parse_count("warmup", v, 0, JOBS_MAX, &o->warmup);
        else {
            fprintf(stderr, "bench_submit: %s: unknown option or missing value\n", k);
            return -1;
        }
        if (rc < 0)
            return -1;
        i++;
    }
    if (o->url == NULL) {
        fprintf(stderr, "bench_submit: url: missing\n");
        return -1;
    }
    return 0;
}

static double pct(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static bool report(const struct bench *b, double wall_s, double d_sub, double d_commits)
{
    const struct opts *o = b->o;
    qsort(b->lat_ms, o->jobs, sizeof(double), bench_cmp_double);
    bool posting = o->get_path == NULL;
    bool verified = !posting || (d_sub >= 0 && (size_t)d_sub == b->ok);
    printf("{\"label\":\"%s\",\"kind\":\"%s\",\"conns\":%zu,\"jobs\":%zu,\"ok\":%zu,"
           "\"errors\":%zu,\"wall_s\":%.3f,\"per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"max_ms\":%.3f,\"commits\":%.0f,\"jobs_per_commit\":%.1f,\"verified\":%s}\n",
           o->label, posting ? "submit" : "get", o->conns, o->jobs, b->ok, b->errors, wall_s,
           (double)b->ok / wall_s, pct(b->lat_ms, o->jobs, 0.50), pct(b->lat_ms, o->jobs, 0.99),
           b->lat_ms[o->jobs - 1], d_commits, d_commits > 0 ? d_sub / d_commits : 0.0,
           verified ? "true" : "false");
    if (b->errors > 0 || !verified)
        fprintf(stderr, "bench_submit: %zu errors, committed %.0f for %zu answers; first: %s\n",
                b->errors, d_sub, b->ok, b->first_error);
    return b->errors == 0 && verified;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse_opts(argc, argv, &o) < 0) {
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct bench b = {.o = &o, .want_status = o.get_path ? 200 : 201};
    size_t n = strlen(o.url) + (o.get_path ? strlen(o.get_path) : 8) + 1;
    b.req_url = xmalloc(n);
    snprintf(b.req_url, n, "%s%s", o.url, o.get_path ? o.get_path : "/v1/jobs");
    b.headers = curl_slist_append(NULL, "Content-Type: application/json");
    /* The controller checks a token on every request: the bench pays for that, as clients do. */
    const char *token = getenv("NORDLYS_TOKEN");
    if (token != NULL && token[0] != '\0') {
        size_t hn = strlen(token) + 32;
        char *h = xmalloc(hn);
        snprintf(h, hn, "Authorization: Bearer %s", token);
        b.headers = curl_slist_append(b.headers, h);
        free(h);
    }
    b.multi = curl_multi_init();
    /* Keep every connection alive between requests: the cache must hold them all. */
    curl_multi_setopt(b.multi, CURLMOPT_MAXCONNECTS, (long)o.conns + 1);
    b.conns = xcalloc(o.conns, sizeof(*b.conns));
    for (size_t i = 0; i < o.conns; i++)
        conn_setup(&b, &b.conns[i]);
    b.lat_ms = xcalloc(o.jobs, sizeof(double));
    if (o.warmup > 0)
        run_phase(&b, o.warmup);
    double sub0, com0, sub1, com1;
    read_metrics(o.url, o.ca_file, &sub0, &com0);
    b.record = true;
    int64_t t0 = nl_clock_monotonic_us();
    run_phase(&b, o.jobs);
    double wall_s = (double)(nl_clock_monotonic_us() - t0) / 1e6;
    read_metrics(o.url, o.ca_file, &sub1, &com1);
    bool good = report(&b, wall_s, sub0 >= 0 && sub1 >= 0 ? sub1 - sub0 : -1,
                       com0 >= 0 && com1 >= 0 ? com1 - com0 : -1);
    for (size_t i = 0; i < o.conns; i++)
        curl_easy_cleanup(b.conns[i].easy);
    curl_multi_cleanup(b.multi);
    curl_slist_free_all(b.headers);
    curl_global_cleanup();
    free(b.conns);
    free(b.lat_ms);
    free(b.req_url);
    return good ? 0 : 1;
}
