/* Unsigned LEB128 varints as multiformats uses them (at most 9 bytes, 63
 * bits, minimal encoding). */
#ifndef AL_VARINT_H
#define AL_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define AL__UVARINT_MAX 10

/* Writes v at out (room for AL__UVARINT_MAX bytes); returns bytes written. */
size_t al__uvarint_encode(uint64_t v, uint8_t *out);
/* Bytes al__uvarint_encode would write. */
size_t al__uvarint_len(uint64_t v);
/* Reads a varint from in[0..len). Returns bytes consumed, 0 when more input
 * is needed, or AL_EDECODE (negative) for an overlong, non-minimal or
 * over-63-bit encoding. */
int al__uvarint_decode(const uint8_t *in, size_t len, uint64_t *v);

#endif
