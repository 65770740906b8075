/* Shared by the Kademlia unit tests: deterministic peer ids and
 * addresses. Header-only (tests/unit/ builds one binary per test_*.c). */
#ifndef KAD_TESTUTIL_H
#define KAD_TESTUTIL_H

#include <stdint.h>
#include <string.h>

#include "actorlib.h"

static uint64_t kt_rng_state = 0x9e3779b97f4a7c15ull;

static inline void kt_seed(uint64_t s)
{
    kt_rng_state = s ? s : 1;
}

static inline uint64_t kt_rand(void)
{
    uint64_t x = kt_rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return kt_rng_state = x;
}

/* A sha2-256 multihash peer id (12 20 <32 bytes>) from the generator. */
static inline al_peer_id kt_peer(void)
{
    al_peer_id p = {0};
    p.len = 34;
    p.bytes[0] = 0x12;
    p.bytes[1] = 0x20;
    for (int i = 0; i < 32; i += 8) {
        uint64_t r = kt_rand();
        memcpy(p.bytes + 2 + i, &r, 8);
    }
    return p;
}

/* /ip4/10.0.<hi>.<lo>/udp/4001/quic-v1 in binary (11 bytes). */
static inline size_t kt_addr(unsigned n, uint8_t out[11])
{
    const uint8_t a[11] = {0x04,       10,   0,    (uint8_t)(n >> 8),
                           (uint8_t)n, 0x91, 0x02, 0x0f,
                           0xa1,       0xcd, 0x03};
    memcpy(out, a, sizeof(a));
    return sizeof(a);
}

#endif
