/* Peer ids and libp2p's PublicKey protobuf (peer-ids/peer-ids.md).
 *
 * A peer id is a multihash of the PublicKey protobuf: the identity multihash
 * `00 <len> <protobuf>` when the protobuf is at most 42 bytes (Ed25519:
 * `00 24 08 01 12 20 <32-byte key>`, 38 bytes, text "12D3KooW..."), else
 * sha2-256 `12 20 <digest>`. The public al_peer_id_* functions live in
 * actorlib.h; these are the pieces the identity, TLS and protocol modules
 * share. */
#ifndef AL_PEERID_H
#define AL_PEERID_H

#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"

/* libp2p's KeyType enum (keys.proto). */
enum al__key_type {
    AL__KEY_RSA = 0,
    AL__KEY_ED25519 = 1,
    AL__KEY_SECP256K1 = 2,
    AL__KEY_ECDSA = 3,
};

#define AL__ED25519_PUB_LEN          32
#define AL__ED25519_PUBKEY_PROTO_LEN 36 /* 08 01 12 20 <32 bytes> */
/* Protobufs at most this long are inlined into the peer id. */
#define AL__PEER_ID_INLINE_MAX 42
/* Longest key protobuf accepted (an RSA-4096 PublicKey is about 550 bytes,
 * a PrivateKey about 2.4 KiB). */
#define AL__KEY_PROTO_MAX 4096

/* A parsed PublicKey or PrivateKey protobuf: a view into the parsed buffer
 * (data is borrowed from it). */
typedef struct al__key_proto {
    enum al__key_type type;
    const uint8_t *data;
    size_t len;
} al__key_proto;

/* Parses `PublicKey`/`PrivateKey{KeyType Type = 1; bytes Data = 2}` in the
 * deterministic form libp2p requires: field 1 (a minimal varint) then field
 * 2, each once, nothing else. AL_EDECODE for malformed bytes, AL_ECRYPTO
 * (with the number in err) for a key type outside RSA, Ed25519, Secp256k1,
 * ECDSA; AL_ELIMIT beyond AL__KEY_PROTO_MAX. what ("public key", "private
 * key") names the message in errors. */
int al__key_proto_parse(const uint8_t *buf, size_t len, const char *what,
                        al__key_proto *out, al_error *err);

/* "RSA", "Ed25519", "Secp256k1", "ECDSA" or "unknown". */
const char *al__key_type_name(int type);

/* The canonical Ed25519 PublicKey protobuf: 08 01 12 20 <pub>. */
void al__ed25519_pubkey_proto(const uint8_t pub[AL__ED25519_PUB_LEN],
                              uint8_t out[AL__ED25519_PUBKEY_PROTO_LEN]);

/* The peer id of a PublicKey protobuf given as encoded bytes (identity
 * multihash up to 42 bytes, else sha2-256). The bytes are taken as they are:
 * callers pass the canonical encoding. AL_EINVAL for an empty protobuf,
 * AL_ELIMIT beyond AL__KEY_PROTO_MAX. */
int al__peer_id_from_pubkey_proto(const uint8_t *proto, size_t len,
                                  al_peer_id *out);

/* The peer id of an Ed25519 public key. */
void al__peer_id_from_ed25519(const uint8_t pub[AL__ED25519_PUB_LEN],
                              al_peer_id *out);

/* Extracts the Ed25519 key of an identity-multihash peer id. AL_ECRYPTO when
 * the peer id hashes its key (sha2-256: the key is not recoverable) or
 * inlines another key type; AL_EDECODE when the inlined protobuf is
 * malformed. */
int al__peer_id_ed25519_pubkey(const al_peer_id *id,
                               uint8_t pub[AL__ED25519_PUB_LEN], al_error *err);

/* Parses text[0..len): base58btc multihash ("12D3KooW...", "Qm...") or a
 * CIDv1 with the libp2p-key codec in multibase base32 ('b') or base58btc
 * ('z'). Validates the multihash as al__peer_id_from_bytes_err does. */
int al__peer_id_parse_n(al_peer_id *out, const char *text, size_t len,
                        al_error *err);

/* Validates a binary multihash peer id: code 0x00 (identity, digest at most
 * 42 bytes) or 0x12 (sha2-256, 32-byte digest), length matching exactly. */
int al__peer_id_from_bytes_err(al_peer_id *out, const uint8_t *b, size_t len,
                               al_error *err);

#endif
