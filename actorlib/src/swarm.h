/* The swarm's internal interface: connections and libp2p streams over QUIC,
 * with multistream-select done for you, for the protocol modules (ping,
 * identify, Kademlia, /kameo/1). Loop thread only.
 *
 * Streams: each QUIC bidirectional stream is one libp2p stream. An inbound
 * stream reaches the handler registered for the protocol the peer selected;
 * an outbound stream is opened towards a peer (dialing it first when there
 * is no connection, using the address book) and the protocol is proposed
 * lazily: writes may start at once and go out right behind the proposal,
 * as rust-libp2p's V1Lazy does. If the peer answers "na", the stream closes
 * with AL_E_UNSUPPORTED_PROTOCOLS.
 *
 * Lifetime: a stream lives until on_close has run (after a reset from
 * either side, a connection loss, or both directions finished). After
 * on_close the pointer is invalid. Writes after al__stream_finish fail. */
#ifndef AL_SWARM_H
#define AL_SWARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"

typedef struct al__swarm al__swarm;
typedef struct al__conn al__conn;
typedef struct al__stream al__stream;

typedef struct al__stream_ops {
    /* Bytes from the peer, in order, after protocol negotiation. */
    void (*on_data)(al__stream *s, const uint8_t *data, size_t len, void *ud);
    /* The peer finished writing (FIN); on_data will not run again. */
    void (*on_fin)(al__stream *s, void *ud);
    /* The stream is gone: status 0 when both sides finished cleanly, else
     * AL_E_CONNECTION_CLOSED, AL_E_UNSUPPORTED_PROTOCOLS, AL_EPROTO (reset
     * by the peer or protocol error), AL_ECANCELED (node stopping). */
    void (*on_close)(al__stream *s, int status, void *ud);
} al__stream_ops;

/* A new inbound stream for a registered protocol. The handler sets its ops
 * (al__stream_set_ops) before returning, or resets the stream. */
typedef void (*al__inbound_fn)(al__stream *s, void *ud);

/* The swarm of a node, or NULL before al_swarm_bootstrap. */
al__swarm *al__swarm_of(al_node *node);
/* For the public al_swarm_* functions: *out = the node's swarm, or
 * AL_ESTATE when called from another thread while the loop runs,
 * AL_E_SWARM_NOT_BOOTSTRAPPED before al_swarm_bootstrap. */
int al__swarm_enter(al_node *node, al__swarm **out);
al_node *al__swarm_node(al__swarm *sw);
const al_peer_id *al__swarm_local_peer(al__swarm *sw);

/* Registers a protocol served on inbound streams (e.g. "/kameo/1"). The
 * name string must outlive the swarm (a literal). */
int al__swarm_handle(al__swarm *sw, const char *protocol, al__inbound_fn fn,
                     void *ud);

/* Opens an outbound stream to peer for protocol. cb runs once, with the
 * stream (negotiation may still be pending) or an error: AL_E_DIAL_FAILURE
 * when no connection could be made (no known address, handshake failed),
 * AL_E_NETWORK_TIMEOUT, AL_ELIMIT (too many streams). cb never runs
 * inside this call, and not at all when the call returns non-zero
 * (AL_EINVAL for a bad protocol name or our own peer id, AL_ECANCELED
 * when the swarm is stopping). protocol is copied. */
typedef void (*al__open_cb)(int status, al__stream *s, void *ud);
int al__swarm_open_stream(al__swarm *sw, const al_peer_id *peer,
                          const char *protocol, al__open_cb cb, void *ud);

void al__stream_set_ops(al__stream *s, const al__stream_ops *ops, void *ud);
/* Queues bytes (copied) for sending; flow control is handled inside.
 * AL_ESTATE after al__stream_finish or al__stream_reset (or once closed),
 * AL_ELIMIT when the bytes written and not yet acknowledged would pass
 * 16 MiB on the stream or 64 MiB on its connection. */
int al__stream_write(al__stream *s, const uint8_t *data, size_t len);
/* Sends FIN once queued bytes are out. */
int al__stream_finish(al__stream *s);
/* Aborts both directions (RESET_STREAM + STOP_SENDING); on_close follows
 * with AL_ECANCELED. */
void al__stream_reset(al__stream *s);
const al_peer_id *al__stream_peer(const al__stream *s);
al__conn *al__stream_conn(const al__stream *s);
const char *al__stream_protocol(const al__stream *s);

/* Connections. */
const al_peer_id *al__conn_peer(const al__conn *c);
/* Remote address as a binary multiaddr (for identify's observedAddr and
 * for Kademlia's address of an inbound peer). */
size_t al__conn_remote_maddr(const al__conn *c, uint8_t *out, size_t cap);
bool al__conn_outbound(const al__conn *c);

/* Address book: every address learnt for a peer (dial, identify, kad). */
int al__swarm_add_address(al__swarm *sw, const al_peer_id *peer,
                          const uint8_t *maddr, size_t len);
bool al__swarm_connected(al__swarm *sw, const al_peer_id *peer);
size_t al__swarm_num_connected(al__swarm *sw);

/* Connection events for the protocol modules (kad adds/removes peers,
 * remote links fire PeerDisconnected). */
typedef struct al__conn_watch {
    void (*on_connected)(al__conn *c, void *ud);
    void (*on_disconnected)(const al_peer_id *peer, int reason, void *ud);
    void *ud;
    struct al__conn_watch *next;
} al__conn_watch;

void al__swarm_watch(al__swarm *sw, al__conn_watch *w);

/* ------------------------------------------------------------ additions */

#include <sys/socket.h>

struct al__quic;

/* Bytes written on the stream and not yet acknowledged by the peer. */
size_t al__stream_unacked(const al__stream *s);

/* What the identify module needs about us. */
const char *al__swarm_agent(al__swarm *sw);
/* The PublicKey protobuf of the host key (borrowed). */
const uint8_t *al__swarm_pubkey_proto(al__swarm *sw, size_t *len);
/* The protocols served on inbound streams, in registration order. */
size_t al__swarm_protocols(al__swarm *sw, const char **out, size_t cap);
/* The listen addresses, unspecified ones (0.0.0.0, ::) expanded into the
 * addresses of the local interfaces, loopback first. Returns how many were
 * written (at most cap). */
size_t al__swarm_listen_sockaddrs(al__swarm *sw, struct sockaddr_storage *out,
                                  size_t cap);
/* True once al_swarm_listen_on succeeded (Kademlia's server mode). */
bool al__swarm_listening(al__swarm *sw);

/* Records what identify learnt about a peer (agent, protocols; addresses
 * go through al__swarm_add_address) and emits AL_SWARM_IDENTIFIED. */
void al__swarm_peer_identified(al__swarm *sw, const al_peer_id *peer,
                               const char *agent, const char *const *protocols,
                               size_t n);
/* True when identify reported that the peer serves protocol. */
bool al__swarm_peer_supports(al__swarm *sw, const al_peer_id *peer,
                             const char *protocol);

/* The options the swarm was bootstrapped with, defaults filled in (e.g.
 * max_inbound_requests for /kameo/1). */
const al_swarm_opts *al__swarm_options(al__swarm *sw);

/* The QUIC transport (tests reach its test hooks through it). */
struct al__quic *al__swarm_quic(al__swarm *sw);

#endif
