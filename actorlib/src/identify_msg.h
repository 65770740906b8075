/*
 * libp2p identify messages (/ipfs/id/1.0.0), sans-I/O: the protobuf
 * Identify of identify.proto with its uvarint length prefix, plus bounds
 * checks. The responder of an identify stream writes one such message and
 * closes.
 */
#ifndef AL_IDENTIFY_MSG_H
#define AL_IDENTIFY_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"
#include "identify.pb-c.h"

/* rust-libp2p reads at most 4 KiB, js-libp2p 8 KiB: send the smaller,
 * accept the larger. */
#define AL__IDENTIFY_SEND_MAX 4096
#define AL__IDENTIFY_RECV_MAX 8192
/* Bounds that al__identify_validate enforces. */
#define AL__IDENTIFY_KEY_MAX       1024 /* PublicKey protobuf (RSA fits) */
#define AL__IDENTIFY_ADDRS_MAX     64
#define AL__IDENTIFY_ADDR_MAX      512 /* bytes of one binary multiaddr */
#define AL__IDENTIFY_PROTOCOLS_MAX 256
#define AL__IDENTIFY_PROTOCOL_MAX  1024 /* as multistream-select's bound */
#define AL__IDENTIFY_VERSION_MAX   256  /* protocolVersion, agentVersion */

/* One framed Identify message from in[0..len): returns the bytes consumed
 * (> 0) with *out set (free with al__identify_free), 0 when more input is
 * needed, AL_ELIMIT over AL__IDENTIFY_RECV_MAX, AL_EDECODE for a malformed
 * or invalid message, AL_ENOMEM. */
int al__identify_decode(const uint8_t *in, size_t len, Identify__Identify **out,
                        al_error *err);
/* Appends the framed message; AL_ELIMIT over AL__IDENTIFY_SEND_MAX. */
int al__identify_encode(const Identify__Identify *m, al_buf *out,
                        al_error *err);
void al__identify_free(Identify__Identify *m);

/* Checks: a public key of 1..AL__IDENTIFY_KEY_MAX bytes is present (rust
 * and js refuse identify without one), at most AL__IDENTIFY_ADDRS_MAX listen
 * addresses of 1..AL__IDENTIFY_ADDR_MAX bytes, an observed address (if any)
 * of 1..AL__IDENTIFY_ADDR_MAX bytes, at most AL__IDENTIFY_PROTOCOLS_MAX
 * protocols of 1..AL__IDENTIFY_PROTOCOL_MAX bytes of UTF-8, version strings
 * of at most AL__IDENTIFY_VERSION_MAX bytes of UTF-8. AL_EDECODE on
 * failure. */
int al__identify_validate(const Identify__Identify *m, al_error *err);

#endif
