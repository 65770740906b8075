/* The host identity: an Ed25519 key (OpenSSL EVP), its PublicKey protobuf
 * and peer id. The public al_identity_* functions live in actorlib.h.
 *
 * Key files: PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----") is what
 * al_identity_save writes. al_identity_load also reads libp2p's protobuf
 * PrivateKey, raw or as base64 text (Ed25519 Data: 64 bytes seed || public
 * key, the 32-byte seed alone, or the legacy 96 bytes seed || pub || pub;
 * the public half must match the seed). */
#ifndef AL_IDENTITY_H
#define AL_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"
#include "peerid.h"

#define AL__ED25519_SIG_LEN  64
#define AL__ED25519_SEED_LEN 32
/* Key files larger than this are refused before being read. */
#define AL__IDENTITY_FILE_MAX (64 * 1024)

/* Ed25519 signature of msg[0..len) with the host key. 0 or AL_ECRYPTO. */
int al__identity_sign(const al_identity *id, const uint8_t *msg, size_t len,
                      uint8_t sig[AL__ED25519_SIG_LEN]);

/* The raw 32-byte public key. */
void al__identity_pubkey(const al_identity *id,
                         uint8_t out[AL__ED25519_PUB_LEN]);

/* The canonical PublicKey protobuf, 08 01 12 20 <key>. */
void al__identity_pubkey_proto(const al_identity *id,
                               uint8_t out[AL__ED25519_PUBKEY_PROTO_LEN]);

/* Verifies an Ed25519 signature (RFC 8032, no prehash). 0 when valid,
 * AL_ECRYPTO otherwise (also for a public key OpenSSL refuses). */
int al__ed25519_verify(const uint8_t pub[AL__ED25519_PUB_LEN],
                       const uint8_t *msg, size_t len,
                       const uint8_t sig[AL__ED25519_SIG_LEN]);

/* Reads a key from the bytes of a key file (any form al_identity_load
 * accepts). The caller owns *out: al_identity_free. buf is only read. */
int al__identity_from_mem(al_identity **out, const uint8_t *buf, size_t len,
                          al_error *err);

/* Parses a protobuf PrivateKey (bytes, not base64) into an identity. */
int al__identity_from_privkey_proto(al_identity **out, const uint8_t *buf,
                                    size_t len, al_error *err);

#endif
