/* Unsigned varints (multiformats unsigned-varint). */
#include "varint.h"

#include "actorlib.h"

/* The multiformats spec caps varints at 9 bytes (63 bits) and requires the
 * minimal form; both rules close off ambiguous encodings of one value. */
#define MAX_BYTES 9

size_t al__uvarint_encode(uint64_t v, uint8_t *out)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t al__uvarint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

int al__uvarint_decode(const uint8_t *in, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < len && i < MAX_BYTES; i++) {
        x |= (uint64_t)(in[i] & 0x7f) << (7 * i);
        if (!(in[i] & 0x80)) {
            if (i > 0 && in[i] == 0)
                return AL_EDECODE; /* not minimal */
            *v = x;
            return (int)(i + 1);
        }
    }
    return len >= MAX_BYTES ? AL_EDECODE : 0;
}
