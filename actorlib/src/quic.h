/* QUIC v1 transport for the swarm: ngtcp2 + ngtcp2_crypto_gnutls over libuv
 * UDP sockets, with libp2p's TLS rules (ALPN "libp2p", a certificate on both
 * sides, verified by al__tlscert_verify in GnuTLS's verify hook).
 *
 * One al__quic per swarm. It owns the UDP endpoints (one per listen address,
 * plus one ephemeral socket per address family for a node that dials
 * without listening), the connections and their streams. Dialing uses a
 * listening socket of the same family when there is one (port reuse), so
 * that the peer sees our listen port as our address.
 *
 * Packets are read in batches (recvmmsg through libuv) and routed by
 * destination connection id; writes are only queued, and every connection
 * with something to send is flushed once per loop turn (uv_prepare before
 * the loop blocks, uv_check after I/O), with the frames of all ready
 * streams coalesced into as few packets as possible.
 *
 * Reentrancy: the upcalls (al__quic_cbs) may run inside ngtcp2's callbacks.
 * Everything an upcall may call here is safe there: stream writes only
 * queue bytes, and closes, resets and stream opens are carried out later
 * from the flush. Connections and streams are freed only from the flush,
 * timers or packet processing, never under the caller's feet.
 *
 * Loop thread only. */
#ifndef AL_QUIC_H
#define AL_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "actorlib.h"

#define AL__QUIC_ALPN "libp2p"

typedef struct al__quic al__quic;
typedef struct al__qconn al__qconn;
typedef struct al__qstream al__qstream;

/* Upcalls into the layer above (the swarm). ud is al__quic_new's. */
typedef struct al__quic_cbs {
    /* Runs at the start of every flush, before connections are written:
     * the place for deferred work that opens or writes streams. Returns
     * true when it did something (the flush then runs it again once the
     * connections are written, until there is nothing left). */
    bool (*pre_flush)(void *ud);
    /* The handshake is complete and the peer proved its peer id (for a
     * dialer: also accepted our certificate). Streams may be opened. */
    void (*conn_ready)(al__qconn *c, void *ud);
    /* The connection is gone, or a dial never came up (an inbound
     * connection that fails its handshake is not reported); every stream
     * got its stream_close first. c is invalid after the upcall. status:
     *   0                        closed by al__qconn_close
     *   AL_ECANCELED             the transport is shutting down
     *   AL_E_CONNECTION_CLOSED   the peer closed it (or a stateless reset)
     *   AL_E_NETWORK_TIMEOUT     idle or handshake timeout
     *   AL_EPEERID               the peer proved another peer id
     *   AL_ECRYPTO               TLS failure (ours or the peer's alert)
     *   AL_ELIMIT                refused by the peer (too many connections)
     *   AL_EPROTO                any other protocol error
     * detail is a sentence (never NULL). */
    void (*conn_closed)(al__qconn *c, int status, const char *detail, void *ud);
    /* The peer opened a stream; al__qstream_set_ud it or reset it. */
    void (*stream_open)(al__qstream *s, void *ud);
    /* Stream bytes in order. */
    void (*stream_data)(al__qstream *s, const uint8_t *data, size_t len,
                        void *ud);
    /* The peer finished writing. */
    void (*stream_fin)(al__qstream *s, void *ud);
    /* Exactly once per stream, last: 0 when both directions finished,
     * AL_EPROTO when the peer reset it, AL_ECANCELED after
     * al__qstream_reset or on shutdown, AL_E_CONNECTION_CLOSED when the
     * connection went away. The stream is invalid after the upcall. */
    void (*stream_close)(al__qstream *s, int status, void *ud);
} al__quic_cbs;

typedef struct al__quic_config {
    uint32_t idle_timeout_ms;      /* QUIC max_idle_timeout; 0 = 60 s */
    uint32_t handshake_timeout_ms; /* 0 = 10 s */
    uint32_t max_connections;      /* 0 = 1024 */
    /* Streams the peer may have open at once on a connection
     * (initial_max_streams_bidi; credit comes back as they close). */
    uint32_t max_streams_per_conn; /* 0 = 1000 */
    /* Our streams waiting for the peer's stream credit. */
    uint32_t max_pending_streams; /* 0 = 4096 */
    /* Bytes a stream may hold written but not yet acknowledged. */
    size_t max_stream_send; /* 0 = 16 MiB */
    /* The same for all streams of a connection together. */
    size_t max_conn_send; /* 0 = 64 MiB */
} al__quic_config;

/* Creates the transport on loop for host (borrowed; must outlive q): a
 * fresh libp2p certificate, GnuTLS credentials, the flush handles. The
 * caller owns *out: al__quic_shutdown, then al__quic_free. */
int al__quic_new(al__quic **out, uv_loop_t *loop, const al_identity *host,
                 const al__quic_config *cfg, const al__quic_cbs *cbs, void *ud,
                 al_error *err);

/* Binds a UDP socket to addr and serves QUIC on it (port 0 picks one);
 * *bound gets the address actually bound. */
int al__quic_listen(al__quic *q, const struct sockaddr *addr,
                    struct sockaddr_storage *bound, al_error *err);

/* Dials remote. With expected, the peer must prove that peer id (else the
 * connection closes with AL_EPEERID). conn_ready or conn_closed follows;
 * ud is attached to the connection (al__qconn_ud). AL_ELIMIT when the
 * connection limit is reached. */
int al__quic_dial(al__quic *q, const struct sockaddr *remote,
                  const al_peer_id *expected, void *ud, al__qconn **out,
                  al_error *err);

/* Makes sure a flush (and so pre_flush) runs soon. */
void al__quic_schedule(al__quic *q);

/* Closes every connection with CONNECTION_CLOSE (upcalls with
 * AL_ECANCELED), then every handle; done(done_ud) runs once all handles
 * are closed. Carried out from the flush, never inside the call. */
void al__quic_shutdown(al__quic *q, void (*done)(void *), void *done_ud);
/* Frees q after done has run (or when the loop never ran). */
void al__quic_free(al__quic *q);

size_t al__quic_num_conns(const al__quic *q);

/* ------------------------------------------------------------ connections */

void *al__qconn_ud(const al__qconn *c);
void al__qconn_set_ud(al__qconn *c, void *ud);
/* The peer's id (valid from conn_ready on). */
const al_peer_id *al__qconn_peer(const al__qconn *c);
bool al__qconn_outbound(const al__qconn *c);
const struct sockaddr *al__qconn_remote(const al__qconn *c);
/* The local socket's bound address. */
const struct sockaddr *al__qconn_local(const al__qconn *c);
/* ngtcp2's smoothed RTT in microseconds. */
uint64_t al__qconn_rtt_us(const al__qconn *c);
/* Streams open on the connection (both directions). */
size_t al__qconn_num_streams(const al__qconn *c);
/* Closes gracefully: queued stream data is written, then
 * CONNECTION_CLOSE (NO_ERROR); conn_closed(0) follows from the flush. */
void al__qconn_close(al__qconn *c);

/* ------------------------------------------------------------ streams */

/* Opens a bidirectional stream on a ready connection. When the peer's
 * stream credit is used up, the stream waits for more (writes are queued
 * meanwhile); AL_ELIMIT when max_pending_streams already wait, AL_ESTATE
 * when the connection is not ready or closing. */
int al__qconn_open_stream(al__qconn *c, void *ud, al__qstream **out);

void *al__qstream_ud(const al__qstream *s);
void al__qstream_set_ud(al__qstream *s, void *ud);
al__qconn *al__qstream_conn(const al__qstream *s);
/* The QUIC stream id, -1 while waiting for credit. */
int64_t al__qstream_id(const al__qstream *s);
bool al__qstream_local(const al__qstream *s);
/* Queues bytes (copied). AL_ESTATE after finish or reset, AL_ELIMIT when
 * the stream would hold more than max_stream_send unacknowledged bytes, or
 * its connection more than max_conn_send. */
int al__qstream_write(al__qstream *s, const void *data, size_t len);
/* FIN after the queued bytes. */
int al__qstream_finish(al__qstream *s);
/* RESET_STREAM + STOP_SENDING; stream_close(AL_ECANCELED) follows from the
 * flush. No other upcall for s after this call. */
void al__qstream_reset(al__qstream *s);
/* Bytes written and not yet acknowledged by the peer. */
size_t al__qstream_unacked(const al__qstream *s);

/* ------------------------------------------------------------ tests */

/* Presents this certificate (PEM) and key (PEM) on new connections instead
 * of the node's own: lets a test offer a certificate a peer must refuse. */
int al__quic_test_set_cert(al__quic *q, const char *cert_pem,
                           const char *key_pem, al_error *err);
/* Forgets every connection without a word to the peers, as a process that
 * restarted would: upcalls with AL_ECANCELED, nothing sent. */
void al__quic_test_forget_all(al__quic *q);
/* Handles data as a datagram from `from` received on the first listening
 * socket (the fuzz harness's entry). AL_ESTATE without one. */
int al__quic_test_inject(al__quic *q, const uint8_t *data, size_t len,
                         const struct sockaddr *from);

#endif
