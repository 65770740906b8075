/* remote.c over the swarm: two nodes on threads in this process, talking
 * /kameo/1 over QUIC on 127.0.0.1 (port 0). The actor is made reachable
 * with al__remote_expose and addressed by id, so that no Kademlia lookup is
 * involved (names are tested by tests/integration/remote_*.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "counter.h"
#include "kad.h"
#include "multiaddr.h"
#include "remote.h"
#include "swarm_harness.h"

#define LISTEN "/ip4/127.0.0.1/udp/0/quic-v1"

static const uint8_t inc10[] = {0x81, 0xa6, 'a', 'm', 'o', 'u', 'n', 't', 0x0a};

/* ------------------------------------------------------------ test::Watcher */

typedef struct watcher {
    pthread_mutex_t mu;
    int died;
    int reason;
    uint64_t dead;
} watcher;

static bool watcher_link_died(void *state, al_actor *self, uint64_t dead,
                              int reason)
{
    (void)self;
    watcher *w = state;
    pthread_mutex_lock(&w->mu);
    w->died++;
    w->reason = reason;
    w->dead = dead;
    pthread_mutex_unlock(&w->mu);
    return false;
}

static const al_actor_class watcher_class = {
    .remote_id = "test::Watcher",
    .on_link_died = watcher_link_died,
};

AL_REMOTE_ACTOR(watcher_class);

static int watcher_died(watcher *w)
{
    pthread_mutex_lock(&w->mu);
    int d = w->died;
    pthread_mutex_unlock(&w->mu);
    return d;
}

/* ------------------------------------------------------------ fixture */

typedef struct pair {
    tnode a, b;         /* a asks, b serves */
    al_actor *counter;  /* on b */
    al_remote_ref *ref; /* on a, to the counter */
} pair;

static void expose_counter(void *arg)
{
    pair *p = arg;
    assert_int_equal(counter_spawn(p->b.node, 0, &p->counter), 0);
    al__remote *r = al__remote_of(p->b.node);
    assert_non_null(r);
    assert_int_equal(al__remote_expose(r, p->counter, "my_actor"), 0);
}

static void make_ref(void *arg)
{
    pair *p = arg;
    al_actor_id id = {.seq = al_actor_seq(p->counter), .peer = p->b.id};
    assert_int_equal(
        al_remote_ref_new(p->a.node, &id, COUNTER_REMOTE_ID, &p->ref), 0);
}

static void pair_start(pair *p, const al_swarm_opts *b_opts)
{
    memset(p, 0, sizeof(*p));
    assert_int_equal(tn_start(&p->b, b_opts, LISTEN), 0);
    assert_int_equal(tn_start(&p->a, NULL, NULL), 0);
    assert_true(on_loop(p->b.node, expose_counter, p));
    assert_int_equal(tn_dial(&p->a, p->b.addr, NULL), 0);
    assert_int_equal(tn_ping(&p->a, &p->b.id, NULL), 0);
    assert_true(on_loop(p->a.node, make_ref, p));
}

static void free_ref(void *arg)
{
    al_remote_ref_free(arg);
}

static void pair_stop(pair *p)
{
    if (p->ref)
        on_loop(p->a.node, free_ref, p->ref);
    al_actor_release(p->counter);
    tn_stop(&p->a);
    tn_stop(&p->b);
}

/* ------------------------------------------------------------ asks */

typedef struct result {
    pthread_mutex_t mu;
    bool done;
    int status;
    int64_t value;
    char detail[256];
    uint64_t at_ms;
} result;

typedef struct batch {
    al_remote_ref *ref;
    const char *msg;
    const uint8_t *payload;
    size_t len;
    al_send_opts opts;
    bool tell;
    result *res;
    size_t n;
    int rc;
} batch;

static void got_reply(const al_reply *rep, void *ud)
{
    result *r = ud;
    pthread_mutex_lock(&r->mu);
    r->status = rep->status;
    r->value = -1;
    if (rep->status == 0 && rep->data)
        al_mp_decode_i64(rep->data, rep->len, &r->value, NULL);
    snprintf(r->detail, sizeof(r->detail), "%s",
             rep->detail ? rep->detail : "");
    r->at_ms = mono_ms();
    r->done = true;
    pthread_mutex_unlock(&r->mu);
}

static void got_done(int status, void *ud)
{
    result *r = ud;
    pthread_mutex_lock(&r->mu);
    r->status = status;
    r->at_ms = mono_ms();
    r->done = true;
    pthread_mutex_unlock(&r->mu);
}

static void do_send(void *arg)
{
    batch *b = arg;
    for (size_t i = 0; i < b->n && !b->rc; i++)
        b->rc = b->tell ? al_remote_tell(b->ref, b->msg, b->payload, b->len,
                                         &b->opts, got_done, &b->res[i])
                        : al_remote_ask(b->ref, b->msg, b->payload, b->len,
                                        &b->opts, got_reply, &b->res[i]);
}

static bool all_done(void *arg)
{
    batch *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        pthread_mutex_lock(&b->res[i].mu);
        bool d = b->res[i].done;
        pthread_mutex_unlock(&b->res[i].mu);
        if (!d)
            return false;
    }
    return true;
}

/* Sends n requests in one loop turn and waits for every outcome. */
static void send_batch(tnode *from, batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        memset(&b->res[i], 0, sizeof(b->res[i]));
        pthread_mutex_init(&b->res[i].mu, NULL);
    }
    assert_true(on_loop(from->node, do_send, b));
    assert_int_equal(b->rc, 0);
    assert_true(wait_until(all_done, b, DEADLINE_MS));
}

static result ask1(pair *p, const char *msg, const uint8_t *payload, size_t len,
                   const al_send_opts *o)
{
    result r;
    batch b = {p->ref, msg, payload, len, o ? *o : AL_SEND_OPTS_DEFAULT,
               false,  &r,  1,       0};
    send_batch(&p->a, &b);
    return r;
}

static void ask_and_tell_over_quic(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    result r = ask1(&p, COUNTER_INC_ID, inc10, 9, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.value, 10);
    r = ask1(&p, COUNTER_INC_ID, inc10, 9, NULL);
    assert_int_equal(r.value, 20);

    r = ask1(&p, "no-such-message", inc10, 9, NULL);
    assert_int_equal(r.status, AL_E_UNKNOWN_MESSAGE);
    assert_non_null(strstr(r.detail, "no-such-message"));

    static const uint8_t dec50[] = {0x81, 0xa6, 'a', 'm', 'o',
                                    'u',  'n',  't', 0x32};
    r = ask1(&p, COUNTER_TRYDEC_ID, dec50, sizeof(dec50), NULL);
    assert_int_equal(r.status, AL_E_HANDLER_ERROR);

    static const uint8_t log[] = {0x81, 0xa4, 't', 'e', 'x',
                                  't',  0xa2, 'h', 'i'};
    uint64_t seen = counter_logs_seen();
    result t;
    batch tb = {p.ref,
                COUNTER_LOG_ID,
                log,
                sizeof(log),
                AL_SEND_OPTS_DEFAULT,
                true,
                &t,
                1,
                0};
    send_batch(&p.a, &tb);
    assert_int_equal(t.status, 0);
    r = ask1(&p, COUNTER_INC_ID, inc10, 9, NULL);
    assert_int_equal(r.value, 30);
    assert_int_equal(counter_logs_seen(), seen + 1);
    pair_stop(&p);
}

static void many_in_flight_share_one_connection(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    enum { N = 200 };
    static result res[N];
    batch b = {
        p.ref, COUNTER_INC_ID, inc10, 9, AL_SEND_OPTS_DEFAULT, false, res, N,
        0};
    send_batch(&p.a, &b);
    /* Each ask saw a distinct count: 10, 20, ... 2000. */
    static bool seen[N + 1];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < N; i++) {
        assert_int_equal(res[i].status, 0);
        assert_true(res[i].value % 10 == 0 && res[i].value / 10 <= N);
        assert_false(seen[res[i].value / 10]);
        seen[res[i].value / 10] = true;
    }
    peers_args pa;
    assert_int_equal(tn_peers(&p.a, &pa), 1);
    pair_stop(&p);
}

static void request_timeout_is_network_timeout(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    /* Sleep { ms: 1000 } with a 300 ms request timeout. */
    static const uint8_t sleep1s[] = {0x81, 0xa2, 'm', 's', 0xcd, 0x03, 0xe8};
    al_send_opts o = AL_SEND_OPTS_DEFAULT;
    o.request_timeout_ms = 300;
    uint64_t t0 = mono_ms();
    result r = ask1(&p, COUNTER_SLEEP_ID, sleep1s, sizeof(sleep1s), &o);
    assert_int_equal(r.status, AL_E_NETWORK_TIMEOUT);
    assert_true(r.at_ms - t0 >= 290 && r.at_ms - t0 < 2500);
    /* The connection is still good. */
    r = ask1(&p, COUNTER_INC_ID, inc10, 9, NULL);
    assert_int_equal(r.value, 10);
    pair_stop(&p);
}

static void unknown_peer_is_dial_failure(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    al_identity *id;
    assert_int_equal(al_identity_generate(&id, NULL), 0);
    al_actor_id far = {.seq = 1};
    al_identity_peer_id(id, &far.peer);
    al_identity_free(id);
    al_remote_ref *saved = p.ref;
    struct mk {
        pair *p;
        al_actor_id id;
    } mk = {&p, far};
    void make_far(void *);
    assert_true(on_loop(p.a.node, make_far, &mk));
    result r = ask1(&p, COUNTER_INC_ID, inc10, 9, NULL);
    assert_int_equal(r.status, AL_E_DIAL_FAILURE);
    on_loop(p.a.node, free_ref, p.ref);
    p.ref = saved;
    pair_stop(&p);
}

void make_far(void *arg);
void make_far(void *arg)
{
    struct mk {
        pair *p;
        al_actor_id id;
    } *mk = arg;
    assert_int_equal(al_remote_ref_new(mk->p->a.node, &mk->id,
                                       COUNTER_REMOTE_ID, &mk->p->ref),
                     0);
}

static void over_the_limit_is_mailbox_full(void **s)
{
    (void)s;
    pair p;
    al_swarm_opts o = {.max_inbound_requests = 1};
    pair_start(&p, &o);
    /* The first (a 500 ms sleep) is being served when the second comes. */
    static const uint8_t sleep500[] = {0x81, 0xa2, 'm', 's', 0xcd, 0x01, 0xf4};
    result res[2];
    batch b = {p.ref,
               COUNTER_SLEEP_ID,
               sleep500,
               sizeof(sleep500),
               AL_SEND_OPTS_DEFAULT,
               false,
               res,
               2,
               0};
    send_batch(&p.a, &b);
    assert_int_equal(res[0].status, 0);
    assert_int_equal(res[1].status, AL_E_MAILBOX_FULL);
    /* Once the first is answered there is room again. */
    result r = ask1(&p, COUNTER_INC_ID, inc10, 9, NULL);
    assert_int_equal(r.value, 10);
    pair_stop(&p);
}

typedef struct inbound_wait {
    tnode *t;
    uint32_t want;
    uint32_t seen; /* read on t's loop */
} inbound_wait;

static void read_inbound(void *arg)
{
    inbound_wait *w = arg;
    w->seen = al__remote_inbound(al__remote_of(w->t->node));
}

static bool inbound_reached(void *arg)
{
    inbound_wait *w = arg;
    return on_loop(w->t->node, read_inbound, w) && w->seen >= w->want;
}

static void peer_stopping_ends_pending_asks(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    /* Sleep { ms: 1500 } */
    static const uint8_t sleep1500[] = {0x81, 0xa2, 'm', 's', 0xcd, 0x05, 0xdc};
    enum { N = 8 };
    result res[N];
    batch b = {p.ref,
               COUNTER_SLEEP_ID,
               sleep1500,
               sizeof(sleep1500),
               AL_SEND_OPTS_DEFAULT,
               false,
               res,
               N,
               0};
    for (size_t i = 0; i < N; i++) {
        memset(&res[i], 0, sizeof(res[i]));
        pthread_mutex_init(&res[i].mu, NULL);
    }
    assert_true(on_loop(p.a.node, do_send, &b));
    /* Once all N are at b (each holds an inbound slot), b stops. */
    inbound_wait iw = {&p.b, N, 0};
    assert_true(wait_until(inbound_reached, &iw, DEADLINE_MS));
    uint64_t t0 = mono_ms();
    al_actor_release(p.counter);
    p.counter = NULL;
    tn_stop(&p.b);
    assert_true(wait_until(all_done, &b, DEADLINE_MS));
    /* b resets the streams of requests it cannot finish as it stops. */
    for (int i = 0; i < N; i++) {
        assert_int_equal(res[i].status, AL_E_CONNECTION_CLOSED);
        assert_true(res[i].at_ms - t0 < 1400);
    }
    /* After it is gone: a failure within the request timeout (redialing
     * its address finds nobody; without an ICMP error the handshake only
     * times out). */
    al_send_opts o = AL_SEND_OPTS_DEFAULT;
    o.request_timeout_ms = 1000;
    result r = ask1(&p, COUNTER_INC_ID, inc10, 9, &o);
    assert_true(r.status == AL_E_DIAL_FAILURE ||
                r.status == AL_E_CONNECTION_CLOSED ||
                r.status == AL_E_NETWORK_TIMEOUT);
    on_loop(p.a.node, free_ref, p.ref);
    p.ref = NULL;
    tn_stop(&p.a);
}

/* ------------------------------------------------------------ links */

typedef struct link_args {
    pair *p;
    al_actor *local;
    watcher *w;
    result res;
    int rc;
} link_args;

static void do_link(void *arg)
{
    link_args *l = arg;
    l->rc = al_spawn(l->p->a.node, &watcher_class, l->w, NULL, &l->local);
    if (!l->rc)
        l->rc = al_remote_link(l->local, l->p->ref, got_done, &l->res);
}

static bool link_done(void *arg)
{
    link_args *l = arg;
    pthread_mutex_lock(&l->res.mu);
    bool d = l->res.done;
    pthread_mutex_unlock(&l->res.mu);
    return d;
}

static bool watcher_heard(void *arg)
{
    return watcher_died(arg) > 0;
}

static void link_to(pair *p, link_args *l, watcher *w)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->res.mu, NULL);
    l->p = p;
    l->w = w;
    assert_true(on_loop(p->a.node, do_link, l));
    assert_int_equal(l->rc, 0);
    assert_true(wait_until(link_done, l, DEADLINE_MS));
    assert_int_equal(l->res.status, 0);
}

static void remote_actor_death_reaches_linked_actor(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    watcher w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    link_args l;
    link_to(&p, &l, &w);
    uint64_t counter_seq = al_actor_seq(p.counter);
    al_actor_kill(p.counter);
    assert_true(wait_until(watcher_heard, &w, DEADLINE_MS));
    assert_int_equal(w.reason, AL_STOP_KILLED);
    assert_int_equal(w.dead, counter_seq);
    al_actor_release(l.local);
    pair_stop(&p);
}

static void local_actor_death_reaches_remote_actor(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    watcher w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    link_args l;
    link_to(&p, &l, &w);
    /* a's watcher dies: b's counter hears it through SignalLinkDied and,
     * having no on_link_died, stops on the Killed reason. */
    al_actor_kill(l.local);
    assert_int_equal(al_actor_wait(p.counter), AL_STOP_LINK_DIED);
    al_actor_release(l.local);
    pair_stop(&p);
}

static void do_disconnect(void *arg)
{
    pair *p = arg;
    al_swarm_disconnect(p->a.node, &p->b.id);
}

static void disconnect_is_peer_disconnected(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    watcher w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    link_args l;
    link_to(&p, &l, &w);
    assert_true(on_loop(p.a.node, do_disconnect, &p));
    assert_true(wait_until(watcher_heard, &w, DEADLINE_MS));
    assert_int_equal(w.reason, AL_STOP_PEER_DISCONNECTED);
    assert_true(tn_get(&p.a, &p.a.disconnected) >= 1);
    /* b's counter, linked to the watcher, heard it too, and stopped (no
     * on_link_died: any reason but Normal stops it). */
    assert_int_equal(al_actor_wait(p.counter), AL_STOP_LINK_DIED);
    al_actor_release(l.local);
    pair_stop(&p);
}

/* A node stopping gracefully stops its actors first, and their linked
 * peers hear why (Normal) before the connection goes: not
 * PeerDisconnected, which would tell them the node vanished. */
static void graceful_stop_sends_link_died(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    watcher w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    link_args l;
    link_to(&p, &l, &w);
    uint64_t counter_seq = al_actor_seq(p.counter);
    al_actor_release(p.counter);
    p.counter = NULL;
    tn_stop(&p.b);
    assert_true(wait_until(watcher_heard, &w, DEADLINE_MS));
    assert_int_equal(w.dead, counter_seq);
    assert_int_equal(w.reason, AL_STOP_NORMAL);
    al_actor_release(l.local);
    pair_stop(&p);
}

/* ------------------------------------------------------------ slow senders */

typedef struct stalled {
    pthread_mutex_t mu;
    tnode *from;
    al_peer_id to;
    bool closed;
    int status;
    uint64_t opened_ms, closed_ms;
} stalled;

static void stalled_data(al__stream *s, const uint8_t *d, size_t n, void *ud)
{
    (void)s;
    (void)d;
    (void)n;
    (void)ud;
}

static void stalled_fin(al__stream *s, void *ud)
{
    (void)s;
    (void)ud;
}

static void stalled_close(al__stream *s, int status, void *ud)
{
    (void)s;
    stalled *st = ud;
    pthread_mutex_lock(&st->mu);
    st->closed = true;
    st->status = status;
    st->closed_ms = mono_ms();
    pthread_mutex_unlock(&st->mu);
}

static const al__stream_ops stalled_ops = {stalled_data, stalled_fin,
                                           stalled_close};

/* Half a request, and never the rest nor a FIN. */
static void stalled_opened(int status, al__stream *s, void *ud)
{
    stalled *st = ud;
    if (status) {
        stalled_close(NULL, status, st);
        return;
    }
    st->opened_ms = mono_ms();
    al__stream_set_ops(s, &stalled_ops, st);
    static const uint8_t half[] = {0xa1, 0x63, 'A', 's', 'k', 0xa7};
    al__stream_write(s, half, sizeof(half));
}

static void do_stall(void *arg)
{
    stalled *st = arg;
    int rc = al__swarm_open_stream(al__swarm_of(st->from->node), &st->to,
                                   "/kameo/1", stalled_opened, st);
    if (rc)
        stalled_close(NULL, rc, st);
}

static bool stalled_done(void *arg)
{
    stalled *st = arg;
    pthread_mutex_lock(&st->mu);
    bool c = st->closed;
    pthread_mutex_unlock(&st->mu);
    return c;
}

/* A peer that opens a request stream and goes quiet loses it after the
 * read timeout, and its slot: with one inbound slot, a later ask is
 * served, not refused as MailboxFull. */
static void silent_sender_is_reset(void **s)
{
    (void)s;
    pair p;
    al_swarm_opts o = {.max_inbound_requests = 1,
                       .request_read_timeout_ms = 300};
    pair_start(&p, &o);
    stalled st = {.mu = PTHREAD_MUTEX_INITIALIZER, .from = &p.a, .to = p.b.id};
    assert_true(on_loop(p.a.node, do_stall, &st));
    assert_true(wait_until(stalled_done, &st, DEADLINE_MS));
    assert_int_not_equal(st.status, 0);
    assert_true(st.opened_ms > 0);
    /* Reset by b's deadline, not before it. */
    assert_true(st.closed_ms - st.opened_ms >= 250);
    result r = ask1(&p, COUNTER_INC_ID, inc10, 9, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.value, 10);
    pair_stop(&p);
}

/* ------------------------------------------------------------ names */

typedef struct name_args {
    al_node *node;
    al_actor *actor;
    const char *name, *type;
    bool unregister, lookup;
    int rc;
    result res;
    al_remote_ref *ref;
} name_args;

static void name_done(int status, void *ud)
{
    got_done(status, &((name_args *)ud)->res);
}

static void name_found(int status, al_remote_ref *ref, void *ud)
{
    name_args *n = ud;
    n->ref = ref;
    got_done(status, &n->res);
}

static void do_name(void *arg)
{
    name_args *n = arg;
    if (n->lookup)
        n->rc = al_remote_lookup(n->node, n->name, n->type, name_found, n);
    else if (n->unregister)
        n->rc = al_actor_unregister(n->node, n->name, name_done, n);
    else
        n->rc = al_actor_register(n->actor, n->name, name_done, n);
}

static bool name_finished(void *arg)
{
    name_args *n = arg;
    pthread_mutex_lock(&n->res.mu);
    bool d = n->res.done;
    pthread_mutex_unlock(&n->res.mu);
    return d;
}

/* Runs one name operation on node and returns its outcome. */
static int name_op(name_args n, al_remote_ref **ref)
{
    memset(&n.res, 0, sizeof(n.res));
    pthread_mutex_init(&n.res.mu, NULL);
    assert_true(on_loop(n.node, do_name, &n));
    if (n.rc)
        return n.rc;
    assert_true(wait_until(name_finished, &n, DEADLINE_MS));
    if (ref)
        *ref = n.ref;
    else if (n.ref)
        on_loop(n.node, free_ref, n.ref);
    return n.res.status;
}

/* a learns b as a Kademlia server, as the examples do with their
 * bootstrap peers. */
static void add_b_to_kad(void *arg)
{
    pair *p = arg;
    al__maddr m;
    uint8_t b[AL__MADDR_MAX_BYTES];
    assert_int_equal(al__maddr_parse(&m, p->b.addr, NULL), 0);
    int n = al__maddr_encode(&m, b, sizeof(b));
    assert_true(n > 0);
    assert_int_equal(
        al__kad_add_address(al__kad_of(p->a.node), &p->b.id, b, (size_t)n), 0);
}

static void register_lookup_unregister(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    assert_true(on_loop(p.a.node, add_b_to_kad, &p));
    /* b registers its counter; a finds it by name. */
    assert_int_equal(name_op((name_args){.node = p.b.node,
                                         .actor = p.counter,
                                         .name = "counter"},
                             NULL),
                     0);
    al_remote_ref *ref = NULL;
    assert_int_equal(name_op((name_args){.node = p.a.node,
                                         .name = "counter",
                                         .type = COUNTER_REMOTE_ID,
                                         .lookup = true},
                             &ref),
                     0);
    assert_non_null(ref);
    assert_true(al_peer_id_equal(&al_remote_ref_id(ref)->peer, &p.b.id));
    assert_int_equal(al_remote_ref_id(ref)->seq, al_actor_seq(p.counter));
    assert_string_equal(al_remote_ref_remote_id(ref), COUNTER_REMOTE_ID);
    on_loop(p.a.node, free_ref, p.ref);
    p.ref = ref;
    result r = ask1(&p, COUNTER_INC_ID, inc10, 9, NULL);
    assert_int_equal(r.value, 10);

    assert_int_equal(name_op((name_args){.node = p.a.node,
                                         .name = "counter",
                                         .type = "test::Watcher",
                                         .lookup = true},
                             NULL),
                     AL_E_BAD_ACTOR_TYPE);
    assert_int_equal(
        name_op(
            (name_args){.node = p.a.node, .name = "counter", .lookup = true},
            NULL),
        0);
    assert_int_equal(
        name_op((name_args){.node = p.a.node, .name = "nobody", .lookup = true},
                NULL),
        AL_ENOTFOUND);
    assert_int_equal(
        name_op((name_args){.node = p.a.node, .name = "", .lookup = true},
                NULL),
        AL_EINVAL);

    /* Unregistering puts a tombstone: the name is gone for a too. The
     * actor stays served while another name (my_actor, from pair_start)
     * keeps it, and no longer once that one goes too. */
    assert_int_equal(name_op((name_args){.node = p.b.node,
                                         .name = "counter",
                                         .unregister = true},
                             NULL),
                     0);
    assert_int_equal(
        name_op(
            (name_args){.node = p.a.node, .name = "counter", .lookup = true},
            NULL),
        AL_ENOTFOUND);
    r = ask1(&p, COUNTER_INC_ID, inc10, 9, NULL);
    assert_int_equal(r.value, 20);
    assert_int_equal(name_op((name_args){.node = p.b.node,
                                         .name = "my_actor",
                                         .unregister = true},
                             NULL),
                     0);
    r = ask1(&p, COUNTER_INC_ID, inc10, 9, NULL);
    assert_int_equal(r.status, AL_E_ACTOR_NOT_RUNNING);
    pair_stop(&p);
}

static void register_alone_stores_locally(void **s)
{
    (void)s;
    pair p;
    pair_start(&p, NULL);
    /* a has no listener and b's connection is the only one; a node of its
     * own: */
    tnode c;
    assert_int_equal(tn_start(&c, NULL, NULL), 0);
    al_actor *counter;
    assert_int_equal(counter_spawn(c.node, 0, &counter), 0);
    assert_int_equal(
        name_op((name_args){.node = c.node, .actor = counter, .name = "solo"},
                NULL),
        0);
    al_remote_ref *ref = NULL;
    assert_int_equal(name_op((name_args){.node = c.node,
                                         .name = "solo",
                                         .type = COUNTER_REMOTE_ID,
                                         .lookup = true},
                             &ref),
                     0);
    /* The ref names this very node: the ask runs locally. */
    result res;
    batch b = {ref,   COUNTER_INC_ID, inc10, 9, AL_SEND_OPTS_DEFAULT,
               false, &res,           1,     0};
    send_batch(&c, &b);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.value, 10);
    assert_int_equal(
        name_op((name_args){.node = c.node, .name = "solo", .unregister = true},
                NULL),
        0);
    assert_int_equal(
        name_op((name_args){.node = c.node, .name = "solo", .lookup = true},
                NULL),
        AL_ENOTFOUND);
    on_loop(c.node, free_ref, ref);
    al_actor_release(counter);
    tn_stop(&c);
    pair_stop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ask_and_tell_over_quic),
        cmocka_unit_test(many_in_flight_share_one_connection),
        cmocka_unit_test(request_timeout_is_network_timeout),
        cmocka_unit_test(unknown_peer_is_dial_failure),
        cmocka_unit_test(over_the_limit_is_mailbox_full),
        cmocka_unit_test(silent_sender_is_reset),
        cmocka_unit_test(peer_stopping_ends_pending_asks),
        cmocka_unit_test(remote_actor_death_reaches_linked_actor),
        cmocka_unit_test(graceful_stop_sends_link_died),
        cmocka_unit_test(local_actor_death_reaches_remote_actor),
        cmocka_unit_test(disconnect_is_peer_disconnected),
        cmocka_unit_test(register_lookup_unregister),
        cmocka_unit_test(register_alone_stores_locally),
    };
    return cmocka_run_group_tests_name("remote_net", tests, NULL, NULL);
}
