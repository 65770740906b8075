/*
 * Kademlia RPC messages (/ipfs/kad/1.0.0), sans-I/O: the protobuf Message of
 * kad.proto with its uvarint length prefix, plus bounds checks.
 *
 * Also home of the length-prefixed protobuf framing that identify_msg.c
 * shares (al__pb_frame_*).
 *
 * Decoded messages are allocated by protobuf-c under a budget proportional
 * to the input (a few dozen bytes of structs per input byte at most), so a
 * message full of empty repeated fields cannot make it allocate without
 * bound.
 */
#ifndef AL_KADMSG_H
#define AL_KADMSG_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "actorlib.h"
#include "kad.pb-c.h"

/* rust-libp2p's default maximum kad packet. */
#define AL__KAD_MAX_PACKET (16 * 1024)
/* Bounds that al__kadmsg_validate enforces. */
#define AL__KAD_KEY_MAX   1024        /* message and record keys */
#define AL__KAD_VALUE_MAX (64 * 1024) /* rust MemoryStore's max value */
#define AL__KAD_PEERS_MAX 64          /* closer or provider peers (k = 20) */
#define AL__KAD_ADDRS_MAX 32          /* addresses of one peer */
#define AL__KAD_ADDR_MAX  512         /* bytes of one binary multiaddr */
#define AL__KAD_TIME_MAX  64          /* timeReceived, RFC 3339 text */

/* Largest frame the framing functions accept as |max|. */
#define AL__PB_FRAME_MAX (16 * 1024 * 1024)

/* al__pb_frame_decode reads one uvarint-length-prefixed protobuf message
 * of type |desc| from in[0..len). Returns the bytes consumed (> 0) with
 * *out set (free it with al__pb_free), 0 when more input is needed, or
 * AL_ELIMIT when the prefix announces more than |max| bytes, AL_EDECODE for
 * a bad prefix or protobuf, AL_ENOMEM. Bytes after the message are left
 * alone. */
int al__pb_frame_decode(const ProtobufCMessageDescriptor *desc,
                        const uint8_t *in, size_t len, size_t max,
                        ProtobufCMessage **out, al_error *err);
/* Appends uvarint(size) and the packed message; AL_ELIMIT over |max|. */
int al__pb_frame_encode(const ProtobufCMessage *m, size_t max, al_buf *out,
                        al_error *err);
void al__pb_free(ProtobufCMessage *m);

/* One framed kad Message: as al__pb_frame_decode, then al__kadmsg_validate
 * (AL_EDECODE when it fails). |max| is the packet limit, typically
 * AL__KAD_MAX_PACKET. */
int al__kadmsg_decode(const uint8_t *in, size_t len, size_t max,
                      Kad__Message **out, al_error *err);
int al__kadmsg_encode(const Kad__Message *m, size_t max, al_buf *out,
                      al_error *err);
void al__kadmsg_free(Kad__Message *m);

/* Checks the bounds above: a known message type (PUT_VALUE..PING), keys
 * and record values within their limits, at most AL__KAD_PEERS_MAX peers
 * per list, peer ids of 1..AL_PEER_ID_MAX bytes, at most AL__KAD_ADDRS_MAX
 * addresses of 1..AL__KAD_ADDR_MAX bytes each, a publisher (if any) of at
 * most AL_PEER_ID_MAX bytes. Unknown connection types are allowed (proto3
 * enums are open; rust reads them as NOT_CONNECTED). AL_EDECODE on
 * failure. */
int al__kadmsg_validate(const Kad__Message *m, al_error *err);

#endif
