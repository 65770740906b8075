/* The QUIC transport's receive path on arbitrary datagrams: version and
 * connection id decoding, routing by connection id, new connections from
 * Initial packets, stateless resets, version negotiation, and whatever
 * ngtcp2 does with the rest. One listening transport lives across inputs
 * (connections pile up to its limit, as they would under attack); the
 * first input byte picks one of four source addresses, the rest is the
 * datagram. Replies go to sockets of this process on 127.0.0.1.
 *
 * Seeds: an Initial datagram a dialing al__quic sent (1200+ bytes), a
 * short-header packet, a long header with an unknown version, a truncated
 * Initial. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "actorlib.h"
#include "quic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t loop;
static al__quic *quic;
static al_identity *host;
static struct sockaddr_in sources[4];

static bool pre_flush(void *ud)
{
    (void)ud;
    return false;
}

static void stream_open(al__qstream *s, void *ud)
{
    (void)ud;
    al__qstream_reset(s);
}

static const al__quic_cbs cbs = {.pre_flush = pre_flush,
                                 .stream_open = stream_open};

static int setup(void)
{
    static const uint8_t seed[32] = {1, 2, 3};
    if (uv_loop_init(&loop) || al_identity_from_seed(&host, seed, NULL))
        return -1;
    al__quic_config cfg = {.max_connections = 64};
    if (al__quic_new(&quic, &loop, host, &cfg, &cbs, NULL, NULL))
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (al__quic_listen(quic, (struct sockaddr *)&a, NULL, NULL))
        return -1;
    /* Sources are sockets we own, so replies disturb nobody. */
    for (int i = 0; i < 4; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        socklen_t len = sizeof(sources[i]);
        sources[i] = a;
        if (fd < 0 || bind(fd, (struct sockaddr *)&sources[i], len) ||
            getsockname(fd, (struct sockaddr *)&sources[i], &len))
            return -1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready = 0;
    if (!ready)
        ready = setup() == 0 ? 1 : -1;
    if (ready < 0)
        __builtin_trap();
    if (size < 1)
        return 0;
    const struct sockaddr *from =
        (const struct sockaddr *)&sources[data[0] & 3];
    al__quic_test_inject(quic, data + 1, size - 1, from);
    uv_run(&loop, UV_RUN_NOWAIT);
    return 0;
}
