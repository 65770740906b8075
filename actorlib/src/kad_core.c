/* The sans-I/O Kademlia engine (see kad_core.h). */
#include "kad_core.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kadmsg.h"
#include "kad_query.h"
#include "multiaddr.h"

#define DEFAULT_REQUEST_MS 5000
#define DEFAULT_QUERY_MS   10000
#define DEFAULT_TTL_MS     (48ull * 3600 * 1000)
#define DEFAULT_REPLICATE  (3600ull * 1000)
#define DEFAULT_PUBLISH    (22ull * 3600 * 1000)
#define DEFAULT_REFRESH    (300ull * 1000)
#define DEFAULT_INFLIGHT   256
/* Tag, length and the 30 characters of "2006-01-02T15:04:05.000000000Z". */
#define TIME_RECEIVED_WIRE 32

enum op_kind { OP_FIND, OP_GET, OP_PUT, OP_BOOTSTRAP };
enum op_phase { PH_LOOKUP, PH_PUT, PH_DONE };

typedef struct op {
    struct op *next;
    enum op_kind kind;
    enum op_phase phase;
    al__kad_iter iter;
    uint8_t *key;
    size_t klen;
    uint8_t *value; /* PUT: the record; GET: what was found */
    size_t vlen;
    bool found;
    al_peer_id publisher; /* PUT */
    uint64_t expires;     /* PUT: loop ms, 0 = never */
    uint64_t deadline;
    int status;
    size_t puts_out, puts_acked;
    union {
        al__kad_core_done_cb done;
        al__kad_core_get_cb get;
        al__kad_core_peers_cb peers;
    } cb;
    void *ud;
} op;

typedef struct req {
    struct req *next;
    uint64_t id;
    op *op; /* NULL once the operation is over */
    al_peer_id peer;
    Kad__Message__MessageType type;
    uint64_t deadline;
} req;

struct al__kad_core {
    al__kad_config cfg;
    al__kad_io io;
    al__kad_table table;
    al__kad_store store;
    op *ops;                   /* running */
    op *done_head, *done_tail; /* finished, callbacks pending */
    req *reqs;
    size_t inflight, running;
    uint64_t next_req;
    uint64_t next_replicate, next_refresh;
    bool closing; /* in al__kad_core_free: no new operations */
};

/* ------------------------------------------------------------ helpers */

void al__kad_rfc3339(uint64_t unix_ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09luZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (unsigned long)(unix_ms % 1000) * 1000000);
}

static uint64_t wall_now(const al__kad_core *c)
{
    if (c->io.wall_ms)
        return c->io.wall_ms(c->io.ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool is_local(const al__kad_core *c, const al_peer_id *p)
{
    return al_peer_id_equal(&c->table.local, p);
}

/* Keeps addresses a QUIC transport can dial; a trailing /p2p must name
 * peer and is stripped. Writes the normalised bytes to out. */
static int usable_addr(const al_peer_id *peer, const uint8_t *in, size_t len,
                       uint8_t *out, size_t cap)
{
    al__maddr m;
    al__quic_addr q;
    if (len == 0 || len > AL__KAD_ADDR_LEN ||
        al__maddr_decode(&m, in, len, NULL) ||
        al__maddr_to_quic_dial(&m, &q, NULL))
        return AL_EINVAL;
    if (q.has_peer) {
        if (!al_peer_id_equal(&q.peer, peer))
            return AL_EINVAL;
        m.n--;
    }
    return al__maddr_encode(&m, out, cap);
}

static void addrs_from_wire(const al_peer_id *peer,
                            const ProtobufCBinaryData *a, size_t n,
                            al__kad_addrs *out)
{
    uint8_t buf[AL__MADDR_MAX_BYTES];
    /* Oldest first so that the peer's own order survives. */
    for (size_t i = n; i-- > 0;) {
        int len = usable_addr(peer, a[i].data, a[i].len, buf, sizeof(buf));
        if (len > 0)
            al__kad_addrs_add(out, buf, (size_t)len);
    }
}

/* ------------------------------------------------------------ lifecycle */

static void config_defaults(al__kad_config *c)
{
    if (!c->k || c->k > AL__KAD_K)
        c->k = AL__KAD_K;
    if (!c->alpha)
        c->alpha = AL__KAD_ALPHA;
    if (!c->request_timeout_ms)
        c->request_timeout_ms = DEFAULT_REQUEST_MS;
    if (!c->query_timeout_ms)
        c->query_timeout_ms = DEFAULT_QUERY_MS;
    if (!c->record_ttl_ms)
        c->record_ttl_ms = DEFAULT_TTL_MS;
    if (!c->replicate_ms)
        c->replicate_ms = DEFAULT_REPLICATE;
    if (!c->publish_ms)
        c->publish_ms = DEFAULT_PUBLISH;
    if (!c->refresh_ms)
        c->refresh_ms = DEFAULT_REFRESH;
    if (!c->max_inflight)
        c->max_inflight = DEFAULT_INFLIGHT;
}

int al__kad_core_new(const al_peer_id *local, const al__kad_config *cfg,
                     const al__kad_io *io, uint64_t now, al__kad_core **out)
{
    *out = NULL;
    if (!local || local->len == 0 || !io || !io->send)
        return AL_EINVAL;
    al__kad_core *c = calloc(1, sizeof(*c));
    if (!c)
        return AL_ENOMEM;
    if (cfg)
        c->cfg = *cfg;
    config_defaults(&c->cfg);
    c->io = *io;
    al__kad_table_init(&c->table, local);
    al__kad_store_init(&c->store, c->cfg.max_records, c->cfg.max_value);
    c->next_req = 1;
    c->next_replicate = now + c->cfg.replicate_ms;
    c->next_refresh = now + c->cfg.refresh_ms;
    *out = c;
    return 0;
}

al__kad_table *al__kad_core_table(al__kad_core *c)
{
    return &c->table;
}

al__kad_store *al__kad_core_store(al__kad_core *c)
{
    return &c->store;
}

const al__kad_config *al__kad_core_config(const al__kad_core *c)
{
    return &c->cfg;
}

size_t al__kad_core_inflight(const al__kad_core *c)
{
    return c->inflight;
}

size_t al__kad_core_running(const al__kad_core *c)
{
    return c->running;
}

static void op_free(op *o)
{
    al__kad_iter_free(&o->iter);
    free(o->key);
    free(o->value);
    free(o);
}

static void run_callback(op *o)
{
    switch (o->kind) {
    case OP_GET:
        if (o->cb.get)
            o->cb.get(o->status, o->found ? o->value : NULL,
                      o->found ? o->vlen : 0, o->ud);
        break;
    case OP_FIND: {
        al_peer_id peers[AL__KAD_QUERY_PEERS];
        al__kad_qpeer *res[AL__KAD_QUERY_PEERS];
        size_t n =
            o->status ? 0
                      : al__kad_iter_result(&o->iter, res, AL__KAD_QUERY_PEERS);
        for (size_t i = 0; i < n; i++)
            peers[i] = res[i]->peer;
        if (o->cb.peers)
            o->cb.peers(o->status, peers, n, o->ud);
        break;
    }
    case OP_PUT:
    case OP_BOOTSTRAP:
        if (o->cb.done)
            o->cb.done(o->status, o->ud);
        break;
    }
}

/* Runs the callbacks of finished operations, one at a time: a callback may
 * start operations that finish at once and join the queue. */
static void flush_done(al__kad_core *c)
{
    while (c->done_head) {
        op *o = c->done_head;
        c->done_head = o->next;
        if (!c->done_head)
            c->done_tail = NULL;
        run_callback(o);
        op_free(o);
    }
}

void al__kad_core_free(al__kad_core *c)
{
    if (!c)
        return;
    c->closing = true;
    while (c->reqs) {
        req *r = c->reqs;
        c->reqs = r->next;
        if (c->io.cancel)
            c->io.cancel(c->io.ud, r->id);
        free(r);
    }
    while (c->ops) {
        op *o = c->ops;
        c->ops = o->next;
        o->status = AL_ECANCELED;
        o->found = false;
        o->next = NULL;
        if (c->done_tail)
            c->done_tail->next = o;
        else
            c->done_head = o;
        c->done_tail = o;
    }
    flush_done(c);
    al__kad_table_free(&c->table);
    al__kad_store_free(&c->store);
    free(c);
}

/* ------------------------------------------------------------ operations */

static void complete(al__kad_core *c, op *o, int status)
{
    if (o->phase == PH_DONE)
        return;
    o->phase = PH_DONE;
    o->status = status;
    for (op **p = &c->ops; *p; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            break;
        }
    c->running--;
    /* Requests still out keep updating the routing table when they
     * return, but no longer feed the operation. */
    for (req *r = c->reqs; r; r = r->next)
        if (r->op == o)
            r->op = NULL;
    o->next = NULL;
    if (c->done_tail)
        c->done_tail->next = o;
    else
        c->done_head = o;
    c->done_tail = o;
}

static Kad__Message__MessageType lookup_type(const op *o)
{
    return o->kind == OP_GET ? KAD__MESSAGE__MESSAGE_TYPE__GET_VALUE
                             : KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE;
}

static uint32_t ttl_secs(uint64_t expires, uint64_t now)
{
    if (expires == 0)
        return 0;
    if (expires <= now + 1000)
        return 1; /* 0 would mean "does not expire" */
    uint64_t s = (expires - now) / 1000;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static int encode_request(const op *o, Kad__Message__MessageType type,
                          uint64_t now, al_buf *out)
{
    Kad__Message m = KAD__MESSAGE__INIT;
    Kad__Record rec = KAD__RECORD__INIT;
    m.type = type;
    m.key.data = o->key;
    m.key.len = o->klen;
    if (type == KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE) {
        rec.key = m.key;
        rec.value.data = o->value;
        rec.value.len = o->vlen;
        rec.publisher.data = (uint8_t *)o->publisher.bytes;
        rec.publisher.len = o->publisher.len;
        rec.ttl = ttl_secs(o->expires, now);
        m.record = &rec;
    }
    return al__kadmsg_encode(&m, AL__KAD_MAX_PACKET, out, NULL);
}

/* Sends one request of o to peer. Returns 0 when it is out. */
static int send_request(al__kad_core *c, op *o, Kad__Message__MessageType type,
                        const al_peer_id *peer, const al__kad_addrs *addrs,
                        uint64_t now)
{
    al_buf frame = {0};
    req *r = calloc(1, sizeof(*r));
    int rc = r ? encode_request(o, type, now, &frame) : AL_ENOMEM;
    if (rc == 0) {
        r->id = c->next_req++;
        r->op = o;
        r->peer = *peer;
        r->type = type;
        r->deadline = now + c->cfg.request_timeout_ms;
        static const al__kad_addrs none;
        rc = c->io.send(c->io.ud, r->id, peer, addrs ? addrs : &none,
                        frame.data, frame.len);
    }
    al_buf_free(&frame);
    if (rc) {
        free(r);
        return rc;
    }
    r->next = c->reqs;
    c->reqs = r;
    c->inflight++;
    return 0;
}

static void lookup_finished(al__kad_core *c, op *o, uint64_t now);

/* Asks the next peers of a lookup, as far as the iterator and the
 * in-flight bound allow. */
static void step(al__kad_core *c, op *o, uint64_t now)
{
    while (o->phase == PH_LOOKUP && c->inflight < c->cfg.max_inflight) {
        al__kad_qpeer *qp;
        int next = al__kad_iter_next(&o->iter, &qp);
        if (next == AL__KI_WAIT)
            return;
        if (next == AL__KI_FINISHED) {
            lookup_finished(c, o, now);
            return;
        }
        al_peer_id peer = qp->peer;
        if (send_request(c, o, lookup_type(o), &peer, &qp->addrs, now)) {
            al__kad_iter_on_failure(&o->iter, &peer);
            al__kad_table_failed(&c->table, &peer, false, now);
        }
    }
}

static void step_all(al__kad_core *c, uint64_t now)
{
    /* step may complete (unlink) the operation it is given. */
    op *o = c->ops;
    while (o) {
        op *next = o->next;
        if (o->phase == PH_LOOKUP)
            step(c, o, now);
        o = next;
    }
}

static void start_puts(al__kad_core *c, op *o, uint64_t now)
{
    al__kad_qpeer *targets[AL__KAD_QUERY_PEERS];
    size_t n = al__kad_iter_result(&o->iter, targets, c->cfg.k);
    o->phase = PH_PUT;
    /* Copies: sending cannot touch the iterator, but be plain about it. */
    for (size_t i = 0; i < n; i++) {
        al_peer_id peer = targets[i]->peer;
        if (send_request(c, o, KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE, &peer,
                         &targets[i]->addrs, now) == 0)
            o->puts_out++;
    }
    if (o->puts_out == 0)
        complete(c, o, AL_ENOTFOUND);
}

static void lookup_finished(al__kad_core *c, op *o, uint64_t now)
{
    size_t answered = al__kad_iter_succeeded(&o->iter);
    switch (o->kind) {
    case OP_FIND:
    case OP_BOOTSTRAP:
        complete(c, o, answered ? 0 : AL_ENOTFOUND);
        break;
    case OP_GET:
        complete(c, o, AL_ENOTFOUND);
        break;
    case OP_PUT:
        start_puts(c, o, now);
        break;
    }
}

static op *op_new(al__kad_core *c, enum op_kind kind, const uint8_t *key,
                  size_t klen, uint64_t now)
{
    op *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->key = malloc(klen ? klen : 1);
    al__kad_key target;
    al__kad_key_hash(key, klen, &target);
    if (!o->key ||
        al__kad_iter_init(&o->iter, &target, c->cfg.k, c->cfg.alpha)) {
        free(o->key);
        free(o->iter.peers);
        free(o);
        return NULL;
    }
    memcpy(o->key, key, klen);
    o->klen = klen;
    o->kind = kind;
    o->phase = PH_LOOKUP;
    o->deadline = now + c->cfg.query_timeout_ms;
    return o;
}

/* Seeds the lookup with the k closest peers we know and sends the first
 * requests. */
static void op_start(al__kad_core *c, op *o, uint64_t now)
{
    al__kad_entry *seeds[AL__KAD_QUERY_PEERS];
    size_t n = al__kad_table_closest(&c->table, &o->iter.target, NULL, seeds,
                                     c->cfg.k);
    for (size_t i = 0; i < n; i++)
        al__kad_iter_add(&o->iter, &seeds[i]->peer, &seeds[i]->addrs);
    o->next = c->ops;
    c->ops = o;
    c->running++;
    step(c, o, now);
}

/* An operation that ends without the network (local hit, no network). */
static void op_finish_now(al__kad_core *c, op *o, int status)
{
    o->next = c->ops;
    c->ops = o;
    c->running++;
    complete(c, o, status);
}

int al__kad_core_bootstrap(al__kad_core *c, uint64_t now,
                           al__kad_core_done_cb cb, void *ud)
{
    if (c->closing)
        return AL_ECANCELED;
    const al_peer_id *self = &c->table.local;
    op *o = op_new(c, OP_BOOTSTRAP, self->bytes, self->len, now);
    if (!o)
        return AL_ENOMEM;
    o->cb.done = cb;
    o->ud = ud;
    op_start(c, o, now);
    return 0;
}

int al__kad_core_find_closest(al__kad_core *c, const uint8_t *key, size_t klen,
                              uint64_t now, al__kad_core_peers_cb cb, void *ud)
{
    if (c->closing)
        return AL_ECANCELED;
    if (!key || klen == 0 || klen > AL__KAD_KEY_MAX)
        return AL_EINVAL;
    op *o = op_new(c, OP_FIND, key, klen, now);
    if (!o)
        return AL_ENOMEM;
    o->cb.peers = cb;
    o->ud = ud;
    op_start(c, o, now);
    return 0;
}

static int take_value(op *o, const uint8_t *v, size_t len)
{
    o->value = malloc(len ? len : 1);
    if (!o->value)
        return AL_ENOMEM;
    if (len)
        memcpy(o->value, v, len);
    o->vlen = len;
    return 0;
}

int al__kad_core_get(al__kad_core *c, const uint8_t *key, size_t klen,
                     uint64_t now, al__kad_core_get_cb cb, void *ud)
{
    if (c->closing)
        return AL_ECANCELED;
    if (!key || klen == 0 || klen > AL__KAD_KEY_MAX)
        return AL_EINVAL;
    op *o = op_new(c, OP_GET, key, klen, now);
    if (!o)
        return AL_ENOMEM;
    o->cb.get = cb;
    o->ud = ud;
    al__kad_record *r = al__kad_store_get(&c->store, key, klen, now);
    if (r) {
        if (take_value(o, r->value, r->vlen)) {
            op_free(o);
            return AL_ENOMEM;
        }
        o->found = true;
        op_finish_now(c, o, 0);
        return 0;
    }
    op_start(c, o, now);
    return 0;
}

/* A PUT of a record from the store (own or replicated) to the network. */
static int put_record(al__kad_core *c, const al__kad_record *r, uint64_t now,
                      al__kad_core_done_cb cb, void *ud)
{
    op *o = op_new(c, OP_PUT, r->key, r->klen, now);
    if (!o || take_value(o, r->value, r->vlen)) {
        if (o)
            op_free(o);
        return AL_ENOMEM;
    }
    o->publisher = r->publisher;
    o->expires = r->expires;
    o->cb.done = cb;
    o->ud = ud;
    /* The lookup is a FIND_NODE for the record's key. */
    op_start(c, o, now);
    return 0;
}

/* Whether PUT_VALUE of this record fits in one packet (the store allows
 * larger values than a 16 KiB packet can carry, as rust's does). */
static bool put_fits(const al__kad_core *c, const uint8_t *key, size_t klen,
                     const uint8_t *value, size_t vlen)
{
    op o = {.key = (uint8_t *)key,
            .klen = klen,
            .value = (uint8_t *)value,
            .vlen = vlen,
            .publisher = c->table.local,
            .expires = UINT64_MAX};
    al_buf frame = {0};
    int rc =
        encode_request(&o, KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE, 0, &frame);
    size_t len = frame.len;
    al_buf_free(&frame);
    /* A GET_VALUE answer carries the record with timeReceived (32 bytes
     * on the wire) as well: it must fit too. */
    return rc == 0 && len + TIME_RECEIVED_WIRE <= AL__KAD_MAX_PACKET;
}

int al__kad_core_put(al__kad_core *c, const uint8_t *key, size_t klen,
                     const uint8_t *value, size_t vlen, bool network,
                     uint64_t now, al__kad_core_done_cb cb, void *ud)
{
    if (c->closing)
        return AL_ECANCELED;
    if (!key || klen == 0 || klen > AL__KAD_KEY_MAX || (vlen && !value))
        return AL_EINVAL;
    if (!put_fits(c, key, klen, value, vlen))
        return AL_ELIMIT;
    al__kad_record_in in = {
        .key = key,
        .klen = klen,
        .value = value,
        .vlen = vlen,
        .publisher = &c->table.local,
        .expires = now + c->cfg.record_ttl_ms,
        .wall = wall_now(c),
        .own = true,
    };
    int rc = al__kad_store_put(&c->store, &in, now);
    if (rc)
        return rc;
    if (network) {
        al__kad_record *r = al__kad_store_get(&c->store, key, klen, now);
        return r ? put_record(c, r, now, cb, ud) : AL_ENOMEM;
    }
    op *o = op_new(c, OP_PUT, key, klen, now);
    if (!o)
        return AL_ENOMEM;
    o->cb.done = cb;
    o->ud = ud;
    op_finish_now(c, o, 0);
    return 0;
}

/* ------------------------------------------------------------ peers */

int al__kad_core_add_address(al__kad_core *c, const al_peer_id *peer,
                             const uint8_t *maddr, size_t len, uint64_t now)
{
    uint8_t buf[AL__MADDR_MAX_BYTES];
    if (!peer || peer->len == 0 || is_local(c, peer))
        return AL_EINVAL;
    int n = usable_addr(peer, maddr, len, buf, sizeof(buf));
    if (n <= 0)
        return AL_EINVAL;
    return al__kad_table_add(&c->table, peer, buf, (size_t)n, now);
}

void al__kad_core_peer_kad(al__kad_core *c, const al_peer_id *peer, bool serves,
                           const uint8_t *const *maddrs, const size_t *lens,
                           size_t n, uint64_t now)
{
    if (!peer || is_local(c, peer))
        return;
    if (!serves) {
        al__kad_table_remove(&c->table, peer, now);
        return;
    }
    al__kad_addrs addrs = {0};
    uint8_t buf[AL__MADDR_MAX_BYTES];
    for (size_t i = n; i-- > 0;) {
        int len = usable_addr(peer, maddrs[i], lens[i], buf, sizeof(buf));
        if (len > 0)
            al__kad_addrs_add(&addrs, buf, (size_t)len);
    }
    al__kad_table_seen(&c->table, peer, &addrs, now);
    al__kad_addrs_free(&addrs);
}

void al__kad_core_peer_connected(al__kad_core *c, const al_peer_id *peer,
                                 bool connected)
{
    al__kad_table_set_connected(&c->table, peer, connected);
}

/* ------------------------------------------------------------ answers */

static req *take_req(al__kad_core *c, uint64_t id)
{
    for (req **p = &c->reqs; *p; p = &(*p)->next)
        if ((*p)->id == id) {
            req *r = *p;
            *p = r->next;
            c->inflight--;
            return r;
        }
    return NULL;
}

static void put_answered(al__kad_core *c, op *o, bool ok)
{
    o->puts_out--;
    if (ok && o->puts_acked++ == 0)
        complete(c, o, 0);
    else if (o->puts_out == 0 && o->puts_acked == 0)
        complete(c, o, AL_ENOTFOUND);
}

static void request_failed(al__kad_core *c, req *r, int status, uint64_t now)
{
    al__kad_table_failed(&c->table, &r->peer,
                         status == AL_E_UNSUPPORTED_PROTOCOLS, now);
    op *o = r->op;
    if (!o)
        return;
    if (o->phase == PH_LOOKUP) {
        al__kad_iter_on_failure(&o->iter, &r->peer);
        step(c, o, now);
    } else if (o->phase == PH_PUT) {
        put_answered(c, o, false);
    }
}

static bool echo_matches(const op *o, const Kad__Message *m)
{
    const Kad__Record *rec = m->record;
    return m->type == KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE && rec &&
           rec->value.len == o->vlen &&
           (o->vlen == 0 || !memcmp(rec->value.data, o->value, o->vlen));
}

/* The closer peers of an answer, parsed (self and the answering peer
 * left out). Returns how many; addrs[] must be freed by the caller. */
static size_t parse_closer(const al__kad_core *c, const req *r,
                           const Kad__Message *m, al__kad_found *found,
                           al__kad_addrs *addrs)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_closerpeers && n < AL__KAD_PEERS_MAX; i++) {
        const Kad__Message__Peer *p = m->closerpeers[i];
        al_peer_id id;
        if (al_peer_id_from_bytes(&id, p->id.data, p->id.len) ||
            is_local(c, &id) || al_peer_id_equal(&id, &r->peer))
            continue;
        memset(&addrs[n], 0, sizeof(addrs[n]));
        addrs_from_wire(&id, p->addrs, p->n_addrs, &addrs[n]);
        found[n].peer = id;
        found[n].addrs = &addrs[n];
        n++;
    }
    return n;
}

static void lookup_answered(al__kad_core *c, op *o, req *r,
                            const Kad__Message *m, uint64_t now)
{
    if (o->kind == OP_GET && m->record && m->record->key.len == o->klen &&
        !memcmp(m->record->key.data, o->key, o->klen) &&
        m->record->value.len < c->store.max_value) {
        if (take_value(o, m->record->value.data, m->record->value.len) == 0) {
            o->found = true;
            al__kad_iter_on_success(&o->iter, &r->peer, NULL, 0);
            al__kad_iter_finish(&o->iter);
            complete(c, o, 0);
            return;
        }
    }
    al__kad_found found[AL__KAD_PEERS_MAX] = {0};
    al__kad_addrs addrs[AL__KAD_PEERS_MAX];
    size_t n = parse_closer(c, r, m, found, addrs);
    al__kad_iter_on_success(&o->iter, &r->peer, found, n);
    for (size_t i = 0; i < n; i++)
        al__kad_addrs_free(&addrs[i]);
    step(c, o, now);
}

void al__kad_core_on_response(al__kad_core *c, uint64_t id,
                              const uint8_t *frame, size_t len,
                              const al__kad_addrs *seen_at, uint64_t now)
{
    req *r = take_req(c, id);
    if (!r)
        return;
    Kad__Message *m = NULL;
    int n = al__kadmsg_decode(frame, len, AL__KAD_MAX_PACKET, &m, NULL);
    /* Every implementation answers in kind (PUT_VALUE with PUT_VALUE). */
    bool ok = n > 0 && (size_t)n == len && m->type == r->type;
    if (!ok) {
        al__kadmsg_free(m);
        request_failed(c, r, AL_EPROTO, now);
        free(r);
        step_all(c, now);
        flush_done(c);
        return;
    }

    /* It answered: a live server. The address it was reached at, else
     * what the lookup was told about it. */
    al__kad_addrs addrs = {0};
    if (r->op && r->op->phase != PH_DONE) {
        al__kad_qpeer *qp = al__kad_iter_find(&r->op->iter, &r->peer);
        if (qp)
            al__kad_addrs_merge(&addrs, &qp->addrs);
    }
    if (seen_at)
        al__kad_addrs_merge(&addrs, seen_at);
    al__kad_table_seen(&c->table, &r->peer, &addrs, now);
    al__kad_addrs_free(&addrs);

    op *o = r->op;
    if (o && o->phase == PH_LOOKUP)
        lookup_answered(c, o, r, m, now);
    else if (o && o->phase == PH_PUT)
        put_answered(c, o, echo_matches(o, m));
    al__kadmsg_free(m);
    free(r);
    step_all(c, now);
    flush_done(c);
}

void al__kad_core_on_failure(al__kad_core *c, uint64_t id, int status,
                             uint64_t now)
{
    req *r = take_req(c, id);
    if (!r)
        return;
    request_failed(c, r, status ? status : AL_EPROTO, now);
    free(r);
    step_all(c, now);
    flush_done(c);
}

/* ------------------------------------------------------------ jobs */

struct job_ctx {
    al__kad_core *c;
    uint64_t now;
    al__kad_record **due;
    size_t n, cap;
};

static void collect_due(al__kad_record *r, void *ud)
{
    struct job_ctx *j = ud;
    const al__kad_config *cfg = &j->c->cfg;
    bool due;
    if (r->own && j->now - r->published >= cfg->publish_ms) {
        /* The publisher refreshes its record's lifetime. */
        r->published = j->now;
        r->expires = j->now + cfg->record_ttl_ms;
        due = true;
    } else {
        /* Records put to us recently were just replicated by their
         * sender: each record is re-put about once per interval. */
        due = j->now - r->received >= cfg->replicate_ms;
    }
    if (!due || j->n == j->cap)
        return;
    r->received = j->now;
    j->due[j->n++] = r;
}

static void replicate(al__kad_core *c, uint64_t now)
{
    al__kad_store_expire(&c->store, now);
    if (c->store.count == 0)
        return;
    struct job_ctx j = {c, now, NULL, 0, c->store.count};
    j.due = calloc(j.cap, sizeof(*j.due));
    if (!j.due)
        return;
    /* Own records are refreshed even with nobody to tell: they live as
     * long as their publisher. */
    al__kad_store_each(&c->store, collect_due, &j);
    /* put_record only reads the store. */
    for (size_t i = 0; i < j.n && c->table.size > 0; i++)
        put_record(c, j.due[i], now, NULL, NULL);
    free(j.due);
}

static bool bootstrap_running(const al__kad_core *c)
{
    for (const op *o = c->ops; o; o = o->next)
        if (o->kind == OP_BOOTSTRAP)
            return true;
    return false;
}

void al__kad_core_tick(al__kad_core *c, uint64_t now)
{
    /* Requests past their deadline: the transport drops them. */
    for (req **p = &c->reqs; *p;) {
        req *r = *p;
        if (r->deadline > now) {
            p = &r->next;
            continue;
        }
        *p = r->next;
        c->inflight--;
        if (c->io.cancel)
            c->io.cancel(c->io.ud, r->id);
        request_failed(c, r, AL_E_NETWORK_TIMEOUT, now);
        free(r);
        p = &c->reqs; /* request_failed may have sent and unlinked others */
    }
    for (op *o = c->ops; o;) {
        op *next = o->next;
        if (o->deadline <= now) {
            int status = AL_ETIMEDOUT;
            if (o->kind == OP_BOOTSTRAP && al__kad_iter_succeeded(&o->iter))
                status = 0;
            complete(c, o, status);
        }
        o = next;
    }
    al__kad_table_tick(&c->table, now);
    if (now >= c->next_replicate) {
        c->next_replicate = now + c->cfg.replicate_ms;
        replicate(c, now);
    }
    if (now >= c->next_refresh) {
        c->next_refresh = now + c->cfg.refresh_ms;
        if (c->table.size > 0 && !bootstrap_running(c))
            al__kad_core_bootstrap(c, now, NULL, NULL);
    }
    step_all(c, now);
    flush_done(c);
}

uint64_t al__kad_core_next_deadline(const al__kad_core *c)
{
    if (c->done_head)
        return 0;
    uint64_t d = c->next_replicate < c->next_refresh ? c->next_replicate
                                                     : c->next_refresh;
    for (const req *r = c->reqs; r; r = r->next)
        if (r->deadline < d)
            d = r->deadline;
    for (const op *o = c->ops; o; o = o->next)
        if (o->deadline < d)
            d = o->deadline;
    uint64_t t = al__kad_table_next_deadline(&c->table);
    return t < d ? t : d;
}

/* ------------------------------------------------------------ serving */

/* The closer peers of an answer: the k closest entries we know, without
 * the asking peer. Pointers into the table and into peers[]/addrs[]. */
typedef struct closer_set {
    Kad__Message__Peer peers[AL__KAD_K];
    Kad__Message__Peer *ptrs[AL__KAD_K];
    ProtobufCBinaryData addrs[AL__KAD_K][AL__KAD_ENTRY_ADDRS];
    size_t n;
} closer_set;

static void closer_fill(al__kad_core *c, const uint8_t *key, size_t klen,
                        const al_peer_id *from, closer_set *s)
{
    al__kad_key target;
    al__kad_entry *e[AL__KAD_K];
    al__kad_key_hash(key, klen, &target);
    size_t k = c->cfg.k < AL__KAD_K ? c->cfg.k : AL__KAD_K;
    s->n = al__kad_table_closest(&c->table, &target, from, e, k);
    for (size_t i = 0; i < s->n; i++) {
        Kad__Message__Peer *p = &s->peers[i];
        kad__message__peer__init(p);
        p->id.data = e[i]->peer.bytes;
        p->id.len = e[i]->peer.len;
        for (size_t a = 0; a < e[i]->addrs.n; a++) {
            s->addrs[i][a].data = e[i]->addrs.data[a];
            s->addrs[i][a].len = e[i]->addrs.len[a];
        }
        p->n_addrs = e[i]->addrs.n;
        p->addrs = s->addrs[i];
        p->connection = e[i]->connected
                            ? KAD__MESSAGE__CONNECTION_TYPE__CONNECTED
                            : KAD__MESSAGE__CONNECTION_TYPE__NOT_CONNECTED;
        s->ptrs[i] = p;
    }
}

/* Encodes an answer, leaving out the farthest closer peers until it fits
 * in a packet. */
static int encode_answer(Kad__Message *m, al_buf *out, al_error *err)
{
    for (;;) {
        size_t before = out->len;
        int rc = al__kadmsg_encode(m, AL__KAD_MAX_PACKET, out, NULL);
        if (rc != AL_ELIMIT || m->n_closerpeers == 0)
            return rc ? al_error_set(err, rc, "kad: answer too large") : 0;
        out->len = before;
        m->n_closerpeers--;
    }
}

static int answer_closer(al__kad_core *c, const al_peer_id *from,
                         const Kad__Message *req_msg, al_buf *out,
                         al_error *err)
{
    closer_set *s = malloc(sizeof(*s));
    if (!s)
        return al_error_set(err, AL_ENOMEM, "out of memory");
    closer_fill(c, req_msg->key.data, req_msg->key.len, from, s);
    Kad__Message m = KAD__MESSAGE__INIT;
    m.type = req_msg->type;
    m.key = req_msg->key;
    m.closerpeers = s->ptrs;
    m.n_closerpeers = s->n;
    int rc = encode_answer(&m, out, err);
    free(s);
    return rc;
}

static int answer_get(al__kad_core *c, const al_peer_id *from,
                      const Kad__Message *req_msg, al_buf *out, uint64_t now,
                      al_error *err)
{
    if (req_msg->key.len == 0)
        return al_error_set(err, AL_EPROTO, "kad: GET_VALUE without a key");
    closer_set *s = malloc(sizeof(*s));
    if (!s)
        return al_error_set(err, AL_ENOMEM, "out of memory");
    closer_fill(c, req_msg->key.data, req_msg->key.len, from, s);
    Kad__Message m = KAD__MESSAGE__INIT;
    Kad__Record rec = KAD__RECORD__INIT;
    char when[40];
    m.type = KAD__MESSAGE__MESSAGE_TYPE__GET_VALUE;
    m.key = req_msg->key;
    m.closerpeers = s->ptrs;
    m.n_closerpeers = s->n;
    al__kad_record *r =
        al__kad_store_get(&c->store, req_msg->key.data, req_msg->key.len, now);
    if (r) {
        rec.key.data = r->key;
        rec.key.len = r->klen;
        rec.value.data = r->value;
        rec.value.len = r->vlen;
        rec.publisher.data = r->publisher.bytes;
        rec.publisher.len = r->publisher.len;
        rec.ttl = ttl_secs(r->expires, now);
        /* go and js require timeReceived in an answer's record. */
        al__kad_rfc3339(r->received_wall, when, sizeof(when));
        rec.timereceived = when;
        m.record = &rec;
    }
    int rc = encode_answer(&m, out, err);
    free(s);
    return rc;
}

static int accept_put(al__kad_core *c, const al_peer_id *from,
                      const Kad__Message *m, const uint8_t *frame, size_t flen,
                      al_buf *out, uint64_t now, al_error *err)
{
    const Kad__Record *rec = m->record;
    if (!rec)
        return al_error_set(err, AL_EPROTO, "kad: PUT_VALUE without record");
    if (rec->key.len == 0 || rec->key.len != m->key.len ||
        memcmp(rec->key.data, m->key.data, m->key.len))
        return al_error_set(err, AL_EPROTO,
                            "kad: PUT_VALUE record key differs from key");
    al_peer_id publisher = {0};
    if (rec->publisher.len &&
        al_peer_id_from_bytes(&publisher, rec->publisher.data,
                              rec->publisher.len))
        return al_error_set(err, AL_EPROTO, "kad: bad publisher");
    /* Our own record coming back: the publisher's copy is right (rust). */
    if (!(publisher.len && is_local(c, &publisher))) {
        /* Beyond the k closest peers to the key, keep it for a shorter
         * time, halving per extra peer in between (rust's exp_decrease). */
        al__kad_key target;
        al__kad_key_hash(rec->key.data, rec->key.len, &target);
        size_t between = al__kad_table_count_closer(&c->table, &target);
        size_t beyond = between > c->cfg.k ? between - c->cfg.k : 0;
        uint64_t ttl = beyond >= 63 ? 0 : c->cfg.record_ttl_ms >> beyond;
        if (rec->ttl && (uint64_t)rec->ttl * 1000 < ttl)
            ttl = (uint64_t)rec->ttl * 1000;
        if (ttl == 0)
            ttl = 1;
        al__kad_record_in in = {
            .key = rec->key.data,
            .klen = rec->key.len,
            .value = rec->value.data,
            .vlen = rec->value.len,
            .publisher = publisher.len ? &publisher : NULL,
            .expires = now + ttl,
            .wall = wall_now(c),
            .own = false,
        };
        int rc = al__kad_store_put(&c->store, &in, now);
        if (rc)
            return al_error_set(err, rc, "kad: record not stored (%s)",
                                al_status_name(rc));
    }
    (void)from;
    /* The answer to PUT_VALUE is the request itself. */
    if (al_buf_append(out, frame, flen))
        return al_error_set(err, AL_ENOMEM, "out of memory");
    return 0;
}

static int answer_ping(al_buf *out, al_error *err)
{
    Kad__Message m = KAD__MESSAGE__INIT;
    m.type = KAD__MESSAGE__MESSAGE_TYPE__PING;
    return al__kadmsg_encode(&m, AL__KAD_MAX_PACKET, out, err);
}

static int answer(al__kad_core *c, const al_peer_id *from,
                  const Kad__Message *m, const uint8_t *frame, size_t flen,
                  al_buf *out, uint64_t now, al_error *err)
{
    switch (m->type) {
    case KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE:
    case KAD__MESSAGE__MESSAGE_TYPE__GET_PROVIDERS:
        /* We keep no provider records: closer peers only. */
        return answer_closer(c, from, m, out, err);
    case KAD__MESSAGE__MESSAGE_TYPE__GET_VALUE:
        return answer_get(c, from, m, out, now, err);
    case KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE:
        return accept_put(c, from, m, frame, flen, out, now, err);
    case KAD__MESSAGE__MESSAGE_TYPE__PING:
        return answer_ping(out, err);
    case KAD__MESSAGE__MESSAGE_TYPE__ADD_PROVIDER:
        return 0; /* no answer is expected; provider records are not kept */
    default:
        return al_error_set(err, AL_EPROTO, "kad: message type %d",
                            (int)m->type);
    }
}

int al__kad_core_serve(al__kad_core *c, const al_peer_id *from,
                       const uint8_t *in, size_t len, size_t *used, al_buf *out,
                       uint64_t now, al_error *err)
{
    *used = 0;
    while (*used < len) {
        Kad__Message *m = NULL;
        int n = al__kadmsg_decode(in + *used, len - *used, AL__KAD_MAX_PACKET,
                                  &m, err);
        if (n < 0)
            return n;
        if (n == 0)
            return 0;
        int rc = answer(c, from, m, in + *used, (size_t)n, out, now, err);
        al__kadmsg_free(m);
        if (rc)
            return rc;
        *used += (size_t)n;
    }
    return 0;
}
