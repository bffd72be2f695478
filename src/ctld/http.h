/* SPDX-License-Identifier: MIT */
/*
 * http.h - nordlysd's HTTP server: libmicrohttpd in external-loop epoll
 * mode, wrapped so that no other file includes microhttpd.h.
 *
 * The server reads a request's body (up to the limit the body_limit
 * callback gives for its method and path, after which the body is
 * discarded and the request is marked too large), then calls dispatch
 * once with the whole request. dispatch answers with http_reply_*; it may
 * also ask for the answer to be held (http_req_hold) until the caller has
 * made the request's effects durable and calls http_release_held(): the
 * connection is suspended meanwhile, and resumed with its answer.
 *
 * Calling context: the loop thread only. MHD calls back only from inside
 * http_run(), so callbacks run between loop phases, never concurrently.
 */
#ifndef NL_CTLD_HTTP_H
#define NL_CTLD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_err;
struct http;
struct http_req;

struct http_ops {
    /* Largest body accepted for method and path (borrowed for the call). */
    size_t (*body_limit)(void *arg, const char *method, const char *path);
    /* Answer req (borrowed until it is answered or the connection ends). */
    void (*dispatch)(void *arg, struct http_req *req);
    /* req's answer has been queued after seconds (from its first byte); for metrics. */
    void (*answered)(void *arg, const struct http_req *req, double seconds);
    void *arg;
    /*
     * Listening options (borrowed for http_open). With tls_cert_file and
     * tls_key_file (PEM), the server speaks HTTPS only. Without them, a
     * listen address other than loopback is refused unless allow_insecure,
     * which logs a warning: tokens and job secrets would cross the network
     * in clear text.
     */
    const char *tls_cert_file;
    const char *tls_key_file;
    bool allow_insecure;
};

/*
 * Listen on listen_addr ("127.0.0.1:7420"; port 0 picks a free one).
 * Returns a new server, close with http_close; NULL with err naming the
 * address, or the certificate or key file, on failure. ops is copied.
 */
struct http *http_open(const char *listen_addr, const struct http_ops *ops, struct nl_err *err);
/* Resumes held requests, stops the server. NULL-safe. */
void http_close(struct http *h);

/* True when the server speaks HTTPS. */
bool http_tls(const struct http *h);
/* The port actually bound (the ephemeral one when 0 was asked). */
uint16_t http_port(const struct http *h);
/* An fd that becomes readable when http_run has work (libmicrohttpd's epoll fd). */
int http_fd(const struct http *h);
/* Milliseconds until http_run must be called even without activity; -1 for none. */
int http_timeout_ms(struct http *h);
/* Do all pending network work: accept, read, dispatch, write. */
void http_run(struct http *h);

/* Resume every held request so that its answer is sent. Returns how many. */
size_t http_release_held(struct http *h);
size_t http_held_count(const struct http *h);
/* Released by http_release_held, answer not yet queued. */
size_t http_resumed_count(const struct http *h);
/* Bytes of request bodies buffered now, all connections together (bounded; see http.c). */
size_t http_buffered_bytes(const struct http *h);
/* Requests answered 503 because that bound was reached, since http_open. */
uint64_t http_busy_refusals(const struct http *h);

/* ---- inside dispatch ---- */

const char *http_req_method(const struct http_req *req);
const char *http_req_path(const struct http_req *req);
/* A query argument (?state=RUNNING), or NULL; borrowed until the answer. */
const char *http_req_query(const struct http_req *req, const char *name);
/* A request header (case-insensitive name), or NULL; borrowed until the answer. */
const char *http_req_header(const struct http_req *req, const char *name);
/* The body (NUL-terminated, len bytes); borrowed until the answer. */
const char *http_req_body(const struct http_req *req, size_t *len);
/* True when the body went over the limit and was discarded. */
bool http_req_too_large(const struct http_req *req);
/* True when the peer is a loopback address (127.0.0.0/8 or ::1). */
bool http_req_loopback(const struct http_req *req);
/* The peer's address as text ("127.0.0.1"); borrowed until the answer. */
const char *http_req_peer(const struct http_req *req);

/* A small integer the dispatcher attaches to the request (the route index). */
void http_req_set_tag(struct http_req *req, int tag);
int http_req_tag(const struct http_req *req);

/*
 * Answer with body (takes ownership of the NUL-terminated text, freed with
 * free()), content_type borrowed (a static string). Exactly one answer
 * per request.
 */
void http_reply(struct http_req *req, unsigned status, const char *content_type, char *body);
/*
 * Add a header to the answer (the dashboard's security and cache headers).
 * name and value are borrowed until the answer is queued: static strings,
 * or ones that outlive the server. Past HTTP_EXTRA_HEADERS_MAX, ignored.
 */
#define HTTP_EXTRA_HEADERS_MAX 8
void http_reply_header(struct http_req *req, const char *name, const char *value);
/* Hold the answer until http_release_held (call before or after http_reply). */
void http_req_hold(struct http_req *req);

#endif
