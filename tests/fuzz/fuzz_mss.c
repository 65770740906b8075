/* multistream-select, both roles. The first byte picks the role and seeds
 * the fragmentation; the rest is what the peer sends. Feeding it whole and
 * in random pieces must give the same result, the same answer bytes and
 * the same split between negotiation and application data. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "mss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const protocols[] = {"/kameo/1", "/ipfs/kad/1.0.0",
                                        "/ipfs/ping/1.0.0"};

static bool serves(const char *p, size_t len, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < 3; i++)
        if (strlen(protocols[i]) == len && memcmp(p, protocols[i], len) == 0)
            return true;
    return false;
}

struct run {
    int rc;
    size_t consumed;
    al_buf out;
    char selected[AL__MSS_PROTO_MAX + 1];
};

static void start(al__mss *m, bool initiator, struct run *r)
{
    if (initiator) {
        if (al__mss_init_initiator(m, protocols, 3, &r->out, NULL) != 0)
            abort();
    } else {
        al__mss_init_responder(m, serves, NULL);
    }
}

static void finish(al__mss *m, struct run *r)
{
    size_t len = 0;
    const char *s = al__mss_selected(m, &len);
    if ((r->rc == AL__MSS_SELECTED) != (s != NULL))
        abort();
    if (s)
        memcpy(r->selected, s, len + 1);
}

static void whole(const uint8_t *in, size_t len, bool initiator, struct run *r)
{
    al__mss m;
    start(&m, initiator, r);
    r->rc = al__mss_feed(&m, in, len, &r->consumed, &r->out, NULL);
    if (r->rc == AL__MSS_PENDING && r->consumed != len)
        abort();
    finish(&m, r);
}

static void pieces(const uint8_t *in, size_t len, bool initiator, uint32_t seed,
                   struct run *r)
{
    al__mss m;
    start(&m, initiator, r);
    r->rc = AL__MSS_PENDING;
    size_t pos = 0;
    while (pos < len && r->rc == AL__MSS_PENDING) {
        seed = seed * 1103515245u + 12345u;
        size_t chunk = 1 + (seed >> 16) % 9;
        if (chunk > len - pos)
            chunk = len - pos;
        size_t used = 0;
        r->rc = al__mss_feed(&m, in + pos, chunk, &used, &r->out, NULL);
        if (used > chunk || (r->rc == AL__MSS_PENDING && used != chunk))
            abort();
        pos += used;
    }
    r->consumed = pos;
    finish(&m, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool initiator = data[0] & 1;
    uint32_t seed = data[0];
    struct run a = {0}, b = {0};
    whole(data + 1, size - 1, initiator, &a);
    pieces(data + 1, size - 1, initiator, seed, &b);
    if (a.rc != b.rc || a.out.len != b.out.len ||
        (a.out.len && memcmp(a.out.data, b.out.data, a.out.len)))
        abort();
    if (a.rc == AL__MSS_SELECTED &&
        (a.consumed != b.consumed || strcmp(a.selected, b.selected)))
        abort();
    al_buf_free(&a.out);
    al_buf_free(&b.out);
    return 0;
}
