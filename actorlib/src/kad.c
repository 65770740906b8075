/* Kademlia on the swarm: kad_core.c's engine bound to libp2p streams on
 * /ipfs/kad/1.0.0 and to the node's timers (see kad.h).
 *
 * Outbound request: one stream per request, as rust-libp2p does: the
 * framed request, FIN, then one framed answer is read. Inbound stream: any
 * number of requests until the peer's FIN, each answered as soon as it is
 * complete; a malformed or refused request resets the stream.
 *
 * Shutdown: the node's closer frees the engine (operations end with
 * AL_ECANCELED) and resets every stream. Requests and streams whose swarm
 * callbacks are still to come are orphaned: they free themselves when the
 * swarm calls them, without touching the instance. The instance itself
 * (its connection watch is in the swarm's list) is freed by the swarm's
 * shutdown, al__kad_free. */
#include "kad.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kad_core.h"
#include "kadmsg.h"
#include "multiaddr.h"
#include "node.h"
#include "varint.h"

#define KAD_PROTOCOL "/ipfs/kad/1.0.0"
/* Inbound kad streams served at once (rust allows 32 per connection). */
#define MAX_INBOUND 256
/* An inbound stream with no complete request for this long is reset (as
 * js-libp2p's incomingMessageTimeout). */
#define INBOUND_IDLE_MS 10000
/* After its answer, an outbound stream gets this long to close cleanly. */
#define LINGER_MS 5000
#define RX_MAX    (AL__KAD_MAX_PACKET + AL__UVARINT_MAX)

typedef struct outreq outreq;
typedef struct inreq inreq;

struct al__kad {
    al_node *node;
    al__swarm *sw;
    al__kad_core *core;
    al__conn_watch watch;
    al__timer timer; /* the engine's next deadline */
    bool server, handling;
    /* Calls into the engine in progress: a callback run from one may stop
     * the node, which then frees the instance on the way out. */
    unsigned busy;
    bool dead;
    bool auto_booted;
    uint64_t auto_boot_at;
    outreq *out;
    inreq *in;
    size_t n_in;
};

/* One request we sent. kad is NULL once orphaned by shutdown. */
struct outreq {
    outreq *next;
    al__kad *kad;
    uint64_t id;
    al__stream *s; /* NULL while the swarm opens it */
    uint8_t *frame;
    size_t flen;
    al_buf rx;
    al__timer linger;
    int fail; /* why we reset the stream, for on_close */
    bool answered, cancelled;
};

/* One inbound stream being served. */
struct inreq {
    inreq *next;
    al__kad *kad;
    al__stream *s;
    al_peer_id peer;
    al_buf rx;
    al__timer idle;
};

static uint64_t now_of(const al__kad *k)
{
    return al__now(k->node);
}

static bool alive(const al__kad *k)
{
    return k && k->core && !k->dead;
}

static void enter(al__kad *k)
{
    k->busy++;
}

static void rearm(al__kad *k);
static void teardown(al__kad *k);

/* Re-arms the timer; false when the instance is gone. */
static bool leave(al__kad *k)
{
    if (--k->busy == 0 && k->dead && k->core) {
        teardown(k);
        return false;
    }
    if (k->dead)
        return false;
    rearm(k);
    return true;
}

/* ------------------------------------------------------------ timer */

static void on_timer(al__timer *t);

static void rearm(al__kad *k)
{
    if (!alive(k))
        return;
    uint64_t d = al__kad_core_next_deadline(k->core);
    if (d == UINT64_MAX) {
        al__timer_stop(&k->node->timers, &k->timer);
        return;
    }
    uint64_t now = now_of(k);
    al__timer_start(&k->node->timers, &k->timer, d < now ? now : d, on_timer);
}

static void on_timer(al__timer *t)
{
    al__kad *k = (al__kad *)((char *)t - offsetof(al__kad, timer));
    if (!alive(k))
        return;
    enter(k);
    al__kad_core_tick(k->core, now_of(k));
    leave(k);
}

/* ------------------------------------------------------------ outbound */

static void unlink_out(outreq *o)
{
    if (!o->kad)
        return;
    for (outreq **p = &o->kad->out; *p; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            break;
        }
    al__timer_stop(&o->kad->node->timers, &o->linger);
}

static void free_out(outreq *o)
{
    unlink_out(o);
    free(o->frame);
    al_buf_free(&o->rx);
    free(o);
}

static void report_failure(outreq *o, int status)
{
    al__kad *k = o->kad;
    if (!k || o->answered || o->cancelled)
        return;
    o->answered = true; /* reported: nothing more goes to the engine */
    enter(k);
    al__kad_core_on_failure(k->core, o->id, status, now_of(k));
    leave(k);
}

static void on_linger(al__timer *t)
{
    outreq *o = (outreq *)((char *)t - offsetof(outreq, linger));
    if (o->s)
        al__stream_reset(o->s);
}

/* The address the peer answered at, for the routing table: only the
 * dialed address of an outbound connection (an inbound connection's
 * remote address may be a port the peer does not listen on). */
static void seen_address(al__stream *s, al__kad_addrs *out)
{
    al__conn *c = al__stream_conn(s);
    uint8_t buf[AL__MADDR_MAX_BYTES];
    if (!c || !al__conn_outbound(c))
        return;
    size_t n = al__conn_remote_maddr(c, buf, sizeof(buf));
    if (n > 0 && n <= sizeof(buf))
        al__kad_addrs_add(out, buf, n);
}

static void out_data(al__stream *s, const uint8_t *data, size_t len, void *ud)
{
    outreq *o = ud;
    if (!o->kad || o->answered || o->cancelled)
        return;
    /* Errors reset the stream; out_close reports o->fail. */
    if (o->rx.len + len > RX_MAX || al_buf_append(&o->rx, data, len)) {
        o->fail = AL_ELIMIT;
        al__stream_reset(s);
        return;
    }
    uint64_t body;
    int n = al__uvarint_decode(o->rx.data, o->rx.len, &body);
    if (n < 0 || (n > 0 && body > AL__KAD_MAX_PACKET)) {
        o->fail = n < 0 ? AL_EDECODE : AL_ELIMIT;
        al__stream_reset(s);
        return;
    }
    if (n == 0 || o->rx.len - (size_t)n < body)
        return;
    al__kad *k = o->kad;
    al__kad_addrs seen = {0};
    seen_address(s, &seen);
    o->answered = true;
    al__timer_start(&k->node->timers, &o->linger, now_of(k) + LINGER_MS,
                    on_linger);
    /* Last use of o: callbacks run from here may stop the node, which
     * orphans o (and may free it). */
    enter(k);
    al__kad_core_on_response(k->core, o->id, o->rx.data, (size_t)n + body,
                             &seen, now_of(k));
    al__kad_addrs_free(&seen);
    leave(k);
}

static void out_fin(al__stream *s, void *ud)
{
    (void)s;
    report_failure(ud, AL_EPROTO); /* no-op once answered */
}

static void out_close(al__stream *s, int status, void *ud)
{
    outreq *o = ud;
    (void)s;
    o->s = NULL;
    report_failure(o, o->fail ? o->fail : status ? status : AL_EPROTO);
    free_out(o);
}

static const al__stream_ops out_ops = {out_data, out_fin, out_close};

static void on_open(int status, al__stream *s, void *ud)
{
    outreq *o = ud;
    if (status || !s) {
        report_failure(o, status ? status : AL_E_DIAL_FAILURE);
        free_out(o);
        return;
    }
    o->s = s;
    al__stream_set_ops(s, &out_ops, o);
    if (!o->kad || o->cancelled) {
        al__stream_reset(s);
        return;
    }
    int rc = al__stream_write(s, o->frame, o->flen);
    if (rc == 0)
        rc = al__stream_finish(s);
    free(o->frame);
    o->frame = NULL;
    if (rc) {
        o->fail = rc;
        al__stream_reset(s);
    }
}

static int io_send(void *ud, uint64_t id, const al_peer_id *peer,
                   const al__kad_addrs *addrs, const uint8_t *frame, size_t len)
{
    al__kad *k = ud;
    if (k->dead)
        return AL_ECANCELED;
    outreq *o = calloc(1, sizeof(*o));
    if (!o || !(o->frame = malloc(len))) {
        free(o);
        return AL_ENOMEM;
    }
    memcpy(o->frame, frame, len);
    o->flen = len;
    o->kad = k;
    o->id = id;
    for (size_t i = 0; i < addrs->n; i++)
        al__swarm_add_address(k->sw, peer, addrs->data[i], addrs->len[i]);
    int rc = al__swarm_open_stream(k->sw, peer, KAD_PROTOCOL, on_open, o);
    if (rc) {
        free(o->frame);
        free(o);
        return rc;
    }
    o->next = k->out;
    k->out = o;
    return 0;
}

static void io_cancel(void *ud, uint64_t id)
{
    al__kad *k = ud;
    for (outreq *o = k->out; o; o = o->next)
        if (o->id == id) {
            o->cancelled = true;
            /* A stream still being opened is reset in on_open. */
            if (o->s)
                al__stream_reset(o->s);
            return;
        }
}

/* ------------------------------------------------------------ inbound */

static void free_in(inreq *r)
{
    al__kad *k = r->kad;
    if (k) {
        for (inreq **p = &k->in; *p; p = &(*p)->next)
            if (*p == r) {
                *p = r->next;
                break;
            }
        k->n_in--;
        al__timer_stop(&k->node->timers, &r->idle);
    }
    al_buf_free(&r->rx);
    free(r);
}

static void on_idle(al__timer *t)
{
    inreq *r = (inreq *)((char *)t - offsetof(inreq, idle));
    al__stream_reset(r->s);
}

static void in_data(al__stream *s, const uint8_t *data, size_t len, void *ud)
{
    inreq *r = ud;
    al__kad *k = r->kad;
    if (!alive(k))
        return;
    if (r->rx.len + len > RX_MAX || al_buf_append(&r->rx, data, len)) {
        al__stream_reset(s);
        return;
    }
    al_buf out = {0};
    size_t used = 0;
    al_error err = {0};
    uint64_t now = now_of(k);
    int rc = al__kad_core_serve(k->core, &r->peer, r->rx.data, r->rx.len, &used,
                                &out, now, &err);
    if (rc == 0 && out.len)
        rc = al__stream_write(s, out.data, out.len);
    al_buf_free(&out);
    if (rc) {
        al_log(AL_LOG_DEBUG, "kad: inbound request refused: %s", err.msg);
        al__stream_reset(s);
        return;
    }
    if (used) {
        memmove(r->rx.data, r->rx.data + used, r->rx.len - used);
        r->rx.len -= used;
        al__timer_start(&k->node->timers, &r->idle, now + INBOUND_IDLE_MS,
                        on_idle);
    }
    rearm(k); /* a PUT may have changed the store's deadlines */
}

static void in_fin(al__stream *s, void *ud)
{
    (void)ud;
    al__stream_finish(s);
}

static void in_close(al__stream *s, int status, void *ud)
{
    (void)s;
    (void)status;
    free_in(ud);
}

static const al__stream_ops in_ops = {in_data, in_fin, in_close};

static void on_inbound(al__stream *s, void *ud)
{
    al__kad *k = ud;
    inreq *r;
    /* Client mode cannot take the protocol back from the swarm once it was
     * offered: refuse the stream instead. */
    if (!alive(k) || !k->server || k->n_in >= MAX_INBOUND ||
        !(r = calloc(1, sizeof(*r)))) {
        al__stream_reset(s);
        return;
    }
    r->kad = k;
    r->s = s;
    r->peer = *al__stream_peer(s);
    r->next = k->in;
    k->in = r;
    k->n_in++;
    al__stream_set_ops(s, &in_ops, r);
    al__timer_start(&k->node->timers, &r->idle, now_of(k) + INBOUND_IDLE_MS,
                    on_idle);
}

/* ------------------------------------------------------------ watch */

static void on_connected(al__conn *c, void *ud)
{
    al__kad *k = ud;
    if (alive(k))
        al__kad_core_peer_connected(k->core, al__conn_peer(c), true);
}

static void on_disconnected(const al_peer_id *peer, int reason, void *ud)
{
    al__kad *k = ud;
    (void)reason;
    if (alive(k))
        al__kad_core_peer_connected(k->core, peer, false);
}

/* ------------------------------------------------------------ lifecycle */

/* Detaches every request and stream (they free themselves when the swarm
 * calls them back) and resets the streams. */
static void orphan_all(al__kad *k)
{
    while (k->out) {
        outreq *o = k->out;
        k->out = o->next;
        al__timer_stop(&k->node->timers, &o->linger);
        o->kad = NULL;
        if (o->s)
            al__stream_reset(o->s);
    }
    while (k->in) {
        inreq *r = k->in;
        k->in = r->next;
        al__timer_stop(&k->node->timers, &r->idle);
        r->kad = NULL;
        al__stream_reset(r->s);
    }
    k->n_in = 0;
}

/* Ends everything but the memory of the instance: the swarm's watch list
 * still points into it until the swarm is gone (al__kad_free). */
static void teardown(al__kad *k)
{
    al__kad_core *core = k->core;
    k->core = NULL;
    orphan_all(k);
    /* Operations still running end with AL_ECANCELED here. */
    al__kad_core_free(core);
}

static void kad_stop(al_node *node, void *ud)
{
    al__kad *k = ud;
    if (!k->dead) {
        k->dead = true;
        al__timer_stop(&node->timers, &k->timer);
        if (k->busy)
            orphan_all(k); /* the engine is on the stack: leave() ends it */
        else
            teardown(k);
    }
    al__node_closer_done(node);
}

void al__kad_free(al__kad *kad)
{
    if (!kad)
        return;
    if (kad->node->kad == kad)
        kad->node->kad = NULL;
    if (kad->core) {
        al__timer_stop(&kad->node->timers, &kad->timer);
        kad->dead = true;
        teardown(kad);
    }
    free(kad);
}

int al__kad_init(al__swarm *sw, al__kad **out)
{
    *out = NULL;
    al_node *node = al__swarm_node(sw);
    al__kad *k = calloc(1, sizeof(*k));
    if (!k)
        return AL_ENOMEM;
    k->node = node;
    k->sw = sw;
    al__kad_io io = {io_send, io_cancel, NULL, k};
    int rc = al__kad_core_new(al__swarm_local_peer(sw), NULL, &io, now_of(k),
                              &k->core);
    if (rc == 0)
        rc = al__node_add_closer(node, kad_stop, k);
    if (rc) {
        al__kad_core_free(k->core);
        free(k);
        return rc;
    }
    k->watch.on_connected = on_connected;
    k->watch.on_disconnected = on_disconnected;
    k->watch.ud = k;
    al__swarm_watch(sw, &k->watch);
    node->kad = k;
    rearm(k);
    *out = k;
    return 0;
}

al__kad *al__kad_of(al_node *node)
{
    al__kad *k = node ? node->kad : NULL;
    return k && !k->dead ? k : NULL;
}

void al__kad_set_server_mode(al__kad *kad, bool server)
{
    if (!kad)
        return;
    kad->server = server;
    /* The protocol is offered (and advertised by identify) only from the
     * first switch to server mode: a client answers "na", as rust's. */
    if (server && !kad->handling &&
        al__swarm_handle(kad->sw, KAD_PROTOCOL, on_inbound, kad) == 0)
        kad->handling = true;
}

bool al__kad_server_mode(const al__kad *kad)
{
    return kad && kad->server;
}

/* ------------------------------------------------------------ API */

/* rust-libp2p's Kademlia bootstraps by itself when its routing table gains
 * a peer while it is small; so does this one, at most every
 * AUTO_BOOTSTRAP_MS: a node told of one peer soon knows the others and
 * where they are, which is what dialing an actor's node needs. */
#define AUTO_BOOTSTRAP_MS 5000

static void auto_bootstrap(al__kad *kad)
{
    uint64_t now = now_of(kad);
    if (kad->auto_booted && now < kad->auto_boot_at + AUTO_BOOTSTRAP_MS)
        return;
    if (al__kad_core_table(kad->core)->size >= AL__KAD_K)
        return;
    kad->auto_booted = true;
    kad->auto_boot_at = now;
    al__kad_core_bootstrap(kad->core, now, NULL, NULL);
}

int al__kad_add_address(al__kad *kad, const al_peer_id *peer,
                        const uint8_t *maddr, size_t len)
{
    if (!alive(kad) || !peer || !maddr)
        return AL_EINVAL;
    int rc = al__kad_core_add_address(kad->core, peer, maddr, len, now_of(kad));
    if (rc < 0)
        return rc;
    al__swarm_add_address(kad->sw, peer, maddr, len);
    auto_bootstrap(kad);
    rearm(kad);
    return rc == AL__KAD_FULL ? AL_ELIMIT : 0;
}

void al__kad_peer_protocols(al__kad *kad, const al_peer_id *peer,
                            const char *const *protocols, size_t n,
                            const uint8_t *const *maddrs, const size_t *lens,
                            size_t naddrs)
{
    if (!alive(kad) || !peer)
        return;
    bool serves = false;
    for (size_t i = 0; i < n && !serves; i++)
        serves = protocols[i] && !strcmp(protocols[i], KAD_PROTOCOL);
    al__kad_core_peer_kad(kad->core, peer, serves, maddrs, lens, naddrs,
                          now_of(kad));
    if (serves)
        auto_bootstrap(kad);
    rearm(kad);
}

int al__kad_bootstrap(al__kad *kad, al__kad_done_cb cb, void *ud)
{
    if (!alive(kad))
        return AL_ESTATE;
    int rc = al__kad_core_bootstrap(kad->core, now_of(kad), cb, ud);
    rearm(kad);
    return rc;
}

typedef struct find_peer {
    al_peer_id peer;
    al__kad_done_cb cb;
    void *ud;
} find_peer;

static void found_closest(int status, const al_peer_id *peers, size_t n,
                          void *ud)
{
    find_peer *f = ud;
    int rc = status ? status : AL_ENOTFOUND;
    for (size_t i = 0; status == 0 && i < n; i++)
        if (al_peer_id_equal(&peers[i], &f->peer))
            rc = 0;
    f->cb(rc, f->ud);
    free(f);
}

int al__kad_find_peer(al__kad *kad, const al_peer_id *peer, al__kad_done_cb cb,
                      void *ud)
{
    if (!alive(kad))
        return AL_ESTATE;
    if (!peer || !cb)
        return AL_EINVAL;
    find_peer *f = malloc(sizeof(*f));
    if (!f)
        return AL_ENOMEM;
    f->peer = *peer;
    f->cb = cb;
    f->ud = ud;
    int rc = al__kad_core_find_closest(kad->core, peer->bytes, peer->len,
                                       now_of(kad), found_closest, f);
    if (rc)
        free(f);
    rearm(kad);
    return rc;
}

int al__kad_put(al__kad *kad, const uint8_t *key, size_t klen,
                const uint8_t *value, size_t vlen, al__kad_done_cb cb, void *ud)
{
    if (!alive(kad))
        return AL_ESTATE;
    bool network = al__swarm_num_connected(kad->sw) > 0;
    int rc = al__kad_core_put(kad->core, key, klen, value, vlen, network,
                              now_of(kad), cb, ud);
    rearm(kad);
    return rc;
}

int al__kad_get(al__kad *kad, const uint8_t *key, size_t klen,
                al__kad_get_cb cb, void *ud)
{
    if (!alive(kad))
        return AL_ESTATE;
    int rc = al__kad_core_get(kad->core, key, klen, now_of(kad), cb, ud);
    rearm(kad);
    return rc;
}

int al__kad_remove_local(al__kad *kad, const uint8_t *key, size_t klen)
{
    if (!alive(kad))
        return AL_ESTATE;
    return al__kad_store_remove(al__kad_core_store(kad->core), key, klen)
               ? 0
               : AL_ENOTFOUND;
}

size_t al__kad_routing_size(al__kad *kad)
{
    return alive(kad) ? al__kad_core_table(kad->core)->size : 0;
}

size_t al__kad_store_size(al__kad *kad)
{
    return alive(kad) ? al__kad_core_store(kad->core)->count : 0;
}

struct al__kad_core *al__kad_core_of(al__kad *kad)
{
    return kad ? kad->core : NULL;
}
