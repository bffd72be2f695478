/* SPDX-License-Identifier: MIT */
/*
 * loop.c - nordlysd's one event loop.
 *
 * One thread, one epoll set with three sources: libmicrohttpd's own epoll
 * fd (readable when a connection or the listening socket has work), a
 * periodic timerfd (the scheduling interval), and a signalfd for SIGINT
 * and SIGTERM. Each iteration runs these phases, in this order:
 *
 *   1. wait     epoll_wait, bounded by MHD's own timeout (idle connections)
 *   2. signals  SIGINT/SIGTERM: leave after this iteration's commit
 *   3. network  http_run: accept, read, dispatch; writes go into the
 *               iteration's transaction and their answers are held.
 *               Repeated while MHD's fd is still readable (up to
 *               NETWORK_ROUNDS_MAX), so that every request that arrived
 *               while the last round ran joins this iteration's commit
 *   4. timers   node timeouts, lost jobs, the scheduling pass when due
 *   5. commit   one COMMIT for everything above, then the held answers
 *               are released and sent (http_run: a request it reads is
 *               held for the next iteration, whose wait does not sleep)
 *
 * Phase 5 is the group commit: every submission of one iteration shares
 * one fsync. An answer released but not yet sent makes http_timeout_ms()
 * 0, so the next iteration does not sleep before sending it.
 */
#define _GNU_SOURCE /* signalfd, timerfd */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/log.h"
#include "ctld/ctld.h"
#include "ctld/config.h"
#include "ctld/http.h"
#include "nordlys/err.h"

/*
 * Network rounds per iteration at most. A round reads what arrived while
 * the previous one ran, so later rounds are short; the bound keeps a
 * flood of requests from postponing the COMMIT (and the answers already
 * waiting for it) without end.
 */
#define NETWORK_ROUNDS_MAX 8

enum {
    SRC_HTTP = 1,
    SRC_TIMER,
    SRC_SIGNAL
};

struct loop {
    int ep, tfd, sfd;
    sigset_t old_mask;
};

static int add_fd(int ep, int fd, int tag, struct nl_err *err)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)tag};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        return nl_err_set(err, -errno, "epoll_ctl: %s", strerror(errno));
    return 0;
}

static int loop_open(struct loop *l, struct ctld *c, struct nl_err *err)
{
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    /* Blocked, so that they arrive only through the signalfd, between phases. */
    sigprocmask(SIG_BLOCK, &mask, &l->old_mask);
    l->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (l->ep < 0 || l->tfd < 0 || l->sfd < 0)
        return nl_err_set(err, -errno, "loop: %s", strerror(errno));
    uint64_t ns = c->cfg->sched_interval_ms * 1000000ull;
    struct itimerspec its = {
            .it_interval = {.tv_sec = (time_t)(ns / 1000000000ull),
                            .tv_nsec = (long)(ns % 1000000000ull)},
            .it_value = {.tv_sec = 0, .tv_nsec = 1},
    };
    if (timerfd_settime(l->tfd, 0, &its, NULL) < 0)
        return nl_err_set(err, -errno, "timerfd: %s", strerror(errno));
    int rc = add_fd(l->ep, http_fd(c->http), SRC_HTTP, err);
    if (rc == 0)
        rc = add_fd(l->ep, l->tfd, SRC_TIMER, err);
    if (rc == 0)
        rc = add_fd(l->ep, l->sfd, SRC_SIGNAL, err);
    return rc;
}

static void loop_close(struct loop *l)
{
    if (l->sfd >= 0)
        close(l->sfd);
    if (l->tfd >= 0)
        close(l->tfd);
    if (l->ep >= 0)
        close(l->ep);
    sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
}

/* Phase 1 and 2: wait, then drain the timer and signal fds. Sets *tick; returns false to stop. */
static bool loop_wait(struct loop *l, struct ctld *c, bool *tick)
{
    struct epoll_event evs[8];
    /* A request read after the last commit (see ctld_loop_run) waits for the next one: no sleep. */
    int timeout = http_held_count(c->http) > 0 ? 0 : http_timeout_ms(c->http);
    int n = epoll_wait(l->ep, evs, 8, timeout);
    bool go_on = true;
    *tick = false;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u32 == SRC_TIMER) {
            uint64_t expirations;
            if (read(l->tfd, &expirations, sizeof(expirations)) > 0)
                *tick = true;
        } else if (evs[i].data.u32 == SRC_SIGNAL) {
            struct signalfd_siginfo si;
            while (read(l->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                log_info("signal %u: stopping", si.ssi_signo);
                go_on = false;
            }
        }
    }
    if (n < 0 && errno != EINTR)
        log_err("epoll_wait: %s", strerror(errno));
    return go_on;
}

static bool fd_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* Phase 3: gather every request that has arrived before the commit. */
static void loop_network(struct ctld *c)
{
    int fd = http_fd(c->http);
    for (int i = 0; i < NETWORK_ROUNDS_MAX; i++) {
        http_run(c->http);
        if (!fd_readable(fd))
            break;
    }
}

int ctld_loop_run(struct ctld *c, struct nl_err *err)
{
    struct loop l = {.ep = -1, .tfd = -1, .sfd = -1};
    int rc = loop_open(&l, c, err);
    bool running = rc == 0;
    while (running) {
        bool tick;
        running = loop_wait(&l, c, &tick);
        loop_network(c);
        if (tick)
            ctld_timers(c);
        ctld_commit(c);
        /*
         * The answers the commit released go out now rather than after
         * the next wait: a client waiting on one connection (every job
         * its own commit) saves a wait and a readiness check per job.
         * Requests this round reads are held for the next commit.
         */
        if (http_resumed_count(c->http) > 0)
            http_run(c->http);
    }
    /* Answers released by the last commit still have to be written. */
    if (rc == 0)
        http_run(c->http);
    loop_close(&l);
    return rc;
}
