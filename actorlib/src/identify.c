/* /ipfs/id/1.0.0 (identify.h): one framed Identify message per stream,
 * written by the responder, which then finishes the stream. */
#include "identify.h"

#include <stdlib.h>
#include <string.h>

#include "identify_msg.h"
#include "kad.h"
#include "multiaddr.h"
#include "peerid.h"

#define LISTEN_MAX 16
#define PROTO_MAX  64

/* ------------------------------------------------------------ responder */

static void drop_data(al__stream *s, const uint8_t *data, size_t len, void *ud)
{
    (void)s;
    (void)data;
    (void)len;
    (void)ud;
}

static void serve_fin(al__stream *s, void *ud)
{
    (void)s;
    (void)ud;
}

static void serve_close(al__stream *s, int status, void *ud)
{
    (void)s;
    (void)status;
    (void)ud;
}

static const al__stream_ops serve_ops = {drop_data, serve_fin, serve_close};

/* Builds our Identify for the peer at the other end of s. */
static int build(al__swarm *sw, al__stream *s, al_buf *out)
{
    Identify__Identify m = IDENTIFY__IDENTIFY__INIT;
    size_t keylen;
    const uint8_t *key = al__swarm_pubkey_proto(sw, &keylen);
    m.has_publickey = 1;
    m.publickey.data = (uint8_t *)key;
    m.publickey.len = keylen;

    struct sockaddr_storage sas[LISTEN_MAX];
    uint8_t bins[LISTEN_MAX][AL__MADDR_MAX_BYTES];
    ProtobufCBinaryData addrs[LISTEN_MAX];
    size_t n = al__swarm_listen_sockaddrs(sw, sas, LISTEN_MAX), na = 0;
    for (size_t i = 0; i < n; i++) {
        int len =
            al__maddr_sockaddr_bytes((const struct sockaddr *)&sas[i], NULL,
                                     bins[na], sizeof(bins[na]), NULL);
        if (len > 0) {
            addrs[na].data = bins[na];
            addrs[na].len = (size_t)len;
            na++;
        }
    }
    m.n_listenaddrs = na;
    m.listenaddrs = addrs;

    const char *protos[PROTO_MAX];
    m.n_protocols = al__swarm_protocols(sw, protos, PROTO_MAX);
    m.protocols = (char **)protos;

    uint8_t observed[AL__MADDR_MAX_BYTES];
    size_t olen =
        al__conn_remote_maddr(al__stream_conn(s), observed, sizeof(observed));
    if (olen) {
        m.has_observedaddr = 1;
        m.observedaddr.data = observed;
        m.observedaddr.len = olen;
    }
    m.protocolversion = (char *)AL__IDENTIFY_PROTOCOL_VERSION;
    m.agentversion = (char *)al__swarm_agent(sw);
    return al__identify_encode(&m, out, NULL);
}

static void serve(al__stream *s, void *ud)
{
    al__swarm *sw = ud;
    al_buf out = {0};
    al__stream_set_ops(s, &serve_ops, NULL);
    if (build(sw, s, &out) || al__stream_write(s, out.data, out.len) ||
        al__stream_finish(s))
        al__stream_reset(s);
    al_buf_free(&out);
}

/* ------------------------------------------------------------ requester */

typedef struct request {
    al__swarm *sw;
    al_peer_id peer;
    al_buf in;
} request;

static void req_data(al__stream *s, const uint8_t *data, size_t len, void *ud)
{
    request *r = ud;
    /* The length prefix takes at most two bytes at this size. */
    if (r->in.len + len > AL__IDENTIFY_RECV_MAX + 2 ||
        al_buf_append(&r->in, data, len))
        al__stream_reset(s);
}

static void record(request *r, const Identify__Identify *m)
{
    al__swarm *sw = r->sw;
    /* The key must be the one the TLS handshake proved. */
    al_peer_id said;
    if (al__peer_id_from_pubkey_proto(m->publickey.data, m->publickey.len,
                                      &said) ||
        !al_peer_id_equal(&said, &r->peer)) {
        al_log(AL_LOG_WARN, "identify: the peer's public key does not match "
                            "its peer id; ignored");
        return;
    }
    for (size_t i = 0; i < m->n_listenaddrs; i++)
        al__swarm_add_address(sw, &r->peer, m->listenaddrs[i].data,
                              m->listenaddrs[i].len);
    al__swarm_peer_identified(sw, &r->peer, m->agentversion,
                              (const char *const *)m->protocols,
                              m->n_protocols);
    /* Kademlia takes identified servers into its routing table. */
    const uint8_t *addrs[16];
    size_t lens[16], na = 0;
    for (size_t i = 0; i < m->n_listenaddrs && na < 16; i++, na++) {
        addrs[na] = m->listenaddrs[i].data;
        lens[na] = m->listenaddrs[i].len;
    }
    al__kad_peer_protocols(al__kad_of(al__swarm_node(sw)), &r->peer,
                           (const char *const *)m->protocols, m->n_protocols,
                           addrs, lens, na);
}

static void req_fin(al__stream *s, void *ud)
{
    request *r = ud;
    Identify__Identify *m = NULL;
    al_error err = {0};
    int n = al__identify_decode(r->in.data, r->in.len, &m, &err);
    if (n <= 0 || (size_t)n != r->in.len) {
        al_log(AL_LOG_INFO, "identify: bad answer: %s",
               n == 0 ? "truncated" : err.msg);
        if (m)
            al__identify_free(m);
        al__stream_reset(s);
        return;
    }
    record(r, m);
    al__identify_free(m);
}

static void req_close(al__stream *s, int status, void *ud)
{
    (void)s;
    (void)status;
    request *r = ud;
    al_buf_free(&r->in);
    free(r);
}

static const al__stream_ops req_ops = {req_data, req_fin, req_close};

static void req_open(int status, al__stream *s, void *ud)
{
    request *r = ud;
    if (status) {
        free(r);
        return;
    }
    al__stream_set_ops(s, &req_ops, r);
    /* We send nothing but the proposal. */
    al__stream_finish(s);
}

static void on_connected(al__conn *c, void *ud)
{
    al__swarm *sw = ud;
    request *r = calloc(1, sizeof(*r));
    if (!r)
        return;
    r->sw = sw;
    r->peer = *al__conn_peer(c);
    if (al__swarm_open_stream(sw, &r->peer, AL__IDENTIFY_PROTOCOL, req_open, r))
        free(r);
}

int al__identify_init(al__swarm *sw, al__conn_watch *w)
{
    int rc = al__swarm_handle(sw, AL__IDENTIFY_PROTOCOL, serve, sw);
    if (rc)
        return rc;
    memset(w, 0, sizeof(*w));
    w->on_connected = on_connected;
    w->ud = sw;
    al__swarm_watch(sw, w);
    return 0;
}
