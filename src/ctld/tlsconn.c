/* SPDX-License-Identifier: MIT */
/*
 * tlsconn.c - per-connection TLS receiving and record gathering; see
 * tlsconn.h for why.
 */
#include "tlsconn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/xalloc.h"

/*
 * What one receive may take. An API request with its bearer token is a
 * record of about 500 bytes, so a read fetches a whole request and often
 * the next; records larger than this (big bodies) are read straight into
 * GnuTLS's own buffer, as before. Kept per connection (10,000 at most:
 * 40 MB, beside MHD's 16 KiB pools), so no allocation per read.
 */
#define TLSCONN_RECV_BYTES 4000

struct tlsconn {
    gnutls_session_t session;
    int fd;
    bool corked;
    /*
     * MHD corks the socket at the first answer and from then on pushes
     * each answer by setting TCP_NODELAY after its last send, leaving the
     * cork on: a record sent after that push (tlsconn_uncork) would wait
     * for the kernel's 200 ms cork timer. So the first uncork takes the
     * socket's cork off, once; MHD still believes it on, never sets it
     * again, and pushes as before.
     */
    bool tcp_uncorked;
    bool handshaken; /* the client's Finished arrived (on_finished) */
    bool stalled;    /* mid-handshake, and the last read found nothing: counted in *nstalled */
    size_t *nstalled;
    size_t off, len; /* buf[off, len) not yet given to GnuTLS */
    unsigned char buf[TLSCONN_RECV_BYTES];
};

static void set_stalled(struct tlsconn *c, bool stalled)
{
    if (c->stalled == stalled)
        return;
    c->stalled = stalled;
    if (stalled)
        (*c->nstalled)++;
    else
        (*c->nstalled)--;
}

static ssize_t recv_into(struct tlsconn *c, void *data, size_t size)
{
    ssize_t n = recv(c->fd, data, size, 0);
    int e = n < 0 ? errno : 0;
    if (n < 0)
        gnutls_transport_set_errno(c->session, e);
    set_stalled(c, !c->handshaken && (e == EAGAIN || e == EWOULDBLOCK));
    return n;
}

/* GnuTLS's hook after each handshake message: the client's Finished ends the handshake. */
static int on_finished(gnutls_session_t session, unsigned int type, unsigned int when,
                       unsigned int incoming, const gnutls_datum_t *msg)
{
    (void)type;
    (void)when;
    (void)msg;
    gnutls_transport_ptr_t recv_ptr = NULL, send_ptr = NULL;
    gnutls_transport_get_ptr2(session, &recv_ptr, &send_ptr);
    struct tlsconn *c = recv_ptr;
    if (incoming && c != NULL) {
        c->handshaken = true;
        set_stalled(c, false);
    }
    return 0;
}

/* GnuTLS's pull function: at most size bytes, from buf first. */
static ssize_t pull(gnutls_transport_ptr_t ptr, void *data, size_t size)
{
    struct tlsconn *c = ptr;
    if (c->off == c->len) {
        c->off = c->len = 0;
        if (size >= sizeof(c->buf))
            return recv_into(c, data, size);
        ssize_t n = recv_into(c, c->buf, sizeof(c->buf));
        if (n <= 0)
            return n; /* EAGAIN (MHD then waits for the socket), an error, or the end */
        c->len = (size_t)n;
    }
    size_t n = c->len - c->off < size ? c->len - c->off : size;
    memcpy(data, c->buf + c->off, n);
    c->off += n;
    return (ssize_t)n;
}

/*
 * GnuTLS asks this only for reads with a deadline (none in MHD's
 * non-blocking sessions today); answered truthfully all the same.
 */
static int pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    struct tlsconn *c = ptr;
    if (c->off < c->len)
        return 1;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int r = poll(&p, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
    if (r < 0)
        gnutls_transport_set_errno(c->session, errno);
    return r;
}

struct tlsconn *tlsconn_open(gnutls_session_t session, int fd, size_t *nstalled)
{
    struct tlsconn *c = xmalloc(sizeof(*c));
    c->session = session;
    c->fd = fd;
    c->corked = false;
    c->tcp_uncorked = false;
    c->handshaken = false;
    c->stalled = false;
    c->nstalled = nstalled;
    c->off = c->len = 0;
    /* Sending stays GnuTLS's own (on fd); only receiving goes through c. */
    gnutls_transport_set_ptr2(session, c, (gnutls_transport_ptr_t)(intptr_t)fd);
    gnutls_transport_set_pull_function(session, pull);
    gnutls_transport_set_pull_timeout_function(session, pull_timeout);
    gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_FINISHED, GNUTLS_HOOK_POST,
                                       on_finished);
    return c;
}

/* MHD has deinitialised the session by now: only our memory is touched. */
void tlsconn_close(struct tlsconn *c)
{
    set_stalled(c, false);
    free(c);
}

void tlsconn_cork(struct tlsconn *c)
{
    c->corked = true;
    gnutls_record_cork(c->session);
}

bool tlsconn_corked(const struct tlsconn *c)
{
    return c->corked;
}

int tlsconn_uncork(struct tlsconn *c, bool deliver, const char **why)
{
    c->corked = false;
    if (!deliver)
        return 0;
    if (!c->tcp_uncorked) {
        int off = 0;
        setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
        c->tcp_uncorked = true;
    }
    int r = gnutls_record_uncork(c->session, 0);
    if (r >= 0)
        return 0;
    *why = gnutls_strerror(r);
    shutdown(c->fd, SHUT_RDWR);
    return -1;
}
