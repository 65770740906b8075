/* Kademlia keys, XOR distance and the k-bucket routing table, sans-I/O:
 * time comes in as loop milliseconds, nothing here touches the network.
 *
 * Keys: every peer id and record key lives in one 256-bit space through
 * SHA-256 of its bytes (the peer id multihash bytes, the raw record key), as
 * rust-libp2p's kbucket::Key does. Distance is the XOR of two keys read as
 * a big-endian number. Bucket i (0..255) holds peers whose distance to the
 * local key has its highest set bit at position i, i.e. a shared prefix of
 * 255 - i bits.
 *
 * Buckets hold up to k = 20 entries ordered least recently seen first.
 * Eviction follows rust-libp2p's pending-entry scheme rather than a ping of
 * the oldest entry: when a peer that just proved itself (answered a request,
 * identified as a Kademlia server) finds its bucket full, it becomes the
 * bucket's one pending entry if some entry is disconnected; after
 * AL__KAD_PENDING_MS the pending entry replaces the least recently seen
 * disconnected entry, unless by then every entry is connected again, in
 * which case it is dropped. A bucket of connected peers is never disturbed.
 * Peers whose requests fail AL__KAD_MAX_FAILURES times in a row are
 * removed (their slot goes to the pending entry at once).
 *
 * Ownership: the table owns its entries and their address copies; pointers
 * to entries are valid until the next call that modifies the table. */
#ifndef AL_KAD_TABLE_H
#define AL_KAD_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"

#define AL__KAD_K            20 /* bucket size and replication factor */
#define AL__KAD_ALPHA        3  /* parallel requests per lookup */
#define AL__KAD_KEY_LEN      32 /* SHA-256 */
#define AL__KAD_BUCKETS      256
#define AL__KAD_ENTRY_ADDRS  4   /* addresses kept per peer */
#define AL__KAD_ADDR_LEN     512 /* longest binary multiaddr kept */
#define AL__KAD_PENDING_MS   60000
#define AL__KAD_MAX_FAILURES 3

typedef struct al__kad_key {
    uint8_t b[AL__KAD_KEY_LEN];
} al__kad_key;

/* SHA-256 of data[0..len). */
void al__kad_key_hash(const uint8_t *data, size_t len, al__kad_key *out);
void al__kad_key_peer(const al_peer_id *peer, al__kad_key *out);
/* Negative when a is closer to target than b, 0 when equally far (a == b),
 * positive when b is closer. */
int al__kad_distance_cmp(const al__kad_key *target, const al__kad_key *a,
                         const al__kad_key *b);
/* The bucket index of b seen from a: 255 minus the number of leading zero
 * bits of a XOR b, or -1 when a == b. */
int al__kad_bucket_index(const al__kad_key *a, const al__kad_key *b);

/* A small set of binary multiaddrs, most recently learnt first, each a
 * heap copy owned by the set. */
typedef struct al__kad_addrs {
    size_t n;
    uint16_t len[AL__KAD_ENTRY_ADDRS];
    uint8_t *data[AL__KAD_ENTRY_ADDRS];
} al__kad_addrs;

/* Puts maddr first (moving it there when present), dropping the oldest
 * address when full. AL_EINVAL for an empty or over-long address,
 * AL_ENOMEM. Returns 1 when the address was new, 0 when known. */
int al__kad_addrs_add(al__kad_addrs *a, const uint8_t *maddr, size_t len);
/* Adds src's addresses to dst, oldest first so that src's order holds. */
void al__kad_addrs_merge(al__kad_addrs *dst, const al__kad_addrs *src);
int al__kad_addrs_copy(al__kad_addrs *dst, const al__kad_addrs *src);
void al__kad_addrs_free(al__kad_addrs *a);

typedef struct al__kad_entry {
    al_peer_id peer;
    al__kad_key key;
    al__kad_addrs addrs;
    bool connected;
    unsigned failures;  /* consecutive failed requests */
    uint64_t last_seen; /* loop ms of the last sign of life */
} al__kad_entry;

typedef struct al__kad_bucket {
    al__kad_entry *e[AL__KAD_K]; /* least recently seen first */
    size_t n;
    al__kad_entry *pending; /* waiting for a disconnected entry's slot */
    uint64_t pending_at;    /* when it may take that slot */
} al__kad_bucket;

typedef struct al__kad_table {
    al_peer_id local;
    al__kad_key local_key;
    size_t size; /* entries, pending ones not counted */
    al__kad_bucket buckets[AL__KAD_BUCKETS];
} al__kad_table;

/* What an update did. */
enum al__kad_update {
    AL__KAD_INSERTED, /* new entry */
    AL__KAD_UPDATED,  /* existing entry refreshed */
    AL__KAD_PENDING,  /* bucket full: now the bucket's pending entry */
    AL__KAD_FULL,     /* bucket full of connected peers: not added */
    AL__KAD_IGNORED,  /* our own id, or a new peer without an address */
};

void al__kad_table_init(al__kad_table *t, const al_peer_id *local);
void al__kad_table_free(al__kad_table *t);

/* A peer we were told about (bootstrap address, add_address): inserted
 * as disconnected when its bucket has room, else AL__KAD_FULL; an existing
 * entry only gains the address. Returns an al__kad_update or AL_ENOMEM. */
int al__kad_table_add(al__kad_table *t, const al_peer_id *peer,
                      const uint8_t *maddr, size_t len, uint64_t now);

/* A peer showed it is a live Kademlia server (it answered us, or identify
 * says it serves the protocol): it becomes the most recently seen entry,
 * connected, failures cleared, addrs (may be NULL) merged in. A new peer
 * needs at least one address. Returns an al__kad_update or AL_ENOMEM. */
int al__kad_table_seen(al__kad_table *t, const al_peer_id *peer,
                       const al__kad_addrs *addrs, uint64_t now);

/* Connection state from the swarm; entries keep their place. */
void al__kad_table_set_connected(al__kad_table *t, const al_peer_id *peer,
                                 bool connected);

/* A request to the peer failed. Returns true when that removed it (after
 * AL__KAD_MAX_FAILURES in a row, or at once when fatal, e.g. the peer does
 * not speak the protocol). */
bool al__kad_table_failed(al__kad_table *t, const al_peer_id *peer, bool fatal,
                          uint64_t now);

bool al__kad_table_remove(al__kad_table *t, const al_peer_id *peer,
                          uint64_t now);

/* Lets pending entries whose wait is over take their slot. */
void al__kad_table_tick(al__kad_table *t, uint64_t now);
/* The earliest pending deadline, or UINT64_MAX. */
uint64_t al__kad_table_next_deadline(const al__kad_table *t);

al__kad_entry *al__kad_table_find(al__kad_table *t, const al_peer_id *peer);

/* Copies into out[0..cap) pointers to the entries closest to target,
 * closest first, skipping exclude (may be NULL). Returns how many. */
size_t al__kad_table_closest(al__kad_table *t, const al__kad_key *target,
                             const al_peer_id *exclude, al__kad_entry **out,
                             size_t cap);

/* Entries closer to target than the local node is. */
size_t al__kad_table_count_closer(const al__kad_table *t,
                                  const al__kad_key *target);

#endif
