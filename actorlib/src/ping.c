/* /ipfs/ping/1.0.0, both sides (ping.h). */
#include "ping.h"

#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "node.h"
#include "timer.h"

/* A responder echoes at most this much that the peer has not yet
 * acknowledged; a peer that writes without reading gets a reset. */
#define ECHO_BACKLOG_MAX (64 * 1024)

/* ------------------------------------------------------------ responder */

typedef struct echo {
    uint8_t buf[AL__PING_LEN];
    size_t have;
} echo;

static void echo_data(al__stream *s, const uint8_t *data, size_t len, void *ud)
{
    echo *e = ud;
    while (len) {
        size_t take = AL__PING_LEN - e->have;
        if (take > len)
            take = len;
        memcpy(e->buf + e->have, data, take);
        e->have += take;
        data += take;
        len -= take;
        if (e->have < AL__PING_LEN)
            break;
        e->have = 0;
        if (al__stream_unacked(s) > ECHO_BACKLOG_MAX ||
            al__stream_write(s, e->buf, AL__PING_LEN)) {
            al__stream_reset(s);
            return;
        }
    }
}

static void echo_fin(al__stream *s, void *ud)
{
    echo *e = ud;
    if (e->have)
        al__stream_write(s, e->buf, e->have);
    e->have = 0;
    al__stream_finish(s);
}

static void echo_close(al__stream *s, int status, void *ud)
{
    (void)s;
    (void)status;
    free(ud);
}

static const al__stream_ops echo_ops = {echo_data, echo_fin, echo_close};

static void serve(al__stream *s, void *ud)
{
    (void)ud;
    echo *e = calloc(1, sizeof(*e));
    if (!e) {
        al__stream_reset(s);
        return;
    }
    al__stream_set_ops(s, &echo_ops, e);
}

int al__ping_init(al__swarm *sw)
{
    return al__swarm_handle(sw, AL__PING_PROTOCOL, serve, NULL);
}

/* ------------------------------------------------------------ initiator */

typedef struct ping {
    al_node *node;
    al__stream *s;
    al_ping_cb cb;
    void *ud;
    al__timer timeout;
    uint8_t sent[AL__PING_LEN];
    uint8_t got[AL__PING_LEN];
    size_t have;
    uint64_t t0;
    bool done; /* cb has run */
} ping;

static void ping_done(ping *p, int status, uint64_t rtt_us)
{
    if (p->done)
        return;
    p->done = true;
    if (al__timer_armed(&p->timeout))
        al__timer_stop(&p->node->timers, &p->timeout);
    p->cb(status, rtt_us, p->ud);
}

static void ping_data(al__stream *s, const uint8_t *data, size_t len, void *ud)
{
    ping *p = ud;
    if (p->done)
        return;
    if (p->have + len > AL__PING_LEN) {
        ping_done(p, AL_EPROTO, 0);
        al__stream_reset(s);
        return;
    }
    memcpy(p->got + p->have, data, len);
    p->have += len;
    if (p->have < AL__PING_LEN)
        return;
    uint64_t rtt = (uv_hrtime() - p->t0) / 1000;
    bool same = memcmp(p->got, p->sent, AL__PING_LEN) == 0;
    ping_done(p, same ? 0 : AL_EPROTO, same ? rtt : 0);
    al__stream_finish(s);
}

static void ping_fin(al__stream *s, void *ud)
{
    ping *p = ud;
    if (!p->done) {
        ping_done(p, AL_EPROTO, 0);
        al__stream_reset(s);
    }
}

static void ping_close(al__stream *s, int status, void *ud)
{
    (void)s;
    ping *p = ud;
    ping_done(p, status ? status : AL_EPROTO, 0);
    free(p);
}

static const al__stream_ops ping_ops = {ping_data, ping_fin, ping_close};

static void ping_timeout(al__timer *t)
{
    ping *p = (ping *)((char *)t - offsetof(ping, timeout));
    ping_done(p, AL_E_NETWORK_TIMEOUT, 0);
    if (p->s)
        al__stream_reset(p->s);
}

static void ping_open(int status, al__stream *s, void *ud)
{
    ping *p = ud;
    if (status) {
        ping_done(p, status, 0);
        free(p);
        return;
    }
    p->s = s;
    al__stream_set_ops(s, &ping_ops, p);
    if (p->done) {
        al__stream_reset(s);
        return;
    }
    p->t0 = uv_hrtime();
    if (al__stream_write(s, p->sent, AL__PING_LEN)) {
        ping_done(p, AL_E_CONNECTION_CLOSED, 0);
        al__stream_reset(s);
    }
}

int al_swarm_ping(al_node *node, const al_peer_id *peer, al_ping_cb cb,
                  void *ud)
{
    al__swarm *sw;
    int rc = al__swarm_enter(node, &sw);
    if (rc)
        return rc;
    if (!cb || !peer)
        return AL_EINVAL;
    ping *p = calloc(1, sizeof(*p));
    if (!p)
        return AL_ENOMEM;
    p->node = node;
    p->cb = cb;
    p->ud = ud;
    gnutls_rnd(GNUTLS_RND_NONCE, p->sent, sizeof(p->sent));
    rc = al__swarm_open_stream(sw, peer, AL__PING_PROTOCOL, ping_open, p);
    if (rc) {
        free(p);
        return rc;
    }
    al__timer_start(&node->timers, &p->timeout,
                    al__now(node) + AL__PING_TIMEOUT_MS, ping_timeout);
    return 0;
}
