/* base58btc (the Bitcoin alphabet), as multiformats and libp2p peer ids use
 * it. Bounded: the quadratic algorithm is only ever run on short inputs. */
#ifndef AL_BASE58_H
#define AL_BASE58_H

#include <stddef.h>
#include <stdint.h>

/* Longest binary input accepted by both directions (a multihash peer id is at
 * most 64 bytes; this leaves room for CIDs and test vectors). */
#define AL__BASE58_MAX_BYTES 128
/* Longest text al__base58_decode reads: ceil(128 * log(256) / log(58)). */
#define AL__BASE58_MAX_TEXT 175

/* Writes the text of in[0..len) and a NUL into out[0..cap). Returns the text
 * length, AL_ELIMIT when len > AL__BASE58_MAX_BYTES, or AL_EINVAL when cap is
 * too small (AL__BASE58_MAX_TEXT + 1 always suffices). */
int al__base58_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/* Decodes text[0..len) into out[0..cap). Returns the number of bytes written,
 * AL_EDECODE for a character outside the alphabet or an empty text,
 * AL_ELIMIT when the text is longer than AL__BASE58_MAX_TEXT or the result
 * does not fit in cap. */
int al__base58_decode(const char *text, size_t len, uint8_t *out, size_t cap);

#endif
