/* SPDX-License-Identifier: MIT */
/*
 * http.c - libcurl multi interface on epoll; see http.h.
 *
 * curl's sockets are added to our own epoll descriptor with a small watch
 * record as their tag, and curl's single timeout is a timerfd in the same
 * epoll set; the outer loop only sees one descriptor. libcurl error codes
 * become text here and nowhere else.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/proto_limits.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

struct request {
    CURL *easy;
    struct curl_slist *headers;
    char *body; /* what we send, owned */
    char *resp; /* what we receive */
    size_t len, cap;
    bool too_big;
    agent_http_done_fn done;
    void *ctx;
    char errbuf[CURL_ERROR_SIZE];
    struct request *next;
};

struct agent_http {
    CURLM *multi;
    char *auth;    /* "Authorization: Bearer ..." or NULL */
    char *ca_file; /* or NULL: the system store */
    int epfd, tfd;
    struct request *reqs; /* in flight */
    size_t pending;
};

/* epoll tag for the timerfd; curl sockets carry their fd + 1. */
#define TAG_TIMER 0

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    struct agent_http *h = userp;
    struct epoll_event ev = {.events = 0, .data.u64 = (uint64_t)s + 1};
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(h->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT)
        epoll_ctl(h->epfd, EPOLL_CTL_ADD, s, &ev);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct agent_http *h = userp;
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    if (timeout_ms >= 0) {
        /* 0 means "now"; an all-zero it_value would disarm, so use 1 ns. */
        its.it_value.tv_sec = timeout_ms / 1000;
        its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000 + (timeout_ms == 0);
    }
    timerfd_settime(h->tfd, 0, &its, NULL);
    return 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct request *r = userdata;
    size_t n = size * nmemb;
    if (r->len + n > NL_PROTO_ANSWER_MAX) {
        r->too_big = true;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    if (r->len + n + 1 > r->cap) {
        r->cap = xgrow(r->cap, r->len + n + 1);
        r->resp = xrealloc(r->resp, r->cap);
    }
    memcpy(r->resp + r->len, ptr, n);
    r->len += n;
    r->resp[r->len] = '\0';
    return n;
}

struct agent_http *agent_http_new(const struct agent_http_conf *conf, bool need_tls,
                                  struct nl_err *err)
{
    struct agent_http *h = xcalloc(1, sizeof(*h));
    h->tfd = -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        nl_err_set(err, -EIO, "http: curl_global_init failed");
        free(h);
        return NULL;
    }
    if (need_tls && !(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_SSL)) {
        nl_err_set(err, -ENOTSUP,
                   "--controller: https:// needs a libcurl with TLS, and this "
                   "one has none");
        curl_global_cleanup();
        free(h);
        return NULL;
    }
    if (conf != NULL && conf->token != NULL) {
        size_t n = strlen(conf->token) + sizeof("Authorization: Bearer ");
        h->auth = xmalloc(n);
        snprintf(h->auth, n, "Authorization: Bearer %s", conf->token);
    }
    if (conf != NULL && conf->ca_file != NULL)
        h->ca_file = xstrdup(conf->ca_file);
    h->multi = curl_multi_init();
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_TIMER};
    if (h->multi == NULL || h->epfd < 0 || h->tfd < 0 ||
        epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->tfd, &ev) < 0) {
        nl_err_set(err, -EIO, "http: cannot set up curl multi/epoll: %s", strerror(errno));
        agent_http_destroy(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
}

static void request_free(struct agent_http *h, struct request *r)
{
    curl_multi_remove_handle(h->multi, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->body);
    free(r->resp);
    free(r);
}

void agent_http_destroy(struct agent_http *h)
{
    if (h == NULL)
        return;
    while (h->reqs != NULL) {
        struct request *r = h->reqs;
        h->reqs = r->next;
        request_free(h, r);
    }
    if (h->multi != NULL)
        curl_multi_cleanup(h->multi);
    if (h->tfd >= 0)
        close(h->tfd);
    if (h->epfd >= 0)
        close(h->epfd);
    if (h->auth != NULL) /* a credential: do not leave it in freed memory */
        explicit_bzero(h->auth, strlen(h->auth));
    free(h->auth);
    free(h->ca_file);
    curl_global_cleanup();
    free(h);
}

int agent_http_fd(const struct agent_http *h)
{
    return h->epfd;
}

size_t agent_http_pending(const struct agent_http *h)
{
    return h->pending;
}

int agent_http_request(struct agent_http *h, const char *url, char *body, size_t len,
                       long timeout_ms, agent_http_done_fn done, void *ctx, struct nl_err *err)
{
    struct request *r = xcalloc(1, sizeof(*r));
    r->easy = curl_easy_init();
    if (r->easy == NULL) {
        free(body);
        free(r);
        return nl_err_set(err, -EIO, "http: curl_easy_init failed");
    }
    r->body = body;
    r->done = done;
    r->ctx = ctx;
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "nordlys-agent");
    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    /* Without this curl waits a second for "100 Continue" before sending a large body. */
    r->headers = curl_slist_append(r->headers, "Expect:");
    if (h->auth != NULL)
        r->headers = curl_slist_append(r->headers, h->auth);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    /* Only the two schemes, never a redirect elsewhere, and certificates always checked. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    /*
     * A proxy set in the environment for the outside world must not swallow
     * syncs to a controller on loopback (the CLI's rule, src/cli/client.c); an
     * explicit no_proxy from the operator still wins.
     */
    if (getenv("no_proxy") == NULL && getenv("NO_PROXY") == NULL)
        curl_easy_setopt(e, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    if (body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLMcode mc = curl_multi_add_handle(h->multi, e);
    if (mc != CURLM_OK) {
        int rc = nl_err_set(err, -EIO, "http: %s", curl_multi_strerror(mc));
        curl_easy_cleanup(e);
        curl_slist_free_all(r->headers);
        free(body);
        free(r);
        return rc;
    }
    r->next = h->reqs;
    h->reqs = r;
    h->pending++;
    return 0;
}

static void unlink_request(struct agent_http *h, struct request *r)
{
    for (struct request **p = &h->reqs; *p != NULL; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            h->pending--;
            return;
        }
    }
}

static void finish_done(struct agent_http *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct request *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode cc = msg->data.result;
        long status = 0;
        if (cc == CURLE_OK)
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        const char *why = cc == CURLE_OK ? NULL
                          : r->too_big   ? "answer too large"
                          : r->errbuf[0] ? r->errbuf
                                         : curl_easy_strerror(cc);
        unlink_request(h, r);
        /* Detach before the callback: it may start the next request. */
        r->done(r->ctx, status, r->resp ? r->resp : "", r->len, why);
        request_free(h, r);
    }
}

void agent_http_dispatch(struct agent_http *h)
{
    struct epoll_event ev[16];
    int n = epoll_wait(h->epfd, ev, 16, 0);
    int running;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 == TAG_TIMER) {
            uint64_t ticks;
            ssize_t rd = read(h->tfd, &ticks, sizeof(ticks));
            (void)rd;
            curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            continue;
        }
        int mask = 0;
        if (ev[i].events & EPOLLIN)
            mask |= CURL_CSELECT_IN;
        if (ev[i].events & EPOLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (ev[i].events & (EPOLLERR | EPOLLHUP))
            mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(h->multi, (curl_socket_t)(ev[i].data.u64 - 1), mask, &running);
    }
    finish_done(h);
}
