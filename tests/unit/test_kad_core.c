/* kad_core.c: the answers to each request type (and the requests refused),
 * then whole networks of engines in one process: a simulated network
 * delivers every framed request to the target engine's
 * al__kad_core_serve and its answer back, with a latency, peers that are
 * down (dial failure) or silent (never answer), and a virtual clock. It
 * checks that lookups converge on the true closest peers, that a record put
 * on one node is found from a node that only knows a third, that
 * not-found, timeouts and quorum failures end operations cleanly, and the
 * TTL, republication and replication jobs.
 *
 * The network stands in for identify: a node that receives a request from
 * a peer learns the peer's address as a Kademlia server, as actorlib nodes
 * do through the identify hook (al__kad_peer_protocols). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "kad_core.h"
#include "kad_testutil.h"
#include "kadmsg.h"

#define WALL0 1700000000000ull /* 2023-11-14T22:13:20Z */

/* ------------------------------------------------------------ network */

enum mode { UP, DOWN, SILENT };
enum ev_kind { EV_REQUEST, EV_RESPONSE, EV_FAILURE };

typedef struct event {
    struct event *next;
    uint64_t at;
    enum ev_kind kind;
    int from, to; /* requester, target */
    uint64_t req;
    uint8_t *frame;
    size_t len;
    int status;
} event;

typedef struct sim sim;
typedef struct simnode {
    sim *sim;
    int idx;
    al_peer_id id;
    uint8_t addr[11];
    al__kad_core *core;
    enum mode mode;
    size_t served; /* requests answered */
} simnode;

#define SIM_MAX 80

struct sim {
    uint64_t now;
    uint64_t latency;
    bool identify; /* targets learn requesters */
    simnode n[SIM_MAX];
    int count;
    event *events;                   /* by time, FIFO among equals */
    size_t sent, cancels, cancelled; /* cancel calls, events dropped */
};

static void push(sim *s, event *e)
{
    event **p = &s->events;
    while (*p && (*p)->at <= e->at)
        p = &(*p)->next;
    e->next = *p;
    *p = e;
}

static event *mk(sim *s, enum ev_kind kind, int from, int to, uint64_t req,
                 const uint8_t *frame, size_t len, int status)
{
    event *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->at = s->now + s->latency;
    e->kind = kind;
    e->from = from;
    e->to = to;
    e->req = req;
    e->status = status;
    if (len) {
        e->frame = malloc(len);
        memcpy(e->frame, frame, len);
        e->len = len;
    }
    return e;
}

static int find_node(sim *s, const al_peer_id *p)
{
    for (int i = 0; i < s->count; i++)
        if (al_peer_id_equal(&s->n[i].id, p))
            return i;
    return -1;
}

static int io_send(void *ud, uint64_t req, const al_peer_id *peer,
                   const al__kad_addrs *addrs, const uint8_t *frame, size_t len)
{
    simnode *me = ud;
    sim *s = me->sim;
    (void)addrs;
    s->sent++;
    int to = find_node(s, peer);
    if (to < 0 || me->mode == DOWN) {
        push(s,
             mk(s, EV_FAILURE, me->idx, -1, req, NULL, 0, AL_E_DIAL_FAILURE));
        return 0;
    }
    push(s, mk(s, EV_REQUEST, me->idx, to, req, frame, len, 0));
    return 0;
}

static void io_cancel(void *ud, uint64_t req)
{
    simnode *me = ud;
    sim *s = me->sim;
    s->cancels++;
    for (event **p = &s->events; *p;) {
        event *e = *p;
        if (e->from == me->idx && e->req == req) {
            *p = e->next;
            free(e->frame);
            free(e);
            s->cancelled++;
        } else {
            p = &e->next;
        }
    }
}

static uint64_t io_wall(void *ud)
{
    simnode *me = ud;
    return WALL0 + me->sim->now;
}

static simnode *add_node(sim *s, const al__kad_config *cfg)
{
    assert_true(s->count < SIM_MAX);
    simnode *n = &s->n[s->count];
    memset(n, 0, sizeof(*n));
    n->sim = s;
    n->idx = s->count;
    n->id = kt_peer();
    kt_addr((unsigned)s->count + 1, n->addr);
    al__kad_io io = {io_send, io_cancel, io_wall, n};
    assert_int_equal(al__kad_core_new(&n->id, cfg, &io, s->now, &n->core), 0);
    s->count++;
    return n;
}

static void sim_init(sim *s, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    kt_seed(seed);
    s->latency = 5;
    s->identify = true;
}

static void sim_free(sim *s)
{
    for (int i = 0; i < s->count; i++)
        al__kad_core_free(s->n[i].core);
    while (s->events) {
        event *e = s->events;
        s->events = e->next;
        free(e->frame);
        free(e);
    }
}

static void knows(simnode *a, const simnode *b)
{
    int rc =
        al__kad_core_add_address(a->core, &b->id, b->addr, 11, a->sim->now);
    assert_true(rc == AL__KAD_INSERTED || rc == AL__KAD_UPDATED);
}

static void deliver(sim *s, event *e)
{
    if (e->kind == EV_REQUEST) {
        simnode *t = &s->n[e->to], *f = &s->n[e->from];
        if (t->mode == DOWN) {
            push(s, mk(s, EV_FAILURE, e->from, e->to, e->req, NULL, 0,
                       AL_E_DIAL_FAILURE));
            return;
        }
        if (t->mode == SILENT)
            return;
        if (s->identify) {
            const uint8_t *a = f->addr;
            size_t len = 11;
            al__kad_core_peer_kad(t->core, &f->id, true, &a, &len, 1, s->now);
        }
        al_buf out = {0};
        size_t used = 0;
        int rc = al__kad_core_serve(t->core, &f->id, e->frame, e->len, &used,
                                    &out, s->now, NULL);
        if (rc || out.len == 0)
            push(s, mk(s, EV_FAILURE, e->from, e->to, e->req, NULL, 0,
                       rc ? rc : AL_EPROTO));
        else
            push(s, mk(s, EV_RESPONSE, e->from, e->to, e->req, out.data,
                       out.len, 0));
        t->served++;
        al_buf_free(&out);
    } else if (e->kind == EV_RESPONSE) {
        al__kad_addrs seen = {0};
        al__kad_addrs_add(&seen, s->n[e->to].addr, 11);
        al__kad_core_on_response(s->n[e->from].core, e->req, e->frame, e->len,
                                 &seen, s->now);
        al__kad_addrs_free(&seen);
    } else {
        al__kad_core_on_failure(s->n[e->from].core, e->req, e->status, s->now);
    }
}

/* Runs the network until *flag is set or the clock passes until. */
static void run(sim *s, const bool *flag, uint64_t until)
{
    while (!(flag && *flag)) {
        uint64_t next = s->events ? s->events->at : UINT64_MAX;
        for (int i = 0; i < s->count; i++) {
            uint64_t d = al__kad_core_next_deadline(s->n[i].core);
            if (d < next)
                next = d;
        }
        if (next < s->now)
            next = s->now;
        if (next > until) {
            s->now = until;
            return;
        }
        s->now = next;
        while (s->events && s->events->at <= s->now) {
            event *e = s->events;
            s->events = e->next;
            deliver(s, e);
            free(e->frame);
            free(e);
        }
        for (int i = 0; i < s->count; i++)
            if (al__kad_core_next_deadline(s->n[i].core) <= s->now)
                al__kad_core_tick(s->n[i].core, s->now);
    }
}

/* ------------------------------------------------------------ results */

typedef struct result {
    bool done;
    int status;
    uint64_t at;
    uint8_t value[64];
    size_t vlen;
    al_peer_id peers[AL__KAD_K];
    size_t npeers;
    sim *sim;
} result;

static void on_done(int status, void *ud)
{
    result *r = ud;
    assert_false(r->done);
    r->done = true;
    r->status = status;
    r->at = r->sim ? r->sim->now : 0;
}

static void on_get(int status, const uint8_t *v, size_t vlen, void *ud)
{
    result *r = ud;
    assert_false(r->done);
    r->done = true;
    r->status = status;
    r->at = r->sim ? r->sim->now : 0;
    assert_true(vlen <= sizeof(r->value));
    if (status == 0) {
        assert_true(v != NULL || vlen == 0);
        if (vlen)
            memcpy(r->value, v, vlen);
    } else {
        assert_null(v);
        assert_int_equal(vlen, 0);
    }
    r->vlen = vlen;
}

/* For values larger than result.value: only the length is kept. */
static void on_big(int status, const uint8_t *v, size_t vlen, void *ud)
{
    result *r = ud;
    r->done = true;
    r->status = status;
    r->vlen = v ? vlen : 0;
}

static void on_peers(int status, const al_peer_id *p, size_t n, void *ud)
{
    result *r = ud;
    r->done = true;
    r->status = status;
    assert_true(n <= AL__KAD_K);
    memcpy(r->peers, p, n * sizeof(*p));
    r->npeers = n;
}

/* A network of n nodes: node 0 first, every other one told about a random
 * earlier node and bootstrapped in turn. */
static void build_network(sim *s, int n, const al__kad_config *cfg)
{
    add_node(s, cfg);
    for (int i = 1; i < n; i++) {
        simnode *x = add_node(s, cfg);
        knows(x, &s->n[kt_rand() % (uint64_t)i]);
        result r = {.sim = s};
        assert_int_equal(al__kad_core_bootstrap(x->core, s->now, on_done, &r),
                         0);
        run(s, &r.done, s->now + 60000);
        assert_true(r.done);
        assert_int_equal(r.status, 0);
    }
}

static al__kad_key sort_target;
static int cmp_nodes(const void *a, const void *b)
{
    al__kad_key ka, kb;
    al__kad_key_peer(&((const simnode *)a)->id, &ka);
    al__kad_key_peer(&((const simnode *)b)->id, &kb);
    return al__kad_distance_cmp(&sort_target, &ka, &kb);
}

/* The ids of the k nodes closest to key, leaving out skip (-1: none). */
static size_t true_closest(sim *s, const uint8_t *key, size_t klen, int skip,
                           al_peer_id *out, size_t k)
{
    simnode *copy = malloc(sizeof(s->n[0]) * (size_t)s->count);
    int m = 0;
    for (int i = 0; i < s->count; i++)
        if (i != skip)
            copy[m++] = s->n[i];
    al__kad_key_hash(key, klen, &sort_target);
    qsort(copy, (size_t)m, sizeof(*copy), cmp_nodes);
    size_t n = (size_t)m < k ? (size_t)m : k;
    for (size_t i = 0; i < n; i++)
        out[i] = copy[i].id;
    free(copy);
    return n;
}

static size_t holders(sim *s, const uint8_t *key, size_t klen)
{
    size_t n = 0;
    for (int i = 0; i < s->count; i++)
        if (al__kad_store_get(al__kad_core_store(s->n[i].core), key, klen,
                              s->now))
            n++;
    return n;
}

/* ------------------------------------------------------------ answers */

static void frame_of(const Kad__Message *m, al_buf *out)
{
    al_buf_reset(out);
    assert_int_equal(al__kadmsg_encode(m, AL__KAD_MAX_PACKET, out, NULL), 0);
}

static Kad__Message *decode_one(const al_buf *b)
{
    Kad__Message *m = NULL;
    int n = al__kadmsg_decode(b->data, b->len, AL__KAD_MAX_PACKET, &m, NULL);
    assert_int_equal(n, (int)b->len);
    return m;
}

typedef struct served {
    al__kad_core *core;
    al_peer_id local;
    al_peer_id peers[40];
    uint64_t wall;
} served;

static uint64_t fixed_wall(void *ud)
{
    return ((served *)ud)->wall;
}

static int never_send(void *ud, uint64_t req, const al_peer_id *peer,
                      const al__kad_addrs *addrs, const uint8_t *frame,
                      size_t len)
{
    (void)ud;
    (void)req;
    (void)peer;
    (void)addrs;
    (void)frame;
    (void)len;
    return AL_EIO;
}

/* A node with 40 peers in its routing table (the even ones connected). */
static void served_setup(served *sv, const al__kad_config *cfg)
{
    kt_seed(99);
    sv->local = kt_peer();
    sv->wall = WALL0;
    al__kad_io io = {never_send, NULL, fixed_wall, sv};
    assert_int_equal(al__kad_core_new(&sv->local, cfg, &io, 0, &sv->core), 0);
    for (int i = 0; i < 40; i++) {
        sv->peers[i] = kt_peer();
        uint8_t a[11];
        kt_addr((unsigned)i, a);
        if (i % 2 == 0) {
            const uint8_t *ap = a;
            size_t len = 11;
            al__kad_core_peer_kad(sv->core, &sv->peers[i], true, &ap, &len, 1,
                                  0);
        } else {
            al__kad_core_add_address(sv->core, &sv->peers[i], a, 11, 0);
        }
    }
    assert_true(al__kad_core_table(sv->core)->size >= 35);
}

static void check_closer(served *sv, const Kad__Message *m, const uint8_t *key,
                         size_t klen, const al_peer_id *from)
{
    al__kad_key target;
    al__kad_key_hash(key, klen, &target);
    al__kad_entry *want[AL__KAD_K];
    size_t n = al__kad_table_closest(al__kad_core_table(sv->core), &target,
                                     from, want, AL__KAD_K);
    assert_int_equal(m->n_closerpeers, n);
    for (size_t i = 0; i < n; i++) {
        const Kad__Message__Peer *p = m->closerpeers[i];
        assert_int_equal(p->id.len, want[i]->peer.len);
        assert_memory_equal(p->id.data, want[i]->peer.bytes, p->id.len);
        assert_false(from && p->id.len == from->len &&
                     !memcmp(p->id.data, from->bytes, from->len));
        assert_int_equal(p->n_addrs, 1);
        assert_int_equal(p->addrs[0].len, 11);
        assert_memory_equal(p->addrs[0].data, want[i]->addrs.data[0], 11);
        assert_int_equal(p->connection,
                         want[i]->connected
                             ? KAD__MESSAGE__CONNECTION_TYPE__CONNECTED
                             : KAD__MESSAGE__CONNECTION_TYPE__NOT_CONNECTED);
    }
}

static int serve_one(served *sv, const al_peer_id *from, const al_buf *in,
                     al_buf *out, uint64_t now)
{
    size_t used = 99;
    al_buf_reset(out);
    int rc = al__kad_core_serve(sv->core, from, in->data, in->len, &used, out,
                                now, NULL);
    if (rc == 0)
        assert_int_equal(used, in->len);
    return rc;
}

static void answers_find_node(void **state)
{
    (void)state;
    served sv;
    served_setup(&sv, NULL);
    al_buf in = {0}, out = {0};
    Kad__Message q = KAD__MESSAGE__INIT;
    q.type = KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE;
    q.key.data = sv.peers[3].bytes;
    q.key.len = sv.peers[3].len;
    frame_of(&q, &in);
    /* Asked by peers[3] itself: it is left out of the answer. */
    assert_int_equal(serve_one(&sv, &sv.peers[3], &in, &out, 0), 0);
    Kad__Message *m = decode_one(&out);
    assert_int_equal(m->type, KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE);
    assert_null(m->record);
    assert_int_equal(m->n_closerpeers, AL__KAD_K);
    check_closer(&sv, m, q.key.data, q.key.len, &sv.peers[3]);
    al__kadmsg_free(m);

    /* Any key bytes, from a stranger; GET_PROVIDERS answers the same way
     * (no provider records kept). */
    q.key.data = (uint8_t *)"anything";
    q.key.len = 8;
    al_peer_id stranger = kt_peer();
    frame_of(&q, &in);
    assert_int_equal(serve_one(&sv, &stranger, &in, &out, 0), 0);
    m = decode_one(&out);
    check_closer(&sv, m, q.key.data, q.key.len, NULL);
    al__kadmsg_free(m);
    q.type = KAD__MESSAGE__MESSAGE_TYPE__GET_PROVIDERS;
    frame_of(&q, &in);
    assert_int_equal(serve_one(&sv, &stranger, &in, &out, 0), 0);
    m = decode_one(&out);
    assert_int_equal(m->type, KAD__MESSAGE__MESSAGE_TYPE__GET_PROVIDERS);
    assert_int_equal(m->n_providerpeers, 0);
    check_closer(&sv, m, q.key.data, q.key.len, NULL);
    al__kadmsg_free(m);

    /* PING is answered in kind; ADD_PROVIDER gets no answer. */
    Kad__Message ping = KAD__MESSAGE__INIT;
    ping.type = KAD__MESSAGE__MESSAGE_TYPE__PING;
    frame_of(&ping, &in);
    assert_int_equal(serve_one(&sv, &stranger, &in, &out, 0), 0);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "\x02\x08\x05", 3);
    ping.type = KAD__MESSAGE__MESSAGE_TYPE__ADD_PROVIDER;
    frame_of(&ping, &in);
    assert_int_equal(serve_one(&sv, &stranger, &in, &out, 0), 0);
    assert_int_equal(out.len, 0);
    al_buf_free(&in);
    al_buf_free(&out);
    al__kad_core_free(sv.core);
}

static void put_frame(al_buf *in, const char *key, const char *value,
                      const al_peer_id *publisher, uint32_t ttl)
{
    Kad__Message q = KAD__MESSAGE__INIT;
    Kad__Record r = KAD__RECORD__INIT;
    q.type = KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE;
    q.key.data = (uint8_t *)key;
    q.key.len = strlen(key);
    r.key = q.key;
    r.value.data = (uint8_t *)value;
    r.value.len = strlen(value);
    if (publisher) {
        r.publisher.data = (uint8_t *)publisher->bytes;
        r.publisher.len = publisher->len;
    }
    r.ttl = ttl;
    q.record = &r;
    frame_of(&q, in);
}

static void answers_put_and_get(void **state)
{
    (void)state;
    served sv;
    served_setup(&sv, NULL);
    al_buf in = {0}, out = {0};
    al_peer_id from = sv.peers[0];

    /* PUT_VALUE: stored, and the answer is the request, byte for byte. */
    put_frame(&in, "my_actor", "registration", &from, 0);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 1000), 0);
    assert_int_equal(out.len, in.len);
    assert_memory_equal(out.data, in.data, in.len);
    al__kad_record *rec = al__kad_store_get(
        al__kad_core_store(sv.core), (const uint8_t *)"my_actor", 8, 1000);
    assert_non_null(rec);
    assert_false(rec->own);
    assert_true(al_peer_id_equal(&rec->publisher, &from));
    /* 48 h, halved for every peer beyond k that is closer to the key than
     * we are (rust's exp_decrease). */
    al__kad_key kk;
    al__kad_key_hash((const uint8_t *)"my_actor", 8, &kk);
    size_t between =
        al__kad_table_count_closer(al__kad_core_table(sv.core), &kk);
    size_t beyond = between > AL__KAD_K ? between - AL__KAD_K : 0;
    assert_int_equal(rec->expires, 1000 + ((48ull * 3600 * 1000) >> beyond));

    /* GET_VALUE: the record with timeReceived, ttl and publisher, and the
     * closer peers. */
    Kad__Message q = KAD__MESSAGE__INIT;
    q.type = KAD__MESSAGE__MESSAGE_TYPE__GET_VALUE;
    q.key.data = (uint8_t *)"my_actor";
    q.key.len = 8;
    frame_of(&q, &in);
    sv.wall = WALL0 + 123;
    assert_int_equal(serve_one(&sv, &sv.peers[1], &in, &out, 61000), 0);
    Kad__Message *m = decode_one(&out);
    assert_int_equal(m->type, KAD__MESSAGE__MESSAGE_TYPE__GET_VALUE);
    assert_int_equal(m->key.len, 8);
    assert_non_null(m->record);
    assert_int_equal(m->record->key.len, 8);
    assert_memory_equal(m->record->key.data, "my_actor", 8);
    assert_int_equal(m->record->value.len, 12);
    assert_memory_equal(m->record->value.data, "registration", 12);
    /* Stored when the wall clock read WALL0. */
    assert_string_equal(m->record->timereceived,
                        "2023-11-14T22:13:20.000000000Z");
    assert_int_equal(m->record->ttl, (uint32_t)((rec->expires - 61000) / 1000));
    assert_int_equal(m->record->publisher.len, from.len);
    check_closer(&sv, m, q.key.data, q.key.len, &sv.peers[1]);
    al__kadmsg_free(m);

    /* GET_VALUE of an unknown key: closer peers, no record. */
    q.key.data = (uint8_t *)"nobody";
    q.key.len = 6;
    frame_of(&q, &in);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 0), 0);
    m = decode_one(&out);
    assert_null(m->record);
    assert_int_equal(m->n_closerpeers, AL__KAD_K);
    al__kadmsg_free(m);

    /* A peer's ttl shorter than ours wins. */
    put_frame(&in, "short", "v", NULL, 60);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 5000), 0);
    rec = al__kad_store_get(al__kad_core_store(sv.core),
                            (const uint8_t *)"short", 5, 5000);
    assert_int_equal(rec->expires, 5000 + 60000);
    assert_int_equal(rec->publisher.len, 0);
    assert_null(al__kad_store_get(al__kad_core_store(sv.core),
                                  (const uint8_t *)"short", 5, 65000));

    /* Our own record sent back to us: echoed, not stored over ours. */
    put_frame(&in, "mine", "theirs", &sv.local, 0);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 0), 0);
    assert_memory_equal(out.data, in.data, in.len);
    assert_null(al__kad_store_get(al__kad_core_store(sv.core),
                                  (const uint8_t *)"mine", 4, 0));
    al_buf_free(&in);
    al_buf_free(&out);
    al__kad_core_free(sv.core);
}

static void refuses_bad_requests(void **state)
{
    (void)state;
    al__kad_config cfg = {.max_value = 8, .max_records = 2};
    served sv;
    served_setup(&sv, &cfg);
    al_buf in = {0}, out = {0};
    al_peer_id from = sv.peers[0];
    al_error err = {0};
    size_t used;

    /* PUT_VALUE without a record. */
    Kad__Message q = KAD__MESSAGE__INIT;
    q.type = KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE;
    q.key.data = (uint8_t *)"k";
    q.key.len = 1;
    frame_of(&q, &in);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 0), AL_EPROTO);
    /* Record key differs from the message key. */
    Kad__Record r = KAD__RECORD__INIT;
    r.key.data = (uint8_t *)"other";
    r.key.len = 5;
    q.record = &r;
    frame_of(&q, &in);
    assert_int_equal(al__kad_core_serve(sv.core, &from, in.data, in.len, &used,
                                        &out, 0, &err),
                     AL_EPROTO);
    assert_non_null(strstr(err.msg, "key"));
    /* Empty keys. */
    q.key.len = 0;
    r.key.len = 0;
    frame_of(&q, &in);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 0), AL_EPROTO);
    Kad__Message g = KAD__MESSAGE__INIT;
    g.type = KAD__MESSAGE__MESSAGE_TYPE__GET_VALUE;
    frame_of(&g, &in);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 0), AL_EPROTO);
    /* A publisher that is no peer id. */
    q.key.data = r.key.data = (uint8_t *)"k";
    q.key.len = r.key.len = 1;
    r.publisher.data = (uint8_t *)"\x12\x20\x01";
    r.publisher.len = 3;
    frame_of(&q, &in);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 0), AL_EPROTO);
    /* The store refuses: too large a value, then too many records. */
    put_frame(&in, "k", "12345678", NULL, 0);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 0), AL_ELIMIT);
    put_frame(&in, "a", "1", NULL, 0);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 0), 0);
    put_frame(&in, "b", "1", NULL, 0);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 0), 0);
    put_frame(&in, "c", "1", NULL, 0);
    assert_int_equal(serve_one(&sv, &from, &in, &out, 0), AL_ELIMIT);
    assert_int_equal(al__kad_core_store(sv.core)->count, 2);
    /* Malformed frames. */
    assert_int_equal(al__kad_core_serve(sv.core, &from,
                                        (const uint8_t *)"\x02\xff\xff", 3,
                                        &used, &out, 0, NULL),
                     AL_EDECODE);
    assert_int_equal(al__kad_core_serve(sv.core, &from,
                                        (const uint8_t *)"\x81\x80\x01", 3,
                                        &used, &out, 0, NULL),
                     AL_ELIMIT);
    /* An unknown message type. */
    assert_int_equal(al__kad_core_serve(sv.core, &from,
                                        (const uint8_t *)"\x02\x08\x09", 3,
                                        &used, &out, 0, NULL),
                     AL_EDECODE);
    al_buf_free(&in);
    al_buf_free(&out);
    al__kad_core_free(sv.core);
}

static void several_requests_per_stream(void **state)
{
    (void)state;
    served sv;
    served_setup(&sv, NULL);
    al_buf in = {0}, all = {0}, out = {0};
    Kad__Message ping = KAD__MESSAGE__INIT;
    ping.type = KAD__MESSAGE__MESSAGE_TYPE__PING;
    frame_of(&ping, &in);
    al_buf_append(&all, in.data, in.len);
    put_frame(&in, "x", "y", NULL, 0);
    al_buf_append(&all, in.data, in.len);
    Kad__Message f = KAD__MESSAGE__INIT;
    f.type = KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE;
    f.key.data = (uint8_t *)"x";
    f.key.len = 1;
    frame_of(&f, &in);
    size_t third = in.len;
    al_buf_append(&all, in.data, in.len);
    size_t used = 0;
    /* All but the last byte: two answers, the third request waits. */
    assert_int_equal(al__kad_core_serve(sv.core, &sv.peers[0], all.data,
                                        all.len - 1, &used, &out, 0, NULL),
                     0);
    assert_int_equal(used, all.len - third);
    Kad__Message *m = NULL;
    int n = al__kadmsg_decode(out.data, out.len, AL__KAD_MAX_PACKET, &m, NULL);
    assert_int_equal(n, 3);
    assert_int_equal(m->type, KAD__MESSAGE__MESSAGE_TYPE__PING);
    al__kadmsg_free(m);
    int n2 = al__kadmsg_decode(out.data + n, out.len - (size_t)n,
                               AL__KAD_MAX_PACKET, &m, NULL);
    assert_int_equal((size_t)(n + n2), out.len);
    assert_int_equal(m->type, KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE);
    al__kadmsg_free(m);
    /* The rest arrives. */
    al_buf_reset(&out);
    assert_int_equal(al__kad_core_serve(sv.core, &sv.peers[0], all.data + used,
                                        all.len - used, &used, &out, 0, NULL),
                     0);
    assert_int_equal(used, third);
    m = decode_one(&out);
    assert_int_equal(m->type, KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE);
    al__kadmsg_free(m);
    /* Nothing complete yet: nothing used, nothing said. */
    al_buf_reset(&out);
    assert_int_equal(al__kad_core_serve(sv.core, &sv.peers[0], all.data, 1,
                                        &used, &out, 0, NULL),
                     0);
    assert_int_equal(used, 0);
    assert_int_equal(out.len, 0);
    al_buf_free(&in);
    al_buf_free(&all);
    al_buf_free(&out);
    al__kad_core_free(sv.core);
}

/* Peers with long addresses: the answer drops the farthest peers until it
 * fits in one 16 KiB packet. */
static void answer_fits_packet(void **state)
{
    (void)state;
    kt_seed(5);
    al_peer_id local = kt_peer();
    al__kad_core *c;
    al__kad_io io = {never_send, NULL, NULL, NULL};
    assert_int_equal(al__kad_core_new(&local, NULL, &io, 0, &c), 0);
    /* /dns/<250 x 'a'>/udp/4001/quic-v1: 259 bytes, dialable. */
    uint8_t a[AL__KAD_ENTRY_ADDRS][260];
    const uint8_t *ap[AL__KAD_ENTRY_ADDRS];
    size_t lens[AL__KAD_ENTRY_ADDRS];
    for (int i = 0; i < AL__KAD_ENTRY_ADDRS; i++) {
        a[i][0] = 0x35;
        a[i][1] = 0xfa;
        a[i][2] = 0x01;
        memset(&a[i][3], 'a', 250);
        a[i][3] = (uint8_t)('a' + i);
        memcpy(&a[i][253], "\x91\x02\x0f\xa1\xcd\x03", 6);
        ap[i] = a[i];
        lens[i] = 259;
    }
    for (int i = 0; i < 60; i++) {
        al_peer_id p = kt_peer();
        al__kad_core_peer_kad(c, &p, true, ap, lens, AL__KAD_ENTRY_ADDRS, 0);
    }
    Kad__Message q = KAD__MESSAGE__INIT;
    q.type = KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE;
    q.key.data = (uint8_t *)"k";
    q.key.len = 1;
    al_buf in = {0}, out = {0};
    frame_of(&q, &in);
    size_t used;
    assert_int_equal(
        al__kad_core_serve(c, NULL, in.data, in.len, &used, &out, 0, NULL), 0);
    assert_true(out.len <= AL__KAD_MAX_PACKET + 3);
    Kad__Message *m = decode_one(&out);
    assert_true(m->n_closerpeers >= 10);
    assert_true(m->n_closerpeers < AL__KAD_K);
    assert_int_equal(m->closerpeers[0]->n_addrs, AL__KAD_ENTRY_ADDRS);
    al__kadmsg_free(m);
    al_buf_free(&in);
    al_buf_free(&out);
    al__kad_core_free(c);
}

static void addresses_filtered(void **state)
{
    (void)state;
    served sv;
    served_setup(&sv, NULL);
    al_peer_id p = kt_peer();
    /* TCP is not dialable by a QUIC swarm; /p2p of another peer is wrong. */
    const uint8_t tcp[] = {0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1};
    assert_int_equal(al__kad_core_add_address(sv.core, &p, tcp, sizeof(tcp), 0),
                     AL_EINVAL);
    uint8_t quic_p2p[11 + 3 + 34];
    kt_addr(7, quic_p2p);
    quic_p2p[11] = 0xa5;
    quic_p2p[12] = 0x03;
    quic_p2p[13] = 34;
    memcpy(quic_p2p + 14, sv.peers[1].bytes, 34);
    assert_int_equal(
        al__kad_core_add_address(sv.core, &p, quic_p2p, sizeof(quic_p2p), 0),
        AL_EINVAL);
    /* With the peer's own /p2p: kept, without the /p2p part. */
    memcpy(quic_p2p + 14, p.bytes, 34);
    assert_int_equal(
        al__kad_core_add_address(sv.core, &p, quic_p2p, sizeof(quic_p2p), 0),
        AL__KAD_INSERTED);
    al__kad_entry *e = al__kad_table_find(al__kad_core_table(sv.core), &p);
    assert_int_equal(e->addrs.n, 1);
    assert_int_equal(e->addrs.len[0], 11);
    assert_memory_equal(e->addrs.data[0], quic_p2p, 11);
    /* Our own id. */
    assert_int_equal(
        al__kad_core_add_address(sv.core, &sv.local, quic_p2p, 11, 0),
        AL_EINVAL);
    /* identify without the protocol: out of the table. */
    al__kad_core_peer_kad(sv.core, &p, false, NULL, NULL, 0, 0);
    assert_null(al__kad_table_find(al__kad_core_table(sv.core), &p));
    al__kad_core_free(sv.core);
}

static void rfc3339(void **state)
{
    (void)state;
    char buf[40];
    al__kad_rfc3339(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
    al__kad_rfc3339(1700000000123ull, buf, sizeof(buf));
    assert_string_equal(buf, "2023-11-14T22:13:20.123000000Z");
}

/* ------------------------------------------------------------ networks */

static void lookups_converge(void **state)
{
    (void)state;
    sim *s = malloc(sizeof(*s));
    sim_init(s, 2024);
    build_network(s, 60, NULL);
    size_t exact = 0, overlap = 0, rounds = 30;
    for (size_t round = 0; round < rounds; round++) {
        int from = (int)(kt_rand() % 60);
        char key[32];
        int klen = snprintf(key, sizeof(key), "key-%zu", round);
        result r = {.sim = s};
        assert_int_equal(
            al__kad_core_find_closest(s->n[from].core, (const uint8_t *)key,
                                      (size_t)klen, s->now, on_peers, &r),
            0);
        run(s, &r.done, s->now + 30000);
        assert_true(r.done);
        assert_int_equal(r.status, 0);
        al_peer_id want[AL__KAD_K];
        size_t n = true_closest(s, (const uint8_t *)key, (size_t)klen, from,
                                want, AL__KAD_K);
        assert_int_equal(r.npeers, n);
        size_t same = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < r.npeers; j++)
                if (al_peer_id_equal(&want[i], &r.peers[j]))
                    same++;
        overlap += same;
        bool in_order = same == n;
        for (size_t i = 0; i < n && in_order; i++)
            in_order = al_peer_id_equal(&want[i], &r.peers[i]);
        exact += in_order;
        /* The closest peer of all is always found. */
        assert_true(al_peer_id_equal(&want[0], &r.peers[0]));
    }
    /* Kademlia finds the true k closest, in order, nearly always. */
    assert_true(exact >= rounds - 2);
    assert_true(overlap >= rounds * AL__KAD_K - 5);
    for (int i = 0; i < s->count; i++)
        assert_true(al__kad_core_table(s->n[i].core)->size >= AL__KAD_K);
    sim_free(s);
    free(s);
}

static void put_found_through_third(void **state)
{
    (void)state;
    sim *s = malloc(sizeof(*s));
    sim_init(s, 77);
    build_network(s, 60, NULL);
    const uint8_t key[] = "my_actor";
    const uint8_t value[] = "\x26registration of remote::MyActor";
    result put = {.sim = s};
    assert_int_equal(al__kad_core_put(s->n[10].core, key, 8, value,
                                      sizeof(value) - 1, true, s->now, on_done,
                                      &put),
                     0);
    /* Not inside the call. */
    assert_false(put.done);
    uint64_t t0 = s->now;
    run(s, &put.done, s->now + 30000);
    assert_true(put.done);
    assert_int_equal(put.status, 0);
    assert_true(put.at - t0 < 1000);
    /* Let the other PUT_VALUEs land: the k closest hold it. */
    run(s, NULL, s->now + 1000);
    al_peer_id closest[AL__KAD_K];
    true_closest(s, key, 8, -1, closest, AL__KAD_K);
    size_t at_closest = 0;
    for (int i = 0; i < AL__KAD_K; i++) {
        int idx = find_node(s, &closest[i]);
        if (al__kad_store_get(al__kad_core_store(s->n[idx].core), key, 8,
                              s->now))
            at_closest++;
    }
    assert_true(at_closest >= AL__KAD_K - 2);

    /* A newcomer that only knows one node outside the k closest. */
    int third = -1;
    for (int i = 0; i < s->count && third < 0; i++) {
        if (i == 10)
            continue;
        bool holder = al__kad_store_get(al__kad_core_store(s->n[i].core), key,
                                        8, s->now) != NULL;
        if (!holder)
            third = i;
    }
    assert_true(third >= 0);
    simnode *c = add_node(s, NULL);
    knows(c, &s->n[third]);
    result got = {.sim = s};
    assert_int_equal(al__kad_core_get(c->core, key, 8, s->now, on_get, &got),
                     0);
    assert_false(got.done);
    run(s, &got.done, s->now + 30000);
    assert_true(got.done);
    assert_int_equal(got.status, 0);
    assert_int_equal(got.vlen, sizeof(value) - 1);
    assert_memory_equal(got.value, value, got.vlen);
    /* It went through the DHT: the third node was asked, and others. */
    assert_true(s->n[third].served > 0);
    assert_true(al__kad_core_table(c->core)->size > 1);
    /* The newcomer keeps no copy of what it looked up. */
    assert_null(al__kad_store_get(al__kad_core_store(c->core), key, 8, s->now));
    sim_free(s);
    free(s);
}

static void not_found_ends(void **state)
{
    (void)state;
    sim *s = malloc(sizeof(*s));
    sim_init(s, 5);
    build_network(s, 30, NULL);
    result r = {.sim = s};
    uint64_t t0 = s->now;
    assert_int_equal(al__kad_core_get(s->n[4].core, (const uint8_t *)"nope", 4,
                                      s->now, on_get, &r),
                     0);
    run(s, &r.done, s->now + 30000);
    assert_true(r.done);
    assert_int_equal(r.status, AL_ENOTFOUND);
    /* Ended by the lookup, well before the 10 s deadline. */
    assert_true(r.at - t0 < 2000);
    assert_int_equal(al__kad_core_running(s->n[4].core), 0);
    run(s, NULL, s->now + 100);
    assert_int_equal(al__kad_core_inflight(s->n[4].core), 0);

    /* No peers at all: not found, and not inside the call. */
    simnode *alone = add_node(s, NULL);
    result r2 = {.sim = s};
    assert_int_equal(al__kad_core_get(alone->core, (const uint8_t *)"nope", 4,
                                      s->now, on_get, &r2),
                     0);
    assert_false(r2.done);
    assert_int_equal(al__kad_core_next_deadline(alone->core), 0);
    run(s, &r2.done, s->now + 10);
    assert_int_equal(r2.status, AL_ENOTFOUND);
    assert_int_equal(s->n[alone->idx].served, 0);
    /* Bootstrap with nobody to ask. */
    result r3 = {.sim = s};
    assert_int_equal(al__kad_core_bootstrap(alone->core, s->now, on_done, &r3),
                     0);
    run(s, &r3.done, s->now + 10);
    assert_int_equal(r3.status, AL_ENOTFOUND);
    /* Bad arguments. */
    assert_int_equal(
        al__kad_core_get(alone->core, NULL, 0, s->now, on_get, &r3), AL_EINVAL);
    assert_int_equal(al__kad_core_put(alone->core, (const uint8_t *)"k", 0,
                                      NULL, 0, false, s->now, NULL, NULL),
                     AL_EINVAL);
    sim_free(s);
    free(s);
}

static void timeouts_end_queries(void **state)
{
    (void)state;
    sim *s = malloc(sizeof(*s));
    sim_init(s, 6);
    /* Three peers that never answer. */
    simnode *silent[3];
    for (int i = 0; i < 3; i++) {
        silent[i] = add_node(s, NULL);
        silent[i]->mode = SILENT;
    }
    /* Requests outlive the query: the query's deadline ends it. */
    al__kad_config slow = {.request_timeout_ms = 30000};
    simnode *x = add_node(s, &slow);
    for (int i = 0; i < 3; i++)
        knows(x, silent[i]);
    result r = {.sim = s};
    uint64_t t0 = s->now;
    assert_int_equal(
        al__kad_core_get(x->core, (const uint8_t *)"k", 1, s->now, on_get, &r),
        0);
    run(s, &r.done, s->now + 60000);
    assert_int_equal(r.status, AL_ETIMEDOUT);
    assert_int_equal(r.at - t0, 10000);
    /* The requests are still out until their own timeout cancels them. */
    assert_int_equal(al__kad_core_inflight(x->core), 3);
    run(s, NULL, t0 + 30000);
    assert_int_equal(al__kad_core_inflight(x->core), 0);
    assert_null(s->events);

    /* Default timeouts: each request times out at 5 s, the lookup has no
     * one left and ends with not found before its deadline. */
    simnode *y = add_node(s, NULL);
    for (int i = 0; i < 3; i++)
        knows(y, silent[i]);
    for (unsigned round = 0; round < AL__KAD_MAX_FAILURES; round++) {
        result g = {.sim = s};
        t0 = s->now;
        assert_int_equal(al__kad_core_get(y->core, (const uint8_t *)"k", 1,
                                          s->now, on_get, &g),
                         0);
        run(s, &g.done, s->now + 60000);
        assert_int_equal(g.status, AL_ENOTFOUND);
        assert_int_equal(g.at - t0, 5000);
        assert_int_equal(al__kad_core_inflight(y->core), 0);
    }
    /* Three failures in a row each: out of the routing table. */
    assert_int_equal(al__kad_core_table(y->core)->size, 0);

    /* A peer that is down fails at once (dial failure). */
    simnode *down = add_node(s, NULL);
    down->mode = DOWN;
    simnode *z = add_node(s, NULL);
    knows(z, down);
    result g = {.sim = s};
    t0 = s->now;
    al__kad_core_get(z->core, (const uint8_t *)"k", 1, s->now, on_get, &g);
    run(s, &g.done, s->now + 60000);
    assert_int_equal(g.status, AL_ENOTFOUND);
    assert_true(g.at - t0 <= 2 * s->latency);
    sim_free(s);
    free(s);
}

static void put_quorum(void **state)
{
    (void)state;
    sim *s = malloc(sizeof(*s));
    sim_init(s, 8);
    /* Peers whose store refuses any value (too large for them). */
    al__kad_config tiny = {.max_value = 2};
    simnode *refuse[3];
    for (int i = 0; i < 3; i++)
        refuse[i] = add_node(s, &tiny);
    simnode *x = add_node(s, NULL);
    for (int i = 0; i < 3; i++)
        knows(x, refuse[i]);
    result r = {.sim = s};
    assert_int_equal(al__kad_core_put(x->core, (const uint8_t *)"name", 4,
                                      (const uint8_t *)"value", 5, true, s->now,
                                      on_done, &r),
                     0);
    run(s, &r.done, s->now + 60000);
    /* Nobody took it: quorum failed. It stays in the local store. */
    assert_int_equal(r.status, AL_ENOTFOUND);
    assert_non_null(al__kad_store_get(al__kad_core_store(x->core),
                                      (const uint8_t *)"name", 4, s->now));
    assert_int_equal(holders(s, (const uint8_t *)"name", 4), 1);

    /* One peer that takes it is enough. */
    simnode *ok = add_node(s, NULL);
    knows(x, ok);
    result r2 = {.sim = s};
    al__kad_core_put(x->core, (const uint8_t *)"name", 4,
                     (const uint8_t *)"value", 5, true, s->now, on_done, &r2);
    run(s, &r2.done, s->now + 60000);
    assert_int_equal(r2.status, 0);
    assert_int_equal(holders(s, (const uint8_t *)"name", 4), 2);

    /* Without network: stored, 0, never inside the call. */
    result r3 = {.sim = s};
    assert_int_equal(al__kad_core_put(x->core, (const uint8_t *)"solo", 4,
                                      (const uint8_t *)"v", 1, false, s->now,
                                      on_done, &r3),
                     0);
    assert_false(r3.done);
    size_t sent = s->sent;
    run(s, &r3.done, s->now + 10);
    assert_int_equal(r3.status, 0);
    assert_int_equal(s->sent, sent);
    /* The store refuses at once: nothing to wait for. */
    uint8_t big[AL__KAD_STORE_VALUE];
    memset(big, 1, sizeof(big));
    assert_int_equal(al__kad_core_put(x->core, (const uint8_t *)"big", 3, big,
                                      sizeof(big), true, s->now, on_done, &r3),
                     AL_ELIMIT);
    /* The store would take 16 KiB, but PUT_VALUE must fit in a packet. */
    assert_int_equal(al__kad_core_put(x->core, (const uint8_t *)"big", 3, big,
                                      AL__KAD_MAX_PACKET, true, s->now, on_done,
                                      &r3),
                     AL_ELIMIT);
    assert_null(al__kad_store_get(al__kad_core_store(x->core),
                                  (const uint8_t *)"big", 3, s->now));
    result r4 = {.sim = s};
    assert_int_equal(al__kad_core_put(x->core, (const uint8_t *)"big", 3, big,
                                      16000, true, s->now, on_done, &r4),
                     0);
    run(s, &r4.done, s->now + 60000);
    assert_int_equal(r4.status, 0);
    sent = s->sent;
    /* A local hit is reported on the next tick, as found. */
    result got = {.sim = s};
    al__kad_core_get(x->core, (const uint8_t *)"solo", 4, s->now, on_get, &got);
    assert_false(got.done);
    run(s, &got.done, s->now + 10);
    assert_int_equal(got.status, 0);
    assert_int_equal(got.vlen, 1);
    assert_int_equal(s->sent, sent);
    sim_free(s);
    free(s);
}

/* The largest value a put takes goes out and comes back in one packet
 * each way, with timeReceived. */
static void largest_record_round_trip(void **state)
{
    (void)state;
    sim *s = malloc(sizeof(*s));
    sim_init(s, 14);
    build_network(s, 6, NULL);
    static uint8_t big[AL__KAD_MAX_PACKET];
    memset(big, 'v', sizeof(big));
    size_t n = sizeof(big);
    while (n > 0 &&
           al__kad_core_put(s->n[0].core, (const uint8_t *)"big", 3, big, n,
                            true, s->now, NULL, NULL) == AL_ELIMIT)
        n--;
    assert_true(n > 16000);
    run(s, NULL, s->now + 5000);
    assert_int_equal(holders(s, (const uint8_t *)"big", 3), 6);
    simnode *c = add_node(s, NULL);
    knows(c, &s->n[1]);
    result g = {.sim = s};
    al__kad_core_get(c->core, (const uint8_t *)"big", 3, s->now, on_big, &g);
    run(s, &g.done, s->now + 30000);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.vlen, n);
    sim_free(s);
    free(s);
}

static void tombstone_found(void **state)
{
    (void)state;
    sim *s = malloc(sizeof(*s));
    sim_init(s, 9);
    build_network(s, 12, NULL);
    result r = {.sim = s};
    al__kad_core_put(s->n[0].core, (const uint8_t *)"gone", 4, NULL, 0, true,
                     s->now, on_done, &r);
    run(s, &r.done, s->now + 30000);
    assert_int_equal(r.status, 0);
    result g = {.sim = s};
    al__kad_core_get(s->n[11].core, (const uint8_t *)"gone", 4, s->now, on_get,
                     &g);
    run(s, &g.done, s->now + 30000);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.vlen, 0);
    sim_free(s);
    free(s);
}

static void ttl_and_republish(void **state)
{
    (void)state;
    sim *s = malloc(sizeof(*s));
    sim_init(s, 10);
    al__kad_config cfg = {.record_ttl_ms = 10 * 60000,
                          .replicate_ms = 60000,
                          .publish_ms = 5 * 60000};
    build_network(s, 8, &cfg);
    const uint8_t *k1 = (const uint8_t *)"kept", *k2 = (const uint8_t *)"lost";
    result r1 = {.sim = s}, r2 = {.sim = s};
    al__kad_core_put(s->n[0].core, k1, 4, (const uint8_t *)"1", 1, true, s->now,
                     on_done, &r1);
    al__kad_core_put(s->n[1].core, k2, 4, (const uint8_t *)"2", 1, true, s->now,
                     on_done, &r2);
    run(s, &r1.done, s->now + 30000);
    run(s, &r2.done, s->now + 30000);
    assert_int_equal(r1.status, 0);
    assert_int_equal(r2.status, 0);
    run(s, NULL, s->now + 1000);
    assert_int_equal(holders(s, k1, 4), 8);
    assert_int_equal(holders(s, k2, 4), 8);
    /* The publisher of "lost" goes away: its record lives out its TTL in
     * the others (replication keeps the original expiry), then is gone.
     * "kept" is republished by its publisher with a fresh TTL. */
    s->n[1].mode = DOWN;
    uint64_t t0 = s->now;
    run(s, NULL, t0 + 9 * 60000);
    assert_true(holders(s, k2, 4) >= 7);
    run(s, NULL, t0 + 11 * 60000);
    /* Only its (unreachable) publisher still has it. */
    assert_int_equal(holders(s, k2, 4), 1);
    assert_non_null(
        al__kad_store_get(al__kad_core_store(s->n[1].core), k2, 4, s->now));
    /* Everyone but the node that is down (its copy expired unrefreshed). */
    assert_int_equal(holders(s, k1, 4), 7);
    assert_null(
        al__kad_store_get(al__kad_core_store(s->n[1].core), k1, 4, s->now));
    run(s, NULL, t0 + 30 * 60000);
    assert_int_equal(holders(s, k1, 4), 7);
    result g = {.sim = s};
    al__kad_core_get(s->n[5].core, k2, 4, s->now, on_get, &g);
    run(s, &g.done, s->now + 30000);
    assert_int_equal(g.status, AL_ENOTFOUND);
    sim_free(s);
    free(s);
}

static void replication_reaches_newcomer(void **state)
{
    (void)state;
    sim *s = malloc(sizeof(*s));
    sim_init(s, 12);
    al__kad_config cfg = {.replicate_ms = 60000};
    build_network(s, 10, &cfg);
    simnode *late = add_node(s, &cfg);
    /* A key whose closest node is the newcomer. */
    char key[32];
    int klen = 0;
    for (int i = 0;; i++) {
        klen = snprintf(key, sizeof(key), "name-%d", i);
        al_peer_id best[1];
        true_closest(s, (const uint8_t *)key, (size_t)klen, -1, best, 1);
        if (al_peer_id_equal(&best[0], &late->id))
            break;
    }
    /* Put while the newcomer is not yet part of the network. */
    s->count--;
    result r = {.sim = s};
    al__kad_core_put(s->n[3].core, (const uint8_t *)key, (size_t)klen,
                     (const uint8_t *)"v", 1, true, s->now, on_done, &r);
    run(s, &r.done, s->now + 30000);
    assert_int_equal(r.status, 0);
    s->count++;
    assert_null(al__kad_store_get(al__kad_core_store(late->core),
                                  (const uint8_t *)key, (size_t)klen, s->now));
    knows(late, &s->n[0]);
    result b = {.sim = s};
    al__kad_core_bootstrap(late->core, s->now, on_done, &b);
    run(s, &b.done, s->now + 30000);
    assert_int_equal(b.status, 0);
    /* Within two replication rounds a holder puts it to the newcomer. */
    run(s, NULL, s->now + 2 * 60000 + 1000);
    assert_non_null(al__kad_store_get(al__kad_core_store(late->core),
                                      (const uint8_t *)key, (size_t)klen,
                                      s->now));
    sim_free(s);
    free(s);
}

typedef struct restart {
    al__kad_core *core;
    int status, rc;
} restart;

/* Tries to start another lookup from the callback of a cancelled one. */
static void on_get_restart(int status, const uint8_t *v, size_t vlen, void *ud)
{
    restart *r = ud;
    (void)v;
    (void)vlen;
    r->status = status;
    r->rc = al__kad_core_get(r->core, (const uint8_t *)"k", 1, 0, on_get, NULL);
}

static void free_cancels(void **state)
{
    (void)state;
    sim *s = malloc(sizeof(*s));
    sim_init(s, 13);
    simnode *q = add_node(s, NULL);
    q->mode = SILENT;
    simnode *x = add_node(s, NULL);
    knows(x, q);
    result g = {.sim = s}, p = {.sim = s};
    al__kad_core_get(x->core, (const uint8_t *)"k", 1, s->now, on_get, &g);
    al__kad_core_put(x->core, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1,
                     true, s->now, on_done, &p);
    restart again = {.core = x->core, .rc = 1};
    al__kad_core_get(x->core, (const uint8_t *)"j", 1, s->now, on_get_restart,
                     &again);
    run(s, NULL, s->now + 100);
    assert_false(g.done);
    size_t before = s->cancels;
    assert_int_equal(al__kad_core_inflight(x->core), 3);
    al__kad_core_free(x->core);
    x->core = NULL;
    assert_true(g.done);
    assert_true(p.done);
    assert_int_equal(g.status, AL_ECANCELED);
    assert_int_equal(p.status, AL_ECANCELED);
    assert_int_equal(again.status, AL_ECANCELED);
    assert_int_equal(again.rc, AL_ECANCELED);
    assert_int_equal(s->cancels, before + 3);
    s->count--; /* x is gone */
    sim_free(s);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_find_node),
        cmocka_unit_test(answers_put_and_get),
        cmocka_unit_test(refuses_bad_requests),
        cmocka_unit_test(several_requests_per_stream),
        cmocka_unit_test(answer_fits_packet),
        cmocka_unit_test(addresses_filtered),
        cmocka_unit_test(rfc3339),
        cmocka_unit_test(lookups_converge),
        cmocka_unit_test(put_found_through_third),
        cmocka_unit_test(not_found_ends),
        cmocka_unit_test(timeouts_end_queries),
        cmocka_unit_test(put_quorum),
        cmocka_unit_test(largest_record_round_trip),
        cmocka_unit_test(tombstone_found),
        cmocka_unit_test(ttl_and_republish),
        cmocka_unit_test(replication_reaches_newcomer),
        cmocka_unit_test(free_cancels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
