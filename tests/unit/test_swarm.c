/* swarm.c, ping.c, identify.c: two or more nodes on threads over
 * 127.0.0.1 with port 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <unistd.h>

#include "identity.h"
#include "quic.h"
#include "swarm_harness.h"
#include "tlscert.h"

static bool identified_both(void *arg)
{
    tnode **t = arg;
    return tn_get(t[0], &t[0]->identified) >= 1 &&
           tn_get(t[1], &t[1]->identified) >= 1;
}

static void connect_ping_identify(void **state)
{
    (void)state;
    tnode a, b;
    assert_int_equal(tn_start(&a, NULL, "/ip4/127.0.0.1/udp/0/quic-v1"), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_non_null(strstr(a.addr, "/p2p/12D3KooW"));
    dial_args d;
    assert_int_equal(tn_dial(&b, a.addr, &d), 0);
    assert_true(al_peer_id_equal(&d.peer, &a.id));
    for (int i = 0; i < 3; i++) {
        uint64_t rtt = 0;
        assert_int_equal(tn_ping(&b, &a.id, &rtt), 0);
        assert_true(rtt > 0);
    }
    tnode *both[2] = {&a, &b};
    assert_true(wait_until(identified_both, both, DEADLINE_MS));
    assert_string_equal(a.last_agent, "actorlib/" AL_VERSION);
    peers_args p;
    assert_int_equal(tn_peers(&b, &p), 1);
    assert_true(al_peer_id_equal(&p.info[0].id, &a.id));
    assert_true(p.info[0].outbound);
    assert_true(p.info[0].rtt_us > 0);
    assert_string_equal(p.info[0].agent, "actorlib/" AL_VERSION);
    assert_int_equal(tn_get(&a, &a.connected), 1);
    assert_int_equal(tn_get(&b, &b.connected), 1);
    tn_stop(&b);
    tn_stop(&a);
}

/* ------------------------------------------------------------ helpers */

#define LOCAL "/ip4/127.0.0.1/udp/0/quic-v1"

static bool no_peers(void *arg)
{
    return tn_peers(arg, NULL) == 0;
}

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open, blocked;
} gate;

/* Blocks a node's loop until the gate opens. */
static void block_loop(void *ud)
{
    gate *g = ud;
    pthread_mutex_lock(&g->mu);
    g->blocked = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* Echo and hold protocols, and a client that counts what comes back. */
typedef struct counters {
    pthread_mutex_t mu;
    int opened, finished, closed_ok, closed_err, last_err, held;
    size_t bytes;
} counters;

static counters srv, cli;

static void count(counters *c, int *field, int delta)
{
    pthread_mutex_lock(&c->mu);
    *field += delta;
    pthread_mutex_unlock(&c->mu);
}

static int counted(counters *c, int *field)
{
    pthread_mutex_lock(&c->mu);
    int v = *field;
    pthread_mutex_unlock(&c->mu);
    return v;
}

static void echo_data(al__stream *s, const uint8_t *d, size_t n, void *ud)
{
    (void)ud;
    assert_int_equal(al__stream_write(s, d, n), 0);
}

static void echo_fin(al__stream *s, void *ud)
{
    (void)ud;
    al__stream_finish(s);
}

static void srv_close(al__stream *s, int status, void *ud)
{
    (void)s;
    (void)ud;
    count(&srv, status ? &srv.closed_err : &srv.closed_ok, 1);
}

static const al__stream_ops echo_ops = {echo_data, echo_fin, srv_close};

static void echo_open(al__stream *s, void *ud)
{
    (void)ud;
    count(&srv, &srv.opened, 1);
    assert_string_equal(al__stream_protocol(s), "/test/echo/1");
    al__stream_set_ops(s, &echo_ops, NULL);
}

static void hold_data(al__stream *s, const uint8_t *d, size_t n, void *ud)
{
    (void)s;
    (void)d;
    (void)n;
    (void)ud;
}

static const al__stream_ops hold_ops = {hold_data, NULL, srv_close};

static void hold_open(al__stream *s, void *ud)
{
    (void)ud;
    count(&srv, &srv.held, 1);
    al__stream_set_ops(s, &hold_ops, NULL);
}

static int refused_data;

static void refuse_data(al__stream *s, const uint8_t *d, size_t n, void *ud)
{
    (void)s;
    (void)d;
    (void)n;
    (void)ud;
    refused_data++;
}

static const al__stream_ops refuse_ops = {refuse_data, NULL, srv_close};

/* Takes the stream, then resets it at once: the bytes that came with the
 * negotiation must not reach it. */
static void refuse_open(al__stream *s, void *ud)
{
    (void)ud;
    al__stream_set_ops(s, &refuse_ops, NULL);
    al__stream_reset(s);
    assert_int_equal(al__stream_write(s, (const uint8_t *)"x", 1), AL_ESTATE);
}

static void serve_protocols(void *ud)
{
    al__swarm *sw = al__swarm_of(((tnode *)ud)->node);
    assert_int_equal(al__swarm_handle(sw, "/test/refuse/1", refuse_open, NULL),
                     0);
    assert_int_equal(al__swarm_handle(sw, "/test/echo/1", echo_open, NULL), 0);
    assert_int_equal(al__swarm_handle(sw, "/test/hold/1", hold_open, NULL), 0);
    assert_int_equal(al__swarm_handle(sw, "/test/echo/1", echo_open, NULL),
                     AL_EDUPLICATE);
}

static void cli_data(al__stream *s, const uint8_t *d, size_t n, void *ud)
{
    (void)s;
    (void)d;
    (void)ud;
    pthread_mutex_lock(&cli.mu);
    cli.bytes += n;
    pthread_mutex_unlock(&cli.mu);
}

static void cli_fin(al__stream *s, void *ud)
{
    (void)s;
    (void)ud;
    count(&cli, &cli.finished, 1);
}

static void cli_close(al__stream *s, int status, void *ud)
{
    (void)s;
    (void)ud;
    pthread_mutex_lock(&cli.mu);
    if (status) {
        cli.closed_err++;
        cli.last_err = status;
    } else {
        cli.closed_ok++;
    }
    pthread_mutex_unlock(&cli.mu);
}

static const al__stream_ops cli_ops = {cli_data, cli_fin, cli_close};

typedef struct open_args {
    tnode *t;
    al_peer_id peer;
    const char *proto;
    int n;
    size_t len;
    bool finish;
} open_args;

static open_args *pending_open;

static void cli_opened(int status, al__stream *s, void *ud)
{
    open_args *a = ud;
    if (status) {
        pthread_mutex_lock(&cli.mu);
        cli.closed_err++;
        cli.last_err = status;
        pthread_mutex_unlock(&cli.mu);
        return;
    }
    count(&cli, &cli.opened, 1);
    al__stream_set_ops(s, &cli_ops, NULL);
    uint8_t buf[256];
    memset(buf, 0x42, sizeof(buf));
    if (a->len)
        assert_int_equal(al__stream_write(s, buf, a->len), 0);
    if (a->finish)
        assert_int_equal(al__stream_finish(s), 0);
}

static void do_open_streams(void *ud)
{
    open_args *a = ud;
    al__swarm *sw = al__swarm_of(a->t->node);
    for (int i = 0; i < a->n; i++)
        assert_int_equal(
            al__swarm_open_stream(sw, &a->peer, a->proto, cli_opened, a), 0);
}

static void counters_reset(void)
{
    pthread_mutex_destroy(&srv.mu);
    pthread_mutex_destroy(&cli.mu);
    memset(&srv, 0, sizeof(srv));
    memset(&cli, 0, sizeof(cli));
    pthread_mutex_init(&srv.mu, NULL);
    pthread_mutex_init(&cli.mu, NULL);
}

typedef struct want {
    counters *c;
    int *field;
    int n;
} want;

static bool reached(void *arg)
{
    want *w = arg;
    return counted(w->c, w->field) >= w->n;
}

static bool wait_count(counters *c, int *field, int n)
{
    want w = {c, field, n};
    return wait_until(reached, &w, DEADLINE_MS);
}

/* ------------------------------------------------------------ tests */

static void wrong_peer_id_leaves_nothing(void **state)
{
    (void)state;
    tnode a, b, c;
    assert_int_equal(tn_start(&a, NULL, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_int_equal(tn_start(&c, NULL, NULL), 0);
    /* a's address with c's peer id. */
    char addr[300], want_id[AL_PEER_ID_STRLEN], got_id[AL_PEER_ID_STRLEN];
    al_peer_id_format(&c.id, want_id, sizeof(want_id));
    al_peer_id_format(&a.id, got_id, sizeof(got_id));
    snprintf(addr, sizeof(addr), "%.*s%s",
             (int)(strstr(a.addr, "/p2p/") - a.addr + 5), a.addr, want_id);
    dial_args d;
    assert_int_equal(tn_dial(&b, addr, &d), AL_EPEERID);
    char msg[300];
    snprintf(msg, sizeof(msg), "peer id mismatch: expected %s, got %s", want_id,
             got_id);
    assert_string_equal(d.detail, msg);
    assert_true(al_peer_id_equal(&d.peer, &c.id));
    assert_true(wait_until(no_peers, &a, DEADLINE_MS));
    assert_int_equal(tn_peers(&b, NULL), 0);
    assert_int_equal(tn_get(&a, &a.connected), 0);
    assert_int_equal(tn_get(&b, &b.connected), 0);
    /* The right id still works afterwards. */
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    tn_stop(&c);
    tn_stop(&b);
    tn_stop(&a);
}

typedef struct cert_args {
    tnode *t;
    int rc;
} cert_args;

/* Makes the node present another host's (valid) certificate. */
static void present_other_cert(void *ud)
{
    cert_args *a = ud;
    al__tlscert c;
    al_identity *other;
    al_identity_generate(&other, NULL);
    assert_int_equal(al__tlscert_generate(other, &c, NULL), 0);
    al_identity_free(other);
    /* Valid certificate, valid key, but it proves another peer. */
    a->rc = al__quic_test_set_cert(al__swarm_quic(al__swarm_of(a->t->node)),
                                   c.cert_pem, c.key_pem, NULL);
    al__tlscert_free(&c);
}

static void impostor_refused(void **state)
{
    (void)state;
    tnode a, b;
    assert_int_equal(tn_start(&a, NULL, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    cert_args ca = {&a, -1};
    assert_true(on_loop(a.node, present_other_cert, &ca));
    assert_int_equal(ca.rc, 0);
    dial_args d;
    assert_int_equal(tn_dial(&b, a.addr, &d), AL_EPEERID);
    assert_non_null(strstr(d.detail, "peer id mismatch"));
    assert_int_equal(tn_peers(&b, NULL), 0);
    tn_stop(&b);
    tn_stop(&a);
}

static void many_connections(void **state)
{
    (void)state;
    tnode a, b;
    al_swarm_opts opts = {.max_connections = 200};
    assert_int_equal(tn_start(&a, &opts, LOCAL), 0);
    assert_int_equal(tn_start(&b, &opts, NULL), 0);
    /* Without /p2p every dial is a new connection. */
    char bare[300];
    snprintf(bare, sizeof(bare), "%.*s",
             (int)(strstr(a.addr, "/p2p/") - a.addr), a.addr);
    for (int i = 0; i < 50; i++) {
        dial_args d;
        assert_int_equal(tn_dial(&b, bare, &d), 0);
        assert_true(al_peer_id_equal(&d.peer, &a.id));
    }
    assert_int_equal(al__quic_num_conns(al__swarm_quic(al__swarm_of(b.node))),
                     50);
    assert_int_equal(tn_peers(&b, NULL), 1);
    assert_int_equal(tn_get(&b, &b.connected), 1);
    /* And many peers. */
    tnode c[8];
    for (int i = 0; i < 8; i++) {
        assert_int_equal(tn_start(&c[i], NULL, NULL), 0);
        assert_int_equal(tn_dial(&c[i], a.addr, NULL), 0);
        uint64_t rtt;
        assert_int_equal(tn_ping(&c[i], &a.id, &rtt), 0);
    }
    assert_int_equal(tn_peers(&a, NULL), 9);
    for (int i = 0; i < 8; i++)
        tn_stop(&c[i]);
    tn_stop(&b);
    tn_stop(&a);
}

static void many_streams(void **state)
{
    (void)state;
    counters_reset();
    tnode a, b;
    /* 32 at once on a: 500 streams need stream credit back again and
     * again. */
    al_swarm_opts aopts = {.max_streams_per_conn = 32};
    assert_int_equal(tn_start(&a, &aopts, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_true(on_loop(a.node, serve_protocols, &a));
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    open_args o = {&b, a.id, "/test/echo/1", 500, 100, true};
    pending_open = &o;
    assert_true(on_loop(b.node, do_open_streams, &o));
    assert_true(wait_count(&cli, &cli.closed_ok, 500));
    assert_int_equal(counted(&cli, &cli.finished), 500);
    assert_int_equal(counted(&cli, &cli.closed_err), 0);
    assert_int_equal(cli.bytes, 500 * 100);
    assert_true(wait_count(&srv, &srv.closed_ok, 500));
    tn_stop(&b);
    tn_stop(&a);
}

static void unsupported_protocol(void **state)
{
    (void)state;
    counters_reset();
    tnode a, b;
    assert_int_equal(tn_start(&a, NULL, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    open_args o = {&b, a.id, "/nobody/serves/this", 1, 10, false};
    assert_true(on_loop(b.node, do_open_streams, &o));
    assert_true(wait_count(&cli, &cli.closed_err, 1));
    assert_int_equal(cli.last_err, AL_E_UNSUPPORTED_PROTOCOLS);
    assert_int_equal(counted(&cli, &cli.opened), 1);
    /* The connection survives. */
    uint64_t rtt;
    assert_int_equal(tn_ping(&b, &a.id, &rtt), 0);
    tn_stop(&b);
    tn_stop(&a);
}

static void handler_resets(void **state)
{
    (void)state;
    counters_reset();
    refused_data = 0;
    tnode a, b;
    assert_int_equal(tn_start(&a, NULL, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_true(on_loop(a.node, serve_protocols, &a));
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    /* The data goes out with the proposal (lazy negotiation). */
    open_args o = {&b, a.id, "/test/refuse/1", 3, 100, false};
    assert_true(on_loop(b.node, do_open_streams, &o));
    assert_true(wait_count(&cli, &cli.closed_err, 3));
    assert_int_equal(cli.last_err, AL_EPROTO);
    assert_true(wait_count(&srv, &srv.closed_err, 3));
    assert_int_equal(refused_data, 0);
    tn_stop(&b);
    tn_stop(&a);
}

typedef struct add_args {
    tnode *t;
    al_peer_id id;
    const char *addr;
    int rc;
} add_args;

static void do_add(void *ud)
{
    add_args *a = ud;
    a->rc = al_swarm_add_peer_address(a->t->node, &a->id, a->addr);
}

static void unknown_peer_and_address_book(void **state)
{
    (void)state;
    counters_reset();
    tnode a, b;
    assert_int_equal(tn_start(&a, NULL, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_true(on_loop(a.node, serve_protocols, &a));
    /* No address known: the open fails. */
    open_args o = {&b, a.id, "/test/echo/1", 1, 10, true};
    assert_true(on_loop(b.node, do_open_streams, &o));
    assert_true(wait_count(&cli, &cli.closed_err, 1));
    assert_int_equal(cli.last_err, AL_E_DIAL_FAILURE);
    /* With an address in the book, opening a stream dials. */
    char bare[300];
    snprintf(bare, sizeof(bare), "%.*s",
             (int)(strstr(a.addr, "/p2p/") - a.addr), a.addr);
    add_args add = {&b, a.id, bare, -1};
    assert_true(on_loop(b.node, do_add, &add));
    assert_int_equal(add.rc, 0);
    assert_true(on_loop(b.node, do_open_streams, &o));
    assert_true(wait_count(&cli, &cli.closed_ok, 1));
    assert_int_equal(tn_get(&b, &b.connected), 1);
    tn_stop(&b);
    tn_stop(&a);
}

static bool disconnected_both(void *arg)
{
    tnode **t = arg;
    return tn_get(t[0], &t[0]->disconnected) >= 1 &&
           tn_get(t[1], &t[1]->disconnected) >= 1;
}

static void idle_connections_close(void **state)
{
    (void)state;
    tnode a, b;
    al_swarm_opts opts = {.idle_timeout_ms = 300};
    assert_int_equal(tn_start(&a, &opts, LOCAL), 0);
    assert_int_equal(tn_start(&b, &opts, NULL), 0);
    uint64_t t0 = mono_ms();
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    tnode *both[2] = {&a, &b};
    assert_true(wait_until(disconnected_both, both, DEADLINE_MS));
    assert_true(mono_ms() - t0 >= 300);
    assert_int_equal(tn_peers(&a, NULL), 0);
    assert_int_equal(tn_peers(&b, NULL), 0);
    tn_stop(&b);
    tn_stop(&a);
}

static bool a_disconnected(void *arg)
{
    tnode *t = arg;
    return tn_get(t, &t->disconnected) > 0;
}

static void silent_peer_times_out(void **state)
{
    (void)state;
    counters_reset();
    tnode a, b;
    al_swarm_opts aopts = {.idle_timeout_ms = 500};
    assert_int_equal(tn_start(&a, &aopts, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_true(on_loop(a.node, serve_protocols, &a));
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    /* An open stream keeps the connection from being idle for the swarm;
     * only QUIC's idle timeout can end it. */
    open_args o = {&b, a.id, "/test/hold/1", 1, 1, false};
    assert_true(on_loop(b.node, do_open_streams, &o));
    assert_true(wait_count(&srv, &srv.held, 1));
    gate g = {.open = false};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    assert_int_equal(al_node_post(b.node, block_loop, &g), 0);
    uint64_t t0 = mono_ms();
    assert_true(wait_until(a_disconnected, &a, DEADLINE_MS));
    assert_int_equal(a.last_reason, AL_E_NETWORK_TIMEOUT);
    assert_true(mono_ms() - t0 >= 400);
    pthread_mutex_lock(&g.mu);
    g.open = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    tn_stop(&b);
    tn_stop(&a);
}

static void node_stop_closes_connections(void **state)
{
    (void)state;
    tnode a, b;
    assert_int_equal(tn_start(&a, NULL, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    uint64_t t0 = mono_ms();
    tn_stop(&b);
    assert_true(wait_until(a_disconnected, &a, DEADLINE_MS));
    /* CONNECTION_CLOSE, not the 60 s idle timeout. */
    assert_true(mono_ms() - t0 < 3000);
    assert_int_equal(a.last_reason, AL_E_CONNECTION_CLOSED);
    tn_stop(&a);
}

typedef struct disc_args {
    tnode *t;
    al_peer_id peer;
    int rc;
} disc_args;

static void do_disconnect(void *ud)
{
    disc_args *d = ud;
    d->rc = al_swarm_disconnect(d->t->node, &d->peer);
}

static void disconnect_and_reuse(void **state)
{
    (void)state;
    tnode a, b;
    assert_int_equal(tn_start(&a, NULL, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    /* A second dial to a connected peer reuses the connection. */
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    assert_int_equal(al__quic_num_conns(al__swarm_quic(al__swarm_of(b.node))),
                     1);
    disc_args d = {&b, a.id, -1};
    assert_true(on_loop(b.node, do_disconnect, &d));
    assert_int_equal(d.rc, 0);
    tnode *both[2] = {&a, &b};
    assert_true(wait_until(disconnected_both, both, DEADLINE_MS));
    assert_int_equal(b.last_reason, 0);
    assert_int_equal(a.last_reason, AL_E_CONNECTION_CLOSED);
    assert_true(on_loop(b.node, do_disconnect, &d));
    assert_int_equal(d.rc, AL_ENOTFOUND);
    tn_stop(&b);
    tn_stop(&a);
}

typedef struct addrs_args {
    tnode *t;
    char *addrs[16];
    size_t n;
} addrs_args;

static void do_listen_addrs(void *ud)
{
    addrs_args *a = ud;
    a->n = al_swarm_listen_addrs(a->t->node, a->addrs, 16);
}

static bool listening(void *arg)
{
    tnode *t = arg;
    return tn_get(t, &t->listening) > 0;
}

static void listen_addresses(void **state)
{
    (void)state;
    tnode a;
    assert_int_equal(tn_start(&a, NULL, "/ip4/0.0.0.0/udp/0/quic-v1"), 0);
    assert_true(wait_until(listening, &a, DEADLINE_MS));
    addrs_args l = {.t = &a};
    assert_true(on_loop(a.node, do_listen_addrs, &l));
    assert_true(l.n >= 1);
    /* Loopback first, the port chosen, our id at the end. */
    assert_true(strncmp(l.addrs[0], "/ip4/127.0.0.1/udp/", 19) == 0);
    assert_null(strstr(l.addrs[0], "/udp/0/"));
    char id[AL_PEER_ID_STRLEN], tail[AL_PEER_ID_STRLEN + 20];
    al_peer_id_format(&a.id, id, sizeof(id));
    snprintf(tail, sizeof(tail), "/quic-v1/p2p/%s", id);
    for (size_t i = 0; i < l.n; i++) {
        assert_non_null(strstr(l.addrs[i], tail));
        free(l.addrs[i]);
    }
    /* The unspecified address is dialable through loopback. */
    tnode b;
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    tn_stop(&b);
    tn_stop(&a);
}

typedef struct bad_args {
    tnode *t;
    int rc[6];
    al_error err;
} bad_args;

static void bad_calls(void *ud)
{
    bad_args *a = ud;
    al_node *n = a->t->node;
    a->rc[0] = al_swarm_dial(n, "/ip4/127.0.0.1/tcp/1", NULL, NULL);
    a->rc[1] = al_swarm_dial(n, "/ip4/127.0.0.1/udp/0/quic-v1", NULL, NULL);
    a->rc[2] = al_swarm_dial(n, "not a multiaddr", NULL, NULL);
    a->rc[3] = al_swarm_listen_on(n, "/dns4/localhost/udp/0/quic-v1", &a->err);
    char self[300];
    snprintf(self, sizeof(self), "/ip4/127.0.0.1/udp/9/quic-v1/p2p/%s",
             "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB");
    al_peer_id me;
    al_swarm_local_peer_id(n, &me);
    char id[AL_PEER_ID_STRLEN];
    al_peer_id_format(&me, id, sizeof(id));
    snprintf(self, sizeof(self), "/ip4/127.0.0.1/udp/9/quic-v1/p2p/%s", id);
    a->rc[4] = al_swarm_dial(n, self, NULL, NULL);
    a->rc[5] = al__swarm_open_stream(al__swarm_of(n), &me, "/x", NULL, NULL);
}

static void bad_arguments(void **state)
{
    (void)state;
    tnode a;
    assert_int_equal(tn_start(&a, NULL, NULL), 0);
    bad_args b = {.t = &a};
    assert_true(on_loop(a.node, bad_calls, &b));
    assert_int_equal(b.rc[0], AL_EINVAL);
    assert_int_equal(b.rc[1], AL_EINVAL);
    assert_int_equal(b.rc[2], AL_EDECODE);
    assert_int_equal(b.rc[3], AL_EINVAL);
    assert_int_equal(b.rc[4], AL_EINVAL);
    assert_int_equal(b.rc[5], AL_EINVAL);
    /* From another thread while the loop runs. */
    assert_int_equal(
        al_swarm_dial(a.node, "/ip4/127.0.0.1/udp/9/quic-v1", NULL, NULL),
        AL_ESTATE);
    assert_int_equal(al_swarm_ping(a.node, &a.id, NULL, NULL), AL_ESTATE);
    assert_int_equal(al_swarm_peers(a.node, NULL, 0), 0);
    al_error err = {0};
    assert_int_equal(al_swarm_listen_on(a.node, LOCAL, &err), AL_ESTATE);
    tn_stop(&a);
}

static void dial_times_out(void **state)
{
    (void)state;
    tnode b;
    al_swarm_opts opts = {.handshake_timeout_ms = 300};
    assert_int_equal(tn_start(&b, &opts, NULL), 0);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    char addr[100];
    snprintf(addr, sizeof(addr), "/ip4/127.0.0.1/udp/%u/quic-v1",
             ntohs(sa.sin_port));
    dial_args d;
    assert_int_equal(tn_dial(&b, addr, &d), AL_E_NETWORK_TIMEOUT);
    assert_string_equal(d.detail, "handshake timed out");
    close(fd);
    tn_stop(&b);
}

static void identify_fills_address_book(void **state)
{
    (void)state;
    tnode a, b;
    assert_int_equal(tn_start(&a, NULL, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, LOCAL), 0);
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    tnode *both[2] = {&a, &b};
    assert_true(wait_until(identified_both, both, DEADLINE_MS));
    disc_args d = {&b, a.id, -1};
    assert_true(on_loop(b.node, do_disconnect, &d));
    assert_true(wait_until(disconnected_both, both, DEADLINE_MS));
    /* a never dialed b: it knows b's listen address from identify. */
    uint64_t rtt;
    assert_int_equal(tn_ping(&a, &b.id, &rtt), 0);
    tn_stop(&b);
    tn_stop(&a);
}

static void ipv6_and_dns(void **state)
{
    (void)state;
    tnode a, b, c;
    assert_int_equal(tn_start(&a, NULL, "/ip6/::1/udp/0/quic-v1"), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_int_equal(strncmp(a.addr, "/ip6/::1/udp/", 13), 0);
    assert_int_equal(tn_dial(&b, a.addr, NULL), 0);
    uint64_t rtt;
    assert_int_equal(tn_ping(&b, &a.id, &rtt), 0);
    /* A DNS name resolved when dialing (localhost is 127.0.0.1). */
    assert_int_equal(tn_start(&c, NULL, LOCAL), 0);
    char dns[300];
    const char *port = strstr(c.addr, "/udp/");
    snprintf(dns, sizeof(dns), "/dns4/localhost%s", port);
    dial_args d;
    assert_int_equal(tn_dial(&b, dns, &d), 0);
    assert_true(al_peer_id_equal(&d.peer, &c.id));
    snprintf(dns, sizeof(dns), "/dns4/no-such-host.invalid%s", port);
    tnode e;
    assert_int_equal(tn_start(&e, NULL, NULL), 0);
    assert_int_equal(tn_dial(&e, dns, &d), AL_E_DIAL_FAILURE);
    assert_non_null(strstr(d.detail, "resolve"));
    tn_stop(&e);
    tn_stop(&c);
    tn_stop(&b);
    tn_stop(&a);
}

static void do_dial_async(void *arg)
{
    dial_args *a = arg;
    a->rc = al_swarm_dial(a->t->node, a->addr, dial_done, a);
}

static bool both_dials_done(void *arg)
{
    dial_args **d = arg;
    return dial_finished(d[0]) && dial_finished(d[1]);
}

static void simultaneous_dials(void **state)
{
    (void)state;
    tnode a, b;
    assert_int_equal(tn_start(&a, NULL, LOCAL), 0);
    assert_int_equal(tn_start(&b, NULL, LOCAL), 0);
    dial_args da, db;
    memset(&da, 0, sizeof(da));
    memset(&db, 0, sizeof(db));
    pthread_mutex_init(&da.mu, NULL);
    pthread_mutex_init(&db.mu, NULL);
    da.t = &a;
    da.addr = b.addr;
    db.t = &b;
    db.addr = a.addr;
    /* Both posted before either runs: two connections on one UDP 4-tuple
     * (both dial from their listening sockets). */
    assert_int_equal(al_node_post(a.node, do_dial_async, &da), 0);
    assert_int_equal(al_node_post(b.node, do_dial_async, &db), 0);
    dial_args *both[2] = {&da, &db};
    assert_true(wait_until(both_dials_done, both, DEADLINE_MS));
    assert_int_equal(da.status, 0);
    assert_int_equal(db.status, 0);
    assert_int_equal(tn_get(&a, &a.connected), 1);
    assert_int_equal(tn_get(&b, &b.connected), 1);
    uint64_t rtt;
    assert_int_equal(tn_ping(&a, &b.id, &rtt), 0);
    assert_int_equal(tn_ping(&b, &a.id, &rtt), 0);
    assert_int_equal(tn_peers(&a, NULL), 1);
    tn_stop(&b);
    tn_stop(&a);
}

typedef struct multi_dial {
    tnode *t;
    char addrs[20][200];
    dial_args d[20];
    int from, n;
} multi_dial;

static void do_dial_many(void *ud)
{
    multi_dial *m = ud;
    for (int i = m->from; i < m->n; i++) {
        m->d[i].t = m->t;
        m->d[i].addr = m->addrs[i];
        assert_int_equal(
            al_swarm_dial(m->t->node, m->addrs[i], dial_done, &m->d[i]), 0);
    }
}

static bool all_dials_done(void *arg)
{
    multi_dial *m = arg;
    for (int i = 0; i < m->n; i++)
        if (!dial_finished(&m->d[i]))
            return false;
    return true;
}

static bool datagram_waiting(void *arg)
{
    char c;
    return recv(*(int *)arg, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

static void many_addresses_one_dial(void **state)
{
    (void)state;
    tnode b;
    al_swarm_opts opts = {.handshake_timeout_ms = 100};
    assert_int_equal(tn_start(&b, &opts, NULL), 0);
    /* 18 silent addresses for one peer id: one dial, at most 16 addresses
     * tried, every caller answered. */
    static multi_dial m;
    memset(&m, 0, sizeof(m));
    m.t = &b;
    m.n = 18;
    int fds[18];
    for (int i = 0; i < m.n; i++) {
        fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(sa);
        assert_int_equal(bind(fds[i], (struct sockaddr *)&sa, len), 0);
        getsockname(fds[i], (struct sockaddr *)&sa, &len);
        snprintf(m.addrs[i], sizeof(m.addrs[i]),
                 "/ip4/127.0.0.1/udp/%u/quic-v1/p2p/"
                 "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB",
                 ntohs(sa.sin_port));
        pthread_mutex_init(&m.d[i].mu, NULL);
    }
    /* 16 at first; two more once the dial has moved past its second
     * address, so that room is made by dropping a tried one. */
    m.n = 16;
    assert_true(on_loop(b.node, do_dial_many, &m));
    assert_true(wait_until(datagram_waiting, &fds[1], DEADLINE_MS));
    m.from = 16;
    m.n = 18;
    assert_true(on_loop(b.node, do_dial_many, &m));
    assert_true(wait_until(all_dials_done, &m, 30000));
    for (int i = 0; i < m.n; i++) {
        assert_int_equal(m.d[i].status, AL_E_NETWORK_TIMEOUT);
        close(fds[i]);
    }
    tn_stop(&b);
}

/* A node that bootstrapped and listened but never ran its loop still frees
 * everything (the sanitizer build checks for leaks). */
static void free_without_running(void **state)
{
    (void)state;
    al_node *n;
    al_error err;
    assert_int_equal(al_node_new(&n, NULL, &err), 0);
    assert_int_equal(al_swarm_bootstrap(n, NULL, NULL, &err), 0);
    assert_int_equal(
        al_swarm_listen_on(n, "/ip4/127.0.0.1/udp/0/quic-v1", &err), 0);
    al_node_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connect_ping_identify),
        cmocka_unit_test(wrong_peer_id_leaves_nothing),
        cmocka_unit_test(impostor_refused),
        cmocka_unit_test(many_connections),
        cmocka_unit_test(many_streams),
        cmocka_unit_test(unsupported_protocol),
        cmocka_unit_test(handler_resets),
        cmocka_unit_test(unknown_peer_and_address_book),
        cmocka_unit_test(idle_connections_close),
        cmocka_unit_test(silent_peer_times_out),
        cmocka_unit_test(node_stop_closes_connections),
        cmocka_unit_test(disconnect_and_reuse),
        cmocka_unit_test(listen_addresses),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(dial_times_out),
        cmocka_unit_test(identify_fills_address_book),
        cmocka_unit_test(ipv6_and_dns),
        cmocka_unit_test(simultaneous_dials),
        cmocka_unit_test(many_addresses_one_dial),
        cmocka_unit_test(free_without_running),
    };
    return cmocka_run_group_tests_name("swarm", tests, NULL, NULL);
}
