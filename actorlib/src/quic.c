/* QUIC v1 transport (see quic.h): endpoints, connection id routing,
 * connections with their TLS sessions and timers, stream send buffers, and
 * the once-per-loop-turn flush. */
#include "quic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "identity.h"
#include "tlscert.h"

#define SCID_LEN         16 /* every connection id we issue */
#define RX_DGRAM         65536
#define RX_CHUNKS        16 /* datagrams per recvmmsg */
#define TX_BUF           65536
#define CHUNK_SIZE       4096
#define POOL_CHUNKS      256 /* spares kept after a burst: 1 MiB */
#define POOL_STREAMS     256
#define MAX_CONN_CIDS    24
#define MAX_VECS         16
#define SEND_QUEUE_MAX   (4u << 20) /* bytes waiting in libuv's send queue */
#define RESETS_PER_SEC   100
#define STREAM_WINDOW    (1u << 20)
#define CONN_WINDOW      (8u << 20)
#define MAX_WINDOW       (16u << 20)
#define APP_ERROR_CANCEL 0
#define LOOPBACK_PAYLOAD 16384 /* UDP payload per packet on loopback */

static const char tls_priority[] =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3";

/* ------------------------------------------------------------ types */

typedef struct chunk {
    struct chunk *next;
    uint32_t cap, len;
    uint8_t data[];
} chunk;

typedef struct ep {
    uv_udp_t udp;
    al__quic *q;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    bool listening;
    uint8_t *rx;
    struct ep *next;
} ep;

enum cstate { C_HANDSHAKE, C_READY, C_CLOSING, C_DRAINING, C_DEAD };

enum sflag {
    S_LOCAL = 1 << 0,
    S_PENDING = 1 << 1,    /* waiting for stream credit (no id yet) */
    S_READY = 1 << 2,      /* in the connection's ready list */
    S_BLOCKED = 1 << 3,    /* stream flow control */
    S_FIN_REQ = 1 << 4,    /* finish requested */
    S_FIN_SENT = 1 << 5,   /* FIN handed to ngtcp2 */
    S_WSHUT = 1 << 6,      /* ngtcp2 refuses more data */
    S_PEER_FIN = 1 << 7,   /* the peer finished */
    S_DETACHED = 1 << 8,   /* no more data upcalls */
    S_NOTIFIED = 1 << 9,   /* stream_close upcall delivered */
    S_RESET_REQ = 1 << 10, /* on the resets list */
    S_CLOSED = 1 << 11,    /* ngtcp2 closed it */
};

struct al__qstream {
    al__qconn *c;
    int64_t id;
    void *ud;
    unsigned flags;
    int reset_status;
    /* Send buffer: chunks from stream offset head_off on; nothing in it
     * moves until acknowledged, because ngtcp2 keeps pointers to it. */
    chunk *head, *tail, *scur;
    uint32_t spos;
    uint64_t head_off, sent, acked, end;
    al__qstream *next, *prev;   /* every stream of the connection */
    al__qstream *rnext, *rprev; /* ready list, or pending list */
    al__qstream *xnext;         /* resets or dead list */
};

struct al__qconn {
    al__quic *q;
    ep *ep;
    ngtcp2_conn *conn;
    gnutls_session_t tls;
    ngtcp2_crypto_conn_ref ref;
    uv_timer_t timer;
    void *ud;
    enum cstate state;
    bool outbound, announced, notified, close_req, has_expected, verified;
    bool stateless_reset, dirty;
    int verify_status;
    al_error verr;
    al_peer_id peer, expected;
    struct sockaddr_storage remote;
    socklen_t remotelen;
    ngtcp2_ccerr ccerr;
    uint8_t *closebuf;
    size_t closelen;
    unsigned close_rx;
    ngtcp2_cid cids[MAX_CONN_CIDS];
    size_t ncids;
    al__qstream *streams;
    al__qstream *ready_head, *ready_tail;
    al__qstream *pend_head, *pend_tail;
    al__qstream *resets, *dead;
    size_t nstreams, npending;
    size_t unacked; /* written, not yet acknowledged, all streams */
    al__qconn *next, *prev;
    al__qconn *dnext, *dprev;
};

typedef struct cid_slot {
    uint8_t len;
    uint8_t id[NGTCP2_MAX_CIDLEN];
    al__qconn *c;
} cid_slot;

typedef struct cidmap {
    cid_slot *slots;
    size_t cap, n;
    uint64_t seed;
} cidmap;

struct al__quic {
    uv_loop_t *loop;
    const al_identity *host;
    al__quic_config cfg;
    al__quic_cbs cbs;
    void *ud;
    gnutls_certificate_credentials_t cred;
    gnutls_certificate_credentials_t old_creds[4];
    size_t nold_creds;
    gnutls_priority_t prio;
    uint8_t reset_secret[32];
    ep *eps;
    al__qconn *conns;
    size_t nconns;
    al__qconn *dirty_head, *dirty_tail;
    cidmap map;
    uv_prepare_t prep;
    uv_check_t check;
    bool handles_active, in_flush, shutdown_req, closing, done_called;
    void (*done)(void *);
    void *done_ud;
    int closing_handles;
    uint64_t reset_epoch_ms;
    unsigned resets_left;
    chunk *free_chunks;
    size_t nfree_chunks;
    al__qstream *free_streams;
    size_t nfree_streams;
    uint8_t tx[TX_BUF];
};

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static socklen_t sa_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in);
}

static bool sa_equal(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port &&
               x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* ------------------------------------------------------------ cid map */

static uint64_t cid_hash(const cidmap *m, const uint8_t *id, size_t len)
{
    uint64_t h = m->seed ^ (len * 0x9e3779b97f4a7c15ULL);
    for (size_t i = 0; i < len; i++) {
        h ^= id[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 31);
}

static al__qconn *cidmap_find(const cidmap *m, const uint8_t *id, size_t len)
{
    if (!m->cap || len > NGTCP2_MAX_CIDLEN)
        return NULL;
    size_t mask = m->cap - 1, i = cid_hash(m, id, len) & mask;
    while (m->slots[i].c) {
        if (m->slots[i].len == len && memcmp(m->slots[i].id, id, len) == 0)
            return m->slots[i].c;
        i = (i + 1) & mask;
    }
    return NULL;
}

static int cidmap_grow(cidmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    cid_slot *s = calloc(cap, sizeof(*s));
    if (!s)
        return AL_ENOMEM;
    for (size_t k = 0; k < m->cap; k++) {
        cid_slot *o = &m->slots[k];
        if (!o->c)
            continue;
        size_t i = cid_hash(m, o->id, o->len) & (cap - 1);
        while (s[i].c)
            i = (i + 1) & (cap - 1);
        s[i] = *o;
    }
    free(m->slots);
    m->slots = s;
    m->cap = cap;
    return 0;
}

static int cidmap_insert(cidmap *m, const uint8_t *id, size_t len, al__qconn *c)
{
    if ((m->n + 1) * 2 > m->cap && cidmap_grow(m))
        return AL_ENOMEM;
    size_t mask = m->cap - 1, i = cid_hash(m, id, len) & mask;
    while (m->slots[i].c) {
        if (m->slots[i].len == len && memcmp(m->slots[i].id, id, len) == 0)
            return AL_EDUPLICATE;
        i = (i + 1) & mask;
    }
    m->slots[i].len = (uint8_t)len;
    memcpy(m->slots[i].id, id, len);
    m->slots[i].c = c;
    m->n++;
    return 0;
}

static void cidmap_remove(cidmap *m, const uint8_t *id, size_t len,
                          const al__qconn *c)
{
    if (!m->cap)
        return;
    size_t mask = m->cap - 1, i = cid_hash(m, id, len) & mask;
    while (m->slots[i].c) {
        if (m->slots[i].len == len && memcmp(m->slots[i].id, id, len) == 0)
            break;
        i = (i + 1) & mask;
    }
    if (!m->slots[i].c || m->slots[i].c != c)
        return;
    /* Backward-shift deletion keeps probe chains intact without
     * tombstones. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].c)
            break;
        size_t k = cid_hash(m, m->slots[j].id, m->slots[j].len) & mask;
        bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].c = NULL;
    m->n--;
}

static int conn_add_cid(al__qconn *c, const ngtcp2_cid *cid)
{
    if (c->ncids == MAX_CONN_CIDS)
        return AL_ELIMIT;
    int rc = cidmap_insert(&c->q->map, cid->data, cid->datalen, c);
    if (rc)
        return rc;
    c->cids[c->ncids++] = *cid;
    return 0;
}

static void conn_remove_cid(al__qconn *c, const ngtcp2_cid *cid)
{
    for (size_t i = 0; i < c->ncids; i++) {
        if (ngtcp2_cid_eq(&c->cids[i], cid)) {
            cidmap_remove(&c->q->map, cid->data, cid->datalen, c);
            c->cids[i] = c->cids[--c->ncids];
            return;
        }
    }
}

/* ------------------------------------------------------------ pools */

static chunk *chunk_new(al__quic *q, size_t need)
{
    if (need <= CHUNK_SIZE && q->free_chunks) {
        chunk *ch = q->free_chunks;
        q->free_chunks = ch->next;
        q->nfree_chunks--;
        ch->next = NULL;
        ch->len = 0;
        return ch;
    }
    size_t cap = need > CHUNK_SIZE ? need : CHUNK_SIZE;
    chunk *ch = malloc(sizeof(*ch) + cap);
    if (!ch)
        return NULL;
    ch->next = NULL;
    ch->cap = (uint32_t)cap;
    ch->len = 0;
    return ch;
}

static void chunk_free(al__quic *q, chunk *ch)
{
    if (ch->cap == CHUNK_SIZE && q->nfree_chunks < POOL_CHUNKS) {
        ch->next = q->free_chunks;
        q->free_chunks = ch;
        q->nfree_chunks++;
        return;
    }
    free(ch);
}

static al__qstream *stream_new(al__qconn *c)
{
    al__quic *q = c->q;
    al__qstream *s = q->free_streams;
    if (s) {
        q->free_streams = s->next;
        q->nfree_streams--;
    } else {
        s = malloc(sizeof(*s));
        if (!s)
            return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->c = c;
    s->id = -1;
    s->next = c->streams;
    if (c->streams)
        c->streams->prev = s;
    c->streams = s;
    c->nstreams++;
    return s;
}

static void ready_unlink(al__qconn *c, al__qstream *s)
{
    if (s->flags & S_READY) {
        if (s->rprev)
            s->rprev->rnext = s->rnext;
        else
            c->ready_head = s->rnext;
        if (s->rnext)
            s->rnext->rprev = s->rprev;
        else
            c->ready_tail = s->rprev;
        s->flags &= ~S_READY;
    } else if (s->flags & S_PENDING) {
        if (s->rprev)
            s->rprev->rnext = s->rnext;
        else
            c->pend_head = s->rnext;
        if (s->rnext)
            s->rnext->rprev = s->rprev;
        else
            c->pend_tail = s->rprev;
        s->flags &= ~S_PENDING;
        c->npending--;
    }
    s->rnext = s->rprev = NULL;
}

static void stream_release_chunks(al__quic *q, al__qstream *s)
{
    chunk *ch = s->head;
    while (ch) {
        chunk *next = ch->next;
        chunk_free(q, ch);
        ch = next;
    }
    s->head = s->tail = s->scur = NULL;
}

/* Frees s: it must be off the resets and dead lists. */
static void stream_free(al__qstream *s)
{
    al__qconn *c = s->c;
    al__quic *q = c->q;
    ready_unlink(c, s);
    if (s->prev)
        s->prev->next = s->next;
    else
        c->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    c->nstreams--;
    c->unacked -= (size_t)(s->end - s->acked);
    stream_release_chunks(q, s);
    if (q->nfree_streams < POOL_STREAMS) {
        s->next = q->free_streams;
        q->free_streams = s;
        q->nfree_streams++;
    } else {
        free(s);
    }
}

/* ------------------------------------------------------------ scheduling */

static void flush(al__quic *q);

static void on_prepare(uv_prepare_t *h)
{
    flush(h->data);
}

static void on_check(uv_check_t *h)
{
    flush(h->data);
}

void al__quic_schedule(al__quic *q)
{
    if (q->handles_active || q->closing)
        return;
    q->handles_active = true;
    uv_prepare_start(&q->prep, on_prepare);
    uv_check_start(&q->check, on_check);
}

static void mark_dirty(al__qconn *c)
{
    if (c->dirty || c->state >= C_CLOSING)
        return;
    al__quic *q = c->q;
    c->dirty = true;
    c->dnext = NULL;
    c->dprev = q->dirty_tail;
    if (q->dirty_tail)
        q->dirty_tail->dnext = c;
    else
        q->dirty_head = c;
    q->dirty_tail = c;
    al__quic_schedule(q);
}

static void dirty_unlink(al__qconn *c)
{
    if (!c->dirty)
        return;
    al__quic *q = c->q;
    if (c->dprev)
        c->dprev->dnext = c->dnext;
    else
        q->dirty_head = c->dnext;
    if (c->dnext)
        c->dnext->dprev = c->dprev;
    else
        q->dirty_tail = c->dprev;
    c->dnext = c->dprev = NULL;
    c->dirty = false;
}

static bool has_send(const al__qstream *s)
{
    if (s->flags & (S_WSHUT | S_CLOSED | S_RESET_REQ))
        return false;
    return s->sent < s->end ||
           ((s->flags & S_FIN_REQ) && !(s->flags & S_FIN_SENT));
}

static void mark_ready(al__qstream *s)
{
    al__qconn *c = s->c;
    if (s->id < 0 || (s->flags & (S_READY | S_BLOCKED)) || !has_send(s))
        return;
    s->flags |= S_READY;
    s->rnext = NULL;
    s->rprev = c->ready_tail;
    if (c->ready_tail)
        c->ready_tail->rnext = s;
    else
        c->ready_head = s;
    c->ready_tail = s;
    mark_dirty(c);
}

/* ------------------------------------------------------------ sending */

static void on_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req);
}

static void send_pkt(ep *e, const struct sockaddr *to, const uint8_t *data,
                     size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_udp_try_send(&e->udp, &b, 1, to);
    if (rc == (int)len)
        return;
    if (rc != UV_EAGAIN && rc != UV_ENOBUFS)
        return; /* QUIC recovers from a lost packet */
    if (e->udp.send_queue_size > SEND_QUEUE_MAX)
        return;
    uv_udp_send_t *req = malloc(sizeof(*req) + len);
    if (!req)
        return;
    uint8_t *copy = (uint8_t *)(req + 1);
    memcpy(copy, data, len);
    b = uv_buf_init((char *)copy, (unsigned)len);
    if (uv_udp_send(req, &e->udp, &b, 1, to, on_sent))
        free(req);
}

/* ------------------------------------------------------------ closing */

static void on_handle_closed(al__quic *q)
{
    if (--q->closing_handles == 0 && q->closing && !q->done_called) {
        q->done_called = true;
        if (q->done)
            q->done(q->done_ud);
    }
}

static void on_conn_timer_closed(uv_handle_t *h)
{
    al__qconn *c = h->data;
    al__quic *q = c->q;
    free(c);
    on_handle_closed(q);
}

static void conn_free(al__qconn *c)
{
    al__quic *q = c->q;
    if (c->state == C_DEAD)
        return;
    c->state = C_DEAD;
    dirty_unlink(c);
    while (c->ncids)
        conn_remove_cid(c, &c->cids[c->ncids - 1]);
    c->resets = c->dead = NULL;
    while (c->streams)
        stream_free(c->streams);
    if (c->prev)
        c->prev->next = c->next;
    else
        q->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    q->nconns--;
    if (c->conn)
        ngtcp2_conn_del(c->conn);
    c->conn = NULL;
    if (c->tls)
        gnutls_deinit(c->tls);
    c->tls = NULL;
    free(c->closebuf);
    c->closebuf = NULL;
    uv_timer_stop(&c->timer);
    q->closing_handles++;
    uv_close((uv_handle_t *)&c->timer, on_conn_timer_closed);
}

/* Tells the layer above that c is gone: every stream first. */
static void teardown(al__qconn *c, int status, const char *detail)
{
    if (c->notified)
        return;
    al__quic *q = c->q;
    c->notified = true;
    int sstatus = (status == 0 || status == AL_ECANCELED)
                      ? AL_ECANCELED
                      : AL_E_CONNECTION_CLOSED;
    c->resets = c->dead = NULL;
    while (c->streams) {
        al__qstream *s = c->streams;
        if (!(s->flags & S_NOTIFIED)) {
            s->flags |= S_NOTIFIED | S_DETACHED;
            if (q->cbs.stream_close)
                q->cbs.stream_close(s, sstatus, q->ud);
        }
        stream_free(s);
    }
    /* An inbound connection that never came up was never reported. */
    if (q->cbs.conn_closed && (c->outbound || c->announced))
        q->cbs.conn_closed(c, status, detail, q->ud);
}

static uint64_t close_period_ms(al__qconn *c)
{
    uint64_t pto = c->conn ? ngtcp2_conn_get_pto(c->conn) : 0;
    uint64_t ms = (3 * pto + NGTCP2_MILLISECONDS - 1) / NGTCP2_MILLISECONDS;
    return ms ? ms : 1;
}

static void start_draining(al__qconn *c)
{
    if (c->state >= C_CLOSING)
        return;
    dirty_unlink(c);
    c->state = C_DRAINING;
}

static void on_timer(uv_timer_t *t);

static void arm_close_timer(al__qconn *c)
{
    uv_timer_start(&c->timer, on_timer, close_period_ms(c), 0);
}

/* Writes CONNECTION_CLOSE with c->ccerr and enters the closing period, in
 * which a peer that keeps sending gets the same packet again. */
static void start_closing(al__qconn *c)
{
    if (c->state >= C_CLOSING)
        return;
    al__quic *q = c->q;
    dirty_unlink(c);
    if (ngtcp2_conn_in_closing_period(c->conn) ||
        ngtcp2_conn_in_draining_period(c->conn)) {
        c->state = C_DRAINING;
        arm_close_timer(c);
        return;
    }
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
        c->conn, &ps.path, &pi, q->tx, NGTCP2_MAX_UDP_PAYLOAD_SIZE, &c->ccerr,
        now_ns());
    c->state = C_CLOSING;
    if (n > 0) {
        c->closebuf = malloc((size_t)n);
        if (c->closebuf) {
            memcpy(c->closebuf, q->tx, (size_t)n);
            c->closelen = (size_t)n;
        }
        send_pkt(c->ep, (const struct sockaddr *)&c->remote, q->tx, (size_t)n);
    }
    arm_close_timer(c);
}

static void resend_close(al__qconn *c)
{
    /* Exponential backoff: packets 1, 2, 4, 8, ... get an answer. */
    unsigned n = ++c->close_rx;
    if (c->closebuf && (n & (n - 1)) == 0)
        send_pkt(c->ep, (const struct sockaddr *)&c->remote, c->closebuf,
                 c->closelen);
}

static void conn_fail(al__qconn *c, int liberr, int status, const char *detail)
{
    ngtcp2_ccerr_set_liberr(&c->ccerr, liberr, NULL, 0);
    start_closing(c);
    teardown(c, status, detail);
}

/* ------------------------------------------------------------ timers */

static void update_timer(al__qconn *c)
{
    ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(c->conn);
    if (exp == UINT64_MAX) {
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = now_ns();
    uint64_t ms = exp <= now ? 0 : (exp - now + 999999) / 1000000;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void conn_reap(al__qconn *c)
{
    while (c->dead) {
        al__qstream *s = c->dead;
        c->dead = s->xnext;
        stream_free(s);
    }
}

static void on_timer(uv_timer_t *t)
{
    al__qconn *c = t->data;
    if (c->state == C_CLOSING || c->state == C_DRAINING) {
        conn_free(c);
        return;
    }
    if (c->state == C_DEAD)
        return;
    int rv = ngtcp2_conn_handle_expiry(c->conn, now_ns());
    if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
        /* Silently, as RFC 9000 10.1 says for the idle timeout. */
        teardown(c, AL_E_NETWORK_TIMEOUT,
                 c->announced ? "idle timeout" : "handshake timed out");
        conn_free(c);
        return;
    }
    if (rv) {
        conn_fail(c, rv, AL_EPROTO, ngtcp2_strerror(rv));
        return;
    }
    conn_reap(c);
    mark_dirty(c);
}

/* ------------------------------------------------------------ TLS */

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref)
{
    al__qconn *c = ref->user_data;
    return c->conn;
}

static int verify_peer(gnutls_session_t s)
{
    ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(s);
    al__qconn *c = ref->user_data;
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
    if (!certs || n != 1) {
        c->verify_status = al_error_set(
            &c->verr, AL_ECRYPTO, "peer presented %u certificates, not one", n);
        return -1;
    }
    al_peer_id got;
    int rc = al__tlscert_verify(certs[0].data, certs[0].size,
                                c->has_expected ? &c->expected : NULL, &got,
                                &c->verr);
    if (rc == AL_EPEERID) {
        char want[AL_PEER_ID_STRLEN] = "?", have[AL_PEER_ID_STRLEN] = "?";
        al_peer_id_format(&c->expected, want, sizeof(want));
        al_peer_id_format(&got, have, sizeof(have));
        al_error_set(&c->verr, AL_EPEERID,
                     "peer id mismatch: expected %s, got %s", want, have);
    }
    if (rc) {
        c->verify_status = rc;
        return -1;
    }
    c->peer = got;
    c->verified = true;
    return 0;
}

static int tls_init(al__qconn *c, bool server)
{
    al__quic *q = c->q;
    unsigned flags = server ? GNUTLS_SERVER | GNUTLS_ENABLE_EARLY_DATA |
                                  GNUTLS_NO_AUTO_SEND_TICKET |
                                  GNUTLS_NO_END_OF_EARLY_DATA
                            : GNUTLS_CLIENT | GNUTLS_ENABLE_EARLY_DATA |
                                  GNUTLS_NO_END_OF_EARLY_DATA;
    if (gnutls_init(&c->tls, flags))
        return AL_ECRYPTO;
    int rv = server ? ngtcp2_crypto_gnutls_configure_server_session(c->tls)
                    : ngtcp2_crypto_gnutls_configure_client_session(c->tls);
    if (rv)
        return AL_ECRYPTO;
    if (gnutls_priority_set(c->tls, q->prio))
        return AL_ECRYPTO;
    if (gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, q->cred))
        return AL_ECRYPTO;
    if (server)
        gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_REQUIRE);
    gnutls_datum_t alpn = {(unsigned char *)AL__QUIC_ALPN,
                           sizeof(AL__QUIC_ALPN) - 1};
    gnutls_alpn_set_protocols(c->tls, &alpn, 1,
                              GNUTLS_ALPN_MANDATORY |
                                  (server ? GNUTLS_ALPN_SERVER_PRECEDENCE : 0));
    gnutls_session_set_verify_function(c->tls, verify_peer);
    c->ref.get_conn = get_conn;
    c->ref.user_data = c;
    gnutls_session_set_ptr(c->tls, &c->ref);
    return 0;
}

/* ------------------------------------------------------------ callbacks */

static void announce(al__qconn *c)
{
    if (c->announced || c->notified)
        return;
    al__quic *q = c->q;
    c->announced = true;
    c->state = C_READY;
    /* Keep-alive at half the idle timeout both sides agreed on. */
    uint64_t idle = (uint64_t)q->cfg.idle_timeout_ms * NGTCP2_MILLISECONDS;
    const ngtcp2_transport_params *rp =
        ngtcp2_conn_get_remote_transport_params(c->conn);
    if (rp && rp->max_idle_timeout && rp->max_idle_timeout < idle)
        idle = rp->max_idle_timeout;
    ngtcp2_conn_set_keep_alive_timeout(c->conn, idle / 2);
    if (q->cbs.conn_ready)
        q->cbs.conn_ready(c, q->ud);
}

static bool alpn_ok(al__qconn *c)
{
    gnutls_datum_t d = {NULL, 0};
    return gnutls_alpn_get_selected_protocol(c->tls, &d) == 0 &&
           d.size == sizeof(AL__QUIC_ALPN) - 1 &&
           memcmp(d.data, AL__QUIC_ALPN, d.size) == 0;
}

static int cb_handshake_completed(ngtcp2_conn *conn, void *ud)
{
    (void)conn;
    al__qconn *c = ud;
    if (!alpn_ok(c)) {
        c->verify_status =
            al_error_set(&c->verr, AL_ECRYPTO, "ALPN is not libp2p");
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    if (!c->verified) {
        c->verify_status =
            al_error_set(&c->verr, AL_ECRYPTO, "peer presented no certificate");
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    /* A dialer waits for HANDSHAKE_DONE: only then has the listener
     * accepted our certificate. */
    if (!c->outbound)
        announce(c);
    return 0;
}

static int cb_handshake_confirmed(ngtcp2_conn *conn, void *ud)
{
    (void)conn;
    al__qconn *c = ud;
    if (c->outbound && c->verified)
        announce(c);
    return 0;
}

static void queue_reset(al__qstream *s, int status)
{
    al__qconn *c = s->c;
    ready_unlink(c, s);
    if (!(s->flags & S_RESET_REQ)) {
        s->flags |= S_RESET_REQ;
        s->reset_status = status;
        s->xnext = c->resets;
        c->resets = s;
    }
    mark_dirty(c);
}

static int cb_stream_open(ngtcp2_conn *conn, int64_t id, void *ud)
{
    al__qconn *c = ud;
    al__quic *q = c->q;
    if (!ngtcp2_is_bidi_stream(id) || c->notified)
        return 0;
    al__qstream *s = stream_new(c);
    if (!s)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    s->id = id;
    ngtcp2_conn_set_stream_user_data(conn, id, s);
    /* A packet with the listener's HANDSHAKE_DONE may have been lost while
     * its stream data arrived: a stream from the listener proves that it
     * accepted us. */
    if (!c->announced && c->verified &&
        ngtcp2_conn_get_handshake_completed(conn))
        announce(c);
    if (!c->announced || q->closing) {
        s->flags |= S_DETACHED | S_NOTIFIED;
        queue_reset(s, AL_ECANCELED);
        return 0;
    }
    if (q->cbs.stream_open)
        q->cbs.stream_open(s, q->ud);
    return 0;
}

static int cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t id,
                               uint64_t offset, const uint8_t *data, size_t len,
                               void *ud, void *sud)
{
    (void)offset;
    al__qconn *c = ud;
    al__quic *q = c->q;
    al__qstream *s = sud;
    /* Bytes are handed over at once, so the windows move at once; the
     * layer above bounds what it keeps. */
    ngtcp2_conn_extend_max_stream_offset(conn, id, len);
    ngtcp2_conn_extend_max_offset(conn, len);
    if (!s || (s->flags & S_DETACHED))
        return 0;
    if (len && q->cbs.stream_data)
        q->cbs.stream_data(s, data, len, q->ud);
    if ((flags & NGTCP2_STREAM_DATA_FLAG_FIN) && !(s->flags & S_DETACHED)) {
        s->flags |= S_PEER_FIN;
        if (q->cbs.stream_fin)
            q->cbs.stream_fin(s, q->ud);
    }
    return 0;
}

static int cb_acked(ngtcp2_conn *conn, int64_t id, uint64_t offset,
                    uint64_t len, void *ud, void *sud)
{
    (void)conn;
    (void)id;
    al__qconn *c = ud;
    al__qstream *s = sud;
    if (!s)
        return 0;
    c->unacked -= (size_t)(offset + len - s->acked);
    s->acked = offset + len;
    while (s->head && s->head != s->scur &&
           s->head_off + s->head->len <= s->acked) {
        chunk *ch = s->head;
        s->head = ch->next;
        s->head_off += ch->len;
        chunk_free(c->q, ch);
    }
    if (s->head && s->acked == s->end && s->sent == s->end) {
        stream_release_chunks(c->q, s);
        s->head_off = s->end;
        s->spos = 0;
    }
    return 0;
}

static int cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t id,
                           uint64_t app_error_code, void *ud, void *sud)
{
    (void)app_error_code;
    al__qconn *c = ud;
    al__quic *q = c->q;
    al__qstream *s = sud;
    /* ngtcp2 does not return stream credit by itself. */
    if (ngtcp2_is_bidi_stream(id) && !ngtcp2_conn_is_local_stream(conn, id))
        ngtcp2_conn_extend_max_streams_bidi(conn, 1);
    mark_dirty(c);
    if (!s)
        return 0;
    s->flags |= S_CLOSED;
    ready_unlink(c, s);
    if (!(s->flags & S_NOTIFIED)) {
        s->flags |= S_NOTIFIED | S_DETACHED;
        /* Both sides wrote FIN: a STOP_SENDING that crossed our FIN does
         * not make the exchange a failure. */
        bool clean = !(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) ||
                     ((s->flags & S_FIN_SENT) && (s->flags & S_PEER_FIN));
        if (q->cbs.stream_close)
            q->cbs.stream_close(s, clean ? 0 : AL_EPROTO, q->ud);
    }
    if (!(s->flags & S_RESET_REQ)) {
        s->xnext = c->dead;
        c->dead = s;
    }
    return 0;
}

static void peer_aborted(al__qconn *c, al__qstream *s)
{
    al__quic *q = c->q;
    if (!s || (s->flags & S_NOTIFIED))
        return;
    s->flags |= S_NOTIFIED | S_DETACHED;
    if (q->cbs.stream_close)
        q->cbs.stream_close(s, AL_EPROTO, q->ud);
    queue_reset(s, AL_EPROTO);
}

static int cb_stream_reset(ngtcp2_conn *conn, int64_t id, uint64_t final_size,
                           uint64_t code, void *ud, void *sud)
{
    (void)conn;
    (void)id;
    (void)final_size;
    (void)code;
    peer_aborted(ud, sud);
    return 0;
}

static int cb_stop_sending(ngtcp2_conn *conn, int64_t id, uint64_t code,
                           void *ud, void *sud)
{
    (void)conn;
    (void)id;
    (void)code;
    al__qstream *s = sud;
    /* js-libp2p closes its read side once it has our FIN: not an error. */
    if (s && (s->flags & S_FIN_SENT) && (s->flags & S_PEER_FIN))
        return 0;
    peer_aborted(ud, s);
    return 0;
}

static int cb_extend_max_stream_data(ngtcp2_conn *conn, int64_t id,
                                     uint64_t max, void *ud, void *sud)
{
    (void)conn;
    (void)id;
    (void)max;
    (void)ud;
    al__qstream *s = sud;
    if (s && (s->flags & S_BLOCKED)) {
        s->flags &= ~S_BLOCKED;
        mark_ready(s);
    }
    return 0;
}

static int cb_extend_max_local_streams(ngtcp2_conn *conn, uint64_t max,
                                       void *ud)
{
    (void)conn;
    (void)max;
    al__qconn *c = ud;
    if (c->pend_head)
        mark_dirty(c);
    return 0;
}

static int cb_stateless_reset(ngtcp2_conn *conn,
                              const ngtcp2_pkt_stateless_reset *sr, void *ud)
{
    (void)conn;
    (void)sr;
    al__qconn *c = ud;
    c->stateless_reset = true;
    return 0;
}

static void cb_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx)
{
    (void)ctx;
    gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

static int cb_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
                      size_t cidlen, void *ud)
{
    (void)conn;
    al__qconn *c = ud;
    if (gnutls_rnd(GNUTLS_RND_NONCE, cid->data, cidlen))
        return NGTCP2_ERR_CALLBACK_FAILURE;
    cid->datalen = cidlen;
    if (ngtcp2_crypto_generate_stateless_reset_token(
            token, c->q->reset_secret, sizeof(c->q->reset_secret), cid))
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return conn_add_cid(c, cid) ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int cb_remove_cid(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *ud)
{
    (void)conn;
    conn_remove_cid(ud, cid);
    return 0;
}

static void set_callbacks(ngtcp2_callbacks *cb, bool server)
{
    memset(cb, 0, sizeof(*cb));
    if (server) {
        cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    } else {
        cb->client_initial = ngtcp2_crypto_client_initial_cb;
        cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
    }
    cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb->encrypt = ngtcp2_crypto_encrypt_cb;
    cb->decrypt = ngtcp2_crypto_decrypt_cb;
    cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb->update_key = ngtcp2_crypto_update_key_cb;
    cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb->rand = cb_rand;
    cb->get_new_connection_id = cb_new_cid;
    cb->remove_connection_id = cb_remove_cid;
    cb->handshake_completed = cb_handshake_completed;
    cb->handshake_confirmed = cb_handshake_confirmed;
    cb->stream_open = cb_stream_open;
    cb->recv_stream_data = cb_recv_stream_data;
    cb->acked_stream_data_offset = cb_acked;
    cb->stream_close = cb_stream_close;
    cb->stream_reset = cb_stream_reset;
    cb->stream_stop_sending = cb_stop_sending;
    cb->extend_max_stream_data = cb_extend_max_stream_data;
    cb->extend_max_local_streams_bidi = cb_extend_max_local_streams;
    cb->recv_stateless_reset = cb_stateless_reset;
}

/* ------------------------------------------------------------ connections */

static bool is_loopback(const struct sockaddr *sa);

static void conn_settings(al__quic *q, ngtcp2_settings *st,
                          ngtcp2_transport_params *tp,
                          const struct sockaddr *remote)
{
    ngtcp2_settings_default(st);
    if (is_loopback(remote)) {
        /* The path MTU of the loopback interface is known (64 KiB): no
         * need to start at 1200 bytes and probe. Larger packets carry
         * more streams each, so fewer packets, system calls, AEAD
         * operations and acknowledgements per request. The peer's
         * max_udp_payload_size still bounds what is sent. */
        st->no_tx_udp_payload_size_shaping = 1;
        st->max_tx_udp_payload_size = LOOPBACK_PAYLOAD;
        st->no_pmtud = 1;
    }
    st->initial_ts = now_ns();
    st->handshake_timeout =
        (uint64_t)q->cfg.handshake_timeout_ms * NGTCP2_MILLISECONDS;
    st->max_window = MAX_WINDOW;
    st->max_stream_window = MAX_WINDOW;
    ngtcp2_transport_params_default(tp);
    tp->initial_max_stream_data_bidi_local = STREAM_WINDOW;
    tp->initial_max_stream_data_bidi_remote = STREAM_WINDOW;
    tp->initial_max_stream_data_uni = 0;
    tp->initial_max_data = CONN_WINDOW;
    tp->initial_max_streams_bidi = q->cfg.max_streams_per_conn;
    tp->initial_max_streams_uni = 0;
    tp->max_idle_timeout =
        (uint64_t)q->cfg.idle_timeout_ms * NGTCP2_MILLISECONDS;
}

static al__qconn *conn_alloc(al__quic *q, ep *e, const struct sockaddr *remote)
{
    al__qconn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->q = q;
    c->ep = e;
    c->remotelen = sa_len(remote);
    memcpy(&c->remote, remote, c->remotelen);
    ngtcp2_ccerr_default(&c->ccerr);
    uv_timer_init(q->loop, &c->timer);
    c->timer.data = c;
    c->next = q->conns;
    if (q->conns)
        q->conns->prev = c;
    q->conns = c;
    q->nconns++;
    return c;
}

static int random_cid(ngtcp2_cid *cid, size_t len)
{
    cid->datalen = len;
    return gnutls_rnd(GNUTLS_RND_NONCE, cid->data, len) ? AL_ECRYPTO : 0;
}

/* A new connection from a client's first Initial packet. */
static al__qconn *conn_accept(al__quic *q, ep *e, const struct sockaddr *from,
                              const ngtcp2_pkt_hd *hd)
{
    al__qconn *c = conn_alloc(q, e, from);
    if (!c)
        return NULL;
    ngtcp2_cid scid;
    ngtcp2_settings st;
    ngtcp2_transport_params tp;
    ngtcp2_callbacks cb;
    conn_settings(q, &st, &tp, from);
    set_callbacks(&cb, true);
    if (random_cid(&scid, SCID_LEN))
        goto fail;
    tp.original_dcid = hd->dcid;
    tp.original_dcid_present = 1;
    tp.stateless_reset_token_present = 1;
    if (ngtcp2_crypto_generate_stateless_reset_token(
            tp.stateless_reset_token, q->reset_secret, sizeof(q->reset_secret),
            &scid))
        goto fail;
    ngtcp2_path path = {
        .local = {(ngtcp2_sockaddr *)&e->addr, e->addrlen},
        .remote = {(ngtcp2_sockaddr *)&c->remote, c->remotelen},
    };
    if (ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, &path, hd->version,
                               &cb, &st, &tp, NULL, c))
        goto fail;
    if (tls_init(c, true))
        goto fail;
    ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
    if (conn_add_cid(c, &scid) || conn_add_cid(c, &hd->dcid))
        goto fail;
    return c;
fail:
    conn_free(c);
    return NULL;
}

static void conn_read(al__qconn *c, const uint8_t *data, size_t len,
                      const struct sockaddr *from)
{
    ngtcp2_path path = {
        .local = {(ngtcp2_sockaddr *)&c->ep->addr, c->ep->addrlen},
        .remote = {(ngtcp2_sockaddr *)from, sa_len(from)},
    };
    int rv = ngtcp2_conn_read_pkt(c->conn, &path, NULL, data, len, now_ns());
    if (rv == 0) {
        conn_reap(c);
        mark_dirty(c);
        return;
    }
    char detail[AL_ERROR_MSG];
    switch (rv) {
    case NGTCP2_ERR_DRAINING: {
        const ngtcp2_ccerr *ce = ngtcp2_conn_get_ccerr(c->conn);
        int status = AL_E_CONNECTION_CLOSED;
        if (c->stateless_reset) {
            snprintf(detail, sizeof(detail), "stateless reset by the peer");
        } else if (ce->type == NGTCP2_CCERR_TYPE_TRANSPORT &&
                   ce->error_code == NGTCP2_CONNECTION_REFUSED) {
            status = AL_ELIMIT;
            snprintf(detail, sizeof(detail), "the peer refused the connection");
        } else if (ce->type == NGTCP2_CCERR_TYPE_TRANSPORT &&
                   (ce->error_code & ~0xffULL) == NGTCP2_CRYPTO_ERROR) {
            status = AL_ECRYPTO;
            snprintf(detail, sizeof(detail),
                     "the peer refused the TLS handshake (alert %u)",
                     (unsigned)(ce->error_code & 0xff));
        } else if (ce->type == NGTCP2_CCERR_TYPE_TRANSPORT &&
                   ce->error_code != NGTCP2_NO_ERROR) {
            status = AL_EPROTO;
            snprintf(detail, sizeof(detail),
                     "the peer closed the connection with error 0x%llx",
                     (unsigned long long)ce->error_code);
        } else {
            snprintf(detail, sizeof(detail), "closed by the peer");
        }
        if (!c->announced && status == AL_E_CONNECTION_CLOSED)
            snprintf(detail, sizeof(detail),
                     "the peer closed the connection during the handshake");
        start_draining(c);
        arm_close_timer(c);
        teardown(c, status, detail);
        return;
    }
    case NGTCP2_ERR_DROP_CONN:
    case NGTCP2_ERR_RETRY:
        teardown(c, AL_EPROTO, "connection dropped");
        conn_free(c);
        return;
    case NGTCP2_ERR_CRYPTO:
    case NGTCP2_ERR_CALLBACK_FAILURE:
        if (c->verify_status) {
            if (rv == NGTCP2_ERR_CRYPTO)
                ngtcp2_ccerr_set_tls_alert(
                    &c->ccerr, ngtcp2_conn_get_tls_alert(c->conn), NULL, 0);
            else
                ngtcp2_ccerr_set_liberr(&c->ccerr, rv, NULL, 0);
            start_closing(c);
            teardown(c, c->verify_status, c->verr.msg);
            return;
        }
        if (rv == NGTCP2_ERR_CRYPTO) {
            uint8_t alert = ngtcp2_conn_get_tls_alert(c->conn);
            ngtcp2_ccerr_set_tls_alert(&c->ccerr, alert, NULL, 0);
            snprintf(detail, sizeof(detail), "TLS handshake failed (alert %u)",
                     alert);
            start_closing(c);
            teardown(c, AL_ECRYPTO, detail);
            return;
        }
        conn_fail(c, rv, AL_EPROTO, "internal callback failure");
        return;
    default:
        snprintf(detail, sizeof(detail), "QUIC error: %s", ngtcp2_strerror(rv));
        conn_fail(c, rv, AL_EPROTO, detail);
        return;
    }
}

/* ------------------------------------------------------------ writing */

static size_t stream_vecs(const al__qstream *s, ngtcp2_vec *v, size_t max,
                          uint64_t *total)
{
    size_t n = 0;
    uint64_t t = 0;
    const chunk *ch = s->scur;
    uint32_t pos = s->spos;
    while (ch && n < max) {
        if (pos < ch->len) {
            v[n].base = (uint8_t *)ch->data + pos;
            v[n].len = ch->len - pos;
            t += v[n].len;
            n++;
        }
        ch = ch->next;
        pos = 0;
    }
    *total = t;
    return n;
}

static void stream_advance(al__qstream *s, uint64_t n, uint32_t flags,
                           uint64_t total)
{
    if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && n == total)
        s->flags |= S_FIN_SENT;
    s->sent += n;
    while (n > 0 && s->scur) {
        uint64_t avail = s->scur->len - s->spos;
        uint64_t take = n < avail ? n : avail;
        s->spos += (uint32_t)take;
        n -= take;
        if (s->spos == s->scur->len && s->scur->next) {
            s->scur = s->scur->next;
            s->spos = 0;
        }
    }
    if (!has_send(s))
        ready_unlink(s->c, s);
}

static void conn_write(al__qconn *c)
{
    al__quic *q = c->q;
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    uint64_t ts = now_ns();
    size_t mtu = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->conn);
    size_t quantum = ngtcp2_conn_get_send_quantum(c->conn);
    if (quantum < 16 * mtu)
        quantum = 16 * mtu;
    size_t out = 0;
    for (;;) {
        al__qstream *s = c->ready_head;
        ngtcp2_vec vec[MAX_VECS];
        size_t nv = 0;
        uint64_t total = 0;
        uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
        int64_t sid = -1;
        if (s) {
            nv = stream_vecs(s, vec, MAX_VECS, &total);
            sid = s->id;
            if ((s->flags & S_FIN_REQ) && s->sent + total == s->end)
                flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        }
        ngtcp2_ssize ndata = -1;
        ngtcp2_ssize n =
            ngtcp2_conn_writev_stream(c->conn, &ps.path, &pi, q->tx, mtu,
                                      &ndata, flags, sid, vec, nv, ts);
        if (n < 0) {
            switch (n) {
            case NGTCP2_ERR_WRITE_MORE:
                stream_advance(s, (uint64_t)ndata, flags, total);
                continue;
            case NGTCP2_ERR_STREAM_DATA_BLOCKED:
                s->flags |= S_BLOCKED;
                ready_unlink(c, s);
                continue;
            case NGTCP2_ERR_STREAM_SHUT_WR:
            case NGTCP2_ERR_STREAM_NOT_FOUND:
                s->flags |= S_WSHUT;
                ready_unlink(c, s);
                continue;
            default: {
                char detail[AL_ERROR_MSG];
                snprintf(detail, sizeof(detail), "QUIC error: %s",
                         ngtcp2_strerror((int)n));
                conn_fail(c, (int)n, AL_EPROTO, detail);
                return;
            }
            }
        }
        if (s && ndata >= 0)
            stream_advance(s, (uint64_t)ndata, flags, total);
        if (n == 0)
            break;
        send_pkt(c->ep, (const struct sockaddr *)ps.path.remote.addr, q->tx,
                 (size_t)n);
        out += (size_t)n;
        /* Round robin between streams that fill whole packets. */
        if (s && (s->flags & S_READY) && c->ready_head == s && s->rnext) {
            c->ready_head = s->rnext;
            c->ready_head->rprev = NULL;
            s->rnext = NULL;
            s->rprev = c->ready_tail;
            c->ready_tail->rnext = s;
            c->ready_tail = s;
        }
        if (out >= quantum)
            break;
    }
    ngtcp2_conn_update_pkt_tx_time(c->conn, ts);
}

static void process_resets(al__qconn *c)
{
    al__quic *q = c->q;
    while (c->resets && !c->notified) {
        al__qstream *s = c->resets;
        c->resets = s->xnext;
        s->flags &= ~S_RESET_REQ;
        if (s->id >= 0 && !(s->flags & S_CLOSED))
            ngtcp2_conn_shutdown_stream(c->conn, 0, s->id, APP_ERROR_CANCEL);
        if (!(s->flags & S_NOTIFIED)) {
            s->flags |= S_NOTIFIED | S_DETACHED;
            if (q->cbs.stream_close)
                q->cbs.stream_close(s, s->reset_status, q->ud);
        }
        if (s->id < 0 || (s->flags & S_CLOSED))
            stream_free(s);
    }
}

static void open_pending(al__qconn *c)
{
    while (c->pend_head && c->state == C_READY) {
        al__qstream *s = c->pend_head;
        int64_t id;
        int rv = ngtcp2_conn_open_bidi_stream(c->conn, &id, s);
        if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
            return;
        ready_unlink(c, s);
        if (rv) {
            s->flags |= S_DETACHED;
            queue_reset(s, AL_EPROTO);
            continue;
        }
        s->id = id;
        mark_ready(s);
    }
}

static void conn_flush(al__qconn *c)
{
    if (c->state >= C_CLOSING || c->notified) {
        conn_reap(c);
        return;
    }
    process_resets(c);
    if (c->notified)
        return;
    open_pending(c);
    conn_write(c);
    if (c->state < C_CLOSING && c->close_req) {
        ngtcp2_ccerr_set_application_error(&c->ccerr, 0, NULL, 0);
        start_closing(c);
        teardown(c, 0, "closed locally");
        return;
    }
    if (c->state < C_CLOSING)
        update_timer(c);
    conn_reap(c);
}

/* ------------------------------------------------------------ endpoints */

static void on_ep_closed(uv_handle_t *h)
{
    ep *e = h->data;
    al__quic *q = e->q;
    free(e->rx);
    free(e);
    on_handle_closed(q);
}

static bool reset_budget(al__quic *q)
{
    uint64_t now = uv_now(q->loop);
    if (now - q->reset_epoch_ms >= 1000) {
        q->reset_epoch_ms = now;
        q->resets_left = RESETS_PER_SEC;
    }
    if (!q->resets_left)
        return false;
    q->resets_left--;
    return true;
}

static void send_stateless_reset(ep *e, size_t len, const struct sockaddr *to,
                                 const ngtcp2_version_cid *vc)
{
    al__quic *q = e->q;
    /* Always shorter than what triggered it, so two endpoints without
     * state cannot ping-pong resets. */
    enum { RAND_LEN = 26, RESET_LEN = 1 + RAND_LEN + 16 };
    if (len <= RESET_LEN || !reset_budget(q))
        return;
    ngtcp2_cid cid;
    ngtcp2_cid_init(&cid, vc->dcid, vc->dcidlen);
    uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN], rnd[RAND_LEN];
    if (ngtcp2_crypto_generate_stateless_reset_token(
            token, q->reset_secret, sizeof(q->reset_secret), &cid))
        return;
    gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd));
    uint8_t buf[64];
    ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(buf, sizeof(buf), token,
                                                      rnd, sizeof(rnd));
    if (n > 0)
        send_pkt(e, to, buf, (size_t)n);
}

/* A short-header packet for no connection we know: maybe the peer's
 * stateless reset for one of ours (it carries random ids). ngtcp2 checks
 * the token when a connection on that path cannot decrypt the packet. */
static bool try_stateless_reset(ep *e, const uint8_t *d, size_t len,
                                const struct sockaddr *from)
{
    al__quic *q = e->q;
    for (al__qconn *c = q->conns; c;) {
        al__qconn *next = c->next;
        if (c->ep == e && c->state <= C_READY && !c->notified &&
            sa_equal((const struct sockaddr *)&c->remote, from)) {
            conn_read(c, d, len, from);
            if (c->stateless_reset)
                return true;
        }
        c = next;
    }
    return false;
}

static void send_version_negotiation(ep *e, const struct sockaddr *to,
                                     const ngtcp2_version_cid *vc, size_t len)
{
    if (len < NGTCP2_MAX_UDP_PAYLOAD_SIZE)
        return;
    uint32_t sv[] = {NGTCP2_PROTO_VER_V1};
    uint8_t unused, buf[256];
    gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1);
    ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
        buf, sizeof(buf), unused, vc->scid, vc->scidlen, vc->dcid, vc->dcidlen,
        sv, 1);
    if (n > 0)
        send_pkt(e, to, buf, (size_t)n);
}

static void accept_initial(ep *e, const uint8_t *d, size_t len,
                           const struct sockaddr *from)
{
    al__quic *q = e->q;
    ngtcp2_pkt_hd hd;
    if (!e->listening || ngtcp2_accept(&hd, d, len) != 0)
        return;
    if (q->nconns >= q->cfg.max_connections) {
        uint8_t buf[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
        ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(
            buf, sizeof(buf), hd.version, &hd.scid, &hd.dcid,
            NGTCP2_CONNECTION_REFUSED, NULL, 0);
        if (n > 0)
            send_pkt(e, from, buf, (size_t)n);
        return;
    }
    al__qconn *c = conn_accept(q, e, from, &hd);
    if (c)
        conn_read(c, d, len, from);
}

static void handle_datagram(ep *e, const uint8_t *d, size_t len,
                            const struct sockaddr *from)
{
    ngtcp2_version_cid vc;
    int rv = ngtcp2_pkt_decode_version_cid(&vc, d, len, SCID_LEN);
    if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
        send_version_negotiation(e, from, &vc, len);
        return;
    }
    if (rv != 0)
        return;
    al__qconn *c = cidmap_find(&e->q->map, vc.dcid, vc.dcidlen);
    if (c) {
        if (c->state == C_CLOSING)
            resend_close(c);
        else if (c->state <= C_READY && !c->notified)
            conn_read(c, d, len, from);
        return;
    }
    if (d[0] & 0x80) {
        accept_initial(e, d, len, from);
        return;
    }
    if (!try_stateless_reset(e, d, len, from))
        send_stateless_reset(e, len, from, &vc);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    ep *e = h->data;
    *buf = uv_buf_init((char *)e->rx, RX_DGRAM * RX_CHUNKS);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *from, unsigned flags)
{
    ep *e = h->data;
    if (nread <= 0 || !from || (flags & UV_UDP_PARTIAL) || e->q->closing)
        return;
    handle_datagram(e, (const uint8_t *)buf->base, (size_t)nread, from);
}

static ep *ep_open(al__quic *q, const struct sockaddr *addr, bool listening,
                   al_error *err)
{
    ep *e = calloc(1, sizeof(*e));
    if (!e) {
        al_error_set(err, AL_ENOMEM, "out of memory");
        return NULL;
    }
    e->q = q;
    e->listening = listening;
    e->rx = malloc(RX_DGRAM * RX_CHUNKS);
    if (!e->rx) {
        free(e);
        al_error_set(err, AL_ENOMEM, "out of memory");
        return NULL;
    }
    int rc = uv_udp_init_ex(q->loop, &e->udp,
                            (unsigned)addr->sa_family | UV_UDP_RECVMMSG);
    if (rc) {
        free(e->rx);
        free(e);
        al_error_set(err, AL_EIO, "UDP socket: %s", uv_strerror(rc));
        return NULL;
    }
    e->udp.data = e;
    unsigned bflags = addr->sa_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0;
    rc = uv_udp_bind(&e->udp, addr, bflags);
    int namelen = sizeof(e->addr);
    if (!rc)
        rc = uv_udp_getsockname(&e->udp, (struct sockaddr *)&e->addr, &namelen);
    if (!rc)
        rc = uv_udp_recv_start(&e->udp, on_alloc, on_recv);
    if (rc) {
        al_error_set(err, AL_EIO, "UDP bind: %s", uv_strerror(rc));
        q->closing_handles++;
        uv_close((uv_handle_t *)&e->udp, on_ep_closed);
        return NULL;
    }
    e->addrlen = (socklen_t)namelen;
    /* Bursts of small packets need room; the kernel caps it anyway. */
    int size = 4 << 20;
    uv_recv_buffer_size((uv_handle_t *)&e->udp, &size);
    size = 4 << 20;
    uv_send_buffer_size((uv_handle_t *)&e->udp, &size);
    e->next = q->eps;
    q->eps = e;
    return e;
}

int al__quic_listen(al__quic *q, const struct sockaddr *addr,
                    struct sockaddr_storage *bound, al_error *err)
{
    if (q->closing || q->shutdown_req)
        return al_error_set(err, AL_ESTATE, "the swarm is stopping");
    if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
        return al_error_set(err, AL_EINVAL, "not an IP address");
    ep *e = ep_open(q, addr, true, err);
    if (!e)
        return err ? err->code : AL_EIO;
    if (bound)
        memcpy(bound, &e->addr, e->addrlen);
    return 0;
}

static bool is_unspecified(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == 0;
    static const uint8_t zero[16];
    return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, zero, 16) == 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >>
                24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* The socket to dial from: a listening one of the same family when it can
 * reach the target (port reuse), else an ephemeral one. */
static ep *dial_ep(al__quic *q, const struct sockaddr *remote, al_error *err)
{
    ep *eph = NULL;
    for (ep *e = q->eps; e; e = e->next) {
        const struct sockaddr *a = (const struct sockaddr *)&e->addr;
        if (a->sa_family != remote->sa_family)
            continue;
        if (!e->listening) {
            eph = e;
            continue;
        }
        if (is_unspecified(a) || (is_loopback(a) && is_loopback(remote)))
            return e;
    }
    if (eph)
        return eph;
    struct sockaddr_storage any;
    memset(&any, 0, sizeof(any));
    any.ss_family = remote->sa_family;
    return ep_open(q, (const struct sockaddr *)&any, false, err);
}

int al__quic_dial(al__quic *q, const struct sockaddr *remote,
                  const al_peer_id *expected, void *ud, al__qconn **out,
                  al_error *err)
{
    *out = NULL;
    if (q->closing || q->shutdown_req)
        return al_error_set(err, AL_ECANCELED, "the swarm is stopping");
    if (remote->sa_family != AF_INET && remote->sa_family != AF_INET6)
        return al_error_set(err, AL_EINVAL, "not an IP address");
    if (q->nconns >= q->cfg.max_connections)
        return al_error_set(err, AL_ELIMIT, "connection limit (%u) reached",
                            q->cfg.max_connections);
    ep *e = dial_ep(q, remote, err);
    if (!e)
        return err ? err->code : AL_EIO;
    al__qconn *c = conn_alloc(q, e, remote);
    if (!c)
        return al_error_set(err, AL_ENOMEM, "out of memory");
    c->outbound = true;
    c->ud = ud;
    if (expected) {
        c->expected = *expected;
        c->has_expected = true;
    }
    ngtcp2_cid scid, dcid;
    ngtcp2_settings st;
    ngtcp2_transport_params tp;
    ngtcp2_callbacks cb;
    conn_settings(q, &st, &tp, remote);
    set_callbacks(&cb, false);
    int rc = AL_ECRYPTO;
    if (random_cid(&scid, SCID_LEN) || random_cid(&dcid, 18))
        goto fail;
    ngtcp2_path path = {
        .local = {(ngtcp2_sockaddr *)&e->addr, e->addrlen},
        .remote = {(ngtcp2_sockaddr *)&c->remote, c->remotelen},
    };
    rc = AL_ENOMEM;
    if (ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &path,
                               NGTCP2_PROTO_VER_V1, &cb, &st, &tp, NULL, c))
        goto fail;
    rc = tls_init(c, false);
    if (rc)
        goto fail;
    ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
    rc = conn_add_cid(c, &scid);
    if (rc)
        goto fail;
    mark_dirty(c);
    *out = c;
    return 0;
fail:
    c->notified = true; /* nothing to tell: the caller gets the error */
    conn_free(c);
    return al_error_set(err, rc, "cannot set up the QUIC connection");
}

/* ------------------------------------------------------------ flush */

static void on_flush_handle_closed(uv_handle_t *h)
{
    on_handle_closed(h->data);
}

static void do_shutdown(al__quic *q)
{
    q->closing = true;
    while (q->conns) {
        al__qconn *c = q->conns;
        if (c->state <= C_READY && !c->notified) {
            ngtcp2_ccerr_set_application_error(&c->ccerr, 0, NULL, 0);
            start_closing(c);
        }
        teardown(c, AL_ECANCELED, "the swarm is stopping");
        conn_free(c);
    }
    for (ep *e = q->eps; e; e = e->next) {
        uv_udp_recv_stop(&e->udp);
        q->closing_handles++;
        uv_close((uv_handle_t *)&e->udp, on_ep_closed);
    }
    q->eps = NULL;
    q->handles_active = false;
    q->closing_handles += 2;
    uv_close((uv_handle_t *)&q->prep, on_flush_handle_closed);
    uv_close((uv_handle_t *)&q->check, on_flush_handle_closed);
}

static void flush(al__quic *q)
{
    if (q->in_flush || q->closing)
        return;
    q->in_flush = true;
    /* Writing may queue more work above (a stream closed, a module opens
     * another); a few rounds, then the next loop turn carries on. */
    bool quiet = false;
    for (int round = 0; round < 8 && !quiet; round++) {
        bool work = q->cbs.pre_flush ? q->cbs.pre_flush(q->ud) : false;
        if (q->shutdown_req) {
            do_shutdown(q);
            q->in_flush = false;
            return;
        }
        quiet = !q->dirty_head && !work;
        while (q->dirty_head) {
            al__qconn *c = q->dirty_head;
            dirty_unlink(c);
            conn_flush(c);
        }
    }
    q->in_flush = false;
    if (quiet && q->handles_active) {
        q->handles_active = false;
        uv_prepare_stop(&q->prep);
        uv_check_stop(&q->check);
    }
}

void al__quic_shutdown(al__quic *q, void (*done)(void *), void *done_ud)
{
    q->done = done;
    q->done_ud = done_ud;
    q->shutdown_req = true;
    if (q->closing)
        return;
    al__quic_schedule(q);
}

/* ------------------------------------------------------------ setup */

/* The stateless-reset secret comes from the host key, not from chance: a
 * node restarted with the same key can then reset the connections its
 * previous run left open at its peers, which otherwise wait for the idle
 * timeout before dialing it again. Ed25519 signatures are deterministic, so
 * a hash of one over a fixed label is a secret only the key holder can
 * derive, and the same at every start. */
static int derive_reset_secret(const al_identity *host, uint8_t out[32])
{
    static const char label[] = "actorlib quic stateless reset secret v1";
    uint8_t sig[64];
    if (!host ||
        al__identity_sign(host, (const uint8_t *)label, sizeof(label) - 1, sig))
        return gnutls_rnd(GNUTLS_RND_KEY, out, 32);
    int rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, sig, sizeof(sig), out);
    gnutls_memset(sig, 0, sizeof(sig));
    return rc;
}

int al__quic_new(al__quic **out, uv_loop_t *loop, const al_identity *host,
                 const al__quic_config *cfg, const al__quic_cbs *cbs, void *ud,
                 al_error *err)
{
    *out = NULL;
    al__quic *q = calloc(1, sizeof(*q));
    if (!q)
        return al_error_set(err, AL_ENOMEM, "out of memory");
    q->loop = loop;
    q->host = host;
    q->cfg = cfg ? *cfg : (al__quic_config){0};
    if (!q->cfg.idle_timeout_ms)
        q->cfg.idle_timeout_ms = 60000;
    if (!q->cfg.handshake_timeout_ms)
        q->cfg.handshake_timeout_ms = 10000;
    if (!q->cfg.max_connections)
        q->cfg.max_connections = 1024;
    if (!q->cfg.max_streams_per_conn)
        q->cfg.max_streams_per_conn = 1000;
    if (!q->cfg.max_pending_streams)
        q->cfg.max_pending_streams = 4096;
    if (!q->cfg.max_stream_send)
        q->cfg.max_stream_send = 16u << 20;
    if (!q->cfg.max_conn_send)
        q->cfg.max_conn_send = 64u << 20;
    q->cbs = *cbs;
    q->ud = ud;
    int rc;
    if (derive_reset_secret(host, q->reset_secret) ||
        gnutls_rnd(GNUTLS_RND_NONCE, &q->map.seed, sizeof(q->map.seed))) {
        rc = al_error_set(err, AL_ECRYPTO, "no randomness");
        goto fail;
    }
    const char *errpos = NULL;
    if (gnutls_priority_init(&q->prio, tls_priority, &errpos)) {
        q->prio = NULL;
        rc = al_error_set(err, AL_ECRYPTO, "GnuTLS priority string refused");
        goto fail;
    }
    if (gnutls_certificate_allocate_credentials(&q->cred)) {
        q->cred = NULL;
        rc = al_error_set(err, AL_ENOMEM, "out of memory");
        goto fail;
    }
    al__tlscert cert;
    rc = al__tlscert_generate(host, &cert, err);
    if (rc)
        goto fail;
    rc = al__tlscert_set_credentials(&cert, q->cred, err);
    al__tlscert_free(&cert);
    if (rc)
        goto fail;
    uv_prepare_init(loop, &q->prep);
    uv_check_init(loop, &q->check);
    q->prep.data = q;
    q->check.data = q;
    /* The flush handles must not keep a loop alive by themselves. */
    uv_unref((uv_handle_t *)&q->prep);
    uv_unref((uv_handle_t *)&q->check);
    *out = q;
    return 0;
fail:
    if (q->cred)
        gnutls_certificate_free_credentials(q->cred);
    if (q->prio)
        gnutls_priority_deinit(q->prio);
    free(q);
    return rc;
}

void al__quic_free(al__quic *q)
{
    if (!q)
        return;
    free(q->map.slots);
    while (q->free_chunks) {
        chunk *ch = q->free_chunks;
        q->free_chunks = ch->next;
        free(ch);
    }
    while (q->free_streams) {
        al__qstream *s = q->free_streams;
        q->free_streams = s->next;
        free(s);
    }
    if (q->cred)
        gnutls_certificate_free_credentials(q->cred);
    for (size_t i = 0; i < q->nold_creds; i++)
        gnutls_certificate_free_credentials(q->old_creds[i]);
    if (q->prio)
        gnutls_priority_deinit(q->prio);
    free(q);
}

size_t al__quic_num_conns(const al__quic *q)
{
    return q->nconns;
}

int al__quic_test_set_cert(al__quic *q, const char *cert_pem,
                           const char *key_pem, al_error *err)
{
    if (q->nold_creds == sizeof(q->old_creds) / sizeof(q->old_creds[0]))
        return al_error_set(err, AL_ELIMIT, "too many certificate changes");
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred))
        return al_error_set(err, AL_ENOMEM, "out of memory");
    gnutls_datum_t c = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
    gnutls_datum_t k = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
    int rv =
        gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
    if (rv < 0) {
        gnutls_certificate_free_credentials(cred);
        return al_error_set(err, AL_ECRYPTO, "GnuTLS refused the key: %s",
                            gnutls_strerror(rv));
    }
    /* Sessions still using the old credentials keep them until the end. */
    q->old_creds[q->nold_creds++] = q->cred;
    q->cred = cred;
    return 0;
}

void al__quic_test_forget_all(al__quic *q)
{
    while (q->conns) {
        al__qconn *c = q->conns;
        teardown(c, AL_ECANCELED, "forgotten");
        conn_free(c);
    }
}

int al__quic_test_inject(al__quic *q, const uint8_t *data, size_t len,
                         const struct sockaddr *from)
{
    for (ep *e = q->eps; e; e = e->next) {
        if (e->listening) {
            if (!q->closing && len > 0)
                handle_datagram(e, data, len, from);
            return 0;
        }
    }
    return AL_ESTATE;
}

/* ------------------------------------------------------------ accessors */

void *al__qconn_ud(const al__qconn *c)
{
    return c->ud;
}

void al__qconn_set_ud(al__qconn *c, void *ud)
{
    c->ud = ud;
}

const al_peer_id *al__qconn_peer(const al__qconn *c)
{
    return &c->peer;
}

bool al__qconn_outbound(const al__qconn *c)
{
    return c->outbound;
}

const struct sockaddr *al__qconn_remote(const al__qconn *c)
{
    return (const struct sockaddr *)&c->remote;
}

const struct sockaddr *al__qconn_local(const al__qconn *c)
{
    return (const struct sockaddr *)&c->ep->addr;
}

uint64_t al__qconn_rtt_us(const al__qconn *c)
{
    if (!c->conn)
        return 0;
    ngtcp2_conn_info ci;
    ngtcp2_conn_get_conn_info(c->conn, &ci);
    return ci.smoothed_rtt / 1000;
}

size_t al__qconn_num_streams(const al__qconn *c)
{
    return c->nstreams;
}

void al__qconn_close(al__qconn *c)
{
    if (c->notified || c->state >= C_CLOSING)
        return;
    c->close_req = true;
    mark_dirty(c);
}

int al__qconn_open_stream(al__qconn *c, void *ud, al__qstream **out)
{
    *out = NULL;
    if (c->state != C_READY || c->notified || c->close_req || c->q->closing)
        return AL_ESTATE;
    if (c->npending >= c->q->cfg.max_pending_streams)
        return AL_ELIMIT;
    al__qstream *s = stream_new(c);
    if (!s)
        return AL_ENOMEM;
    s->ud = ud;
    s->flags = S_LOCAL | S_PENDING;
    s->rnext = NULL;
    s->rprev = c->pend_tail;
    if (c->pend_tail)
        c->pend_tail->rnext = s;
    else
        c->pend_head = s;
    c->pend_tail = s;
    c->npending++;
    mark_dirty(c);
    *out = s;
    return 0;
}

void *al__qstream_ud(const al__qstream *s)
{
    return s->ud;
}

void al__qstream_set_ud(al__qstream *s, void *ud)
{
    s->ud = ud;
}

al__qconn *al__qstream_conn(const al__qstream *s)
{
    return s->c;
}

int64_t al__qstream_id(const al__qstream *s)
{
    return s->id;
}

bool al__qstream_local(const al__qstream *s)
{
    return s->flags & S_LOCAL;
}

int al__qstream_write(al__qstream *s, const void *data, size_t len)
{
    if (s->flags & (S_FIN_REQ | S_DETACHED | S_RESET_REQ | S_CLOSED))
        return AL_ESTATE;
    al__quic *q = s->c->q;
    if (len > q->cfg.max_stream_send ||
        s->end - s->acked + len > q->cfg.max_stream_send ||
        len > q->cfg.max_conn_send - s->c->unacked)
        return AL_ELIMIT;
    const uint8_t *p = data;
    while (len) {
        chunk *t = s->tail;
        if (t && t->len < t->cap) {
            size_t take = t->cap - t->len < len ? t->cap - t->len : len;
            memcpy(t->data + t->len, p, take);
            t->len += (uint32_t)take;
            p += take;
            len -= take;
            s->end += take;
            s->c->unacked += take;
            continue;
        }
        chunk *ch = chunk_new(q, len);
        if (!ch)
            return AL_ENOMEM;
        if (!s->head) {
            s->head = s->tail = s->scur = ch;
            s->head_off = s->end;
            s->spos = 0;
        } else {
            t->next = ch;
            s->tail = ch;
            if (s->scur == t && s->spos == t->len) {
                s->scur = ch;
                s->spos = 0;
            }
        }
    }
    mark_ready(s);
    return 0;
}

int al__qstream_finish(al__qstream *s)
{
    if (s->flags & (S_FIN_REQ | S_DETACHED | S_RESET_REQ | S_CLOSED))
        return AL_ESTATE;
    s->flags |= S_FIN_REQ;
    mark_ready(s);
    return 0;
}

void al__qstream_reset(al__qstream *s)
{
    if (s->flags & (S_NOTIFIED | S_RESET_REQ))
        return;
    s->flags |= S_DETACHED;
    queue_reset(s, AL_ECANCELED);
}

size_t al__qstream_unacked(const al__qstream *s)
{
    return (size_t)(s->end - s->acked);
}
