/* SPDX-License-Identifier: MIT */
/*
 * http.c - libmicrohttpd in external-loop epoll mode; see http.h.
 *
 * One struct http_req per request, attached to MHD's per-request pointer.
 * Its life: READING (body chunks arrive) -> dispatched (an answer is set)
 * -> possibly HELD (connection suspended until the caller's COMMIT) ->
 * queued -> freed by MHD's completion callback. MHD calls the access
 * handler again after a resume, which is when a held answer is queued.
 *
 * The request is created by MHD's URI log callback, which sees the request
 * target as sent: the path is decoded here, strictly (MHD's own decoder
 * turns %00 into a string terminator, so "/v1/jobs/99%00abc" read as
 * "/v1/jobs/99"). A bad escape, %00 or a control character anywhere in the
 * target is answered 400 here, naming the path segment, without dispatch.
 *
 * All request bodies together are bounded by HTTP_BUFFERED_MAX; a request
 * that would go over it is answered 503 here, without dispatch.
 */
#define _GNU_SOURCE
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "tlsconn.h"

/*
 * Connection limits. 10,000 connections covers thousands of agents with
 * keep-alive plus clients; an idle connection is dropped after 60 s so a
 * vanished client cannot hold one for ever. The per-connection pool holds
 * only headers and the read buffer (bodies are copied out as they arrive,
 * answers are our own buffers), and MHD zeroes the whole pool before every
 * request on a kept-alive connection, more than once: 16 KiB (half MHD's
 * default) halves that memory traffic, which with hundreds of connections
 * is cache the TLS record work wants (bench/RESULTS.md, "one TLS record").
 * It still holds a 12 KB request target (refused past 8192 by decode_target,
 * with our own message) and several KB of headers.
 */
#define HTTP_CONNECTIONS_MAX   10000
#define HTTP_IDLE_TIMEOUT_S    60
#define HTTP_CONN_MEMORY_BYTES (16 * 1024)
/*
 * The bytes of request bodies all connections together may buffer. One
 * connection may send 16 MiB (an agent's sync), and 10,000 connections
 * could then hold 160 GB: without a global bound, a burst of large
 * requests (or a deliberate flood) gets the controller OOM-killed, which
 * loses every agent and client at once. 256 MiB holds 16 maximal agent
 * syncs in flight at the same instant, far more than a facility sends;
 * above it a request is answered 503 (agents and clients retry) and the
 * controller carries on.
 */
#define HTTP_BUFFERED_MAX ((size_t)256 * 1024 * 1024)
/*
 * GnuTLS's defaults, but TLS 1.2 and 1.3 only: Debian 12's NORMAL still
 * offers TLS 1.1, which nothing that speaks to nordlysd needs (libcurl of
 * the CLI and agents does 1.3).
 */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/*
 * One TLS record per answer. libmicrohttpd 0.9.75 (Debian 12) joins an
 * answer's header and body in one sendmsg only without TLS; over TLS it
 * hands them to GnuTLS in two calls: two records, two sends, and the
 * encryption's fixed cost twice. So the session is corked just before a
 * small answer is queued, GnuTLS gathers what MHD gives it, and MHD's
 * completion callback, which it calls one round after it took the last
 * byte (http_run runs that round at once), uncorks: one record, one send
 * (src/ctld/tlsconn.c, bench/RESULTS.md "TLS"). Corked bytes are a copy,
 * hence the bound; larger answers (history pages, output) go out as MHD
 * sends them. Only a connection that stays open is corked: a closing one's
 * answer is its last, and it leaves with the close.
 */
#define HTTP_CORK_MAX (12 * 1024)
/* The least wait of the loop while a TLS handshake is stalled (http_timeout_ms). */
#define HTTP_STALL_WAIT_MS 1
/* A PEM certificate chain or key larger than this is a wrong path, not a credential. */
#define HTTP_PEM_MAX_BYTES (1024 * 1024)
/* A request target longer than this is not one of ours (MHD's pool bounds it anyway). */
#define HTTP_TARGET_MAX 8192

struct http_req {
    struct http *http;
    struct MHD_Connection *conn;
    char *method, *path;
    char *target; /* as sent, until the path is decoded */
    char *body;
    size_t len, cap, limit;
    bool too_large;
    bool over_budget; /* HTTP_BUFFERED_MAX reached: answered 503 */
    char *bad_path;   /* why the target was refused (400), or NULL */
    bool dispatched;
    bool held;
    bool resumed; /* released by http_release_held, answer not yet queued */
    bool queued;
    unsigned status;
    const char *content_type;
    char *reply;
    const char *extra[HTTP_EXTRA_HEADERS_MAX][2]; /* http_reply_header: borrowed name, value */
    size_t nextra;
    int tag;
    int64_t t0_us;
    char peer[INET6_ADDRSTRLEN];
    bool loopback;
    bool keep_alive;        /* HTTP/1.1 and no "Connection: close" asked */
    struct tlsconn *corked; /* corked by queue_answer, uncorked by on_completed */
};

struct http {
    struct MHD_Daemon *mhd;
    struct http_ops ops;
    uint16_t port;
    struct http_req **held;
    size_t nheld, held_cap;
    size_t nresumed; /* requests with resumed set */
    size_t ncorked;  /* requests with corked set */
    size_t nstalled; /* TLS connections whose handshake waits for the client (tlsconn) */
    size_t buffered; /* bytes of request bodies allocated, all connections */
    uint64_t busy;   /* requests refused for HTTP_BUFFERED_MAX */

    char *tls_cert, *tls_key; /* PEM text, kept for MHD's life (it may refer to it) */
    bool starting;            /* inside MHD_start_daemon: keep MHD's first message */
    char start_msg[256];
};

static void peer_of(struct http_req *req)
{
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(req->peer, sizeof(req->peer), "?");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, req->peer, sizeof(req->peer));
        req->loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, req->peer, sizeof(req->peer));
        req->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Text from the request line for a message: printable bytes as they are, others as \xNN. */
static void shown(const char *s, size_t len, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 5 < size; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch >= 0x7f)
            n += (size_t)snprintf(out + n, size - n, "\\x%02x", ch);
        else
            out[n++] = (char)ch;
    }
    out[n] = '\0';
}

/* Whether s (len bytes) is well-formed UTF-8: answers echo the path in JSON, which must be. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = s[i] < 0x80             ? 0
                   : (s[i] & 0xe0) == 0xc0 ? 1
                   : (s[i] & 0xf0) == 0xe0 ? 2
                   : (s[i] & 0xf8) == 0xf0 ? 3
                                           : 4;
        if (n == 4 || (n > 0 && i + n >= len))
            return false;
        if (n == 1 && s[i] < 0xc2)
            return false; /* overlong */
        for (size_t k = 1; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        i += n + 1;
    }
    return true;
}

/*
 * Check the whole target (path and query) and decode its path into a new
 * string. NULL with *why set (a new string) when an escape is not %XX, or
 * it or a raw byte is NUL or a control character: each of those would make
 * the path mean something else to us than to the sender.
 */
static char *decode_target(const char *target, char **why)
{
    size_t tlen = strlen(target), plen = strcspn(target, "?");
    /* The path, then the query after it: decoded whole, so that both are checked for UTF-8. */
    char *path = xmalloc(tlen + 1);
    size_t n = 0, pn = 0;
    const char *problem = NULL;
    size_t at = 0;
    for (size_t i = 0; i < tlen && problem == NULL; i++) {
        unsigned char ch = (unsigned char)target[i];
        at = i;
        if (i == plen)
            pn = n;
        if (ch == '%') {
            int hi = hex_digit(target[i + 1]); /* the NUL at tlen stops it */
            int lo = hi >= 0 ? hex_digit(target[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                problem = "a '%' not followed by two hex digits";
            else if (hi * 16 + lo < 0x20 || hi * 16 + lo == 0x7f)
                problem = hi * 16 + lo == 0 ? "%00 (NUL)" : "an escaped control character";
            else
                path[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (ch < 0x20 || ch == 0x7f) {
            problem = "a control character";
        } else {
            path[n++] = (char)ch;
        }
    }
    if (plen == tlen)
        pn = n;
    /* Handlers quote query values back in JSON as they quote the path: both must be UTF-8. */
    bool path_ok = utf8_valid((const unsigned char *)path, pn);
    if (problem == NULL && (!path_ok || !utf8_valid((const unsigned char *)path + pn, n - pn))) {
        problem = "bytes that are not UTF-8";
        /* Named by the first byte above 0x7f, raw or escaped, in the part at fault. */
        for (at = path_ok ? plen : 0; at + 1 < tlen; at++)
            if ((unsigned char)target[at] >= 0x80 ||
                (target[at] == '%' && hex_digit(target[at + 1]) >= 8))
                break;
    }
    path[pn] = '\0';
    if (problem == NULL)
        return path;
    free(path);
    /* The segment at fault: from the '/' (or '?', '&') before it to the next one. */
    size_t start = at, end = at;
    while (start > 0 && strchr("/?&", target[start - 1]) == NULL)
        start--;
    while (end < tlen && strchr("/?&", target[end]) == NULL)
        end++;
    char seg[160];
    shown(target + start, end - start < 64 ? end - start : 64, seg, sizeof(seg));
    size_t size = 512;
    *why = xmalloc(size);
    snprintf(*why, size, "%s: %s '%s' has %s at byte %zu of the request target",
             at < plen ? "path" : "query", at < plen ? "segment" : "parameter", seg, problem, at);
    return NULL;
}

/*
 * MHD's URI log callback: called with the request target as sent, before
 * MHD decodes it; what it returns becomes the request's con_cls.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_req *req = xcalloc(1, sizeof(*req));
    req->http = cls;
    req->conn = conn;
    req->tag = -1;
    req->t0_us = nl_clock_monotonic_us();
    req->target = strlen(uri) <= HTTP_TARGET_MAX ? xstrdup(uri) : NULL;
    return req;
}

static void json_error(struct http_req *req, unsigned status, const char *code, const char *msg)
{
    char *text = NULL;
    size_t size = strlen(msg) * 2 + 128;
    text = xmalloc(size);
    size_t n = (size_t)snprintf(
            text, size, "{\"error\":{\"status\":%u,\"code\":\"%s\",\"message\":\"", status, code);
    for (const char *p = msg; *p && n + 3 < size; p++) {
        if (*p == '"' || *p == '\\')
            text[n++] = '\\';
        text[n++] = *p;
    }
    snprintf(text + n, size - n, "\"}}");
    req->status = status;
    req->content_type = "application/json";
    free(req->reply);
    req->reply = text;
}

/* HTTP_BUFFERED_MAX is reached: req is answered 503 once it has been read. */
static void over_budget(struct http_req *req)
{
    req->over_budget = true;
    req->http->busy++;
}

/* The access handler's first call: the method is known, the path decoded. */
static void req_start(struct http *h, struct http_req *req, const char *method, const char *version)
{
    req->method = xstrdup(method);
    const char *conn_hdr =
            MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONNECTION);
    req->keep_alive = strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
                      (conn_hdr == NULL || strcasestr(conn_hdr, "close") == NULL);
    peer_of(req);
    if (req->target == NULL) {
        req->bad_path = xstrdup("path: the request target is longer than 8192 bytes");
        req->path = xstrdup("");
    } else if ((req->path = decode_target(req->target, &req->bad_path)) == NULL) {
        req->path = xstrdup("");
    }
    free(req->target);
    req->target = NULL;
    req->limit = req->bad_path ? 0 : h->ops.body_limit(h->ops.arg, method, req->path);
    /* A declared length over the limit is refused without buffering anything. */
    const char *cl =
            MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
    if (declared > req->limit)
        req->too_large = true;
    else if (declared > HTTP_BUFFERED_MAX - h->buffered)
        over_budget(req);
}

static void req_destroy(struct http_req *req)
{
    if (req == NULL)
        return;
    req->http->buffered -= req->cap;
    free(req->method);
    free(req->path);
    free(req->target);
    free(req->bad_path);
    free(req->body);
    free(req->reply);
    free(req);
}

static void body_drop(struct http_req *req)
{
    req->http->buffered -= req->cap;
    free(req->body);
    req->body = NULL;
    req->len = req->cap = 0;
}

static void body_append(struct http_req *req, const char *data, size_t n)
{
    if (req->too_large || req->over_budget || req->bad_path)
        return;
    if (n > req->limit || req->len > req->limit - n) {
        req->too_large = true;
        body_drop(req);
        return;
    }
    if (req->len + n + 1 > req->cap) {
        size_t cap = xgrow(req->cap, req->len + n + 1);
        struct http *h = req->http;
        if (cap - req->cap > HTTP_BUFFERED_MAX - h->buffered) {
            over_budget(req);
            body_drop(req);
            return;
        }
        h->buffered += cap - req->cap;
        req->cap = cap;
        req->body = xrealloc(req->body, req->cap);
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    req->body[req->len] = '\0';
}

/* The request's resumed answer is queued, or its connection is gone. */
static void resumed_done(struct http_req *req)
{
    if (req->resumed) {
        req->resumed = false;
        req->http->nresumed--;
    }
}

/*
 * MHD's socket context: a TLS connection's tlsconn (receive buffer and
 * record gathering), NULL in plain HTTP.
 */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = NULL;
        if (h->tls_cert == NULL)
            return;
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        const union MHD_ConnectionInfo *fd =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci != NULL && ci->tls_session != NULL && fd != NULL)
            *socket_context = tlsconn_open(ci->tls_session, fd->connect_fd, &h->nstalled);
    } else if (*socket_context != NULL) {
        tlsconn_close(*socket_context);
        *socket_context = NULL;
    }
}

static struct tlsconn *tlsconn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *sc =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return sc != NULL ? sc->socket_context : NULL;
}

/* HTTP_CORK_MAX: gather the answer's header and body in one TLS record. */
static void cork(struct http_req *req, size_t len)
{
    if (req->http->tls_cert == NULL || !req->keep_alive || len > HTTP_CORK_MAX)
        return;
    req->corked = tlsconn_of(req->conn);
    if (req->corked != NULL) {
        tlsconn_cork(req->corked);
        req->http->ncorked++;
    }
}

/* Send what cork gathered (tlsconn_uncork: or shut the connection down). */
static void uncork(struct http_req *req, enum MHD_RequestTerminationCode toe)
{
    const char *why = NULL;
    if (tlsconn_uncork(req->corked, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK, &why) < 0)
        log_debug(NL_LOGC_API, "http: %s: answer not sent (%s): closing the connection", req->peer,
                  why);
    req->corked = NULL;
    req->http->ncorked--;
}

static enum MHD_Result queue_answer(struct http_req *req)
{
    resumed_done(req);
    const char *text = req->reply ? req->reply : "";
    cork(req, strlen(text));
    struct MHD_Response *resp =
            MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    if (req->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    if (req->status == 503 || req->status == 429)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    for (size_t i = 0; i < req->nextra; i++)
        MHD_add_response_header(resp, req->extra[i][0], req->extra[i][1]);
    enum MHD_Result r = MHD_queue_response(req->conn, req->status, resp);
    MHD_destroy_response(resp);
    req->queued = true;
    struct http *h = req->http;
    if (h->ops.answered != NULL)
        h->ops.answered(h->ops.arg, req, (double)(nl_clock_monotonic_us() - req->t0_us) / 1e6);
    return r;
}

static void hold_push(struct http *h, struct http_req *req)
{
    if (h->nheld == h->held_cap) {
        h->held_cap = xgrow(h->held_cap, h->nheld + 1);
        h->held = xreallocarray(h->held, h->held_cap, sizeof(*h->held));
    }
    h->held[h->nheld++] = req;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)url; /* decoded by MHD, leniently: req->path is ours (req_start) */
    struct http *h = cls;
    struct http_req *req = *con_cls;
    if (req == NULL) /* MHD always calls on_uri first; this is our own bug */
        return MHD_NO;
    if (req->method == NULL) {
        req_start(h, req, method, version);
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        body_append(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->queued)
        return MHD_YES;
    if (!req->dispatched && (req->bad_path || req->over_budget)) {
        req->dispatched = true;
        if (req->bad_path)
            json_error(req, 400, "invalid_path", req->bad_path);
        else
            json_error(req, 503, "busy",
                       "server: request bodies in flight have reached their limit (256 MiB "
                       "together); retry shortly");
    }
    if (!req->dispatched) {
        req->dispatched = true;
        h->ops.dispatch(h->ops.arg, req);
        if (req->status == 0) {
            req->status = 500;
            req->content_type = "application/json";
            req->reply = xstrdup("{\"error\":{\"status\":500,\"code\":\"internal\","
                                 "\"message\":\"no answer\"}}");
        }
        if (req->held) {
            /* The answer waits for the caller's COMMIT; see http_release_held. */
            MHD_suspend_connection(conn);
            hold_push(h, req);
            return MHD_YES;
        }
    }
    return queue_answer(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    struct http_req *req = *con_cls;
    if (req != NULL && req->corked != NULL)
        uncork(req, toe);
    if (req != NULL)
        resumed_done(req);
    req_destroy(*con_cls);
    *con_cls = NULL;
}

static int parse_listen(const char *text, struct sockaddr_in *sa, struct nl_err *err)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
        return nl_err_set(err, -EINVAL, "listen: '%s' is not HOST:PORT", text);
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port > 65535)
        return nl_err_set(err, -EINVAL, "listen: '%s': port is not 0..65535", text);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return nl_err_set(err, -EINVAL, "listen: '%s': host is not an IPv4 address", text);
    return 0;
}

static uint16_t bound_port(struct MHD_Daemon *mhd)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    if (di == NULL || getsockname(di->listen_fd, (struct sockaddr *)&sa, &len) < 0)
        return 0;
    return ntohs(sa.sin_port);
}

/*
 * MHD's own messages. During MHD_start_daemon the first one is the most
 * specific (GnuTLS's reason for refusing a key, bind's errno), so it is
 * kept for http_open's error; later ones are about single connections (a
 * client that failed the TLS handshake) and go to the log.
 */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct http *h = cls;
    char msg[sizeof(h->start_msg)];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    vsnprintf(msg, sizeof(msg), fmt, ap);
#pragma GCC diagnostic pop
    msg[strcspn(msg, "\n")] = '\0';
    if (!h->starting)
        log_info("http: %s", msg);
    else if (h->start_msg[0] == '\0')
        snprintf(h->start_msg, sizeof(h->start_msg), "%s", msg);
}

/* Read one PEM file for TLS; err names the option and the file. */
static int read_pem(const char *opt, const char *path, const char *marker, char **out,
                    struct nl_err *err)
{
    size_t len = 0;
    struct nl_err ferr = {0};
    if (nl_file_read(path, HTTP_PEM_MAX_BYTES, out, &len, &ferr) < 0)
        return nl_err_set(err, ferr.code, "%s: %s", opt, ferr.msg);
    if (strstr(*out, marker) == NULL) {
        free(*out);
        *out = NULL;
        return nl_err_set(err, -EINVAL, "%s: %s: no PEM '%s' block in it", opt, path, marker);
    }
    return 0;
}

/*
 * Decide between HTTPS and plain HTTP, and load the certificate and key.
 * Plain HTTP is for loopback (local development); anywhere else a bearer
 * token in clear text is anyone's on the path, so it needs the operator's
 * explicit allow_insecure.
 */
static int setup_tls(struct http *h, const char *listen_addr, const struct sockaddr_in *sa,
                     struct nl_err *err)
{
    const char *cert = h->ops.tls_cert_file, *key = h->ops.tls_key_file;
    bool have_cert = cert != NULL && cert[0] != '\0', have_key = key != NULL && key[0] != '\0';
    if (have_cert != have_key)
        return nl_err_set(err, -EINVAL, "%s: HTTPS needs both --tls-cert and --tls-key",
                          have_cert ? "--tls-cert" : "--tls-key");
    if (!have_cert) {
        bool loopback = (ntohl(sa->sin_addr.s_addr) >> 24) == 127;
        if (loopback)
            return 0;
        if (!h->ops.allow_insecure)
            return nl_err_set(err, -EPERM,
                              "listen: %s is not a loopback address: give --tls-cert and "
                              "--tls-key for HTTPS (or --allow-insecure to send tokens and job "
                              "data in clear text)",
                              listen_addr);
        log_warn("listen: %s without TLS (--allow-insecure): tokens and job data cross the "
                 "network in clear text",
                 listen_addr);
        return 0;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return nl_err_set(err, -ENOTSUP, "--tls-cert: this libmicrohttpd was built without TLS");
    if (read_pem("--tls-cert", cert, "-----BEGIN CERTIFICATE-----", &h->tls_cert, err) < 0 ||
        read_pem("--tls-key", key, "PRIVATE KEY-----", &h->tls_key, err) < 0)
        return err->code;
    /* Not refused: the operator may have reasons (a group the daemon shares); but said. */
    struct stat st;
    if (stat(key, &st) == 0 && (st.st_mode & 077) != 0)
        log_warn("--tls-key %s: readable by group or others (mode %03o): chmod 600 it", key,
                 (unsigned)(st.st_mode & 0777));
    return 0;
}

static void release_tls(struct http *h)
{
    /* The private key does not outlive the server in freed heap (volatile: not elided). */
    for (volatile char *p = h->tls_key; p != NULL && *p != '\0'; p++)
        *p = '\0';
    free(h->tls_key);
    free(h->tls_cert);
}

static struct MHD_Daemon *start_mhd(struct http *h, const struct sockaddr_in *sa)
{
    /*
     * No MHD thread: MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD
     * gives us its epoll fd to wait on in our own loop. LISTENING_ADDRESS_REUSE
     * lets a restarted controller bind its old port at once. The TLS options
     * come last so that without TLS they are cut off by the first END.
     */
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (h->tls_cert != NULL)
        flags |= MHD_USE_TLS;
    h->starting = true;
    struct MHD_Daemon *mhd = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
            MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
            MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)HTTP_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)HTTP_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)HTTP_CONN_MEMORY_BYTES, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
            h->tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls_cert,
            MHD_OPTION_HTTPS_MEM_KEY, h->tls_key, MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES,
            MHD_OPTION_END);
    h->starting = false;
    return mhd;
}

struct http *http_open(const char *listen_addr, const struct http_ops *ops, struct nl_err *err)
{
    struct sockaddr_in sa;
    if (parse_listen(listen_addr, &sa, err) < 0)
        return NULL;
    struct http *h = xcalloc(1, sizeof(*h));
    h->ops = *ops;
    if (setup_tls(h, listen_addr, &sa, err) < 0)
        goto fail;
    /* The file names are borrowed for this call only. */
    h->ops.tls_cert_file = h->ops.tls_key_file = NULL;
    h->mhd = start_mhd(h, &sa);
    if (h->mhd == NULL) {
        const char *why = h->start_msg[0] ? h->start_msg : "address in use or not local";
        if (h->tls_cert != NULL && (strstr(why, "TLS") || strstr(why, "certificate") ||
                                    strstr(why, "key") || strstr(why, "GnuTLS")))
            nl_err_set(err, -EINVAL, "--tls-cert %s / --tls-key %s: %s", ops->tls_cert_file,
                       ops->tls_key_file, why);
        else
            nl_err_set(err, -EADDRINUSE, "listen: %s: cannot listen (%s)", listen_addr, why);
        goto fail;
    }
    h->port = bound_port(h->mhd);
    return h;
fail:
    release_tls(h);
    free(h);
    return NULL;
}

void http_close(struct http *h)
{
    if (h == NULL)
        return;
    /* MHD refuses to stop with suspended connections: resume them first. */
    http_release_held(h);
    MHD_run(h->mhd);
    MHD_stop_daemon(h->mhd);
    release_tls(h);
    free(h->held);
    free(h);
}

bool http_tls(const struct http *h)
{
    return h->tls_cert != NULL;
}

uint16_t http_port(const struct http *h)
{
    return h->port;
}

int http_fd(const struct http *h)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    return di ? di->epoll_fd : -1;
}

int http_timeout_ms(struct http *h)
{
    /*
     * MHD signals a resume only to its own polling thread, never to an
     * external epoll: without this, an answer released by the COMMIT would
     * wait for the next unrelated wake-up (the 100 ms scheduling timer, or
     * another client), which is what made every single-client request take
     * 50-100 ms.
     */
    if (h->nresumed > 0)
        return 0;
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(h->mhd, &ms) != MHD_YES)
        return -1;
    /*
     * A TLS handshake that waits for the client's next bytes leaves its
     * connection marked readable in MHD, which then asks for no wait at
     * all until the handshake ends or times out: one stalled client (or
     * any client a round trip away, for that round trip) would hold the
     * loop at 100% CPU. While one is stalled, wait at least
     * HTTP_STALL_WAIT_MS: the client's bytes wake the loop anyway (its
     * socket is in MHD's epoll set); only work buffered in user space
     * waits that long.
     */
    if (ms == 0 && h->nstalled > 0)
        return HTTP_STALL_WAIT_MS;
    return ms > 60000 ? 60000 : (int)ms;
}

void http_run(struct http *h)
{
    MHD_run(h->mhd);
    /*
     * MHD completes an answer (on_completed: its TLS record leaves) one
     * round after it took the answer's last byte. That round now, rather
     * than after the loop's next wait, timers and commit phases: a
     * client waiting for its answer waits that much less.
     */
    if (h->ncorked > 0)
        MHD_run(h->mhd);
}

size_t http_release_held(struct http *h)
{
    size_t n = h->nheld;
    for (size_t i = 0; i < n; i++) {
        h->held[i]->resumed = true;
        MHD_resume_connection(h->held[i]->conn);
    }
    h->nresumed += n;
    h->nheld = 0;
    return n;
}

size_t http_held_count(const struct http *h)
{
    return h->nheld;
}

size_t http_resumed_count(const struct http *h)
{
    return h->nresumed;
}

size_t http_buffered_bytes(const struct http *h)
{
    return h->buffered;
}

uint64_t http_busy_refusals(const struct http *h)
{
    return h->busy;
}

const char *http_req_method(const struct http_req *req)
{
    return req->method;
}

const char *http_req_path(const struct http_req *req)
{
    return req->path;
}

const char *http_req_query(const struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_req_header(const struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_req_body(const struct http_req *req, size_t *len)
{
    *len = req->len;
    return req->body ? req->body : "";
}

bool http_req_too_large(const struct http_req *req)
{
    return req->too_large;
}

bool http_req_loopback(const struct http_req *req)
{
    return req->loopback;
}

const char *http_req_peer(const struct http_req *req)
{
    return req->peer;
}

void http_req_set_tag(struct http_req *req, int tag)
{
    req->tag = tag;
}

int http_req_tag(const struct http_req *req)
{
    return req->tag;
}

void http_reply(struct http_req *req, unsigned status, const char *content_type, char *body)
{
    free(req->reply);
    req->status = status;
    req->content_type = content_type;
    req->reply = body;
}

void http_reply_header(struct http_req *req, const char *name, const char *value)
{
    if (req->nextra < HTTP_EXTRA_HEADERS_MAX) {
        req->extra[req->nextra][0] = name;
        req->extra[req->nextra][1] = value;
        req->nextra++;
    }
}

void http_req_hold(struct http_req *req)
{
    req->held = true;
}
