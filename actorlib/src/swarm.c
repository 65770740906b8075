/* The swarm (swarm.h and the al_swarm_* API): peers and their connections,
 * dials, the address book, libp2p streams negotiated with
 * multistream-select over the QUIC transport, protocol handlers, events. */
#include "swarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "identify.h"
#include "identity.h"
#include "kad.h"
#include "mss.h"
#include "multiaddr.h"
#include "node.h"
#include "peerid.h"
#include "ping.h"
#include "quic.h"
#include "remote.h"
#include "timer.h"

#define MAX_HANDLERS    64
#define MAX_INTERNED    64
#define MAX_ADDRS       16 /* per peer in the address book */
#define MAX_PEERS       8192
#define PEER_BUCKETS    1024
#define MAX_LISTENERS   16
#define MAX_PEER_PROTOS 64
#define POOL_STREAMS    1024
#define POOL_MSS        256
#define POOL_JOBS       1024
#define MADDR_BIN_MAX   64 /* an IP QUIC address without /p2p fits */
#define DEFAULT_AGENT   "actorlib/" AL_VERSION
#define AGENT_MAX       64

typedef struct handler {
    const char *name;
    size_t len;
    al__inbound_fn fn;
    void *ud;
} handler;

typedef struct dial dial;

typedef struct peer_t {
    al_peer_id id;
    struct peer_t *hnext;
    al__conn *conns; /* ready connections, oldest first */
    size_t nconns;
    uint8_t *addrs[MAX_ADDRS];
    uint16_t alen[MAX_ADDRS];
    size_t naddrs;
    char agent[AGENT_MAX];
    char **protocols;
    size_t nprotocols;
    dial *dial;
} peer_t;

struct al__conn {
    al__swarm *sw;
    al__qconn *q;
    peer_t *peer;
    al__conn *pnext;
    dial *dial; /* the dial that made it, until it is ready or gone */
    bool outbound, ready;
    uint64_t connected_at_ms;
    size_t nstreams;
    al__timer idle;
    uint8_t maddr[MADDR_BIN_MAX];
    size_t maddr_len;
    char text[128];
};

enum stflag {
    ST_OUTBOUND = 1,
    ST_NEGOTIATED = 2,
    ST_CLOSED = 4, /* on_close delivered (or never due) */
    ST_APP = 8,    /* the protocol module holds it */
    ST_FINISHED = 16,
    ST_RESET = 32, /* al__stream_reset: nothing more reaches the module
                      but on_close */
};

struct al__stream {
    al__swarm *sw;
    al__qstream *q;
    al__conn *conn;
    const al__stream_ops *ops;
    void *ud;
    al__mss *mss;
    const char *proto;
    const char *protos[1];
    unsigned flags;
    al__stream *next; /* free list */
};

enum wkind { W_DIAL, W_OPEN };

typedef struct waiter {
    struct waiter *next;
    enum wkind kind;
    al_dial_cb dial_cb;
    al__open_cb open_cb;
    const char *proto;
    void *ud;
} waiter;

struct dial {
    al__swarm *sw;
    al_peer_id peer;
    bool has_peer;
    uint8_t *addrs[MAX_ADDRS];
    uint16_t alen[MAX_ADDRS];
    size_t naddrs, next_addr;
    al__conn *attempt;
    uv_getaddrinfo_t gai;
    bool resolving, start_queued, finished;
    uint16_t port; /* of the address being resolved */
    waiter *waiters;
    int status;
    char detail[AL_ERROR_MSG];
    dial *next, *prev;
};

enum jkind { J_OPEN, J_DIAL_DONE, J_DIAL_START, J_LISTENING };

typedef struct job {
    struct job *next;
    enum jkind kind;
    int status;
    al_peer_id peer;
    const char *proto;
    al__open_cb open_cb;
    al_dial_cb dial_cb;
    void *ud;
    size_t index;
    dial *dial;
} job;

struct al__swarm {
    al_node *node;
    al_identity *id;
    al_peer_id local;
    uint8_t pubkey[AL__ED25519_PUBKEY_PROTO_LEN];
    al_swarm_opts opts;
    char agent[AGENT_MAX];
    al__quic *quic;
    bool stopping;
    handler handlers[MAX_HANDLERS];
    size_t nhandlers;
    char *interned[MAX_INTERNED];
    size_t ninterned;
    peer_t *buckets[PEER_BUCKETS];
    size_t npeers;
    size_t nconnected;
    struct sockaddr_storage listeners[MAX_LISTENERS];
    size_t nlisteners;
    dial *dials;
    job *jobs_head, *jobs_tail;
    job *free_jobs;
    size_t nfree_jobs;
    al__stream *free_streams;
    size_t nfree_streams;
    al__mss *free_mss[POOL_MSS];
    size_t nfree_mss;
    al__conn_watch *watches;
    al__conn_watch identify_watch;
    al_swarm_event_cb event_cb;
    void *event_ud;
    al_buf scratch;
};

/* ------------------------------------------------------------ basics */

al__swarm *al__swarm_of(al_node *node)
{
    return node ? node->swarm : NULL;
}

int al__swarm_enter(al_node *node, al__swarm **out)
{
    *out = NULL;
    if (!node)
        return AL_EINVAL;
    /* Before the loop runs, its future thread may set things up. */
    if (atomic_load_explicit(&node->loop_running, memory_order_acquire) &&
        !pthread_equal(pthread_self(), node->loop_thread))
        return AL_ESTATE;
    if (!node->swarm)
        return AL_E_SWARM_NOT_BOOTSTRAPPED;
    *out = node->swarm;
    return 0;
}

al_node *al__swarm_node(al__swarm *sw)
{
    return sw->node;
}

const al_peer_id *al__swarm_local_peer(al__swarm *sw)
{
    return &sw->local;
}

const al_swarm_opts *al__swarm_options(al__swarm *sw)
{
    return &sw->opts;
}

struct al__quic *al__swarm_quic(al__swarm *sw)
{
    return sw->quic;
}

const char *al__swarm_agent(al__swarm *sw)
{
    return sw->agent;
}

const uint8_t *al__swarm_pubkey_proto(al__swarm *sw, size_t *len)
{
    *len = sizeof(sw->pubkey);
    return sw->pubkey;
}

bool al__swarm_listening(al__swarm *sw)
{
    return sw->nlisteners > 0;
}

static void emit(al__swarm *sw, enum al_swarm_event_type type,
                 const al_peer_id *peer, const char *addr, bool outbound,
                 int reason, const char *agent)
{
    if (!sw->event_cb)
        return;
    al_swarm_event ev = {.type = type,
                         .peer = peer,
                         .addr = addr,
                         .outbound = outbound,
                         .reason = reason,
                         .agent = agent};
    sw->event_cb(&ev, sw->event_ud);
}

void al_swarm_on_event(al_node *node, al_swarm_event_cb cb, void *ud)
{
    al__swarm *sw;
    if (al__swarm_enter(node, &sw))
        return;
    sw->event_cb = cb;
    sw->event_ud = ud;
}

void al_swarm_local_peer_id(al_node *node, al_peer_id *out)
{
    al__swarm *sw = al__swarm_of(node);
    if (sw)
        *out = sw->local;
    else
        memset(out, 0, sizeof(*out));
}

/* ------------------------------------------------------------ jobs */

static job *job_new(al__swarm *sw, enum jkind kind)
{
    job *j = sw->free_jobs;
    if (j) {
        sw->free_jobs = j->next;
        sw->nfree_jobs--;
    } else {
        j = malloc(sizeof(*j));
        if (!j)
            return NULL;
    }
    memset(j, 0, sizeof(*j));
    j->kind = kind;
    return j;
}

static void job_free(al__swarm *sw, job *j)
{
    if (sw->nfree_jobs < POOL_JOBS) {
        j->next = sw->free_jobs;
        sw->free_jobs = j;
        sw->nfree_jobs++;
    } else {
        free(j);
    }
}

static void job_push(al__swarm *sw, job *j)
{
    j->next = NULL;
    if (sw->jobs_tail)
        sw->jobs_tail->next = j;
    else
        sw->jobs_head = j;
    sw->jobs_tail = j;
    al__quic_schedule(sw->quic);
}

/* ------------------------------------------------------------ pools */

static al__stream *stream_alloc(al__swarm *sw)
{
    al__stream *s = sw->free_streams;
    if (s) {
        sw->free_streams = s->next;
        sw->nfree_streams--;
    } else {
        s = malloc(sizeof(*s));
        if (!s)
            return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->sw = sw;
    return s;
}

static al__mss *mss_get(al__swarm *sw)
{
    if (sw->nfree_mss)
        return sw->free_mss[--sw->nfree_mss];
    return malloc(sizeof(al__mss));
}

static void mss_put(al__swarm *sw, al__mss *m)
{
    if (!m)
        return;
    if (sw->nfree_mss < POOL_MSS)
        sw->free_mss[sw->nfree_mss++] = m;
    else
        free(m);
}

static void stream_release(al__swarm *sw, al__stream *s)
{
    mss_put(sw, s->mss);
    s->mss = NULL;
    if (sw->nfree_streams < POOL_STREAMS) {
        s->next = sw->free_streams;
        sw->free_streams = s;
        sw->nfree_streams++;
    } else {
        free(s);
    }
}

/* ------------------------------------------------------------ handlers */

static const handler *find_handler(al__swarm *sw, const char *name, size_t len)
{
    for (size_t i = 0; i < sw->nhandlers; i++)
        if (sw->handlers[i].len == len &&
            memcmp(sw->handlers[i].name, name, len) == 0)
            return &sw->handlers[i];
    return NULL;
}

static bool valid_protocol(const char *p, size_t *len)
{
    if (!p)
        return false;
    size_t n = strnlen(p, AL__MSS_PROTO_MAX + 1);
    *len = n;
    return n > 0 && n <= AL__MSS_PROTO_MAX && !memchr(p, '\n', n);
}

int al__swarm_handle(al__swarm *sw, const char *protocol, al__inbound_fn fn,
                     void *ud)
{
    size_t len;
    if (!fn || !valid_protocol(protocol, &len))
        return AL_EINVAL;
    if (find_handler(sw, protocol, len))
        return AL_EDUPLICATE;
    if (sw->nhandlers == MAX_HANDLERS)
        return AL_ELIMIT;
    sw->handlers[sw->nhandlers++] = (handler){protocol, len, fn, ud};
    return 0;
}

size_t al__swarm_protocols(al__swarm *sw, const char **out, size_t cap)
{
    size_t n = 0;
    for (; n < sw->nhandlers && n < cap; n++)
        out[n] = sw->handlers[n].name;
    return n;
}

/* Outbound protocol names live as long as the swarm: modules use a
 * handful of them, copied once. */
static const char *intern(al__swarm *sw, const char *proto, size_t len)
{
    const handler *h = find_handler(sw, proto, len);
    if (h)
        return h->name;
    for (size_t i = 0; i < sw->ninterned; i++)
        if (strcmp(sw->interned[i], proto) == 0)
            return sw->interned[i];
    if (sw->ninterned == MAX_INTERNED)
        return NULL;
    char *copy = strndup(proto, len);
    if (copy)
        sw->interned[sw->ninterned++] = copy;
    return copy;
}

static bool supported(const char *proto, size_t len, void *ud)
{
    return find_handler(ud, proto, len) != NULL;
}

/* ------------------------------------------------------------ peers */

static size_t peer_bucket(const al_peer_id *id)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < id->len; i++) {
        h ^= id->bytes[i];
        h *= 0x100000001b3ULL;
    }
    return (size_t)(h % PEER_BUCKETS);
}

static peer_t *peer_find(al__swarm *sw, const al_peer_id *id)
{
    for (peer_t *p = sw->buckets[peer_bucket(id)]; p; p = p->hnext)
        if (al_peer_id_equal(&p->id, id))
            return p;
    return NULL;
}

/* Connected peers are always admitted; the address book alone is
 * bounded by MAX_PEERS. */
static peer_t *peer_get(al__swarm *sw, const al_peer_id *id, bool force)
{
    peer_t *p = peer_find(sw, id);
    if (p)
        return p;
    if (sw->npeers >= MAX_PEERS && !force)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->id = *id;
    size_t b = peer_bucket(id);
    p->hnext = sw->buckets[b];
    sw->buckets[b] = p;
    sw->npeers++;
    return p;
}

static void peer_free_protocols(peer_t *p)
{
    for (size_t i = 0; i < p->nprotocols; i++)
        free(p->protocols[i]);
    free(p->protocols);
    p->protocols = NULL;
    p->nprotocols = 0;
}

static void peer_free(peer_t *p)
{
    for (size_t i = 0; i < p->naddrs; i++)
        free(p->addrs[i]);
    peer_free_protocols(p);
    free(p);
}

bool al__swarm_connected(al__swarm *sw, const al_peer_id *peer_id)
{
    peer_t *p = peer_find(sw, peer_id);
    return p && p->nconns > 0;
}

size_t al__swarm_num_connected(al__swarm *sw)
{
    return sw->nconnected;
}

/* Adds a binary address (no /p2p) at the front: newest first. */
static int addr_list_add(uint8_t **addrs, uint16_t *alen, size_t *n,
                         const uint8_t *b, size_t len)
{
    for (size_t i = 0; i < *n; i++) {
        if (alen[i] == len && memcmp(addrs[i], b, len) == 0) {
            uint8_t *a = addrs[i];
            memmove(addrs + 1, addrs, i * sizeof(*addrs));
            memmove(alen + 1, alen, i * sizeof(*alen));
            addrs[0] = a;
            alen[0] = (uint16_t)len;
            return 0;
        }
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        return AL_ENOMEM;
    memcpy(copy, b, len);
    if (*n == MAX_ADDRS)
        free(addrs[--*n]);
    memmove(addrs + 1, addrs, *n * sizeof(*addrs));
    memmove(alen + 1, alen, *n * sizeof(*alen));
    addrs[0] = copy;
    alen[0] = (uint16_t)len;
    (*n)++;
    return 0;
}

/* Checks a binary multiaddr for the address book: a QUIC address, whose
 * /p2p part (if any) names peer; writes it without /p2p into out. */
static int book_form(const al_peer_id *peer_id, const al__maddr *m,
                     uint8_t *out, size_t cap, al_error *err)
{
    al__quic_addr q;
    int rc = al__maddr_to_quic(m, &q, err);
    if (rc)
        return rc;
    if (q.has_peer && !al_peer_id_equal(&q.peer, peer_id))
        return al_error_set(err, AL_EINVAL, "the address names another peer");
    al__maddr plain = *m;
    if (q.has_peer)
        plain.n--;
    return al__maddr_encode(&plain, out, cap);
}

int al__swarm_add_address(al__swarm *sw, const al_peer_id *peer_id,
                          const uint8_t *maddr, size_t len)
{
    if (al_peer_id_equal(peer_id, &sw->local))
        return AL_EINVAL;
    al__maddr m;
    int rc = al__maddr_decode(&m, maddr, len, NULL);
    if (rc)
        return rc;
    uint8_t plain[AL__MADDR_MAX_BYTES];
    int n = book_form(peer_id, &m, plain, sizeof(plain), NULL);
    if (n < 0)
        return n;
    peer_t *p = peer_get(sw, peer_id, false);
    if (!p)
        return AL_ELIMIT;
    return addr_list_add(p->addrs, p->alen, &p->naddrs, plain, (size_t)n);
}

int al_swarm_add_peer_address(al_node *node, const al_peer_id *peer_id,
                              const char *multiaddr)
{
    al__swarm *sw;
    int rc = al__swarm_enter(node, &sw);
    if (rc)
        return rc;
    al__maddr m;
    rc = al__maddr_parse(&m, multiaddr, NULL);
    if (rc)
        return rc;
    al_peer_id named;
    al__maddr bare = m;
    if (al__maddr_peer(&m)) {
        named = *al__maddr_peer(&m);
        bare.n--; /* the book keeps addresses without /p2p/ */
        if (!peer_id)
            peer_id = &named;
        else if (!al_peer_id_equal(peer_id, &named))
            return AL_EPEERID;
    }
    if (!peer_id)
        return AL_EINVAL;
    uint8_t b[AL__MADDR_MAX_BYTES];
    int n = al__maddr_encode(&bare, b, sizeof(b));
    if (n < 0)
        return n;
    rc = al__swarm_add_address(sw, peer_id, b, (size_t)n);
    /* As libp2p's Swarm::add_peer_address: Kademlia learns it too. */
    al__kad *kad = al__kad_of(node);
    if (rc == 0 && kad)
        al__kad_add_address(kad, peer_id, b, (size_t)n);
    return rc;
}

void al__swarm_peer_identified(al__swarm *sw, const al_peer_id *peer_id,
                               const char *agent, const char *const *protocols,
                               size_t n)
{
    peer_t *p = peer_find(sw, peer_id);
    if (!p)
        return;
    snprintf(p->agent, sizeof(p->agent), "%s", agent ? agent : "");
    peer_free_protocols(p);
    if (n > MAX_PEER_PROTOS)
        n = MAX_PEER_PROTOS;
    p->protocols = calloc(n ? n : 1, sizeof(char *));
    if (p->protocols) {
        for (size_t i = 0; i < n; i++) {
            p->protocols[p->nprotocols] = strdup(protocols[i]);
            if (p->protocols[p->nprotocols])
                p->nprotocols++;
        }
    }
    emit(sw, AL_SWARM_IDENTIFIED, &p->id, p->conns ? p->conns->text : NULL,
         p->conns ? p->conns->outbound : false, 0, p->agent);
}

bool al__swarm_peer_supports(al__swarm *sw, const al_peer_id *peer_id,
                             const char *protocol)
{
    peer_t *p = peer_find(sw, peer_id);
    if (!p)
        return false;
    for (size_t i = 0; i < p->nprotocols; i++)
        if (strcmp(p->protocols[i], protocol) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------ conns */

const al_peer_id *al__conn_peer(const al__conn *c)
{
    return &c->peer->id;
}

bool al__conn_outbound(const al__conn *c)
{
    return c->outbound;
}

size_t al__conn_remote_maddr(const al__conn *c, uint8_t *out, size_t cap)
{
    if (c->maddr_len > cap)
        return 0;
    memcpy(out, c->maddr, c->maddr_len);
    return c->maddr_len;
}

static al__conn *conn_alloc(al__swarm *sw, bool outbound)
{
    al__conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->sw = sw;
    c->outbound = outbound;
    return c;
}

static void on_idle(al__timer *t)
{
    al__conn *c = (al__conn *)((char *)t - offsetof(al__conn, idle));
    if (c->nstreams == 0 && c->q)
        al__qconn_close(c->q);
}

static void conn_idle_check(al__conn *c)
{
    al__swarm *sw = c->sw;
    if (!c->ready || sw->stopping)
        return;
    if (c->nstreams == 0)
        al__timer_start(&sw->node->timers, &c->idle,
                        al__now(sw->node) + sw->opts.idle_timeout_ms, on_idle);
    else if (al__timer_armed(&c->idle))
        al__timer_stop(&sw->node->timers, &c->idle);
}

static al__conn *best_conn(al__swarm *sw, const al_peer_id *peer_id)
{
    peer_t *p = peer_find(sw, peer_id);
    return p ? p->conns : NULL;
}

/* ------------------------------------------------------------ streams */

void al__stream_set_ops(al__stream *s, const al__stream_ops *ops, void *ud)
{
    s->ops = ops;
    s->ud = ud;
}

int al__stream_write(al__stream *s, const uint8_t *data, size_t len)
{
    if (s->flags & (ST_CLOSED | ST_FINISHED | ST_RESET))
        return AL_ESTATE;
    if (len == 0)
        return 0;
    return al__qstream_write(s->q, data, len);
}

int al__stream_finish(al__stream *s)
{
    if (s->flags & (ST_CLOSED | ST_FINISHED | ST_RESET))
        return AL_ESTATE;
    s->flags |= ST_FINISHED;
    return al__qstream_finish(s->q);
}

void al__stream_reset(al__stream *s)
{
    if (s->flags & (ST_CLOSED | ST_RESET))
        return;
    s->flags |= ST_RESET;
    al__qstream_reset(s->q);
}

const al_peer_id *al__stream_peer(const al__stream *s)
{
    return &s->conn->peer->id;
}

al__conn *al__stream_conn(const al__stream *s)
{
    return s->conn;
}

const char *al__stream_protocol(const al__stream *s)
{
    return s->proto;
}

size_t al__stream_unacked(const al__stream *s)
{
    return al__qstream_unacked(s->q);
}

/* Ends the stream for the module now (on_close with status) and resets
 * it; the transport's own close frees it later. */
static void stream_fail(al__stream *s, int status)
{
    if (!(s->flags & ST_CLOSED)) {
        s->flags |= ST_CLOSED;
        if ((s->flags & ST_APP) && s->ops && s->ops->on_close)
            s->ops->on_close(s, status, s->ud);
    }
    al__qstream_reset(s->q);
}

static void do_open(al__swarm *sw, al__conn *c, const char *proto,
                    al__open_cb cb, void *ud)
{
    al__stream *s = stream_alloc(sw);
    al__mss *m = s ? mss_get(sw) : NULL;
    if (!m) {
        if (s)
            stream_release(sw, s);
        cb(AL_ENOMEM, NULL, ud);
        return;
    }
    al__qstream *q;
    int rc = al__qconn_open_stream(c->q, s, &q);
    if (rc) {
        mss_put(sw, m);
        stream_release(sw, s);
        cb(rc == AL_ESTATE ? AL_E_CONNECTION_CLOSED : rc, NULL, ud);
        return;
    }
    s->q = q;
    s->conn = c;
    s->mss = m;
    s->proto = proto;
    s->protos[0] = proto;
    s->flags = ST_OUTBOUND | ST_APP;
    c->nstreams++;
    conn_idle_check(c);
    al_buf_reset(&sw->scratch);
    /* Header and proposal go out at once; the module's first bytes follow
     * in the same packet (V1Lazy). */
    rc = al__mss_init_initiator(m, s->protos, 1, &sw->scratch, NULL);
    if (rc == 0)
        rc = al__qstream_write(q, sw->scratch.data, sw->scratch.len);
    if (rc) {
        s->flags |= ST_CLOSED;
        al__qstream_reset(q);
        cb(rc, NULL, ud);
        return;
    }
    cb(0, s, ud);
}

static void q_stream_open(al__qstream *q, void *ud)
{
    al__swarm *sw = ud;
    al__conn *c = al__qconn_ud(al__qstream_conn(q));
    al__stream *s = NULL;
    al__mss *m = NULL;
    if (c && c->ready && !sw->stopping) {
        s = stream_alloc(sw);
        m = s ? mss_get(sw) : NULL;
    }
    if (!m) {
        if (s)
            stream_release(sw, s);
        al__qstream_reset(q);
        return;
    }
    s->q = q;
    s->conn = c;
    s->mss = m;
    al__mss_init_responder(m, supported, sw);
    al__qstream_set_ud(q, s);
    c->nstreams++;
    conn_idle_check(c);
}

/* Negotiation bytes; returns how many bytes of data were consumed, or -1
 * when the stream is gone. */
static long negotiate(al__swarm *sw, al__stream *s, const uint8_t *data,
                      size_t len)
{
    size_t used = 0;
    al_buf_reset(&sw->scratch);
    int rc = al__mss_feed(s->mss, data, len, &used, &sw->scratch, NULL);
    if (sw->scratch.len)
        al__qstream_write(s->q, sw->scratch.data, sw->scratch.len);
    if (rc < 0) {
        stream_fail(s, rc);
        return -1;
    }
    if (rc == AL__MSS_PENDING)
        return (long)used;
    s->flags |= ST_NEGOTIATED;
    if (s->flags & ST_OUTBOUND) {
        mss_put(sw, s->mss);
        s->mss = NULL;
        return (long)used;
    }
    size_t n = 0;
    const char *name = al__mss_selected(s->mss, &n);
    const handler *h = find_handler(sw, name, n);
    mss_put(sw, s->mss);
    s->mss = NULL;
    if (!h) {
        stream_fail(s, AL_EPROTO);
        return -1;
    }
    s->proto = h->name;
    s->flags |= ST_APP;
    h->fn(s, h->ud);
    if (s->flags & (ST_CLOSED | ST_RESET))
        return -1;
    if (!s->ops) {
        stream_fail(s, AL_ECANCELED);
        return -1;
    }
    return (long)used;
}

static void q_stream_data(al__qstream *q, const uint8_t *data, size_t len,
                          void *ud)
{
    al__swarm *sw = ud;
    al__stream *s = al__qstream_ud(q);
    if (!s || (s->flags & (ST_CLOSED | ST_RESET)))
        return;
    if (!(s->flags & ST_NEGOTIATED)) {
        long used = negotiate(sw, s, data, len);
        if (used < 0 || !(s->flags & ST_NEGOTIATED))
            return;
        data += used;
        len -= (size_t)used;
        if (!len)
            return;
    }
    if (s->ops && s->ops->on_data)
        s->ops->on_data(s, data, len, s->ud);
}

static void q_stream_fin(al__qstream *q, void *ud)
{
    (void)ud;
    al__stream *s = al__qstream_ud(q);
    if (!s || (s->flags & (ST_CLOSED | ST_RESET)))
        return;
    if (!(s->flags & ST_NEGOTIATED)) {
        stream_fail(s, AL_EPROTO);
        return;
    }
    if (s->ops && s->ops->on_fin)
        s->ops->on_fin(s, s->ud);
}

static void q_stream_close(al__qstream *q, int status, void *ud)
{
    al__swarm *sw = ud;
    al__stream *s = al__qstream_ud(q);
    if (!s)
        return;
    if (!(s->flags & ST_CLOSED)) {
        s->flags |= ST_CLOSED;
        if ((s->flags & ST_APP) && s->ops && s->ops->on_close)
            s->ops->on_close(s, status, s->ud);
    }
    al__conn *c = s->conn;
    if (c && c->nstreams) {
        c->nstreams--;
        conn_idle_check(c);
    }
    stream_release(sw, s);
}

/* ------------------------------------------------------------ dials */

static void dial_next(dial *d);

static int open_status(int status)
{
    switch (status) {
    case AL_E_NETWORK_TIMEOUT:
    case AL_ECANCELED:
    case AL_ELIMIT:
        return status;
    default:
        return AL_E_DIAL_FAILURE;
    }
}

static void dial_unlink(dial *d)
{
    al__swarm *sw = d->sw;
    if (d->prev)
        d->prev->next = d->next;
    else
        sw->dials = d->next;
    if (d->next)
        d->next->prev = d->prev;
    if (d->has_peer) {
        peer_t *p = peer_find(sw, &d->peer);
        if (p && p->dial == d)
            p->dial = NULL;
    }
}

static void dial_free(dial *d)
{
    for (size_t i = 0; i < d->naddrs; i++)
        free(d->addrs[i]);
    free(d);
}

/* Runs the waiters of a finished dial: with c on success, else with
 * d->status. */
static void dial_finish(dial *d, al__conn *c)
{
    al__swarm *sw = d->sw;
    if (d->finished)
        return;
    d->finished = true;
    dial_unlink(d);
    if (d->attempt && d->attempt != c)
        d->attempt->dial = NULL;
    d->attempt = NULL;
    waiter *w = d->waiters;
    d->waiters = NULL;
    while (w) {
        waiter *next = w->next;
        if (w->kind == W_DIAL) {
            if (w->dial_cb) {
                if (c)
                    w->dial_cb(0, &c->peer->id, NULL, w->ud);
                else
                    w->dial_cb(d->status, d->has_peer ? &d->peer : NULL,
                               d->detail, w->ud);
            }
        } else if (c) {
            do_open(sw, c, w->proto, w->open_cb, w->ud);
        } else {
            w->open_cb(open_status(d->status), NULL, w->ud);
        }
        free(w);
        w = next;
    }
    /* A pending resolver callback or start job frees it. */
    if (!d->resolving && !d->start_queued)
        dial_free(d);
}

static void dial_fail(dial *d, int status, const char *detail)
{
    d->status = status;
    snprintf(d->detail, sizeof(d->detail), "%s", detail);
}

static void dial_start_quic(dial *d, const struct sockaddr *sa)
{
    al__swarm *sw = d->sw;
    al__conn *c = conn_alloc(sw, true);
    if (!c) {
        dial_fail(d, AL_ENOMEM, "out of memory");
        return;
    }
    al__qconn *q;
    al_error err = {0};
    int rc =
        al__quic_dial(sw->quic, sa, d->has_peer ? &d->peer : NULL, c, &q, &err);
    if (rc) {
        free(c);
        dial_fail(
            d, rc == AL_ELIMIT || rc == AL_ECANCELED ? rc : AL_E_DIAL_FAILURE,
            err.msg);
        return;
    }
    c->q = q;
    c->dial = d;
    d->attempt = c;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    dial *d = req->data;
    d->resolving = false;
    if (d->finished) {
        uv_freeaddrinfo(res);
        if (!d->start_queued)
            dial_free(d);
        return;
    }
    if (status || !res) {
        dial_fail(d, AL_E_DIAL_FAILURE, "cannot resolve the host name");
    } else {
        struct sockaddr_storage sa;
        memcpy(&sa, res->ai_addr, res->ai_addrlen);
        if (sa.ss_family == AF_INET)
            ((struct sockaddr_in *)&sa)->sin_port = htons(d->port);
        else
            ((struct sockaddr_in6 *)&sa)->sin6_port = htons(d->port);
        dial_start_quic(d, (const struct sockaddr *)&sa);
    }
    uv_freeaddrinfo(res);
    if (!d->attempt)
        dial_next(d);
}

/* Tries the dial's next address; finishes the dial when none is left. */
static void dial_next(dial *d)
{
    al__swarm *sw = d->sw;
    while (!d->attempt && !d->resolving && d->next_addr < d->naddrs &&
           !sw->stopping) {
        size_t i = d->next_addr++;
        al__maddr m;
        al__quic_addr q;
        al_error err = {0};
        if (al__maddr_decode(&m, d->addrs[i], d->alen[i], &err) ||
            al__maddr_to_quic_dial(&m, &q, &err)) {
            dial_fail(d, AL_E_DIAL_FAILURE, err.msg);
            continue;
        }
        if (q.is_dns) {
            struct addrinfo hints = {.ai_family = q.family,
                                     .ai_socktype = SOCK_DGRAM};
            d->gai.data = d;
            d->port = q.port;
            if (uv_getaddrinfo(&sw->node->loop, &d->gai, on_resolved, q.host,
                               NULL, &hints) == 0) {
                d->resolving = true;
                return;
            }
            dial_fail(d, AL_E_DIAL_FAILURE, "cannot resolve the host name");
            continue;
        }
        dial_start_quic(d, (const struct sockaddr *)&q.addr);
    }
    if (d->attempt || d->resolving)
        return;
    if (sw->stopping)
        dial_fail(d, AL_ECANCELED, "the swarm is stopping");
    else if (!d->status)
        dial_fail(d, AL_E_DIAL_FAILURE, "no address to dial");
    dial_finish(d, NULL);
}

static dial *dial_new(al__swarm *sw, const al_peer_id *peer_id)
{
    dial *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->sw = sw;
    if (peer_id) {
        d->peer = *peer_id;
        d->has_peer = true;
    }
    d->next = sw->dials;
    if (sw->dials)
        sw->dials->prev = d;
    sw->dials = d;
    return d;
}

/* Makes addr (taken) the next address the dial tries; when the list is
 * full, an address already tried (or else the last one) makes room. */
static void dial_add_next(dial *d, uint8_t *addr, uint16_t len)
{
    if (d->naddrs == MAX_ADDRS) {
        size_t drop = d->next_addr > 0 ? 0 : d->naddrs - 1;
        free(d->addrs[drop]);
        memmove(d->addrs + drop, d->addrs + drop + 1,
                (d->naddrs - drop - 1) * sizeof(*d->addrs));
        memmove(d->alen + drop, d->alen + drop + 1,
                (d->naddrs - drop - 1) * sizeof(*d->alen));
        d->naddrs--;
        if (drop < d->next_addr)
            d->next_addr--;
    }
    memmove(d->addrs + d->next_addr + 1, d->addrs + d->next_addr,
            (d->naddrs - d->next_addr) * sizeof(*d->addrs));
    memmove(d->alen + d->next_addr + 1, d->alen + d->next_addr,
            (d->naddrs - d->next_addr) * sizeof(*d->alen));
    d->addrs[d->next_addr] = addr;
    d->alen[d->next_addr] = len;
    d->naddrs++;
}

static int dial_wait(dial *d, enum wkind kind, al_dial_cb dcb, al__open_cb ocb,
                     const char *proto, void *ud)
{
    waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return AL_ENOMEM;
    w->kind = kind;
    w->dial_cb = dcb;
    w->open_cb = ocb;
    w->proto = proto;
    w->ud = ud;
    waiter **tail = &d->waiters;
    while (*tail)
        tail = &(*tail)->next;
    *tail = w;
    return 0;
}

/* The dial to a peer by id, from its address book; NULL without
 * addresses. */
static dial *dial_peer(al__swarm *sw, peer_t *p)
{
    if (p->dial)
        return p->dial;
    if (!p->naddrs)
        return NULL;
    dial *d = dial_new(sw, &p->id);
    if (!d)
        return NULL;
    for (size_t i = 0; i < p->naddrs; i++) {
        d->addrs[i] = malloc(p->alen[i]);
        if (!d->addrs[i])
            break;
        memcpy(d->addrs[i], p->addrs[i], p->alen[i]);
        d->alen[i] = p->alen[i];
        d->naddrs++;
    }
    p->dial = d;
    return d;
}

/* ------------------------------------------------------------ jobs run */

static void run_open(al__swarm *sw, job *j)
{
    al__conn *c = best_conn(sw, &j->peer);
    if (c) {
        do_open(sw, c, j->proto, j->open_cb, j->ud);
        return;
    }
    peer_t *p = peer_find(sw, &j->peer);
    dial *d = p ? dial_peer(sw, p) : NULL;
    if (!d) {
        j->open_cb(AL_E_DIAL_FAILURE, NULL, j->ud);
        return;
    }
    if (dial_wait(d, W_OPEN, NULL, j->open_cb, j->proto, j->ud)) {
        j->open_cb(AL_ENOMEM, NULL, j->ud);
        return;
    }
    if (!d->attempt && !d->resolving)
        dial_next(d);
}

static size_t expand_listener(const struct sockaddr_storage *bound,
                              struct sockaddr_storage *out, size_t cap);

static void run_listening(al__swarm *sw, size_t index)
{
    if (index >= sw->nlisteners)
        return;
    struct sockaddr_storage addrs[32];
    size_t n = expand_listener(&sw->listeners[index], addrs, 32);
    for (size_t i = 0; i < n; i++) {
        char text[AL__MADDR_MAX_TEXT + 1];
        if (al__maddr_sockaddr_text((const struct sockaddr *)&addrs[i],
                                    &sw->local, text, sizeof(text), NULL) > 0)
            emit(sw, AL_SWARM_LISTENING, &sw->local, text, false, 0, NULL);
    }
}

static bool pre_flush(void *ud)
{
    al__swarm *sw = ud;
    bool did = false;
    while (sw->jobs_head) {
        job *j = sw->jobs_head;
        sw->jobs_head = j->next;
        if (!sw->jobs_head)
            sw->jobs_tail = NULL;
        did = true;
        switch (j->kind) {
        case J_OPEN:
            if (sw->stopping)
                j->open_cb(AL_ECANCELED, NULL, j->ud);
            else
                run_open(sw, j);
            break;
        case J_DIAL_DONE:
            if (j->dial_cb)
                j->dial_cb(sw->stopping ? AL_ECANCELED : j->status, &j->peer,
                           NULL, j->ud);
            break;
        case J_DIAL_START:
            j->dial->start_queued = false;
            if (j->dial->finished) {
                if (!j->dial->resolving)
                    dial_free(j->dial);
            } else if (!j->dial->attempt && !j->dial->resolving) {
                dial_next(j->dial);
            }
            break;
        case J_LISTENING:
            run_listening(sw, j->index);
            break;
        }
        job_free(sw, j);
    }
    return did;
}

int al__swarm_open_stream(al__swarm *sw, const al_peer_id *peer_id,
                          const char *protocol, al__open_cb cb, void *ud)
{
    size_t len;
    if (!cb || !peer_id || !valid_protocol(protocol, &len) ||
        al_peer_id_equal(peer_id, &sw->local))
        return AL_EINVAL;
    if (sw->stopping)
        return AL_ECANCELED;
    const char *proto = intern(sw, protocol, len);
    if (!proto)
        return AL_ELIMIT;
    job *j = job_new(sw, J_OPEN);
    if (!j)
        return AL_ENOMEM;
    j->peer = *peer_id;
    j->proto = proto;
    j->open_cb = cb;
    j->ud = ud;
    job_push(sw, j);
    return 0;
}

/* ------------------------------------------------------------ transport */

/* Caches the remote address of c in both forms (without /p2p). */
static void conn_describe(al__conn *c)
{
    const struct sockaddr *sa = al__qconn_remote(c->q);
    int n =
        al__maddr_sockaddr_bytes(sa, NULL, c->maddr, sizeof(c->maddr), NULL);
    c->maddr_len = n > 0 ? (size_t)n : 0;
    if (al__maddr_sockaddr_text(sa, NULL, c->text, sizeof(c->text), NULL) < 0)
        c->text[0] = '\0';
}

static void q_conn_ready(al__qconn *q, void *ud)
{
    al__swarm *sw = ud;
    al__conn *c = al__qconn_ud(q);
    if (!c) {
        c = conn_alloc(sw, false);
        if (!c) {
            al__qconn_close(q);
            return;
        }
        c->q = q;
        al__qconn_set_ud(q, c);
    }
    const al_peer_id *id = al__qconn_peer(q);
    peer_t *p = peer_get(sw, id, true);
    if (!p) {
        al__qconn_close(q);
        return;
    }
    c->ready = true;
    c->peer = p;
    c->connected_at_ms = al__now(sw->node);
    conn_describe(c);
    al__conn **tail = &p->conns;
    while (*tail)
        tail = &(*tail)->pnext;
    *tail = c;
    p->nconns++;
    if (c->outbound && c->maddr_len)
        addr_list_add(p->addrs, p->alen, &p->naddrs, c->maddr, c->maddr_len);
    conn_idle_check(c);
    if (p->nconns == 1) {
        sw->nconnected++;
        emit(sw, AL_SWARM_CONNECTED, &p->id, c->text, c->outbound, 0, NULL);
        for (al__conn_watch *w = sw->watches; w; w = w->next)
            if (w->on_connected)
                w->on_connected(c, w->ud);
    }
    dial *d = c->dial;
    c->dial = NULL;
    if (d) {
        d->attempt = NULL;
        if (!d->has_peer)
            d->peer = *id;
        dial_finish(d, c);
    }
    /* A dial by id that an inbound connection made moot. */
    if (p->dial)
        dial_finish(p->dial, c);
}

static void q_conn_closed(al__qconn *q, int status, const char *detail,
                          void *ud)
{
    al__swarm *sw = ud;
    al__conn *c = al__qconn_ud(q);
    if (!c)
        return;
    if (al__timer_armed(&c->idle))
        al__timer_stop(&sw->node->timers, &c->idle);
    if (c->ready) {
        peer_t *p = c->peer;
        for (al__conn **pp = &p->conns; *pp; pp = &(*pp)->pnext) {
            if (*pp == c) {
                *pp = c->pnext;
                break;
            }
        }
        p->nconns--;
        if (p->nconns == 0) {
            sw->nconnected--;
            emit(sw, AL_SWARM_DISCONNECTED, &p->id, c->text, c->outbound,
                 status, NULL);
            for (al__conn_watch *w = sw->watches; w; w = w->next)
                if (w->on_disconnected)
                    w->on_disconnected(&p->id, status, w->ud);
        }
    }
    dial *d = c->dial;
    free(c);
    if (d) {
        d->attempt = NULL;
        dial_fail(d, status ? status : AL_E_DIAL_FAILURE, detail);
        dial_next(d);
    }
}

/* ------------------------------------------------------------ public */

int al_swarm_dial(al_node *node, const char *multiaddr, al_dial_cb cb, void *ud)
{
    al__swarm *sw;
    int rc = al__swarm_enter(node, &sw);
    if (rc)
        return rc;
    if (sw->stopping)
        return AL_ECANCELED;
    al__maddr m;
    al__quic_addr q;
    rc = al__maddr_parse(&m, multiaddr, NULL);
    if (rc)
        return rc;
    rc = al__maddr_to_quic_dial(&m, &q, NULL);
    if (rc)
        return rc;
    if (q.has_peer && al_peer_id_equal(&q.peer, &sw->local))
        return AL_EINVAL;
    uint8_t plain[AL__MADDR_MAX_BYTES];
    al__maddr bare = m;
    if (q.has_peer)
        bare.n--;
    int n = al__maddr_encode(&bare, plain, sizeof(plain));
    if (n < 0)
        return n;
    dial *d = NULL;
    if (q.has_peer) {
        peer_t *p = peer_get(sw, &q.peer, true);
        if (!p)
            return AL_ENOMEM;
        addr_list_add(p->addrs, p->alen, &p->naddrs, plain, (size_t)n);
        if (p->nconns) {
            job *j = job_new(sw, J_DIAL_DONE);
            if (!j)
                return AL_ENOMEM;
            j->peer = p->id;
            j->dial_cb = cb;
            j->ud = ud;
            job_push(sw, j);
            return 0;
        }
        d = p->dial;
        if (!d) {
            d = dial_new(sw, &q.peer);
            if (!d)
                return AL_ENOMEM;
            p->dial = d;
        }
    } else {
        d = dial_new(sw, NULL);
        if (!d)
            return AL_ENOMEM;
    }
    bool start = !d->attempt && !d->resolving && !d->start_queued;
    job *j = start ? job_new(sw, J_DIAL_START) : NULL;
    uint8_t *copy = malloc((size_t)n);
    if (!copy || (start && !j) || dial_wait(d, W_DIAL, cb, NULL, NULL, ud)) {
        free(copy);
        if (j)
            job_free(sw, j);
        if (!d->waiters && !d->attempt && !d->resolving && !d->start_queued) {
            dial_unlink(d);
            dial_free(d);
        }
        return AL_ENOMEM;
    }
    memcpy(copy, plain, (size_t)n);
    dial_add_next(d, copy, (uint16_t)n);
    if (j) {
        /* Started from the flush, so that cb never runs inside this
         * call. */
        j->dial = d;
        d->start_queued = true;
        job_push(sw, j);
    }
    return 0;
}

int al_swarm_disconnect(al_node *node, const al_peer_id *peer_id)
{
    al__swarm *sw;
    int rc = al__swarm_enter(node, &sw);
    if (rc)
        return rc;
    peer_t *p = peer_find(sw, peer_id);
    if (!p || !p->nconns)
        return AL_ENOTFOUND;
    for (al__conn *c = p->conns; c; c = c->pnext)
        al__qconn_close(c->q);
    return 0;
}

size_t al_swarm_peers(al_node *node, al_peer_info *out, size_t cap)
{
    al__swarm *sw;
    if (al__swarm_enter(node, &sw))
        return 0;
    size_t n = 0;
    for (size_t b = 0; b < PEER_BUCKETS; b++) {
        for (peer_t *p = sw->buckets[b]; p; p = p->hnext) {
            if (!p->nconns)
                continue;
            if (n < cap) {
                al__conn *c = p->conns;
                al_peer_info *i = &out[n];
                memset(i, 0, sizeof(*i));
                i->id = p->id;
                snprintf(i->addr, sizeof(i->addr), "%s", c->text);
                i->rtt_us = al__qconn_rtt_us(c->q);
                i->outbound = c->outbound;
                snprintf(i->agent, sizeof(i->agent), "%s", p->agent);
                i->connected_at_ms = c->connected_at_ms;
            }
            n++;
        }
    }
    return n;
}

void al__swarm_watch(al__swarm *sw, al__conn_watch *w)
{
    w->next = sw->watches;
    sw->watches = w;
}

/* ------------------------------------------------------------ listening */

static bool unspecified(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == 0;
    return IN6_IS_ADDR_UNSPECIFIED(
        &((const struct sockaddr_in6 *)sa)->sin6_addr);
}

static uint16_t sa_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_port;
    return ((const struct sockaddr_in6 *)sa)->sin6_port;
}

/* The addresses of the local interfaces of bound's family, loopback
 * first, with bound's port. */
static size_t expand_unspecified(const struct sockaddr *bound,
                                 struct sockaddr_storage *out, size_t cap)
{
    uv_interface_address_t *ifs = NULL;
    int count = 0;
    size_t n = 0;
    if (uv_interface_addresses(&ifs, &count))
        count = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < count && n < cap; i++) {
            const struct sockaddr *a = (const struct sockaddr *)&ifs[i].address;
            if (a->sa_family != bound->sa_family ||
                (pass == 0) != (ifs[i].is_internal != 0))
                continue;
            if (a->sa_family == AF_INET6 &&
                IN6_IS_ADDR_LINKLOCAL(
                    &((const struct sockaddr_in6 *)a)->sin6_addr))
                continue; /* needs a zone, which multiaddrs here lack */
            struct sockaddr_storage s;
            memset(&s, 0, sizeof(s));
            if (a->sa_family == AF_INET) {
                memcpy(&s, a, sizeof(struct sockaddr_in));
                ((struct sockaddr_in *)&s)->sin_port = sa_port(bound);
            } else {
                memcpy(&s, a, sizeof(struct sockaddr_in6));
                ((struct sockaddr_in6 *)&s)->sin6_port = sa_port(bound);
                ((struct sockaddr_in6 *)&s)->sin6_scope_id = 0;
            }
            bool dup = false;
            for (size_t k = 0; k < n; k++)
                dup |= memcmp(&out[k], &s, sizeof(s)) == 0;
            if (!dup)
                out[n++] = s;
        }
    }
    if (ifs)
        uv_free_interface_addresses(ifs, count);
    if (n == 0 && cap > 0) {
        /* No interface list: loopback is always there. */
        memset(&out[0], 0, sizeof(out[0]));
        if (bound->sa_family == AF_INET) {
            struct sockaddr_in *v4 = (struct sockaddr_in *)&out[0];
            v4->sin_family = AF_INET;
            v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            v4->sin_port = sa_port(bound);
        } else {
            struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out[0];
            v6->sin6_family = AF_INET6;
            v6->sin6_addr = in6addr_loopback;
            v6->sin6_port = sa_port(bound);
        }
        n = 1;
    }
    return n;
}

static size_t expand_listener(const struct sockaddr_storage *bound,
                              struct sockaddr_storage *out, size_t cap)
{
    const struct sockaddr *b = (const struct sockaddr *)bound;
    if (cap == 0)
        return 0;
    if (unspecified(b))
        return expand_unspecified(b, out, cap);
    out[0] = *bound;
    return 1;
}

size_t al__swarm_listen_sockaddrs(al__swarm *sw, struct sockaddr_storage *out,
                                  size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < sw->nlisteners && n < cap; i++)
        n += expand_listener(&sw->listeners[i], out + n, cap - n);
    return n;
}

int al_swarm_listen_on(al_node *node, const char *multiaddr, al_error *err)
{
    al__swarm *sw;
    int rc = al__swarm_enter(node, &sw);
    if (rc == AL_ESTATE)
        return al_error_set(err, rc, "not on the node's loop thread");
    if (rc)
        return al_error_set(err, rc, "the swarm is not bootstrapped");
    if (sw->stopping)
        return al_error_set(err, AL_ECANCELED, "the swarm is stopping");
    if (sw->nlisteners == MAX_LISTENERS)
        return al_error_set(err, AL_ELIMIT, "too many listen addresses");
    al__maddr m;
    al__quic_addr q;
    rc = al__maddr_parse(&m, multiaddr, err);
    if (rc)
        return rc;
    rc = al__maddr_to_quic(&m, &q, err);
    if (rc)
        return rc;
    if (q.is_dns)
        return al_error_set(err, AL_EINVAL,
                            "listen on an IP address, not a DNS name");
    if (q.has_peer && !al_peer_id_equal(&q.peer, &sw->local))
        return al_error_set(err, AL_EINVAL,
                            "the address names another peer id");
    struct sockaddr_storage bound;
    rc = al__quic_listen(sw->quic, (const struct sockaddr *)&q.addr, &bound,
                         err);
    if (rc)
        return rc;
    size_t index = sw->nlisteners++;
    sw->listeners[index] = bound;
    /* A listening node serves Kademlia, as Kameo's listen_on does. */
    al__kad_set_server_mode(al__kad_of(node), true);
    job *j = job_new(sw, J_LISTENING);
    if (j) {
        j->index = index;
        job_push(sw, j);
    }
    return 0;
}

size_t al_swarm_listen_addrs(al_node *node, char **out, size_t cap)
{
    al__swarm *sw;
    if (al__swarm_enter(node, &sw))
        return 0;
    struct sockaddr_storage addrs[64];
    size_t n = al__swarm_listen_sockaddrs(sw, addrs, 64), written = 0;
    for (size_t i = 0; i < n && written < cap; i++) {
        char text[AL__MADDR_MAX_TEXT + 1];
        if (al__maddr_sockaddr_text((const struct sockaddr *)&addrs[i],
                                    &sw->local, text, sizeof(text), NULL) < 0)
            continue;
        out[written] = strdup(text);
        if (out[written])
            written++;
    }
    return written;
}

/* ------------------------------------------------------------ lifecycle */

static void swarm_free(al__swarm *sw)
{
    for (size_t b = 0; b < PEER_BUCKETS; b++) {
        peer_t *p = sw->buckets[b];
        while (p) {
            peer_t *next = p->hnext;
            peer_free(p);
            p = next;
        }
    }
    for (size_t i = 0; i < sw->ninterned; i++)
        free(sw->interned[i]);
    while (sw->free_jobs) {
        job *j = sw->free_jobs;
        sw->free_jobs = j->next;
        free(j);
    }
    while (sw->free_streams) {
        al__stream *s = sw->free_streams;
        sw->free_streams = s->next;
        free(s);
    }
    for (size_t i = 0; i < sw->nfree_mss; i++)
        free(sw->free_mss[i]);
    al_buf_free(&sw->scratch);
    al__quic_free(sw->quic);
    al_identity_free(sw->id);
    free(sw);
}

static void quic_done(void *ud)
{
    al__swarm *sw = ud;
    al_node *node = sw->node;
    /* Dials whose resolver or start job is still out free themselves. */
    node->swarm = NULL;
    /* No stream or watch callback can come any more. */
    al__kad_free(node->kad);
    swarm_free(sw);
    al__node_closer_done(node);
}

/* The transport's hook, run from its prepare/check handles only, never
 * from inside an actor: actors with mail run before packets go out, not in
 * the next loop turn, so what they answer shares the packets of what this
 * turn already queued (multistream echoes, acknowledgements) instead of
 * following in packets of its own. */
static bool before_packets(void *ud)
{
    al__swarm *sw = ud;
    if (sw->node->dispatch_active && !sw->stopping)
        al__node_dispatch(sw->node);
    return pre_flush(sw);
}

static void swarm_stop(al_node *node, void *ud)
{
    (void)node;
    al__swarm *sw = ud;
    sw->stopping = true;
    /* Queued work fails now; the transport's shutdown then closes every
     * connection (streams get AL_ECANCELED). */
    pre_flush(sw);
    while (sw->dials) {
        dial *d = sw->dials;
        if (d->resolving)
            uv_cancel((uv_req_t *)&d->gai);
        dial_fail(d, AL_ECANCELED, "the swarm is stopping");
        dial_finish(d, NULL);
    }
    al__quic_shutdown(sw->quic, quic_done, sw);
}

int al_swarm_bootstrap(al_node *node, al_identity *id,
                       const al_swarm_opts *opts, al_error *err)
{
    int rc;
    al__swarm *existing;
    rc = al__swarm_enter(node, &existing);
    if (rc != AL_E_SWARM_NOT_BOOTSTRAPPED) {
        al_identity_free(id);
        return al_error_set(err, AL_ESTATE,
                            rc == AL_ESTATE ? "not on the node's loop thread"
                                            : "the swarm is already running");
    }
    if (!id) {
        rc = al_identity_generate(&id, err);
        if (rc)
            return rc;
    }
    al__swarm *sw = calloc(1, sizeof(*sw));
    if (!sw) {
        al_identity_free(id);
        return al_error_set(err, AL_ENOMEM, "out of memory");
    }
    sw->node = node;
    sw->id = id;
    al_identity_peer_id(id, &sw->local);
    al__identity_pubkey_proto(id, sw->pubkey);
    if (opts)
        sw->opts = *opts;
    if (!sw->opts.idle_timeout_ms)
        sw->opts.idle_timeout_ms = 60000;
    if (!sw->opts.max_connections)
        sw->opts.max_connections = 1024;
    if (!sw->opts.max_streams_per_conn)
        sw->opts.max_streams_per_conn = 1000;
    if (!sw->opts.max_inbound_requests)
        sw->opts.max_inbound_requests = 1024;
    snprintf(sw->agent, sizeof(sw->agent), "%s",
             sw->opts.agent_version ? sw->opts.agent_version : DEFAULT_AGENT);
    sw->opts.agent_version = sw->agent;
    al__quic_config cfg = {
        .idle_timeout_ms = sw->opts.idle_timeout_ms,
        .handshake_timeout_ms = sw->opts.handshake_timeout_ms,
        .max_connections = sw->opts.max_connections,
        .max_streams_per_conn = sw->opts.max_streams_per_conn,
    };
    al__quic_cbs cbs = {
        .pre_flush = before_packets,
        .conn_ready = q_conn_ready,
        .conn_closed = q_conn_closed,
        .stream_open = q_stream_open,
        .stream_data = q_stream_data,
        .stream_fin = q_stream_fin,
        .stream_close = q_stream_close,
    };
    rc = al__quic_new(&sw->quic, &node->loop, id, &cfg, &cbs, sw, err);
    if (rc) {
        al_identity_free(id);
        free(sw);
        return rc;
    }
    rc = al__node_add_closer(node, swarm_stop, sw);
    if (rc) {
        swarm_free(sw);
        return al_error_set(err, rc, "out of memory");
    }
    node->swarm = sw;
    rc = al__ping_init(sw);
    if (rc == 0)
        rc = al__identify_init(sw, &sw->identify_watch);
    if (rc == 0) {
        al__kad *kad;
        rc = al__kad_init(sw, &kad);
    }
    if (rc == 0)
        rc = al__remote_init(sw);
    if (rc == 0) {
        al__remote_set_max_inbound(al__remote_of(node),
                                   sw->opts.max_inbound_requests);
        al__remote_set_read_timeout(al__remote_of(node),
                                    sw->opts.request_read_timeout_ms);
    }
    if (rc)
        return al_error_set(err, rc, "cannot register the swarm protocols");
    return 0;
}
