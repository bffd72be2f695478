/* SPDX-License-Identifier: MIT */
/*
 * client.c - HTTP requests to nordlysd over libcurl; see client.h.
 *
 * The client is deliberately simple: one easy handle, one request at a
 * time, the whole answer read into memory (bounded) and parsed once. The
 * command line makes a handful of requests per run, so connection reuse
 * across the handle is the only performance measure that matters.
 */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "token.h"

/*
 * The largest answer we hold in memory. A listing of every job is the
 * biggest answer the API gives: 100k jobs at ~1 KB each is ~100 MB, so
 * 256 MB leaves room while still stopping a runaway or hostile server.
 */
#define CLI_REPLY_MAX_BYTES ((size_t)256 * 1024 * 1024)

/*
 * Connecting to a controller on the same network takes milliseconds; 5 s
 * means "not there". A whole request may take longer (a large listing from
 * a busy controller), so it gets a minute before we call it unreachable.
 */
#define CLI_CONNECT_TIMEOUT_MS 5000L
#define CLI_REQUEST_TIMEOUT_MS 60000L

/* How much of a non-JSON error body we quote back to the user. */
#define CLI_BODY_QUOTE_MAX 120

struct cli_client {
    char *url;     /* base, without trailing '/' */
    char *ca_file; /* NORDLYS_CA (set by --ca-file too), or NULL for the system store */
    char *bearer;  /* "Authorization: Bearer T", or NULL */
    CURL *curl;
};

struct reply_buf {
    char *data;
    size_t len;
    size_t cap;
    bool too_large;
};

struct cli_client *cli_client_create(const char *base_url)
{
    struct cli_client *c = xcalloc(1, sizeof(*c));
    size_t n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/')
        n--;
    c->url = xstrndup(base_url, n);
    const char *ca = getenv("NORDLYS_CA");
    c->ca_file = ca != NULL && ca[0] != '\0' ? xstrdup(ca) : NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        /* curl_easy_init fails only when it cannot allocate: the xalloc policy applies. */
        fprintf(stderr, "nordlys: out of memory (curl_easy_init)\n");
        abort();
    }
    return c;
}

void cli_client_destroy(struct cli_client *c)
{
    if (c == NULL)
        return;
    curl_easy_cleanup(c->curl);
    free(c->ca_file);
    curl_global_cleanup();
    free(c->url);
    free(c->bearer);
    free(c);
}

int cli_client_use_token(struct cli_client *c, const char *token_file)
{
    char *token = NULL;
    struct nl_err err = {0};
    if (cli_token_load(token_file, getenv, &token, &err) < 0) {
        fprintf(stderr, "nordlys: %s\n", err.msg);
        return NL_CLI_USAGE;
    }
    free(c->bearer);
    c->bearer = NULL;
    if (token != NULL) {
        size_t n = strlen(token) + 32;
        c->bearer = xmalloc(n);
        snprintf(c->bearer, n, "Authorization: Bearer %s", token);
        free(token);
    }
    return NL_CLI_OK;
}

const char *cli_client_url(const struct cli_client *c)
{
    return c->url;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct reply_buf *b = userdata;
    size_t n = size * nmemb;
    if (n > CLI_REPLY_MAX_BYTES - b->len) {
        b->too_large = true;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        b->cap = xgrow(b->cap, b->len + n + 1);
        b->data = xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/*
 * Map a transport failure onto an exit status and a message. The OS errno
 * ("Connection refused") says more to an operator than libcurl's generic
 * "Couldn't connect to server", so it goes first when there is one.
 */
/*
 * Whether the request may have reached the controller. A refused or
 * unresolvable connection never carried it; anything that broke after the
 * connection was made may have lost the answer to a request that was
 * carried out.
 */
static enum cli_attempt transport_kind(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return CLI_ATTEMPT_NOT_SENT;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return CLI_ATTEMPT_LOST;
    default:
        return CLI_ATTEMPT_FATAL;
    }
}

/*
 * Map a transport failure onto an exit status and a message. The OS errno
 * ("Connection refused") says more to an operator than libcurl's generic
 * "Couldn't connect to server", so it goes first when there is one.
 */
static int transport_error(struct cli_client *c, CURLcode rc, const char *errbuf,
                           const struct reply_buf *b, struct cli_outcome *oc, struct nl_err *err)
{
    oc->kind = CLI_ATTEMPT_FATAL;
    if (b->too_large) {
        nl_err_set(err, -EFBIG, "answer from %s is larger than %zu bytes", c->url,
                   CLI_REPLY_MAX_BYTES);
        return NL_CLI_FAILED;
    }
    const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
        nl_err_set(err, -EINVAL, "--url: '%s': %s", c->url, why);
        return NL_CLI_USAGE;
    }
    oc->kind = transport_kind(rc);
    long os_errno = 0;
    curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno != 0 && rc == CURLE_COULDNT_CONNECT)
        why = strerror((int)os_errno);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
        nl_err_set(err, -EHOSTUNREACH, "cannot reach controller at %s: %s (CA: %s)", c->url, why,
                   c->ca_file ? c->ca_file : "the system store; give --ca-file or NORDLYS_CA");
        return NL_CLI_UNREACHABLE;
    }
    nl_err_set(err, -EHOSTUNREACH, "cannot reach controller at %s: %s", c->url, why);
    return NL_CLI_UNREACHABLE;
}

static void set_request(struct cli_client *c, const char *method, const char *url, const char *body,
                        struct curl_slist *headers, struct reply_buf *b, char *errbuf)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CLI_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, CLI_REQUEST_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "nordlys-cli/0.1");
    /*
     * https:// is verified against the given CA or the system store, and
     * never without: peer and host checks are libcurl's defaults, kept on
     * by not touching them here.
     */
    if (c->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    /*
     * A proxy set in the environment for the outside world must not
     * swallow requests to a controller on loopback; an explicit no_proxy
     * from the user still wins.
     */
    if (getenv("no_proxy") == NULL && getenv("NO_PROXY") == NULL)
        curl_easy_setopt(h, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
}

static int parse_reply(const struct cli_client *c, long status, const struct reply_buf *b,
                       json_t **out, struct nl_err *err)
{
    const char *data = b->data != NULL ? b->data : "";
    if (status < 200 || status > 299)
        return cli_reply_error(status, data, b->len, c->url, err);
    json_error_t jerr;
    json_t *j = json_loadb(data, b->len, 0, &jerr);
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        nl_err_set(err, -EPROTO, "bad answer from controller at %s: %s", c->url,
                   j == NULL ? jerr.text : "not a JSON object");
        return NL_CLI_FAILED;
    }
    *out = j;
    return NL_CLI_OK;
}

int cli_client_send(struct cli_client *c, const char *method, const char *path, const json_t *body,
                    const char *const *extra, json_t **out, struct cli_outcome *oc,
                    struct nl_err *err)
{
    struct cli_outcome ignored;
    if (oc == NULL)
        oc = &ignored;
    *oc = (struct cli_outcome){.kind = CLI_ATTEMPT_ANSWERED};
    *out = NULL;
    struct reply_buf b = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    size_t url_len = strlen(c->url) + strlen(path) + 1;
    char *url = xmalloc(url_len);
    snprintf(url, url_len, "%s%s", c->url, path);
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    /* An empty "Expect:" stops libcurl waiting for 100-continue on bodies over 1 KB. */
    headers = curl_slist_append(headers, "Expect:");
    if (text != NULL)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    if (c->bearer != NULL)
        headers = curl_slist_append(headers, c->bearer);
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        headers = curl_slist_append(headers, extra[i]);

    set_request(c, method, url, text, headers, &b, errbuf);
    CURLcode rc = curl_easy_perform(c->curl);
    int status;
    if (rc != CURLE_OK) {
        status = transport_error(c, rc, errbuf, &b, oc, err);
    } else {
        long http = 0;
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &http);
        oc->status = http;
        status = parse_reply(c, http, &b, out, err);
    }
    curl_slist_free_all(headers);
    free(text);
    free(url);
    free(b.data);
    return status;
}

int cli_client_request(struct cli_client *c, const char *method, const char *path,
                       const json_t *body, json_t **out, struct nl_err *err)
{
    return cli_client_send(c, method, path, body, NULL, out, NULL, err);
}

int cli_client_call(struct cli_client *c, const char *method, const char *path, const json_t *body,
                    json_t **out)
{
    struct nl_err err = {0};
    int rc = cli_client_request(c, method, path, body, out, &err);
    if (rc != NL_CLI_OK)
        fprintf(stderr, "nordlys: %s\n", err.msg);
    return rc;
}

int cli_reply_error(long status, const char *body, size_t len, const char *url, struct nl_err *err)
{
    json_t *j = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    if (msg != NULL && msg[0] != '\0') {
        nl_err_set(err, -EPROTO, "%s", msg);
    } else {
        /* Not our API's error object (a proxy, another server on the port): quote it. */
        size_t n = len < CLI_BODY_QUOTE_MAX ? len : CLI_BODY_QUOTE_MAX;
        size_t k = 0;
        while (k < n && body[k] != '\n' && body[k] != '\r' && body[k] != '\0')
            k++;
        nl_err_set(err, -EPROTO, "HTTP %ld from %s%s%.*s", status, url, k > 0 ? ": " : "", (int)k,
                   body != NULL ? body : "");
    }
    json_decref(j);
    return NL_CLI_FAILED;
}

static bool is_unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

char *cli_path_query(const char *path, const char *const *keys, const char *const *vals, size_t n)
{
    /* Worst case every value byte becomes %XX: 3 bytes each, plus '?'/'&', '=' and the key. */
    size_t cap = strlen(path) + 1;
    for (size_t i = 0; i < n; i++)
        if (vals[i] != NULL)
            cap += strlen(keys[i]) + 3 * strlen(vals[i]) + 2;
    char *s = xmalloc(cap);
    size_t len = (size_t)snprintf(s, cap, "%s", path);
    char sep = '?';
    for (size_t i = 0; i < n; i++) {
        if (vals[i] == NULL)
            continue;
        len += (size_t)snprintf(s + len, cap - len, "%c%s=", sep, keys[i]);
        for (const unsigned char *p = (const unsigned char *)vals[i]; *p != '\0'; p++) {
            if (is_unreserved(*p))
                s[len++] = (char)*p;
            else
                len += (size_t)snprintf(s + len, cap - len, "%%%02X", *p);
        }
        s[len] = '\0';
        sep = '&';
    }
    return s;
}

void cli_print_json(const json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
}

int cli_get_and_print(const char *url, const char *token_file, const char *path, bool json,
                      cli_render_fn render)
{
    struct cli_client *c = cli_client_create(url);
    json_t *j = NULL;
    int rc = cli_client_use_token(c, token_file);
    if (rc == NL_CLI_OK)
        rc = cli_client_call(c, "GET", path, NULL, &j);
    if (rc == NL_CLI_OK) {
        if (json)
            cli_print_json(j);
        else
            render(j);
    }
    json_decref(j);
    cli_client_destroy(c);
    return rc;
}

double cli_json_num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *cli_json_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "-";
}

bool cli_json_bool(const json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}
