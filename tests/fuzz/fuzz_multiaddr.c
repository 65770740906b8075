/* Multiaddr codecs on arbitrary input. The first byte picks the form: odd =
 * text, even = binary. Whatever parses must survive a round trip through
 * both forms unchanged, and binary input must re-encode to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "actorlib.h"
#include "multiaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static al__maddr m, m2, m3;

/* m parsed fine: format, reparse, encode, decode; all must agree. */
static void round_trip(const al__maddr *orig)
{
    char text[AL__MADDR_MAX_TEXT + 1], text2[AL__MADDR_MAX_TEXT + 1];
    uint8_t bin[AL__MADDR_MAX_BYTES];
    int tl = al__maddr_format(orig, text, sizeof(text));
    if (tl <= 0)
        __builtin_trap();
    if (al__maddr_parse_n(&m2, text, (size_t)tl, NULL) != 0 ||
        !al__maddr_equal(orig, &m2))
        __builtin_trap();
    int bl = al__maddr_encode(orig, bin, sizeof(bin));
    if (bl <= 0)
        __builtin_trap();
    if (al__maddr_decode(&m3, bin, (size_t)bl, NULL) != 0 ||
        !al__maddr_equal(orig, &m3))
        __builtin_trap();
    if (al__maddr_format(&m3, text2, sizeof(text2)) != tl ||
        memcmp(text, text2, (size_t)tl) != 0)
        __builtin_trap();
    al__quic_addr q;
    al_error err;
    if (al__maddr_to_quic(orig, &q, &err) == 0 &&
        (q.port != orig->c[1].v.port || (q.has_peer && orig->n != 4)))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    al_error err;
    if (data[0] & 1) {
        if (al__maddr_parse_n(&m, (const char *)p, n, &err) == 0)
            round_trip(&m);
        return 0;
    }
    if (al__maddr_decode(&m, p, n, &err) == 0) {
        uint8_t bin[AL__MADDR_MAX_BYTES];
        int bl = al__maddr_encode(&m, bin, sizeof(bin));
        if (bl != (int)n || memcmp(bin, p, n) != 0)
            __builtin_trap();
        round_trip(&m);
    }
    return 0;
}
