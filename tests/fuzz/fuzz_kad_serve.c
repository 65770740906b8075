/* The Kademlia engine with bytes from a peer, both ways. The first input
 * byte picks the role:
 *   even: the bytes arrive on an inbound stream (several requests until
 *         FIN), cut into pieces at the offsets the second byte suggests;
 *         every answer written must decode as one framed kad message, and
 *         consumption never goes past the input.
 *   odd:  the bytes are a peer's answer to our GET_VALUE (closer peers,
 *         addresses, records: the lookup's parsing and bookkeeping), then
 *         the clock runs past every deadline.
 * The engine knows a few peers and records, so answers carry both. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "kad_core.h"
#include "kadmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t last_req;

static int capture(void *ud, uint64_t req, const al_peer_id *peer,
                   const al__kad_addrs *addrs, const uint8_t *frame, size_t len)
{
    (void)ud;
    (void)peer;
    (void)addrs;
    Kad__Message *m = NULL;
    if (al__kadmsg_decode(frame, len, AL__KAD_MAX_PACKET, &m, NULL) != (int)len)
        abort();
    al__kadmsg_free(m);
    last_req = req;
    return 0;
}

static al_peer_id peer_n(uint8_t n)
{
    al_peer_id p = {.len = 34};
    p.bytes[0] = 0x12;
    p.bytes[1] = 0x20;
    memset(p.bytes + 2, n, 32);
    return p;
}

static al__kad_core *setup(void)
{
    al_peer_id local = peer_n(0xee);
    al__kad_io io = {capture, NULL, NULL, NULL};
    al__kad_core *c = NULL;
    if (al__kad_core_new(&local, NULL, &io, 0, &c))
        abort();
    /* /ip4/10.0.0.N/udp/4001/quic-v1 */
    uint8_t addr[11] = {0x04, 10, 0, 0, 0, 0x91, 0x02, 0x0f, 0xa1, 0xcd, 0x03};
    for (uint8_t i = 1; i <= 24; i++) {
        al_peer_id p = peer_n(i);
        addr[4] = i;
        al__kad_core_add_address(c, &p, addr, sizeof(addr), 0);
    }
    al__kad_core_put(c, (const uint8_t *)"my_actor", 8,
                     (const uint8_t *)"value", 5, false, 0, NULL, NULL);
    al__kad_core_put(c, (const uint8_t *)"/pk/x", 5, NULL, 0, false, 0, NULL,
                     NULL);
    al__kad_core_tick(c, 0);
    return c;
}

static void check_answers(const al_buf *out)
{
    size_t off = 0;
    while (off < out->len) {
        Kad__Message *m = NULL;
        int n = al__kadmsg_decode(out->data + off, out->len - off,
                                  AL__KAD_MAX_PACKET, &m, NULL);
        if (n <= 0)
            abort();
        al__kadmsg_free(m);
        off += (size_t)n;
    }
}

static void serve(al__kad_core *c, const uint8_t *data, size_t size,
                  uint8_t cut)
{
    al_peer_id from = peer_n(3);
    al_buf rx = {0}, out = {0};
    size_t off = 0;
    while (off < size) {
        size_t piece = (size_t)cut + 1;
        if (piece > size - off)
            piece = size - off;
        al_buf_append(&rx, data + off, piece);
        off += piece;
        size_t used = 0;
        int rc =
            al__kad_core_serve(c, &from, rx.data, rx.len, &used, &out, 1, NULL);
        if (used > rx.len)
            abort();
        if (rc)
            break;
        memmove(rx.data, rx.data + used, rx.len - used);
        rx.len -= used;
    }
    check_answers(&out);
    al_buf_free(&rx);
    al_buf_free(&out);
}

static void got(int status, const uint8_t *v, size_t len, void *ud)
{
    (void)ud;
    if (status == 0 ? (!v && len) : (v || len))
        abort();
}

static void answer(al__kad_core *c, const uint8_t *data, size_t size)
{
    last_req = 0;
    if (al__kad_core_get(c, (const uint8_t *)"other", 5, 0, got, NULL))
        abort();
    if (last_req == 0)
        abort(); /* the table is not empty: a request went out */
    al__kad_core_on_response(c, last_req, data, size, NULL, 1);
    al__kad_core_tick(c, 60 * 60 * 1000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    al__kad_core *c = setup();
    if (data[0] & 1)
        answer(c, data + 1, size - 1);
    else
        serve(c, data + 2, size - 2, data[1]);
    al__kad_core_free(c);
    return 0;
}
