/*
 * Kameo's actor registration record: the value of the Kademlia record that
 * names an actor (DESIGN §5.5, kameo.md A2). Not serde: a fixed layout
 *
 *   [u8 peer id length][u64 LE sequence id][peer id bytes][remote id UTF-8]
 *
 * where the remote id (the actor type, e.g. "remote::MyActor") runs to the
 * end of the value. An empty value is Kameo's tombstone for an unregistered
 * name and reads as "not found".
 */
#ifndef AL_RECORD_H
#define AL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"

/* Longest remote id accepted; Rust module paths stay far below it. */
#define AL__RECORD_REMOTE_ID_MAX 1024
#define AL__RECORD_MAX           (1 + 8 + AL_PEER_ID_MAX + AL__RECORD_REMOTE_ID_MAX)

/* A decoded record. remote_id is owned (malloc, NUL-terminated, no inner
 * NUL); free with al__record_free. */
typedef struct al__record {
    al_actor_id id;
    char *remote_id;
    size_t remote_id_len;
} al__record;

/* Appends the record value for actor |id| of type |remote_id| to |out|.
 * AL_EINVAL when the peer id is not 1..AL_PEER_ID_MAX bytes or the remote id
 * is empty, too long, not UTF-8 or holds a NUL. */
int al__record_encode(const al_actor_id *id, const char *remote_id,
                      size_t remote_id_len, al_buf *out, al_error *err);

/* Decodes a record value (an empty remote id is accepted, as Kameo does).
 * Returns 0, AL_ENOTFOUND for the empty tombstone,
 * AL_EDECODE for a malformed value, AL_ENOMEM. On failure *out is zeroed and
 * owns nothing. */
int al__record_decode(const uint8_t *value, size_t len, al__record *out,
                      al_error *err);

void al__record_free(al__record *r);

/* True when b[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing past U+10FFFF), as Rust's str requires. */
bool al__utf8_valid(const uint8_t *b, size_t len);

#endif
