/* base58btc encode/decode: big-number base conversion on short buffers. */
#include "base58.h"

#include <string.h>

#include "actorlib.h"

static const char alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Maps an ASCII character to its digit, -1 outside the alphabet. */
static int digit_of(unsigned char c)
{
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

int al__base58_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    if (len > AL__BASE58_MAX_BYTES)
        return AL_ELIMIT;
    size_t zeros = 0;
    while (zeros < len && in[zeros] == 0)
        zeros++;
    /* Little-endian base-58 digits of the number after the leading zeros. */
    uint8_t digits[AL__BASE58_MAX_TEXT];
    size_t nd = 0;
    for (size_t i = zeros; i < len; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < nd; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[nd++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    size_t total = zeros + nd;
    if (total + 1 > cap)
        return AL_EINVAL;
    size_t k = 0;
    for (size_t i = 0; i < zeros; i++)
        out[k++] = '1';
    while (nd)
        out[k++] = alphabet[digits[--nd]];
    out[k] = '\0';
    return (int)k;
}

int al__base58_decode(const char *text, size_t len, uint8_t *out, size_t cap)
{
    if (len == 0)
        return AL_EDECODE;
    if (len > AL__BASE58_MAX_TEXT)
        return AL_ELIMIT;
    size_t ones = 0;
    while (ones < len && text[ones] == '1')
        ones++;
    /* Little-endian base-256 bytes of the number after the leading '1's. */
    uint8_t bytes[AL__BASE58_MAX_TEXT];
    size_t nb = 0;
    for (size_t i = ones; i < len; i++) {
        int d = digit_of((unsigned char)text[i]);
        if (d < 0)
            return AL_EDECODE;
        unsigned carry = (unsigned)d;
        for (size_t j = 0; j < nb; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
        while (carry) {
            bytes[nb++] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
    }
    size_t total = ones + nb;
    if (total > cap)
        return AL_ELIMIT;
    memset(out, 0, ones);
    for (size_t i = 0; i < nb; i++)
        out[ones + i] = bytes[nb - 1 - i];
    return (int)total;
}
