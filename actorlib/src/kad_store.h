/* The Kademlia record store: in memory, bounded, with expiry, sans-I/O
 * (times are loop milliseconds passed in by the caller), like rust-libp2p's
 * MemoryStore: at most max_records records, values shorter than max_value
 * bytes, any key bytes (no namespace rules: Kameo's key is the raw actor
 * name). An expired record is gone for get and is dropped by the next
 * al__kad_store_expire.
 *
 * Ownership: the store owns records and their key and value copies; a
 * record pointer is valid until the next call that modifies the store. */
#ifndef AL_KAD_STORE_H
#define AL_KAD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"
#include "kad_table.h"

#define AL__KAD_STORE_RECORDS 1024        /* rust MemoryStore's max_records */
#define AL__KAD_STORE_VALUE   (65 * 1024) /* values must be shorter */

typedef struct al__kad_record {
    uint8_t *key;
    size_t klen;
    uint8_t *value;
    size_t vlen;
    al__kad_key hash;       /* SHA-256 of key */
    al_peer_id publisher;   /* len 0 when unknown */
    uint64_t expires;       /* loop ms; 0 = never */
    uint64_t received;      /* loop ms it was stored (put or received) */
    uint64_t received_wall; /* unix ms of the same moment, for timeReceived */
    uint64_t published;     /* own records: loop ms of the last publication */
    bool own;               /* put through this node's API: republished */
    struct al__kad_record *next;
} al__kad_record;

#define AL__KAD_STORE_SLOTS 256

typedef struct al__kad_store {
    size_t max_records, max_value;
    size_t count;
    al__kad_record *slot[AL__KAD_STORE_SLOTS]; /* chained by hash[0] */
} al__kad_store;

/* max_records / max_value of 0 take the defaults above. */
void al__kad_store_init(al__kad_store *s, size_t max_records, size_t max_value);
void al__kad_store_free(al__kad_store *s);

/* What al__kad_store_put copies into a record. */
typedef struct al__kad_record_in {
    const uint8_t *key;
    size_t klen;
    const uint8_t *value;
    size_t vlen;
    const al_peer_id *publisher; /* may be NULL */
    uint64_t expires;            /* loop ms; 0 = never */
    uint64_t wall;               /* unix ms now */
    bool own;
} al__kad_record_in;

/* Stores (replacing a record with the same key). AL_ELIMIT when the value
 * is max_value bytes or longer or the store is full, AL_EINVAL for an
 * empty key, AL_ENOMEM. The latest put wins, except that an own record
 * stays own when a peer sends the same value back (replication). */
int al__kad_store_put(al__kad_store *s, const al__kad_record_in *in,
                      uint64_t now);
/* The record, or NULL when absent or expired (an expired one is removed). */
al__kad_record *al__kad_store_get(al__kad_store *s, const uint8_t *key,
                                  size_t klen, uint64_t now);
bool al__kad_store_remove(al__kad_store *s, const uint8_t *key, size_t klen);
/* Removes expired records; returns how many. */
size_t al__kad_store_expire(al__kad_store *s, uint64_t now);

/* Visits every record (do not modify the store from fn). */
void al__kad_store_each(al__kad_store *s,
                        void (*fn)(al__kad_record *r, void *ud), void *ud);

#endif
