/* SPDX-License-Identifier: MIT */
/*
 * tlsconn.h - what nordlysd does to each TLS connection under
 * libmicrohttpd 0.9.75 (Debian 12) so that a small request and its answer
 * cost about what they cost in plain HTTP: one receive and one send.
 *
 * - Receiving: GnuTLS reads a record's 5-byte header and then its body
 *   with a recv each, never past the record. tlsconn is GnuTLS's pull
 *   function instead: it reads what the socket holds (up to
 *   TLSCONN_RECV_BYTES) at once and serves GnuTLS from it. Bytes kept here
 *   past the current record are safe with MHD's edge-triggered epoll:
 *   MHD marks a connection unreadable only when a read answers EAGAIN,
 *   and GnuTLS answers EAGAIN only when its pull did, or after a record
 *   that carried no data (an empty one, a TLS 1.3 post-handshake message):
 *   then what follows waits for the client's next bytes, as it did in the
 *   kernel before tlsconn.
 * - A stalled handshake: while a client's handshake waits for its next
 *   bytes, MHD keeps the connection marked readable (it clears that only
 *   after the handshake) and asks its caller not to wait at all, so the
 *   loop would spin. tlsconn counts such connections (*nstalled) so that
 *   http.c can wait a little instead.
 * - Sending: MHD hands an answer's header and body to GnuTLS in two calls
 *   (two records, two sends); tlsconn_cork gathers them, tlsconn_uncork
 *   sends them as one record.
 *
 * One struct tlsconn per connection, owned by the caller (http.c keeps it
 * as MHD's socket context), opened when MHD announces the connection
 * (before the handshake) and closed when MHD closes it. Not thread-safe:
 * nordlysd runs MHD in one thread.
 */
#ifndef NL_CTLD_TLSCONN_H
#define NL_CTLD_TLSCONN_H

#include <gnutls/gnutls.h>
#include <stdbool.h>

struct tlsconn;

/*
 * Takes over session's receiving (it reads fd itself from now on).
 * session and fd stay MHD's; they must outlive the tlsconn. *nstalled
 * (the caller's, for all its connections) counts those whose handshake
 * waits for the client.
 */
struct tlsconn *tlsconn_open(gnutls_session_t session, int fd, size_t *nstalled);
void tlsconn_close(struct tlsconn *c);

/* Gather what GnuTLS is given from now on into one record. */
void tlsconn_cork(struct tlsconn *c);
/*
 * Send what tlsconn_cork gathered, as one record (deliver false: the
 * connection is closing, and what was gathered goes with it). 0, or -1
 * when it cannot be sent (the client does not read its answers, or the
 * link broke): the connection is then shut down, since nothing would
 * flush the record later and the client would wait for it for ever; *why
 * is GnuTLS's reason.
 */
int tlsconn_uncork(struct tlsconn *c, bool deliver, const char **why);
/* tlsconn_cork was called and tlsconn_uncork not yet. */
bool tlsconn_corked(const struct tlsconn *c);

#endif
