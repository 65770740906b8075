/* The Kademlia engine of one node, sans-I/O: routing table, record store,
 * lookups (FIND_NODE, GET_VALUE, PUT_VALUE with quorum 1, bootstrap), the
 * answers to peers' requests, and the periodic jobs (replication,
 * republication, refresh). It never touches a socket or a clock: every
 * call takes the time (loop milliseconds), requests leave through
 * al__kad_io.send as framed bytes, and answers, failures and the passing
 * of time come back in through al__kad_core_on_response, _on_failure and
 * _tick. kad.c binds it to the swarm; the unit tests bind many of them to
 * a simulated network.
 *
 * Callbacks of operations never run inside the call that started them:
 * they wait for the next _tick, _on_response or _on_failure (next_deadline
 * is then 0, i.e. due at once). A callback may start new operations but
 * must not free the core.
 *
 * Requests to peers carry the peer's known addresses; the core keeps only
 * addresses a QUIC transport can dial (.../udp/N/quic-v1, a trailing /p2p
 * of the same peer stripped), at most AL__KAD_ENTRY_ADDRS per peer. */
#ifndef AL_KAD_CORE_H
#define AL_KAD_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"
#include "kad_store.h"
#include "kad_table.h"

typedef struct al__kad_config {
    size_t k;                    /* 0 = AL__KAD_K, also the maximum */
    size_t alpha;                /* 0 = AL__KAD_ALPHA */
    uint64_t request_timeout_ms; /* one request; 0 = 5 s */
    uint64_t query_timeout_ms;   /* one operation; 0 = 10 s */
    uint64_t record_ttl_ms;      /* 0 = 48 h (rust-libp2p 0.54) */
    uint64_t replicate_ms;       /* re-put stored records; 0 = 1 h */
    uint64_t publish_ms;         /* refresh own records; 0 = 22 h */
    uint64_t refresh_ms;         /* self lookup; 0 = 5 min */
    size_t max_records;          /* 0 = AL__KAD_STORE_RECORDS */
    size_t max_value;            /* 0 = AL__KAD_STORE_VALUE */
    size_t max_inflight;         /* requests out at once; 0 = 256 */
} al__kad_config;

typedef struct al__kad_io {
    /* Sends one framed request (uvarint length + protobuf) to peer; addrs
     * (may be empty) are where the peer may be reached. Exactly one of
     * al__kad_core_on_response / _on_failure must follow for req, unless
     * the core cancels it. Non-zero: it could not be sent (the core counts
     * it as failed at once). Must not call into the core. */
    int (*send)(void *ud, uint64_t req, const al_peer_id *peer,
                const al__kad_addrs *addrs, const uint8_t *frame, size_t len);
    /* The core gave up on req (it timed out): drop it; nothing more may be
     * reported for it. Must not call into the core. */
    void (*cancel)(void *ud, uint64_t req);
    /* Unix time in ms for timeReceived; NULL = the system clock. */
    uint64_t (*wall_ms)(void *ud);
    void *ud;
} al__kad_io;

typedef struct al__kad_core al__kad_core;

/* cfg may be NULL (defaults). Copies cfg and io. */
int al__kad_core_new(const al_peer_id *local, const al__kad_config *cfg,
                     const al__kad_io *io, uint64_t now, al__kad_core **out);
/* Operations still running end with AL_ECANCELED (their callbacks run
 * here; operations they start fail with AL_ECANCELED); requests in flight
 * are cancelled through io.cancel. */
void al__kad_core_free(al__kad_core *c);

al__kad_table *al__kad_core_table(al__kad_core *c);
al__kad_store *al__kad_core_store(al__kad_core *c);
const al__kad_config *al__kad_core_config(const al__kad_core *c);
size_t al__kad_core_inflight(const al__kad_core *c);
size_t al__kad_core_running(const al__kad_core *c); /* operations */

/* ------------------------------------------------------------ peers */

/* A peer address we were given (bootstrap): routing table entry. Returns
 * an al__kad_update, AL_EINVAL for an address that is not a dialable QUIC
 * multiaddr, AL_ENOMEM. */
int al__kad_core_add_address(al__kad_core *c, const al_peer_id *peer,
                             const uint8_t *maddr, size_t len, uint64_t now);
/* What identify says: the peer serves Kademlia (added or refreshed with
 * these addresses) or does not (removed). */
void al__kad_core_peer_kad(al__kad_core *c, const al_peer_id *peer, bool serves,
                           const uint8_t *const *maddrs, const size_t *lens,
                           size_t n, uint64_t now);
void al__kad_core_peer_connected(al__kad_core *c, const al_peer_id *peer,
                                 bool connected);

/* ------------------------------------------------------------ operations */

typedef void (*al__kad_core_done_cb)(int status, void *ud);
typedef void (*al__kad_core_get_cb)(int status, const uint8_t *value,
                                    size_t vlen, void *ud);
typedef void (*al__kad_core_peers_cb)(int status, const al_peer_id *peers,
                                      size_t n, void *ud);

/* Looks up our own id (fills the routing table). 0 once the lookup ended
 * with at least one answer; AL_ENOTFOUND with no peer to ask or no answer;
 * AL_ETIMEDOUT. cb may be NULL. */
int al__kad_core_bootstrap(al__kad_core *c, uint64_t now,
                           al__kad_core_done_cb cb, void *ud);

/* The k closest peers to key that answered, closest first. */
int al__kad_core_find_closest(al__kad_core *c, const uint8_t *key, size_t klen,
                              uint64_t now, al__kad_core_peers_cb cb, void *ud);

/* The local store first, then GET_VALUE towards the key; the first record
 * found wins (quorum 1). 0 with the value (borrowed for the call; an empty
 * value is a tombstone, reported as found), AL_ENOTFOUND when the lookup
 * ended without one, AL_ETIMEDOUT. */
int al__kad_core_get(al__kad_core *c, const uint8_t *key, size_t klen,
                     uint64_t now, al__kad_core_get_cb cb, void *ud);

/* Stores key -> value locally (an own record: republished), then, with
 * network, PUT_VALUE to the k closest peers a lookup finds: 0 as soon as
 * one of them acknowledged (quorum 1), AL_ENOTFOUND when the lookup found
 * no peer or every PUT_VALUE failed, AL_ETIMEDOUT. Without network: 0.
 * Fails at once with AL_ELIMIT when the store refuses the record (full,
 * value too large) or PUT_VALUE would not fit in one 16 KiB packet,
 * AL_EINVAL for an empty key. cb may be NULL. */
int al__kad_core_put(al__kad_core *c, const uint8_t *key, size_t klen,
                     const uint8_t *value, size_t vlen, bool network,
                     uint64_t now, al__kad_core_done_cb cb, void *ud);

/* ------------------------------------------------------------ events */

/* An answer to req: one framed kad Message. seen_at (may be NULL) holds
 * the address the answering peer was reached at, for the routing table
 * (the dialed address of an outbound connection). */
void al__kad_core_on_response(al__kad_core *c, uint64_t req,
                              const uint8_t *frame, size_t len,
                              const al__kad_addrs *seen_at, uint64_t now);
/* req failed: status is an al_status (AL_E_UNSUPPORTED_PROTOCOLS means the
 * peer does not serve Kademlia and drops it from the routing table). */
void al__kad_core_on_failure(al__kad_core *c, uint64_t req, int status,
                             uint64_t now);
/* Timeouts, jobs, deferred callbacks. */
void al__kad_core_tick(al__kad_core *c, uint64_t now);
/* When _tick is next due (loop ms): 0 when at once, UINT64_MAX never. */
uint64_t al__kad_core_next_deadline(const al__kad_core *c);

/* ------------------------------------------------------------ serving */

/* Answers every complete request frame in in[0..len) from peer from:
 * framed answers are appended to out, *used says how many input bytes were
 * consumed (keep the rest for later). Returns 0, or AL_EDECODE, AL_ELIMIT
 * (frame over AL__KAD_MAX_PACKET, store full), AL_EPROTO (a request that
 * makes no sense, e.g. PUT_VALUE without a record or with another key):
 * the stream must then be reset, as rust-libp2p does. */
int al__kad_core_serve(al__kad_core *c, const al_peer_id *from,
                       const uint8_t *in, size_t len, size_t *used, al_buf *out,
                       uint64_t now, al_error *err);

/* Writes the RFC 3339 time with nanoseconds that go and js put in
 * timeReceived ("2006-01-02T15:04:05.000000000Z") into buf (>= 32 bytes). */
void al__kad_rfc3339(uint64_t unix_ms, char *buf, size_t cap);

#endif
