/* One iterative Kademlia lookup's peer selection, sans-I/O: rust-libp2p's
 * ClosestPeersIter in C. It keeps the candidates sorted by XOR distance to
 * the target and says whom to ask next; the caller sends the requests and
 * reports each answer (with the closer peers it named) or failure.
 *
 * Rules: at most alpha requests in flight while the lookup makes progress
 * (an answer that names a peer closer than the k-th closest known one);
 * after alpha answers in a row without progress the lookup is stalled and
 * asks up to k peers at once. It finishes when the k closest candidates
 * have all answered, or when nobody is left to ask and nothing is in
 * flight. Timeouts are the caller's: a request that timed out is reported
 * as a failure.
 *
 * The candidate list is bounded (AL__KAD_QUERY_PEERS): when full, a new
 * candidate replaces the farthest one not in flight, or is dropped when it
 * is farther than all of them. */
#ifndef AL_KAD_QUERY_H
#define AL_KAD_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "kad_table.h"

#define AL__KAD_QUERY_PEERS 128

enum al__kad_qstate {
    AL__KQ_NEW,
    AL__KQ_WAITING,
    AL__KQ_FAILED,
    AL__KQ_SUCCEEDED,
};

typedef struct al__kad_qpeer {
    al_peer_id peer;
    al__kad_key key;
    al__kad_addrs addrs; /* what we were told; owned */
    enum al__kad_qstate state;
} al__kad_qpeer;

/* A peer named in an answer (addrs borrowed from the caller). */
typedef struct al__kad_found {
    al_peer_id peer;
    const al__kad_addrs *addrs; /* may be NULL */
} al__kad_found;

typedef struct al__kad_iter {
    al__kad_key target;
    size_t k, alpha;
    al__kad_qpeer *peers; /* sorted by distance to target, n of them */
    size_t n;
    size_t num_waiting;
    enum { AL__KI_ITERATING, AL__KI_STALLED, AL__KI_DONE } state;
    size_t no_progress;
} al__kad_iter;

/* k and alpha of 0 take AL__KAD_K and AL__KAD_ALPHA. AL_ENOMEM. */
int al__kad_iter_init(al__kad_iter *it, const al__kad_key *target, size_t k,
                      size_t alpha);
void al__kad_iter_free(al__kad_iter *it);

/* Adds a candidate (the seeds from the routing table). Returns true when it
 * is now a candidate it was not before. */
bool al__kad_iter_add(al__kad_iter *it, const al_peer_id *peer,
                      const al__kad_addrs *addrs);

/* The peer answered, naming closer peers. Returns false (and changes
 * nothing) when the peer was not being waited for. */
bool al__kad_iter_on_success(al__kad_iter *it, const al_peer_id *peer,
                             const al__kad_found *closer, size_t n);
/* The request failed or timed out. False when not waited for. */
bool al__kad_iter_on_failure(al__kad_iter *it, const al_peer_id *peer);

enum al__kad_next {
    AL__KI_SEND,     /* ask *out (now marked waiting) */
    AL__KI_WAIT,     /* wait for answers */
    AL__KI_FINISHED, /* done */
};
int al__kad_iter_next(al__kad_iter *it, al__kad_qpeer **out);

void al__kad_iter_finish(al__kad_iter *it);
bool al__kad_iter_finished(const al__kad_iter *it);

/* The peers that answered, closest first, at most cap (and at most k). */
size_t al__kad_iter_result(al__kad_iter *it, al__kad_qpeer **out, size_t cap);
/* Peers that answered so far. */
size_t al__kad_iter_succeeded(const al__kad_iter *it);
al__kad_qpeer *al__kad_iter_find(al__kad_iter *it, const al_peer_id *peer);

#endif
