/* SPDX-License-Identifier: MIT */
/*
 * http.h - non-blocking HTTP requests for the agent: libcurl's multi
 * interface driven by the agent's loop.
 *
 * Why the multi interface and not a blocking easy call with a short
 * timeout: the agent's loop also reaps children, enforces grace periods
 * and time limits, and stops on SIGTERM. A blocking call of even one
 * second would delay all of that for as long as the controller is slow or
 * unreachable, which is exactly when an operator is watching; and an
 * emulating agent's sync body is megabytes, which takes real time to send
 * and receive. With the multi interface curl tells us which sockets to
 * watch (CURLMOPT_SOCKETFUNCTION) and when to call it back
 * (CURLMOPT_TIMERFUNCTION); both feed one epoll descriptor that the loop
 * watches, so a request never blocks the loop. Connections are kept alive
 * in the multi handle's cache, so a sync every second reuses one TCP
 * connection.
 *
 * Loop thread only.
 */
#ifndef NL_AGENT_HTTP_H
#define NL_AGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct nl_err;
struct agent_http;

/*
 * The result of one request. status is the HTTP status, or 0 when no
 * answer came (curl_err then says why: "Couldn't connect to server").
 * body is NUL-terminated and borrowed for the duration of the call.
 */
typedef void (*agent_http_done_fn)(void *ctx, long status, const char *body, size_t len,
                                   const char *curl_err);

/*
 * Answers larger than NL_PROTO_ANSWER_MAX (common/proto_limits.h) are cut
 * off with an error: it bounds a runaway answer.
 */

/*
 * How the client speaks to the controller. token, when not NULL, goes in
 * "Authorization: Bearer TOKEN" on every request. https:// URLs verify the
 * controller's certificate and host name, always, against ca_file when not
 * NULL, else the system store; there is no way to turn verification off.
 * Both strings are copied.
 */
struct agent_http_conf {
    const char *token;
    const char *ca_file;
};

/*
 * A new client; NULL with err set when curl or epoll cannot be set up, or
 * when https is wanted (need_tls) and this libcurl has no TLS.
 */
struct agent_http *agent_http_new(const struct agent_http_conf *conf, bool need_tls,
                                  struct nl_err *err);
/* Abandon requests in flight (their callbacks are not called) and free everything. */
void agent_http_destroy(struct agent_http *h);

/* The epoll descriptor the loop watches; readable when agent_http_dispatch has work. */
int agent_http_fd(const struct agent_http *h);
/* Let curl make progress; calls done callbacks of finished requests. Never blocks. */
void agent_http_dispatch(struct agent_http *h);

/*
 * Start a request: GET when body is NULL, else POST of body (JSON). The
 * client takes ownership of body (a malloc'd buffer, freed when the request
 * ends). done is called exactly once, from agent_http_dispatch, unless the
 * client is destroyed first. timeout_ms bounds the whole request.
 * Returns 0 or a negative code with err set.
 */
int agent_http_request(struct agent_http *h, const char *url, char *body, size_t len,
                       long timeout_ms, agent_http_done_fn done, void *ctx, struct nl_err *err);

/* Requests in flight. */
size_t agent_http_pending(const struct agent_http *h);

#endif
